//! The wrapper over an in-memory pipe: what it passes through and what it replaces.
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream, duplex};

use super::*;

const BARE_400: &[u8] =
    b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\ndate: x\r\n\r\n";
const BARE_431: &[u8] =
    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\n\r\n";

/// A guard on the server end of a pipe, and the client end.
fn pipe() -> (LongUrlGuard<DuplexStream>, DuplexStream) {
    let (server, client) = duplex(1 << 20);
    (LongUrlGuard::new(server, 102_400), client)
}

/// Send `request` from the client and read it all on the server side, as the codec does.
async fn request(guard: &mut LongUrlGuard<DuplexStream>, client: &mut DuplexStream, req: &[u8]) {
    client.write_all(req).await.unwrap();
    let mut got = vec![0; req.len()];
    guard.read_exact(&mut got).await.unwrap();
    assert_eq!(got, req, "reads pass through unchanged");
}

async fn respond_and_close(mut guard: LongUrlGuard<DuplexStream>, response: &[u8]) {
    guard.write_all(response).await.unwrap();
    guard.flush().await.unwrap();
    drop(guard);
}

async fn read_all(client: &mut DuplexStream) -> String {
    let mut out = Vec::new();
    client.read_to_end(&mut out).await.unwrap();
    String::from_utf8(out).unwrap()
}

fn long_ping_request(url_len: usize) -> Vec<u8> {
    let mut req = b"GET /api/pings?service=abc&data=".to_vec();
    req.resize(url_len + 4, b'x');
    req.extend_from_slice(b" HTTP/1.1\r\nhost: hb\r\n\r\n");
    req
}

#[tokio::test]
async fn a_bare_400_after_an_over_long_ping_url_becomes_a_json_414() {
    let (mut guard, mut client) = pipe();
    request(&mut guard, &mut client, &long_ping_request(70_000)).await;
    respond_and_close(guard, BARE_400).await;
    let reply = read_all(&mut client).await;
    assert!(
        reply.starts_with("HTTP/1.1 414 URI Too Long\r\n"),
        "{reply}"
    );
    assert!(reply.contains("content-type: application/json"), "{reply}");
    let body: ErrorBody = serde_json::from_str(reply.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(body.field.as_deref(), Some("data"));
    assert_eq!(body.code.as_deref(), Some("url_too_long"));
    assert!(body.error.contains("request body"), "{}", body.error);
    assert!(body.error.contains("102400"), "{}", body.error);
}

#[tokio::test]
async fn a_431_while_the_line_is_still_arriving_is_replaced_too() {
    let (mut guard, mut client) = pipe();
    // Only the first 128 KiB of a 1 MB line arrive before the codec gives up.
    let mut part = b"POST /api/pings/?data=".to_vec();
    part.resize(131_072, b'y');
    request(&mut guard, &mut client, &part).await;
    respond_and_close(guard, BARE_431).await;
    let reply = read_all(&mut client).await;
    assert!(reply.starts_with("HTTP/1.1 414 "), "{reply}");
    assert!(reply.contains("\"field\":\"data\""), "{reply}");
}

#[tokio::test]
async fn other_paths_get_a_414_without_the_data_field() {
    let (mut guard, mut client) = pipe();
    let mut req = b"GET /api/v1/services?q=".to_vec();
    req.resize(70_000, b'z');
    req.extend_from_slice(b" HTTP/1.1\r\n\r\n");
    request(&mut guard, &mut client, &req).await;
    respond_and_close(guard, BARE_400).await;
    let reply = read_all(&mut client).await;
    assert!(reply.starts_with("HTTP/1.1 414 "), "{reply}");
    assert!(!reply.contains("\"field\""), "{reply}");
}

#[tokio::test]
async fn other_refusals_and_responses_pass_unchanged() {
    // A bare 400 for a short but malformed request is the codec's to give.
    let (mut guard, mut client) = pipe();
    request(
        &mut guard,
        &mut client,
        b"GET /x HTTP/1.1\r\nbad header\r\n\r\n",
    )
    .await;
    respond_and_close(guard, BARE_400).await;
    assert_eq!(read_all(&mut client).await.as_bytes(), BARE_400);

    // A long URL answered normally (a limit raised elsewhere) is left alone, and the next
    // request on the connection is scanned afresh.
    let (mut guard, mut client) = pipe();
    request(&mut guard, &mut client, &long_ping_request(70_000)).await;
    let ok = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}";
    guard.write_all(ok).await.unwrap();
    request(&mut guard, &mut client, b"GET /healthz HTTP/1.1\r\n\r\n").await;
    respond_and_close(guard, BARE_400).await;
    let mut expected = ok.to_vec();
    expected.extend_from_slice(BARE_400);
    assert_eq!(read_all(&mut client).await.as_bytes(), expected);
}

#[tokio::test]
async fn a_url_at_the_limit_is_not_reported() {
    let (mut guard, mut client) = pipe();
    request(&mut guard, &mut client, &long_ping_request(MAX_URL - 20)).await;
    respond_and_close(guard, BARE_400).await;
    assert_eq!(read_all(&mut client).await.as_bytes(), BARE_400);
}

#[test]
fn paths_in_origin_and_absolute_form() {
    let mut k = Kept::EMPTY;
    k.push(b"GET /api/pings?service=x");
    assert_eq!(k.path(), b"/api/pings?service=x");
    let mut k = Kept::EMPTY;
    k.push(b"POST http://hb.lan:5827/ping/abc");
    assert_eq!(k.path(), b"/ping/abc");
    let mut k = Kept::EMPTY;
    k.push(&[b'a'; 200]);
    assert_eq!(k.len, KEPT);
}

#[test]
fn ping_secrets_are_not_logged() {
    assert_eq!(
        super::loggable_path("/ping/5bf66975-d4c7-4e4f-9c4b-7b5e8c8b1a2c/fail?rid=x"),
        "/ping/***"
    );
    assert_eq!(
        super::loggable_path("/api/push/abc?status=up"),
        "/api/push/***"
    );
    assert_eq!(
        super::loggable_path("/api/pings?service=x"),
        "/api/pings?service=x"
    );
}
