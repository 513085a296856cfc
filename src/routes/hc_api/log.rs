//! A check's ping log and status changes in healthchecks' shapes.
use super::*;

fn ping_type(kind: PingKind) -> &'static str {
    match kind {
        PingKind::Success => "success",
        PingKind::Error => "fail",
        PingKind::Start => "start",
        PingKind::Log => "log",
    }
}

/// A run longer than this has no duration shown (healthchecks' `MAX_DURATION`).
const MAX_DURATION: TimeDelta = TimeDelta::hours(72);

/// Pings the log shows: healthchecks shows the account's ping log limit (100 unless
/// raised; 1,000 on its paid plans) and never more than 1,000. Heartbeats keeps pings by
/// age rather than by count, so it shows as many as healthchecks ever does.
pub const PING_LOG_LIMIT: u64 = 1000;

/// healthchecks looks further back for at most this many durations; past it, it shows
/// none (`prepare_durations`).
const MAX_MISSES: usize = 10;

/// `GET /checks/<uuid>/pings/`: the newest pings, newest first, numbered as healthchecks
/// numbers them (`n` counts the pings received, the newest being `n_pings`), with the
/// run's duration on a success or failure that ends a started run.
#[tracing::instrument(skip_all)]
pub(super) async fn list_pings(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, HcError> {
    let (_, m) = Call::with_check(&req, &state, None, Access::Write, Code::Uuid).await?;
    let total = m.ping_count;
    let rows = pings::list(&state.db, &m.id, None, PING_LOG_LIMIT).await?;
    let durations = durations(&state, &m.id, &rows).await?;
    let scheme = state.settings.base_url.scheme().to_owned();
    let out: Vec<Value> = rows
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut o = Map::new();
            o.insert("type".into(), json!(ping_type(p.kind)));
            o.insert(
                "date".into(),
                json!(from_ms(p.at).to_rfc3339_opts(SecondsFormat::Micros, false)),
            );
            o.insert("n".into(), json!(total - i as i64));
            o.insert("scheme".into(), json!(scheme));
            o.insert(
                "remote_addr".into(),
                json!(p.source.clone().unwrap_or_default()),
            );
            o.insert("method".into(), json!(""));
            o.insert("ua".into(), json!(p.user_agent.clone().unwrap_or_default()));
            o.insert("rid".into(), json!(p.rid));
            o.insert("exitstatus".into(), json!(p.exit_status));
            o.insert("body_url".into(), Value::Null);
            if let Some(d) = durations[i] {
                o.insert("duration".into(), json!(d));
            }
            Value::Object(o)
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({"pings": out})))
}

/// Seconds to two places, as healthchecks shows them.
fn seconds(d: TimeDelta) -> f64 {
    (d.num_milliseconds() as f64 / 10.0).round() / 100.0
}

/// Each ping's run duration (`rows` newest first), as healthchecks works it out: paired
/// with the latest start of its rid among the rows; a success or failure whose rid has
/// no earlier ping among them (a miss) looks further back, up to 72 h, in at most one
/// more page of older pings, unless there are more than [`MAX_MISSES`] misses: then no
/// ping shows a duration.
async fn durations(
    state: &AppState,
    service_id: &str,
    rows: &[crate::entity::pings::Model],
) -> Result<Vec<Option<f64>>, HcError> {
    let mut out = vec![None; rows.len()];
    let Some(earliest) = rows.last() else {
        return Ok(out);
    };
    let earliest_at = from_ms(earliest.at);
    // Oldest first: remember each run's start, close it on its success or failure.
    let mut starts: HashMap<Option<&str>, Option<DateTime<Utc>>> = HashMap::new();
    let mut misses = Vec::new();
    for (i, p) in rows.iter().enumerate().rev() {
        let at = from_ms(p.at);
        let rid = p.rid.as_deref();
        match p.kind {
            PingKind::Start => {
                starts.insert(rid, Some(at));
            }
            PingKind::Success | PingKind::Error => {
                match starts.get(&rid) {
                    None if at - earliest_at < MAX_DURATION => misses.push(i),
                    Some(Some(start)) if at - *start < MAX_DURATION => {
                        out[i] = Some(seconds(at - *start));
                    }
                    _ => {}
                }
                starts.insert(rid, None);
            }
            PingKind::Log => {}
        }
    }
    if misses.len() > MAX_MISSES {
        return Ok(vec![None; rows.len()]);
    }
    if misses.is_empty() {
        return Ok(out);
    }
    // Newest first: the first older ping of a miss's rid that starts or ends a run
    // decides it (healthchecks' `Ping.duration`).
    let older = pings::list(&state.db, service_id, Some(earliest.id), PING_LOG_LIMIT).await?;
    for i in misses {
        let p = &rows[i];
        let at = from_ms(p.at);
        let decides = older
            .iter()
            .take_while(|o| at - from_ms(o.at) <= MAX_DURATION)
            .find(|o| o.rid == p.rid && o.kind != PingKind::Log);
        if let Some(o) = decides
            && o.kind == PingKind::Start
        {
            out[i] = Some(seconds(at - from_ms(o.at)));
        }
    }
    Ok(out)
}

/// `seconds`, `start` or `end` of the flips query: a whole number, at least 0.
fn query_int(pairs: &[(String, String)], key: &str) -> Result<Option<i64>, HcError> {
    match pairs.iter().rev().find(|(k, _)| k == key) {
        None => Ok(None),
        Some((_, v)) => v
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .map(Some)
            .ok_or_else(|| HcError {
                field: Some(key.to_owned()),
                ..HcError::bad(format!(
                    "{key} must be a whole number of seconds, at least 0"
                ))
            }),
    }
}

/// `GET /checks/<uuid or unique_key>/flips/?seconds=&start=&end=`: newest first, `up` 1 for
/// a change to up and 0 for any other. v1 answers a bare array, as its documentation shows.
#[tracing::instrument(skip_all)]
pub(super) async fn list_flips(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, HcError> {
    let (call, m) = Call::with_check(&req, &state, None, Access::Read, Code::UuidOrKey).await?;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(req.query_string())
        .map_err(|_| HcError::bad("invalid query string"))?;
    let seconds = query_int(&pairs, "seconds")?;
    if seconds.is_some_and(|s| s > MAX_SECS) {
        return Err(HcError {
            field: Some("seconds".into()),
            ..HcError::bad(format!("seconds must be at most {MAX_SECS}"))
        });
    }
    let start = query_int(&pairs, "start")?.map(|s| s.saturating_mul(1000));
    let end = query_int(&pairs, "end")?.map(|s| s.saturating_mul(1000));
    let window = seconds.map(|s| to_ms(state.app.now()) - s * 1000);
    let since = match (start, window) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    let rows = hc_checks::flips(&state.db, &m.id, since, end, FLIPS_LIMIT).await?;
    let flips: Vec<Value> = rows
        .iter()
        .map(|f| json!({"timestamp": iso(f.at), "up": i32::from(f.to_status == Status::Up)}))
        .collect();
    if call.view.v == 1 {
        Ok(HttpResponse::Ok().json(flips))
    } else {
        Ok(HttpResponse::Ok().json(json!({"flips": flips})))
    }
}
