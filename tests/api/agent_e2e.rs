//! hb-agent → a real heartbeats server → down → an alert through real SMTP → a healthy
//! run → recovery. The agent's SSH collection has its own tests against a real sshd
//! (agent/tests); here the agent collects from its own machine (`local: true`).
use hb_agent::config::Config;
use hb_agent::pass::PingOutcome;
use hb_agent::{PassOptions, run_pass};
use serde_json::json;

use crate::helpers::{ADMIN, Backend, Options, PASSWORD, SmtpServer, TestApp};

fn agent_config(app: &TestApp, service: &str, disk_threshold: &str) -> Config {
    let yaml = format!(
        "server:\n  url: {url}\n  service: {service}\n  user: {ADMIN}\n  password: {PASSWORD}\n  retries: 0\n\
         collect:\n  sample_interval: 0.2s\n\
         defaults:\n  thresholds:\n    memory: 100\n    disk: {disk_threshold}\n\
         hosts:\n  - name: gpu-01\n    local: true\n",
        url = app.address,
    );
    Config::from_yaml(&yaml, "e2e.yaml").expect("agent config")
}

#[tokio::test]
async fn agent_reports_a_problem_then_recovery_by_mail() {
    let smtp = SmtpServer::start().await;
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        Options {
            vars: smtp.vars(),
            ..Default::default()
        },
    )
    .await;
    let svc = app
        .create_service(json!({"name": "fleet", "kind": "interval", "period": 300, "grace": 60, "notify": ["gpu-team@example.com"]}))
        .await;
    let id = &svc.id;
    let opts = PassOptions {
        ping: true,
        host: None,
    };

    // Every disk is over 0%: one problem line per mounted disk.
    let outcome = run_pass(&agent_config(&app, id, "0"), &opts)
        .await
        .expect("pass");
    assert_eq!(outcome.exit_code(), 1);
    assert!(!outcome.report.problems.is_empty());
    assert!(
        outcome.report.problems[0].starts_with("gpu-01 disk "),
        "{:?}",
        outcome.report.problems
    );
    let PingOutcome::Accepted(accepted) = &outcome.ping else {
        panic!("ping not accepted: {:?}", outcome.ping);
    };
    assert_eq!(accepted.status, "down");
    assert_eq!(accepted.kind, "error");

    assert_eq!(app.deliver().await.sent, 1);
    let mail = smtp.messages().pop().expect("alert mail");
    assert!(mail.contains("To: gpu-team@example.com"));
    assert!(mail.contains("DOWN: fleet (error)"));
    assert!(
        mail.contains("gpu-01 disk /"),
        "the problem lines are in the mail"
    );

    // All well again: an empty ping, a recovery, a second mail.
    let outcome = run_pass(&agent_config(&app, id, "100"), &opts)
        .await
        .expect("pass");
    assert_eq!(outcome.exit_code(), 0, "{:?}", outcome.report.problems);
    assert_eq!(app.status(id).await, "up");
    assert_eq!(app.deliver().await.sent, 1);
    assert_eq!(smtp.messages().len(), 2);
    assert!(
        smtp.messages()
            .iter()
            .any(|m| m.contains("UP: fleet (recovered)"))
    );
}

#[tokio::test]
async fn agent_names_an_unknown_service_and_bad_credentials() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let opts = PassOptions {
        ping: true,
        host: None,
    };
    let outcome = run_pass(&agent_config(&app, "nosuch", "100"), &opts)
        .await
        .expect("pass");
    assert_eq!(outcome.exit_code(), 3);
    let PingOutcome::Failed(err) = &outcome.ping else {
        panic!("{:?}", outcome.ping)
    };
    assert!(err.to_string().contains("nosuch"), "{err}");

    let id = app.interval_service("creds", 60, 60).await;
    let yaml = format!(
        "server:\n  url: {}\n  service: {id}\n  user: {ADMIN}\n  password: wrong-password\n  retries: 0\n\
         collect:\n  sample_interval: 0.1s\nhosts:\n  - local: true\n",
        app.address
    );
    let cfg = Config::from_yaml(&yaml, "e2e.yaml").unwrap();
    let outcome = run_pass(&cfg, &opts).await.expect("pass");
    assert_eq!(outcome.exit_code(), 3);
    assert_eq!(
        app.status(&id).await,
        "new",
        "a refused ping stores nothing"
    );
}
