//! Conformance with the Graph beta schema: every property name and enum value the server
//! emits for signInPreferences, requirements, credentialUserRegistrationCount and the
//! registration summaries is declared in `shared/conformance/graph-beta-mfa-csdl.xml`.

use super::*;
use crate::app::TENANT_A;
use mfalens_core::directory::{PerUserMfaState, UserDefaultAuthenticationMethodType};
use mfalens_core::registration::{
    AuthenticationMethodFeature, IncludedUserRoles, IncludedUserTypes,
};
use std::collections::BTreeSet;

fn csdl() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/conformance/graph-beta-mfa-csdl.xml"
    );
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The `Name` attributes of `<child Name="...">` inside `<kind Name="name"> ... </kind>`.
fn declared(xml: &str, kind: &str, name: &str, child: &str) -> BTreeSet<String> {
    let open = format!("<{kind} Name=\"{name}\"");
    let start = xml
        .find(&open)
        .unwrap_or_else(|| panic!("{kind} {name} is not in the CSDL"));
    let end = start + xml[start..].find(&format!("</{kind}>")).unwrap();
    let block = &xml[start..end];
    let marker = format!("<{child} Name=\"");
    block
        .match_indices(&marker)
        .map(|(i, _)| {
            let rest = &block[i + marker.len()..];
            rest[..rest.find('"').unwrap()].to_string()
        })
        .collect()
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .unwrap()
        .keys()
        .filter(|k| !k.starts_with('@'))
        .cloned()
        .collect()
}

fn assert_subset(emitted: &BTreeSet<String>, schema: &BTreeSet<String>, what: &str) {
    let extra: Vec<_> = emitted.difference(schema).collect();
    assert!(
        extra.is_empty(),
        "{what}: {extra:?} not in the CSDL ({schema:?})"
    );
}

#[tokio::test]
async fn every_emitted_name_and_value_is_in_the_schema() {
    let xml = csdl();
    let app = fixed_app().await;
    let token = app.graph_app(
        TENANT_A,
        &[
            "UserAuthenticationMethod.ReadWrite.All",
            "Policy.ReadWrite.AuthenticationMethod",
            "Reports.Read.All",
            "AuditLog.Read.All",
        ],
    );

    // signInPreferences, through every value of its enum (and null).
    let props = declared(&xml, "ComplexType", "signInPreferences", "Property");
    let methods = declared(
        &xml,
        "EnumType",
        "userDefaultAuthenticationMethodType",
        "Member",
    );
    let path = format!("/beta/users/{ALICE}/authentication/signInPreferences");
    let mut seen = BTreeSet::new();
    for m in UserDefaultAuthenticationMethodType::ALL {
        let body = json!({"userPreferredMethodForSecondaryAuthentication": m.as_str()}).to_string();
        assert_eq!(patch(&app, &path, &token, &body).await.status, 204, "{m:?}");
        let r = get(&app, &path, &token).await;
        assert_subset(&keys(&r.body), &props, "signInPreferences");
        assert_eq!(keys(&r.body), props, "every property is present");
        seen.insert(
            r.body["userPreferredMethodForSecondaryAuthentication"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    assert_eq!(seen, methods, "every member round-trips, and only members");

    // requirements, through every state that can be set.
    let props = declared(
        &xml,
        "ComplexType",
        "strongAuthenticationRequirements",
        "Property",
    );
    let states = declared(&xml, "EnumType", "perUserMfaState", "Member");
    let path = format!("/beta/users/{CAROL}/authentication/requirements");
    for s in PerUserMfaState::ALL {
        if *s == PerUserMfaState::UnknownFutureValue {
            continue;
        }
        let body = json!({"perUserMfaState": s.as_str()}).to_string();
        assert_eq!(patch(&app, &path, &token, &body).await.status, 204);
        let r = get(&app, &path, &token).await;
        assert_eq!(keys(&r.body), props);
        let v = r.body["perUserMfaState"].as_str().unwrap();
        assert!(states.contains(v), "{v}");
    }
    let all: BTreeSet<String> = PerUserMfaState::ALL
        .iter()
        .map(|s| s.as_str().to_string())
        .collect();
    assert_eq!(all, states);

    // credentialUserRegistrationCount and its userRegistrationCount items.
    let mut entity = declared(
        &xml,
        "EntityType",
        "credentialUserRegistrationCount",
        "Property",
    );
    entity.insert("id".into()); // from graph.entity
    let item = declared(&xml, "ComplexType", "userRegistrationCount", "Property");
    let statuses = declared(&xml, "EnumType", "registrationStatusType", "Member");
    let r = get(
        &app,
        "/beta/reports/getCredentialUserRegistrationCount()",
        &token,
    )
    .await;
    assert_eq!(keys(&r.body), BTreeSet::from(["value".to_string()]));
    let v = &r.body["value"][0];
    assert_eq!(keys(v), entity);
    for c in v["userRegistrationCounts"].as_array().unwrap() {
        assert_eq!(keys(c), item);
        let s = c["registrationStatus"].as_str().unwrap();
        assert!(statuses.contains(s), "{s}");
        assert!(c["registrationCount"].is_u64(), "Int64 as a JSON number");
    }
    assert!(v["totalUserCount"].is_u64());

    // Registration summaries: the enum values of their parameters and features.
    let features = declared(&xml, "EnumType", "authenticationMethodFeature", "Member");
    let types = declared(&xml, "EnumType", "includedUserTypes", "Member");
    let roles = declared(&xml, "EnumType", "includedUserRoles", "Member");
    let ours = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
    assert_eq!(
        ours(
            &AuthenticationMethodFeature::ALL
                .iter()
                .map(|f| f.as_str())
                .collect::<Vec<_>>()
        ),
        features
    );
    assert_eq!(
        ours(
            &IncludedUserTypes::ALL
                .iter()
                .map(|f| f.as_str())
                .collect::<Vec<_>>()
        ),
        types
    );
    assert_eq!(
        ours(
            &IncludedUserRoles::ALL
                .iter()
                .map(|f| f.as_str())
                .collect::<Vec<_>>()
        ),
        roles
    );
    let r = get(
        &app,
        "/beta/reports/authenticationMethods/usersRegisteredByFeature(includedUserTypes='guest',includedUserRoles='admin')",
        &token,
    )
    .await;
    assert!(types.contains(r.body["userTypes"].as_str().unwrap()));
    assert!(roles.contains(r.body["userRoles"].as_str().unwrap()));
    for c in r.body["userRegistrationFeatureCounts"].as_array().unwrap() {
        assert!(features.contains(c["feature"].as_str().unwrap()));
    }
}
