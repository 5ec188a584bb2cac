//! The real `mfalens` binary end to end: generate files, ingest them, serve, and ask over
//! HTTP; counts are checked against an independent count of the same files.

// The real binary runs on the real clock, so this test reads it too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_mfalens");
const NOW: &str = "2026-11-20T12:00:00Z";

fn run(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Generates ending at `now` (the fixed `NOW` when None).
fn generate(dir: &Path, gzip: bool, now: Option<&str>) {
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

fn read_lines(path: &Path) -> Vec<Value> {
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

struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(db: &str) -> Server {
        let mut child = Command::new(BIN)
            .args(["serve", "--database", db, "--listen", "127.0.0.1:0"])
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

fn token(db: &str, args: &[&str]) -> String {
    let mut all = vec!["token", "--database", db];
    all.extend_from_slice(args);
    let (ok, out, err) = run(&all);
    assert!(ok, "{err}");
    out.lines().last().unwrap().to_string()
}

#[test]
fn generate_is_deterministic_for_a_seed() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    generate(a.path(), false, None);
    generate(b.path(), false, None);
    for f in ["users.ndjson", "signins.ndjson", "tenants.json"] {
        assert_eq!(
            std::fs::read(a.path().join(f)).unwrap(),
            std::fs::read(b.path().join(f)).unwrap(),
            "{f}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_then_http_count_each_event_once() {
    let dir = tempfile::tempdir().unwrap();
    // Data ending now: a fixed past instant would drift out of the 30-day window.
    let data_end = chrono::Utc::now().to_rfc3339();
    generate(dir.path(), true, Some(&data_end));
    let db = format!("sqlite://{}", dir.path().join("db/m.db").display());
    let users = dir.path().join("users.ndjson");
    let signins = dir.path().join("signins.ndjson.gz");

    let (ok, out, err) = run(&[
        "ingest",
        "users",
        users.to_str().unwrap(),
        "--database",
        &db,
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("120 inserted"), "{out}");
    let (ok, out, err) = run(&[
        "ingest",
        "signins",
        signins.to_str().unwrap(),
        "--database",
        &db,
        "--batch-size",
        "700",
    ]);
    assert!(ok, "{err}");
    let events = read_lines(&signins);
    let accepted: u64 = out
        .split(" accepted")
        .next()
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let expired: u64 = out
        .split(" expired")
        .next()
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(accepted + expired, 4000, "{out}");
    let (ok, out, _) = run(&[
        "ingest",
        "signins",
        signins.to_str().unwrap(),
        "--database",
        &db,
    ]);
    assert!(ok);
    assert!(
        out.contains(&format!("0 accepted, {accepted} duplicates")),
        "{out}"
    );

    let tenants: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("tenants.json")).unwrap())
            .unwrap();
    let tenant = tenants[0]["tenantId"].as_str().unwrap().to_string();
    let server = Server::start(&db);
    let client = reqwest::Client::new();

    // The same events over HTTP change nothing.
    let ingest = token(
        &db,
        &[
            "--tenant",
            &tenant,
            "--tenant",
            tenants[1]["tenantId"].as_str().unwrap(),
            "--app-role",
            "MfaLens.Ingest",
            "--audience",
            "ingest",
        ],
    );
    let mut body = String::new();
    for e in &events[..500] {
        body.push_str(&e.to_string());
        body.push('\n');
    }
    let r = client
        .post(format!("{}/ingest/signins", server.base))
        .bearer_auth(&ingest)
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .unwrap();
    let rep: Value = r.json().await.unwrap();
    assert_eq!(rep["accepted"], 0, "{rep}");

    // SAML successes of tenant 0 in the last 7 days, counted from the file independently.
    let now: chrono::DateTime<chrono::Utc> = chrono::Utc::now();
    let start = (now - chrono::Duration::days(7))
        .format("%Y-%m-%dT%H:%M:00Z")
        .to_string();
    let end = now.format("%Y-%m-%dT%H:%M:00Z").to_string();
    let (s, e): (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>) =
        (start.parse().unwrap(), end.parse().unwrap());
    let expected = events
        .iter()
        .filter(|v| {
            v["homeTenantId"] == json!(tenant)
                && v["status"]["errorCode"] == json!(0)
                && v["authenticationProtocol"] == json!("saml20")
        })
        .filter(|v| {
            let t: chrono::DateTime<chrono::Utc> =
                v["createdDateTime"].as_str().unwrap().parse().unwrap();
            t >= s && t < e
        })
        .count() as u64;
    let reader = token(
        &db,
        &[
            "--tenant",
            &tenant,
            "--scope",
            "Reports.Read.All",
            "--directory-role",
            "Security Reader",
        ],
    );
    let url = format!(
        "{}/beta/reports/serviceActivity/getMetricsForSamlSignInSuccess(inclusiveIntervalStartDateTime={start},exclusiveIntervalEndDateTime={end},aggregationIntervalInMinutes=30)",
        server.base
    );
    let r = client.get(url).bearer_auth(&reader).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let got: u64 = body["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["value"].as_u64().unwrap())
        .sum();
    assert_eq!(got, expected);
    assert!(expected > 0);
}

#[test]
fn strict_import_is_all_or_nothing_and_bad_lines_are_numbered() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("s.ndjson");
    std::fs::write(
        &f,
        "{\"id\":\"a\",\"createdDateTime\":\"2026-11-22T00:00:00Z\",\"homeTenantId\":\"t\"}\nnot json\n{\"id\":\"b\",\"createdDateTime\":\"2026-11-22T00:00:00Z\",\"homeTenantId\":\"t\",\"conditionalAccessStatus\":\"maybe\"}\n",
    )
    .unwrap();
    let db = format!("sqlite://{}", dir.path().join("m.db").display());
    let (ok, _, err) = run(&[
        "ingest",
        "signins",
        f.to_str().unwrap(),
        "--database",
        &db,
        "--strict",
    ]);
    assert!(!ok);
    assert!(
        err.contains("line 2") && err.contains("line 3") && err.contains("nothing was imported"),
        "{err}"
    );
    let (ok, out, err) = run(&["ingest", "signins", f.to_str().unwrap(), "--database", &db]);
    assert!(ok, "{err}");
    assert!(
        out.contains("1 accepted") && out.contains("2 rejected"),
        "{out}"
    );
    assert!(err.contains("unknown value 'maybe'"), "{err}");
}

#[test]
fn help_explains_and_bad_config_says_how_to_fix() {
    let (ok, out, _) = run(&["--help"]);
    assert!(ok);
    for cmd in ["serve", "ingest", "generate", "token", "demo", "migrate"] {
        assert!(out.contains(cmd), "{cmd} missing from --help");
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.toml");
    std::fs::write(&cfg, "listen = \"127.0.0.1:1\"\ncolour = \"red\"\n").unwrap();
    let (ok, _, err) = run(&[
        "migrate",
        "--config",
        cfg.to_str().unwrap(),
        "--database",
        &format!("sqlite://{}", dir.path().join("m.db").display()),
    ]);
    assert!(!ok);
    assert!(err.contains("colour"), "{err}");
    let (ok, _, err) = run(&["migrate", "--database", "mysql://x/y"]);
    assert!(!ok && err.contains("sqlite://"), "{err}");
}
