//! sea-orm entities, one per table. Times are Unix milliseconds (see the migrations).
pub mod alerts;
pub mod api_keys;
pub mod audit_log;
pub mod channels;
pub mod flips;
pub mod host_defaults;
pub mod host_events;
pub mod host_flips;
pub mod host_inbox;
pub mod host_latest;
pub mod host_tags;
pub mod hosts;
pub mod maintenance_windows;
pub mod pings;
pub mod services;
pub mod sessions;
pub mod users;
