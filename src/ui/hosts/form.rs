//! The host form as typed: every field a string (so a refused value is shown back as it
//! was), thresholds with their `for` windows, repeated rows for per-mount thresholds and
//! required processes, and its translation into an `app::hosts::HostDraft`. What cannot
//! even be read (a limit that is not a number) is refused here with the field the use
//! case would name; everything else is the use case's to judge.
use heartbeats_wire::hosts::UnitReport;

use crate::app::hosts::{ChecksDraft, HostDraft, SshDraft, ThresholdDraft};
use crate::domain::host::{Checks, RequiredProcess, Threshold, ThresholdKind};
use crate::domain::{FieldError, Problem, Tags, notify_from_column};
use crate::entity::hosts::Model;
use crate::store::hosts::{checks_of, ssh_of};
use crate::ui::channels::ChannelInputs;

/// The thresholds the form shows, in order: input name, the use case's field, kind.
pub const THRESHOLDS: [(&str, &str, ThresholdKind); 8] = [
    ("cpu_pct", "checks.cpu_pct", ThresholdKind::Cpu),
    ("mem_pct", "checks.mem_pct", ThresholdKind::Mem),
    ("swap_pct", "checks.swap_pct", ThresholdKind::Swap),
    ("disk_pct", "checks.disk_pct", ThresholdKind::Disk),
    (
        "gpu_util_pct",
        "checks.gpu_util_pct",
        ThresholdKind::GpuUtil,
    ),
    ("gpu_mem_pct", "checks.gpu_mem_pct", ThresholdKind::GpuMem),
    ("gpu_temp_c", "checks.gpu_temp_c", ThresholdKind::GpuTemp),
    ("load_per_core", "checks.load_per_core", ThresholdKind::Load),
];

/// Blank rows the form offers for new per-mount thresholds and required processes (more
/// after saving; no script needed).
pub const BLANK_ROWS: usize = 2;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Window {
    pub value: String,
    /// `s`, `min` or `h`.
    pub unit: String,
}

impl Window {
    fn of(secs: i64) -> Self {
        let (value, unit) = if secs > 0 && secs % 3600 == 0 {
            (secs / 3600, "h")
        } else if secs % 60 == 0 {
            (secs / 60, "min")
        } else {
            (secs, "s")
        };
        Self {
            value: value.to_string(),
            unit: unit.into(),
        }
    }

    /// Seconds; `Ok(None)` when left empty (the kind's default window).
    fn secs(&self) -> Result<Option<i64>, Problem> {
        let v = self.value.trim();
        if v.is_empty() {
            return Ok(None);
        }
        let n: i64 = v.parse().map_err(|_| Problem::NotANumber)?;
        let per = match self.unit.as_str() {
            "h" => 3600,
            "min" => 60,
            _ => 1,
        };
        Ok(Some(n.saturating_mul(per)))
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ThresholdInput {
    /// Empty: not checked.
    pub limit: String,
    pub window: Window,
}

impl ThresholdInput {
    fn of(t: Option<Threshold>) -> Self {
        match t {
            Some(t) => Self {
                limit: number(t.limit),
                window: Window::of(t.for_secs),
            },
            None => Self {
                limit: String::new(),
                window: Window {
                    value: String::new(),
                    unit: "min".into(),
                },
            },
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct MountRow {
    pub mount: String,
    pub threshold: ThresholdInput,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProcRow {
    pub pattern: String,
    pub regex: bool,
    pub min: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct HostForm {
    pub csrf: String,
    pub name: String,
    pub address: String,
    pub interval: String,
    pub description: String,
    pub tags: String,
    pub notify: String,
    pub ssh_user: String,
    pub ssh_port: String,
    pub ssh_key: String,
    /// In the order of [`THRESHOLDS`].
    pub thresholds: Vec<ThresholdInput>,
    pub mounts: Vec<MountRow>,
    pub procs: Vec<ProcRow>,
    /// Watched systemd units, separated by commas, spaces or lines (when units are
    /// offered as checkboxes: the ones not among them).
    pub units: String,
    /// Watched units ticked among the offered ones (`unit`, repeated).
    pub picked: Vec<String>,
    /// The units offered as checkboxes: the host's discovered units and the units already
    /// watched (see [`HostForm::offer_units`]); empty: only the text field.
    pub choices: Vec<UnitChoice>,
    /// The `hb-agent watch` instance that collects the host; empty: the default one.
    pub collector: String,
    /// The channel checkboxes and the reminder inputs.
    pub ch: ChannelInputs,
}

/// A unit offered as a checkbox.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UnitChoice {
    pub name: String,
    /// `active (running) · enabled`, as the last discovery found it; empty when the last
    /// discovery did not find it (it is offered because it is watched).
    pub state: String,
    pub discovered: bool,
    pub checked: bool,
}

/// A discovered unit's states in a few words: `active (running) · enabled`.
fn unit_state(u: &UnitReport) -> String {
    let mut s = u.active_state.clone();
    if let Some(sub) = u.sub_state.as_deref().filter(|s| !s.is_empty()) {
        s.push_str(&format!(" ({sub})"));
    }
    if let Some(file) = u.unit_file_state.as_deref().filter(|s| !s.is_empty()) {
        s.push_str(&format!(" · {file}"));
    }
    s
}

/// Unit names as typed: separated by commas, spaces or lines.
fn split_units(s: &str) -> Vec<String> {
    s.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|u| !u.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `90`, `2.5`: a limit as typed.
fn number(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        v.to_string()
    }
}

fn threshold_of(c: &Checks, kind: ThresholdKind) -> Option<Threshold> {
    match kind {
        ThresholdKind::Cpu => c.cpu_pct,
        ThresholdKind::Mem => c.mem_pct,
        ThresholdKind::Swap => c.swap_pct,
        ThresholdKind::Disk => c.disk_pct,
        ThresholdKind::GpuUtil => c.gpu_util_pct,
        ThresholdKind::GpuMem => c.gpu_mem_pct,
        ThresholdKind::GpuTemp => c.gpu_temp_c,
        ThresholdKind::Load => c.load_per_core,
    }
}

impl HostForm {
    /// A new host's form: the defaults' interval and checks.
    pub fn with_checks(interval_secs: i64, c: &Checks) -> Self {
        Self {
            interval: interval_secs.to_string(),
            thresholds: THRESHOLDS
                .iter()
                .map(|(_, _, kind)| ThresholdInput::of(threshold_of(c, *kind)))
                .collect(),
            mounts: c
                .disk_mounts
                .iter()
                .map(|(mount, t)| MountRow {
                    mount: mount.clone(),
                    threshold: ThresholdInput::of(Some(*t)),
                })
                .collect(),
            procs: c
                .processes
                .iter()
                .map(|p| ProcRow {
                    pattern: p.pattern.clone(),
                    regex: p.regex,
                    min: p.min.to_string(),
                })
                .collect(),
            units: c.units.join(", "),
            ..Default::default()
        }
    }

    pub fn from_model(m: &Model) -> Self {
        let ssh = ssh_of(m);
        Self {
            name: m.name.clone(),
            address: m.address.clone().unwrap_or_default(),
            description: m.description.clone().unwrap_or_default(),
            tags: Tags::from_column(&m.tags).as_slice().join(", "),
            notify: notify_from_column(&m.notify).join(", "),
            ssh_user: ssh.user.unwrap_or_default(),
            ssh_port: ssh.port.map(|p| p.to_string()).unwrap_or_default(),
            ssh_key: ssh.key.unwrap_or_default(),
            collector: m.collector.clone().unwrap_or_default(),
            ch: ChannelInputs::of(&m.channels, m.remind_every_secs, m.remind_max),
            ..Self::with_checks(m.interval_secs, &checks_of(m))
        }
    }

    /// Offer the host's discovered units as checkboxes, with the units already watched
    /// (`stored`, and those ticked in a posted form) even when the discovery did not find
    /// them; a unit typed in the text field that is offered becomes ticked. Without a
    /// discovered unit, the text field holds every unit.
    pub fn offer_units(mut self, discovered: &[UnitReport], stored: &[String]) -> Self {
        let mut typed = split_units(&self.units);
        if discovered.is_empty() {
            let mut all = std::mem::take(&mut self.picked);
            all.retain(|u| !typed.contains(u));
            all.append(&mut typed);
            self.units = all.join(", ");
            self.choices.clear();
            return self;
        }
        let mut found: Vec<&UnitReport> = discovered.iter().collect();
        found.sort_by(|a, b| a.name.cmp(&b.name));
        found.dedup_by(|a, b| a.name == b.name);
        let mut choices: Vec<UnitChoice> = found
            .into_iter()
            .map(|u| UnitChoice {
                name: u.name.clone(),
                state: unit_state(u),
                discovered: true,
                checked: false,
            })
            .collect();
        for name in stored.iter().chain(&self.picked) {
            if !choices.iter().any(|c| &c.name == name) {
                choices.push(UnitChoice {
                    name: name.clone(),
                    ..Default::default()
                });
            }
        }
        typed.retain(|u| {
            let offered = choices.iter().any(|c| &c.name == u);
            if offered && !self.picked.contains(u) {
                self.picked.push(u.clone());
            }
            !offered
        });
        for c in &mut choices {
            c.checked = self.picked.contains(&c.name);
        }
        self.choices = choices;
        self.units = typed.join(", ");
        self
    }

    /// The form as posted (`application/x-www-form-urlencoded` pairs, rows repeated).
    pub fn from_pairs(pairs: &[(String, String)]) -> Self {
        let mut f = Self {
            thresholds: vec![ThresholdInput::default(); THRESHOLDS.len()],
            ..Default::default()
        };
        let all = |name: &str| -> Vec<&str> {
            pairs
                .iter()
                .filter(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
                .collect()
        };
        let one = |name: &str| {
            all(name)
                .first()
                .map(|s| (*s).to_owned())
                .unwrap_or_default()
        };
        f.csrf = one("csrf");
        f.name = one("name");
        f.address = one("address");
        f.interval = one("interval");
        // Browsers send a textarea's lines with CRLF; a CR alone is refused as a control
        // character.
        f.description = one("description").replace("\r\n", "\n");
        f.tags = one("tags");
        f.notify = one("notify");
        f.ssh_user = one("ssh_user");
        f.ssh_port = one("ssh_port");
        f.ssh_key = one("ssh_key");
        f.units = one("units").replace("\r\n", "\n");
        f.picked = all("unit").into_iter().map(str::to_owned).collect();
        f.collector = one("collector");
        f.ch = ChannelInputs::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        for (i, (name, _, _)) in THRESHOLDS.iter().enumerate() {
            f.thresholds[i] = ThresholdInput {
                limit: one(name),
                window: Window {
                    value: one(&format!("{name}_for")),
                    unit: one(&format!("{name}_unit")),
                },
            };
        }
        let (mounts, limits, fors, units) = (
            all("mount"),
            all("mount_limit"),
            all("mount_for"),
            all("mount_unit"),
        );
        let at = |v: &[&str], i: usize| v.get(i).map(|s| (*s).to_owned()).unwrap_or_default();
        for i in 0..mounts.len().max(limits.len()) {
            let row = MountRow {
                mount: at(&mounts, i),
                threshold: ThresholdInput {
                    limit: at(&limits, i),
                    window: Window {
                        value: at(&fors, i),
                        unit: at(&units, i),
                    },
                },
            };
            if !row.mount.trim().is_empty() || !row.threshold.limit.trim().is_empty() {
                f.mounts.push(row);
            }
        }
        let (patterns, matches, mins) = (all("proc"), all("proc_match"), all("proc_min"));
        for (i, pattern) in patterns.iter().enumerate() {
            if pattern.trim().is_empty() {
                continue;
            }
            f.procs.push(ProcRow {
                pattern: (*pattern).to_owned(),
                regex: matches.get(i).is_some_and(|m| *m == "regex"),
                min: at(&mins, i),
            });
        }
        f
    }

    /// With blank rows to add a mount or a process.
    pub fn with_blank_rows(mut self) -> Self {
        for _ in 0..BLANK_ROWS {
            self.mounts.push(MountRow {
                threshold: ThresholdInput::of(None),
                ..Default::default()
            });
            self.procs.push(ProcRow {
                min: "1".into(),
                ..Default::default()
            });
        }
        self
    }

    /// The draft for the use cases (every field given: an edit replaces the whole host),
    /// and what could not be read at all.
    pub fn draft(&self) -> (HostDraft, Vec<FieldError>) {
        let mut refused = Vec::new();
        let interval = match self.interval.trim() {
            "" => None,
            v => match v.parse::<i64>() {
                Ok(n) => Some(n),
                Err(_) => {
                    refused.push(FieldError::new("interval", Problem::NotANumber));
                    None
                }
            },
        };
        let port = match self.ssh_port.trim() {
            "" => None,
            v => match v.parse::<i64>() {
                Ok(n) => Some(n),
                Err(_) => {
                    refused.push(FieldError::new("ssh.port", Problem::NotANumber));
                    None
                }
            },
        };
        let mut checks = ChecksDraft::default();
        for ((_, field, kind), input) in THRESHOLDS.iter().zip(&self.thresholds) {
            let slot = match threshold_draft(field, *kind, input) {
                Ok(t) => Some(t),
                Err(e) => {
                    refused.push(e);
                    None
                }
            };
            let target = match kind {
                ThresholdKind::Cpu => &mut checks.cpu_pct,
                ThresholdKind::Mem => &mut checks.mem_pct,
                ThresholdKind::Swap => &mut checks.swap_pct,
                ThresholdKind::Disk => &mut checks.disk_pct,
                ThresholdKind::GpuUtil => &mut checks.gpu_util_pct,
                ThresholdKind::GpuMem => &mut checks.gpu_mem_pct,
                ThresholdKind::GpuTemp => &mut checks.gpu_temp_c,
                ThresholdKind::Load => &mut checks.load_per_core,
            };
            *target = slot;
        }
        let mut mounts = Vec::new();
        for row in &self.mounts {
            let field = "checks.disk_mounts";
            if row.threshold.limit.trim().is_empty() {
                refused.push(FieldError::new(field, Problem::Required));
                continue;
            }
            match threshold_draft(field, ThresholdKind::Disk, &row.threshold) {
                Ok(Some(t)) => mounts.push((row.mount.clone(), t)),
                Ok(None) => {}
                Err(e) => refused.push(e),
            }
        }
        checks.disk_mounts = Some(mounts);
        let mut procs = Vec::new();
        for p in &self.procs {
            let min = match p.min.trim() {
                "" => 1,
                v => match v.parse::<u32>() {
                    Ok(n) => n,
                    Err(_) => {
                        refused.push(FieldError::new("checks.processes", Problem::NotANumber));
                        continue;
                    }
                },
            };
            procs.push(RequiredProcess {
                pattern: p.pattern.clone(),
                regex: p.regex,
                min,
            });
        }
        checks.processes = Some(procs);
        // Ticked units first, in the order offered; then the ones typed.
        let mut units = self.picked.clone();
        units.extend(split_units(&self.units));
        checks.units = Some(units);
        let (channels, remind_every, remind_max) = self.ch.draft();
        let draft = HostDraft {
            name: Some(self.name.clone()),
            address: Some(Some(self.address.clone())),
            description: Some(Some(self.description.clone())),
            interval,
            tags: Some(vec![self.tags.clone()]),
            notify: Some(vec![self.notify.clone()]),
            ssh: Some(SshDraft {
                user: Some(self.ssh_user.clone()),
                port,
                key: Some(self.ssh_key.clone()),
            }),
            checks: Some(checks),
            collector: Some(Some(self.collector.clone())),
            channels,
            remind_every,
            remind_max,
        };
        (draft, refused)
    }
}

/// One threshold as typed: empty turns it off; a limit or window that is not a number is
/// refused at the threshold's field.
fn threshold_draft(
    field: &'static str,
    kind: ThresholdKind,
    input: &ThresholdInput,
) -> Result<Option<ThresholdDraft>, FieldError> {
    let limit = input.limit.trim();
    if limit.is_empty() {
        return Ok(None);
    }
    let limit: f64 = limit.replace(',', ".").parse().map_err(|_| {
        FieldError::new(
            field,
            Problem::NumberRange {
                min: 0,
                max: kind.max_limit(),
            },
        )
    })?;
    let for_secs = input.window.secs().map_err(|p| FieldError::new(field, p))?;
    Ok(Some(ThresholdDraft { limit, for_secs }))
}

/// The input a field's error summary entry links to.
pub fn anchor(field: &str) -> String {
    match field {
        "checks.disk_mounts" => "mount-0".into(),
        "checks.processes" => "proc-0".into(),
        other => other.trim_start_matches("checks.").replace('.', "_"),
    }
}

/// The order the form shows its fields in, for the error summary.
pub fn field_rank(field: &str) -> usize {
    const ORDER: [&str; 22] = [
        "name",
        "address",
        "interval",
        "description",
        "tags",
        "notify",
        "checks.cpu_pct",
        "checks.mem_pct",
        "checks.swap_pct",
        "checks.disk_pct",
        "checks.gpu_util_pct",
        "checks.gpu_mem_pct",
        "checks.gpu_temp_c",
        "checks.load_per_core",
        "checks.disk_mounts",
        "checks.processes",
        "checks.units",
        "ssh.user",
        "ssh.port",
        "ssh.key",
        "collector",
        "report",
    ];
    ORDER
        .iter()
        .position(|f| *f == field)
        .unwrap_or(ORDER.len())
}

#[cfg(test)]
#[path = "form_test.rs"]
mod tests;
