//! A fake chat vendor on loopback: one small HTTP/1 server in the test process that plays
//! DingTalk, WeCom, Feishu, Slack, Telegram, ntfy, Gotify and a generic webhook. It records
//! every request, checks each one's shape the way the vendor documents it, verifies the
//! DingTalk and Feishu signatures with its own implementation of their algorithms, and
//! answers as the vendor does (including its refusals). Replies can be scripted per path
//! ("first HTTP 500, then errcode 310000, then the vendor's answer").
//!
//! Which vendor answers a path: the one set with [`ChatServer::play`], else by the path's
//! shape: `…/robot/send` DingTalk, `…/cgi-bin/webhook/send` WeCom,
//! `…/open-apis/bot/v2/hook/…` Feishu, `/services/…` Slack, `…/bot<token>/sendMessage`
//! Telegram, `/ntfy/<topic>` ntfy, `…/message` Gotify, anything else a webhook.
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Which vendor a path plays, with the credentials it checks (`None`: any or none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Vendor {
    /// Checks `sign` / `timestamp` in the query when a secret is set.
    Dingtalk {
        secret: Option<String>,
    },
    Wecom,
    /// Checks `sign` / `timestamp` in the body when a secret is set.
    Feishu {
        secret: Option<String>,
    },
    Slack,
    /// Checks the token in the `/bot<token>/` path when set.
    Telegram {
        token: Option<String>,
    },
    /// Checks `Authorization: Bearer <token>` when set.
    Ntfy {
        token: Option<String>,
    },
    /// Checks `X-Gotify-Key` (or `?token=`) when set.
    Gotify {
        token: Option<String>,
    },
    /// Any method; a JSON `Content-Type` needs a body that parses.
    Webhook,
}

/// A scripted answer, used once, before the vendor answers for itself.
#[derive(Debug, Clone)]
pub enum Reply {
    /// That status with an empty body.
    Status(u16),
    Json(u16, Value),
    Text(u16, String),
    /// Read the request, never answer (for timeouts).
    Hang,
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// Without the query.
    pub path: String,
    /// Decoded query pairs, in order.
    pub query: Vec<(String, String)>,
    /// Names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Who answered it.
    pub vendor: Vendor,
    /// What the vendor found wrong with it (then it answered with its refusal); `None`
    /// for a well-formed request, or one answered by a script.
    pub problem: Option<String>,
    /// Whether a scripted reply answered it.
    pub scripted: bool,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn query(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON (panics when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", self.text()))
    }
}

#[derive(Default)]
struct State {
    vendors: HashMap<String, Vendor>,
    scripts: HashMap<String, VecDeque<Reply>>,
    requests: Vec<Request>,
    connections: Vec<JoinHandle<()>>,
}

/// The server; it stops when dropped.
pub struct ChatServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    accept: JoinHandle<()>,
}

impl Drop for ChatServer {
    fn drop(&mut self) {
        self.accept.abort();
        for c in self.state.lock().unwrap().connections.drain(..) {
            c.abort();
        }
    }
}

impl ChatServer {
    /// Listen on a free loopback port.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the chat server");
        let addr = listener.local_addr().expect("chat server address");
        let state = Arc::new(Mutex::new(State::default()));
        let accept = {
            let state = state.clone();
            tokio::spawn(async move {
                while let Ok((stream, _)) = listener.accept().await {
                    let task = tokio::spawn(serve(stream, state.clone()));
                    state.lock().unwrap().connections.push(task);
                }
            })
        };
        Self {
            addr,
            state,
            accept,
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The server's URL for `path_and_query` (`/robot/send?access_token=t1`).
    pub fn url(&self, path_and_query: &str) -> String {
        format!("{}{path_and_query}", self.base())
    }

    /// Make `path` (without a query) play `vendor`.
    pub fn play(&self, path: &str, vendor: Vendor) {
        self.state
            .lock()
            .unwrap()
            .vendors
            .insert(path.to_owned(), vendor);
    }

    /// Answer the next request to `path` with `reply` (queued after earlier ones).
    pub fn fail_next(&self, path: &str, reply: Reply) {
        self.script(path, [reply]);
    }

    /// Answer the next requests to `path` with `replies`, in order, then as the vendor.
    pub fn script(&self, path: &str, replies: impl IntoIterator<Item = Reply>) {
        self.state
            .lock()
            .unwrap()
            .scripts
            .entry(path.to_owned())
            .or_default()
            .extend(replies);
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Request> {
        self.state.lock().unwrap().requests.clone()
    }

    /// The requests to `path` (without a query).
    pub fn requests_to(&self, path: &str) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }

    /// Wait (up to 10 s) until `path` has seen `n` requests; returns them.
    pub async fn wait_for(&self, path: &str, n: usize) -> Vec<Request> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let seen = self.requests_to(path);
            if seen.len() >= n || tokio::time::Instant::now() > deadline {
                return seen;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// A URL on a loopback port nothing listens on.
    pub async fn unreachable_url(path: &str) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        drop(listener);
        format!("http://{addr}{path}")
    }
}

/// DingTalk's signature, as its docs give it: base64(HMAC-SHA256(key = secret, message =
/// `timestamp + "\n" + secret`)).
pub fn dingtalk_sign(timestamp: &str, secret: &str) -> String {
    hmac_b64(
        secret.as_bytes(),
        format!("{timestamp}\n{secret}").as_bytes(),
    )
}

/// Feishu's signature, as its docs give it: base64(HMAC-SHA256(key = `timestamp + "\n" +
/// secret`, message = empty)).
pub fn feishu_sign(timestamp: &str, secret: &str) -> String {
    hmac_b64(format!("{timestamp}\n{secret}").as_bytes(), b"")
}

fn hmac_b64(key: &[u8], msg: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("hmac key");
    mac.update(msg);
    BASE64.encode(mac.finalize().into_bytes())
}

/// An RFC 2047 encoded word (`=?UTF-8?B?…?=`) decoded; anything else as it is.
pub fn decode_header(value: &str) -> String {
    let lower = value.to_ascii_lowercase();
    if let Some(rest) = lower.strip_prefix("=?utf-8?b?")
        && rest.ends_with("?=")
    {
        let b64 = &value[10..value.len() - 2];
        if let Ok(bytes) = BASE64.decode(b64) {
            return String::from_utf8_lossy(&bytes).into_owned();
        }
    }
    value.to_owned()
}

async fn serve(mut stream: TcpStream, state: Arc<Mutex<State>>) {
    let mut buf: Vec<u8> = Vec::new();
    loop {
        let Some((head_len, method, target, headers)) = read_head(&mut stream, &mut buf).await
        else {
            return;
        };
        let length: usize = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        while buf.len() < head_len + length {
            let mut chunk = [0u8; 8192];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        let body = buf[head_len..head_len + length].to_vec();
        buf.drain(..head_len + length);
        let (path, query) = match target.split_once('?') {
            Some((p, q)) => (p.to_owned(), q.to_owned()),
            None => (target.clone(), String::new()),
        };
        let query: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        let mut req = Request {
            method,
            path,
            query,
            headers,
            body,
            vendor: Vendor::Webhook,
            problem: None,
            scripted: false,
        };
        let (vendor, scripted) = {
            let mut s = state.lock().unwrap();
            let vendor = s
                .vendors
                .get(&req.path)
                .cloned()
                .unwrap_or_else(|| vendor_by_path(&req.path));
            let scripted = s.scripts.get_mut(&req.path).and_then(VecDeque::pop_front);
            (vendor, scripted)
        };
        req.vendor = vendor.clone();
        let answer = match scripted {
            Some(Reply::Hang) => {
                req.scripted = true;
                state.lock().unwrap().requests.push(req);
                tokio::time::sleep(Duration::from_secs(3600)).await;
                return;
            }
            Some(reply) => {
                req.scripted = true;
                match reply {
                    Reply::Status(s) => (s, "text/plain", String::new()),
                    Reply::Json(s, v) => (s, "application/json", v.to_string()),
                    Reply::Text(s, t) => (s, "text/plain", t),
                    Reply::Hang => unreachable!(),
                }
            }
            None => {
                let verdict = play(&vendor, &req);
                req.problem = verdict.problem;
                (verdict.status, verdict.content_type, verdict.body)
            }
        };
        state.lock().unwrap().requests.push(req);
        let (status, content_type, body) = answer;
        let reply = format!(
            "HTTP/1.1 {status} {}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\r\n{body}",
            reason_phrase(status),
            body.len()
        );
        if stream.write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}

type Head = (usize, String, String, Vec<(String, String)>);

/// Read up to the end of the head: its length, method, target and headers.
async fn read_head(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Head> {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let mut lines = head.split("\r\n");
            let mut first = lines.next()?.split(' ');
            let method = first.next()?.to_owned();
            let target = first.next()?.to_owned();
            let headers = lines
                .filter_map(|l| l.split_once(':'))
                .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
                .collect();
            return Some((end + 4, method, target, headers));
        }
        let mut chunk = [0u8; 8192];
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        408 => "Request Timeout",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

fn vendor_by_path(path: &str) -> Vendor {
    if path.ends_with("/robot/send") {
        Vendor::Dingtalk { secret: None }
    } else if path.ends_with("/cgi-bin/webhook/send") {
        Vendor::Wecom
    } else if path.contains("/open-apis/bot/v2/hook/") {
        Vendor::Feishu { secret: None }
    } else if path.starts_with("/services/") {
        Vendor::Slack
    } else if telegram_token(path).is_some() {
        Vendor::Telegram { token: None }
    } else if path.starts_with("/ntfy/") {
        Vendor::Ntfy { token: None }
    } else if path.ends_with("/message") {
        Vendor::Gotify { token: None }
    } else {
        Vendor::Webhook
    }
}

fn telegram_token(path: &str) -> Option<&str> {
    let rest = path.strip_suffix("/sendMessage")?;
    let last = rest.rsplit('/').next()?;
    last.strip_prefix("bot").filter(|t| !t.is_empty())
}

/// The vendor's answer and what it found wrong.
struct Verdict {
    status: u16,
    content_type: &'static str,
    body: String,
    problem: Option<String>,
}

fn ok_json(v: Value) -> Verdict {
    Verdict {
        status: 200,
        content_type: "application/json",
        body: v.to_string(),
        problem: None,
    }
}

fn refuse(status: u16, body: Value, problem: impl Into<String>) -> Verdict {
    Verdict {
        status,
        content_type: "application/json",
        body: body.to_string(),
        problem: Some(problem.into()),
    }
}

fn refuse_text(status: u16, body: &str, problem: impl Into<String>) -> Verdict {
    Verdict {
        status,
        content_type: "text/plain",
        body: body.to_owned(),
        problem: Some(problem.into()),
    }
}

fn json_body(req: &Request) -> Option<Value> {
    let is_json = req
        .header("content-type")
        .is_some_and(|c| c.starts_with("application/json"));
    if !is_json {
        return None;
    }
    serde_json::from_slice(&req.body).ok()
}

fn str_at<'v>(v: &'v Value, pointer: &str) -> Option<&'v str> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// Whether `timestamp` (in `unit_per_sec` units) is within an hour of now.
fn fresh(timestamp: &str, unit_per_sec: i64) -> bool {
    let Ok(t) = timestamp.parse::<i64>() else {
        return false;
    };
    let now = chrono::Utc::now().timestamp_millis() * unit_per_sec / 1000;
    (now - t).abs() <= 3600 * unit_per_sec
}

fn play(vendor: &Vendor, req: &Request) -> Verdict {
    if req.method != "POST" && *vendor != Vendor::Webhook {
        return refuse_text(405, "method not allowed", format!("method {}", req.method));
    }
    match vendor {
        Vendor::Dingtalk { secret } => dingtalk(req, secret.as_deref()),
        Vendor::Wecom => wecom(req),
        Vendor::Feishu { secret } => feishu(req, secret.as_deref()),
        Vendor::Slack => slack(req),
        Vendor::Telegram { token } => telegram(req, token.as_deref()),
        Vendor::Ntfy { token } => ntfy(req, token.as_deref()),
        Vendor::Gotify { token } => gotify(req, token.as_deref()),
        Vendor::Webhook => webhook(req),
    }
}

fn dingtalk(req: &Request, secret: Option<&str>) -> Verdict {
    if req.query("access_token").is_none_or(str::is_empty) {
        return ok_refusal_errcode(300001, "token is not exist", "no access_token");
    }
    if let Some(secret) = secret {
        let (Some(ts), Some(sign)) = (req.query("timestamp"), req.query("sign")) else {
            return ok_refusal_errcode(310000, "sign not match", "no timestamp or sign");
        };
        if !fresh(ts, 1000) {
            return ok_refusal_errcode(310000, "sign not match", "timestamp not within 1 h");
        }
        if sign != dingtalk_sign(ts, secret) {
            return ok_refusal_errcode(310000, "sign not match", "wrong sign");
        }
    }
    let Some(body) = json_body(req) else {
        return ok_refusal_errcode(40035, "缺少参数 json", "body is not JSON");
    };
    if str_at(&body, "/msgtype") != Some("markdown") {
        return ok_refusal_errcode(40035, "缺少参数 msgtype", "msgtype is not markdown");
    }
    if str_at(&body, "/markdown/title").is_none() || str_at(&body, "/markdown/text").is_none() {
        return ok_refusal_errcode(40035, "缺少参数 markdown", "markdown.title or text missing");
    }
    ok_json(json!({"errcode": 0, "errmsg": "ok"}))
}

/// DingTalk and WeCom refuse with HTTP 200 and an `errcode`.
fn ok_refusal_errcode(code: i64, msg: &str, problem: &str) -> Verdict {
    refuse(200, json!({"errcode": code, "errmsg": msg}), problem)
}

fn wecom(req: &Request) -> Verdict {
    if req.query("key").is_none_or(str::is_empty) {
        return ok_refusal_errcode(93000, "invalid webhook url", "no key");
    }
    let Some(body) = json_body(req) else {
        return ok_refusal_errcode(40008, "invalid message type", "body is not JSON");
    };
    if str_at(&body, "/msgtype") != Some("markdown") {
        return ok_refusal_errcode(40008, "invalid message type", "msgtype is not markdown");
    }
    let Some(content) = str_at(&body, "/markdown/content") else {
        return ok_refusal_errcode(41009, "missing markdown content", "no markdown.content");
    };
    if content.len() > 4096 {
        return ok_refusal_errcode(
            40058,
            "markdown.content exceed max length 4096",
            format!("content is {} bytes", content.len()).as_str(),
        );
    }
    ok_json(json!({"errcode": 0, "errmsg": "ok"}))
}

fn feishu(req: &Request, secret: Option<&str>) -> Verdict {
    let bad_sign = |problem: &str| {
        refuse(
            200,
            json!({"code": 19021, "msg": "sign match fail or timestamp is not within one hour from current time"}),
            problem,
        )
    };
    let Some(body) = json_body(req) else {
        return refuse(
            400,
            json!({"code": 9499, "msg": "Bad Request"}),
            "body is not JSON",
        );
    };
    if let Some(secret) = secret {
        let (Some(ts), Some(sign)) = (str_at(&body, "/timestamp"), str_at(&body, "/sign")) else {
            return bad_sign("no timestamp or sign (timestamp must be a string)");
        };
        if !fresh(ts, 1) {
            return bad_sign("timestamp not within 1 h");
        }
        if sign != feishu_sign(ts, secret) {
            return bad_sign("wrong sign");
        }
    }
    let params =
        |problem: &str| refuse(200, json!({"code": 19002, "msg": "params error"}), problem);
    match str_at(&body, "/msg_type") {
        Some("text") => {
            if str_at(&body, "/content/text").is_none() {
                return params("content.text missing");
            }
        }
        Some("post") => {
            let Some(post) = body.pointer("/content/post").and_then(Value::as_object) else {
                return params("content.post missing");
            };
            let Some((_, lang)) = post.iter().next() else {
                return params("content.post has no language");
            };
            let paragraphs = lang.get("content").and_then(Value::as_array);
            let well_formed = paragraphs.is_some_and(|ps| {
                !ps.is_empty()
                    && ps.iter().all(|p| {
                        p.as_array().is_some_and(|els| {
                            els.iter().all(|e| match str_at(e, "/tag") {
                                Some("text") => str_at(e, "/text").is_some(),
                                Some("a") => {
                                    str_at(e, "/text").is_some() && str_at(e, "/href").is_some()
                                }
                                _ => false,
                            })
                        })
                    })
            });
            if str_at(lang, "/title").is_none() || !well_formed {
                return params("post title or content malformed");
            }
        }
        _ => return params("msg_type is not text or post"),
    }
    ok_json(
        json!({"StatusCode": 0, "StatusMessage": "success", "code": 0, "data": {}, "msg": "success"}),
    )
}

fn slack(req: &Request) -> Verdict {
    let Some(body) = json_body(req) else {
        return refuse_text(400, "invalid_payload", "body is not JSON");
    };
    if str_at(&body, "/text").is_none() {
        return refuse_text(400, "no_text", "no text");
    }
    Verdict {
        status: 200,
        content_type: "text/plain",
        body: "ok".to_owned(),
        problem: None,
    }
}

/// Telegram's HTML mode: only its tags, and `&` only as an entity.
fn telegram_html_problem(text: &str) -> Option<String> {
    let tag = regex::Regex::new(r#"^(</?(b|i|u|s|code|pre)>|<a href="[^"<>]*">|</a>)"#).unwrap();
    let entity = regex::Regex::new(r"^&(amp|lt|gt|quot|#[0-9]+);").unwrap();
    for (i, c) in text.char_indices() {
        let rest = &text[i..];
        if c == '<' && !tag.is_match(rest) {
            return Some(format!("unsupported start tag at byte offset {i}"));
        }
        if c == '&' && !entity.is_match(rest) {
            return Some(format!("unsupported entity at byte offset {i}"));
        }
    }
    None
}

fn telegram(req: &Request, token: Option<&str>) -> Verdict {
    let sent_token = telegram_token(&req.path).unwrap_or_default();
    if token.is_some_and(|t| t != sent_token) {
        return refuse(
            401,
            json!({"ok": false, "error_code": 401, "description": "Unauthorized"}),
            "wrong bot token",
        );
    }
    let bad = |d: &str| {
        refuse(
            400,
            json!({"ok": false, "error_code": 400, "description": format!("Bad Request: {d}")}),
            d,
        )
    };
    let Some(body) = json_body(req) else {
        return bad("message text is empty");
    };
    let chat_id = body.get("chat_id");
    if !chat_id.is_some_and(|c| c.is_i64() || c.as_str().is_some_and(|s| !s.is_empty())) {
        return bad("chat_id is empty");
    }
    let Some(text) = str_at(&body, "/text") else {
        return bad("message text is empty");
    };
    if text.chars().count() > 4096 {
        return bad("message is too long");
    }
    if str_at(&body, "/parse_mode") == Some("HTML")
        && let Some(p) = telegram_html_problem(text)
    {
        return bad(&format!("can't parse entities: {p}"));
    }
    ok_json(json!({"ok": true, "result": {"message_id": 1, "chat": {"id": chat_id}, "text": text}}))
}

fn ntfy(req: &Request, token: Option<&str>) -> Verdict {
    if let Some(token) = token
        && req.header("authorization") != Some(&format!("Bearer {token}"))
    {
        return refuse(
            403,
            json!({"code": 40301, "http": 403, "error": "forbidden"}),
            "wrong or no bearer token",
        );
    }
    let bad = |what: &str| {
        refuse(
            400,
            json!({"code": 40007, "http": 400, "error": format!("invalid request: {what}")}),
            what,
        )
    };
    if req
        .headers
        .iter()
        .any(|(_, v)| !v.bytes().all(|b| (0x20..0x7f).contains(&b) || b == b'\t'))
    {
        return bad("a header value is not ASCII");
    }
    if let Some(p) = req.header("priority")
        && !matches!(
            p,
            "1" | "2" | "3" | "4" | "5" | "min" | "low" | "default" | "high" | "max" | "urgent"
        )
    {
        return bad("priority header");
    }
    if req.body.is_empty() || std::str::from_utf8(&req.body).is_err() {
        return bad("message is empty or not UTF-8");
    }
    let topic = req.path.rsplit('/').next().unwrap_or_default();
    ok_json(
        json!({"id": "hb1", "time": chrono::Utc::now().timestamp(), "event": "message", "topic": topic, "message": req.text()}),
    )
}

fn gotify(req: &Request, token: Option<&str>) -> Verdict {
    let sent = req
        .header("x-gotify-key")
        .or_else(|| req.query("token"))
        .unwrap_or_default();
    if token.is_some_and(|t| t != sent) || sent.is_empty() {
        return refuse(
            401,
            json!({"error": "Unauthorized", "errorCode": 401, "errorDescription": "you need to provide a valid access token or user credentials to access this api"}),
            "wrong or no app token",
        );
    }
    let bad = |what: &str| {
        refuse(
            400,
            json!({"error": "Bad Request", "errorCode": 400, "errorDescription": what}),
            what,
        )
    };
    let Some(body) = json_body(req) else {
        return bad("body is not JSON");
    };
    let Some(message) = str_at(&body, "/message") else {
        return bad("Field 'message' is required");
    };
    if body.get("priority").is_some_and(|p| !p.is_i64()) {
        return bad("Field 'priority' is not an integer");
    }
    if body.get("extras").is_some_and(|e| !e.is_object()) {
        return bad("Field 'extras' is not an object");
    }
    ok_json(
        json!({"id": 1, "appid": 1, "message": message, "title": body.get("title"), "priority": body.get("priority")}),
    )
}

fn webhook(req: &Request) -> Verdict {
    let json_type = req
        .header("content-type")
        .is_some_and(|c| c.to_ascii_lowercase().contains("json"));
    if json_type && serde_json::from_slice::<Value>(&req.body).is_err() {
        return refuse_text(
            400,
            "invalid JSON",
            "a JSON content type with a body that does not parse",
        );
    }
    Verdict {
        status: 200,
        content_type: "text/plain",
        body: "ok".to_owned(),
        problem: None,
    }
}
