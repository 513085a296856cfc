//! Integration tests: the real application over HTTP, on SQLite, PostgreSQL and MariaDB.
mod helpers;

mod agent_e2e;
mod alerts_page;
mod auth;
mod config;
mod full_disk;
mod guessing;
mod jobs;
mod list_helpers;
mod list_sync;
mod mail;
mod outage;
mod paging;
mod pause;
mod pings;
mod roles;
mod scale;
mod services;
mod sessions;
mod tcp_proxy;
mod timelines;
mod ui;
mod ui_helpers;
mod ui_i18n;
mod ui_zh_pages;
mod upgrade;
