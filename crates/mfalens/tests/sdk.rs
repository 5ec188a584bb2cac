//! Microsoft's own Python SDK (msgraph-beta-sdk) against the real server: every Graph endpoint
//! must parse into the SDK's typed models with the values an independent computation over the
//! same input files gives; every body must use only names and enum values of the Graph CSDL.
//! Needs python3; the SDK is installed into target/sdk-venv by tests/sdk/setup-venv.sh.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::disallowed_methods)]

mod common;

use chrono::{DateTime, Duration, DurationRound, Utc};
use common::*;
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The venv's python, or None (with the reason printed) when python3 is missing outside CI.
fn sdk_python() -> Option<String> {
    if Command::new("python3").arg("--version").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "python3 is required in CI for the SDK conformance tests"
        );
        eprintln!("SKIPPED: python3 not found; the official-SDK conformance test needs it");
        return None;
    }
    let out = Command::new("bash")
        .arg(root().join("tests/sdk/setup-venv.sh"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "setting up the SDK venv failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn zulu(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn series(
    function: &str,
    events: &[&Value],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    minutes: i64,
) -> Vec<Value> {
    let step = Duration::minutes(minutes);
    let n = ((end - start).num_seconds() + step.num_seconds() - 1) / step.num_seconds();
    let mut v = vec![0u64; n as usize];
    for e in events.iter().filter(|e| counts_toward(function, e)) {
        let t: DateTime<Utc> = e["createdDateTime"].as_str().unwrap().parse().unwrap();
        if t >= start && t < end {
            v[((t - start).num_seconds() / step.num_seconds()) as usize] += 1;
        }
    }
    v.iter()
        .enumerate()
        .map(|(i, c)| json!({"intervalStartDateTime": zulu(start + step * i as i32), "value": c}))
        .collect()
}

fn state_after_import(u: &Value) -> &str {
    let s = u["perUserMfaState"].as_str().unwrap_or("disabled");
    if s == "enabled" && u["isMfaRegistered"] == json!(true) {
        "enforced"
    } else {
        s
    }
}

#[test]
fn the_official_graph_sdk_reads_every_endpoint() {
    let Some(python) = sdk_python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let now = Utc::now();
    let (ok, _, err) = run(&[
        "generate",
        "--seed",
        "9",
        "--tenants",
        "2",
        "--users",
        "80",
        "--signins",
        "20000",
        "--now",
        &now.to_rfc3339(),
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let db = format!("sqlite://{}", dir.path().join("db/m.db").display());
    for (kind, file) in [("users", "users.ndjson"), ("signins", "signins.ndjson")] {
        let (ok, _, err) = run(&[
            "ingest",
            kind,
            dir.path().join(file).to_str().unwrap(),
            "--database",
            &db,
        ]);
        assert!(ok, "{err}");
    }
    let tenants: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("tenants.json")).unwrap())
            .unwrap();
    let tenant = tenants[0]["tenantId"].as_str().unwrap().to_string();
    let all_users = read_lines(&dir.path().join("users.ndjson"));
    let users: Vec<&Value> = all_users
        .iter()
        .filter(|u| u["tenantId"] == json!(tenant))
        .collect();
    let all_events = read_lines(&dir.path().join("signins.ndjson"));
    let events: Vec<&Value> = all_events
        .iter()
        .filter(|e| e["homeTenantId"] == json!(tenant))
        .collect();

    // Expected values, computed from the files.
    let start = (now - Duration::days(2))
        .duration_trunc(Duration::hours(1))
        .unwrap();
    let mut metrics = Map::new();
    for f in [
        "getMetricsForMfaSignInFailure",
        "getMetricsForMfaSignInSuccess",
        "getMetricsForConditionalAccessBlockedSignIn",
        "getMetricsForConditionalAccessCompliantDevicesSignInSuccess",
        "getMetricsForConditionalAccessManagedDevicesSignInSuccess",
        "getMetricsForSamlSignInSuccess",
    ] {
        let end = start + Duration::hours(12);
        let short_end = start + Duration::hours(2);
        metrics.insert(f.into(), json!([
            {"start": zulu(start), "end": zulu(end), "interval": 30, "expected": series(f, &events, start, end, 30)},
            {"start": zulu(start), "end": zulu(short_end), "interval": null, "expected": series(f, &events, start, short_end, 15)},
        ]));
    }
    let me = users
        .iter()
        .find(|u| u["isAdmin"] == json!(true) && u["accountEnabled"] == json!(true))
        .copied()
        .unwrap_or(users[0]);
    let probe: Vec<&Value> = users
        .iter()
        .filter(|u| u["id"] != me["id"])
        .take(3)
        .copied()
        .collect();
    let mut user_map = Map::new();
    for (i, u) in probe.iter().enumerate() {
        let key = if i == 0 {
            u["userPrincipalName"].as_str().unwrap()
        } else {
            u["id"].as_str().unwrap()
        };
        user_map.insert(key.into(), json!({
            "signInPreferences": {
                "isSystemPreferredAuthenticationMethodEnabled": u["isSystemPreferredAuthenticationMethodEnabled"],
                "userPreferredMethodForSecondaryAuthentication": u["userPreferredMethodForSecondaryAuthentication"],
            },
            "requirements": {"perUserMfaState": state_after_import(u)},
        }));
    }
    let enabled: Vec<&&Value> = users
        .iter()
        .filter(|u| u["accountEnabled"] == json!(true))
        .collect();
    let count = |k: &str| enabled.iter().filter(|u| u[k] == json!(true)).count();
    let registration = json!({"expected": [{
    "id": tenant, "totalUserCount": enabled.len(),
    "userRegistrationCounts": [
        {"registrationStatus": "registered", "registrationCount": count("isSsprRegistered")},
        {"registrationStatus": "enabled", "registrationCount": count("isSsprEnabled")},
        {"registrationStatus": "capable", "registrationCount": count("isSsprCapable")},
        {"registrationStatus": "mfaRegistered", "registrationCount": count("isMfaRegistered")},
    ]}]});
    let ids_where = |pred: &dyn Fn(&Value) -> bool| -> Vec<Value> {
        users
            .iter()
            .filter(|u| pred(u))
            .map(|u| u["id"].clone())
            .collect()
    };
    let mut records = Map::new();
    for u in probe.iter().take(2) {
        records.insert(u["id"].as_str().unwrap().into(), json!({
            "id": u["id"], "userPrincipalName": u["userPrincipalName"], "userDisplayName": u["userDisplayName"],
            "isAdmin": u["isAdmin"], "isMfaRegistered": u["isMfaRegistered"], "isSsprRegistered": u["isSsprRegistered"],
            "methodsRegistered": u["methodsRegistered"], "defaultMfaMethod": u["defaultMfaMethod"], "userType": u["userType"],
        }));
    }
    // Registration summaries over enabled accounts, by population.
    let population = |types: &str, roles: &str| -> Vec<&Value> {
        enabled
            .iter()
            .filter(|u| types == "all" || u["userType"] == json!(types))
            .filter(|u| roles == "all" || (u["isAdmin"] == json!(true)) == (roles == "admin"))
            .map(|u| **u)
            .collect()
    };
    let everyone = population("all", "all");
    let passwordless = |u: &Value| {
        u["methodsRegistered"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == "fido2SecurityKey" || m == "windowsHelloForBusiness")
    };
    let feature = |name: &str, f: &dyn Fn(&Value) -> bool| json!({"feature": name, "userCount": everyone.iter().filter(|u| f(u)).count()});
    let by_feature = json!([{"includedUserTypes": null, "includedUserRoles": null, "expected": {
    "totalUserCount": everyone.len(), "userTypes": "all", "userRoles": "all",
    "userRegistrationFeatureCounts": [
        feature("ssprRegistered", &|u| u["isSsprRegistered"] == json!(true)),
        feature("ssprEnabled", &|u| u["isSsprEnabled"] == json!(true)),
        feature("ssprCapable", &|u| u["isSsprCapable"] == json!(true)),
        feature("passwordlessCapable", &|u| passwordless(u)),
        feature("mfaCapable", &|u| u["isMfaCapable"] == json!(true)),
    ]}}]);
    let admins = population("member", "admin");
    let mut per_method: std::collections::BTreeMap<String, u64> = Default::default();
    for u in &admins {
        for m in u["methodsRegistered"].as_array().unwrap() {
            *per_method
                .entry(m.as_str().unwrap().to_string())
                .or_default() += 1;
        }
    }
    let by_method = json!([{"includedUserTypes": "member", "includedUserRoles": "admin", "expected": {
        "totalUserCount": admins.len(), "userTypes": "member", "userRoles": "admin",
        "userRegistrationMethodCounts": per_method.iter().map(|(m, n)| json!({"authenticationMethod": m, "userCount": n})).collect::<Vec<_>>(),
    }}]);
    let registered_admin = probe
        .iter()
        .find(|u| u["isMfaRegistered"] == json!(true))
        .copied()
        .unwrap_or(probe[0]);
    let expected = json!({
        "metrics": metrics,
        "users": user_map,
        "me": {"requirements": {"perUserMfaState": state_after_import(me)}},
        "registrationCount": registration,
        "userRegistrationDetails": {
            "records": records,
            "queries": [
                {"filter": "isMfaRegistered eq true", "top": 25, "expectedIds": ids_where(&|u| u["isMfaRegistered"] == json!(true)), "ordered": false},
                {"filter": "isAdmin eq true and isMfaRegistered eq false", "top": null, "expectedIds": ids_where(&|u| u["isAdmin"] == json!(true) && u["isMfaRegistered"] == json!(false)), "ordered": false},
                {"filter": null, "top": 7, "expectedIds": ids_where(&|_| true), "ordered": false},
            ],
        },
        "usersRegisteredByFeature": by_feature,
        "usersRegisteredByMethod": by_method,
        "patches": [
            {"user": registered_admin["id"], "resource": "requirements", "body": {"perUserMfaState": "enabled"},
             "expectedAfter": {"perUserMfaState": if registered_admin["isMfaRegistered"] == json!(true) { "enforced" } else { "enabled" }}},
            {"user": probe[1]["userPrincipalName"], "resource": "signInPreferences",
             "body": {"isSystemPreferredAuthenticationMethodEnabled": true, "userPreferredMethodForSecondaryAuthentication": "sms"},
             "expectedAfter": {"isSystemPreferredAuthenticationMethodEnabled": true, "userPreferredMethodForSecondaryAuthentication": "sms"}},
            {"user": "me", "resource": "requirements", "body": {"perUserMfaState": "disabled"}, "expectedAfter": {"perUserMfaState": "disabled"}},
        ],
        "errors": {"patchUser": probe[2]["id"]},
    });
    let expected_path = dir.path().join("expected.json");
    std::fs::write(
        &expected_path,
        serde_json::to_vec_pretty(&expected).unwrap(),
    )
    .unwrap();

    let server = Server::start(&db);
    let me_id = me["id"].as_str().unwrap();
    let me_upn = me["userPrincipalName"].as_str().unwrap();
    let admin = token(
        &db,
        &[
            "--tenant",
            &tenant,
            "--user",
            me_id,
            "--upn",
            me_upn,
            "--scope",
            "Reports.Read.All AuditLog.Read.All UserAuthenticationMethod.ReadWrite.All Policy.ReadWrite.AuthenticationMethod",
            "--directory-role",
            "Global Administrator",
        ],
    );
    let reader = token(
        &db,
        &[
            "--tenant",
            &tenant,
            "--user",
            me_id,
            "--upn",
            me_upn,
            "--scope",
            "Reports.Read.All AuditLog.Read.All UserAuthenticationMethod.Read.All Policy.Read.All",
            "--directory-role",
            "Global Reader",
        ],
    );
    let bodies = dir.path().join("bodies");
    let out = Command::new(&python)
        .current_dir(root())
        .arg("tests/sdk/conformance.py")
        .args(["--base-url", &format!("{}/beta", server.base)])
        .args([
            "--token",
            &admin,
            "--me-token",
            &admin,
            "--reader-token",
            &reader,
        ])
        .arg("--expected")
        .arg(&expected_path)
        .arg("--dump-bodies")
        .arg(&bodies)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success(),
        "the SDK conformance run failed:\n{stdout}"
    );
    assert!(
        stdout
            .lines()
            .last()
            .unwrap_or("")
            .contains(" passed, 0 failed"),
        "{stdout}"
    );

    let out = Command::new("python3")
        .current_dir(root())
        .arg("tests/sdk/check_csdl.py")
        .arg(&bodies)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "bodies use names or enum values outside the Graph CSDL:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
