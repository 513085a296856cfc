//! A service as healthchecks shows a check.
use super::*;

pub(super) fn iso(ms: i64) -> String {
    from_ms(ms).to_rfc3339_opts(SecondsFormat::Secs, false)
}

fn url(state: &AppState, path: &str) -> String {
    let mut u = state.settings.base_url.clone();
    u.set_path(&format!(
        "{}{path}",
        state.settings.base_url.path().trim_end_matches('/')
    ));
    u.to_string()
}

/// How a check is shown: the version and whether the key may only read.
#[derive(Debug, Clone, Copy)]
pub(super) struct View {
    pub(super) v: u8,
    pub(super) readonly: bool,
}

impl View {
    pub(super) fn of(req: &HttpRequest, actor: &Actor) -> Self {
        Self {
            v: version(req),
            readonly: actor.scope == KeyScope::Read || !actor.may(Action::Ping),
        }
    }
}

/// healthchecks' status names: our late is its grace; v1 shows an open run as `started`.
fn status_of(m: &Model, v: u8) -> &'static str {
    let started = m.open_runs > 0;
    match m.status {
        Status::Paused => "paused",
        _ if started && v == 1 => "started",
        Status::New => "new",
        Status::Up => "up",
        Status::Late => "grace",
        Status::Down => "down",
    }
}

/// A service as a healthchecks check (its `to_dict`).
pub(super) fn check_json(state: &AppState, m: &Model, n_pings: i64, view: View) -> Value {
    let mut o = Map::new();
    o.insert("name".into(), json!(m.name));
    o.insert("slug".into(), json!(m.slug));
    o.insert(
        "tags".into(),
        json!(Tags::from_column(&m.tags).into_vec().join(" ")),
    );
    o.insert("desc".into(), json!(m.description));
    o.insert("grace".into(), json!(m.grace_secs));
    o.insert("n_pings".into(), json!(n_pings));
    o.insert("status".into(), json!(status_of(m, view.v)));
    o.insert("started".into(), json!(m.open_runs > 0));
    o.insert("last_ping".into(), json!(m.last_ping_at.map(iso)));
    o.insert("next_ping".into(), json!(m.next_due_at.map(iso)));
    o.insert("manual_resume".into(), json!(false));
    o.insert("methods".into(), json!(""));
    for k in [
        "subject",
        "subject_fail",
        "start_kw",
        "success_kw",
        "failure_kw",
    ] {
        o.insert(k.into(), json!(""));
    }
    o.insert("filter_subject".into(), json!(false));
    o.insert("filter_body".into(), json!(false));
    if let Some(ms) = m.last_run_ms {
        o.insert("last_duration".into(), json!(ms / 1000));
    }
    if view.readonly {
        o.insert("unique_key".into(), json!(m.id));
    } else {
        let update = url(state, &format!("/api/v{}/checks/{}", view.v, m.ping_uuid));
        o.insert("uuid".into(), json!(m.ping_uuid));
        o.insert(
            "ping_url".into(),
            json!(url(state, &format!("/ping/{}", m.ping_uuid))),
        );
        o.insert("pause_url".into(), json!(format!("{update}/pause")));
        o.insert("resume_url".into(), json!(format!("{update}/resume")));
        o.insert("update_url".into(), json!(update));
        o.insert(
            "channels".into(),
            json!(crate::domain::channel::channels_from_column(&m.channels).join(",")),
        );
    }
    match m.kind {
        ScheduleKind::Interval => {
            o.insert("timeout".into(), json!(m.period_secs.unwrap_or_default()));
        }
        ScheduleKind::Daily => {
            // A daily service is the cron schedule `MM HH * * *` in its zone.
            let at = m.at_time.as_deref().unwrap_or("00:00");
            let (h, min) = at.split_once(':').unwrap_or(("0", "0"));
            let h = h.trim_start_matches('0');
            let min = min.trim_start_matches('0');
            let h = if h.is_empty() { "0" } else { h };
            let min = if min.is_empty() { "0" } else { min };
            o.insert("schedule".into(), json!(format!("{min} {h} * * *")));
            o.insert("tz".into(), json!(m.timezone));
        }
        ScheduleKind::Cron => {
            o.insert(
                "schedule".into(),
                json!(m.cron_expr.clone().unwrap_or_default()),
            );
            o.insert("tz".into(), json!(m.timezone));
        }
    }
    Value::Object(o)
}

pub(super) async fn one_check(state: &AppState, m: &Model, view: View) -> Result<Value, HcError> {
    Ok(check_json(state, m, m.ping_count, view))
}
