//! Password guessing (issue 8, findings 1–3) and the test-mail limit (finding 12): tries
//! are counted before the hash runs, per (user, address) and per address; guessing a user
//! from other addresses never locks its owner out, and cached credentials never wait.
use std::io::Write;
use std::sync::{Arc, Mutex};

use chrono::Duration;
use reqwest::header;
use serde_json::Value;

use heartbeats::app::Actor;
use heartbeats::app::users::UserDraft;

use crate::helpers::{ADMIN, Backend, PASSWORD, TestApp};
use crate::ui_helpers::Browser;

/// A Basic-auth ping of `id` as if from `address` (`X-Forwarded-For`, believed from
/// loopback as from a reverse proxy).
async fn ping_from(
    app: &TestApp,
    id: &str,
    user: &str,
    password: &str,
    address: &str,
) -> reqwest::Response {
    app.client
        .post(app.url(&format!("/api/pings?service={id}")))
        .basic_auth(user, Some(password))
        .header("x-forwarded-for", address)
        .send()
        .await
        .expect("ping")
}

/// A user whose password has never been checked, so nothing about it is remembered.
async fn add_user(app: &TestApp, name: &str, password: &str) {
    let draft = UserDraft {
        name: name.into(),
        password: password.into(),
        ..Default::default()
    };
    heartbeats::app::users::add(&app.state.app, &Actor::cli(), &draft)
        .await
        .expect("user added");
}

fn retry_after(resp: &reqwest::Response) -> u64 {
    resp.headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("a numeric Retry-After")
}

async fn assert_throttled(resp: reqwest::Response) -> u64 {
    assert_eq!(resp.status(), 429);
    let wait = retry_after(&resp);
    assert!((1..=15 * 60).contains(&wait), "Retry-After {wait}");
    let body: Value = resp.json().await.expect("a JSON error");
    assert_eq!(body["code"], "throttled", "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("too many"),
        "{body}"
    );
    wait
}

#[tokio::test]
async fn parallel_wrong_sign_ins_cannot_outrun_the_limit() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    // One sign-in form, its CSRF token posted 60 times at once, as an attacker would.
    let mut b = Browser::new(&app);
    let page = b.get("/login").await;
    let csrf = page.csrf();
    let cookie = format!("hb_login={}", b.cookie("hb_login").expect("login cookie"));
    let hashed_before = app.state.auth.hashes_run();
    let tries = (0..60).map(|i| {
        let req = app
            .client
            .post(app.url("/login"))
            .header(header::COOKIE, &cookie)
            .header("x-forwarded-for", "10.1.0.1")
            .form(&[
                ("csrf", csrf.as_str()),
                ("username", ADMIN),
                ("password", &format!("guess-{i}")),
                ("next", "/"),
            ]);
        async move { req.send().await.expect("POST /login") }
    });
    let answers = futures::future::join_all(tries).await;
    let refused = answers.iter().filter(|r| r.status() == 429).count();
    let wrong = answers.iter().filter(|r| r.status() == 401).count();
    assert_eq!(
        (wrong, refused),
        (5, 55),
        "five tries may reach the hash, the rest must be refused"
    );
    assert!(app.state.auth.hashes_run() - hashed_before <= 5);
    for r in answers.iter().filter(|r| r.status() == 429) {
        assert!(r.headers().contains_key(header::RETRY_AFTER));
    }
}

#[tokio::test]
async fn api_guessing_is_throttled_per_user_and_address_then_per_address() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let id = app.interval_service("nightly", 60, 60).await;
    add_user(&app, "ci", "ci-password-1").await;
    add_user(&app, "ops", "ops-password-1").await;
    for i in 0..5 {
        let resp = ping_from(&app, &id, "ci", &format!("guess-{i}"), "10.2.0.1").await;
        assert_eq!(resp.status(), 401);
    }
    // The sixth try is refused before any hash, with how long to wait.
    let wait = assert_throttled(ping_from(&app, &id, "ci", "guess-5", "10.2.0.1").await).await;
    assert!(wait > 14 * 60, "{wait}");
    // Even the right password, from that address, for that user, until the window ends.
    assert_throttled(ping_from(&app, &id, "ci", "ci-password-1", "10.2.0.1").await).await;
    app.advance(Duration::minutes(15));
    assert_eq!(
        ping_from(&app, &id, "ci", "ci-password-1", "10.2.0.1")
            .await
            .status(),
        200
    );

    // One address spraying many names is stopped at ten, whichever name comes next.
    for i in 0..10 {
        let resp = ping_from(&app, &id, &format!("user{i}"), "guess", "10.2.0.9").await;
        assert_eq!(resp.status(), 401, "try {i}");
    }
    assert_throttled(ping_from(&app, &id, "user10", "guess", "10.2.0.9").await).await;
    assert_throttled(ping_from(&app, &id, "ops", "ops-password-1", "10.2.0.9").await).await;
    assert_eq!(
        ping_from(&app, &id, "ops", "ops-password-1", "10.2.0.10")
            .await
            .status(),
        200,
        "another address is not affected"
    );
    assert_eq!(app.status(&id).await, "up");
}

#[tokio::test]
async fn cached_credentials_keep_working_while_their_user_is_guessed() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let id = app.interval_service("backup", 60, 60).await;
    // The cron job's credentials are verified once and remembered.
    assert_eq!(
        ping_from(&app, &id, ADMIN, PASSWORD, "10.3.0.5")
            .await
            .status(),
        200
    );
    // Someone guesses the same user from another address until refused.
    for i in 0..5 {
        let resp = ping_from(&app, &id, ADMIN, &format!("guess-{i}"), "10.3.0.66").await;
        assert_eq!(resp.status(), 401);
    }
    assert_throttled(ping_from(&app, &id, ADMIN, "guess-5", "10.3.0.66").await).await;
    let hashed = app.state.auth.hashes_run();
    for _ in 0..3 {
        assert_eq!(
            ping_from(&app, &id, ADMIN, PASSWORD, "10.3.0.5")
                .await
                .status(),
            200
        );
    }
    // A remembered credential is not a guess: not even the guessing address is refused it.
    assert_eq!(
        ping_from(&app, &id, ADMIN, PASSWORD, "10.3.0.66")
            .await
            .status(),
        200
    );
    assert_eq!(
        app.state.auth.hashes_run(),
        hashed,
        "no hash for cached pings"
    );
}

#[tokio::test]
async fn a_burst_of_one_unremembered_credential_costs_one_hash() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let id = app.interval_service("fleet", 60, 60).await;
    // A password changed somewhere drops every remembered credential; then every cron
    // job on a host pings at the top of the minute.
    app.state.auth.invalidate();
    let hashed = app.state.auth.hashes_run();
    let pings = (0..20).map(|_| ping_from(&app, &id, ADMIN, PASSWORD, "10.6.0.1"));
    let answers = futures::future::join_all(pings).await;
    let codes: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
    assert!(codes.iter().all(|c| *c == 200), "{codes:?}");
    assert_eq!(app.state.auth.hashes_run() - hashed, 1);
}

#[tokio::test]
async fn guessing_from_other_addresses_does_not_lock_the_owner_out() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let id = app.interval_service("owner", 60, 60).await;
    // Four wrong sign-ins from one address, one more over the API from another, then a
    // locked-out attacker: five failures for the user, from two addresses.
    let mut attacker = Browser::new(&app);
    attacker.address = Some("10.4.0.66".into());
    for _ in 0..4 {
        assert_eq!(attacker.sign_in(ADMIN, "guess").await.status, 401);
    }
    let resp = ping_from(&app, &id, ADMIN, "guess", "10.4.1.1").await;
    assert_eq!(resp.status(), 401);
    assert_eq!(attacker.sign_in(ADMIN, "guess").await.status, 401);
    assert_eq!(attacker.sign_in(ADMIN, PASSWORD).await.status, 429);
    // The owner, from an address that has not failed, signs in: slowed, not refused.
    let mut owner = Browser::new(&app);
    owner.address = Some("10.4.0.7".into());
    let page = owner.sign_in(ADMIN, PASSWORD).await;
    assert_eq!(page.status, 303, "{}", page.body);
    // A cron job whose remembered credential was dropped (a password changed somewhere)
    // is checked again, and gets through from its own address.
    app.state.auth.invalidate();
    assert_eq!(
        ping_from(&app, &id, ADMIN, PASSWORD, "10.4.0.8")
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn failed_attempts_are_logged_without_the_password() {
    let lines = Arc::new(Mutex::new(Vec::<u8>::new()));
    let sink = lines.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || Sink(sink.clone()))
        .finish();
    if tracing::subscriber::set_global_default(subscriber).is_err() {
        eprintln!("another test set the global subscriber first: not checking the log");
        return;
    }
    let app = TestApp::spawn(Backend::Sqlite).await;
    let id = app.interval_service("logged", 60, 60).await;
    for _ in 0..6 {
        ping_from(&app, &id, ADMIN, "s3cret-guess", "10.5.0.66").await;
    }
    let mut b = Browser::new(&app);
    b.address = Some("10.5.0.67".into());
    // A name with a line break in it must not forge a log line of its own.
    b.sign_in("mallory\nWARN forged", "s3cret-guess").await;

    let log = String::from_utf8_lossy(&lines.lock().unwrap()).into_owned();
    let failed: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("WARN") && l.contains("wrong user name or password"))
        .collect();
    assert_eq!(failed.len(), 6, "{log}");
    assert!(failed[0].contains(r#"user="admin""#) && failed[0].contains("address=10.5.0.66"));
    assert!(
        failed[5].contains(r#"user="mallory\nWARN forged""#),
        "{}",
        failed[5]
    );
    assert!(failed[5].contains("address=10.5.0.67"));
    assert!(!log.lines().any(|l| l.starts_with("WARN forged")), "{log}");
    assert!(log.lines().any(|l| l.contains("WARN")
        && l.contains("too many failures")
        && l.contains("address=10.5.0.66")));
    assert!(!log.contains("s3cret-guess"), "a password reached the log");
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn test_mails_are_rate_limited() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut b = Browser::signed_in(&app).await;
    for _ in 0..3 {
        let page = b
            .submit("/alerts", "/alerts/test", &[("to", "ops@example.com")])
            .await;
        page.assert_contains("Test email sent to ops@example.com");
    }
    let page = b
        .submit("/alerts", "/alerts/test", &[("to", "ops@example.com")])
        .await;
    assert_eq!(page.status, 429);
    assert!(page.headers.contains_key(header::RETRY_AFTER));
    page.assert_contains("Too many test emails");
    b.accept_language = Some("zh-CN".into());
    b.set_cookie("hb_lang", "zh");
    let page = b
        .submit("/alerts", "/alerts/test", &[("to", "ops@example.com")])
        .await;
    assert_eq!(page.status, 429);
    page.assert_contains("测试邮件发送过于频繁");
    assert_eq!(app.mail_files().len(), 3, "refused tries send nothing");

    app.advance(Duration::minutes(1));
    b.set_cookie("hb_lang", "en");
    let page = b
        .submit("/alerts", "/alerts/test", &[("to", "ops@example.com")])
        .await;
    page.assert_contains("Test email sent to ops@example.com");
}
