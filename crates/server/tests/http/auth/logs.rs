//! Tokens never reach the log; log lines carry the tenant and the request id instead.
//! The traffic runs in a child process of this test binary with a global subscriber at TRACE,
//! so no other test's threads can race the capture.

use super::{A_OTHER, ENDPOINTS, bad_tokens, call, least_privileged, seed_tenant_a};
use crate::app::{TENANT_A, TestApp};
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

const DIR_VAR: &str = "MFALENS_TEST_LOG_DIR";

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Child process: serves good and bad tokens on every endpoint, writing the log and the
/// tokens it used to the directory named by `MFALENS_TEST_LOG_DIR`.
#[tokio::test]
#[ignore = "run by tokens_never_reach_the_log_and_lines_carry_tenant_and_request_id"]
async fn traffic_for_the_log_check() {
    let Some(dir) = std::env::var_os(DIR_VAR).map(PathBuf::from) else {
        return;
    };
    let out = Capture::default();
    let writer = out.clone();
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .init();

    let app = TestApp::start().await;
    seed_tenant_a(&app).await;
    let mut secrets = Vec::new();
    for e in ENDPOINTS {
        let good = least_privileged(&app, e, TENANT_A);
        let r = call(&app, e, Some(&good), A_OTHER).await;
        assert!((200..300).contains(&r.status), "{}", r.text);
        secrets.push(good.clone());
        for (_, bad, _) in bad_tokens(&app, e.family, &good) {
            let Some(bad) = bad else { continue };
            call(&app, e, Some(&bad), A_OTHER).await;
            secrets.push(bad);
        }
    }
    drop(app);
    std::fs::write(dir.join("tokens"), secrets.join("\n")).unwrap();
    std::fs::write(dir.join("log"), out.0.lock().unwrap().as_slice()).unwrap();
}

#[test]
fn tokens_never_reach_the_log_and_lines_carry_tenant_and_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "auth::logs::traffic_for_the_log_check",
            "--ignored",
            "--test-threads=1",
        ])
        .env(DIR_VAR, dir.path())
        .output()
        .unwrap();
    assert!(
        child.status.success(),
        "{}",
        String::from_utf8_lossy(&child.stdout)
    );
    let log = std::fs::read_to_string(dir.path().join("log")).unwrap();
    let tokens = std::fs::read_to_string(dir.path().join("tokens")).unwrap();
    assert!(log.contains("finished processing request"), "{log}");
    assert!(tokens.lines().count() > 20);
    for t in tokens.lines() {
        // Neither the token nor any signed part of it.
        for part in t.split('.').filter(|p| p.len() >= 16) {
            assert!(!log.contains(part), "a token part is in the log");
        }
    }
    assert!(!log.to_ascii_lowercase().contains("bearer ey"));
    let served: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("finished processing request"))
        .collect();
    assert!(served.len() > 20, "{log}");
    for line in &served {
        assert!(line.contains("request_id=\""), "{line}");
        assert!(line.contains("route=\"/"), "{line}");
    }
    assert!(
        served
            .iter()
            .any(|l| l.contains(&format!("tenant=\"{TENANT_A}\""))),
        "{log}"
    );
    let refused: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("bearer token refused"))
        .collect();
    assert!(refused.len() > 10, "{log}");
    assert!(refused.iter().all(|l| l.contains("request_id=\"")));
}
