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
