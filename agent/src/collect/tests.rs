//! Parsing captured outputs. `debian12-vm.txt` is a real run of collect.sh (ps list
//! trimmed); the others are written in the exact formats of GNU df, busybox df/ps and
//! nvidia-smi's `--format=csv,noheader,nounits`, for hosts this machine is not.

use super::parse::parse_gpus;
use super::*;

const STEP: Duration = Duration::from_secs(9);

fn sample(name: &str) -> Sample {
    let text = match name {
        "debian12-vm" => include_str!("samples/debian12-vm.txt"),
        "gpu-server" => include_str!("samples/gpu-server.txt"),
        "busybox" => include_str!("samples/busybox.txt"),
        "nvidia-failed" => include_str!("samples/nvidia-failed.txt"),
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
    assert_eq!(s.disks.len(), 1);
    let root = &s.disks[0];
    assert_eq!(root.mount, "/");
    assert_eq!(root.fstype.as_deref(), Some("ext4"));
    assert_eq!(root.total_bytes, 270_553_174_016);
    assert_eq!(root.percent, 15.3);
    assert_eq!(s.gpus, Gpus::Absent);
    // The script's own sh and its ps are not reported as host processes.
    assert!(s.processes.iter().all(|p| !p.command.contains("hb-agent")));
    assert!(s.processes.iter().all(|p| !p.command.starts_with("ps -eo")));
    assert!(s.processes.iter().any(|p| p.command == "bash /dev/fd/3"));
}

#[test]
fn gpu_server_capture() {
    let s = sample("gpu-server");
    assert_eq!(s.cpu.cores, 64);
    // busy = 12000 + 500 + 100 = 12600, idle = 500 → 12600 / 13100.
    assert_eq!(s.cpu.percent, 96.2);
    assert_eq!(s.memory.percent, 92.0);
    assert_eq!(s.swap.percent, 75.0);
    let mounts: Vec<&str> = s.disks.iter().map(|d| d.mount.as_str()).collect();
    // squashfs, tmpfs and docker's overlay are skipped; /data's bind mount is folded;
    // a mount point with a space survives.
    assert_eq!(mounts, ["/", "/boot/efi", "/data", "/mnt/scratch disk"]);
    assert_eq!(s.disks[0].percent, 93.0);
    let Gpus::Present(gpus) = &s.gpus else {
        panic!("{:?}", s.gpus)
    };
    assert_eq!(gpus.len(), 3);
    assert_eq!(gpus[0].name, "NVIDIA A100-SXM4-80GB");
    assert_eq!(gpus[0].utilisation_percent, Some(99.0));
    assert_eq!(gpus[0].memory_percent, Some(94.0));
    assert_eq!(gpus[0].temperature_c, Some(71.0));
    assert_eq!(gpus[2].utilisation_percent, None);
    assert_eq!(gpus[2].temperature_c, None);
    assert_eq!(gpus[2].memory_used_mib, Some(1024));
    let top = s.top_by_cpu(2);
    assert_eq!(top[0].pid, 401122);
    assert_eq!(top[0].cpu_percent, Some(1530.2));
    assert_eq!(
        s.top_by_memory(1)[0].command,
        "/usr/bin/redis-server *:6379"
    );
    assert_eq!(
        s.processes.len(),
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
    let root = &s.disks[0];
    assert_eq!((root.mount.as_str(), root.fstype.as_deref()), ("/", None));
    assert_eq!(root.total_bytes, 7_342_956 * 1024);
    assert_eq!(root.percent, 98.3);
    assert_eq!(s.disks.len(), 2, "tmpfs is skipped by name without -T");
    let commands: Vec<&str> = s.processes.iter().map(|p| p.command.as_str()).collect();
    assert_eq!(
        commands,
        [
            "init",
            "/usr/sbin/dropbear -R",
            "python3 /opt/sensor/collect.py"
        ]
    );
    assert_eq!(s.processes[0].cpu_percent, None);
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
    assert_eq!(
        step_limit(Duration::from_secs(30), Duration::from_secs(1)),
        Duration::from_secs(9)
    );
    assert_eq!(
        step_limit(Duration::from_secs(1), Duration::from_secs(3)),
        Duration::from_secs(1)
    );
}
