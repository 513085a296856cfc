//! The ping URLs: the native `/api/pings` (credentials, the old tool's), the
//! healthchecks-compatible `/ping/<uuid>` and `/ping/<ping-key>/<slug>` (the URL is the
//! secret), and Uptime Kuma's `/api/push/<uuid>`.
pub mod native;

pub use native::{PingError, ping, ping_suffix};
