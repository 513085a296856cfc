//! Size limits on pings answer with the documented JSON error naming the limit (issue 8,
//! findings 7 and 8): data in a URL of any length a client may send, and a chunked body.
//!
//! Requests go over a raw TCP connection: HTTP client libraries refuse URLs over 64 KiB
//! themselves, and these tests need to send what any client (curl, wget, a shell script)
//! may.
use std::time::Duration;

use base64::Engine;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{ADMIN, Backend, Options, PASSWORD, TestApp};

/// A reply read off the wire.
#[derive(Debug)]
struct Reply {
    status: u16,
    head: String,
    body: Value,
}

fn authorization() -> String {
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{ADMIN}:{PASSWORD}"));
    format!("authorization: Basic {token}\r\n")
}

fn ping_head(app: &TestApp, method: &str, target: &str, extra: &str) -> Vec<u8> {
    let host = app.address.trim_start_matches("http://");
    format!(
        "{method} {target} HTTP/1.1\r\nhost: {host}\r\n{}{extra}\r\n",
        authorization()
    )
    .into_bytes()
}

/// Send `request` while reading the reply, as curl does; the server closes the connection.
async fn exchange(app: &TestApp, request: Vec<u8>) -> Reply {
    let stream = TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .expect("connect");
    let (mut rd, mut wr) = stream.into_split();
    let writer = tokio::spawn(async move {
        // The server may answer and close before it has read everything: not an error here.
        let _ = wr.write_all(&request).await;
        wr
    });
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), rd.read_to_end(&mut raw))
        .await
        .expect("a reply within 10 s")
        .expect("the reply is read before the connection closes");
    drop(writer.await);
    parse(&raw)
}

fn parse(raw: &[u8]) -> Reply {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP head in {text:?}"));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no status in {head:?}"));
    Reply {
        status,
        head: head.to_owned(),
        body: serde_json::from_str(body).unwrap_or(Value::Null),
    }
}

/// `/api/pings?service=<id>&data=xxx…` with a URL of exactly `len` bytes.
fn ping_target(id: &str, len: usize) -> String {
    let mut target = format!("/api/pings?service={id}&data=");
    let fill = len.saturating_sub(target.len());
    target.push_str(&"x".repeat(fill));
    target
}

#[tokio::test]
async fn data_in_the_url_gets_json_at_every_length() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let id = app.interval_service("long-urls", 3600, 60).await;
    for len in [
        8_000, 65_534, 65_535, 70_000, 102_400, 131_072, 200_000, 1_000_000,
    ] {
        let head = ping_head(
            &app,
            "POST",
            &ping_target(&id, len),
            "connection: close\r\n",
        );
        let reply = exchange(&app, head).await;
        if len <= 65_534 {
            assert_eq!(reply.status, 200, "URL of {len} bytes: {reply:?}");
            continue;
        }
        assert_eq!(reply.status, 414, "URL of {len} bytes: {}", reply.head);
        assert!(
            reply.head.to_ascii_lowercase().contains("application/json"),
            "{}",
            reply.head
        );
        assert_eq!(reply.body["field"], "data", "URL of {len} bytes");
        assert_eq!(reply.body["code"], "url_too_long");
        let error = reply.body["error"].as_str().expect("error text");
        assert!(error.contains("65534"), "{error}");
        assert!(error.contains("request body"), "{error}");
        assert!(error.contains("102400"), "{error}");
    }
    // Only the two accepted pings were stored.
    assert_eq!(app.pings(&id).await.len(), 2);
}

#[tokio::test]
async fn a_long_url_later_on_a_kept_alive_connection_gets_json_too() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let id = app.interval_service("keep-alive", 3600, 60).await;
    let mut request = ping_head(&app, "GET", &ping_target(&id, 100), "");
    request.extend(ping_head(&app, "GET", &ping_target(&id, 90_000), ""));
    // Sent one after the other on one connection, the second after the first reply.
    let stream = TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .expect("connect");
    let (mut rd, mut wr) = stream.into_split();
    let first_len = ping_head(&app, "GET", &ping_target(&id, 100), "").len();
    wr.write_all(&request[..first_len]).await.expect("first");
    let mut buf = vec![0; 4096];
    let n = rd.read(&mut buf).await.expect("first reply");
    let first = String::from_utf8_lossy(&buf[..n]).into_owned();
    assert!(first.starts_with("HTTP/1.1 200 "), "{first}");
    let _ = wr.write_all(&request[first_len..]).await;
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), rd.read_to_end(&mut raw))
        .await
        .expect("a reply within 10 s")
        .expect("reply");
    let second = parse(&raw);
    assert_eq!(second.status, 414, "{second:?}");
    assert_eq!(second.body["field"], "data");
}

#[tokio::test]
async fn a_long_url_elsewhere_gets_a_json_414_without_a_field() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let target = format!("/api/v1/services?q={}", "s".repeat(80_000));
    let reply = exchange(&app, ping_head(&app, "GET", &target, "")).await;
    assert_eq!(reply.status, 414, "{reply:?}");
    assert_eq!(reply.body["code"], "url_too_long");
    assert!(reply.body.get("field").is_none(), "{}", reply.body);
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_names_the_data_limit() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let id = app.interval_service("chunked", 3600, 60).await;
    let target = format!("/api/pings?service={id}");
    for (size, content_type) in [(400_000, "text/plain"), (1_000_000, "application/json")] {
        let mut request = ping_head(
            &app,
            "POST",
            &target,
            &format!(
                "content-type: {content_type}\r\ntransfer-encoding: chunked\r\n\
                 connection: close\r\n"
            ),
        );
        let chunk = vec![b'c'; 16 * 1024];
        let mut sent = 0;
        while sent < size {
            request.extend(format!("{:x}\r\n", chunk.len()).as_bytes());
            request.extend(&chunk);
            request.extend(b"\r\n");
            sent += chunk.len();
        }
        request.extend(b"0\r\n\r\n");
        let reply = exchange(&app, request).await;
        assert_eq!(reply.status, 413, "{reply:?}");
        let error = reply.body["error"].as_str().expect("error text");
        assert!(error.contains("102400"), "{content_type}: {error}");
        assert!(!error.contains("311296"), "{content_type}: {error}");
        assert_eq!(reply.body["field"], "data");
        assert_eq!(reply.body["code"], "too_large");
    }
    assert!(app.pings(&id).await.is_empty());
}

#[tokio::test]
async fn a_chunked_body_names_a_configured_limit() {
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        Options {
            vars: vec![("HB_MAX_PING_DATA", "1000".into())],
            ..Default::default()
        },
    )
    .await;
    let id = app.interval_service("chunked-small", 3600, 60).await;
    let mut request = ping_head(
        &app,
        "POST",
        &format!("/api/pings?service={id}"),
        "content-type: text/plain\r\ntransfer-encoding: chunked\r\nconnection: close\r\n",
    );
    request.extend(b"2710\r\n");
    request.extend(vec![b'd'; 10_000]);
    request.extend(b"\r\n0\r\n\r\n");
    let reply = exchange(&app, request).await;
    assert_eq!(reply.status, 413, "{reply:?}");
    let error = reply.body["error"].as_str().expect("error text");
    assert!(error.contains("1000 bytes"), "{error}");
}
