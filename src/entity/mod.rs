//! sea-orm entities, one per table. Times are Unix milliseconds (see the migrations).
pub mod alerts;
pub mod api_keys;
pub mod audit_log;
pub mod flips;
pub mod pings;
pub mod services;
pub mod sessions;
pub mod users;
