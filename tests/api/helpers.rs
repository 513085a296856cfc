//! The test harness: a real application on a random port, over a fresh database of its own.
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use heartbeats::clock::ManualClock;
use heartbeats::jobs::Job;
use heartbeats::jobs::outbox::{DeliveryReport, Outbox};
use heartbeats::jobs::retention::{PruneReport, Retention};
use heartbeats::jobs::rollups::{RollupJob, RollupReport};
use heartbeats::jobs::scheduler::{RunReport, Scheduler};
use heartbeats::settings::Settings;
use heartbeats::startup::{Application, BuildOptions};
use heartbeats::state::AppState;
use heartbeats_wire::PingAccepted;
use heartbeats_wire::api::{Alert, Flip, Ping, Service};
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};
use serde_json::{Value, json};

pub const ADMIN: &str = "admin";
pub const PASSWORD: &str = "correct-horse-battery";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
    Mysql,
}

fn postgres_admin_url() -> String {
    std::env::var("HB_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

fn mysql_admin_url() -> String {
    std::env::var("HB_TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into())
}

/// A database made for one test and dropped after it.
pub struct TestDatabase {
    pub backend: Backend,
    pub url: String,
    name: String,
    _dir: Option<tempfile::TempDir>,
}

impl TestDatabase {
    pub async fn create(backend: Backend) -> Self {
        let name = format!(
            "hb_test_{}",
            nanoid::nanoid!(12, &nanoid::alphabet::SAFE)
                .to_lowercase()
                .replace('-', "_")
        );
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}/heartbeats.db", dir.path().display());
                Self {
                    backend,
                    url,
                    name,
                    _dir: Some(dir),
                }
            }
            Backend::Postgres => {
                let admin = Database::connect(format!("{}/postgres", postgres_admin_url()))
                    .await
                    .expect("PostgreSQL must run on 127.0.0.1:5432 (see README: tests)");
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name}"))
                    .await
                    .expect("create database");
                admin.close().await.ok();
                let url = format!("{}/{name}", postgres_admin_url());
                Self {
                    backend,
                    url,
                    name,
                    _dir: None,
                }
            }
            Backend::Mysql => {
                let admin = Database::connect(format!("{}/", mysql_admin_url()))
                    .await
                    .expect("MariaDB must run on 127.0.0.1:3306 (see README: tests)");
                // latin1, as older MariaDB defaults and old deployments have it: the
                // migrations must make the tables hold any text anyway.
                admin
                    .execute_unprepared(&format!("CREATE DATABASE {name} CHARACTER SET latin1"))
                    .await
                    .expect("create database");
                admin.close().await.ok();
                let url = format!("{}/{name}", mysql_admin_url());
                Self {
                    backend,
                    url,
                    name,
                    _dir: None,
                }
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (admin, sql) = match self.backend {
            Backend::Sqlite => return,
            Backend::Postgres => (
                format!("{}/postgres", postgres_admin_url()),
                format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            ),
            Backend::Mysql => (
                format!("{}/", mysql_admin_url()),
                format!("DROP DATABASE IF EXISTS {}", self.name),
            ),
        };
        // Drop runs outside async context: use a runtime of its own on a thread of its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async move {
                let db = Database::connect(admin).await.ok()?;
                db.execute_unprepared(&sql).await.ok()?;
                db.close().await.ok()
            })
        })
        .join();
    }
}

/// An RFC 3339 time, e.g. `utc("2026-11-02T01:00:00Z")`, to compare with the wire types' times.
pub fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("an RFC 3339 time")
        .with_timezone(&Utc)
}

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).unwrap()
}

/// Credentials for [`TestApp::ping_as`].
pub enum Auth<'a> {
    None,
    Basic(&'a str, &'a str),
    Bearer(&'a str),
}

pub struct TestApp {
    pub address: String,
    pub state: actix_web::web::Data<AppState>,
    pub db: DatabaseConnection,
    pub clock: ManualClock,
    pub client: reqwest::Client,
    pub scheduler: Scheduler,
    pub outbox: Outbox,
    pub retention: Retention,
    pub rollups: RollupJob,
    pub data_dir: PathBuf,
    pub database: TestDatabase,
    _data: tempfile::TempDir,
}

pub struct Options {
    pub start: DateTime<Utc>,
    pub vars: Vec<(&'static str, String)>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            start: t0(),
            vars: Vec::new(),
        }
    }
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, Options::default()).await
    }

    pub async fn spawn_with(backend: Backend, opts: Options) -> Self {
        let database = TestDatabase::create(backend).await;
        Self::spawn_on(database, opts).await
    }

    /// Start an application on an existing database (e.g. a second instance).
    pub async fn spawn_on(database: TestDatabase, opts: Options) -> Self {
        let data = tempfile::tempdir().expect("temp dir");
        let mut vars: HashMap<String, String> = HashMap::from([
            ("HB_LISTEN".into(), "127.0.0.1:0".into()),
            ("DATABASE_URL".into(), database.url.clone()),
            ("HB_ADMIN_USER".into(), ADMIN.into()),
            ("HB_ADMIN_PASSWORD".into(), PASSWORD.into()),
            ("HB_DATA_DIR".into(), data.path().display().to_string()),
            ("HB_BASE_URL".into(), "http://hb.test:5827".into()),
            // One mail per alert, as the tests written before bursts count them; the burst
            // tests turn grouping on.
            ("HB_MAIL_BURST_THRESHOLD".into(), "0".into()),
        ]);
        for (k, v) in opts.vars {
            vars.insert(k.into(), v);
        }
        let settings = Settings::from_vars(&vars).expect("test settings");
        let clock = ManualClock::new(opts.start);
        let app = Application::build(
            settings,
            BuildOptions {
                clock: std::sync::Arc::new(clock.clone()),
                auth_refresh: Duration::ZERO,
            },
        )
        .await
        .expect("application builds");
        let port = app.port();
        let state = app.state.clone();
        let scheduler = app.scheduler();
        let outbox = app.outbox().expect("outbox");
        let retention = app.retention();
        let rollups = app.rollups();
        tokio::spawn(app.into_server());
        Self {
            address: format!("http://127.0.0.1:{port}"),

            db: state.db.clone(),
            state,
            clock,
            client: reqwest::Client::new(),
            scheduler,
            outbox,
            retention,
            rollups,
            data_dir: data.path().to_owned(),
            database,
            _data: data,
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        use heartbeats::clock::Clock;
        self.clock.now()
    }

    pub fn advance(&self, by: chrono::Duration) -> DateTime<Utc> {
        self.clock.advance(by)
    }

    pub async fn run_scheduler(&self) -> RunReport {
        self.scheduler
            .run_once(self.now())
            .await
            .expect("scheduler run")
    }

    pub async fn deliver(&self) -> DeliveryReport {
        self.outbox.run_once(self.now()).await.expect("outbox run")
    }

    pub async fn run_rollups(&self) -> RollupReport {
        self.rollups
            .run_once(self.now())
            .await
            .expect("roll-up run")
    }

    pub async fn run_retention(&self) -> PruneReport {
        self.retention
            .run_once(self.now())
            .await
            .expect("retention run")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// A request to `path` signed in as the admin with HTTP Basic, ready to add to and send.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .request(method, self.url(path))
            .basic_auth(ADMIN, Some(PASSWORD))
    }

    /// A request to `path` with the given credentials instead of the admin's.
    pub fn request_as(
        &self,
        method: reqwest::Method,
        path: &str,
        auth: Auth<'_>,
    ) -> reqwest::RequestBuilder {
        let req = self.client.request(method, self.url(path));
        match auth {
            Auth::None => req,
            Auth::Basic(user, password) => req.basic_auth(user, Some(password)),
            Auth::Bearer(key) => req.bearer_auth(key),
        }
    }

    /// A ping POSTed with the given credentials instead of the admin's.
    pub async fn ping_as(&self, id: &str, auth: Auth<'_>) -> reqwest::Response {
        self.request_as(
            reqwest::Method::POST,
            &format!("/api/pings?service={id}"),
            auth,
        )
        .send()
        .await
        .expect("ping")
    }

    /// A service's ping log, newest first.
    pub async fn pings(&self, id: &str) -> Vec<Ping> {
        self.pings_page(id, "limit=1000").await
    }

    /// A page of a service's ping log, newest first: `query` is e.g. `limit=2&before=3`.
    pub async fn pings_page(&self, id: &str, query: &str) -> Vec<Ping> {
        let resp = self
            .get(&format!("/api/v1/services/{id}/pings?{query}"))
            .await;
        let status = resp.status();
        let body = resp.text().await.expect("body");
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).expect("json")
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .basic_auth(ADMIN, Some(PASSWORD))
            .send()
            .await
            .expect("request")
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .basic_auth(ADMIN, Some(PASSWORD))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn patch_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .patch(self.url(path))
            .basic_auth(ADMIN, Some(PASSWORD))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn delete(&self, path: &str) -> reqwest::Response {
        self.client
            .delete(self.url(path))
            .basic_auth(ADMIN, Some(PASSWORD))
            .send()
            .await
            .expect("request")
    }

    /// Create a service and return it; panics unless the server answers 201.
    pub async fn create_service(&self, body: Value) -> Service {
        let resp = self.post_json("/api/v1/services", &body).await;
        let status = resp.status();
        let text = resp.text().await.expect("body");
        assert_eq!(status, 201, "create failed: {text}");
        serde_json::from_str(&text).expect("a service")
    }

    pub async fn interval_service(&self, name: &str, period: i64, grace: i64) -> String {
        let svc = self
            .create_service(json!({
                "name": name, "kind": "interval", "period": period, "grace": grace,
                "notify": ["ops@example.com"]
            }))
            .await;
        svc.id
    }

    pub async fn service(&self, id: &str) -> Service {
        let resp = self.get(&format!("/api/v1/services/{id}")).await;
        assert_eq!(resp.status(), 200);
        resp.json().await.unwrap()
    }

    pub async fn status(&self, id: &str) -> String {
        self.service(id).await.status
    }

    /// Ping like a cron job's curl line: POST with the service and data in the query.
    pub async fn ping(&self, id: &str, data: &str) -> reqwest::Response {
        self.client
            .post(self.url("/api/pings"))
            .basic_auth(ADMIN, Some(PASSWORD))
            .query(&[("service", id), ("data", data)])
            .send()
            .await
            .expect("ping")
    }

    /// Ping with hb-agent's own client (form body, Basic auth) and expect it accepted.
    pub async fn ping_ok(&self, id: &str, data: &str) -> PingAccepted {
        let client = hb_agent::client::PingClient::new(
            &self.address,
            hb_agent::client::Auth::Basic {
                user: ADMIN.into(),
                password: PASSWORD.into(),
            },
        )
        .expect("ping client")
        .with_retry(hb_agent::client::RetryPolicy {
            attempts: 1,
            initial_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(10),
        });
        client.ping(id, data).await.expect("ping accepted")
    }

    pub async fn alerts(&self) -> Vec<Alert> {
        let resp = self.get("/api/v1/alerts?limit=5000").await;
        assert_eq!(resp.status(), 200);
        resp.json().await.unwrap()
    }

    pub async fn flips(&self, id: &str) -> Vec<Flip> {
        let resp = self.get(&format!("/api/v1/services/{id}/flips")).await;
        assert_eq!(resp.status(), 200);
        resp.json().await.unwrap()
    }

    /// Mail written as files when no SMTP server is configured.
    pub fn mail_files(&self) -> Vec<String> {
        read_dir_files(&self.data_dir.join("mail"))
    }
}

pub fn read_dir_files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if let Ok(s) = std::fs::read_to_string(e.path()) {
                out.push(s);
            }
        }
    }
    out
}

/// Whether process `pid` holds the listening TCP socket on 127.0.0.1:`port` (Linux: the
/// socket's inode in `/proc/net/tcp` among the process's descriptors).
fn listens_on(pid: u32, port: u16) -> bool {
    let Ok(table) = std::fs::read_to_string("/proc/net/tcp") else {
        return false;
    };
    let inode = table.lines().skip(1).find_map(|line| {
        let cols: Vec<&str> = line.split_whitespace().collect();
        let (_, hex) = cols.get(1)?.split_once(':')?;
        let listening = cols.get(3) == Some(&"0A");
        (listening && u16::from_str_radix(hex, 16).ok()? == port).then(|| cols.get(9).copied())?
    });
    let Some(inode) = inode else {
        return false;
    };
    let socket = format!("socket:[{inode}]");
    std::fs::read_dir(format!("/proc/{pid}/fd")).is_ok_and(|fds| {
        fds.flatten()
            .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|l| l.to_string_lossy() == socket))
    })
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A real SMTP server (aiosmtpd) on loopback, storing what it accepts in a Maildir.
pub struct SmtpServer {
    pub port: u16,
    child: Option<Child>,
    maildir: tempfile::TempDir,
}

impl SmtpServer {
    /// On a free port. Tests starting together may be handed the same free port before
    /// either server binds it; the one that loses tries another port.
    pub async fn start() -> Self {
        for _ in 0..5 {
            let mut server = Self::unstarted(free_port());
            if server.launch().await.is_ok() {
                return server;
            }
        }
        panic!("aiosmtpd could not get a free port in 5 tries");
    }

    pub async fn start_on(port: u16) -> Self {
        let mut server = Self::unstarted(port);
        server.restart().await;
        server
    }

    fn unstarted(port: u16) -> Self {
        Self {
            port,
            child: None,
            maildir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// Start (again) on the same port and Maildir; waits (without blocking the runtime)
    /// until it accepts connections.
    pub async fn restart(&mut self) {
        if let Err(e) = self.launch().await {
            panic!("{e}");
        }
    }

    /// Start aiosmtpd and wait until it listens on the port itself: another server on the
    /// port would take this one's mail.
    async fn launch(&mut self) -> Result<(), String> {
        let child = Command::new("python3")
            .args(["-m", "aiosmtpd", "-n", "-l"])
            .arg(format!("127.0.0.1:{}", self.port))
            .args(["-c", "aiosmtpd.handlers.Mailbox"])
            .arg(self.maildir.path().join("md"))
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(self.maildir.path().join("stderr.log")).expect("log file"),
            ))
            .spawn()
            .expect("python3 -m aiosmtpd (pip install aiosmtpd; the test script does)");
        let pid = child.id();
        self.child = Some(child);
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        while !listens_on(pid, self.port) {
            let exited = self
                .child
                .as_mut()
                .map(|c| matches!(c.try_wait(), Ok(Some(_))));
            if exited == Some(true) {
                self.child = None;
                let err = std::fs::read_to_string(self.maildir.path().join("stderr.log"))
                    .unwrap_or_default();
                return Err(format!(
                    "aiosmtpd exited at start (is it installed for this python3? is port {} taken?): {err}",
                    self.port
                ));
            }
            assert!(
                std::time::Instant::now() < deadline,
                "aiosmtpd did not start within 15 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn messages(&self) -> Vec<String> {
        read_dir_files(&self.maildir.path().join("md").join("new"))
    }

    pub fn vars(&self) -> Vec<(&'static str, String)> {
        vec![
            ("SMTP_HOST", "127.0.0.1".into()),
            ("SMTP_PORT", self.port.to_string()),
            ("SMTP_TLS", "none".into()),
            ("SMTP_FROM", "heartbeats@example.com".into()),
            ("SMTP_TIMEOUT", "5".into()),
        ]
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Define `mod sqlite`, `mod postgres` and `mod mysql`, each running the listed
/// `async fn name(backend: Backend)` tests against its database.
#[macro_export]
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[tokio::test] async fn $name() { super::$name($crate::helpers::Backend::Sqlite).await } )*
        }
        mod postgres {
            $( #[tokio::test] async fn $name() { super::$name($crate::helpers::Backend::Postgres).await } )*
        }
        mod mysql {
            $( #[tokio::test] async fn $name() { super::$name($crate::helpers::Backend::Mysql).await } )*
        }
    };
}

impl TestApp {
    /// A second `heartbeats` process on the same database (it does not own the database).
    pub async fn spawn_second(url: &str, vars: Vec<(&'static str, String)>) -> TestApp {
        let database = TestDatabase::borrowed(url);
        TestApp::spawn_on(
            database,
            Options {
                vars,
                ..Default::default()
            },
        )
        .await
    }
}

impl TestDatabase {
    fn borrowed(url: &str) -> Self {
        Self {
            backend: Backend::Sqlite,
            url: url.to_owned(),
            name: String::new(),
            _dir: None,
        }
    }
}

/// A header's value in a raw mail (folded lines joined), if present.
pub fn mail_header(mail: &str, name: &str) -> Option<String> {
    let head = mail.split("\r\n\r\n").next().unwrap_or(mail);
    let head = head.split("\n\n").next().unwrap_or(head);
    let unfolded = head.replace("\r\n ", " ").replace("\n ", " ");
    let prefix = format!("{}:", name.to_ascii_lowercase());
    unfolded
        .lines()
        .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
        .map(|l| l[prefix.len()..].trim().to_owned())
}
