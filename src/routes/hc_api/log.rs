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

/// `GET /checks/<uuid>/pings/`: the newest pings, newest first, numbered as healthchecks
/// numbers them (`n` counts the pings on record, the newest being `n_pings`), with the
/// run's duration on a success or failure that ends a started run.
#[tracing::instrument(skip_all)]
pub(super) async fn list_pings(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, HcError> {
    let actor = authorize(&req, &state, &Map::new()).await?;
    read_write(&actor)?;
    readable(&actor)?;
    let m = by_uuid(&state, &code(&req)).await?;
    let total = hc_checks::ping_counts(&state.db, std::slice::from_ref(&m.id))
        .await?
        .get(&m.id)
        .copied()
        .unwrap_or(0);
    let rows = pings::list(&state.db, &m.id, None, PING_LOG_LIMIT).await?;
    // Oldest first: remember each run's start, close it on its success or failure.
    let mut starts: HashMap<Option<&str>, Option<DateTime<Utc>>> = HashMap::new();
    let mut durations: Vec<Option<f64>> = vec![None; rows.len()];
    for (i, p) in rows.iter().enumerate().rev() {
        let at = from_ms(p.at);
        match p.kind {
            PingKind::Start => {
                starts.insert(p.rid.as_deref(), Some(at));
            }
            PingKind::Success | PingKind::Error => {
                if let Some(Some(start)) = starts.get(&p.rid.as_deref())
                    && at - *start < MAX_DURATION
                {
                    durations[i] = Some((at - *start).num_milliseconds() as f64 / 1000.0);
                }
                starts.insert(p.rid.as_deref(), None);
            }
            PingKind::Log => {}
        }
    }
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
    let actor = authorize(&req, &state, &Map::new()).await?;
    readable(&actor)?;
    let m = by_uuid_or_key(&state, &code(&req)).await?;
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
    if version(&req) == 1 {
        Ok(HttpResponse::Ok().json(flips))
    } else {
        Ok(HttpResponse::Ok().json(json!({"flips": flips})))
    }
}
