//! Parsing captured outputs. `debian12-vm.txt` is a real run of collect.sh (ps list
//! trimmed, section markers brought to version 2); the others are written in the exact
//! formats of GNU df, busybox df/ps, nvidia-smi's `--format=csv,noheader,nounits` and
//! systemctl's `show` / `list-units --plain` / `list-unit-files`, for hosts this
//! machine is not.

use super::parse::parse_gpus;
use super::*;

const STEP: Duration = Duration::from_secs(9);

fn sample(name: &str) -> Sample {
    let text = match name {
        "debian12-vm" => include_str!("samples/debian12-vm.txt"),
        "gpu-server" => include_str!("samples/gpu-server.txt"),
        "busybox" => include_str!("samples/busybox.txt"),
        "nvidia-failed" => include_str!("samples/nvidia-failed.txt"),
        "systemd-units" => include_str!("samples/systemd-units.txt"),
        _ => unreachable!(),
    };
    parse(text, STEP).unwrap()
}

#[test]
fn debian_vm_capture() {
    let s = sample("debian12-vm");
    assert_eq!(s.cpu.cores, 2);
    // Δtotal = 40 + 1 = 41 ticks, Δidle = 0.
    assert_eq!(s.cpu.percent, 100.0);
    assert_eq!((s.cpu.load1, s.cpu.load5, s.cpu.load15), (2.10, 2.95, 1.80));
    assert_eq!(s.memory.total_bytes, 24_684_096 * 1024);
    assert_eq!(s.memory.used_bytes, (24_684_096 - 23_483_776) * 1024);
    assert_eq!(s.memory.percent, 4.9);
    assert_eq!(s.swap.total_bytes, 0);
    assert_eq!(s.swap.percent, 0.0);
    // devtmpfs, tmpfs and the sandbox's tmpfs are skipped; only the real disk stays.
    assert_eq!(s.disk_list().len(), 1);
    let root = &s.disk_list()[0];
    assert_eq!(root.mount, "/");
    assert_eq!(root.fstype.as_deref(), Some("ext4"));
    assert_eq!(root.total_bytes, 270_553_174_016);
    assert_eq!(root.percent, 15.3);
    assert_eq!(s.gpus, Gpus::Absent);
    assert_eq!(s.gpu_processes, None);
    // The script's own sh and its ps are not reported as host processes.
    let ps = s.process_list();
    assert!(ps.iter().all(|p| !p.command.contains("hb-agent")));
    assert!(ps.iter().all(|p| !p.command.starts_with("ps -eo")));
    assert!(ps.iter().any(|p| p.command == "bash /dev/fd/3"));
    assert_eq!((&s.units, &s.discovered_units), (&None, &None));
    assert!(s.failures.is_empty(), "{:?}", s.failures);
}

#[test]
fn gpu_server_capture() {
    let s = sample("gpu-server");
    assert_eq!(s.cpu.cores, 64);
    // busy = 12000 + 500 + 100 = 12600, idle = 500 → 12600 / 13100.
    assert_eq!(s.cpu.percent, 96.2);
    assert_eq!(s.memory.percent, 92.0);
    assert_eq!(s.swap.percent, 75.0);
    let mounts: Vec<&str> = s.disk_list().iter().map(|d| d.mount.as_str()).collect();
    // squashfs, tmpfs and docker's overlay are skipped; /data's bind mount is folded;
    // a mount point with a space survives.
    assert_eq!(mounts, ["/", "/boot/efi", "/data", "/mnt/scratch disk"]);
    assert_eq!(s.disk_list()[0].percent, 93.0);
    let Gpus::Present(gpus) = &s.gpus else {
        panic!("{:?}", s.gpus)
    };
    assert_eq!(gpus.len(), 3);
    assert_eq!(gpus[0].name, "NVIDIA A100-SXM4-80GB");
    assert_eq!(gpus[0].utilisation_percent, Some(99.0));
    assert_eq!(gpus[0].memory_percent, Some(94.0));
    assert_eq!(gpus[0].temperature_c, Some(71.0));
    assert_eq!(gpus[0].power_w, Some(387.42));
    assert_eq!(
        gpus[1].uuid.as_deref(),
        Some("GPU-0b9e4d21-7a65-4c3f-8e2d-91f0a6b3c4d5")
    );
    assert_eq!(gpus[2].utilisation_percent, None);
    assert_eq!(gpus[2].temperature_c, None);
    assert_eq!(gpus[2].power_w, None);
    assert_eq!(gpus[2].memory_used_mib, Some(1024));
    let apps = s.gpu_processes.as_ref().unwrap();
    let summary: Vec<(Option<u32>, u32, &str, Option<u64>)> = apps
        .iter()
        .map(|p| (p.gpu, p.pid, p.name.as_str(), p.memory_used_mib))
        .collect();
    assert_eq!(
        summary,
        [
            (Some(0), 401122, "/usr/bin/python3", Some(74000)),
            (Some(0), 401123, "/usr/bin/python3", Some(2990)),
            (Some(2), 500777, "/opt/tools/bench, the GPU one", None),
        ]
    );
    assert!(s.failures.is_empty(), "{:?}", s.failures);
    let top = s.top_by_cpu(2);
    assert_eq!(top[0].pid, 401122);
    assert_eq!(top[0].cpu_percent, Some(1530.2));
    assert_eq!(
        s.top_by_memory(1)[0].command,
        "/usr/bin/redis-server *:6379"
    );
    assert_eq!(
        s.process_list().len(),
        8,
        "the collection's sh and ps are excluded"
    );
}

#[test]
fn busybox_capture() {
    let s = sample("busybox");
    // No MemAvailable: free + buffers + cached.
    assert_eq!(
        s.memory.available_bytes,
        (212_340 + 40_960 + 307_200) * 1024
    );
    let root = &s.disk_list()[0];
    assert_eq!((root.mount.as_str(), root.fstype.as_deref()), ("/", None));
    assert_eq!(root.total_bytes, 7_342_956 * 1024);
    assert_eq!(root.percent, 98.3);
    assert_eq!(
        s.disk_list().len(),
        2,
        "tmpfs is skipped by name without -T"
    );
    let commands: Vec<&str> = s
        .process_list()
        .iter()
        .map(|p| p.command.as_str())
        .collect();
    assert_eq!(
        commands,
        [
            "init",
            "/usr/sbin/dropbear -R",
            "python3 /opt/sensor/collect.py"
        ]
    );
    assert_eq!(s.process_list()[0].cpu_percent, None);
}

#[test]
fn failing_nvidia_smi_is_reported_with_its_message() {
    let s = sample("nvidia-failed");
    let Gpus::Failed(msg) = &s.gpus else {
        panic!("{:?}", s.gpus)
    };
    assert!(
        msg.starts_with("NVIDIA-SMI has failed because it couldn't communicate"),
        "{msg}"
    );
    assert!(msg.ends_with("(exit 9)"), "{msg}");
    assert_eq!(s.cpu.percent, 0.0);
}

#[test]
fn timed_out_nvidia_smi() {
    let gpus = parse_gpus("124", &[], STEP);
    assert_eq!(gpus, Gpus::Failed("timed out after 9 s".into()));
}

#[test]
fn garbage_from_nvidia_smi_is_a_failure_not_a_panic() {
    let gpus = parse_gpus("0", &["No devices were found"], STEP);
    assert!(matches!(gpus, Gpus::Failed(m) if m.contains("unexpected output")));
}

#[test]
fn truncated_output_is_an_error() {
    let text = include_str!("samples/gpu-server.txt").replace("@@hb end", "");
    assert!(parse(&text, STEP).unwrap_err().contains("incomplete"));
    let not_linux = "@@hb version 1\n@@hb stat\n@@hb meminfo\nMemTotal: 1 kB\n@@hb end\n";
    assert!(parse(not_linux, STEP).unwrap_err().contains("/proc/stat"));
}

#[test]
fn step_limit_leaves_room_for_the_rest() {
    // Four tools that all hang (6 s + 1 s to SIGKILL each) and the 1 s sample: 29 s.
    assert_eq!(
        step_limit(Duration::from_secs(30), Duration::from_secs(1)),
        Duration::from_secs(6)
    );
    assert_eq!(
        step_limit(Duration::from_secs(1), Duration::from_secs(3)),
        Duration::from_secs(1)
    );
}

/// `sample` with one section (marker line and body) replaced.
fn with_section(name: &str, marker: &str, body: &str) -> String {
    let text = include_str!("samples/gpu-server.txt");
    let start = text.find(&format!("@@hb {name} ")).unwrap();
    let end = start + text[start..].find("\n@@hb ").unwrap() + 1;
    format!("{}{marker}\n{body}{}", &text[..start], &text[end..])
}

#[test]
fn hung_or_failing_df_is_a_failure_not_a_healthy_host() {
    let s = parse(&with_section("df", "@@hb df bytes 124", ""), STEP).unwrap();
    assert_eq!(s.disks, None);
    assert_eq!(s.failures, ["disk check failed: df timed out after 9 s"]);
    // busybox df without -T, then -Pk failing as well: no header at all.
    let s = parse(
        &with_section(
            "df",
            "@@hb df kib 1",
            "df: /proc/mounts: No such file or directory\n",
        ),
        STEP,
    )
    .unwrap();
    assert_eq!(s.disks, None);
    assert_eq!(
        s.failures,
        ["disk check failed: df failed: df: /proc/mounts: No such file or directory (exit 1)"]
    );
    let s = parse(&with_section("df", "@@hb df absent", ""), STEP).unwrap();
    assert_eq!(s.failures, ["disk check could not run: df not found"]);
}

#[test]
fn a_stale_mount_is_said_and_the_other_disks_still_count() {
    let body = "Filesystem     Type    1-blocks      Used  Available Capacity Mounted on\n\
                /dev/sda1      ext4 100000000000 93000000000 7000000000     93% /\n\
                df: /mnt/nfs: Stale file handle\n\
                df: /run/user/1000/doc: Permission denied\n";
    let s = parse(&with_section("df", "@@hb df bytes 1", body), STEP).unwrap();
    assert_eq!(s.disk_list().len(), 1);
    assert_eq!(s.disk_list()[0].percent, 93.0);
    assert_eq!(
        s.failures,
        ["disk check failed: df failed: df: /mnt/nfs: Stale file handle"]
    );
    // Only mounts this user may not read: nothing to report.
    let benign = body.replace("df: /mnt/nfs: Stale file handle\n", "");
    let s = parse(&with_section("df", "@@hb df bytes 1", &benign), STEP).unwrap();
    assert!(s.failures.is_empty(), "{:?}", s.failures);
}

#[test]
fn no_ps_means_the_process_check_could_not_run() {
    for marker in ["@@hb ps absent", "@@hb ps full 127"] {
        let s = parse(&with_section("ps", marker, "sh: ps: not found\n"), STEP).unwrap();
        assert_eq!(s.processes, None, "{marker}");
        assert_eq!(s.failures, ["process check could not run: ps not found"]);
        assert!(s.top_by_cpu(5).is_empty());
    }
    let s = parse(&with_section("ps", "@@hb ps full 124", ""), STEP).unwrap();
    assert_eq!(s.failures, ["process check failed: ps timed out after 9 s"]);
    let s = parse(
        &with_section("ps", "@@hb ps basic 1", "ps: invalid option -- 'o'\n"),
        STEP,
    )
    .unwrap();
    assert_eq!(
        s.failures,
        ["process check failed: ps failed: ps: invalid option -- 'o' (exit 1)"]
    );
}

#[test]
fn failing_gpu_process_query() {
    let s = parse(&with_section("gpuapps", "@@hb gpuapps 124", ""), STEP).unwrap();
    assert_eq!(s.gpu_processes, None);
    assert!(matches!(s.gpus, Gpus::Present(_)));
    assert_eq!(
        s.failures,
        ["gpu process check failed: nvidia-smi timed out after 9 s"]
    );
}

#[test]
fn systemd_units_capture() {
    let s = sample("systemd-units");
    let units = s.units.as_ref().unwrap();
    let states: Vec<(&str, &str, bool, bool)> = units
        .iter()
        .map(|u| {
            (
                u.name.as_str(),
                u.active_state.as_str(),
                u.is_active(),
                u.not_found(),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            ("nginx.service", "active", true, false),
            ("redis-server.service", "failed", false, false),
            ("nope.service", "inactive", false, true),
        ]
    );
    assert_eq!(units[0].unit_file_state.as_deref(), Some("enabled"));
    assert_eq!(units[2].unit_file_state, None);
    // Named as asked: systemctl resolves `nginx` (or an alias) to its own Id.
    let asked = ["nginx".to_owned(), "redis".to_owned(), "nope".to_owned()];
    let s = parse_request(
        include_str!("samples/systemd-units.txt"),
        &Request {
            step: STEP,
            units: &asked,
        },
    )
    .unwrap();
    let names: Vec<&str> = s
        .units
        .as_ref()
        .unwrap()
        .iter()
        .map(|u| u.name.as_str())
        .collect();
    assert_eq!(names, ["nginx", "redis", "nope"]);
    let discovered = s.discovered_units.as_ref().unwrap();
    let listed: Vec<(&str, &str, Option<&str>)> = discovered
        .iter()
        .map(|u| {
            (
                u.name.as_str(),
                u.active_state.as_str(),
                u.unit_file_state.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            ("cron.service", "inactive", Some("enabled")),
            ("docker.service", "inactive", Some("enabled")),
            ("nginx.service", "active", Some("enabled")),
            ("redis-server.service", "failed", Some("enabled")),
            ("ssh.service", "active", None),
            ("systemd-journald.service", "active", None),
        ]
    );
    assert!(s.failures.is_empty(), "{:?}", s.failures);
}

#[test]
fn systemctl_missing_or_without_systemd() {
    let text = include_str!("samples/systemd-units.txt");
    let cut = |s: &str| {
        let i = text.find("@@hb units").unwrap();
        format!("{}{s}@@hb end\n", &text[..i])
    };
    let s = parse(&cut("@@hb units absent\n@@hb loaded absent\n"), STEP).unwrap();
    assert_eq!(s.units, None);
    assert_eq!(
        s.discovered_units,
        Some(Vec::new()),
        "nothing to offer, nothing wrong"
    );
    assert_eq!(
        s.failures,
        ["units check could not run: systemctl not found"]
    );
    let not_booted = "System has not been booted with systemd as init system (PID 1). Can't operate.\nFailed to connect to bus: Host is down\n";
    let s = parse(
        &cut(&format!(
            "@@hb units 1\n{not_booted}@@hb loaded 1\n{not_booted}"
        )),
        STEP,
    )
    .unwrap();
    assert_eq!(s.discovered_units, Some(Vec::new()));
    assert_eq!(
        s.failures,
        [
            "units check failed: systemctl failed: System has not been booted with systemd as init system (PID 1). Can't operate. (exit 1)"
        ]
    );
    let s = parse(&cut("@@hb loaded 124\n"), STEP).unwrap();
    assert_eq!(s.discovered_units, None);
    assert_eq!(
        s.failures,
        ["unit discovery failed: systemctl timed out after 9 s"]
    );
}

#[test]
fn discovery_is_capped() {
    let mut text = include_str!("samples/systemd-units.txt").to_owned();
    let i = text.find("@@hb units").unwrap();
    text.truncate(i);
    text.push_str("@@hb loaded 0\n");
    for n in 0..300 {
        text.push_str(&format!(
            "svc-{n:03}.service loaded active running Service {n}\n"
        ));
    }
    text.push_str("@@hb enabled 0\n@@hb end\n");
    let s = parse(&text, STEP).unwrap();
    let d = s.discovered_units.unwrap();
    assert_eq!(d.len(), heartbeats_wire::hosts::MAX_ITEMS);
    assert_eq!(d[0].name, "svc-000.service");
}

#[test]
fn only_plain_unit_names_go_to_the_host() {
    let units: Vec<String> = ["nginx.service", "getty@tty1.service", "a;reboot", "-x", ""]
        .map(str::to_owned)
        .to_vec();
    let (ok, bad) = unit_names(&units);
    assert_eq!(ok, ["nginx.service", "getty@tty1.service"]);
    assert_eq!(bad.len(), 3);
    assert_eq!(
        bad[0],
        "units check could not run for \"a;reboot\": not a systemd unit name"
    );
}
