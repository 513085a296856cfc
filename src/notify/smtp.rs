//! A small pool of SMTP connections with TCP_NODELAY.
//!
//! lettre's own transport writes a message's body and its final `.` in two writes without
//! TCP_NODELAY, so Nagle's algorithm meets the server's delayed ACK and every message waits
//! ~40 ms. Connecting the socket ourselves (lettre accepts an existing stream) removes the
//! stall: a thousand alerts go out in about a second instead of several.
use std::time::Duration;

use lettre::address::Envelope;
use lettre::transport::smtp::authentication::{Credentials, DEFAULT_MECHANISMS};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::extension::ClientId;
use tokio::net::TcpStream;
use tokio::sync::{Mutex, Semaphore};

use crate::settings::{SmtpSettings, SmtpTls};

pub struct SmtpPool {
    settings: SmtpSettings,
    hello: ClientId,
    idle: Mutex<Vec<AsyncSmtpConnection>>,
    slots: Semaphore,
}

// Hand-written: the settings' own `Debug` hides the password; the connections say nothing.
impl std::fmt::Debug for SmtpPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpPool")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// Connections open at once; SMTP servers commonly allow 50 per client.
pub const MAX_CONNECTIONS: usize = 32;

type SmtpError = lettre::transport::smtp::Error;

impl SmtpPool {
    pub fn new(settings: SmtpSettings) -> Self {
        Self {
            settings,
            hello: ClientId::default(),
            idle: Mutex::new(Vec::new()),
            slots: Semaphore::new(MAX_CONNECTIONS),
        }
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(self.settings.timeout_secs)
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, String> {
        let s = &self.settings;
        let tls = || TlsParameters::new(s.host.clone()).map_err(|e| describe(&e));
        let mut conn = match s.tls {
            // Implicit TLS needs lettre's own socket; Nagle stays on there.
            SmtpTls::Tls => AsyncSmtpConnection::connect_tokio1(
                (s.host.as_str(), s.port),
                Some(self.timeout()),
                &self.hello,
                Some(tls()?),
                None,
            )
            .await
            .map_err(|e| describe(&e))?,
            SmtpTls::None | SmtpTls::StartTls => {
                let stream = tokio::time::timeout(
                    self.timeout(),
                    TcpStream::connect((s.host.as_str(), s.port)),
                )
                .await
                .map_err(|_| {
                    format!(
                        "connection to {}:{} timed out after {} s",
                        s.host, s.port, s.timeout_secs
                    )
                })?
                .map_err(|e| format!("cannot connect to {}:{}: {e}", s.host, s.port))?;
                stream.set_nodelay(true).map_err(|e| e.to_string())?;
                let mut conn =
                    AsyncSmtpConnection::connect_with_transport(Box::new(stream), &self.hello)
                        .await
                        .map_err(|e| describe(&e))?;
                if s.tls == SmtpTls::StartTls {
                    if !conn.can_starttls() {
                        return Err(format!(
                            "{} does not offer STARTTLS; set SMTP_TLS=none or tls",
                            s.host
                        ));
                    }
                    conn.starttls(tls()?, &self.hello)
                        .await
                        .map_err(|e| describe(&e))?;
                }
                conn
            }
        };
        if let (Some(user), Some(pw)) = (&s.username, &s.password) {
            conn.auth(
                DEFAULT_MECHANISMS,
                &Credentials::new(user.clone(), pw.clone()),
            )
            .await
            .map_err(|e| describe(&e))?;
        }
        Ok(conn)
    }

    /// Send one message, reusing an idle connection when there is one.
    pub async fn send(&self, envelope: &Envelope, body: &[u8]) -> Result<(), String> {
        let _slot = self.slots.acquire().await.map_err(|e| e.to_string())?;
        let reused = self.idle.lock().await.pop();
        // An idle connection may have been closed by the server: one retry on a fresh one.
        if let Some(mut conn) = reused {
            match tokio::time::timeout(self.timeout(), conn.send(envelope, body)).await {
                Ok(Ok(_)) => {
                    self.idle.lock().await.push(conn);
                    return Ok(());
                }
                _ => conn.abort().await,
            }
        }
        // The greeting, EHLO, STARTTLS and AUTH have no timer of their own in lettre: a
        // server that accepts and then says nothing (e.g. TLS expected) must not hang us.
        let mut conn = tokio::time::timeout(self.timeout() * 3, self.connect())
            .await
            .map_err(|_| {
                format!(
                    "{}:{} accepted the connection but did not complete the SMTP greeting within {} s (wrong SMTP_TLS for this port?)",
                    self.settings.host,
                    self.settings.port,
                    self.settings.timeout_secs * 3
                )
            })??;
        match tokio::time::timeout(self.timeout() * 3, conn.send(envelope, body)).await {
            Ok(Ok(_)) => {
                self.idle.lock().await.push(conn);
                Ok(())
            }
            Ok(Err(e)) => {
                conn.abort().await;
                Err(describe(&e))
            }
            Err(_) => {
                conn.abort().await;
                Err(format!(
                    "the SMTP server did not answer within {} s",
                    self.settings.timeout_secs * 3
                ))
            }
        }
    }
}

/// lettre's errors are terse; keep the cause chain, which names refusals and timeouts.
pub fn describe(e: &SmtpError) -> String {
    let mut out = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::notify::Mailer;
    use crate::settings::Settings;

    #[test]
    fn smtp_debug_shows_no_password() {
        let vars: HashMap<String, String> = [
            ("SMTP_HOST", "mail.lan"),
            ("SMTP_USERNAME", "alerts"),
            ("SMTP_PASSWORD", "smtp-Secret-1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let settings = Settings::from_vars(&vars).unwrap();
        let smtp = settings.smtp.clone().unwrap();
        let pool = SmtpPool::new(smtp.clone());
        let mailer = Mailer::from_settings(&settings).unwrap();
        let shown = format!("{smtp:?} {pool:?} {pool:#?} {mailer:?}");
        assert!(!shown.contains("Secret"), "{shown}");
        assert!(
            shown.contains("mail.lan") && shown.contains("alerts"),
            "{shown}"
        );
    }
}
