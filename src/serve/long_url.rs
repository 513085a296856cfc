//! A connection wrapper that turns the HTTP codec's bare refusal of an over-long URL into
//! the API's JSON error.
//!
//! actix-http parses a request head before any handler or middleware runs. A URL over
//! 65,534 bytes (the `http` crate's `Uri` limit) gets `400` with an empty body, a head over
//! 128 KiB gets `431`, and neither limit is configurable. Cron jobs that put a large output
//! in `?data=` would see only "Bad Request". So the wrapper watches each request line as it
//! is read and, when the codec answers a request whose line was over the URL limit with one
//! of those bare refusals, writes a `414` with a JSON error naming the limits and the fix
//! (send the data in the body) instead. Other traffic passes through untouched; only the
//! first line of each request is looked at, never headers or bodies.
//!
//! Each request line is found by resetting the scan when a response is written: HTTP/1.1
//! clients send the next request after reading the previous response. A client that
//! pipelines requests still gets the codec's bare refusal for a later over-long URL.
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use heartbeats_wire::ErrorBody;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};

/// The longest request target the codec accepts (`http::Uri`'s limit, `u16::MAX - 1`).
pub const MAX_URL: usize = 65_534;

/// How much of a request line is kept, to tell ping URLs from others.
const KEPT: usize = 64;

/// After our reply, how long and how much of the rest of the request is read and dropped
/// before closing, so that the client, still sending its long URL, is not reset before it
/// reads the reply.
const LINGER_TIME: Duration = Duration::from_secs(2);
const LINGER_BYTES: u64 = 4 * 1024 * 1024;

pub struct LongUrlGuard<T>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    io: Option<T>,
    data_limit: usize,
    line: Line,
    /// The start of a request line over [`MAX_URL`] read since the last response.
    long: Option<Kept>,
    /// Our reply, once it replaced the codec's, and how much of it is written.
    reply: Option<(Vec<u8>, usize)>,
}

/// Where the scan of the current request line stands.
enum Line {
    Reading {
        len: usize,
        kept: Kept,
    },
    /// The line ended (or was found too long); nothing more is looked at until a response.
    Done,
}

#[derive(Clone, Copy)]
struct Kept {
    bytes: [u8; KEPT],
    len: usize,
}

impl Kept {
    const EMPTY: Kept = Kept {
        bytes: [0; KEPT],
        len: 0,
    };

    fn push(&mut self, more: &[u8]) {
        let n = (KEPT - self.len).min(more.len());
        self.bytes[self.len..self.len + n].copy_from_slice(&more[..n]);
        self.len += n;
    }

    /// The request target's path, as far as it was kept.
    fn path(&self) -> &[u8] {
        let line = &self.bytes[..self.len];
        let target = match line.iter().position(|b| *b == b' ') {
            Some(i) => &line[i + 1..],
            None => line,
        };
        // An absolute-form target (`http://host/path`) names its path after the authority.
        match target
            .strip_prefix(b"http://")
            .or(target.strip_prefix(b"https://"))
        {
            Some(rest) => rest
                .iter()
                .position(|b| *b == b'/')
                .map_or(&rest[rest.len()..], |i| &rest[i..]),
            None => target,
        }
    }
}

impl<T> LongUrlGuard<T>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    pub fn new(io: T, data_limit: usize) -> Self {
        Self {
            io: Some(io),
            data_limit,
            line: Line::Reading {
                len: 0,
                kept: Kept::EMPTY,
            },
            long: None,
            reply: None,
        }
    }

    fn io(&mut self) -> io::Result<Pin<&mut T>> {
        self.io
            .as_mut()
            .map(Pin::new)
            .ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))
    }

    /// Follow the request line through newly read bytes.
    fn observe(&mut self, mut read: &[u8]) {
        let Line::Reading { len, kept } = &mut self.line else {
            return;
        };
        if *len == 0 {
            // Empty lines before a request line are allowed (RFC 9112, 2.2).
            let skip = read
                .iter()
                .position(|b| !matches!(b, b'\r' | b'\n'))
                .unwrap_or(read.len());
            read = &read[skip..];
        }
        let end = read.iter().position(|b| *b == b'\n');
        let part = &read[..end.unwrap_or(read.len())];
        kept.push(part);
        *len += part.len();
        if *len > MAX_URL {
            self.long = Some(*kept);
            self.line = Line::Done;
        } else if end.is_some() {
            self.line = Line::Done;
        }
    }

    /// A response is going out: the next bytes read begin the next request.
    fn response_started(&mut self) {
        self.long = None;
        self.line = Line::Reading {
            len: 0,
            kept: Kept::EMPTY,
        };
    }

    fn poll_reply(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, written)) = self.reply.as_mut()
            && *written < bytes.len()
        {
            let io = self
                .io
                .as_mut()
                .ok_or_else(|| io::Error::from(io::ErrorKind::NotConnected))?;
            let n = ready!(Pin::new(io).poll_write(cx, &bytes[*written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            *written += n;
        }
        Poll::Ready(Ok(()))
    }
}

/// Whether `buf` begins the codec's body-less 400 or 431, its answers to a head it could
/// not parse.
fn is_bare_refusal(buf: &[u8]) -> bool {
    let status = buf.starts_with(b"HTTP/1.1 400 ") || buf.starts_with(b"HTTP/1.1 431 ");
    // The head, with the line end of its last header.
    let head_len = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(buf.len(), |i| i + 2);
    status
        && buf[..head_len]
            .windows(21)
            .any(|w| w.eq_ignore_ascii_case(b"\r\ncontent-length: 0\r\n"))
}

/// Our 414: JSON like every API error; for the ping URLs it says where large data goes.
fn reply_for(kept: &Kept, data_limit: usize) -> Vec<u8> {
    let path = kept.path();
    let ping = [&b"/api/pings"[..], b"/ping/", b"/api/push/"]
        .iter()
        .any(|p| path.starts_with(p));
    let body = if ping {
        ErrorBody {
            error: format!(
                "data: the URL is longer than {MAX_URL} bytes, the most this server reads; \
                 send large data in the request body instead (e.g. curl --data-urlencode \
                 data@output.txt), where up to {data_limit} bytes are accepted"
            ),
            field: Some("data".into()),
            code: Some("url_too_long".into()),
        }
    } else {
        ErrorBody {
            error: format!("the URL is longer than {MAX_URL} bytes, the most this server reads"),
            field: None,
            code: Some("url_too_long".into()),
        }
    };
    let json = serde_json::to_vec(&body).unwrap_or_default();
    let mut out = format!(
        "HTTP/1.1 414 URI Too Long\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n",
        json.len()
    )
    .into_bytes();
    out.extend_from_slice(&json);
    out
}

impl<T> AsyncRead for LongUrlGuard<T>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        ready!(this.io()?.poll_read(cx, buf))?;
        this.observe(&buf.filled()[before..]);
        Poll::Ready(Ok(()))
    }
}

/// A path as it may be logged: the secret after `/ping/` or `/api/push/` (a ping UUID or a
/// user's ping key) is left out.
fn loggable_path(path: &str) -> String {
    for prefix in ["/ping/", "/api/push/"] {
        if path.starts_with(prefix) {
            return format!("{prefix}***");
        }
    }
    path.to_owned()
}

impl<T> AsyncWrite for LongUrlGuard<T>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.reply.is_some() {
            // The codec's own refusal, or what follows it: already answered.
            return Poll::Ready(Ok(buf.len()));
        }
        if let Some(kept) = this.long
            && is_bare_refusal(buf)
        {
            tracing::info!(
                path = %loggable_path(&String::from_utf8_lossy(kept.path())),
                "refused a URL over {MAX_URL} bytes with 414"
            );
            this.reply = Some((reply_for(&kept, this.data_limit), 0));
            return Poll::Ready(Ok(buf.len()));
        }
        this.response_started();
        this.io()?.poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_reply(cx))?;
        this.io()?.poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_reply(cx))?;
        this.io()?.poll_shutdown(cx)
    }
}

impl<T> Drop for LongUrlGuard<T>
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    /// The codec drops the connection as soon as its refusal is flushed, with the rest of
    /// the client's request unread; closing then would reset the connection, and the client
    /// could lose our reply. Finish the reply and linger instead, briefly, off this task.
    fn drop(&mut self) {
        let (Some((reply, written)), Some(io)) = (self.reply.take(), self.io.take()) else {
            return;
        };
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(linger(io, reply, written));
        }
    }
}

async fn linger<T>(mut io: T, reply: Vec<u8>, written: usize)
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let close = async {
        io.write_all(&reply[written.min(reply.len())..]).await?;
        io.shutdown().await?;
        let mut sink = tokio::io::sink();
        tokio::io::copy(&mut (&mut io).take(LINGER_BYTES), &mut sink).await?;
        Ok::<_, io::Error>(())
    };
    let _ = tokio::time::timeout(LINGER_TIME, close).await;
}

#[cfg(test)]
#[path = "long_url_test.rs"]
mod tests;
