//! Many services at once, in a few statements per few hundred: for imports and for the
//! million-service benchmark (`examples/scale_fill.rs`), where one transaction per
//! service would take an hour.
use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, EntityTrait, IntoActiveModel};

use super::services::{NewService, apply_tracking, begin_write, new_model};
use super::{StoreError, StoreResult, service_index};
use crate::domain::runs::slugify;
use crate::domain::status::Tracking;
use crate::domain::{FieldError, Problem};
use crate::entity::services::{Entity, Model};

/// Services per INSERT: well under every database's limit on parameters.
const ROWS_PER_INSERT: usize = 500;

/// Store these services, each with its tracking state (status, last ping, deadlines), in
/// one transaction. Names must be unique, as for [`super::services::create`].
#[tracing::instrument(skip_all, fields(n = items.len()))]
pub async fn import(
    db: &DatabaseConnection,
    items: Vec<(NewService, Tracking)>,
    now: DateTime<Utc>,
) -> StoreResult<Vec<Model>> {
    // Slugs as `create` makes them, kept apart within the import; a clash with a stored
    // service is refused like a name's.
    let mut slugs = std::collections::HashSet::new();
    let models: Vec<Model> = items
        .into_iter()
        .map(|(new, tracking)| {
            let given = new.slug.clone();
            let mut m = new_model(new, now);
            apply_tracking(&mut m, &tracking);
            let base = given.unwrap_or_else(|| {
                let mut s = slugify(&m.name);
                if s.is_empty() {
                    s = m.id.to_ascii_lowercase();
                }
                // Room for a `-NNN` suffix within the column's 100 characters.
                s.truncate(92);
                s.trim_end_matches('-').to_owned()
            });
            let mut slug = base.clone();
            let mut n = 2;
            while !slugs.insert(slug.clone()) {
                slug = format!("{base}-{n}");
                n += 1;
            }
            m.slug = slug;
            m
        })
        .collect();
    let txn = begin_write(db).await?;
    for chunk in models.chunks(ROWS_PER_INSERT) {
        Entity::insert_many(chunk.iter().cloned().map(|m| m.into_active_model()))
            .exec_without_returning(&txn)
            .await
            .map_err(|e| {
                // Which name clashed, the database does not say; the chunk's first is a hint.
                let name = chunk.first().map(|m| m.name.clone()).unwrap_or_default();
                StoreError::unique(
                    e,
                    FieldError::new("name", Problem::ServiceNameTaken { name }),
                )
            })?;
    }
    service_index::sync_many(&txn, &models).await?;
    service_index::catalog_changed(&txn).await?;
    txn.commit().await?;
    service_index::touched();
    Ok(models)
}
