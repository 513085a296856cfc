//! Typed helpers for the hosts API and the staleness job.
use heartbeats::jobs::Job;
use heartbeats::jobs::staleness::{Staleness, StalenessReport};
use heartbeats_wire::hosts::{Event, Host, HostFlip, ReportsAccepted, UnmanagedHost};
use serde_json::Value;

use crate::helpers::TestApp;

impl TestApp {
    /// The host staleness job over this application's database and signals.
    pub fn staleness(&self) -> Staleness {
        self.state
            .app
            .host_wake
            .as_ref()
            .map(|wake| {
                Staleness::new(
                    self.db.clone(),
                    wake.clone(),
                    self.state.outbox_notify.clone(),
                )
            })
            .expect("a server has a staleness wake-up")
    }

    pub async fn run_staleness(&self) -> StalenessReport {
        self.staleness()
            .run_once(self.now())
            .await
            .expect("staleness run")
    }

    /// POST a report body as the admin.
    pub async fn report(&self, body: &Value) -> reqwest::Response {
        self.post_json("/api/v1/hosts/reports", body).await
    }

    /// POST a report body and expect it stored.
    pub async fn report_ok(&self, body: &Value) -> ReportsAccepted {
        let resp = self.report(body).await;
        let status = resp.status();
        let text = resp.text().await.expect("body");
        assert_eq!(status, 200, "report refused: {text}");
        serde_json::from_str(&text).expect("a report reply")
    }

    /// Create a host; panics unless the server answers 201.
    pub async fn create_host(&self, body: Value) -> Host {
        let resp = self.post_json("/api/v1/hosts", &body).await;
        let status = resp.status();
        let text = resp.text().await.expect("body");
        assert_eq!(status, 201, "create failed: {text}");
        serde_json::from_str(&text).expect("a host")
    }

    pub async fn host(&self, id: &str) -> Host {
        let resp = self.get(&format!("/api/v1/hosts/{id}")).await;
        assert_eq!(resp.status(), 200);
        resp.json().await.expect("a host")
    }

    pub async fn host_status(&self, id: &str) -> String {
        self.host(id).await.status
    }

    pub async fn host_flips(&self, id: &str) -> Vec<HostFlip> {
        let resp = self.get(&format!("/api/v1/hosts/{id}/flips")).await;
        assert_eq!(resp.status(), 200);
        resp.json().await.expect("flips")
    }

    pub async fn events(&self, host: &str) -> Vec<Event> {
        let resp = self
            .get(&format!("/api/v1/events?host={host}&limit=1000"))
            .await;
        assert_eq!(resp.status(), 200);
        resp.json().await.expect("events")
    }

    pub async fn inbox(&self) -> Vec<UnmanagedHost> {
        let resp = self.get("/api/v1/hosts/inbox").await;
        assert_eq!(resp.status(), 200);
        resp.json().await.expect("inbox")
    }

    /// Alerts about one host.
    pub async fn host_alerts(&self, id: &str) -> Vec<heartbeats_wire::api::Alert> {
        let resp = self
            .get(&format!("/api/v1/alerts?host={id}&limit=1000"))
            .await;
        assert_eq!(resp.status(), 200);
        resp.json().await.expect("alerts")
    }
}

/// A 4xx with the field and code the API names.
pub async fn refused(resp: reqwest::Response) -> (u16, Option<String>, Option<String>) {
    let status = resp.status().as_u16();
    let body: heartbeats_wire::ErrorBody = resp.json().await.expect("an error body");
    (status, body.field, body.code)
}
