//! Host reports in: validate a request's reports (types and ranges, naming the refused
//! value by its path), turn them into snapshots and hand them to the report writer, all
//! or none.
mod shape;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use heartbeats_wire::hosts::{
    HostReport, MAX_DISCOVERED_UNITS, MAX_ITEMS, MAX_REPORTS, UnitReport,
};
use serde_json::Value;

use super::{Actor, App, AppError, AppResult};
use crate::domain::host_status::{GpuValues, Processes, Snapshot};
use crate::domain::role::Action;
use crate::domain::{Problem, parse_name};
use crate::store::StoreError;
use crate::store::host_reports::{Incoming, Stored};

/// A report may say it was collected at most this far ahead of the server's clock.
pub const MAX_FUTURE_SECS: i64 = 300;

fn refuse(path: String, problem: Problem) -> AppError {
    AppError::InvalidAt { path, problem }
}

/// `reports[3].cpu_pct`, or `cpu_pct` for a body of one report.
fn at(prefix: &str, field: &str) -> String {
    match (prefix.is_empty(), field.is_empty()) {
        (true, _) => field.to_owned(),
        (false, true) => prefix.to_owned(),
        (false, false) => format!("{prefix}.{field}"),
    }
}

/// The reports of a body: one report, or `{"reports": [...]}`, with each one's path.
pub fn split_body(body: Value) -> AppResult<Vec<(String, Value)>> {
    let Value::Object(mut obj) = body else {
        return Err(refuse(
            "reports".into(),
            Problem::WrongType {
                expected: "a report object or {\"reports\": [...]}",
            },
        ));
    };
    match obj.remove("reports") {
        Some(Value::Array(list)) => {
            if list.len() > MAX_REPORTS {
                return Err(refuse(
                    "reports".into(),
                    Problem::TooManyItems { max: MAX_REPORTS },
                ));
            }
            Ok(list
                .into_iter()
                .enumerate()
                .map(|(i, v)| (format!("reports[{i}]"), v))
                .collect())
        }
        Some(_) => Err(refuse(
            "reports".into(),
            Problem::WrongType {
                expected: "an array of reports",
            },
        )),
        None => Ok(vec![(String::new(), Value::Object(obj))]),
    }
}

fn pct(path: String, v: Option<f64>) -> AppResult<()> {
    bounded(path, v, 0, 100)
}

fn bounded(path: String, v: Option<f64>, min: i64, max: i64) -> AppResult<()> {
    match v {
        Some(v) if !(min as f64..=max as f64).contains(&v) => {
            Err(refuse(path, Problem::NumberRange { min, max }))
        }
        _ => Ok(()),
    }
}

fn text(path: String, s: &str, max: usize) -> AppResult<()> {
    if s.chars().count() > max {
        Err(refuse(path, Problem::TooLong { max }))
    } else {
        Ok(())
    }
}

fn items<T>(path: String, list: &[T]) -> AppResult<()> {
    if list.len() > MAX_ITEMS {
        Err(refuse(path, Problem::TooManyItems { max: MAX_ITEMS }))
    } else {
        Ok(())
    }
}

/// Check a list of units at `lp` (`units`, `discovered_units`).
fn unit_values(lp: &str, units: &[UnitReport]) -> AppResult<()> {
    for (i, u) in units.iter().enumerate() {
        let up = format!("{lp}[{i}]");
        if u.name.trim().is_empty() {
            return Err(refuse(at(&up, "name"), Problem::Required));
        }
        text(at(&up, "name"), &u.name, 256)?;
        text(at(&up, "active_state"), &u.active_state, 64)?;
        if let Some(sub) = &u.sub_state {
            text(at(&up, "sub_state"), sub, 64)?;
        }
        if let Some(file) = &u.unit_file_state {
            text(at(&up, "unit_file_state"), file, 64)?;
        }
    }
    Ok(())
}

/// Check one report's values; `p` is its path.
fn check_values(p: &str, r: &HostReport) -> AppResult<()> {
    pct(at(p, "cpu_pct"), r.cpu_pct)?;
    for (field, v) in [("load1", r.load1), ("load5", r.load5), ("load15", r.load15)] {
        bounded(at(p, field), v, 0, 1_000_000)?;
    }
    bounded(at(p, "cores"), r.cores.map(f64::from), 1, 1_000_000)?;
    bounded(at(p, "interval"), r.interval.map(f64::from), 1, 86_400)?;
    bounded(at(p, "timeout"), r.timeout.map(f64::from), 0, 3_600)?;
    if let Some(e) = &r.error {
        text(at(p, "error"), e, 4096)?;
    }
    if let Some(disks) = &r.disks {
        items(at(p, "disks"), disks)?;
        for (i, d) in disks.iter().enumerate() {
            let dp = at(p, &format!("disks[{i}]"));
            if d.mount.trim().is_empty() {
                return Err(refuse(at(&dp, "mount"), Problem::Required));
            }
            text(at(&dp, "mount"), &d.mount, 1024)?;
            pct(at(&dp, "used_pct"), d.used_pct)?;
        }
    }
    if let Some(gpus) = &r.gpus {
        items(at(p, "gpus"), gpus)?;
        for (i, g) in gpus.iter().enumerate() {
            let gp = at(p, &format!("gpus[{i}]"));
            pct(at(&gp, "util_pct"), g.util_pct)?;
            bounded(at(&gp, "temp_c"), g.temp_c, -50, 200)?;
            bounded(at(&gp, "power_w"), g.power_w, 0, 100_000)?;
            if let Some(name) = &g.name {
                text(at(&gp, "name"), name, 200)?;
            }
        }
    }
    if let Some(units) = &r.units {
        items(at(p, "units"), units)?;
        unit_values(&at(p, "units"), units)?;
    }
    if let Some(units) = &r.discovered_units {
        if units.len() > MAX_DISCOVERED_UNITS {
            return Err(refuse(
                at(p, "discovered_units"),
                Problem::TooManyItems {
                    max: MAX_DISCOVERED_UNITS,
                },
            ));
        }
        unit_values(&at(p, "discovered_units"), units)?;
    }
    if let Some(procs) = &r.gpu_processes {
        items(at(p, "gpu_processes"), procs)?;
        for (i, proc) in procs.iter().enumerate() {
            text(at(p, &format!("gpu_processes[{i}].name")), &proc.name, 1024)?;
        }
    }
    if let Some(procs) = &r.processes {
        for (field, list) in [("top_cpu", &procs.top_cpu), ("top_mem", &procs.top_mem)] {
            let lp = at(p, &format!("processes.{field}"));
            items(lp.clone(), list)?;
            for (i, proc) in list.iter().enumerate() {
                let pp = format!("{lp}[{i}]");
                bounded(at(&pp, "cpu_pct"), proc.cpu_pct, 0, 100_000)?;
                pct(at(&pp, "mem_pct"), proc.mem_pct)?;
                text(at(&pp, "command"), &proc.command, 4096)?;
            }
        }
        items(at(p, "processes.required"), &procs.required)?;
    }
    if let Some(failures) = &r.failures {
        items(at(p, "failures"), failures)?;
        for (i, f) in failures.iter().enumerate() {
            text(at(p, &format!("failures[{i}]")), f, 1024)?;
        }
    }
    Ok(())
}

/// The values checks look at.
pub fn snapshot_of(r: &HostReport) -> Snapshot {
    Snapshot {
        failures: r
            .failures
            .iter()
            .flatten()
            .map(|f| f.trim().to_owned())
            .filter(|f| !f.is_empty())
            .collect(),
        cpu_pct: r.cpu_pct,
        load5: r.load5,
        cores: r.cores,
        mem_pct: r.mem_pct(),
        swap_pct: r.swap_pct(),
        disks: r.disks.as_ref().map(|disks| {
            disks
                .iter()
                .filter_map(|d| Some((d.mount.trim().to_owned(), d.pct()?)))
                .collect()
        }),
        gpus: r.gpus.as_ref().map(|gpus| {
            gpus.iter()
                .map(|g| GpuValues {
                    index: g.index,
                    util_pct: g.util_pct,
                    mem_pct: g.mem_pct(),
                    temp_c: g.temp_c,
                })
                .collect()
        }),
        units: r.units.as_ref().map(|units| {
            units
                .iter()
                .map(|u| (u.name.trim().to_owned(), u.active_state.trim().to_owned()))
                .collect()
        }),
        processes: r.processes.as_ref().map(|p| {
            let mut seen = std::collections::HashSet::new();
            Processes {
                commands: p
                    .top_cpu
                    .iter()
                    .chain(&p.top_mem)
                    .filter(|proc| seen.insert(proc.pid))
                    .map(|proc| proc.command.clone())
                    .collect(),
                counted: p
                    .required
                    .iter()
                    .map(|r| (r.pattern.clone(), r.count))
                    .collect::<BTreeMap<_, _>>(),
            }
        }),
        interval_secs: r.interval.map(i64::from),
        timeout_secs: r.timeout.map(i64::from),
    }
}

/// A validated report: what the report writer stores, and the units the sender
/// discovered on the host, when it sent them (stored on the host row, not in the latest
/// snapshot: see [`store_discovered`]).
#[derive(Debug)]
pub struct Checked {
    pub incoming: Incoming,
    pub discovered: Option<Vec<UnitReport>>,
}

/// Validate one report at path `p`, received at `now`.
pub fn validate(p: &str, v: Value, now: DateTime<Utc>, source: Option<&str>) -> AppResult<Checked> {
    if !v.is_object() {
        return Err(refuse(
            at(p, ""),
            Problem::WrongType {
                expected: "an object",
            },
        ));
    }
    // Refusals name a value as the sender named it.
    let time_field = if v.get("ts").is_some() { "ts" } else { "at" };
    if let Some((field, problem)) = shape::first_wrong(&v) {
        return Err(refuse(at(p, &field), problem));
    }
    let mut report: HostReport = serde_json::from_value(v).map_err(|e| {
        // The shape check passed but serde did not: worth knowing which value.
        tracing::warn!(error = %e, "a report passed the shape check but not deserialization");
        refuse(
            at(p, ""),
            Problem::WrongType {
                expected: "a report",
            },
        )
    })?;
    let Some(raw_name) = report.host_name() else {
        return Err(refuse(at(p, "name"), Problem::Required));
    };
    let name = parse_name(raw_name).map_err(|e| refuse(at(p, "name"), e.problem))?;
    if !report.has_values() {
        return Err(refuse(
            if p.is_empty() {
                "report".into()
            } else {
                p.to_owned()
            },
            Problem::NoKnownFields,
        ));
    }
    check_values(p, &report)?;
    let collected = match report.at {
        Some(t) if t > now + Duration::seconds(MAX_FUTURE_SECS) => {
            return Err(refuse(
                at(p, time_field),
                Problem::InFuture {
                    max_secs: MAX_FUTURE_SECS,
                },
            ));
        }
        // A clock a little ahead: the snapshot is as of now.
        Some(t) => t.min(now),
        None => now,
    };
    let error = report
        .error
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(str::to_owned);
    // The discovered units are kept once, on the host; the latest snapshot stays small.
    let discovered = report.discovered_units.take();
    let json = serde_json::to_string(&report).map_err(|e| AppError::Other(e.into()))?;
    Ok(Checked {
        incoming: Incoming {
            name,
            at: collected,
            received_at: now,
            error,
            snapshot: snapshot_of(&report),
            json,
            source: source.map(str::to_owned),
            samples: super::host_metrics::samples(&report),
        },
        discovered,
    })
}

/// Keep the discovered units of stored reports on their hosts (`stored` in the order of
/// `discovered`, as the writer answers). A name not in the inventory has no host to keep
/// them on. A failure here is logged, not returned: the reports are stored, and since the
/// discovery time did not move the collector is asked again with the next host list.
pub async fn store_discovered(
    app: &App,
    stored: &[Stored],
    discovered: Vec<Option<(DateTime<Utc>, Vec<UnitReport>)>>,
) {
    let lists: Vec<(String, String, DateTime<Utc>)> = stored
        .iter()
        .zip(discovered)
        .filter_map(|(s, d)| {
            let (at, units) = d?;
            let json = serde_json::to_string(&units).ok()?;
            Some((s.host_id.clone()?, json, at))
        })
        .collect();
    if let Err(e) = crate::store::hosts::set_discovered_units(&app.db, &lists).await {
        tracing::warn!(error = %e, hosts = lists.len(), "cannot store discovered units; the collector will be asked again");
    }
}

/// Store a request's reports, all or none. Needs a key or user that may send pings (a
/// `ping` or `full` key of a member or admin).
#[tracing::instrument(skip_all, fields(actor = %actor.name))]
pub async fn ingest(
    app: &App,
    actor: &Actor,
    body: Value,
    source: Option<&str>,
) -> AppResult<Vec<Stored>> {
    actor.require(Action::Ping)?;
    let now = app.now();
    let checked = split_body(body)?
        .into_iter()
        .map(|(path, v)| validate(&path, v, now, source))
        .collect::<AppResult<Vec<_>>>()?;
    if checked.is_empty() {
        return Ok(Vec::new());
    }
    let (reports, discovered): (Vec<Incoming>, Vec<_>) = checked
        .into_iter()
        .map(|c| {
            let at = c.incoming.at;
            (c.incoming, c.discovered.map(|d| (at, d)))
        })
        .unzip();
    let writer = app
        .reports
        .as_ref()
        .ok_or(AppError::Store(StoreError::Unavailable(
            "this process stores no reports".into(),
        )))?;
    let mut reports = reports;
    let samples: Vec<_> = reports
        .iter_mut()
        .map(|r| (r.at, std::mem::take(&mut r.samples)))
        .collect();
    let stored = writer.submit(reports).await?;
    // The roll-ups sum the values of managed hosts once their reports are stored.
    for (s, (at, samples)) in stored.iter().zip(samples) {
        if let Some(host_id) = &s.host_id {
            app.rollups.record(host_id, at, &samples);
        }
    }
    if discovered.iter().any(Option::is_some) {
        store_discovered(app, &stored, discovered).await;
    }
    Ok(stored)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn refused(v: Value) -> (String, &'static str) {
        let reports = split_body(v).expect("split");
        let err = reports
            .into_iter()
            .map(|(p, v)| validate(&p, v, now(), None))
            .find_map(Result::err)
            .expect("refused");
        match err {
            AppError::InvalidAt { path, problem } => (path, problem.code()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn refusals_name_the_value() {
        assert_eq!(
            refused(json!({"name": "a", "cpu_pct": 101})),
            ("cpu_pct".into(), "out_of_range")
        );
        assert_eq!(
            refused(
                json!({"reports": [{"name": "a", "cpu_pct": 1}, {"name": "b", "disks": [{"mount": "/", "used_pct": "x"}]}]})
            ),
            ("reports[1].disks[0].used_pct".into(), "wrong_type")
        );
        assert_eq!(
            refused(json!({"reports": [{"node_id": "a", "foo": 1}]})),
            ("reports[0]".into(), "no_known_fields")
        );
        assert_eq!(refused(json!({"cpu_pct": 1})), ("name".into(), "required"));
        assert_eq!(
            refused(json!({"name": "a", "cpu_pct": 1, "ts": "2030-01-01T00:00:00Z"})),
            ("ts".into(), "in_future")
        );
        assert_eq!(
            refused(json!({"name": "a", "gpus": [{"index": -1}]})),
            ("gpus[0].index".into(), "wrong_type")
        );
        let too_many: Vec<Value> = (0..=MAX_REPORTS)
            .map(|_| json!({"name": "a", "cpu_pct": 1}))
            .collect();
        assert_eq!(
            split_body(json!({"reports": too_many}))
                .unwrap_err()
                .to_string(),
            format!("reports: at most {MAX_REPORTS} items")
        );
    }

    #[test]
    fn the_lan_plan_format_becomes_a_snapshot() {
        let v = json!({"node_id": "srv-01", "ts": "2026-01-17T10:00:00Z", "cpu_pct": 23.4,
         "disks": [{"mount": "/", "used_bytes": 123, "total_bytes": 456, "used_pct": 27.0}],
         "gpus": [{"index": 0, "util_pct": 56, "mem_used_mb": 2048, "mem_total_mb": 8192}],
         "services": [{"name": "nginx.service", "active_state": "active", "sub_state": "running"}]});
        let r = validate("", v, now(), None).expect("valid").incoming;
        assert_eq!(r.name, "srv-01");
        assert_eq!(r.at.to_rfc3339(), "2026-01-17T10:00:00+00:00");
        assert_eq!(r.snapshot.disks, Some(vec![("/".into(), 27.0)]));
        assert_eq!(r.snapshot.gpus.as_ref().unwrap()[0].mem_pct, Some(25.0));
        assert_eq!(
            r.snapshot.units,
            Some(vec![("nginx.service".into(), "active".into())])
        );
    }
}
