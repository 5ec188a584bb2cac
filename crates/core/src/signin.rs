//! A sign-in event as mfalens keeps it, and how it is read from the shapes real exports take:
//! Graph beta `signIn` objects, Azure Monitor `SignInLogs` records (the envelope around
//! `properties`), and Log Analytics rows (PascalCase columns, nested JSON as strings).

use crate::time::parse_datetime;
use chrono::{DateTime, Utc};
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum AuthenticationRequirement {
    SingleFactorAuthentication,
    MultiFactorAuthentication,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ConditionalAccessStatus {
    Success,
    Failure,
    NotApplied,
    UnknownFutureValue,
}

/// `authenticationProtocol` (Graph `protocolType`); only SAML matters to a metric, the rest
/// are kept so an unknown value can be told apart from a known one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum AuthenticationProtocol {
    None,
    OAuth2,
    Ropc,
    WsFederation,
    Saml20,
    DeviceCode,
    AuthenticationTransfer,
    NativeAuth,
    Implicit,
    UnknownFutureValue,
}

/// What one step of `authenticationDetails` was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum StepKind {
    Primary,
    MultiFactor,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthStep {
    pub kind: StepKind,
    pub succeeded: bool,
}

/// One sign-in, normalised. Every field a classification rule reads is here; nothing else is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SignInEvent {
    pub id: String,
    pub tenant_id: String,
    pub created: DateTime<Utc>,
    pub user_id: Option<String>,
    pub user_principal_name: Option<String>,
    pub app_id: Option<String>,
    pub app_display_name: Option<String>,
    pub resource_id: Option<String>,
    pub is_interactive: bool,
    pub authentication_requirement: AuthenticationRequirement,
    /// 0 for success; an Entra AADSTS code otherwise.
    pub error_code: i64,
    pub failure_reason: Option<String>,
    pub conditional_access_status: ConditionalAccessStatus,
    pub device_compliant: bool,
    pub device_managed: bool,
    pub protocol: Option<AuthenticationProtocol>,
    pub steps: Vec<AuthStep>,
}

/// Why one record could not be taken. Each case names the field and what was wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("not valid JSON: {0}")]
    Syntax(String),
    #[error("missing required field '{0}'")]
    Missing(&'static str),
    #[error("field '{field}' has unknown value '{value}' (expected one of: {expected})")]
    UnknownEnum {
        field: &'static str,
        value: String,
        expected: &'static str,
    },
    #[error("field '{field}': {message}")]
    BadValue {
        field: &'static str,
        message: String,
    },
    #[error(
        "no tenant: the record has no tenantId/homeTenantId/resourceTenantId and none was given"
    )]
    NoTenant,
    #[error("record belongs to tenant {record} but this upload may only write tenant(s) {allowed}")]
    ForeignTenant { record: String, allowed: String },
}

impl SignInEvent {
    /// Parses one record. `default_tenant` is used when the record names no tenant.
    pub fn from_json(
        json: &[u8],
        default_tenant: Option<&str>,
    ) -> Result<SignInEvent, RecordError> {
        let raw: RawSignIn<'_> =
            serde_json::from_slice(json).map_err(|e| RecordError::Syntax(e.to_string()))?;
        raw.normalise(default_tenant)
    }
}

/// The raw record: camelCase (Graph, Azure Monitor) and PascalCase (Log Analytics) keys.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct RawSignIn<'a> {
    #[serde(borrow, alias = "Id")]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, alias = "CreatedDateTime")]
    created_date_time: Option<Cow<'a, str>>,
    #[serde(borrow, alias = "TimeGenerated")]
    time: Option<Cow<'a, str>>,
    #[serde(borrow, alias = "TenantId")]
    tenant_id: Option<Cow<'a, str>>,
    #[serde(borrow, alias = "HomeTenantId")]
    home_tenant_id: Option<Cow<'a, str>>,
    #[serde(borrow, alias = "ResourceTenantId")]
    resource_tenant_id: Option<Cow<'a, str>>,
    #[serde(borrow, alias = "UserId")]
    user_id: Option<Cow<'a, str>>,
    #[serde(borrow, alias = "UserPrincipalName")]
    user_principal_name: Option<Cow<'a, str>>,
    #[serde(borrow, alias = "AppId")]
    app_id: Option<Cow<'a, str>>,
    #[serde(borrow, alias = "AppDisplayName")]
    app_display_name: Option<Cow<'a, str>>,
    #[serde(borrow, alias = "ResourceId", alias = "resourceId")]
    resource_id: Option<Cow<'a, str>>,
    #[serde(alias = "IsInteractive")]
    is_interactive: Option<FlexBool>,
    #[serde(borrow, alias = "AuthenticationRequirement")]
    authentication_requirement: Option<Cow<'a, str>>,
    #[serde(alias = "Status")]
    status: Option<Embedded<RawStatus>>,
    #[serde(alias = "ResultType")]
    result_type: Option<FlexInt>,
    #[serde(alias = "ResultDescription")]
    result_description: Option<String>,
    #[serde(alias = "AuthenticationDetails")]
    authentication_details: Option<Embedded<Vec<RawStep>>>,
    #[serde(borrow, alias = "ConditionalAccessStatus")]
    conditional_access_status: Option<Cow<'a, str>>,
    #[serde(alias = "DeviceDetail")]
    device_detail: Option<Embedded<RawDevice>>,
    #[serde(borrow, alias = "AuthenticationProtocol")]
    authentication_protocol: Option<Cow<'a, str>>,
    #[serde(borrow, alias = "Properties")]
    properties: Option<Box<RawSignIn<'a>>>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct RawStatus {
    #[serde(alias = "ErrorCode")]
    error_code: Option<FlexInt>,
    #[serde(alias = "FailureReason")]
    failure_reason: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct RawStep {
    #[serde(alias = "AuthenticationStepRequirement")]
    authentication_step_requirement: Option<String>,
    #[serde(alias = "Succeeded")]
    succeeded: Option<FlexBool>,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct RawDevice {
    #[serde(alias = "IsCompliant")]
    is_compliant: Option<FlexBool>,
    #[serde(alias = "IsManaged")]
    is_managed: Option<FlexBool>,
}

impl RawSignIn<'_> {
    fn normalise(self, default_tenant: Option<&str>) -> Result<SignInEvent, RecordError> {
        // An Azure Monitor record wraps the sign-in in `properties`; its envelope carries the
        // tenant that exported it, the time and the result code.
        if let Some(inner) = self.properties {
            let mut inner = *inner;
            if nonblank(&self.tenant_id).is_some() {
                inner.tenant_id = self.tenant_id;
            }
            if nonblank(&inner.created_date_time).is_none() {
                inner.created_date_time = self.time.or(self.created_date_time);
            }
            if inner.result_type.is_none() {
                inner.result_type = self.result_type;
            }
            if inner.result_description.is_none() {
                inner.result_description = self.result_description;
            }
            return inner.normalise(default_tenant);
        }
        let id = nonblank(&self.id).ok_or(RecordError::Missing("id"))?;
        let when = nonblank(&self.created_date_time)
            .or(nonblank(&self.time))
            .ok_or(RecordError::Missing("createdDateTime"))?;
        let created = parse_datetime(when).map_err(|e| RecordError::BadValue {
            field: "createdDateTime",
            message: e.to_string(),
        })?;
        let tenant_id = nonblank(&self.tenant_id)
            .or(nonblank(&self.home_tenant_id))
            .or(nonblank(&self.resource_tenant_id))
            .or(default_tenant)
            .ok_or(RecordError::NoTenant)?
            .to_ascii_lowercase();
        let status = self.status.map(|e| e.0).unwrap_or_default();
        let error_code = status
            .error_code
            .or(self.result_type)
            .map(|c| c.0)
            .unwrap_or(0);
        let failure_reason = status.failure_reason.or(self.result_description);
        let device = self.device_detail.map(|e| e.0).unwrap_or_default();
        let steps = self
            .authentication_details
            .map(|e| e.0)
            .unwrap_or_default()
            .into_iter()
            .map(|s| AuthStep {
                kind: step_kind(s.authentication_step_requirement.as_deref()),
                succeeded: s.succeeded.is_some_and(|b| b.0),
            })
            .collect();
        Ok(SignInEvent {
            id: id.to_ascii_lowercase(),
            tenant_id,
            created,
            user_id: nonblank(&self.user_id).map(str::to_ascii_lowercase),
            user_principal_name: nonblank(&self.user_principal_name).map(str::to_string),
            app_id: nonblank(&self.app_id).map(str::to_ascii_lowercase),
            app_display_name: nonblank(&self.app_display_name).map(str::to_string),
            resource_id: nonblank(&self.resource_id).map(str::to_ascii_lowercase),
            is_interactive: self.is_interactive.is_some_and(|b| b.0),
            authentication_requirement: parse_requirement(nonblank(
                &self.authentication_requirement,
            ))?,
            error_code,
            failure_reason,
            conditional_access_status: parse_ca_status(nonblank(&self.conditional_access_status))?,
            device_compliant: device.is_compliant.is_some_and(|b| b.0),
            device_managed: device.is_managed.is_some_and(|b| b.0),
            protocol: parse_protocol(nonblank(&self.authentication_protocol))?,
            steps,
        })
    }
}

fn nonblank<'s>(v: &'s Option<Cow<'_, str>>) -> Option<&'s str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Exports differ in capitalisation (`multiFactorAuthentication`, `MultifactorAuthentication`),
/// so enum values are compared ignoring case (without allocating: this runs per record).
fn parse_requirement(v: Option<&str>) -> Result<AuthenticationRequirement, RecordError> {
    match v {
        None => Ok(AuthenticationRequirement::SingleFactorAuthentication),
        Some(s) if s.eq_ignore_ascii_case("singleFactorAuthentication") => {
            Ok(AuthenticationRequirement::SingleFactorAuthentication)
        }
        Some(s) if s.eq_ignore_ascii_case("multiFactorAuthentication") => {
            Ok(AuthenticationRequirement::MultiFactorAuthentication)
        }
        Some(s) => Err(RecordError::UnknownEnum {
            field: "authenticationRequirement",
            value: s.to_string(),
            expected: "singleFactorAuthentication, multiFactorAuthentication",
        }),
    }
}

fn parse_ca_status(v: Option<&str>) -> Result<ConditionalAccessStatus, RecordError> {
    use ConditionalAccessStatus as C;
    let Some(s) = v else {
        return Ok(C::NotApplied);
    };
    [
        ("notApplied", C::NotApplied),
        ("success", C::Success),
        ("failure", C::Failure),
        ("unknownFutureValue", C::UnknownFutureValue),
    ]
    .into_iter()
    .find(|(name, _)| s.eq_ignore_ascii_case(name))
    .map(|(_, c)| c)
    .ok_or_else(|| RecordError::UnknownEnum {
        field: "conditionalAccessStatus",
        value: s.to_string(),
        expected: "success, failure, notApplied, unknownFutureValue",
    })
}

fn parse_protocol(v: Option<&str>) -> Result<Option<AuthenticationProtocol>, RecordError> {
    use AuthenticationProtocol as P;
    let Some(s) = v else { return Ok(None) };
    let known = [
        ("none", P::None),
        ("oAuth2", P::OAuth2),
        ("ropc", P::Ropc),
        ("wsFederation", P::WsFederation),
        ("saml20", P::Saml20),
        ("deviceCode", P::DeviceCode),
        ("authenticationTransfer", P::AuthenticationTransfer),
        ("nativeAuth", P::NativeAuth),
        ("unknownFutureValue", P::UnknownFutureValue),
    ];
    if let Some((_, p)) = known.into_iter().find(|(n, _)| s.eq_ignore_ascii_case(n)) {
        return Ok(Some(p));
    }
    // Graph lists several implicit-flow members (implicitAccessTokenAndGetResponseMode, ...).
    if s.len() >= 8 && s[..8].eq_ignore_ascii_case("implicit") {
        return Ok(Some(P::Implicit));
    }
    Err(RecordError::UnknownEnum {
        field: "authenticationProtocol",
        value: s.to_string(),
        expected: "none, oAuth2, ropc, wsFederation, saml20, deviceCode, \
                   authenticationTransfer, nativeAuth, implicit*, unknownFutureValue",
    })
}

/// `authenticationStepRequirement` is free text in exports ("Primary authentication",
/// "Multi-factor authentication", "Multifactor authentication", "MFA"): compared on its
/// letters and digits, ignoring case, punctuation and spaces.
fn step_kind(v: Option<&str>) -> StepKind {
    let text = v.unwrap_or_default();
    let normal = |c: u8| c.is_ascii_alphanumeric().then(|| c.to_ascii_lowercase());
    let (mut stack, mut heap) = ([0u8; 64], Vec::new());
    let norm: &[u8] = if text.len() <= stack.len() {
        let mut n = 0;
        for c in text.bytes().filter_map(normal) {
            stack[n] = c;
            n += 1;
        }
        &stack[..n]
    } else {
        heap.extend(text.bytes().filter_map(normal));
        &heap
    };
    let has = |w: &[u8]| norm.windows(w.len()).any(|x| x == w);
    if has(b"multifactor") || norm == b"mfa" {
        StepKind::MultiFactor
    } else if has(b"primary") {
        StepKind::Primary
    } else {
        StepKind::Other
    }
}

/// A boolean that some exports write as a string ("True").
#[derive(Debug, Clone, Copy)]
pub(crate) struct FlexBool(pub bool);

impl<'de> Deserialize<'de> for FlexBool {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = FlexBool;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a boolean or \"true\"/\"false\"")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<FlexBool, E> {
                Ok(FlexBool(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<FlexBool, E> {
                match v.to_ascii_lowercase().as_str() {
                    "true" | "1" => Ok(FlexBool(true)),
                    "false" | "0" | "" => Ok(FlexBool(false)),
                    _ => Err(E::invalid_value(de::Unexpected::Str(v), &self)),
                }
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<FlexBool, E> {
                Ok(FlexBool(v != 0))
            }
        }
        d.deserialize_any(V)
    }
}

/// An integer that some exports write as a string (`"resultType": "50140"`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct FlexInt(pub i64);

impl<'de> Deserialize<'de> for FlexInt {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = FlexInt;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer or a string holding one")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<FlexInt, E> {
                Ok(FlexInt(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<FlexInt, E> {
                i64::try_from(v)
                    .map(FlexInt)
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<FlexInt, E> {
                let t = v.trim();
                if t.is_empty() {
                    return Ok(FlexInt(0));
                }
                t.parse()
                    .map(FlexInt)
                    .map_err(|_| E::invalid_value(de::Unexpected::Str(v), &self))
            }
        }
        d.deserialize_any(V)
    }
}

/// A nested object that Log Analytics may have serialised into a JSON string.
pub(crate) struct Embedded<T>(pub T);

impl<'de, T: DeserializeOwned> Deserialize<'de> for Embedded<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: DeserializeOwned> Visitor<'de> for V<T> {
            type Value = Embedded<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON value or a string holding one")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Embedded<T>, E> {
                serde_json::from_str(v).map(Embedded).map_err(E::custom)
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Embedded<T>, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Embedded)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, seq: A) -> Result<Embedded<T>, A::Error> {
                T::deserialize(de::value::SeqAccessDeserializer::new(seq)).map(Embedded)
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_azure_monitor_sample() {
        let text = include_str!("../tests/data/azure-monitor-signinlogs.json");
        let doc: serde_json::Value = serde_json::from_str(text).unwrap();
        let rec = serde_json::to_vec(&doc["records"][0]).unwrap();
        let ev = SignInEvent::from_json(&rec, None).unwrap();
        assert_eq!(ev.id, "0231f922-93fa-4005-bb11-b344eca03c01");
        assert_eq!(ev.tenant_id, "72f988bf-86f1-41af-91ab-2d7cd011db47");
        assert_eq!(ev.error_code, 50140);
        assert!(ev.is_interactive);
        assert_eq!(
            ev.authentication_requirement,
            AuthenticationRequirement::MultiFactorAuthentication
        );
        assert_eq!(ev.steps.len(), 2);
        assert_eq!(ev.steps[1].kind, StepKind::MultiFactor);
        assert_eq!(ev.created.timestamp_subsec_nanos(), 552_213_700);
    }

    #[test]
    fn reads_log_analytics_rows_with_string_nested_json() {
        let row = br#"{"Id":"X1","TimeGenerated":"2026-11-01T00:00:00Z","TenantId":"T1",
            "ResultType":"500121","AuthenticationRequirement":"MultifactorAuthentication",
            "IsInteractive":"True","Status":"{\"errorCode\":500121,\"failureReason\":\"denied\"}",
            "DeviceDetail":"{\"isCompliant\":true}","AuthenticationDetails":"[{\"authenticationStepRequirement\":\"Multi-factor authentication\",\"succeeded\":false}]"}"#;
        let ev = SignInEvent::from_json(row, None).unwrap();
        assert_eq!(ev.id, "x1");
        assert_eq!(ev.tenant_id, "t1");
        assert_eq!(ev.error_code, 500121);
        assert_eq!(ev.failure_reason.as_deref(), Some("denied"));
        assert!(ev.is_interactive && ev.device_compliant && !ev.device_managed);
        assert_eq!(
            ev.steps,
            vec![AuthStep {
                kind: StepKind::MultiFactor,
                succeeded: false
            }]
        );
    }

    #[test]
    fn each_bad_record_has_its_own_message() {
        let e = |j: &str| SignInEvent::from_json(j.as_bytes(), Some("t")).unwrap_err();
        assert_eq!(
            e(r#"{"createdDateTime":"2026-11-01T00:00:00Z"}"#),
            RecordError::Missing("id")
        );
        assert_eq!(e(r#"{"id":"a"}"#), RecordError::Missing("createdDateTime"));
        assert!(matches!(
            e(r#"{"id":"a","createdDateTime":"soon"}"#),
            RecordError::BadValue {
                field: "createdDateTime",
                ..
            }
        ));
        assert!(matches!(
            e(
                r#"{"id":"a","createdDateTime":"2026-11-01T00:00:00Z","authenticationRequirement":"twoFactor"}"#
            ),
            RecordError::UnknownEnum {
                field: "authenticationRequirement",
                ..
            }
        ));
        assert!(matches!(e(r#"{"id":"a","#), RecordError::Syntax(_)));
        assert!(matches!(
            e(r#"{"id":"a","createdDateTime":"2026-11-01T00:00:00Z","status":{"errorCode":"x"}}"#),
            RecordError::Syntax(_)
        ));
        let none = SignInEvent::from_json(
            br#"{"id":"a","createdDateTime":"2026-11-01T00:00:00Z"}"#,
            None,
        );
        assert_eq!(none.unwrap_err(), RecordError::NoTenant);
    }

    #[test]
    fn tenant_falls_back_from_record_to_home_to_resource_to_default() {
        let j = br#"{"id":"a","createdDateTime":"2026-11-01T00:00:00Z","resourceTenantId":"R","homeTenantId":"H"}"#;
        assert_eq!(SignInEvent::from_json(j, Some("d")).unwrap().tenant_id, "h");
        let j = br#"{"id":"a","createdDateTime":"2026-11-01T00:00:00Z"}"#;
        assert_eq!(SignInEvent::from_json(j, Some("D")).unwrap().tenant_id, "d");
    }
}
