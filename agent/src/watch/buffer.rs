//! Reports waiting to be sent, in bounded memory: while the server is unreachable the
//! agent keeps collecting, and when the buffer is full the oldest reports go first.
//! Reports are kept encoded (JSON), which is both compact and what the request needs.

use std::collections::VecDeque;

/// How much the buffer may hold; whichever limit is reached first drops the oldest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BufferLimits {
    pub reports: usize,
    pub bytes: usize,
}

impl Default for BufferLimits {
    /// 10,000 reports (50 hosts every 5 s for 16 minutes) or 16 MiB.
    fn default() -> Self {
        BufferLimits {
            reports: 10_000,
            bytes: 16 * 1024 * 1024,
        }
    }
}

#[derive(Debug)]
pub struct ReportBuffer {
    queue: VecDeque<Box<[u8]>>,
    bytes: usize,
    limits: BufferLimits,
    /// Dropped since the last [`ReportBuffer::take_dropped`].
    dropped: u64,
}

impl ReportBuffer {
    pub fn new(limits: BufferLimits) -> ReportBuffer {
        ReportBuffer {
            queue: VecDeque::new(),
            bytes: 0,
            limits: BufferLimits {
                reports: limits.reports.max(1),
                bytes: limits.bytes.max(1),
            },
            dropped: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Adds the newest report, dropping the oldest ones to stay within the limits.
    pub fn push(&mut self, report: Box<[u8]>) {
        self.bytes += report.len();
        self.queue.push_back(report);
        self.shrink();
    }

    /// The oldest reports, at most `max_reports` of them and `max_bytes` together (but
    /// always at least one, however large).
    pub fn take_batch(&mut self, max_reports: usize, max_bytes: usize) -> Vec<Box<[u8]>> {
        let mut batch = Vec::new();
        let mut size = 0;
        while let Some(next) = self.queue.front() {
            if batch.len() >= max_reports || (!batch.is_empty() && size + next.len() > max_bytes) {
                break;
            }
            size += next.len();
            if let Some(report) = self.queue.pop_front() {
                self.bytes -= report.len();
                batch.push(report);
            }
        }
        batch
    }

    /// Puts a batch that could not be sent back in front, oldest first. Reports that
    /// came in meanwhile are newer, so if that overflows, the batch's own oldest go.
    pub fn put_back(&mut self, batch: Vec<Box<[u8]>>) {
        for report in batch.into_iter().rev() {
            self.bytes += report.len();
            self.queue.push_front(report);
        }
        self.shrink();
    }

    /// How many reports were dropped since the last call.
    pub fn take_dropped(&mut self) -> u64 {
        std::mem::take(&mut self.dropped)
    }

    fn shrink(&mut self) {
        while self.queue.len() > self.limits.reports || self.bytes > self.limits.bytes {
            match self.queue.pop_front() {
                Some(old) => {
                    self.bytes -= old.len();
                    self.dropped += 1;
                }
                None => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(n: usize) -> Box<[u8]> {
        format!("{{\"n\":{n}}}").into_bytes().into_boxed_slice()
    }

    fn numbers(batch: &[Box<[u8]>]) -> Vec<usize> {
        batch
            .iter()
            .map(|r| {
                let v: serde_json::Value = serde_json::from_slice(r).unwrap();
                v["n"].as_u64().unwrap() as usize
            })
            .collect()
    }

    #[test]
    fn full_buffer_drops_the_oldest_and_counts_them() {
        let mut b = ReportBuffer::new(BufferLimits {
            reports: 3,
            bytes: 1 << 20,
        });
        for n in 0..5 {
            b.push(report(n));
        }
        assert_eq!(b.len(), 3);
        assert_eq!(b.take_dropped(), 2);
        assert_eq!(b.take_dropped(), 0);
        assert_eq!(numbers(&b.take_batch(10, 1 << 20)), [2, 3, 4]);
        assert!(b.is_empty());
        assert_eq!(b.bytes(), 0);
    }

    #[test]
    fn byte_budget_drops_the_oldest_too() {
        let one = report(0).len();
        let mut b = ReportBuffer::new(BufferLimits {
            reports: 100,
            bytes: one * 2,
        });
        for n in 0..4 {
            b.push(report(n));
        }
        assert_eq!(numbers(&b.take_batch(10, 1 << 20)), [2, 3]);
        assert_eq!(b.take_dropped(), 2);
    }

    #[test]
    fn batches_are_oldest_first_within_both_limits() {
        let mut b = ReportBuffer::new(BufferLimits::default());
        for n in 0..10 {
            b.push(report(n));
        }
        assert_eq!(numbers(&b.take_batch(4, 1 << 20)), [0, 1, 2, 3]);
        let one = report(0).len();
        assert_eq!(numbers(&b.take_batch(100, one * 2 + 1)), [4, 5]);
        // A single report larger than the byte limit still goes, alone.
        assert_eq!(numbers(&b.take_batch(100, 1)), [6]);
        assert_eq!(b.len(), 3);
    }

    #[test]
    fn a_batch_put_back_is_sent_first_and_overflow_drops_its_oldest() {
        let mut b = ReportBuffer::new(BufferLimits {
            reports: 4,
            bytes: 1 << 20,
        });
        for n in 0..3 {
            b.push(report(n));
        }
        let batch = b.take_batch(10, 1 << 20);
        // Collected while the batch was in flight.
        for n in 3..5 {
            b.push(report(n));
        }
        b.put_back(batch);
        assert_eq!(b.take_dropped(), 1);
        assert_eq!(numbers(&b.take_batch(10, 1 << 20)), [1, 2, 3, 4]);
    }
}
