//! Row conversion for directory users: the only place that knows the column layout.

use crate::StoreError;
use mfalens_core::directory::{
    DefaultMfaMethodType, DirectoryUser, PerUserMfaState, UserDefaultAuthenticationMethodType,
    UserType,
};
use mfalens_core::time::{from_nanos, to_nanos};
use rusqlite::{Connection, Row, params};

pub const USER_COLUMNS: &str = "tenant_id, id, upn, display_name, user_type, is_admin, \
    is_mfa_registered, is_mfa_capable, is_sspr_registered, is_sspr_enabled, is_sspr_capable, \
    is_passwordless_capable, methods, default_mfa_method, system_preferred, preferred_secondary, \
    account_enabled, per_user_mfa_state, last_updated_ns";

fn bad(col: usize, what: &str) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        col,
        rusqlite::types::Type::Text,
        format!("stored value is not a valid {what}").into(),
    )
}

pub fn user_from_row(r: &Row<'_>) -> rusqlite::Result<DirectoryUser> {
    let methods: String = r.get(12)?;
    let preferred: Option<String> = r.get(15)?;
    Ok(DirectoryUser {
        tenant_id: r.get(0)?,
        id: r.get(1)?,
        user_principal_name: r.get(2)?,
        user_display_name: r.get(3)?,
        user_type: UserType::parse(&r.get::<_, String>(4)?).map_err(|_| bad(4, "userType"))?,
        is_admin: r.get(5)?,
        is_mfa_registered: r.get(6)?,
        is_mfa_capable: r.get(7)?,
        is_sspr_registered: r.get(8)?,
        is_sspr_enabled: r.get(9)?,
        is_sspr_capable: r.get(10)?,
        is_passwordless_capable: r.get(11)?,
        methods_registered: serde_json::from_str(&methods).map_err(|_| bad(12, "method list"))?,
        default_mfa_method: DefaultMfaMethodType::parse(&r.get::<_, String>(13)?)
            .map_err(|_| bad(13, "defaultMfaMethod"))?,
        is_system_preferred_authentication_method_enabled: r.get(14)?,
        user_preferred_method_for_secondary_authentication: preferred
            .map(|p| UserDefaultAuthenticationMethodType::parse(&p))
            .transpose()
            .map_err(|_| bad(15, "preferred method"))?,
        account_enabled: r.get(16)?,
        per_user_mfa_state: PerUserMfaState::parse(&r.get::<_, String>(17)?)
            .map_err(|_| bad(17, "perUserMfaState"))?,
        last_updated: from_nanos(r.get(18)?),
    })
}

/// Inserts or replaces a user; true when it was new.
pub fn write_user(c: &Connection, u: &DirectoryUser) -> Result<bool, StoreError> {
    let existed: bool = c
        .prepare_cached("SELECT EXISTS (SELECT 1 FROM users WHERE tenant_id = ?1 AND id = ?2)")
        .map_err(super::db_err)?
        .query_row(params![u.tenant_id, u.id], |r| r.get(0))
        .map_err(super::db_err)?;
    let methods = serde_json::to_string(&u.methods_registered)
        .map_err(|e| StoreError::Other(e.to_string()))?;
    c.prepare_cached(&format!(
        "INSERT OR REPLACE INTO users ({USER_COLUMNS}, upn_lower)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)"
    ))
    .map_err(super::db_err)?
    .execute(params![
        u.tenant_id,
        u.id,
        u.user_principal_name,
        u.user_display_name,
        u.user_type.as_str(),
        u.is_admin,
        u.is_mfa_registered,
        u.is_mfa_capable,
        u.is_sspr_registered,
        u.is_sspr_enabled,
        u.is_sspr_capable,
        u.is_passwordless_capable,
        methods,
        u.default_mfa_method.as_str(),
        u.is_system_preferred_authentication_method_enabled,
        u.user_preferred_method_for_secondary_authentication.map(|p| p.as_str()),
        u.account_enabled,
        u.per_user_mfa_state.as_str(),
        to_nanos(u.last_updated),
        u.user_principal_name.to_lowercase(),
    ])
    .map_err(super::db_err)?;
    Ok(!existed)
}

pub use crate::columns::flag_column;
