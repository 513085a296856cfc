//! The web UI's handlers, a file per page: sign-in, sessions, CSRF, every page,
//! escaping, validation.
mod account;
mod alerts;
mod forms;
mod hosts;
mod list;
mod runs;
mod service;
mod sign_in;
