use std::time::Duration;

use crate::helpers::*;

#[tokio::test]
async fn healthy_host() {
    let sshd = TestSshd::start(Gpu::Busy);
    let (_proc, pattern) = unique_sleep();
    let yaml = sshd.config(
        &format!(
            "  - address: 127.0.0.1\n    name: gpu-01\n    thresholds: {{cpu: 100, memory: 100, swap: 100, disk: 100, gpu_util: 100, gpu_memory: 100, load_per_core: 1000}}\n    processes: ['{pattern}']\n"
        ),
        "",
    );
    let report = check(&yaml).await;
    assert_eq!(report.problems, Vec::<String>::new());
    let h = &report.hosts[0];
    assert!(h.ok && h.error.is_none(), "{h:#?}");
    assert_eq!(h.label, "gpu-01");
    let cpu = h.cpu.as_ref().unwrap();
    assert!(cpu.cores >= 1 && (0.0..=100.0).contains(&cpu.percent));
    // Same machine: the numbers are this machine's.
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
    let total_kib: u64 = meminfo
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(h.memory.as_ref().unwrap().total_bytes, total_kib * 1024);
    assert!(
        h.disks.iter().any(|d| d.mount == "/" && d.total_bytes > 0),
        "{:?}",
        h.disks
    );
    assert!(h.disks.iter().all(|d| d.fstype.as_deref() != Some("tmpfs")));
    assert_eq!(h.gpus.len(), 2);
    assert_eq!(h.gpus[0].name, "NVIDIA A100-SXM4-40GB");
    assert_eq!(h.gpus[0].utilisation_percent, Some(99.0));
    assert_eq!(h.gpus[0].memory_percent, Some(95.0));
    assert_eq!(h.gpus[1].temperature_c, Some(35.0));
    assert_eq!(h.gpu_error, None);
    let req = &h.processes.required[0];
    assert_eq!((req.running, req.count, req.min), (true, 1, 1));
    assert_eq!(h.processes.top_cpu.len(), 5);
    assert_eq!(h.processes.top_mem.len(), 5);
    assert!(sshd.ssh_clients().is_empty(), "{:?}", sshd.ssh_clients());
}

#[tokio::test]
async fn each_threshold_breached() {
    let sshd = TestSshd::start(Gpu::Busy);
    let _burner = burn_cpu();
    // load5 is the kernel's; with a core kept busy it leaves 0.00 within seconds.
    for _ in 0..100 {
        if load5() > 0.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(load5() > 0.0, "load average stayed at 0");
    let yaml = sshd.config(
        "  - address: 127.0.0.1\n    name: gpu-01\n    thresholds: {cpu: 10, memory: 0, swap: 0, disk: 100, disks: {/: 0}, gpu_util: 95, gpu_memory: 90, load_per_core: 0}\n",
        "",
    );
    let report = check(&yaml).await;
    let h = &report.hosts[0];
    assert!(!h.ok);
    assert_problem(&report, r"^gpu-01 cpu \d+(\.\d)?% > 10%$");
    assert_problem(&report, r"^gpu-01 memory \d+(\.\d)?% > 0%$");
    assert_problem(&report, r"^gpu-01 disk / \d+(\.\d)?% > 0%$");
    assert_problem(&report, r"^gpu-01 gpu0 utilisation 99% > 95%$");
    assert_problem(&report, r"^gpu-01 gpu0 memory 95% > 90%$");
    assert_problem(&report, r"^gpu-01 load \d+\.\d+/core > 0\.0$");
    // gpu1 is idle: within its limits.
    assert!(
        !report.problems.iter().any(|p| p.contains("gpu1")),
        "{:?}",
        report.problems
    );
    // Swap can only be breached where the machine has swap in use; this one may not.
    let swap = h.swap.as_ref().unwrap();
    if swap.used_bytes > 0 {
        assert_problem(&report, r"^gpu-01 swap \d+(\.\d)?% > 0%$");
    } else {
        assert!(!report.problems.iter().any(|p| p.contains(" swap ")));
        eprintln!("no swap in use here: swap breach covered by the unit tests only");
    }
}

#[tokio::test]
async fn missing_process_and_too_few() {
    let sshd = TestSshd::start(Gpu::Absent);
    let (_a, pattern) = unique_sleep();
    let yaml = sshd.config(
        &format!(
            "  - address: 127.0.0.1\n    name: gpu-01\n    thresholds: {{memory: 100, disk: 100}}\n    processes:\n      - python train.py --hb-agent-test-absent\n      - {{match: '{pattern}', min: 2}}\n      - {{regex: '^sleep 3600\\.', min: 1}}\n"
        ),
        "",
    );
    let report = check(&yaml).await;
    assert_problem(
        &report,
        r#"^gpu-01 process "python train\.py --hb-agent-test-absent" not running$"#,
    );
    assert!(
        report
            .problems
            .contains(&format!("gpu-01 process \"{pattern}\" 1 running < 2")),
        "{:?}",
        report.problems
    );
    let required = &report.hosts[0].processes.required;
    assert_eq!((required[2].regex, required[2].running), (true, true));
    assert_eq!(report.problems.len(), 2, "{:?}", report.problems);
}

#[tokio::test]
async fn gpu_absent_is_fine_gpu_failing_is_a_problem() {
    let absent = TestSshd::start(Gpu::Absent);
    let report = check(&absent.config("  - address: 127.0.0.1\n    name: cpu-box\n", "")).await;
    let h = &report.hosts[0];
    assert!(h.gpus.is_empty() && h.gpu_error.is_none());
    assert!(
        report.problems.iter().all(|p| !p.contains("nvidia")),
        "{:?}",
        report.problems
    );

    let failing = TestSshd::start(Gpu::Failing);
    let report = check(&failing.config("  - address: 127.0.0.1\n    name: gpu-03\n", "")).await;
    assert!(report.problems.contains(&"gpu-03 nvidia-smi failed: NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running. (exit 9)".to_owned()), "{:?}", report.problems);
    assert!(report.hosts[0].gpu_error.is_some());
}

#[tokio::test]
async fn local_host_without_ssh() {
    let sshd = TestSshd::start(Gpu::Absent);
    let (_proc, pattern) = unique_sleep();
    let report = check(&sshd.config(
        &format!("  - local: true\n    name: monitor\n    thresholds: {{memory: 100, disk: 100}}\n    processes: ['{pattern}']\n"),
        "",
    ))
    .await;
    let h = &report.hosts[0];
    assert!(h.ok, "{:?}", report.problems);
    assert!(h.local && h.cpu.is_some() && !h.disks.is_empty());
    assert!(h.processes.required[0].running);
}
