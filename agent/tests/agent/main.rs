//! hb-agent against a real OpenSSH sshd on 127.0.0.1 (see helpers.rs).

mod cli;
mod collect;
mod helpers;
mod legacy;
mod ssh_failures;
mod watch;
