//! Helpers shared by the binary's end-to-end tests: run the real `mfalens`, start a server
//! and wait for its "listening" line, mint tokens.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_mfalens");
pub const NOW: &str = "2026-11-20T12:00:00Z";

pub fn run(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Generates ending at `now` (the fixed `NOW` when None).
pub fn generate(dir: &Path, gzip: bool, now: Option<&str>) {
    let mut args = vec![
        "generate",
        "--seed",
        "5",
        "--tenants",
        "2",
        "--users",
        "60",
        "--signins",
        "4000",
        "--now",
        now.unwrap_or(NOW),
        "--out",
    ];
    let d = dir.to_str().unwrap();
    args.push(d);
    if gzip {
        args.push("--gzip");
    }
    let (ok, _, err) = run(&args);
    assert!(ok, "{err}");
}

pub fn read_lines(path: &Path) -> Vec<Value> {
    let mut text = String::new();
    if path.extension().is_some_and(|e| e == "gz") {
        flate2::read::MultiGzDecoder::new(std::fs::File::open(path).unwrap())
            .read_to_string(&mut text)
            .unwrap();
    } else {
        text = std::fs::read_to_string(path).unwrap();
    }
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

pub struct Server {
    child: Child,
    pub base: String,
}

impl Server {
    pub fn start(db: &str) -> Server {
        Self::start_with(db, &[])
    }

    pub fn start_with(db: &str, extra: &[&str]) -> Server {
        let mut child = Command::new(BIN)
            .args(["serve", "--database", db, "--listen", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // The server prints its address once it is listening: no sleeping.
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let base = line.trim().rsplit(' ').next().unwrap().to_string();
        assert!(base.starts_with("http://127.0.0.1:"), "{line}");
        Server { child, base }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn token(db: &str, args: &[&str]) -> String {
    let mut all = vec!["token", "--database", db];
    all.extend_from_slice(args);
    let (ok, out, err) = run(&all);
    assert!(ok, "{err}");
    out.lines().last().unwrap().to_string()
}

pub fn code(e: &Value) -> i64 {
    e["status"]["errorCode"].as_i64().unwrap_or(0)
}

/// Each metric's rule, restated over the raw JSON independently of the classifier.
pub fn counts_toward(function: &str, e: &Value) -> bool {
    let ok = code(e) == 0;
    let interactive = e["isInteractive"] == json!(true);
    match function {
        "getMetricsForMfaSignInFailure" => {
            let failed_step = e["authenticationDetails"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|s| {
                    s["authenticationStepRequirement"]
                        .as_str()
                        .unwrap_or("")
                        .to_lowercase()
                        .contains("multi")
                        && s["succeeded"] == json!(false)
                });
            interactive && !ok && ([500121, 50088, 50158, 500122].contains(&code(e)) || failed_step)
        }
        "getMetricsForMfaSignInSuccess" => {
            interactive
                && ok
                && e["authenticationRequirement"]
                    .as_str()
                    .unwrap_or("")
                    .eq_ignore_ascii_case("multiFactorAuthentication")
        }
        "getMetricsForConditionalAccessBlockedSignIn" => {
            e["conditionalAccessStatus"] == json!("failure") || code(e) == 53003
        }
        "getMetricsForConditionalAccessCompliantDevicesSignInSuccess" => {
            ok && e["deviceDetail"]["isCompliant"] == json!(true)
        }
        "getMetricsForConditionalAccessManagedDevicesSignInSuccess" => {
            ok && e["deviceDetail"]["isManaged"] == json!(true)
        }
        "getMetricsForSamlSignInSuccess" => ok && e["authenticationProtocol"] == json!("saml20"),
        other => panic!("unknown function {other}"),
    }
}
