//! What the figures were measured on: cores, memory, CPU, commit, load; and peak memory of a
//! process, read from `/proc` (VmHWM) so no unsafe `getrusage` is needed.

use std::path::Path;
use std::process::Command;

#[derive(Debug, Clone)]
pub struct Machine {
    pub cores: usize,
    pub memory: String,
    pub cpu: String,
    pub kernel: String,
    pub commit: String,
    pub started: String,
    pub command: String,
}

impl Machine {
    pub fn probe(started: chrono::DateTime<chrono::Utc>) -> Machine {
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let kib = |key: &str| {
            meminfo
                .lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        };
        let memory = match (kib("MemTotal:"), kib("MemAvailable:")) {
            (Some(t), Some(a)) => format!(
                "{:.1} GiB total, {:.1} GiB available at start (/proc/meminfo)",
                t as f64 / 1048576.0,
                a as f64 / 1048576.0
            ),
            _ => "unknown".into(),
        };
        let cpu = std::fs::read_to_string("/proc/cpuinfo")
            .unwrap_or_default()
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_string())
            .unwrap_or_else(|| "unknown".into());
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "unknown".into());
        Machine {
            cores: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            memory,
            cpu,
            kernel,
            commit: git_commit(),
            started: started.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            command: std::env::args()
                .enumerate()
                .map(|(i, a)| if i == 0 { "mfalens-bench".into() } else { a })
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}

fn git_commit() -> String {
    let out = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    match out(&["rev-parse", "--short=10", "HEAD"]) {
        Some(c) => {
            let dirty = out(&["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            if dirty { format!("{c}+dirty") } else { c }
        }
        None => "unknown".into(),
    }
}

/// `/proc/loadavg`'s 1/5/15-minute load averages.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|| "unknown".into())
}

/// Peak resident set (VmHWM) of a process in bytes, while it is alive.
pub fn peak_rss_of(pid: u32) -> Option<u64> {
    peak_rss_in(&Path::new("/proc").join(pid.to_string()).join("status"))
}

/// This process's peak resident set in bytes.
pub fn own_peak_rss() -> Option<u64> {
    peak_rss_in(Path::new("/proc/self/status"))
}

fn peak_rss_in(status: &Path) -> Option<u64> {
    std::fs::read_to_string(status)
        .ok()?
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse::<u64>()
        .ok()
        .map(|kib| kib * 1024)
}

/// CPU time (user + system) a process has used so far, in seconds, from `/proc/PID/stat`
/// (its threads included). Clock ticks are 100 per second on Linux.
pub fn cpu_secs_of(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(Path::new("/proc").join(pid).join("stat")).ok()?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

pub fn mib(bytes: u64) -> String {
    format!("{:.0} MiB", bytes as f64 / 1048576.0)
}
