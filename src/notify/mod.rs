//! Alert delivery channels: composing mail and sending it. The outbox job that decides
//! what to send and when lives in `crate::jobs::outbox`.
pub mod email;
pub mod host_email;
pub mod smtp;

pub use email::{MailError, Mailer};
