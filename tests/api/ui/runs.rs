//! Job runs on the pages: the service page's runs table (paged), sparkline, failure streak
//! and open runs; start/log pings with exit status and rid in the ping log; the list's last
//! run; the form's slug, description, run-time bounds and failures in a row; a new ping
//! UUID and a new ping key. Runs are inserted as rows here: the pages read what the
//! writer stores, whoever wrote it.
use heartbeats::domain::runs::RunOutcome;
use heartbeats::domain::status::PingKind;
use heartbeats::entity::{pings, runs, services, users};
use sea_orm::{ActiveModelTrait, ActiveValue::Set, EntityTrait, IntoActiveModel};

use crate::helpers::{ADMIN, Backend, TestApp};
use crate::on_every_backend;
use crate::ui_helpers::{Browser, input_value};

on_every_backend!(
    the_service_page_shows_runs_a_sparkline_the_streak_and_open_runs,
    the_ping_log_shows_start_and_log_pings_with_exit_status_and_rid,
    the_list_shows_the_last_run_and_open_runs,
    the_form_round_trips_the_run_fields,
    the_form_refuses_bad_run_fields_at_each_field_in_both_languages,
    a_new_ping_uuid_replaces_the_url_on_the_page,
    the_account_page_shows_the_ping_key_and_makes_a_new_one,
);

#[allow(clippy::too_many_arguments)]
async fn insert_run(
    app: &TestApp,
    id: &str,
    started_at: i64,
    duration_ms: Option<i64>,
    exit_status: Option<i32>,
    outcome: RunOutcome,
    output: &str,
    rid: Option<&str>,
) {
    runs::ActiveModel {
        service_id: Set(id.to_owned()),
        rid: Set(rid.map(str::to_owned)),
        started_at: Set(started_at),
        ended_at: Set(duration_ms.map(|d| started_at + d)),
        duration_ms: Set(duration_ms),
        exit_status: Set(exit_status),
        outcome: Set(outcome),
        output: Set(output.to_owned()),
        ..Default::default()
    }
    .insert(&app.db)
    .await
    .unwrap();
}

async fn row(app: &TestApp, id: &str) -> services::Model {
    services::Entity::find_by_id(id)
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
}

async fn update(app: &TestApp, id: &str, f: impl FnOnce(&mut services::Model)) {
    let mut m = row(app, id).await;
    f(&mut m);
    m.into_active_model()
        .reset_all()
        .update(&app.db)
        .await
        .unwrap();
}

async fn the_service_page_shows_runs_a_sparkline_the_streak_and_open_runs(b: Backend) {
    let app = TestApp::spawn(b).await;
    let id = app.interval_service("backup", 3600, 300).await;
    let now = app.now().timestamp_millis();
    let hour = 3_600_000;
    // 22 successes of 10 s … 31 s, a failure, a run too short, then one still going.
    for i in 0..22 {
        let start = now - (30 - i) * hour;
        insert_run(
            &app,
            &id,
            start,
            Some(10_000 + i * 1000),
            Some(0),
            RunOutcome::Success,
            "",
            None,
        )
        .await;
    }
    insert_run(
        &app,
        &id,
        now - 5 * hour,
        Some(42_000),
        Some(2),
        RunOutcome::Failure,
        "tar: <disk> full",
        Some("5bf66975-d4c7-4e4f-9c4b-7b5e8c8b1a2c"),
    )
    .await;
    insert_run(
        &app,
        &id,
        now - 3 * hour,
        Some(850),
        Some(0),
        RunOutcome::TooShort,
        "",
        None,
    )
    .await;
    insert_run(
        &app,
        &id,
        now - 12 * 60_000,
        None,
        None,
        RunOutcome::Running,
        "",
        None,
    )
    .await;
    update(&app, &id, |m| {
        m.fail_streak = 2;
        m.fail_after = 3;
        m.open_runs = 1;
        m.run_started_at = Some(now - 12 * 60_000);
        m.last_run_ms = Some(850);
        m.min_run_secs = Some(5);
        m.max_run_secs = Some(7200);
        m.description = "Backs up db1 <nightly>.\nAsk Wei.".into();
    })
    .await;

    let mut br = Browser::signed_in(&app).await;
    let page = br.get(&format!("/services/{id}")).await;
    assert_eq!(page.status, 200);
    page.assert_contains(r#"id="streak"><span class="outcome o-failure">failure</span> 2 failures in a row; alerts at 3</p>"#);
    page.assert_contains(
        r#"id="running"><span class="outcome o-running">running</span> Running for 12 min</p>"#,
    );
    page.assert_contains(r#"<p class="svc-desc" id="description">Backs up db1 &#60;nightly&#62;."#);
    // Newest first, 20 to a page.
    assert_eq!(page.body.matches(r#"<tr class="run">"#).count(), 20);
    page.assert_contains(r#"<span class="outcome o-running">running</span></td>"#);
    page.assert_contains("still running");
    page.assert_contains(r#"<span class="outcome o-too-short">too short</span>"#);
    page.assert_contains(r#"<span class="outcome o-failure">failure</span>"#);
    page.assert_contains("850 ms");
    page.assert_contains("42 s");
    page.assert_contains(r#"<td class="num">2</td>"#);
    page.assert_contains(r#"<details class="output"><summary>show output</summary><pre class="data">tar: &#60;disk&#62; full</pre></details>"#);
    page.assert_contains(r#"title="Run id: 5bf66975-d4c7-4e4f-9c4b-7b5e8c8b1a2c""#);
    // The sparkline: 24 finished runs, in words as well as drawn.
    page.assert_contains(r#"<svg class="spark""#);
    page.assert_contains(
        r#"<figcaption id="spark-summary">Last 24 runs: shortest 850 ms, median 21 s, longest 42 s</figcaption>"#,
    );
    page.assert_contains(r#"class="bound min""#);
    // Bounds and the streak rule in the details.
    page.assert_contains("<dt>Maximum run time</dt><dd>2 h</dd>");
    page.assert_contains("<dt>Minimum run time</dt><dd>5 s</dd>");
    page.assert_contains(
        "<dt>Alert after failures in a row</dt><dd>after 3 failures in a row</dd>",
    );

    let before = page
        .body
        .split("?runs_before=")
        .nth(1)
        .unwrap()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>();
    let page2 = br
        .get(&format!("/services/{id}?runs_before={before}"))
        .await;
    assert_eq!(page2.body.matches(r#"<tr class="run">"#).count(), 5);
    page2.assert_contains("Newest runs");
    assert!(
        !page2.contains("?runs_before="),
        "the last page has no older link"
    );

    br.set_cookie("hb_lang", "zh");
    let zh = br.get(&format!("/services/{id}")).await;
    zh.assert_contains("已连续失败 2 次；达到 3 次时告警");
    zh.assert_contains("已运行 12 分钟");
    zh.assert_contains("最近 24 次运行：最短 850 毫秒，中位数 21 秒，最长 42 秒");
    zh.assert_contains(r#"<span class="outcome o-too-short">过短</span>"#);
    zh.assert_contains("显示输出");
    zh.assert_contains("<dt>最长运行时间</dt><dd>2 小时</dd>");

    // A service without runs says how to get them.
    let quiet = app.interval_service("quiet", 60, 60).await;
    br.set_cookie("hb_lang", "en");
    let page = br.get(&format!("/services/{quiet}")).await;
    page.assert_contains("No runs yet");
    assert!(!page.contains(r#"<svg class="spark""#));
    assert!(!page.contains(r#"id="streak""#));
    assert!(!page.contains(r#"id="running""#));
    page.assert_contains("<dt>Maximum run time</dt><dd><span class=\"muted\">no limit</span></dd>");
}

async fn the_ping_log_shows_start_and_log_pings_with_exit_status_and_rid(b: Backend) {
    let app = TestApp::spawn(b).await;
    let id = app.interval_service("backup", 3600, 300).await;
    let now = app.now().timestamp_millis();
    let rid = "0a4c1a5e-58c4-4c8e-8f53-1a2b3c4d5e6f";
    let rows = [
        (PingKind::Start, None, ""),
        (PingKind::Log, None, "halfway"),
        (PingKind::Error, Some(3), "exit 3"),
    ]
    .into_iter()
    .enumerate()
    .map(|(i, (kind, exit, data))| pings::ActiveModel {
        service_id: Set(id.clone()),
        at: Set(now + i as i64 * 1000),
        kind: Set(kind),
        data: Set(data.into()),
        source: Set(Some("10.0.0.7".into())),
        user_agent: Set(Some("runitor/1.3.0".into())),
        rid: Set(Some(rid.into())),
        exit_status: Set(exit),
        ..Default::default()
    })
    .collect();
    heartbeats::store::pings::append(&app.db, rows)
        .await
        .unwrap();
    let mut br = Browser::signed_in(&app).await;
    let page = br.get(&format!("/services/{id}")).await;
    page.assert_contains(r#"<span class="kind k-start">start</span>"#);
    page.assert_contains(r#"<span class="kind k-log">log</span>"#);
    page.assert_contains(
        r#"<span class="kind k-error">error</span> <span class="exit" title="Exit status">Exit status 3</span>"#,
    );
    assert_eq!(
        page.body
            .matches(&format!(r#"title="Run id: {rid}""#))
            .count(),
        3
    );
    br.set_cookie("hb_lang", "zh");
    let zh = br.get(&format!("/services/{id}")).await;
    zh.assert_contains(r#"<span class="kind k-start">开始</span>"#);
    zh.assert_contains(r#"<span class="kind k-log">日志</span>"#);
    zh.assert_contains("退出码 3");
}

async fn the_list_shows_the_last_run_and_open_runs(b: Backend) {
    let app = TestApp::spawn(b).await;
    let done = app.interval_service("done-job", 3600, 300).await;
    let going = app.interval_service("going-job", 3600, 300).await;
    let never = app.interval_service("never-job", 3600, 300).await;
    app.ping_ok(&done, "").await;
    update(&app, &done, |m| m.last_run_ms = Some(4_230)).await;
    update(&app, &going, |m| {
        m.open_runs = 1;
        m.run_started_at = Some(m.created_at);
        m.last_run_ms = Some(1_000);
    })
    .await;
    let mut br = Browser::signed_in(&app).await;
    let page = br.get("/").await;
    page.assert_contains(
        r#"<span class="run-dur" title="Last run: 4.2 s"><span class="sr-only">Last run: </span>4.2 s</span>"#,
    );
    page.assert_contains(r#"<span class="outcome o-running run-open">running</span>"#);
    assert_eq!(page.body.matches("run-open").count(), 1);
    assert_eq!(
        page.body.matches(r#"class="run-dur""#).count(),
        1,
        "an open run replaces the last duration; none without runs"
    );
    let never_row = page
        .body
        .split(&format!("/services/{never}"))
        .nth(1)
        .unwrap();
    let never_row = &never_row[..never_row.find("</tr>").unwrap()];
    assert!(!never_row.contains("run-"), "{never_row}");
    br.set_cookie("hb_lang", "zh");
    let zh = br.get("/").await;
    zh.assert_contains("上次运行：4.2 秒");
    zh.assert_contains(r#"<span class="outcome o-running run-open">运行中</span>"#);
}

async fn the_form_round_trips_the_run_fields(b: Backend) {
    let app = TestApp::spawn(b).await;
    let mut br = Browser::signed_in(&app).await;
    let blank = br.get("/services/new").await;
    assert_eq!(input_value(&blank.body, "fail_after").as_deref(), Some("1"));
    blank.assert_contains(r#"id="max_run" name="max_run" value="""#);
    let id = br
        .create_service(&[
            ("name", "Nightly Backup (db1)"),
            ("kind", "interval"),
            ("period", "1"),
            ("period_unit", "d"),
            ("timezone", "UTC"),
            ("grace", "30"),
            ("grace_unit", "min"),
            ("slug", ""),
            ("description", "Backs up db1.\nAsk Wei."),
            ("max_run", "2"),
            ("max_run_unit", "h"),
            ("min_run", "30"),
            ("min_run_unit", "s"),
            ("fail_after", "3"),
        ])
        .await;
    let m = row(&app, &id).await;
    assert_eq!(m.slug, "nightly-backup-db1", "made from the name");
    assert_eq!(m.description, "Backs up db1.\nAsk Wei.");
    assert_eq!(m.max_run_secs, Some(7200));
    assert_eq!(m.min_run_secs, Some(30));
    assert_eq!(m.fail_after, 3);

    let edit = br.get(&format!("/services/{id}/edit")).await;
    assert_eq!(
        input_value(&edit.body, "slug").as_deref(),
        Some("nightly-backup-db1")
    );
    assert_eq!(input_value(&edit.body, "max_run").as_deref(), Some("2"));
    assert_eq!(input_value(&edit.body, "min_run").as_deref(), Some("30"));
    assert_eq!(input_value(&edit.body, "fail_after").as_deref(), Some("3"));
    edit.assert_contains(r#"<option value="h" selected>hours</option>"#);
    edit.assert_contains(">Backs up db1.\nAsk Wei.</textarea>");

    // Edit: a slug of one's own, no maximum, back to the first failure.
    let form = [
        ("name", "Nightly Backup (db1)"),
        ("kind", "interval"),
        ("period", "1"),
        ("period_unit", "d"),
        ("timezone", "UTC"),
        ("grace", "30"),
        ("grace_unit", "min"),
        ("slug", "db1-backup"),
        ("description", ""),
        ("max_run", ""),
        ("max_run_unit", "h"),
        ("min_run", "30"),
        ("min_run_unit", "s"),
        ("fail_after", "1"),
    ];
    let path = format!("/services/{id}/edit");
    let saved = br.submit(&path, &path, &form).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let m = row(&app, &id).await;
    assert_eq!(m.slug, "db1-backup");
    assert_eq!(m.description, "");
    assert_eq!(m.max_run_secs, None);
    assert_eq!(m.min_run_secs, Some(30));
    assert_eq!(m.fail_after, 1);
    let page = br.get(&format!("/services/{id}")).await;
    assert!(
        !page.contains(r#"id="description""#),
        "an empty description is not shown"
    );
    page.assert_contains(&format!(
        "http://hb.test:5827/ping/{}/db1-backup",
        br_ping_key(&app).await
    ));

    // Emptying the slug makes one from the name again.
    let mut cleared = form;
    cleared[7] = ("slug", "");
    let saved = br.submit(&path, &path, &cleared).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert_eq!(row(&app, &id).await.slug, "nightly-backup-db1");
}

async fn br_ping_key(app: &TestApp) -> String {
    users::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.name == ADMIN)
        .unwrap()
        .ping_key
        .unwrap()
}

async fn the_form_refuses_bad_run_fields_at_each_field_in_both_languages(b: Backend) {
    let app = TestApp::spawn(b).await;
    let mut br = Browser::signed_in(&app).await;
    br.create_service(&[
        ("name", "first"),
        ("kind", "interval"),
        ("period", "1"),
        ("period_unit", "h"),
        ("timezone", "UTC"),
        ("grace", "5"),
        ("grace_unit", "min"),
        ("slug", "taken"),
    ])
    .await;
    let long = "x".repeat(2001);
    let bad = |slug: &'static str, min: &'static str, fail: &'static str, desc: &str| {
        vec![
            ("name".to_owned(), "second".to_owned()),
            ("kind".into(), "interval".into()),
            ("period".into(), "1".into()),
            ("period_unit".into(), "h".into()),
            ("timezone".into(), "UTC".into()),
            ("grace".into(), "5".into()),
            ("grace_unit".into(), "min".into()),
            ("slug".into(), slug.into()),
            ("description".into(), desc.to_owned()),
            ("max_run".into(), "2".into()),
            ("max_run_unit".into(), "h".into()),
            ("min_run".into(), min.into()),
            ("min_run_unit".into(), "h".into()),
            ("fail_after".into(), fail.into()),
        ]
    };
    let post = async |br: &mut Browser<'_>, fields: Vec<(String, String)>| {
        let form: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        br.submit("/services/new", "/services/new", &form).await
    };
    let page = post(&mut br, bad("Bad Slug", "3", "0", &long)).await;
    assert_eq!(page.status, 422, "{}", page.body);
    page.assert_contains(r#"<p class="error" id="slug-err">may contain only lower-case letters a-z, digits, &#39;-&#39; and &#39;_&#39;</p>"#);
    page.assert_contains(r#"<p class="error" id="min_run-err">"#);
    page.assert_contains(r#"<p class="error" id="fail_after-err">must be between 1 and 100</p>"#);
    page.assert_contains(r#"<p class="error" id="description-err">"#);
    // What was typed stays.
    assert_eq!(input_value(&page.body, "slug").as_deref(), Some("Bad Slug"));
    assert_eq!(input_value(&page.body, "min_run").as_deref(), Some("3"));
    assert_eq!(input_value(&page.body, "fail_after").as_deref(), Some("0"));
    let page = post(&mut br, bad("fine", "1", "abc", "")).await;
    assert_eq!(page.status, 422, "{}", page.body);
    page.assert_contains(r#"<p class="error" id="fail_after-err">must be between 1 and 100</p>"#);
    assert_eq!(
        input_value(&page.body, "fail_after").as_deref(),
        Some("abc")
    );
    // A slug another service has is refused at the field too (the store finds it).
    let page = post(&mut br, bad("taken", "1", "2", "")).await;
    assert_eq!(page.status, 422, "{}", page.body);
    page.assert_contains(
        r#"<p class="error" id="slug-err">the slug &#39;taken&#39; is taken by another service</p>"#,
    );
    br.set_cookie("hb_lang", "zh");
    let page = post(&mut br, bad("Bad Slug", "3", "101", "")).await;
    assert_eq!(page.status, 422);
    page.assert_contains(r#"<p class="error" id="slug-err">只能含小写字母 a-z、数字、&#39;-&#39; 和 &#39;_&#39;</p>"#);
    page.assert_contains(r#"<p class="error" id="min_run-err">不能超过最长运行时间</p>"#);
    page.assert_contains(r#"id="fail_after-err""#);
    page.assert_contains("最长运行时间");
    page.assert_contains("连续失败几次后告警");
    let page = post(&mut br, bad("taken", "1", "1", "")).await;
    page.assert_contains("短名 &#39;taken&#39; 已被另一个服务使用");
    // Nothing was created by the refusals.
    assert_eq!(
        services::Entity::find().all(&app.db).await.unwrap().len(),
        1
    );
}

async fn a_new_ping_uuid_replaces_the_url_on_the_page(b: Backend) {
    let app = TestApp::spawn(b).await;
    let id = app.interval_service("backup", 3600, 300).await;
    let old = row(&app, &id).await.ping_uuid;
    let mut br = Browser::signed_in(&app).await;
    let page = br.get(&format!("/services/{id}")).await;
    page.assert_contains(&format!(
        r#"<code id="uuid-url" class="url">http://hb.test:5827/ping/{old}</code>"#
    ));
    page.assert_contains("the current one stops working at once");
    page.assert_contains(&format!(
        "runitor -api-url &#39;http://hb.test:5827/ping&#39; -uuid {old} -- /path/to/job.sh"
    ));
    page.assert_contains(&format!("&#39;http://hb.test:5827/ping/{old}/&#39;$?"));
    page.assert_contains(&format!("/api/pings/start?service={id}"));
    // Without the form's token nothing changes.
    let refused = br
        .post(&format!("/services/{id}/ping-uuid"), &[("csrf", "nope")])
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(row(&app, &id).await.ping_uuid, old);
    let done = br
        .submit(
            &format!("/services/{id}"),
            &format!("/services/{id}/ping-uuid"),
            &[],
        )
        .await;
    assert_eq!(done.status, 303);
    assert_eq!(
        done.location(),
        Some(format!("/services/{id}#urls").as_str())
    );
    let new = row(&app, &id).await.ping_uuid;
    assert_ne!(new, old);
    let page = br.get(&format!("/services/{id}")).await;
    page.assert_contains("New ping URL made: the old one no longer works.");
    page.assert_contains(&format!("/ping/{new}</code>"));
    assert!(!page.contains(&old));
    // Viewers may not ping: they see neither the UUID (a credential) nor the button.
    let body = serde_json::json!({"name": "vera", "password": "vera-password-1", "role": "viewer"});
    assert_eq!(app.post_json("/api/v1/users", &body).await.status(), 201);
    let mut vera = Browser::new(&app);
    vera.sign_in("vera", "vera-password-1").await;
    let page = vera.get(&format!("/services/{id}")).await;
    assert!(!page.contains(&new));
    assert!(!page.contains("/ping-uuid"));
    let csrf = page.csrf();
    let refused = vera
        .post(&format!("/services/{id}/ping-uuid"), &[("csrf", &csrf)])
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(row(&app, &id).await.ping_uuid, new);
    br.set_cookie("hb_lang", "zh");
    let zh = br.get(&format!("/services/{id}")).await;
    zh.assert_contains("免密码地址");
    zh.assert_contains("更换 ping 地址");
    zh.assert_contains("当前地址立即失效");
}

async fn the_account_page_shows_the_ping_key_and_makes_a_new_one(b: Backend) {
    let app = TestApp::spawn(b).await;
    let old = br_ping_key(&app).await;
    let mut br = Browser::signed_in(&app).await;
    let page = br.get("/account").await;
    page.assert_contains(&format!(
        r#"<code id="ping-key-value" class="url">{old}</code>"#
    ));
    page.assert_contains(&format!("http://hb.test:5827/ping/{old}/&#60;slug&#62;"));
    page.assert_contains("keep it like a password");
    let refused = br.post("/account/ping-key", &[("csrf", "nope")]).await;
    assert_eq!(refused.status, 403);
    assert_eq!(br_ping_key(&app).await, old);
    let done = br.submit("/account", "/account/ping-key", &[]).await;
    assert_eq!(done.status, 303);
    let new = br_ping_key(&app).await;
    assert_ne!(new, old);
    let page = br.get("/account").await;
    page.assert_contains("New ping key made: your slug URLs have changed.");
    page.assert_contains(&format!(">{new}</code>"));
    assert!(!page.contains(&old));
    // A user without a key yet (made before keys existed) is told so and can make one.
    let mut u = users::Entity::find()
        .all(&app.db)
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.name == ADMIN)
        .unwrap()
        .into_active_model();
    u.ping_key = Set(None);
    u.update(&app.db).await.unwrap();
    let page = br.get("/account").await;
    page.assert_contains("You have no ping key yet.");
    let id = app.interval_service("backup", 3600, 300).await;
    br.get(&format!("/services/{id}"))
        .await
        .assert_contains(r#"You have no ping key yet. <a href="/account#ping-key-h">Account</a>"#);
    br.set_cookie("hb_lang", "zh");
    let zh = br.get("/account").await;
    zh.assert_contains("你还没有 ping 密钥。");
    zh.assert_contains("更换 ping 密钥");
    let done = br.submit("/account", "/account/ping-key", &[]).await;
    assert_eq!(done.status, 303);
    assert!(
        users::Entity::find()
            .all(&app.db)
            .await
            .unwrap()
            .iter()
            .any(|u| u.name == ADMIN && u.ping_key.is_some())
    );
}
