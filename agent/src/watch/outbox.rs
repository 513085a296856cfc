//! Snapshots on their way to `POST /api/v1/hosts/reports`: gathered for a moment and
//! sent in batches, kept (in bounded memory) while the server cannot be reached, and
//! sent oldest first when it is back.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use heartbeats_wire::hosts::{HostReport, MAX_REPORTS};
use reqwest::StatusCode;
use tokio::sync::{Notify, watch};

use super::Shared;
use super::buffer::{BufferLimits, ReportBuffer};
use crate::client::{ApiError, batch_body};

/// Reports wait at most this long to go out with others.
pub const FLUSH_EVERY: Duration = Duration::from_secs(1);
/// Keeps a request well under the server's default body limit (8 MiB).
const MAX_BODY: usize = 4 * 1024 * 1024;
/// At exit, what is still buffered gets this long to reach the server.
pub const FINAL_FLUSH: Duration = Duration::from_secs(4);
/// Drops are logged at most this often (with how many since the last line).
const DROP_LOG_EVERY: Duration = Duration::from_secs(30);

#[derive(Debug)]
pub struct Outbox {
    buffer: Mutex<ReportBuffer>,
    wake: Notify,
}

impl Outbox {
    pub fn new(limits: BufferLimits) -> Outbox {
        Outbox {
            buffer: Mutex::new(ReportBuffer::new(limits)),
            wake: Notify::new(),
        }
    }

    pub fn push(&self, report: &HostReport) {
        let encoded = match serde_json::to_vec(report) {
            Ok(bytes) => bytes.into_boxed_slice(),
            Err(e) => {
                tracing::error!("cannot encode a report: {e}");
                return;
            }
        };
        let full = {
            let mut buffer = self.buffer();
            buffer.push(encoded);
            buffer.len() >= MAX_REPORTS
        };
        if full {
            self.wake.notify_one();
        }
    }

    pub fn len(&self) -> usize {
        self.buffer().len()
    }

    pub fn is_empty(&self) -> bool {
        self.buffer().is_empty()
    }

    fn buffer(&self) -> std::sync::MutexGuard<'_, ReportBuffer> {
        self.buffer.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// How the reports endpoint has been answering.
#[derive(Default)]
struct Link {
    /// No new request before this.
    retry_at: Option<Instant>,
    failures: u32,
    /// The error last logged, so a lasting outage is one log line, not one a second.
    logged: Option<String>,
    /// Lowered after a 413 (the server's body limit is smaller than ours).
    max_batch: Option<usize>,
    dropped_since_log: u64,
    drop_logged_at: Option<Instant>,
}

/// Sends what the workers collect until `stop` turns true, then once more briefly.
pub async fn run(shared: std::sync::Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut link = Link::default();
    loop {
        tokio::select! {
            () = tokio::time::sleep(FLUSH_EVERY) => {}
            () = shared.outbox.wake.notified() => {}
            _ = stop.changed() => break,
        }
        if *stop.borrow() {
            break;
        }
        if link.retry_at.is_none_or(|t| Instant::now() >= t) {
            flush(&shared, &mut link).await;
        }
        log_drops(&shared, &mut link, false);
    }
    if !shared.outbox.is_empty() {
        if tokio::time::timeout(FINAL_FLUSH, flush(&shared, &mut link))
            .await
            .is_err()
        {
            tracing::warn!("the server did not answer in time at exit");
        }
        let left = shared.outbox.len();
        if left > 0 {
            tracing::warn!(
                "{left} report(s) not sent: the server could not be reached before exit"
            );
        }
    }
    log_drops(&shared, &mut link, true);
}

/// Sends batches until the buffer is empty or the server stops taking them.
async fn flush(shared: &Shared, link: &mut Link) {
    let client = shared.client();
    loop {
        let max = link.max_batch.unwrap_or(MAX_REPORTS);
        let batch = shared.outbox.buffer().take_batch(max, MAX_BODY);
        if batch.is_empty() {
            return;
        }
        let n = batch.len();
        let body = batch_body(batch.iter().map(|r| &r[..]));
        let result = client.post_report_body(body).await;
        shared.stats().requests += 1;
        match result {
            Ok(_) => {
                shared.stats().posted += n as u64;
                if link.logged.take().is_some() {
                    let left = shared.outbox.len();
                    tracing::info!(
                        "the server takes reports again; {left} buffered report(s) to send"
                    );
                }
                link.failures = 0;
                link.retry_at = None;
            }
            Err(ApiError::Rejected { status, .. })
                if status == StatusCode::PAYLOAD_TOO_LARGE && n > 1 =>
            {
                link.max_batch = Some((n / 2).max(1));
                shared.outbox.buffer().put_back(batch);
            }
            Err(e @ (ApiError::Rejected { .. } | ApiError::BadResponse { .. })) => {
                // Sending the same reports again would be refused again.
                shared.stats().dropped += n as u64;
                tracing::error!("{e}; {n} report(s) dropped");
            }
            Err(e) => {
                let slow = !e.is_unreachable();
                shared.outbox.buffer().put_back(batch);
                link.failures = link.failures.saturating_add(1);
                let delay = if slow {
                    // A bad key or an old server does not fix itself in seconds.
                    Duration::from_secs(60)
                } else {
                    (FLUSH_EVERY * (1u32 << link.failures.min(5))).min(Duration::from_secs(30))
                };
                link.retry_at = Some(Instant::now() + delay);
                let text = e.to_string();
                if link.logged.as_deref() != Some(&text) {
                    let buffered = shared.outbox.len();
                    if slow {
                        tracing::error!(
                            "{text}; keeping {buffered} report(s) and trying again every minute"
                        );
                    } else {
                        tracing::warn!("{text}; keeping {buffered} report(s) until it answers");
                    }
                    link.logged = Some(text);
                }
                return;
            }
        }
    }
}

fn log_drops(shared: &Shared, link: &mut Link, last: bool) {
    let dropped = shared.outbox.buffer().take_dropped();
    if dropped > 0 {
        shared.stats().dropped += dropped;
        link.dropped_since_log += dropped;
    }
    let due = last
        || link
            .drop_logged_at
            .is_none_or(|t| t.elapsed() >= DROP_LOG_EVERY);
    if link.dropped_since_log > 0 && due {
        tracing::warn!(
            "report buffer full: dropped the {} oldest report(s) (limits: {} reports, {} bytes)",
            link.dropped_since_log,
            shared.limits.reports,
            shared.limits.bytes,
        );
        link.dropped_since_log = 0;
        link.drop_logged_at = Some(Instant::now());
    }
}
