//! hb-agent: logs into a fleet of Linux hosts over SSH, collects CPU, memory, disk, GPU
//! and process data, checks thresholds, and pings a Heartbeats service with what it found.
#![forbid(unsafe_code)]

pub mod client;
pub mod collect;
pub mod config;
pub mod pass;
pub mod push;
pub mod report;
pub mod ssh;
pub mod thresholds;
pub mod watch;
pub mod wire_report;

pub use config::Config;
pub use pass::{AgentError, PassOptions, PassOutcome, PingOutcome, run_pass};
