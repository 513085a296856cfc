//! What `hb-agent` and the server say to each other beyond plain reports.
//!
//! - `hb-agent watch` asks `GET /api/v1/agent/hosts[?collector=NAME]` for the hosts it
//!   must collect, every cycle, and posts snapshots to `POST /api/v1/hosts/reports`.
//! - `hb-agent push` keeps a WebSocket at `/api/v1/agent/ws` (API key in
//!   `Authorization: Bearer`); every frame is one JSON [`ClientMessage`] or
//!   [`ServerMessage`] as text. The socket is the host's presence: once it closes and no
//!   new one comes within the grace time, the host is offline.
use serde::{Deserialize, Serialize};

use crate::hosts::{HostReport, RequiredProcess, SshOverrides};

/// One host a collector must collect, as the inventory has it now.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AgentHost {
    pub id: String,
    pub name: String,
    /// What ssh connects to; hosts without one report themselves (`push`).
    pub address: Option<String>,
    /// Seconds between collections (2 … 3600).
    pub interval: u32,
    pub ssh: SshOverrides,
    /// Required processes: the agent counts matches and sends them in `processes.required`.
    #[serde(default)]
    pub processes: Vec<RequiredProcess>,
    /// systemd units whose state the report must carry.
    #[serde(default)]
    pub units: Vec<String>,
    /// Send `discovered_units` with the next report.
    #[serde(default)]
    pub discover_units: bool,
}

/// `GET /api/v1/agent/hosts`: the hosts assigned to the collector named in `collector=`
/// (or, without it, the hosts assigned to no collector), enabled and with an address.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct AgentHosts {
    pub hosts: Vec<AgentHost>,
}

/// Agent → server over the WebSocket.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// First frame: who is reporting and how often.
    Hello {
        /// The host's name in the inventory (default: its hostname).
        name: String,
        /// Seconds between reports.
        interval: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        version: Option<String>,
    },
    /// One snapshot of the host.
    Report { report: Box<HostReport> },
}

/// Server → agent over the WebSocket.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// After `hello`, and whenever the host is edited: what to collect. `host` is `None`
    /// while the name is not in the inventory (its reports wait in the unmanaged inbox).
    Config {
        #[serde(default)]
        host: Option<AgentHost>,
        /// Seconds of silence after which the server closes the socket.
        idle_timeout: u32,
    },
    /// A report was stored; the host's status after it (or `unmanaged`).
    Accepted { status: String },
    /// A frame was refused; the socket stays open unless it was the hello.
    Error { error: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_tagged_json() {
        let hello = ClientMessage::Hello {
            name: "gpu-01".into(),
            interval: 10,
            version: None,
        };
        assert_eq!(
            serde_json::to_string(&hello).unwrap(),
            r#"{"type":"hello","name":"gpu-01","interval":10}"#
        );
        let back: ServerMessage =
            serde_json::from_str(r#"{"type":"accepted","status":"up"}"#).unwrap();
        assert_eq!(
            back,
            ServerMessage::Accepted {
                status: "up".into()
            }
        );
    }
}
