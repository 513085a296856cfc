//! Create and update bodies: healthchecks' fields, types and bounds, and what they
//! become as a service draft.
use super::*;

/// Fields `unique` may list.
const UNIQUE_FIELDS: [&str; 5] = ["name", "slug", "tags", "timeout", "grace"];

/// A create or update body, checked for healthchecks' types and bounds.
#[derive(Debug, Default)]
pub(super) struct Spec {
    name: Option<String>,
    slug: Option<String>,
    tags: Option<String>,
    desc: Option<String>,
    timeout: Option<i64>,
    grace: Option<i64>,
    schedule: Option<String>,
    tz: Option<String>,
    channels: Option<String>,
    unique: Vec<String>,
}

fn text(m: &Map<String, Value>, key: &str) -> Result<Option<String>, HcError> {
    match m.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(HcError::field(key, "is not a string")),
    }
}

fn seconds(m: &Map<String, Value>, key: &str) -> Result<Option<i64>, HcError> {
    match m.get(key) {
        None => Ok(None),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(s) if s < MIN_SECS => Err(HcError::field(key, "is too small")),
            Some(s) if s > MAX_SECS => Err(HcError::field(key, "is too large")),
            Some(s) => Ok(Some(s)),
            None => Err(HcError::field(key, "is not a number")),
        },
        Some(_) => Err(HcError::field(key, "is not a number")),
    }
}

impl Spec {
    pub(super) fn parse(m: &Map<String, Value>) -> Result<Self, HcError> {
        let spec = Spec {
            name: text(m, "name")?,
            slug: text(m, "slug")?,
            tags: text(m, "tags")?,
            desc: text(m, "desc")?,
            timeout: seconds(m, "timeout")?,
            grace: seconds(m, "grace")?,
            schedule: text(m, "schedule")?,
            tz: text(m, "tz")?,
            channels: text(m, "channels")?,
            unique: match m.get("unique") {
                None => Vec::new(),
                Some(Value::Array(items)) => {
                    let mut out = Vec::new();
                    for item in items {
                        match item.as_str() {
                            Some(f) if UNIQUE_FIELDS.contains(&f) => out.push(f.to_owned()),
                            _ => {
                                return Err(HcError::field(
                                    "an item in 'unique'",
                                    "has unexpected value",
                                ));
                            }
                        }
                    }
                    out
                }
                Some(_) => return Err(HcError::field("unique", "is not an array")),
            },
        };
        match m.get("manual_resume") {
            None | Some(Value::Bool(false)) => {}
            Some(Value::Bool(true)) => {
                return Err(HcError::field(
                    "manual_resume",
                    "is not supported: a paused Heartbeats service resumes when pinged",
                ));
            }
            Some(_) => return Err(HcError::field("manual_resume", "is not a boolean")),
        }
        match m.get("methods") {
            None => {}
            Some(Value::String(s)) if s.is_empty() => {}
            Some(Value::String(s)) if s == "POST" => {
                return Err(HcError::field(
                    "methods",
                    "\"POST\" is not supported: Heartbeats takes pings by HEAD, GET and POST",
                ));
            }
            Some(Value::String(_)) => {
                return Err(HcError::field("methods", "has unexpected value"));
            }
            Some(_) => return Err(HcError::field("methods", "is not a string")),
        }
        Ok(spec)
    }

    fn tag_list(&self) -> Option<Vec<String>> {
        self.tags
            .as_ref()
            .map(|t| t.split_whitespace().map(str::to_owned).collect())
    }

    /// The draft of this change; `channels` already resolved to ids.
    pub(super) fn draft(&self, channels: Option<Vec<String>>) -> ServiceDraft {
        let mut d = ServiceDraft {
            name: self.name.clone(),
            slug: self.slug.clone().filter(|s| !s.trim().is_empty()),
            tags: self.tag_list(),
            description: self.desc.clone(),
            grace: self.grace.map(Amount::Secs),
            timezone: self.tz.clone(),
            channels,
            ..ServiceDraft::default()
        };
        // A schedule makes a cron check and wins over a timeout, as in healthchecks.
        if let Some(cron) = &self.schedule {
            d.kind = Some(ScheduleKind::Cron.to_string());
            d.cron = Some(cron.clone());
        } else if let Some(t) = self.timeout {
            d.kind = Some(ScheduleKind::Interval.to_string());
            d.period = Some(Amount::Secs(t));
        }
        d
    }

    /// What `unique` asks to match on; `None` when a listed field was not given (then
    /// nothing matches and the check is created).
    pub(super) fn matcher(&self) -> Option<Match> {
        if self.unique.is_empty() {
            return None;
        }
        let mut m = Match::default();
        for f in &self.unique {
            match f.as_str() {
                "name" => m.name = Some(self.name.clone()?),
                "slug" => m.slug = Some(self.slug.clone()?),
                "tags" => m.tags = Some(Tags::parse(&self.tag_list()?).ok()?),
                "timeout" => m.period_secs = Some(self.timeout?),
                "grace" => m.grace_secs = Some(self.grace?),
                _ => {}
            }
        }
        Some(m)
    }
}

/// `channels`: `"*"` all, `""` none, else channel ids or names separated by commas.
pub(super) async fn resolve_channels(
    state: &AppState,
    spec: &Spec,
) -> Result<Option<Vec<String>>, HcError> {
    let Some(given) = spec.channels.as_deref() else {
        return Ok(None);
    };
    if given.is_empty() {
        return Ok(Some(Vec::new()));
    }
    let all = channels::list(&state.db).await?;
    if given == "*" {
        return Ok(Some(all.into_iter().map(|c| c.id).collect()));
    }
    let mut ids: Vec<String> = Vec::new();
    for s in given.split(',') {
        if s.is_empty() {
            return Err(HcError {
                field: Some("channels".into()),
                ..HcError::bad("empty channel identifier")
            });
        }
        let found: Vec<&str> = all
            .iter()
            .filter(|c| c.id == s || c.name == s)
            .map(|c| c.id.as_str())
            .collect();
        match found.as_slice() {
            [] => {
                return Err(HcError {
                    field: Some("channels".into()),
                    ..HcError::bad(format!("invalid channel identifier: {s}"))
                });
            }
            [id] => {
                if !ids.iter().any(|have| have == id) {
                    ids.push((*id).to_owned());
                }
            }
            _ => {
                return Err(HcError {
                    field: Some("channels".into()),
                    ..HcError::bad(format!("non-unique channel identifier: {s}"))
                });
            }
        }
    }
    Ok(Some(ids))
}

/// v1 and v2 derive the slug from a new name (when that slug is free).
pub(super) async fn slug_from_name(
    state: &AppState,
    v: u8,
    spec: &Spec,
    draft: &mut ServiceDraft,
    id: &str,
) -> Result<(), HcError> {
    if v >= 3 || draft.slug.is_some() {
        return Ok(());
    }
    let Some(name) = spec.name.as_deref().filter(|n| !n.trim().is_empty()) else {
        return Ok(());
    };
    let slug = slugify(name);
    if slug.is_empty() {
        return Ok(());
    }
    match services::by_slug(&state.db, &slug).await? {
        Some(other) if other.id != id => {}
        _ => draft.slug = Some(slug),
    }
    Ok(())
}
