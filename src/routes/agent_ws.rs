//! `GET /api/v1/agent/ws`: the WebSocket of `hb-agent push` (messages in
//! `heartbeats_wire::agent`). The caller authenticates as for `POST /api/v1/hosts/reports`
//! (`Authorization: Bearer <api key>`, or Basic) and must be allowed to send reports.
//!
//! The first frame is `hello`; the server answers `config`. Each `report` frame is stored
//! as a report body of one is, and answered `accepted` or `error`. A frame that cannot be
//! read is answered `error` and counted; the socket stays open unless the frame was the
//! hello or broke the framing itself (too large, not WebSocket). Nothing received for
//! `HB_AGENT_IDLE_SECS` (not even a ping) closes the socket; closing is presence
//! (`app::presence`).
use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, web};
use actix_ws::{AggregatedMessage, AggregatedMessageStream, CloseCode, CloseReason, Session};
use heartbeats_wire::agent::{ClientMessage, ServerMessage};
use serde_json::Value;

use super::{Caller, app_error_response};
use crate::app::presence::{self, Connection};
use crate::app::{Actor, AppError};
use crate::domain::role::Action;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/agent/ws").route(web::get().to(connect)));
}

#[tracing::instrument(skip_all)]
async fn connect(
    caller: Caller,
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Payload,
) -> Result<HttpResponse, actix_web::Error> {
    // Refused before the upgrade, so the agent reads a plain 403 with the API's JSON error.
    if let Err(e) = caller.may(Action::Ping) {
        return Ok(app_error_response(&e));
    }
    let (response, session, stream) = actix_ws::handle(&req, body)?;
    let limit = state.settings.max_report_bytes;
    let stream = stream
        .max_frame_size(limit)
        .aggregate_continuations()
        .max_continuation_size(limit);
    let source = crate::peer::client_ip(&req);
    actix_web::rt::spawn(serve(state, caller.0, source, session, stream));
    Ok(response)
}

/// What the next read gave.
enum Read {
    Message(AggregatedMessage),
    /// The client went away (TCP closed) or sent a close frame.
    Gone(Option<CloseReason>),
    Idle,
    /// The framing broke: too large, or not WebSocket.
    Broken(actix_ws::ProtocolError),
}

async fn read(stream: &mut AggregatedMessageStream, idle: Duration) -> Read {
    match tokio::time::timeout(idle, stream.recv()).await {
        Err(_) => Read::Idle,
        Ok(None) => Read::Gone(None),
        Ok(Some(Ok(AggregatedMessage::Close(reason)))) => Read::Gone(reason),
        Ok(Some(Ok(msg))) => Read::Message(msg),
        // The connection broke mid-frame (the agent was killed): gone, not a bad frame.
        Ok(Some(Err(actix_ws::ProtocolError::Io(e))))
            if !e.to_string().contains("continuation size") =>
        {
            Read::Gone(None)
        }
        Ok(Some(Err(e))) => Read::Broken(e),
    }
}

async fn send(session: &mut Session, msg: &ServerMessage) -> bool {
    match serde_json::to_string(msg) {
        Ok(text) => session.text(text).await.is_ok(),
        Err(_) => false,
    }
}

async fn close(session: Session, code: CloseCode, why: impl Into<String>) {
    let _ = session
        .close(Some(CloseReason {
            code,
            description: Some(why.into()),
        }))
        .await;
}

/// A refused frame: counted, logged, answered.
async fn refuse(
    state: &AppState,
    session: &mut Session,
    host: Option<&str>,
    error: impl Into<String>,
) -> bool {
    let error = error.into();
    let count = state.app.presence.refused_frame();
    tracing::warn!(host = host.unwrap_or("-"), %error, refused_so_far = count, "agent frame refused");
    send(session, &ServerMessage::Error { error }).await
}

/// An app refusal as one line for the agent's log.
fn error_text(e: &AppError) -> String {
    match e {
        AppError::Store(_) => {
            "storage is unavailable; the report was not stored, send it again".into()
        }
        AppError::Other(_) => "internal error; the report was not stored".into(),
        other => other.to_string(),
    }
}

fn broken_text(e: &actix_ws::ProtocolError, limit: usize) -> (CloseCode, String) {
    match e {
        actix_ws::ProtocolError::Overflow => (
            CloseCode::Size,
            format!(
                "frame larger than {limit} bytes (HB_MAX_REPORT_BYTES); send one report per frame"
            ),
        ),
        actix_ws::ProtocolError::Io(io) if io.to_string().contains("continuation size") => (
            CloseCode::Size,
            format!(
                "message larger than {limit} bytes (HB_MAX_REPORT_BYTES); send one report per frame"
            ),
        ),
        other => (
            CloseCode::Protocol,
            format!("not a valid WebSocket frame: {other}"),
        ),
    }
}

/// A text frame's JSON and its `type`.
fn parse(text: &str) -> Result<(String, Value), String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
    let kind = v
        .get("type")
        .and_then(Value::as_str)
        .ok_or("a message needs a \"type\": \"hello\" or \"report\"")?
        .to_owned();
    Ok((kind, v))
}

async fn serve(
    state: web::Data<AppState>,
    actor: Actor,
    source: String,
    mut session: Session,
    mut stream: AggregatedMessageStream,
) {
    let idle_secs = state.settings.agent_idle_secs;
    let idle = Duration::from_secs(u64::from(idle_secs));
    let limit = state.settings.max_report_bytes;
    // Hello first.
    let conn = loop {
        match read(&mut stream, idle).await {
            Read::Message(AggregatedMessage::Ping(b)) => {
                if session.pong(&b).await.is_err() {
                    return;
                }
            }
            Read::Message(AggregatedMessage::Pong(_)) => {}
            Read::Message(AggregatedMessage::Text(text)) => {
                let hello = parse(&text).and_then(|(kind, v)| match kind.as_str() {
                    "hello" => serde_json::from_value::<ClientMessage>(v)
                        .map_err(|e| format!("invalid hello: {e}")),
                    other => Err(format!(
                        "the first message must be a hello (got {other:?}): {{\"type\": \"hello\", \"name\": …, \"interval\": …}}"
                    )),
                });
                let name = match hello {
                    Ok(ClientMessage::Hello { name, .. }) => name,
                    Ok(ClientMessage::Report { .. }) => unreachable!("parsed as hello"),
                    Err(e) => {
                        refuse(&state, &mut session, None, e).await;
                        return close(session, CloseCode::Policy, "no valid hello").await;
                    }
                };
                match presence::hello(&state.app, &actor, &name).await {
                    Ok(conn) => break conn,
                    Err(e) => {
                        let text = error_text(&e);
                        refuse(
                            &state,
                            &mut session,
                            Some(&name),
                            format!("hello refused: {text}"),
                        )
                        .await;
                        return close(session, CloseCode::Policy, "hello refused").await;
                    }
                }
            }
            Read::Message(AggregatedMessage::Binary(_)) => {
                refuse(
                    &state,
                    &mut session,
                    None,
                    "binary frames are not read; send JSON text frames",
                )
                .await;
                return close(session, CloseCode::Unsupported, "text frames only").await;
            }
            Read::Message(AggregatedMessage::Close(_)) | Read::Gone(_) => return,
            Read::Idle => {
                return close(
                    session,
                    CloseCode::Policy,
                    format!("no hello within {idle_secs} s"),
                )
                .await;
            }
            Read::Broken(e) => {
                let (code, text) = broken_text(&e, limit);
                refuse(&state, &mut session, None, text.clone()).await;
                return close(session, code, text).await;
            }
        }
    };
    tracing::info!(host = %conn.name, %source, managed = conn.host.is_some(), "push agent connected");
    let config = ServerMessage::Config {
        host: conn.host.clone(),
        idle_timeout: idle_secs,
    };
    let mut conn = conn;
    let why = if send(&mut session, &config).await {
        session_loop(
            &state,
            &actor,
            &source,
            &mut conn,
            &mut session,
            &mut stream,
            idle,
            limit,
        )
        .await
    } else {
        Ended::Gone("the connection dropped".into())
    };
    // Presence first: once the agent sees the close, the server has acted on it.
    let name = conn.name.clone();
    presence::closed(&state.app, conn).await;
    match why {
        Ended::Gone(why) => {
            tracing::info!(host = %name, %why, "push agent disconnected");
        }
        Ended::Close(code, why) => {
            tracing::info!(host = %name, %why, "push agent socket closed by the server");
            close(session, code, why).await;
        }
        Ended::Replaced => {
            close(
                session,
                CloseCode::Policy,
                "replaced by a newer connection for this host",
            )
            .await;
        }
    }
}

enum Ended {
    Gone(String),
    Close(CloseCode, String),
    Replaced,
}

#[allow(clippy::too_many_arguments)]
async fn session_loop(
    state: &AppState,
    actor: &Actor,
    source: &str,
    conn: &mut Connection,
    session: &mut Session,
    stream: &mut AggregatedMessageStream,
    idle: Duration,
    limit: usize,
) -> Ended {
    loop {
        let next = tokio::select! {
            _ = &mut conn.replaced => {
                let error = format!(
                    "another connection for host {} took over; this one is closed (two agents with one name?)",
                    conn.name
                );
                send(session, &ServerMessage::Error { error }).await;
                return Ended::Replaced;
            }
            next = read(stream, idle) => next,
        };
        match next {
            Read::Message(AggregatedMessage::Ping(b)) => {
                if session.pong(&b).await.is_err() {
                    return Ended::Gone("the connection dropped".into());
                }
            }
            Read::Message(AggregatedMessage::Pong(_)) => {}
            Read::Message(AggregatedMessage::Text(text)) => {
                let reply = match parse(&text) {
                    Ok((kind, mut v)) if kind == "report" => match v
                        .get_mut("report")
                        .map(Value::take)
                    {
                        Some(report) => {
                            match presence::report(&state.app, actor, conn, report, Some(source))
                                .await
                            {
                                Ok(status) => ServerMessage::Accepted { status },
                                Err(e) => {
                                    refuse(
                                        state,
                                        session,
                                        Some(&conn.name),
                                        format!("report refused: {}", error_text(&e)),
                                    )
                                    .await;
                                    continue;
                                }
                            }
                        }
                        None => {
                            refuse(
                                state,
                                session,
                                Some(&conn.name),
                                "a report message needs a \"report\" object",
                            )
                            .await;
                            continue;
                        }
                    },
                    Ok((kind, _)) if kind == "hello" => {
                        refuse(
                            state,
                            session,
                            Some(&conn.name),
                            "hello was already said; send reports",
                        )
                        .await;
                        continue;
                    }
                    Ok((kind, _)) => {
                        refuse(
                            state,
                            session,
                            Some(&conn.name),
                            format!("unknown message type {kind:?}; expected \"report\""),
                        )
                        .await;
                        continue;
                    }
                    Err(e) => {
                        refuse(state, session, Some(&conn.name), e).await;
                        continue;
                    }
                };
                if !send(session, &reply).await {
                    return Ended::Gone("the connection dropped".into());
                }
            }
            Read::Message(AggregatedMessage::Binary(_)) => {
                refuse(
                    state,
                    session,
                    Some(&conn.name),
                    "binary frames are not read; send JSON text frames",
                )
                .await;
            }
            Read::Message(AggregatedMessage::Close(reason)) | Read::Gone(reason) => {
                let why = reason
                    .and_then(|r| r.description)
                    .unwrap_or_else(|| "the agent closed the connection".into());
                return Ended::Gone(why);
            }
            Read::Idle => {
                return Ended::Close(
                    CloseCode::Policy,
                    format!(
                        "nothing received for {} s (agents ping more often)",
                        idle.as_secs()
                    ),
                );
            }
            Read::Broken(e) => {
                let (code, text) = broken_text(&e, limit);
                refuse(state, session, Some(&conn.name), text.clone()).await;
                return Ended::Close(code, text);
            }
        }
    }
}
