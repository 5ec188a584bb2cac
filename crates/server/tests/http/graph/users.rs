//! `/users/{id|upn}/authentication/signInPreferences`, `.../requirements` and
//! `/me/authentication/requirements`: exact bodies and headers, PATCH semantics, permissions,
//! tenant isolation, and bad input that leaves the directory as it was.

use super::*;
use crate::app::{TENANT_A, TENANT_B};
use mfalens_core::directory::{PerUserMfaState, UserDefaultAuthenticationMethodType};
use mfalens_server::auth::policy::{
    AUTHENTICATION_ADMINISTRATOR, GLOBAL_ADMINISTRATOR, GLOBAL_READER,
};
use mfalens_store::UserKey;

const READ_PREFS: &str = "UserAuthenticationMethod.Read.All";
const WRITE_PREFS: &str = "UserAuthenticationMethod.ReadWrite.All";

fn prefs(key: &str) -> String {
    format!("/beta/users/{key}/authentication/signInPreferences")
}

fn reqs(key: &str) -> String {
    format!("/beta/users/{key}/authentication/requirements")
}

async fn stored(app: &TestApp, tenant: &str, id: &str) -> DirectoryUser {
    app.store
        .user(tenant, &UserKey::Id(id.into()))
        .await
        .unwrap()
        .unwrap()
}

#[tokio::test]
async fn sign_in_preferences_by_id_and_by_upn_with_graph_headers() {
    let app = fixed_app().await;
    let token = app.graph_app(TENANT_A, &[READ_PREFS]);
    let want = json!({
        "@odata.context": format!("{}/beta/$metadata#users('{ALICE}')/authentication/signInPreferences", app.base),
        "isSystemPreferredAuthenticationMethodEnabled": false,
        "userPreferredMethodForSecondaryAuthentication": "push",
    });
    for key in [
        ALICE.to_string(),
        ALICE.to_uppercase(),
        "Alice%40Contoso.example".into(),
        "alice%40contoso.EXAMPLE".into(),
        "alice@contoso.example".into(),
    ] {
        let r = get(&app, &prefs(&key), &token).await;
        assert_eq!(r.status, 200, "{key}: {}", r.body);
        assert_eq!(r.body, want, "{key}");
    }

    // Headers: content type, OData version, a fresh request id, the client's id echoed.
    let resp = app
        .client
        .get(app.url(&prefs(ALICE)))
        .bearer_auth(&token)
        .header("client-request-id", "my-correlation-1")
        .send()
        .await
        .unwrap();
    let h = resp.headers().clone();
    assert_eq!(h["content-type"], GRAPH_CONTENT_TYPE);
    assert_eq!(h["odata-version"], "4.0");
    assert_eq!(h["client-request-id"], "my-correlation-1");
    let rid = h["request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(rid).is_ok(), "{rid}");
    assert!(h.contains_key("x-ms-ags-diagnostic") && h.contains_key("date"));
    let text = resp.text().await.unwrap();
    assert!(
        text.starts_with("{\"@odata.context\""),
        "context first: {text}"
    );
    let r = get(&app, &prefs(ALICE), &token).await;
    assert_eq!(r.headers["client-request-id"], r.headers["request-id"]);
    assert_ne!(r.headers["request-id"], rid, "a new id per request");

    // Carol has no preferred method: null, not absent.
    let r = get(&app, &prefs(CAROL), &token).await;
    assert_eq!(
        r.body["userPreferredMethodForSecondaryAuthentication"],
        Value::Null
    );
    assert!(
        r.body
            .as_object()
            .unwrap()
            .contains_key("userPreferredMethodForSecondaryAuthentication")
    );
}

#[tokio::test]
async fn patching_preferences_changes_only_what_is_sent() {
    let app = fixed_app().await;
    let token = app.graph_app(TENANT_A, &[WRITE_PREFS]);
    let r = patch(
        &app,
        &prefs("alice%40contoso.example"),
        &token,
        r#"{"userPreferredMethodForSecondaryAuthentication":"sms"}"#,
    )
    .await;
    assert_eq!((r.status, &r.body), (204, &Value::Null));
    assert!(r.headers.contains_key("request-id"));
    let u = stored(&app, TENANT_A, ALICE).await;
    assert_eq!(
        u.user_preferred_method_for_secondary_authentication,
        Some(UserDefaultAuthenticationMethodType::Sms)
    );
    assert!(!u.is_system_preferred_authentication_method_enabled);
    assert_eq!(u.last_updated, app.now());

    let r = patch(
        &app,
        &prefs(ALICE),
        &token,
        r##"{"@odata.type":"#microsoft.graph.signInPreferences","isSystemPreferredAuthenticationMethodEnabled":true}"##,
    )
    .await;
    assert_eq!(r.status, 204);
    let r = get(&app, &prefs(ALICE), &token).await;
    assert_eq!(r.body["isSystemPreferredAuthenticationMethodEnabled"], true);
    assert_eq!(
        r.body["userPreferredMethodForSecondaryAuthentication"],
        "sms"
    );

    let r = patch(
        &app,
        &prefs(ALICE),
        &token,
        r#"{"userPreferredMethodForSecondaryAuthentication":null}"#,
    )
    .await;
    assert_eq!(r.status, 204);
    let r = get(&app, &prefs(ALICE), &token).await;
    assert_eq!(
        r.body["userPreferredMethodForSecondaryAuthentication"],
        Value::Null
    );

    // An empty object changes nothing, not even the timestamp.
    app.clock.set(app.now() + Duration::minutes(5));
    let before = stored(&app, TENANT_A, ALICE).await;
    assert_eq!(patch(&app, &prefs(ALICE), &token, "{}").await.status, 204);
    assert_eq!(stored(&app, TENANT_A, ALICE).await, before);
}

#[tokio::test]
async fn requirements_read_and_write_with_enabled_becoming_enforced() {
    let app = fixed_app().await;
    let token = app.graph_app(TENANT_A, &["Policy.ReadWrite.AuthenticationMethod"]);
    let r = get(&app, &reqs("bob%40contoso.example"), &token).await;
    assert_eq!(
        r.body,
        json!({
            "@odata.context": format!("{}/beta/$metadata#users('{BOB}')/authentication/requirements", app.base),
            "perUserMfaState": "disabled",
        })
    );
    assert_eq!(r.headers["content-type"], GRAPH_CONTENT_TYPE);

    // Bob has a method registered: enabled means enforced. Carol has none: enabled stays.
    for (user, want) in [(BOB, "enforced"), (CAROL, "enabled")] {
        let r = patch(
            &app,
            &reqs(user),
            &token,
            r#"{"perUserMfaState":"enabled"}"#,
        )
        .await;
        assert_eq!(r.status, 204, "{}", r.body);
        let r = get(&app, &reqs(user), &token).await;
        assert_eq!(r.body["perUserMfaState"], want, "{user}");
    }
    assert_eq!(
        patch(
            &app,
            &reqs(BOB),
            &token,
            r#"{"perUserMfaState":"disabled"}"#
        )
        .await
        .status,
        204
    );
    assert_eq!(
        stored(&app, TENANT_A, BOB).await.per_user_mfa_state,
        PerUserMfaState::Disabled
    );
    // Reading needs only Policy.Read.All.
    let reader = app.graph_app(TENANT_A, &["Policy.Read.All"]);
    assert_eq!(get(&app, &reqs(CAROL), &reader).await.status, 200);
    assert_graph_error(
        &patch(
            &app,
            &reqs(CAROL),
            &reader,
            r#"{"perUserMfaState":"enforced"}"#,
        )
        .await,
        403,
        "Authorization_RequestDenied",
        "Policy.ReadWrite.AuthenticationMethod",
    );
}

#[tokio::test]
async fn me_is_the_signed_in_user_and_only_with_a_delegated_token() {
    let app = fixed_app().await;
    let me = "/beta/me/authentication/requirements";
    let alice = app.graph_delegated(TENANT_A, ALICE, Some(ALICE_UPN), "Policy.Read.All", &[]);
    let r = get(&app, me, &alice).await;
    assert_eq!(
        r.body,
        json!({
            "@odata.context": format!("{}/beta/$metadata#users('{ALICE}')/authentication/requirements", app.base),
            "perUserMfaState": "disabled",
        })
    );

    let app_token = app.graph_app(TENANT_A, &["Policy.ReadWrite.AuthenticationMethod"]);
    for r in [
        get(&app, me, &app_token).await,
        patch(&app, me, &app_token, r#"{"perUserMfaState":"enforced"}"#).await,
    ] {
        assert_graph_error(&r, 400, "BadRequest", "");
        assert_eq!(
            r.body["error"]["message"],
            "/me request is only valid with delegated authentication flow."
        );
    }

    let ghost = app.graph_delegated(
        TENANT_A,
        "0e0e0e0e-0000-4000-8000-000000000000",
        None,
        "Policy.Read.All",
        &[],
    );
    assert_graph_error(
        &get(&app, me, &ghost).await,
        404,
        "Request_ResourceNotFound",
        "0e0e0e0e",
    );

    // Writing one's own state needs the ReadWrite permission, and no admin role.
    assert_eq!(
        patch(&app, me, &alice, r#"{"perUserMfaState":"enforced"}"#)
            .await
            .status,
        403
    );
    let writer = app.graph_delegated(
        TENANT_A,
        ALICE,
        None,
        "Policy.ReadWrite.AuthenticationMethod",
        &[],
    );
    assert_eq!(
        patch(&app, me, &writer, r#"{"perUserMfaState":"enabled"}"#)
            .await
            .status,
        204
    );
    assert_eq!(
        get(&app, me, &writer).await.body["perUserMfaState"],
        "enforced",
        "Alice has a method registered"
    );
    // Alice's token in tenant B does not reach tenant A's Alice.
    let elsewhere = app.graph_delegated(TENANT_B, ALICE, None, "Policy.Read.All", &[]);
    assert_eq!(get(&app, me, &elsewhere).await.status, 404);
}

#[tokio::test]
async fn self_and_others_delegated_and_application_permissions() {
    let app = fixed_app().await;
    let d = |oid: &str, upn: Option<&str>, scopes: &str, roles: &[Role]| {
        app.graph_delegated(TENANT_A, oid, upn, scopes, roles)
    };
    let read = "UserAuthenticationMethod.Read";
    let write = "UserAuthenticationMethod.ReadWrite";
    let alice_reader = d(ALICE, Some(ALICE_UPN), read, &[]);
    let alice_writer = d(ALICE, Some(ALICE_UPN), write, &[]);
    let auth_admin = d(BOB, None, write, &[AUTHENTICATION_ADMINISTRATOR]);
    let global_reader = d(
        BOB,
        None,
        "UserAuthenticationMethod.ReadWrite.All",
        &[GLOBAL_READER],
    );
    let global_admin = d(
        BOB,
        None,
        "Policy.ReadWrite.AuthenticationMethod",
        &[GLOBAL_ADMINISTRATOR],
    );
    let wrong_scope = d(ALICE, Some(ALICE_UPN), "User.Read", &[GLOBAL_ADMINISTRATOR]);
    let app_read = app.graph_app(TENANT_A, &[read]);
    let app_other = app.graph_app(TENANT_A, &["User.Read.All"]);
    let body = r#"{"isSystemPreferredAuthenticationMethodEnabled":true}"#;

    let cases: Vec<(&str, &str, String, u16)> = vec![
        // Self, by id and by the UPN the token carries (any case): no role needed.
        ("self by id", &alice_reader, prefs(ALICE), 200),
        (
            "self by upn",
            &alice_reader,
            prefs("alice%40CONTOSO.example"),
            200,
        ),
        ("other without role", &alice_reader, prefs(CAROL), 403),
        (
            "other by upn without role",
            &alice_reader,
            prefs("carol%40contoso.example"),
            403,
        ),
        (
            "unknown other without role: no existence leak",
            &alice_reader,
            prefs("nobody%40contoso.example"),
            403,
        ),
        (
            "authentication admin reads other",
            &auth_admin,
            prefs(CAROL),
            200,
        ),
        (
            "global reader reads other",
            &global_reader,
            prefs(CAROL),
            200,
        ),
        ("wrong scope", &wrong_scope, prefs(ALICE), 403),
        ("app with permission", &app_read, prefs(CAROL), 200),
        ("app without permission", &app_other, prefs(CAROL), 403),
        ("no token", "", prefs(ALICE), 401),
        (
            "requirements: self needs no role",
            &global_admin,
            reqs(BOB),
            200,
        ),
        (
            "requirements: admin reads other",
            &global_admin,
            reqs(CAROL),
            200,
        ),
    ];
    for (what, token, path, want) in cases {
        let r = get(&app, &path, token).await;
        assert_eq!(r.status, want, "{what}: {}", r.body);
        if want == 403 {
            assert_eq!(
                r.body["error"]["code"], "Authorization_RequestDenied",
                "{what}"
            );
        }
        if want == 401 {
            assert_eq!(r.body["error"]["code"], "InvalidAuthenticationToken");
            assert!(r.headers.contains_key("www-authenticate"));
        }
    }
    let writes: Vec<(&str, &str, String, u16)> = vec![
        ("self with ReadWrite", &alice_writer, prefs(ALICE), 204),
        ("self with Read only", &alice_reader, prefs(ALICE), 403),
        ("other without role", &alice_writer, prefs(CAROL), 403),
        (
            "authentication admin writes other",
            &auth_admin,
            prefs(CAROL),
            204,
        ),
        (
            "global reader may not write other",
            &global_reader,
            prefs(CAROL),
            403,
        ),
        ("app with Read only", &app_read, prefs(CAROL), 403),
    ];
    for (what, token, path, want) in writes {
        let r = patch(&app, &path, token, body).await;
        assert_eq!(r.status, want, "{what}: {}", r.body);
    }
    assert!(
        stored(&app, TENANT_A, CAROL)
            .await
            .is_system_preferred_authentication_method_enabled
    );
}

#[tokio::test]
async fn another_tenants_user_is_not_found() {
    let app = fixed_app().await;
    let a = app.graph_app(
        TENANT_A,
        &[WRITE_PREFS, "Policy.ReadWrite.AuthenticationMethod"],
    );
    let b = app.graph_app(
        TENANT_B,
        &[WRITE_PREFS, "Policy.ReadWrite.AuthenticationMethod"],
    );
    let before = stored(&app, TENANT_B, DAVE).await;
    for path in [prefs(DAVE), prefs("dave%40fabrikam.example"), reqs(DAVE)] {
        assert_graph_error(
            &get(&app, &path, &a).await,
            404,
            "Request_ResourceNotFound",
            "da",
        );
        assert_eq!(get(&app, &path, &b).await.status, 200, "{path}");
    }
    assert_eq!(
        patch(
            &app,
            &prefs(DAVE),
            &a,
            r#"{"userPreferredMethodForSecondaryAuthentication":"oath"}"#
        )
        .await
        .status,
        404
    );
    assert_eq!(
        patch(&app, &reqs(DAVE), &a, r#"{"perUserMfaState":"disabled"}"#)
            .await
            .status,
        404
    );
    assert_eq!(stored(&app, TENANT_B, DAVE).await, before);
    let r = get(&app, &reqs(DAVE), &b).await;
    assert_eq!(
        r.body["perUserMfaState"], "enforced",
        "enabled + registered on import"
    );
}

#[tokio::test]
async fn bad_keys_and_bad_bodies_are_refused_and_change_nothing() {
    let app = TestApp::start_with(mfalens_server::ServerConfig {
        max_body_bytes: 64 * 1024 * 1024,
        ..Default::default()
    })
    .await;
    load(&app, &fixed_records()).await;
    let token = app.graph_app(
        TENANT_A,
        &[WRITE_PREFS, "Policy.ReadWrite.AuthenticationMethod"],
    );
    let snapshot = app
        .store
        .list_users(TENANT_A, &vec![], None, 100)
        .await
        .unwrap();
    app.clock.set(app.now() + Duration::minutes(1));

    let long_upn = format!("{}%40contoso.example", "a".repeat(300));
    let keys: Vec<(String, u16, &str, &str)> = vec![
        ("%zz".into(), 400, "Request_BadRequest", "'%zz'"),
        (
            "alice%4".into(),
            400,
            "Request_BadRequest",
            "percent-encoding",
        ),
        (
            "%ff%40contoso.example".into(),
            400,
            "Request_BadRequest",
            "UTF-8",
        ),
        ("12345".into(), 400, "Request_BadRequest", "'12345'"),
        (
            "not-a-guid".into(),
            400,
            "Request_BadRequest",
            "'not-a-guid'",
        ),
        (
            "a11ce000-0000-4000-8000-00000000000".into(),
            400,
            "Request_BadRequest",
            "a11ce000",
        ),
        (
            "a%40%40contoso.example".into(),
            400,
            "Request_BadRequest",
            "a@@contoso.example",
        ),
        (
            "%40contoso.example".into(),
            400,
            "Request_BadRequest",
            "'@contoso.example'",
        ),
        ("alice%40".into(), 400, "Request_BadRequest", "'alice@'"),
        (
            "al%20ice%40contoso.example".into(),
            400,
            "Request_BadRequest",
            "al ice@",
        ),
        (
            "al%07ice%40contoso.example".into(),
            400,
            "Request_BadRequest",
            "al\\u{7}ice@",
        ),
        (long_upn, 400, "Request_BadRequest", "aaaa"),
        (
            "nobody%40contoso.example".into(),
            404,
            "Request_ResourceNotFound",
            "nobody@contoso.example",
        ),
        (
            "0e0e0e0e-0000-4000-8000-000000000000".into(),
            404,
            "Request_ResourceNotFound",
            "0e0e0e0e",
        ),
    ];
    for (key, status, code, says) in &keys {
        for path in [prefs(key), reqs(key)] {
            assert_graph_error(&get(&app, &path, &token).await, *status, code, says);
        }
        let r = patch(
            &app,
            &prefs(key),
            &token,
            r#"{"isSystemPreferredAuthenticationMethodEnabled":true}"#,
        )
        .await;
        assert_graph_error(&r, *status, code, says);
        let r = patch(
            &app,
            &reqs(key),
            &token,
            r#"{"perUserMfaState":"enforced"}"#,
        )
        .await;
        assert_graph_error(&r, *status, code, says);
    }

    let huge = format!(
        r#"{{"userPreferredMethodForSecondaryAuthentication":"{}"}}"#,
        "x".repeat(100_000)
    );
    let bodies: Vec<(String, &str, u16, &str, &str)> = vec![
        (
            prefs(ALICE),
            r#"{"colour":"red"}"#,
            400,
            "BadRequest",
            "'colour'",
        ),
        (
            prefs(ALICE),
            r#"{"isSystemPreferredAuthenticationMethodEnabled":true,"colour":"red"}"#,
            400,
            "BadRequest",
            "'colour'",
        ),
        (
            prefs(ALICE),
            r#"{"isSystemPreferredAuthenticationMethodEnabled":"true"}"#,
            400,
            "BadRequest",
            "isSystemPreferredAuthenticationMethodEnabled",
        ),
        (
            prefs(ALICE),
            r#"{"userPreferredMethodForSecondaryAuthentication":3}"#,
            400,
            "BadRequest",
            "userPreferredMethodForSecondaryAuthentication",
        ),
        (
            prefs(ALICE),
            r#"{"userPreferredMethodForSecondaryAuthentication":"pigeon"}"#,
            400,
            "BadRequest",
            "'pigeon'",
        ),
        (
            prefs(ALICE),
            r#"{"isSystemPreferredAuthenticationMethodEnabled":true,"userPreferredMethodForSecondaryAuthentication":"pigeon"}"#,
            400,
            "BadRequest",
            "'pigeon'",
        ),
        (
            prefs(ALICE),
            r##"{"@odata.type":"#microsoft.graph.user","isSystemPreferredAuthenticationMethodEnabled":true}"##,
            400,
            "BadRequest",
            "microsoft.graph.user",
        ),
        (prefs(ALICE), "", 400, "BadRequest", "empty"),
        (prefs(ALICE), "  \n", 400, "BadRequest", "empty"),
        (prefs(ALICE), "{", 400, "BadRequest", "not valid JSON"),
        (prefs(ALICE), "[]", 400, "BadRequest", "JSON object"),
        (prefs(ALICE), "null", 400, "BadRequest", "JSON object"),
        (prefs(ALICE), &huge, 413, "RequestEntityTooLarge", "65536"),
        (
            reqs(ALICE),
            r#"{"perUserMfaState":"on"}"#,
            400,
            "BadRequest",
            "'on'",
        ),
        (
            reqs(ALICE),
            r#"{"perUserMfaState":1}"#,
            400,
            "BadRequest",
            "perUserMfaState",
        ),
        (
            reqs(ALICE),
            r#"{"perUserMfaState":null}"#,
            400,
            "BadRequest",
            "perUserMfaState",
        ),
        (
            reqs(ALICE),
            r#"{"perUserMfaState":"unknownFutureValue"}"#,
            400,
            "BadRequest",
            "unknownFutureValue",
        ),
        (
            reqs(ALICE),
            r#"{"perUserMfaState":"enforced","extra":1}"#,
            400,
            "BadRequest",
            "'extra'",
        ),
        (reqs(ALICE), "", 400, "BadRequest", "empty"),
        (
            "/beta/me/authentication/requirements".into(),
            r#"{"perUserMfaState":"enforced"}"#,
            400,
            "BadRequest",
            "delegated",
        ),
    ];
    for (path, body, status, code, says) in &bodies {
        let r = patch(&app, path, &token, body).await;
        assert_graph_error(&r, *status, code, says);
    }

    // Wrong or missing media type, compressed bodies.
    let ok = br#"{"isSystemPreferredAuthenticationMethodEnabled":true}"#.to_vec();
    for (ctype, says) in [
        ("text/plain", "'text/plain'"),
        ("application/x-www-form-urlencoded", "form-urlencoded"),
        ("", "no Content-Type"),
    ] {
        let r = send(
            &app,
            Method::PATCH,
            &prefs(ALICE),
            &token,
            Some((ctype, ok.clone())),
        )
        .await;
        assert_graph_error(&r, 415, "UnsupportedMediaType", says);
    }
    let r = app
        .client
        .patch(app.url(&prefs(ALICE)))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .header("content-encoding", "gzip")
        .body(ok.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    // Methods the resource does not have.
    for m in [Method::PUT, Method::DELETE, Method::POST] {
        let r = send(
            &app,
            m.clone(),
            &prefs(ALICE),
            &token,
            Some(("application/json", ok.clone())),
        )
        .await;
        assert_graph_error(&r, 405, "BadRequest", m.as_str());
    }

    let after = app
        .store
        .list_users(TENANT_A, &vec![], None, 100)
        .await
        .unwrap();
    assert_eq!(after, snapshot, "nothing was written");

    // And a good request still works afterwards (the refusals were not a broken route).
    let r = send(
        &app,
        Method::PATCH,
        &prefs(ALICE),
        &token,
        Some(("application/json; charset=utf-8", ok)),
    )
    .await;
    assert_eq!(r.status, 204);
}
