//! Alert delivery channels: composing mail and sending it, and the chat robots and
//! webhooks (`chat`). The outbox job that decides what to send and when lives in
//! `crate::jobs::outbox`.
pub mod chat;
pub mod digest;
pub mod email;
pub mod host_email;
pub mod message;
pub mod smtp;

pub use email::{MailError, Mailer};
