//! How long the services list takes to render with thousands of services: in process
//! (query, render) and over HTTP (whole page and the live fragment, cold and cached).
//! Run by `bench/ui_list.sh`.
//!
//!   cargo run --release --example ui_list_bench -- [services] [rounds]
use std::collections::HashMap;
use std::time::{Duration as StdDuration, Instant};

use chrono::Duration;
use heartbeats::domain::schedule::Schedule;
use heartbeats::domain::status::PingKind;
use heartbeats::domain::{Tags, parse_notify};
use heartbeats::settings::Settings;
use heartbeats::startup::{Application, BuildOptions};
use heartbeats::store::pings::PingRecord;
use heartbeats::store::services::{self, NewService};
use heartbeats::ui::i18n::Lang;
use heartbeats::ui::list::{Search, render_rows};
use heartbeats::ui::queries;

const PASSWORD: &str = "bench-password";
const TAGS: [&str; 24] = [
    "db", "backup", "prod", "staging", "cert", "sync", "gpu", "agent", "etl", "report", "web",
    "api", "queue", "cache", "mail", "dns", "k8s", "batch", "nightly", "hourly", "ml", "train",
    "infra", "billing",
];

fn stats(name: &str, mut samples: Vec<StdDuration>) {
    samples.sort();
    let p = |q: f64| {
        samples[((samples.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1000.0
    };
    println!(
        "{name:<46} median {:>7.1} ms   p95 {:>7.1} ms   max {:>7.1} ms",
        p(0.5),
        p(0.95),
        p(1.0)
    );
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(5000);
    let rounds: usize = args.next().map(|s| s.parse()).transpose()?.unwrap_or(30);
    let dir = tempfile::tempdir()?;
    let vars: HashMap<String, String> = [
        ("HB_LISTEN", "127.0.0.1:0".to_string()),
        (
            "DATABASE_URL",
            format!("sqlite://{}/hb.db", dir.path().display()),
        ),
        ("HB_DATA_DIR", dir.path().display().to_string()),
        ("HB_ADMIN_PASSWORD", PASSWORD.into()),
        ("HB_SQLITE_SYNCHRONOUS", "normal".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let app = Application::build(Settings::from_vars(&vars)?, BuildOptions::default()).await?;
    let port = app.port();
    let state = app.state.clone();
    tokio::spawn(app.into_server());
    let base = format!("http://127.0.0.1:{port}");

    println!("creating {n} services…");
    let now = chrono::Utc::now();
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let schedule = match i % 3 {
            0 => Schedule::interval(Duration::minutes(5 + (i % 120) as i64))?,
            1 => Schedule::daily(&format!("{:02}:{:02}", i % 24, i % 60))?,
            _ => Schedule::cron(&format!("{} {} * * 1-5", i % 60, i % 24))?,
        };
        let tags: Vec<&str> = (0..1 + i % 4)
            .map(|k| TAGS[(i * 7 + k * 5) % TAGS.len()])
            .collect();
        let m = services::create(
            &state.db,
            NewService {
                name: format!("{} job {i:05}", TAGS[i % TAGS.len()]),
                schedule,
                timezone: if i % 5 == 0 {
                    chrono_tz::Europe::Berlin
                } else {
                    chrono_tz::Asia::Shanghai
                },
                grace_secs: 300,
                tags: Tags::parse(&tags)?,
                notify: parse_notify(&["ops@example.com"])?,
            },
            now,
        )
        .await?;
        ids.push(m.id);
    }
    println!("pinging 80% of them…");
    let mut pending = Vec::new();
    for (i, id) in ids.iter().enumerate().filter(|(i, _)| i % 5 != 4) {
        let data = if i % 50 == 0 {
            "disk full".to_owned()
        } else {
            String::new()
        };
        let writer = state.writer.clone();
        let record = PingRecord {
            service_id: id.clone(),
            kind: PingKind::from_data(&data),
            data,
            source: Some("127.0.0.1".into()),
            user_agent: Some("bench".into()),
            at: now,
        };
        pending.push(tokio::spawn(async move { writer.submit(record).await }));
        if pending.len() >= 512 {
            for p in pending.drain(..) {
                p.await??;
            }
        }
    }
    for p in pending {
        p.await??;
    }

    // In process: the query and the render, separately.
    let search = Search::parse("", "");
    let two_tags = Search::parse("db,backup", "");
    let mut query = Vec::new();
    let mut render = Vec::new();
    let mut render_search = Vec::new();
    let mut bytes = 0;
    for _ in 0..rounds {
        let t = Instant::now();
        let rows = queries::list_rows(&state.db).await?;
        query.push(t.elapsed());
        let t = Instant::now();
        bytes = render_rows(rows.clone(), &search, Lang::En, now).len();
        render.push(t.elapsed());
        let t = Instant::now();
        render_rows(rows, &two_tags, Lang::En, now);
        render_search.push(t.elapsed());
    }

    // Over HTTP, signed in like a browser.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let login = client.get(format!("{base}/login")).send().await?;
    let login_cookie = login
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("hb_login="))
        .and_then(|c| c.split(';').next())
        .unwrap_or_default()
        .to_owned();
    let csrf = login_cookie.trim_start_matches("hb_login=").to_owned();
    let resp = client
        .post(format!("{base}/login"))
        .header("cookie", &login_cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "admin"),
            ("password", PASSWORD),
            ("next", "/"),
        ])
        .send()
        .await?;
    let session = resp
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("hb_session="))
        .and_then(|c| c.split(';').next())
        .ok_or_else(|| anyhow::anyhow!("sign-in failed: {}", resp.status()))?
        .to_owned();

    let get_with = |path: String, etag: Option<String>, gzip: bool| {
        let client = client.clone();
        let session = session.clone();
        let base = base.clone();
        async move {
            let mut req = client
                .get(format!("{base}{path}"))
                .header("cookie", session);
            if let Some(etag) = etag {
                req = req.header("if-none-match", etag);
            }
            if gzip {
                req = req.header("accept-encoding", "gzip");
            }
            let t = Instant::now();
            let resp = req.send().await?;
            let status = resp.status();
            let etag = resp
                .headers()
                .get("etag")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let timing = resp
                .headers()
                .get("server-timing")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
                .unwrap_or_default();
            let body = resp.bytes().await?;
            anyhow::Ok((t.elapsed(), status, etag, body.len(), timing))
        }
    };

    let get = |path: String, etag: Option<String>| get_with(path, etag, false);

    let mut cold_page = Vec::new();
    let mut cold_gzip = Vec::new();
    let mut gzip_bytes = 0;
    let mut cold_server = Vec::new();
    let mut warm_page = Vec::new();
    let mut cold_search = Vec::new();
    let mut not_modified = Vec::new();
    let mut page_bytes = 0;
    for _ in 0..rounds {
        state.ui.list_cache.clear();
        let (d, status, _, len, timing) = get("/".into(), None).await?;
        anyhow::ensure!(status == 200, "GET / → {status}");
        page_bytes = len;
        cold_page.push(d);
        let server_ms: f64 = timing
            .split(',')
            .filter_map(|part| part.trim().split_once(";dur="))
            .filter_map(|(_, v)| v.parse::<f64>().ok())
            .sum();
        cold_server.push(StdDuration::from_secs_f64(server_ms / 1000.0));
        let (d, _, _, _, _) = get("/".into(), None).await?;
        warm_page.push(d);
        state.ui.list_cache.clear();
        let (d, _, _, len, _) = get_with("/".into(), None, true).await?;
        gzip_bytes = len;
        cold_gzip.push(d);
        state.ui.list_cache.clear();
        let (d, _, _, _, _) = get("/?q=db,backup".into(), None).await?;
        cold_search.push(d);
        let (_, _, etag, _, _) = get("/ui/rows".into(), None).await?;
        let (d, status, _, _, _) = get("/ui/rows".into(), etag).await?;
        anyhow::ensure!(status == 304, "refresh → {status}");
        not_modified.push(d);
    }

    println!();
    println!(
        "{n} services, {rounds} rounds; list HTML {:.1} MB ({:.1} MB page)",
        bytes as f64 / 1e6,
        page_bytes as f64 / 1e6
    );
    stats("in process: read every service (one query)", query);
    stats("in process: filter, sort, render all rows", render);
    stats("in process: filter `db,backup`, render", render_search);
    stats("HTTP GET / cold, server side (Server-Timing)", cold_server);
    stats("HTTP GET / cold, whole round trip", cold_page);
    stats(
        &format!(
            "HTTP GET / cold, gzip ({:.2} MB sent)",
            gzip_bytes as f64 / 1e6
        ),
        cold_gzip,
    );
    stats("HTTP GET / cached (nothing changed)", warm_page);
    stats("HTTP GET /?q=db,backup cold", cold_search);
    stats("HTTP live refresh, nothing changed (304)", not_modified);
    Ok(())
}
