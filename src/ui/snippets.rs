//! Copy-paste lines for a service: the password-free UUID URL with curl and runitor, curl
//! on the native API, a crontab entry, Python and the hb-agent stanza; the native ones
//! with a ping-only API key rather than a password.
use url::Url;

use crate::domain::schedule::ScheduleKind;
use crate::entity::services::Model;

pub struct Snippet {
    pub id: &'static str,
    pub title: &'static str,
    pub code: String,
}

/// The public base URL without a trailing slash (a path prefix is kept).
pub fn base(base_url: &Url) -> String {
    base_url.as_str().trim_end_matches('/').to_owned()
}

pub fn ping_url(base_url: &Url, id: &str) -> String {
    format!("{}/api/pings?service={id}", base(base_url))
}

/// The healthchecks-style URL: no credentials, the UUID is the secret.
pub fn uuid_url(base_url: &Url, ping_uuid: &str) -> String {
    format!("{}/ping/{ping_uuid}", base(base_url))
}

/// The slug URL: the user's ping key, then the service's slug.
pub fn slug_url(base_url: &Url, ping_key: &str, slug: &str) -> String {
    format!("{}/ping/{ping_key}/{slug}", base(base_url))
}

/// When to run the job, in crontab terms: the service's own schedule where it has one,
/// a matching step for intervals that divide an hour or a day, else every 5 minutes.
fn cron_timing(m: &Model) -> String {
    match m.kind.as_str() {
        "cron" => m.cron_expr.clone().unwrap_or_else(|| "*/5 * * * *".into()),
        "daily" => match m.at_time.as_deref().and_then(|a| a.split_once(':')) {
            Some((h, mi)) => format!(
                "{} {} * * *",
                mi.trim_start_matches('0').parse::<u8>().unwrap_or(0),
                h.trim_start_matches('0').parse::<u8>().unwrap_or(0)
            ),
            None => "0 0 * * *".into(),
        },
        _ => {
            let secs = m.period_secs.unwrap_or(300);
            let mins = secs / 60;
            if secs % 60 == 0 && (1..60).contains(&mins) && 60 % mins == 0 {
                if mins == 1 {
                    "* * * * *".into()
                } else {
                    format!("*/{mins} * * * *")
                }
            } else if secs % 3600 == 0
                && (1..24).contains(&(secs / 3600))
                && 24 % (secs / 3600) == 0
            {
                let h = secs / 3600;
                if h == 1 {
                    "0 * * * *".into()
                } else {
                    format!("0 */{h} * * *")
                }
            } else if secs == 86_400 {
                "0 0 * * *".into()
            } else {
                "*/5 * * * *".into()
            }
        }
    }
}

pub fn for_service(m: &Model, base_url: &Url, titles: [&'static str; 8]) -> Vec<Snippet> {
    let url = ping_url(base_url, &m.id);
    let uuid = uuid_url(base_url, &m.ping_uuid);
    let base = base(base_url);
    // A ping-only key, never a password: crontabs and scripts get copied around.
    let auth = "-H 'Authorization: Bearer hb_YOUR_KEY'";
    let mut crontab = String::new();
    if m.kind != ScheduleKind::Interval {
        crontab.push_str(&format!(
            "# crontab runs in the host's time zone; this schedule is in {}\n",
            m.timezone
        ));
    }
    crontab.push_str(&format!(
        "{} /path/to/job.sh && curl -fsS -m 10 --retry 3 {auth} -X POST '{url}&data=' >/dev/null",
        cron_timing(m)
    ));
    vec![
        Snippet {
            id: "uuid-run",
            title: titles[5],
            code: format!(
                "curl -fsS -m 10 --retry 5 -o /dev/null '{uuid}/start'\n/path/to/job.sh\ncurl -fsS -m 10 --retry 5 -o /dev/null '{uuid}/'$?"
            ),
        },
        Snippet {
            id: "runitor",
            title: titles[6],
            code: format!(
                "runitor -api-url '{base}/ping' -uuid {} -- /path/to/job.sh",
                m.ping_uuid
            ),
        },
        Snippet {
            id: "native-run",
            title: titles[7],
            code: format!(
                "curl -fsS -m 10 --retry 3 {auth} -X POST '{base}/api/pings/start?service={id}'\n/path/to/job.sh\ncurl -fsS -m 10 --retry 3 {auth} -X POST '{base}/api/pings/'$?'?service={id}'",
                id = m.id
            ),
        },
        Snippet {
            id: "curl",
            title: titles[0],
            code: format!("curl -fsS -m 10 --retry 3 {auth} -X POST '{url}&data='"),
        },
        Snippet {
            id: "curl-error",
            title: titles[1],
            code: format!(
                "curl -fsS -m 10 --retry 3 {auth} -X POST '{base}/api/pings' \\\n  --data-urlencode service={} --data-urlencode 'data=backup failed: disk full'",
                m.id
            ),
        },
        Snippet {
            id: "crontab",
            title: titles[2],
            code: crontab,
        },
        Snippet {
            id: "python",
            title: titles[3],
            code: format!(
                "import requests\n\nrequests.post(\n    \"{base}/api/pings\",\n    params={{\"service\": \"{}\", \"data\": \"\"}},  # data=\"...\" reports an error\n    headers={{\"Authorization\": \"Bearer hb_YOUR_KEY\"}},\n    timeout=10,\n).raise_for_status()",
                m.id
            ),
        },
        Snippet {
            id: "agent",
            title: titles[4],
            code: format!(
                "server:\n  url: {base}\n  service: {}\n  api_key: hb_YOUR_KEY",
                m.id
            ),
        },
    ]
}
