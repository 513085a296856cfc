//! The one write push-agent presence makes: bring a host's offline deadline forward when
//! its agent's socket closes.
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::StoreResult;
use super::hosts::name_key;
use crate::clock::to_ms;
use crate::entity::hosts::{Column, Entity};

/// Sets the offline deadline of the host named `name` to `deadline` if it has one that is
/// later (compare-and-set in one statement: a deadline is only ever moved earlier, so a
/// report that set a nearer one, or a host already down, paused or never seen, is left as
/// it is). Bumps the row's version so a staleness run that read the row before loses its
/// own compare-and-set and looks again. `true` when the deadline moved.
#[tracing::instrument(level = "debug", skip(db))]
pub async fn offline_by<C: ConnectionTrait>(
    db: &C,
    name: &str,
    deadline: DateTime<Utc>,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let at = to_ms(deadline);
    let moved = Entity::update_many()
        .col_expr(Column::NextCheckAt, Expr::val(at))
        .col_expr(Column::Version, Expr::col(Column::Version).add(1))
        .col_expr(Column::UpdatedAt, Expr::val(to_ms(now)))
        .filter(Column::NameKey.eq(name_key(name)))
        .filter(Column::NextCheckAt.gt(at))
        .exec(db)
        .await?
        .rows_affected;
    Ok(moved > 0)
}
