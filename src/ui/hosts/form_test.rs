//! The host form's parsing and its translation into a draft.
use super::*;
use crate::domain::host::HostDefaults;

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn a_posted_form_becomes_a_draft() {
    let f = HostForm::from_pairs(&pairs(&[
        ("name", "gpu-01"),
        ("interval", "30"),
        ("cpu_pct", "80"),
        ("cpu_pct_for", "10"),
        ("cpu_pct_unit", "min"),
        ("mem_pct", ""),
        ("gpu_temp_c", "85,5"),
        ("gpu_temp_c_for", ""),
        ("gpu_temp_c_unit", "min"),
        ("mount", "/data"),
        ("mount_limit", "95"),
        ("mount_for", "0"),
        ("mount_unit", "min"),
        ("mount", ""),
        ("mount_limit", ""),
        ("mount_for", ""),
        ("mount_unit", "min"),
        ("proc", "nginx"),
        ("proc_match", "substring"),
        ("proc_min", "2"),
        ("proc", ""),
        ("proc_match", "regex"),
        ("proc_min", "1"),
        ("units", "nginx.service, docker.service\nssh.service"),
    ]));
    assert_eq!(f.mounts.len(), 1);
    assert_eq!(f.procs.len(), 1);
    let (draft, refused) = f.draft();
    assert!(refused.is_empty(), "{refused:?}");
    let new = draft.validate_new(&HostDefaults::default()).unwrap();
    assert_eq!(new.interval_secs, 30);
    assert_eq!(new.checks.cpu_pct, Some(Threshold::new(80.0, 600)));
    assert_eq!(new.checks.mem_pct, None);
    // No window typed: the kind's default.
    assert_eq!(new.checks.gpu_temp_c, Some(Threshold::new(85.5, 300)));
    assert_eq!(
        new.checks.disk_mounts,
        [("/data".into(), Threshold::new(95.0, 0))]
    );
    assert_eq!(new.checks.processes[0].min, 2);
    assert_eq!(
        new.checks.units,
        ["nginx.service", "docker.service", "ssh.service"]
    );
}

#[test]
fn what_cannot_be_read_is_refused_at_its_field() {
    let f = HostForm::from_pairs(&pairs(&[
        ("name", "a"),
        ("interval", "soon"),
        ("ssh_port", "x"),
        ("cpu_pct", "lots"),
        ("mount", "/data"),
        ("mount_limit", ""),
    ]));
    let fields: Vec<&str> = f.draft().1.iter().map(|e| e.field).collect();
    assert_eq!(
        fields,
        [
            "interval",
            "ssh.port",
            "checks.cpu_pct",
            "checks.disk_mounts"
        ]
    );
    assert_eq!(anchor("checks.cpu_pct"), "cpu_pct");
    assert_eq!(anchor("ssh.port"), "ssh_port");
}

#[test]
fn a_saved_host_reads_back_into_the_form() {
    let mut c = Checks::builtin();
    c.disk_mounts
        .push(("/data".into(), Threshold::new(95.0, 3600)));
    let f = HostForm::with_checks(60, &c);
    assert_eq!(f.thresholds[0].limit, "90");
    assert_eq!(f.thresholds[0].window, Window::of(300));
    assert_eq!(f.thresholds[0].window.unit, "min");
    assert_eq!(f.mounts[0].threshold.window.unit, "h");
    assert_eq!(f.thresholds[2].limit, "");
}
