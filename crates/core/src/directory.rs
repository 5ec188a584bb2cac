//! The directory: users with their registered methods, sign-in preferences and per-user MFA
//! state; its import format (Graph `userRegistrationDetails` plus `tenantId`,
//! `accountEnabled`, `perUserMfaState`); and the rules for changing it.

use crate::signin::RecordError;
use crate::time::parse_datetime;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

macro_rules! graph_enum {
    ($(#[$m:meta])* $name:ident, $field:literal { $($variant:ident = $wire:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ::serde::Serialize)]
        pub enum $name { $(#[serde(rename = $wire)] $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }
            /// Reads a wire value, ignoring case as real exports require.
            pub fn parse(s: &str) -> Result<Self, $crate::signin::RecordError> {
                $(if s.eq_ignore_ascii_case($wire) { return Ok($name::$variant); })+
                Err($crate::signin::RecordError::UnknownEnum {
                    field: $field,
                    value: s.to_string(),
                    expected: concat!($($wire, " "),+),
                })
            }
        }
    };
}

pub(crate) use graph_enum;

graph_enum!(
    /// Graph `perUserMfaState`.
    PerUserMfaState, "perUserMfaState" {
        Disabled = "disabled",
        Enforced = "enforced",
        Enabled = "enabled",
        UnknownFutureValue = "unknownFutureValue",
    }
);

graph_enum!(
    /// Graph `userDefaultAuthenticationMethodType`.
    UserDefaultAuthenticationMethodType, "userPreferredMethodForSecondaryAuthentication" {
        Push = "push",
        Oath = "oath",
        VoiceMobile = "voiceMobile",
        VoiceAlternateMobile = "voiceAlternateMobile",
        VoiceOffice = "voiceOffice",
        Sms = "sms",
        UnknownFutureValue = "unknownFutureValue",
    }
);

graph_enum!(
    /// Graph `defaultMfaMethodType`.
    DefaultMfaMethodType, "defaultMfaMethod" {
        None = "none",
        MobilePhone = "mobilePhone",
        AlternateMobilePhone = "alternateMobilePhone",
        OfficePhone = "officePhone",
        MicrosoftAuthenticatorPush = "microsoftAuthenticatorPush",
        SoftwareOneTimePasscode = "softwareOneTimePasscode",
        UnknownFutureValue = "unknownFutureValue",
    }
);

graph_enum!(
    /// Graph `signInUserType`.
    UserType, "userType" {
        Member = "member",
        Guest = "guest",
        UnknownFutureValue = "unknownFutureValue",
    }
);

/// Methods that make a user passwordless-capable when registered.
const PASSWORDLESS_METHODS: &[&str] = &[
    "fido2SecurityKey",
    "fido2",
    "passKeyDeviceBound",
    "passKeyDeviceBoundAuthenticator",
    "windowsHelloForBusiness",
    "microsoftAuthenticatorPasswordless",
    "passKeyDeviceBoundWindowsHello",
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryUser {
    pub tenant_id: String,
    pub id: String,
    pub user_principal_name: String,
    pub user_display_name: String,
    pub user_type: UserType,
    pub is_admin: bool,
    pub is_mfa_registered: bool,
    pub is_mfa_capable: bool,
    pub is_sspr_registered: bool,
    pub is_sspr_enabled: bool,
    pub is_sspr_capable: bool,
    pub is_passwordless_capable: bool,
    pub methods_registered: Vec<String>,
    pub default_mfa_method: DefaultMfaMethodType,
    pub is_system_preferred_authentication_method_enabled: bool,
    pub user_preferred_method_for_secondary_authentication:
        Option<UserDefaultAuthenticationMethodType>,
    pub account_enabled: bool,
    pub per_user_mfa_state: PerUserMfaState,
    pub last_updated: DateTime<Utc>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawUser {
    id: Option<String>,
    tenant_id: Option<String>,
    user_principal_name: Option<String>,
    #[serde(default)]
    user_display_name: Option<String>,
    #[serde(default)]
    user_type: Option<String>,
    #[serde(default)]
    is_admin: Option<bool>,
    #[serde(default)]
    is_mfa_registered: Option<bool>,
    #[serde(default)]
    is_mfa_capable: Option<bool>,
    #[serde(default)]
    is_sspr_registered: Option<bool>,
    #[serde(default)]
    is_sspr_enabled: Option<bool>,
    #[serde(default)]
    is_sspr_capable: Option<bool>,
    #[serde(default)]
    is_passwordless_capable: Option<bool>,
    #[serde(default)]
    methods_registered: Option<Vec<String>>,
    #[serde(default)]
    default_mfa_method: Option<String>,
    #[serde(default)]
    is_system_preferred_authentication_method_enabled: Option<bool>,
    #[serde(default)]
    user_preferred_method_for_secondary_authentication: Option<String>,
    #[serde(default)]
    account_enabled: Option<bool>,
    #[serde(default)]
    per_user_mfa_state: Option<String>,
    #[serde(default)]
    last_updated_date_time: Option<String>,
}

impl DirectoryUser {
    /// Parses one directory record. `now` stamps `last_updated` when the record has none.
    pub fn from_json(
        json: &[u8],
        default_tenant: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<DirectoryUser, RecordError> {
        let raw: RawUser =
            serde_json::from_slice(json).map_err(|e| RecordError::Syntax(e.to_string()))?;
        let id = raw
            .id
            .filter(|s| !s.trim().is_empty())
            .ok_or(RecordError::Missing("id"))?;
        let upn = raw
            .user_principal_name
            .filter(|s| !s.trim().is_empty())
            .ok_or(RecordError::Missing("userPrincipalName"))?;
        let tenant_id = raw
            .tenant_id
            .filter(|s| !s.trim().is_empty())
            .or(default_tenant.map(str::to_string))
            .ok_or(RecordError::NoTenant)?;
        let methods = raw.methods_registered.unwrap_or_default();
        let is_mfa_registered = raw.is_mfa_registered.unwrap_or(false);
        let last_updated = match raw.last_updated_date_time.as_deref() {
            Some(s) => parse_datetime(s).map_err(|e| RecordError::BadValue {
                field: "lastUpdatedDateTime",
                message: e.to_string(),
            })?,
            None => now,
        };
        let requested_state = match raw.per_user_mfa_state.as_deref() {
            Some(s) => PerUserMfaState::parse(s)?,
            None => PerUserMfaState::Disabled,
        };
        let passwordless = raw.is_passwordless_capable.unwrap_or_else(|| {
            methods.iter().any(|m| {
                PASSWORDLESS_METHODS
                    .iter()
                    .any(|p| p.eq_ignore_ascii_case(m))
            })
        });
        Ok(DirectoryUser {
            tenant_id: tenant_id.trim().to_ascii_lowercase(),
            id: id.trim().to_ascii_lowercase(),
            user_display_name: raw.user_display_name.unwrap_or_else(|| upn.clone()),
            user_principal_name: upn.trim().to_string(),
            user_type: match raw.user_type.as_deref() {
                Some(s) => UserType::parse(s)?,
                None => UserType::Member,
            },
            is_admin: raw.is_admin.unwrap_or(false),
            is_mfa_registered,
            is_mfa_capable: raw.is_mfa_capable.unwrap_or(is_mfa_registered),
            is_sspr_registered: raw.is_sspr_registered.unwrap_or(false),
            is_sspr_enabled: raw.is_sspr_enabled.unwrap_or(false),
            is_sspr_capable: raw.is_sspr_capable.unwrap_or(false),
            is_passwordless_capable: passwordless,
            methods_registered: methods,
            default_mfa_method: match raw.default_mfa_method.as_deref() {
                Some(s) => DefaultMfaMethodType::parse(s)?,
                None => DefaultMfaMethodType::None,
            },
            is_system_preferred_authentication_method_enabled: raw
                .is_system_preferred_authentication_method_enabled
                .unwrap_or(false),
            user_preferred_method_for_secondary_authentication: raw
                .user_preferred_method_for_secondary_authentication
                .as_deref()
                .map(UserDefaultAuthenticationMethodType::parse)
                .transpose()?,
            account_enabled: raw.account_enabled.unwrap_or(true),
            per_user_mfa_state: effective_mfa_state(requested_state, is_mfa_registered),
            last_updated,
        })
    }
}

impl DirectoryUser {
    /// Applies a partial sign-in preferences change; `None` leaves a property as it is.
    pub fn apply_sign_in_preferences(
        &mut self,
        patch: &SignInPreferencesPatch,
        now: DateTime<Utc>,
    ) {
        if let Some(v) = patch.is_system_preferred_authentication_method_enabled {
            self.is_system_preferred_authentication_method_enabled = v;
        }
        if let Some(v) = patch.user_preferred_method_for_secondary_authentication {
            self.user_preferred_method_for_secondary_authentication = v;
        }
        self.last_updated = now;
    }

    /// Sets per-user MFA state, `enabled` becoming `enforced` when a method is registered.
    pub fn set_per_user_mfa_state(&mut self, requested: PerUserMfaState, now: DateTime<Utc>) {
        self.per_user_mfa_state = effective_mfa_state(requested, self.is_mfa_registered);
        self.last_updated = now;
    }
}

/// Per-user MFA: a user set to `enabled` who has an MFA method registered is `enforced`
/// (Entra moves them on their next registration or sign-in; we apply it when we learn it).
pub fn effective_mfa_state(requested: PerUserMfaState, mfa_registered: bool) -> PerUserMfaState {
    if requested == PerUserMfaState::Enabled && mfa_registered {
        PerUserMfaState::Enforced
    } else {
        requested
    }
}

/// Why a PATCH body was refused; each case names the property.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatchError {
    #[error("the request body is empty; send a JSON object")]
    Empty,
    #[error("the request body is not valid JSON: {0}")]
    Syntax(String),
    #[error("the request body must be a JSON object")]
    NotAnObject,
    #[error("property '{0}' does not exist on type '{1}'")]
    UnknownProperty(String, &'static str),
    #[error("property '{property}' must be {expected}")]
    WrongType {
        property: &'static str,
        expected: &'static str,
    },
    #[error("{0}")]
    BadEnum(String),
}

/// A partial `signInPreferences`; `None` leaves the property as it is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SignInPreferencesPatch {
    pub is_system_preferred_authentication_method_enabled: Option<bool>,
    pub user_preferred_method_for_secondary_authentication:
        Option<Option<UserDefaultAuthenticationMethodType>>,
}

pub fn parse_sign_in_preferences_patch(body: &[u8]) -> Result<SignInPreferencesPatch, PatchError> {
    let map = patch_object(body, "microsoft.graph.signInPreferences")?;
    let mut patch = SignInPreferencesPatch::default();
    for (k, v) in map {
        match k.as_str() {
            "isSystemPreferredAuthenticationMethodEnabled" => {
                patch.is_system_preferred_authentication_method_enabled =
                    Some(v.as_bool().ok_or(PatchError::WrongType {
                        property: "isSystemPreferredAuthenticationMethodEnabled",
                        expected: "a boolean",
                    })?);
            }
            "userPreferredMethodForSecondaryAuthentication" => {
                patch.user_preferred_method_for_secondary_authentication = Some(match v {
                    Value::Null => None,
                    Value::String(s) => Some(
                        UserDefaultAuthenticationMethodType::parse(&s)
                            .map_err(|e| PatchError::BadEnum(e.to_string()))?,
                    ),
                    _ => {
                        return Err(PatchError::WrongType {
                            property: "userPreferredMethodForSecondaryAuthentication",
                            expected: "a userDefaultAuthenticationMethodType string or null",
                        });
                    }
                });
            }
            other => {
                return Err(PatchError::UnknownProperty(
                    other.to_string(),
                    "microsoft.graph.signInPreferences",
                ));
            }
        }
    }
    Ok(patch)
}

/// A `strongAuthenticationRequirements` PATCH: the requested `perUserMfaState`, if any.
pub fn parse_requirements_patch(body: &[u8]) -> Result<Option<PerUserMfaState>, PatchError> {
    let map = patch_object(body, "microsoft.graph.strongAuthenticationRequirements")?;
    let mut state = None;
    for (k, v) in map {
        match k.as_str() {
            "perUserMfaState" => {
                let s = v.as_str().ok_or(PatchError::WrongType {
                    property: "perUserMfaState",
                    expected: "a perUserMfaState string",
                })?;
                let parsed =
                    PerUserMfaState::parse(s).map_err(|e| PatchError::BadEnum(e.to_string()))?;
                if parsed == PerUserMfaState::UnknownFutureValue {
                    return Err(PatchError::BadEnum(
                        "perUserMfaState 'unknownFutureValue' cannot be set".into(),
                    ));
                }
                state = Some(parsed);
            }
            other => {
                return Err(PatchError::UnknownProperty(
                    other.to_string(),
                    "microsoft.graph.strongAuthenticationRequirements",
                ));
            }
        }
    }
    Ok(state)
}

/// The JSON object of a PATCH body, with OData annotations checked and removed.
fn patch_object(body: &[u8], type_name: &'static str) -> Result<Map<String, Value>, PatchError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(PatchError::Empty);
    }
    let v: Value = serde_json::from_slice(body).map_err(|e| PatchError::Syntax(e.to_string()))?;
    let Value::Object(mut map) = v else {
        return Err(PatchError::NotAnObject);
    };
    if let Some(t) = map.remove("@odata.type") {
        let named = t.as_str().unwrap_or_default().trim_start_matches('#');
        if !named.eq_ignore_ascii_case(type_name) {
            return Err(PatchError::BadEnum(format!(
                "@odata.type '{named}' is not '{type_name}'"
            )));
        }
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        parse_datetime("2026-11-23T00:00:00Z").unwrap()
    }

    #[test]
    fn reads_a_registration_details_record() {
        let j = br#"{"id":"ABC","tenantId":"T","userPrincipalName":"a@x.example","isAdmin":true,
            "isMfaRegistered":true,"methodsRegistered":["microsoftAuthenticatorPush","fido2SecurityKey"],
            "defaultMfaMethod":"MicrosoftAuthenticatorPush","userPreferredMethodForSecondaryAuthentication":"push",
            "perUserMfaState":"enabled","extra":1}"#;
        let u = DirectoryUser::from_json(j, None, now()).unwrap();
        assert_eq!(u.id, "abc");
        assert_eq!(u.tenant_id, "t");
        assert!(u.is_passwordless_capable && u.is_mfa_capable && u.account_enabled);
        assert_eq!(
            u.default_mfa_method,
            DefaultMfaMethodType::MicrosoftAuthenticatorPush
        );
        assert_eq!(
            u.per_user_mfa_state,
            PerUserMfaState::Enforced,
            "enabled + registered"
        );
        assert_eq!(u.last_updated, now());
    }

    #[test]
    fn bad_directory_records_say_why() {
        let e = |j: &str| DirectoryUser::from_json(j.as_bytes(), Some("t"), now()).unwrap_err();
        assert_eq!(
            e(r#"{"userPrincipalName":"a@x"}"#),
            RecordError::Missing("id")
        );
        assert_eq!(
            e(r#"{"id":"a"}"#),
            RecordError::Missing("userPrincipalName")
        );
        assert!(matches!(
            e(r#"{"id":"a","userPrincipalName":"a@x","perUserMfaState":"on"}"#),
            RecordError::UnknownEnum {
                field: "perUserMfaState",
                ..
            }
        ));
        assert!(matches!(
            e(r#"{"id":"a","userPrincipalName":"a@x","isAdmin":"yes"}"#),
            RecordError::Syntax(_)
        ));
    }

    #[test]
    fn enabled_becomes_enforced_only_with_a_method() {
        use PerUserMfaState::*;
        assert_eq!(effective_mfa_state(Enabled, true), Enforced);
        assert_eq!(effective_mfa_state(Enabled, false), Enabled);
        assert_eq!(effective_mfa_state(Disabled, true), Disabled);
    }

    #[test]
    fn sign_in_preferences_patches() {
        let p = parse_sign_in_preferences_patch(
            br##"{"@odata.type":"#microsoft.graph.signInPreferences","userPreferredMethodForSecondaryAuthentication":"sms"}"##,
        )
        .unwrap();
        assert_eq!(
            p.user_preferred_method_for_secondary_authentication,
            Some(Some(UserDefaultAuthenticationMethodType::Sms))
        );
        assert_eq!(p.is_system_preferred_authentication_method_enabled, None);
        assert_eq!(
            parse_sign_in_preferences_patch(b"  "),
            Err(PatchError::Empty)
        );
        assert!(matches!(
            parse_sign_in_preferences_patch(b"[1]"),
            Err(PatchError::NotAnObject)
        ));
        assert!(matches!(
            parse_sign_in_preferences_patch(br#"{"colour":"red"}"#),
            Err(PatchError::UnknownProperty(p, _)) if p == "colour"
        ));
        assert!(matches!(
            parse_sign_in_preferences_patch(
                br#"{"isSystemPreferredAuthenticationMethodEnabled":"true"}"#
            ),
            Err(PatchError::WrongType { .. })
        ));
        assert!(matches!(
            parse_sign_in_preferences_patch(
                br#"{"userPreferredMethodForSecondaryAuthentication":"pigeon"}"#
            ),
            Err(PatchError::BadEnum(_))
        ));
    }

    #[test]
    fn requirements_patches() {
        assert_eq!(
            parse_requirements_patch(br#"{"perUserMfaState":"enabled"}"#),
            Ok(Some(PerUserMfaState::Enabled))
        );
        assert!(parse_requirements_patch(br#"{"perUserMfaState":"on"}"#).is_err());
        assert!(parse_requirements_patch(br#"{"perUserMfaState":1}"#).is_err());
        assert!(parse_requirements_patch(br#"{"perUserMfaState":"unknownFutureValue"}"#).is_err());
    }
}

/// Registered method name → the `userDefaultAuthenticationMethodType` it provides, most
/// secure first (Entra's system-preferred MFA order: Authenticator push, OATH codes, then
/// telephony).
const SYSTEM_PREFERENCE: &[(&str, &str)] = &[
    ("microsoftAuthenticatorPush", "push"),
    ("softwareOneTimePasscode", "oath"),
    ("hardwareOneTimePasscode", "oath"),
    ("mobilePhone", "sms"),
    ("alternateMobilePhone", "voiceAlternateMobile"),
    ("officePhone", "voiceOffice"),
];

impl DirectoryUser {
    /// `systemPreferredAuthenticationMethods`: the most secure second factor among the
    /// registered methods (empty when none is registered).
    pub fn system_preferred_methods(&self) -> Vec<&'static str> {
        SYSTEM_PREFERENCE
            .iter()
            .find(|(method, _)| {
                self.methods_registered
                    .iter()
                    .any(|m| m.eq_ignore_ascii_case(method))
            })
            .map(|(_, kind)| vec![*kind])
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod system_preferred_tests {
    use super::*;

    #[test]
    fn the_most_secure_registered_method_wins() {
        let now = crate::time::parse_datetime("2026-11-23T00:00:00Z").unwrap();
        let user = |methods: &str| {
            DirectoryUser::from_json(
                format!(r#"{{"id":"a","tenantId":"t","userPrincipalName":"a@x","methodsRegistered":{methods}}}"#).as_bytes(),
                None,
                now,
            )
            .unwrap()
        };
        assert_eq!(
            user(r#"["mobilePhone","microsoftAuthenticatorPush"]"#).system_preferred_methods(),
            vec!["push"]
        );
        assert_eq!(
            user(r#"["email","mobilePhone"]"#).system_preferred_methods(),
            vec!["sms"]
        );
        assert!(user(r#"["email"]"#).system_preferred_methods().is_empty());
    }
}
