//! The built `hb-agent` binary: exit codes and the `--json` shape.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use crate::helpers::*;

fn hb_agent(args: &[&str], config: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_hb-agent"))
        .args(args)
        .arg("--config")
        .arg(config)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

const GENEROUS: &str = "    thresholds: {cpu: off, memory: 100, disk: 100}\n";

#[test]
fn json_shape() {
    let sshd = TestSshd::start(Gpu::Busy);
    let (_proc, pattern) = unique_sleep();
    let config = sshd.write_config(
        &format!(
            "  - address: 127.0.0.1\n    name: gpu-01\n    description: test box\n{GENEROUS}    processes: ['{pattern}', 'hb-agent-test-absent']\n  - address: 127.0.0.1\n    name: down-1\n    ssh: {{port: {}}}\n",
            free_port()
        ),
        "",
    );
    let out = hb_agent(&["check", "--json"], &config);
    assert_eq!(code(&out), 1, "{}", String::from_utf8_lossy(&out.stderr));
    let v: Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert_eq!(v["pinged"], false);
    assert_eq!(v["ping_error"], Value::Null);
    let problems: Vec<&str> = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(
        problems,
        [
            "gpu-01 process \"hb-agent-test-absent\" not running",
            "down-1 unreachable: connection refused"
        ]
    );

    let h = &v["hosts"][0];
    for key in [
        "label",
        "address",
        "name",
        "description",
        "local",
        "ok",
        "error",
        "elapsed_ms",
        "cpu",
        "memory",
        "swap",
        "disks",
        "gpus",
        "gpu_error",
        "processes",
        "problems",
    ] {
        assert!(h.get(key).is_some(), "hosts[0].{key} missing: {h}");
    }
    assert_eq!(
        (h["label"].as_str(), h["address"].as_str()),
        (Some("gpu-01"), Some("127.0.0.1"))
    );
    assert_eq!(h["ok"], false);
    assert_eq!(h["error"], Value::Null);
    for key in ["percent", "load1", "load5", "load15", "cores"] {
        assert!(h["cpu"][key].is_number(), "cpu.{key}: {}", h["cpu"]);
    }
    for key in ["total_bytes", "used_bytes", "available_bytes", "percent"] {
        assert!(h["memory"][key].is_number(), "memory.{key}");
    }
    for key in ["total_bytes", "used_bytes", "percent"] {
        assert!(h["swap"][key].is_number(), "swap.{key}");
    }
    let disk = &h["disks"][0];
    for key in [
        "mount",
        "filesystem",
        "fstype",
        "total_bytes",
        "used_bytes",
        "available_bytes",
        "percent",
    ] {
        assert!(disk.get(key).is_some(), "disks[0].{key}");
    }
    let gpu = &h["gpus"][0];
    assert_eq!(gpu["index"], 0);
    assert_eq!(gpu["name"], "NVIDIA A100-SXM4-40GB");
    for key in [
        "utilisation_percent",
        "memory_used_mib",
        "memory_total_mib",
        "memory_percent",
        "temperature_c",
    ] {
        assert!(gpu[key].is_number(), "gpus[0].{key}");
    }
    let procs = &h["processes"];
    assert_eq!(procs["top_cpu"].as_array().unwrap().len(), 5);
    let top = &procs["top_mem"][0];
    for key in ["pid", "cpu_percent", "mem_percent", "rss_bytes", "command"] {
        assert!(top.get(key).is_some(), "top_mem[0].{key}");
    }
    let req = &procs["required"];
    assert_eq!(req[0]["pattern"], pattern);
    assert_eq!(
        (
            req[0]["running"].as_bool(),
            req[0]["count"].as_u64(),
            req[0]["min"].as_u64()
        ),
        (Some(true), Some(1), Some(1))
    );
    assert_eq!(req[0]["regex"], false);
    assert_eq!(req[1]["running"], false);

    let down = &v["hosts"][1];
    assert_eq!(down["error"], "unreachable: connection refused");
    assert_eq!(
        (down["cpu"].is_null(), down["memory"].is_null()),
        (true, true)
    );
    assert_eq!(down["disks"], serde_json::json!([]));
}

#[test]
fn exit_codes() {
    let sshd = TestSshd::start(Gpu::Absent);
    let healthy = sshd.write_config(
        &format!("  - address: 127.0.0.1\n    name: ok-1\n{GENEROUS}"),
        "",
    );
    let out = hb_agent(&["check"], &healthy);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("ok-1  cpu ")
            && text.contains("  OK\nall 1 host(s) OK\nnot pinged (check)"),
        "{text}"
    );

    let sick = sshd.path("sick.yaml");
    std::fs::write(
        &sick,
        sshd.config("  - address: 127.0.0.1\n    thresholds: {memory: 0}\n", ""),
    )
    .unwrap();
    let out = hb_agent(&["check"], &sick);
    assert_eq!(code(&out), 1);
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 problem(s):\n  127.0.0.1 memory "));

    let bad = sshd.path("bad.yaml");
    std::fs::write(
        &bad,
        sshd.config("  - address: 127.0.0.1\n    thresholds: {cpu: 120}\n", ""),
    )
    .unwrap();
    let out = hb_agent(&["check"], &bad);
    assert_eq!(code(&out), 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.yaml:") && err.contains("hosts[0].thresholds.cpu: 120 is out of range"),
        "{err}"
    );
    assert_eq!(code(&hb_agent(&["check"], &sshd.path("missing.yaml"))), 2);
    assert_eq!(code(&hb_agent(&["check", "--host", "nope"], &healthy)), 2);

    // `run` against a server port nobody listens on: 3, after its retries.
    let unreachable_server = sshd.path("run.yaml");
    let yaml = sshd
        .config(&format!("  - address: 127.0.0.1\n{GENEROUS}"), "")
        .replace(
            "url: http://127.0.0.1:9",
            &format!("url: http://127.0.0.1:{}", free_port()),
        )
        .replace("retries: 0", "retries: 2\n  retry_backoff: 10ms");
    std::fs::write(&unreachable_server, yaml).unwrap();
    let out = hb_agent(&["run"], &unreachable_server);
    assert_eq!(code(&out), 3);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("ping failed: could not reach http://127.0.0.1:")
            && err.contains("after 3 attempt(s)"),
        "{err}"
    );
}

#[test]
fn host_flag_limits_the_pass() {
    let sshd = TestSshd::start(Gpu::Absent);
    let config = sshd.write_config(
        &format!("  - address: 127.0.0.1\n    name: good\n{GENEROUS}  - address: 127.0.0.1\n    name: down\n    ssh: {{port: {}}}\n", free_port()),
        "",
    );
    assert_eq!(code(&hb_agent(&["check"], &config)), 1);
    let out = hb_agent(&["check", "--json", "--host", "good"], &config);
    assert_eq!(code(&out), 0);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["hosts"].as_array().unwrap().len(), 1);
    assert_eq!(v["hosts"][0]["label"], "good");
}
