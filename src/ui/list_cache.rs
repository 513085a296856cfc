//! Rendered pages of the services list, shared by every dashboard showing the same search
//! and page in the same language: re-rendered only when a service changed or the minute
//! moved on, and for live refreshes at most once per [`REFRESH_FLOOR`].
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration as StdDuration, Instant};

use actix_web::web;

use crate::store::service_index::Stamp;

/// Rendered rows, shared by every dashboard showing the same search in the same language.
pub struct ListCache {
    entries: Mutex<HashMap<String, CacheEntry>>,
    /// Live refreshes reuse rows younger than this without asking the database, so
    /// many dashboards cost at most one render per search per floor, however busy the
    /// pings. Page loads always check for changes.
    floor_ms: AtomicU64,
}

impl Default for ListCache {
    fn default() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            floor_ms: AtomicU64::new(REFRESH_FLOOR.as_millis() as u64),
        }
    }
}

#[derive(Clone)]
pub struct CacheEntry {
    pub stamp: (Stamp, i64),
    pub etag: String,
    pub html: web::Bytes,
    pub rendered: Instant,
}

pub const REFRESH_FLOOR: StdDuration = StdDuration::from_secs(2);

/// Each entry is one page (about 60 KB of HTML): this bounds the cache to a few MB.
const CACHE_MAX: usize = 64;

impl ListCache {
    pub fn get(&self, key: &str, stamp: &(Stamp, i64)) -> Option<CacheEntry> {
        let map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        map.get(key).filter(|e| &e.stamp == stamp).cloned()
    }

    /// The rows for `key` if rendered within the refresh floor, whatever changed since.
    pub fn recent(&self, key: &str) -> Option<CacheEntry> {
        let floor = StdDuration::from_millis(self.floor_ms.load(Ordering::Relaxed));
        let map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        map.get(key)
            .filter(|e| e.rendered.elapsed() < floor)
            .cloned()
    }

    /// How long live refreshes may reuse rows (tests set zero to see every change).
    pub fn set_refresh_floor(&self, floor: StdDuration) {
        self.floor_ms
            .store(floor.as_millis() as u64, Ordering::Relaxed);
    }

    /// Forget every rendered list (benchmarks measure cold renders with this).
    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    pub fn put(&self, key: String, entry: CacheEntry) {
        let mut map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= CACHE_MAX && !map.contains_key(&key) {
            map.clear();
        }
        map.insert(key, entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_refreshes_reuse_recent_rows_within_the_floor() {
        let cache = ListCache::default();
        let fp = Stamp {
            local: 1,
            catalog: 1,
            max_updated: 1,
        };
        cache.put(
            "k".into(),
            CacheEntry {
                stamp: (fp, 0),
                etag: "\"e\"".into(),
                html: web::Bytes::from_static(b"rows"),
                rendered: Instant::now(),
            },
        );
        let changed = Stamp { local: 2, ..fp };
        assert!(cache.get("k", &(changed, 0)).is_none());
        assert!(cache.get("k", &(fp, 0)).is_some());
        assert!(cache.recent("k").is_some());
        cache.set_refresh_floor(StdDuration::ZERO);
        assert!(cache.recent("k").is_none());
        cache.clear();
        assert!(cache.get("k", &(fp, 0)).is_none());
    }
}
