//! Integration tests: the real application over HTTP, on SQLite, PostgreSQL and MariaDB.
mod helpers;

mod agent_e2e;
mod agent_hosts;
mod agent_push;
mod agent_watch;
mod alert_timelines;
mod alerts_page;
mod auth;
mod badges;
mod channels;
mod chat_senders;
mod chat_server;
mod config;
mod full_disk;
mod guessing;
mod hc_api;
mod hc_pings;
mod host_helpers;
mod host_reports;
mod host_timelines;
mod hosts;
mod hosts_history;
mod jobs;
mod kuma_push;
mod limits;
mod list_helpers;
mod list_sync;
mod mail;
mod maintenance;
mod metrics;
mod outage;
mod paging;
mod pause;
mod pings;
mod roles;
mod rollups;
mod runs;
mod scale;
mod services;
mod sessions;
mod snooze;
// The agent's real-sshd helper, shared rather than copied.
#[path = "../../agent/tests/agent/helpers.rs"]
#[allow(dead_code)]
mod sshd;
mod tcp_proxy;
mod timelines;
mod ui;
mod ui_helpers;
mod ui_i18n;
mod ui_zh_pages;
mod upgrade;
mod upgrade_channels;
mod upgrade_collectors;
mod upgrade_pings;
mod upgrade_runs;
