//! Every credential change ends the user's other web sessions, whoever makes it: the
//! CLI in another process, the account page, or removing the user.
use std::io::Write;
use std::process::{Command, Stdio};

use crate::helpers::{ADMIN, Backend, TestApp};
use crate::ui_helpers::Browser;

/// `heartbeats ARGS` against the test app's database, as an operator runs it.
fn cli(app: &TestApp, args: &[&str], stdin: &str) -> (bool, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_heartbeats"))
        .args(args)
        .current_dir(&app.data_dir)
        .env("DATABASE_URL", &app.database.url)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run heartbeats");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

async fn signed_in_still(b: &mut Browser<'_>) -> bool {
    b.get("/account").await.status == 200
}

#[tokio::test]
async fn user_passwd_from_the_cli_ends_web_sessions() {
    for backend in [Backend::Sqlite, Backend::Postgres, Backend::Mysql] {
        let app = TestApp::spawn(backend).await;
        let mut b = Browser::signed_in(&app).await;
        assert!(signed_in_still(&mut b).await);
        let (ok, out) = cli(
            &app,
            &["user", "passwd", ADMIN, "--password-stdin"],
            "a-brand-new-password\n",
        );
        assert!(ok, "{out}");
        assert!(
            !signed_in_still(&mut b).await,
            "{backend:?}: the session survived"
        );
        let page = b.sign_in(ADMIN, "a-brand-new-password").await;
        assert_eq!(page.status, 303, "{backend:?}");
        assert!(signed_in_still(&mut b).await);
    }
}

#[tokio::test]
async fn removing_a_user_ends_their_sessions_and_the_cli_names_unknown_users() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (ok, out) = cli(
        &app,
        &["user", "add", "ci", "--password-stdin"],
        "ci-password-1\n",
    );
    assert!(ok, "{out}");
    let mut b = Browser::new(&app);
    assert_eq!(b.sign_in("ci", "ci-password-1").await.status, 303);
    assert!(signed_in_still(&mut b).await);
    let (ok, out) = cli(&app, &["user", "remove", "ci"], "");
    assert!(ok, "{out}");
    assert!(!signed_in_still(&mut b).await);
    let (ok, out) = cli(&app, &["user", "remove", "ci"], "");
    assert!(!ok);
    assert!(out.contains("user not found"), "{out}");
    let (ok, out) = cli(
        &app,
        &["user", "passwd", "ci", "--password-stdin"],
        "whatever-1\n",
    );
    assert!(!ok);
    assert!(out.contains("user not found"), "{out}");
    let (ok, out) = cli(&app, &["user", "add", "x y", "--password-stdin"], "short\n");
    assert!(!ok);
    assert!(out.contains("user names are"), "{out}");
}

#[tokio::test]
async fn the_account_page_keeps_its_own_session_only() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut here = Browser::signed_in(&app).await;
    let mut elsewhere = Browser::signed_in(&app).await;
    let page = here
        .submit(
            "/account",
            "/account/password",
            &[
                ("current", crate::helpers::PASSWORD),
                ("new", "another-password-9"),
                ("confirm", "another-password-9"),
            ],
        )
        .await;
    assert_eq!(page.status, 303);
    assert!(signed_in_still(&mut here).await);
    assert!(!signed_in_still(&mut elsewhere).await);
}
