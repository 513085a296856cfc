use sea_orm::entity::prelude::*;

/// A period in which the services and hosts carrying one of `tags` (all when empty)
/// alert nobody. `repeat_kind` is `once` (`starts_at`..`ends_at`, Unix ms), `daily` or
/// `weekly` (on `days`, e.g. `sun,sat`), from `start_time` (`HH:MM`) for `duration_secs`,
/// in `timezone`. `applies_to`: `all`, `services` or `hosts`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "maintenance_windows")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub name: String,
    pub tags: String,
    pub applies_to: String,
    pub repeat_kind: String,
    pub starts_at: Option<i64>,
    pub ends_at: Option<i64>,
    pub days: Option<String>,
    pub start_time: Option<String>,
    pub duration_secs: Option<i64>,
    pub timezone: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
