//! Running a measured child process: wall time, peak memory (VmHWM polled while it runs;
//! the high-water mark only grows, so the last reading is the peak up to the exit), output.

use anyhow::{Context, Result, bail};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub struct Finished {
    pub secs: f64,
    /// CPU seconds (user + system, all threads) up to the last poll before the exit.
    pub cpu_secs: f64,
    pub peak_rss: u64,
    pub stdout: String,
}

/// Runs `cmd` to completion; an unsuccessful exit is an error carrying its stderr.
pub fn run(mut cmd: Command) -> Result<Finished> {
    let shown = format!("{cmd:?}");
    let started = Instant::now();
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {shown}"))?;
    let pid = child.id();
    let mut out = child.stdout.take();
    let mut err = child.stderr.take();
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(o) = out.as_mut() {
            let _ = o.read_to_string(&mut s);
        }
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(e) = err.as_mut() {
            let _ = e.read_to_string(&mut s);
        }
        s
    });
    let (mut peak, mut cpu) = (0, 0.0f64);
    let status = loop {
        if let Some(rss) = crate::machine::peak_rss_of(pid) {
            peak = peak.max(rss);
        }
        if let Some(c) = crate::machine::cpu_secs_of(&pid.to_string()) {
            cpu = cpu.max(c);
        }
        if let Some(st) = child.try_wait()? {
            break st;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let secs = started.elapsed().as_secs_f64();
    let stdout = out_reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    if !status.success() {
        bail!("{shown} failed ({status}): {}", stderr.trim());
    }
    Ok(Finished {
        secs,
        cpu_secs: cpu,
        peak_rss: peak,
        stdout,
    })
}

/// The last line of a child's output, as JSON.
pub fn last_json<T: serde::de::DeserializeOwned>(stdout: &str) -> Result<T> {
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'))
        .context("the child printed no JSON result")?;
    serde_json::from_str(line).with_context(|| format!("unexpected child output: {line}"))
}

/// A binary built beside this one (`mfalens`), from the same `cargo build --release`.
pub fn sibling(name: &str) -> Result<PathBuf> {
    let me = std::env::current_exe().context("cannot find this executable")?;
    let path = me
        .parent()
        .map(|d| d.join(name))
        .context("this executable has no directory")?;
    if !path.exists() {
        bail!(
            "{} is missing: build it first (cargo build --release -p mfalens -p mfalens-bench, or bench/run.sh)",
            path.display()
        );
    }
    Ok(path)
}

/// The Python of the DuckDB virtual environment, when it has been set up.
pub fn duckdb_python(work: &Path) -> Option<PathBuf> {
    let py = work
        .parent()
        .unwrap_or(work)
        .join("bench-venv")
        .join("bin")
        .join("python");
    py.exists().then_some(py)
}

/// `bench/duckdb_bench.py` in the source tree.
pub fn duckdb_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/duckdb_bench.py")
}
