//! The services list in pages: the API's cursors and `Link` headers, the UI's previous and
//! next links, the order (down, late, then the rest) and the search, on every database.
use heartbeats::domain::status::Status;

use crate::helpers::{Backend, TestApp};
use crate::list_helpers::{attention_order, pager_link, row_names};
use crate::on_every_backend;
use crate::ui_helpers::Browser;

/// Names that sort differently by case, by byte and by collation, to catch a database
/// ordering its way instead of the list's.
fn names(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| match i % 5 {
            0 => format!("Backup {i:03}"),
            1 => format!("backup-{i:03}"),
            2 => format!("Zeta {i:03}"),
            3 => format!("älter {i:03}"),
            _ => format!("_cron {i:03}"),
        })
        .collect()
}

async fn api_pages_follow_the_cursor(b: Backend) {
    let app = TestApp::spawn(b).await;
    let statuses = [
        Status::Up,
        Status::Down,
        Status::New,
        Status::Late,
        Status::Paused,
    ];
    let spec: Vec<(String, Vec<&str>, Status)> = names(23)
        .into_iter()
        .enumerate()
        .map(|(i, n)| {
            (
                n,
                if i % 2 == 0 {
                    vec!["even"]
                } else {
                    vec!["odd", "x"]
                },
                statuses[i % 5],
            )
        })
        .collect();
    let models = app.seed(&spec).await;
    let mut by_name: Vec<(String, String)> = models
        .iter()
        .map(|m| (m.name.to_lowercase(), m.name.clone()))
        .collect();
    by_name.sort();
    let expected: Vec<String> = by_name.into_iter().map(|(_, n)| n).collect();

    // The default page holds everything here, in name order, with no next page.
    let first = app.list_api("/api/v1/services").await;
    assert_eq!(first.names(), expected);
    assert!(first.next_cursor.is_none() && first.next_link.is_none());

    // Pages of 5: full pages link to the next, the last one does not.
    let page = app.list_api("/api/v1/services?limit=5").await;
    assert_eq!(page.names(), expected[..5]);
    let link = page.next_link.clone().expect("a next link");
    assert!(
        link.starts_with("/api/v1/services?limit=5&cursor="),
        "{link}"
    );
    assert!(link.ends_with(&page.next_cursor.clone().unwrap()));
    let (all, pages) = app.list_api_all("/api/v1/services?limit=5").await;
    assert_eq!(pages, 5);
    assert_eq!(
        all.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
        expected
    );
    // A page ending exactly at the end says so: no empty page after it.
    let (_, pages) = app.list_api_all("/api/v1/services?limit=23").await;
    assert_eq!(pages, 1);

    // Filters stay in the links and hold on every page.
    let (odd, pages) = app.list_api_all("/api/v1/services?tag=odd&limit=3").await;
    assert_eq!(pages, 4);
    assert_eq!(odd.len(), 11);
    assert!(odd.iter().all(|s| s.tags.contains(&"odd".to_owned())));
    let page = app
        .list_api("/api/v1/services?tag=odd,x&status=up&limit=1")
        .await;
    assert!(
        page.next_link
            .unwrap()
            .contains("tag=odd%2Cx&status=up&limit=1&cursor=")
    );
    let (up_odd, _) = app
        .list_api_all("/api/v1/services?tag=odd,x&status=up&limit=1")
        .await;
    let want: Vec<&str> = spec
        .iter()
        .enumerate()
        .filter(|(i, (_, _, s))| i % 2 == 1 && *s == Status::Up)
        .map(|(_, (n, _, _))| n.as_str())
        .collect();
    let mut got: Vec<&str> = up_odd.iter().map(|s| s.name.as_str()).collect();
    got.sort();
    let mut want_sorted = want.clone();
    want_sorted.sort();
    assert_eq!(got, want_sorted);
    let (zeta, pages) = app.list_api_all("/api/v1/services?q=ZETA&limit=2").await;
    assert_eq!((zeta.len(), pages), (5, 3));
    assert!(zeta.iter().all(|s| s.name.starts_with("Zeta")));
    let (down, _) = app
        .list_api_all("/api/v1/services?status=down&limit=2")
        .await;
    assert!(!down.is_empty() && down.iter().all(|s| s.status == "down"));

    // Bad limits and cursors are 422s naming the field.
    for bad in ["0", "1001", "-1", "ten"] {
        let page = app.list_api(&format!("/api/v1/services?limit={bad}")).await;
        assert_eq!(
            (page.status, page.error_field.as_deref()),
            (422, Some("limit")),
            "{bad}"
        );
    }
    assert_eq!(
        app.list_api("/api/v1/services?limit=1000").await.status,
        200
    );
    for bad in ["nope", "eyJhIjoxfQ", "%2F%2F"] {
        let page = app
            .list_api(&format!("/api/v1/services?cursor={bad}"))
            .await;
        assert_eq!(
            (page.status, page.error_field.as_deref()),
            (422, Some("cursor")),
            "{bad}"
        );
    }
}

async fn ui_pages_put_attention_first_and_keep_the_search(b: Backend) {
    let app = TestApp::spawn(b).await;
    let statuses = [
        (Status::Up, 90),
        (Status::Down, 20),
        (Status::Late, 15),
        (Status::New, 60),
        (Status::Paused, 35),
    ];
    let mut spec = Vec::new();
    let mut names = names(220).into_iter();
    for (status, n) in statuses {
        for i in 0..n {
            let tags = if i % 3 == 0 {
                vec!["db", "prod"]
            } else {
                vec!["web"]
            };
            spec.push((names.next().unwrap(), tags, status));
        }
    }
    let models = app.seed(&spec).await;
    let expected = attention_order(&models);
    let mut br = Browser::signed_in(&app).await;

    let first = br.get("/").await;
    assert_eq!(first.status, 200);
    let rows = row_names(&first.body);
    assert_eq!(rows, expected[..100]);
    // Down first, then late.
    assert!(first.body.find("b-down").unwrap() < first.body.find("b-late").unwrap());
    first.assert_contains(r#"aria-current="page">All <span class="count">220</span>"#);
    first.assert_contains(r#"Down <span class="count">20</span>"#);
    first.assert_contains(r#"Paused <span class="count">35</span>"#);
    assert!(pager_link(&first.body, "prev").is_none());
    let next = pager_link(&first.body, "next").expect("a next link");
    assert!(next.starts_with("/?after="), "{next}");

    let second = br.get(&next).await;
    assert_eq!(row_names(&second.body), expected[100..200]);
    let third = br.get(&pager_link(&second.body, "next").unwrap()).await;
    assert_eq!(row_names(&third.body), expected[200..]);
    assert!(pager_link(&third.body, "next").is_none());
    // Back from the last page is the second page again.
    let back = br.get(&pager_link(&third.body, "prev").unwrap()).await;
    assert_eq!(row_names(&back.body), expected[100..200]);
    // Back from the second page is the first, without a previous link of its own.
    let start = br.get(&pager_link(&second.body, "prev").unwrap()).await;
    assert_eq!(row_names(&start.body), expected[..100]);
    assert!(pager_link(&start.body, "prev").is_none());
    // The live refresh fetches the page on show, not the first page.
    assert!(second.body.contains("data-src=\"/ui/rows?after="));
    let fragment = br.get(&next.replacen("/?", "/ui/rows?", 1)).await;
    assert_eq!(row_names(&fragment.body), expected[100..200]);

    // A search and a status filter stay in the links; counts follow the search.
    let db_models: Vec<_> = models
        .iter()
        .filter(|m| m.tags.contains(",db,"))
        .cloned()
        .collect();
    let page = br.get("/?q=db").await;
    page.assert_contains(&format!(
        r#"aria-current="page">All <span class="count">{}</span>"#,
        db_models.len()
    ));
    assert_eq!(row_names(&page.body), attention_order(&db_models));
    let up: Vec<_> = models
        .iter()
        .filter(|m| m.status == Status::Up)
        .cloned()
        .collect();
    let page = br.get("/?q=web,&status=up").await;
    let next = pager_link(&page.body, "next");
    let web_up: Vec<_> = up
        .iter()
        .filter(|m| m.tags.contains(",web,"))
        .cloned()
        .collect();
    assert_eq!(web_up.len(), 60);
    assert!(next.is_none());
    assert_eq!(row_names(&page.body), attention_order(&web_up));
    let page = br.get("/?status=new").await;
    assert_eq!(row_names(&page.body).len(), 60);
    // Paging a search keeps it: q and status in next and previous links.
    let many: Vec<_> = (0..130)
        .map(|i| (format!("zz web {i:03}"), vec!["bulk"], Status::Up))
        .collect();
    app.seed(&many).await;
    let page = br.get("/?q=bulk&status=up").await;
    let next = pager_link(&page.body, "next").expect("next");
    assert!(next.starts_with("/?q=bulk&status=up&after="), "{next}");
    let page = br.get(&next).await;
    assert_eq!(row_names(&page.body).len(), 30);
    let prev = pager_link(&page.body, "prev").expect("prev");
    assert!(prev.starts_with("/?q=bulk&status=up&before="), "{prev}");
    // A cursor this server did not make shows the first page.
    let page = br.get("/?after=garbage").await;
    assert_eq!(row_names(&page.body), expected[..100]);
}

/// The search box's rules, on every database: each term a whole tag or part of a name,
/// any case, all terms must match.
async fn search_terms_match_whole_tags_or_name_parts(b: Backend) {
    let app = TestApp::spawn(b).await;
    app.seed(&[
        ("tls renew".into(), vec!["cert", "sync"], Status::Up),
        ("cert check".into(), vec!["cert"], Status::Up),
        ("Photo Sync".into(), vec!["sync"], Status::New),
        ("db backup".into(), vec!["db"], Status::Down),
        ("Ärger Übung".into(), vec![], Status::Late),
    ])
    .await;
    let mut br = Browser::signed_in(&app).await;
    let mut list = async |q: &str| row_names(&br.get(&format!("/?q={q}")).await.body);
    assert_eq!(list("cert,sync").await, ["tls renew"]);
    assert_eq!(list("%20Cert%20,%20SYNC%20").await, ["tls renew"]);
    assert_eq!(list("cert,renew").await, ["tls renew"]);
    assert_eq!(list("CERT").await, ["cert check", "tls renew"]);
    assert_eq!(list("sync").await, ["Photo Sync", "tls renew"]);
    assert!(list("cert,nosuchtag").await.is_empty());
    assert!(list("cer,db").await.is_empty());
    assert_eq!(list("cer").await, ["cert check"]);
    assert_eq!(list("ärger").await, ["Ärger Übung"]);
    assert_eq!(list("ÜBUNG").await, ["Ärger Übung"]);
    assert_eq!(list("100%25").await, Vec::<String>::new());
    assert_eq!(
        list("").await,
        [
            "db backup",
            "Ärger Übung",
            "cert check",
            "Photo Sync",
            "tls renew"
        ]
    );
}

on_every_backend!(
    api_pages_follow_the_cursor,
    ui_pages_put_attention_first_and_keep_the_search,
    search_terms_match_whole_tags_or_name_parts,
);

#[tokio::test]
async fn counts_stop_at_the_cap() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let cap = heartbeats::store::service_list::COUNT_CAP as usize;
    let many: Vec<_> = (0..=cap)
        .map(|i| (format!("svc {i:05}"), vec!["bulk"], Status::Up))
        .collect();
    app.seed(&many).await;
    app.seed(&[("broken".into(), vec!["bulk"], Status::Down)])
        .await;
    let mut br = Browser::signed_in(&app).await;
    for path in ["/", "/?q=bulk"] {
        let page = br.get(path).await;
        page.assert_contains(&format!(r#"Up <span class="count">{cap}+</span>"#));
        page.assert_contains(r#"Down <span class="count">1</span>"#);
        page.assert_contains(&format!(r#"All <span class="count">{}+</span>"#, cap + 1));
        assert_eq!(row_names(&page.body).len(), 100);
        assert!(page.body.len() < 200_000, "{} bytes", page.body.len());
    }
}

/// Two large tags that rarely meet: the page lists the few services with both, and the
/// counts stop after their reading budget, saying so with a "+".
#[tokio::test]
async fn counts_of_a_sparse_search_stop_at_their_budget() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let half = heartbeats::store::service_list::COUNT_BUDGET as usize + 1;
    let many: Vec<_> = (0..2 * half - 2)
        .map(|i| {
            let tags = if i < half - 2 {
                vec!["left"]
            } else if i < half {
                vec!["left", "right"]
            } else {
                vec!["right"]
            };
            (format!("svc {i:05}"), tags, Status::Up)
        })
        .collect();
    app.seed(&many).await;
    let mut br = Browser::signed_in(&app).await;
    let page = br.get("/?q=left,right").await;
    assert_eq!(
        row_names(&page.body),
        [
            format!("svc {:05}", half - 2),
            format!("svc {:05}", half - 1)
        ]
    );
    // The count reads the first budget's worth of `left` (svc 00000 to svc 19999), meets
    // one of the two there, and says it stopped.
    page.assert_contains(r#"Up <span class="count">1+</span>"#);
    page.assert_contains(r#"All <span class="count">1+</span>"#);
    page.assert_contains(r#"Down <span class="count">0</span>"#);
}
