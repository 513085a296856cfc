//! The latest snapshot of every host in memory, for the live view: updated after each
//! committed report batch, read without touching the database. Another instance's reports
//! reach the database only, so a reader compares with the host row's `last_report_at` and
//! falls back to the stored snapshot when this copy is older ([`LiveHosts::fresh`]).
use std::collections::HashMap;
use std::sync::RwLock;

use super::host_reports::Latest;
use crate::clock::from_ms;
use crate::entity::{host_latest, hosts};

#[derive(Debug, Default)]
pub struct LiveHosts {
    latest: RwLock<HashMap<String, Latest>>,
}

impl LiveHosts {
    /// Keep what a batch stored, unless a newer snapshot is already here.
    pub fn update(&self, batch: Vec<(String, Latest)>) {
        let mut map = self.latest.write().unwrap_or_else(|e| e.into_inner());
        for (id, l) in batch {
            match map.get(&id) {
                Some(old) if old.at > l.at => {}
                _ => {
                    map.insert(id, l);
                }
            }
        }
    }

    pub fn forget(&self, id: &str) {
        self.latest
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
    }

    /// This process's copy for a host, when it is as new as the row says the latest
    /// report is; `None` means read `host_latest`.
    pub fn fresh(&self, host: &hosts::Model) -> Option<Latest> {
        let map = self.latest.read().unwrap_or_else(|e| e.into_inner());
        let l = map.get(&host.id)?;
        match host.last_report_at {
            Some(last) if l.at.timestamp_millis() < last => None,
            _ => Some(l.clone()),
        }
    }

    /// Remember a snapshot read from the database.
    pub fn remember(&self, row: &host_latest::Model) {
        self.update(vec![(
            row.host_id.clone(),
            Latest {
                at: from_ms(row.at),
                received_at: from_ms(row.received_at),
                json: row.snapshot.as_str().into(),
            },
        )]);
    }
}

/// The latest snapshots of these hosts: from memory when fresh, else from the database
/// (and then remembered).
pub async fn latest_of(
    db: &sea_orm::DatabaseConnection,
    live: &LiveHosts,
    hosts: &[hosts::Model],
) -> super::StoreResult<HashMap<String, Latest>> {
    let mut out = HashMap::new();
    let mut missing = Vec::new();
    for h in hosts {
        match live.fresh(h) {
            Some(l) => {
                out.insert(h.id.clone(), l);
            }
            None if h.last_report_at.is_some() => missing.push(h.id.clone()),
            None => {}
        }
    }
    for row in super::hosts::latest_many(db, &missing).await? {
        live.remember(&row);
        out.insert(
            row.host_id.clone(),
            Latest {
                at: from_ms(row.at),
                received_at: from_ms(row.received_at),
                json: row.snapshot.into(),
            },
        );
    }
    Ok(out)
}
