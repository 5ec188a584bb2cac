//! Who is calling, as read from a verified token.

use serde::Deserialize;

/// Delegated (a user through an app: `scp`) or application (app-only: `roles`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Grant {
    Delegated { scopes: Vec<String> },
    Application { roles: Vec<String> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub tenant_id: String,
    /// The user's object id (delegated) or the service principal's (application).
    pub object_id: String,
    pub upn: Option<String>,
    pub app_id: Option<String>,
    pub grant: Grant,
    /// Directory role template ids (`wids`), lower-case.
    pub directory_roles: Vec<String>,
    /// `amr` contains `mfa`.
    pub mfa: bool,
    /// Tenants this token may write into (ingest): `tid` plus `mfalens_tenants`.
    pub tenants: Vec<String>,
    pub expires_at: i64,
}

impl Principal {
    pub fn is_delegated(&self) -> bool {
        matches!(self.grant, Grant::Delegated { .. })
    }

    pub fn has_scope(&self, s: &str) -> bool {
        matches!(&self.grant, Grant::Delegated { scopes } if scopes.iter().any(|x| x.eq_ignore_ascii_case(s)))
    }

    pub fn has_app_role(&self, r: &str) -> bool {
        matches!(&self.grant, Grant::Application { roles } if roles.iter().any(|x| x.eq_ignore_ascii_case(r)))
    }

    pub fn has_directory_role(&self, template_id: &str) -> bool {
        self.directory_roles
            .iter()
            .any(|w| w.eq_ignore_ascii_case(template_id))
    }
}

/// The claims mfalens reads; every other claim is ignored.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct Claims {
    #[serde(default)]
    pub iss: Option<String>,
    #[serde(default)]
    pub tid: Option<String>,
    #[serde(default)]
    pub oid: Option<String>,
    #[serde(default)]
    pub sub: Option<String>,
    #[serde(default)]
    pub upn: Option<String>,
    #[serde(default)]
    pub preferred_username: Option<String>,
    #[serde(default)]
    pub unique_name: Option<String>,
    #[serde(default)]
    pub scp: Option<String>,
    #[serde(default)]
    pub roles: Option<Vec<String>>,
    #[serde(default)]
    pub wids: Option<Vec<String>>,
    #[serde(default)]
    pub amr: Option<Vec<String>>,
    #[serde(default)]
    pub idtyp: Option<String>,
    #[serde(default)]
    pub appid: Option<String>,
    #[serde(default)]
    pub azp: Option<String>,
    #[serde(default)]
    pub exp: i64,
    #[serde(default)]
    pub nbf: Option<i64>,
    #[serde(default)]
    pub mfalens_tenants: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimsError {
    #[error("the token has no 'tid' claim")]
    NoTenant,
    #[error("the token has no 'oid' or 'sub' claim")]
    NoObjectId,
}

impl Claims {
    /// Delegated vs application as Entra decides: `idtyp` when present ("app" or "user"),
    /// else a token carrying `scp` is delegated and one without it is app-only.
    pub fn into_principal(self) -> Result<Principal, ClaimsError> {
        let tenant_id = self
            .tid
            .filter(|t| !t.trim().is_empty())
            .ok_or(ClaimsError::NoTenant)?
            .to_ascii_lowercase();
        let object_id = self
            .oid
            .or(self.sub)
            .filter(|o| !o.trim().is_empty())
            .ok_or(ClaimsError::NoObjectId)?
            .to_ascii_lowercase();
        let scopes: Vec<String> = self
            .scp
            .as_deref()
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_string)
            .collect();
        let delegated = match self.idtyp.as_deref() {
            Some(t) if t.eq_ignore_ascii_case("app") => false,
            Some(t) if t.eq_ignore_ascii_case("user") => true,
            _ => self.scp.is_some(),
        };
        let upn = self.upn.or(self.preferred_username).or(self.unique_name);
        let grant = if delegated {
            Grant::Delegated { scopes }
        } else {
            Grant::Application {
                roles: self.roles.unwrap_or_default(),
            }
        };
        let mut tenants = vec![tenant_id.clone()];
        for t in self.mfalens_tenants.unwrap_or_default() {
            let t = t.to_ascii_lowercase();
            if !tenants.contains(&t) {
                tenants.push(t);
            }
        }
        Ok(Principal {
            tenant_id,
            object_id,
            upn,
            app_id: self.appid.or(self.azp),
            grant,
            directory_roles: self
                .wids
                .unwrap_or_default()
                .into_iter()
                .map(|w| w.to_ascii_lowercase())
                .collect(),
            mfa: self
                .amr
                .unwrap_or_default()
                .iter()
                .any(|a| a.eq_ignore_ascii_case("mfa")),
            tenants,
            expires_at: self.exp,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(v: serde_json::Value) -> Claims {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn idtyp_decides_first_then_scp() {
        // Entra v2 delegated token: scp, azp, preferred_username; roles are the user's app
        // roles and do not make it an application token.
        let p = claims(json!({
            "tid": "T1", "oid": "U1", "scp": "Reports.Read.All User.Read",
            "roles": ["SomeAppRole"], "azp": "client", "preferred_username": "a@x",
            "wids": ["4A5D8F65-41DA-4DE4-8968-E035B65339CF"], "amr": ["pwd", "mfa"], "exp": 9
        }))
        .into_principal()
        .unwrap();
        assert_eq!(
            p.grant,
            Grant::Delegated {
                scopes: vec!["Reports.Read.All".into(), "User.Read".into()]
            }
        );
        assert_eq!((p.tenant_id.as_str(), p.object_id.as_str()), ("t1", "u1"));
        assert_eq!(p.upn.as_deref(), Some("a@x"));
        assert_eq!(p.app_id.as_deref(), Some("client"));
        assert!(p.has_directory_role("4a5d8f65-41da-4de4-8968-e035b65339cf"));
        assert!(p.mfa);
        assert!(
            !p.has_app_role("SomeAppRole"),
            "a delegated token has no app roles"
        );

        // Entra v1 application token: roles, appid, no scp, no idtyp.
        let p = claims(json!({
            "tid": "t", "oid": "sp", "roles": ["Reports.Read.All"], "appid": "app", "exp": 9
        }))
        .into_principal()
        .unwrap();
        assert!(!p.is_delegated());
        assert!(p.has_app_role("reports.read.all"));
        assert_eq!(p.app_id.as_deref(), Some("app"));
        assert!(!p.mfa);

        // idtyp=app wins over a stray scp; idtyp=user wins over a missing scp.
        let p = claims(
            json!({"tid": "t", "oid": "o", "idtyp": "app", "scp": "Reports.Read.All",
                              "roles": ["Reports.Read.All"]}),
        )
        .into_principal()
        .unwrap();
        assert!(!p.is_delegated() && !p.has_scope("Reports.Read.All"));
        let p =
            claims(json!({"tid": "t", "oid": "o", "idtyp": "user", "roles": ["Reports.Read.All"]}))
                .into_principal()
                .unwrap();
        assert_eq!(p.grant, Grant::Delegated { scopes: vec![] });
    }

    #[test]
    fn upn_falls_back_through_preferred_username_and_unique_name() {
        let p = claims(json!({"tid": "t", "sub": "s", "unique_name": "v1@x", "scp": "a"}))
            .into_principal()
            .unwrap();
        assert_eq!(p.upn.as_deref(), Some("v1@x"));
        assert_eq!(p.object_id, "s", "sub stands in for a missing oid");
        let p = claims(
            json!({"tid": "t", "oid": "o", "upn": "u@x", "preferred_username": "p@x", "scp": "a"}),
        )
        .into_principal()
        .unwrap();
        assert_eq!(p.upn.as_deref(), Some("u@x"));
    }

    #[test]
    fn tenant_and_object_are_required_and_extra_tenants_deduplicated() {
        assert_eq!(
            claims(json!({"oid": "o", "scp": "a"})).into_principal(),
            Err(ClaimsError::NoTenant)
        );
        assert_eq!(
            claims(json!({"tid": " ", "oid": "o"})).into_principal(),
            Err(ClaimsError::NoTenant)
        );
        assert_eq!(
            claims(json!({"tid": "t"})).into_principal(),
            Err(ClaimsError::NoObjectId)
        );
        let p = claims(json!({"tid": "A", "oid": "o", "roles": ["MfaLens.Ingest"],
                              "mfalens_tenants": ["a", "B", "b"]}))
        .into_principal()
        .unwrap();
        assert_eq!(p.tenants, vec!["a".to_string(), "b".to_string()]);
    }
}
