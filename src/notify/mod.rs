//! Alert delivery: the outbox worker and the mail it sends.
pub mod email;
pub mod smtp;
pub mod worker;

pub use email::{MailError, Mailer};
pub use worker::Outbox;
