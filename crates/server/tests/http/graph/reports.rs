//! Registration reports: `getCredentialUserRegistrationCount`, `userRegistrationDetails`
//! (exact entities, `$filter` against an independent filter of the input, paging that yields
//! every user exactly once) and `usersRegisteredByFeature/Method`.

use super::*;
use crate::app::{TENANT_A, TENANT_B};
use mfalens_server::auth::policy::{REPORTS_READER, SECURITY_READER};
use std::collections::{BTreeMap, BTreeSet};

const DETAILS: &str = "/beta/reports/authenticationMethods/userRegistrationDetails";
const AM: &str = "/beta/reports/authenticationMethods";

fn enabled_in<'a>(records: &'a [Value], tenant: &'a str) -> impl Iterator<Item = &'a Value> {
    records
        .iter()
        .filter(move |r| r["tenantId"] == tenant && r["accountEnabled"] != false)
}

fn flag(r: &Value, name: &str) -> bool {
    r[name].as_bool().unwrap_or(false)
}

#[tokio::test]
async fn credential_registration_counts_match_an_independent_count() {
    let app = TestApp::start().await;
    let (_, records) = synth_records(&app, 120);
    load(&app, &records).await;
    let token = app.graph_delegated(TENANT_A, ALICE, None, "Reports.Read.All", &[REPORTS_READER]);
    let count = |name: &str| {
        enabled_in(&records, TENANT_A)
            .filter(|r| flag(r, name))
            .count()
    };
    let total = enabled_in(&records, TENANT_A).count();
    assert!(total > 100 && total < 120, "some accounts are disabled");
    let want = json!({
        "@odata.context": format!("{}/beta/$metadata#Collection(microsoft.graph.credentialUserRegistrationCount)", app.base),
        "value": [{
            "id": TENANT_A,
            "totalUserCount": total,
            "userRegistrationCounts": [
                {"registrationStatus": "registered", "registrationCount": count("isSsprRegistered")},
                {"registrationStatus": "enabled", "registrationCount": count("isSsprEnabled")},
                {"registrationStatus": "capable", "registrationCount": count("isSsprCapable")},
                {"registrationStatus": "mfaRegistered", "registrationCount": count("isMfaRegistered")},
            ],
        }],
    });
    for path in [
        "/beta/reports/getCredentialUserRegistrationCount",
        "/beta/reports/getCredentialUserRegistrationCount()",
        "/beta/reports/microsoft.graph.getCredentialUserRegistrationCount()",
        "/beta/reports/getCredentialUserRegistrationcount()?$top=5",
    ] {
        let r = get(&app, path, &token).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        assert_eq!(r.body, want, "{path}");
        assert_eq!(r.headers["content-type"], GRAPH_CONTENT_TYPE);
    }
    // Tenant B's numbers are B's own.
    let b = app.graph_app(TENANT_B, &["Reports.Read.All"]);
    let r = get(&app, "/beta/reports/getCredentialUserRegistrationCount", &b).await;
    assert_eq!(r.body["value"][0]["id"], TENANT_B);
    assert_eq!(
        r.body["value"][0]["totalUserCount"],
        enabled_in(&records, TENANT_B).count()
    );

    let path = "/beta/reports/getCredentialUserRegistrationCount";
    let no_role = app.graph_delegated(TENANT_A, ALICE, None, "Reports.Read.All", &[]);
    assert_graph_error(
        &get(&app, path, &no_role).await,
        403,
        "Authorization_RequestDenied",
        "Reports Reader",
    );
    let wrong = app.graph_app(TENANT_A, &["AuditLog.Read.All"]);
    assert_graph_error(
        &get(&app, path, &wrong).await,
        403,
        "Authorization_RequestDenied",
        "Reports.Read.All",
    );
    assert_graph_error(
        &get(
            &app,
            "/beta/reports/getCredentialUserRegistrationCounts",
            &b,
        )
        .await,
        400,
        "BadRequest",
        "'getCredentialUserRegistrationCounts'",
    );
    assert_graph_error(
        &get(
            &app,
            "/beta/reports/getCredentialUserRegistrationCount(period='D7')",
            &b,
        )
        .await,
        400,
        "BadRequest",
        "'period'",
    );
}

#[tokio::test]
async fn registration_details_entities_are_exact() {
    let app = fixed_app().await;
    let token = app.graph_app(TENANT_A, &["AuditLog.Read.All"]);
    let alice = json!({
        "id": ALICE,
        "userPrincipalName": ALICE_UPN,
        "userDisplayName": "Alice Adams",
        "userType": "member",
        "isAdmin": false,
        "isMfaRegistered": true,
        "isMfaCapable": true,
        "isSsprRegistered": true,
        "isSsprEnabled": true,
        "isSsprCapable": true,
        "isPasswordlessCapable": false,
        "methodsRegistered": ["microsoftAuthenticatorPush", "mobilePhone"],
        "defaultMfaMethod": "microsoftAuthenticatorPush",
        "isSystemPreferredAuthenticationMethodEnabled": false,
        "systemPreferredAuthenticationMethods": ["push"],
        "userPreferredMethodForSecondaryAuthentication": "push",
        "lastUpdatedDateTime": "2026-11-01T08:30:00.25Z",
    });
    let r = get(&app, DETAILS, &token).await;
    assert_eq!(
        r.body["@odata.context"],
        format!(
            "{}/beta/$metadata#reports/authenticationMethods/userRegistrationDetails",
            app.base
        )
    );
    let value = r.body["value"].as_array().unwrap();
    let ids: Vec<&str> = value.iter().map(|u| u["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [ALICE, BOB, CAROL], "tenant A only, ordered by id");
    assert_eq!(value[0], alice);
    assert!(r.body.get("@odata.nextLink").is_none());
    assert_eq!(value[1]["isPasswordlessCapable"], true, "fido2 key");
    assert_eq!(value[2]["userType"], "guest");
    assert_eq!(
        value[2]["userPreferredMethodForSecondaryAuthentication"],
        Value::Null
    );
    assert_eq!(value[2]["defaultMfaMethod"], "none");

    let mut entity = alice.clone();
    entity["@odata.context"] = json!(format!(
        "{}/beta/$metadata#reports/authenticationMethods/userRegistrationDetails/$entity",
        app.base
    ));
    for path in [
        format!("{DETAILS}/{ALICE}"),
        format!("{DETAILS}/alice%40contoso.example"),
        format!("{DETAILS}('{ALICE}')"),
        format!("{AM}/userregistrationdetails('alice%40contoso.example')"),
    ] {
        let r = get(&app, &path, &token).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        assert_eq!(r.body, entity, "{path}");
    }
    assert_graph_error(
        &get(&app, &format!("{DETAILS}/{DAVE}"), &token).await,
        404,
        "Request_ResourceNotFound",
        DAVE,
    );
    assert_graph_error(
        &get(&app, &format!("{DETAILS}/x%zz"), &token).await,
        400,
        "Request_BadRequest",
        "x%zz",
    );
    assert_graph_error(
        &get(&app, &format!("{DETAILS}/12"), &token).await,
        400,
        "Request_BadRequest",
        "'12'",
    );

    // Permissions: a report reader role for delegated callers; AuditLog.Read.All either way.
    let no_role = app.graph_delegated(TENANT_A, ALICE, None, "AuditLog.Read.All", &[]);
    assert_eq!(get(&app, DETAILS, &no_role).await.status, 403);
    let reader = app.graph_delegated(
        TENANT_A,
        ALICE,
        None,
        "AuditLog.Read.All",
        &[SECURITY_READER],
    );
    assert_eq!(get(&app, DETAILS, &reader).await.status, 200);
    let reports_only = app.graph_app(TENANT_A, &["Reports.Read.All"]);
    assert_eq!(get(&app, DETAILS, &reports_only).await.status, 403);
}

#[tokio::test]
async fn paging_through_next_links_yields_every_user_exactly_once() {
    let app = TestApp::start().await;
    let (_, records) = synth_records(&app, 250);
    load(&app, &records).await;
    let token = app.graph_app(TENANT_A, &["AuditLog.Read.All"]);
    let want: BTreeSet<String> = records
        .iter()
        .filter(|r| r["tenantId"] == TENANT_A)
        .map(|r| r["id"].as_str().unwrap().to_ascii_lowercase())
        .collect();
    assert_eq!(want.len(), 250);

    let (items, pages) = all_pages(&app, &format!("{DETAILS}?$top=7"), &token).await;
    assert_eq!(pages, 250usize.div_ceil(7));
    let got: Vec<String> = items
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect();
    let unique: BTreeSet<String> = got.iter().cloned().collect();
    assert_eq!(got.len(), unique.len(), "no user twice");
    assert_eq!(unique, want, "every user of tenant A, none of B");

    // Default page size 100; the link keeps $top and carries an opaque token.
    let r = get(&app, DETAILS, &token).await;
    assert_eq!(r.body["value"].as_array().unwrap().len(), 100);
    let next = r.body["@odata.nextLink"].as_str().unwrap();
    assert!(
        next.starts_with(&format!("{}{DETAILS}?$skiptoken=", app.base)),
        "{next}"
    );
    let r = get(&app, &format!("{DETAILS}?$top=999"), &token).await;
    assert_eq!(r.body["value"].as_array().unwrap().len(), 250);
    assert!(r.body.get("@odata.nextLink").is_none());
    let r = get(&app, &format!("{DETAILS}?$top=250"), &token).await;
    assert!(
        r.body.get("@odata.nextLink").is_none(),
        "an exactly full last page has no link"
    );

    for (q, says) in [
        ("$top=0", "$top"),
        ("$top=1000", "$top"),
        ("$top=abc", "'abc'"),
        ("$skiptoken=bm9wZQ", "$skiptoken"),
        ("$skiptoken=%%", "percent-encoding"),
        ("$orderby=userPrincipalName", "'$orderby'"),
        ("$top=5&$top=6", "more than once"),
    ] {
        assert_graph_error(
            &get(&app, &format!("{DETAILS}?{q}"), &token).await,
            400,
            "BadRequest",
            says,
        );
    }
}

#[tokio::test]
async fn filters_equal_an_independent_filter_of_the_input() {
    let app = TestApp::start().await;
    let (_, records) = synth_records(&app, 150);
    load(&app, &records).await;
    let token = app.graph_app(TENANT_A, &["AuditLog.Read.All"]);
    let filters: &[(&str, &[(&str, bool)])] = &[
        ("isAdmin eq true", &[("isAdmin", true)]),
        (
            "isMfaRegistered eq false and isSsprEnabled eq true",
            &[("isMfaRegistered", false), ("isSsprEnabled", true)],
        ),
        (
            "(isSsprCapable eq true) and (isAdmin eq false and isMfaCapable eq true)",
            &[
                ("isSsprCapable", true),
                ("isAdmin", false),
                ("isMfaCapable", true),
            ],
        ),
        (
            "ISSYSTEMPREFERREDAUTHENTICATIONMETHODENABLED EQ TRUE AND isSsprRegistered eq false",
            &[
                ("isSystemPreferredAuthenticationMethodEnabled", true),
                ("isSsprRegistered", false),
            ],
        ),
        (
            "isAdmin eq true and isAdmin eq false",
            &[("isAdmin", true), ("isAdmin", false)],
        ),
    ];
    for (text, tests) in filters {
        let want: BTreeSet<String> = records
            .iter()
            .filter(|r| r["tenantId"] == TENANT_A)
            .filter(|r| tests.iter().all(|(p, v)| flag(r, p) == *v))
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect();
        let encoded = text.replace(' ', "%20");
        let (items, _) =
            all_pages(&app, &format!("{DETAILS}?$filter={encoded}&$top=9"), &token).await;
        let got: Vec<String> = items
            .iter()
            .map(|u| u["id"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(got.len(), want.len(), "{text}: no duplicates");
        assert_eq!(got.into_iter().collect::<BTreeSet<_>>(), want, "{text}");
        for u in &items {
            for (p, v) in tests.iter() {
                assert_eq!(u[*p], *v, "{text}: the body agrees with the filter");
            }
        }
    }
    // The demo's form: + for spaces is read too.
    let r = get(
        &app,
        &format!("{DETAILS}?$filter=isAdmin+eq+true&$top=999"),
        &token,
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(
        r.body["value"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["isAdmin"] == true)
    );

    for (q, says) in [
        (
            "isAdmin%20eq%20true%20or%20isMfaRegistered%20eq%20true",
            "'or'",
        ),
        ("isAdmin%20ne%20true", "'ne'"),
        ("userType%20eq%20'guest'", "'userType'"),
        ("isAdmin%20eq%20'yes'", "'yes'"),
        ("isAdmin%20eq", "expected true or false"),
        ("(isAdmin%20eq%20true", "')'"),
        ("", "empty"),
        ("isAdmin%20eq%20true%3B", "';'"),
    ] {
        let r = get(&app, &format!("{DETAILS}?$filter={q}"), &token).await;
        assert_graph_error(&r, 400, "BadRequest", says);
        assert!(
            r.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("$filter")
        );
    }
}

/// Feature counts computed straight from import records, over enabled accounts.
fn feature_counts(records: &[Value], keep: impl Fn(&Value) -> bool) -> (usize, Value) {
    const PASSWORDLESS: &[&str] = &["fido2SecurityKey", "windowsHelloForBusiness"];
    let users: Vec<&Value> = enabled_in(records, TENANT_A).filter(|r| keep(r)).collect();
    let n = |f: &dyn Fn(&Value) -> bool| users.iter().filter(|r| f(r)).count();
    let passwordless = |r: &Value| {
        r["methodsRegistered"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| PASSWORDLESS.contains(&m.as_str().unwrap()))
    };
    let counts = json!([
        {"feature": "ssprRegistered", "userCount": n(&|r| flag(r, "isSsprRegistered"))},
        {"feature": "ssprEnabled", "userCount": n(&|r| flag(r, "isSsprEnabled"))},
        {"feature": "ssprCapable", "userCount": n(&|r| flag(r, "isSsprCapable"))},
        {"feature": "passwordlessCapable", "userCount": n(&passwordless)},
        {"feature": "mfaCapable", "userCount": n(&|r| flag(r, "isMfaCapable"))},
    ]);
    (users.len(), counts)
}

fn method_counts(records: &[Value], keep: impl Fn(&Value) -> bool) -> Value {
    let mut by: BTreeMap<String, u64> = BTreeMap::new();
    for r in enabled_in(records, TENANT_A).filter(|r| keep(r)) {
        for m in r["methodsRegistered"].as_array().unwrap() {
            *by.entry(m.as_str().unwrap().to_string()).or_default() += 1;
        }
    }
    Value::Array(
        by.into_iter()
            .map(|(m, n)| json!({"authenticationMethod": m, "userCount": n}))
            .collect(),
    )
}

#[tokio::test]
async fn registration_summaries_by_feature_and_method() {
    let app = TestApp::start().await;
    let (_, records) = synth_records(&app, 200);
    load(&app, &records).await;
    let token = app.graph_delegated(
        TENANT_A,
        ALICE,
        None,
        "AuditLog.Read.All",
        &[REPORTS_READER],
    );
    let context = |t: &str| format!("{}/beta/$metadata#microsoft.graph.{t}", app.base);
    let guest = |r: &Value| r["userType"] == "guest";
    let admin = |r: &Value| flag(r, "isAdmin");

    let (total, counts) = feature_counts(&records, |_| true);
    let want_all = json!({
        "@odata.context": context("userRegistrationFeatureSummary"),
        "totalUserCount": total,
        "userTypes": "all",
        "userRoles": "all",
        "userRegistrationFeatureCounts": counts,
    });
    for path in [
        format!("{AM}/usersRegisteredByFeature"),
        format!("{AM}/usersRegisteredByFeature()"),
        format!("{AM}/usersRegisteredByFeature(includedUserTypes='all',includedUserRoles='all')"),
        format!(
            "{AM}/microsoft.graph.usersRegisteredByFeature(includedUserTypes='all',includedUserRoles='all')"
        ),
        format!(
            "{AM}/usersRegisteredByFeature(includedUserTypes=@t,includedUserRoles=@r)?@t='all'"
        ),
    ] {
        let r = get(&app, &path, &token).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        assert_eq!(r.body, want_all, "{path}");
        assert_eq!(r.headers["content-type"], GRAPH_CONTENT_TYPE);
    }

    let (total, counts) = feature_counts(&records, |r| !guest(r) && !admin(r));
    let r = get(
        &app,
        &format!("{AM}/usersRegisteredByFeature(includedUserTypes='member',includedUserRoles=microsoft.graph.includedUserRoles'user')"),
        &token,
    )
    .await;
    assert_eq!(
        r.body,
        json!({
            "@odata.context": context("userRegistrationFeatureSummary"),
            "totalUserCount": total,
            "userTypes": "member",
            "userRoles": "user",
            "userRegistrationFeatureCounts": counts,
        })
    );

    for (types, roles, keep) in [
        ("all", "all", &(|_: &Value| true) as &dyn Fn(&Value) -> bool),
        ("guest", "all", &guest),
        ("all", "admin", &admin),
        ("member", "privilegedAdmin", &|r: &Value| {
            !guest(r) && admin(r)
        }),
    ] {
        let r = get(
            &app,
            &format!("{AM}/usersRegisteredByMethod(includedUserTypes='{types}',includedUserRoles='{roles}')"),
            &token,
        )
        .await;
        let total = enabled_in(&records, TENANT_A).filter(|r| keep(r)).count();
        assert_eq!(
            r.body,
            json!({
                "@odata.context": context("userRegistrationMethodSummary"),
                "totalUserCount": total,
                "userTypes": types,
                "userRoles": roles,
                "userRegistrationMethodCounts": method_counts(&records, keep),
            }),
            "{types}/{roles}"
        );
    }
    let r = get(&app, &format!("{AM}/usersRegisteredByMethod"), &token).await;
    assert!(
        r.body["userRegistrationMethodCounts"]
            .as_array()
            .unwrap()
            .len()
            >= 4
    );

    for (path, says) in [
        (
            format!("{AM}/usersRegisteredByFeature(includedUserTypes='robots')"),
            "'robots'",
        ),
        (
            format!("{AM}/usersRegisteredByFeature(includedUserRoles='unknownFutureValue')"),
            "includedUserRoles",
        ),
        (
            format!("{AM}/usersRegisteredByMethod(colour='red')"),
            "'colour'",
        ),
        (
            format!("{AM}/usersRegisteredByMethod(includedUserTypes='all'"),
            "name(param=value",
        ),
        (
            format!("{AM}/usersRegisteredByTelepathy()"),
            "'usersRegisteredByTelepathy'",
        ),
    ] {
        assert_graph_error(&get(&app, &path, &token).await, 400, "BadRequest", says);
    }
    let no_role = app.graph_delegated(TENANT_A, ALICE, None, "AuditLog.Read.All", &[]);
    assert_eq!(
        get(&app, &format!("{AM}/usersRegisteredByFeature"), &no_role)
            .await
            .status,
        403
    );
}
