//! What request handlers share: the database, the clock, the ping writer, the wake-up
//! signals for the jobs and the caches. Built once by [`crate::startup::Application`].
use std::sync::Arc;

use sea_orm::DatabaseConnection;
use tokio::sync::Notify;

use crate::app::App;
use crate::auth::Authenticator;
use crate::clock::SharedClock;
use crate::jobs::scheduler::Wakeup;
use crate::settings::Settings;
use crate::store::pings::PingWriter;

/// Shared by every request handler.
pub struct AppState {
    /// The use cases the API, UI and CLI share.
    pub app: App,
    pub db: DatabaseConnection,
    pub clock: SharedClock,
    pub settings: Arc<Settings>,
    pub auth: Arc<Authenticator>,
    pub writer: PingWriter,
    pub wake: Arc<Wakeup>,
    pub outbox_notify: Arc<Notify>,
    /// The web UI's in-memory state: test-mail limit, rendered-list cache.
    pub ui: crate::ui::UiState,
    /// What list searches learnt (name matches, counts), shared by the UI and the API.
    pub list_search: crate::store::service_list::SearchCache,
    /// Host values summed per minute, not yet written (the roll-up job writes them).
    pub rollups: Arc<crate::store::rollups::Rollups>,
}
