//! Row conversion: the only place that knows the PostgreSQL column layout, in both directions
//! (values written by `COPY`/parameters, domain types read back). Driver rows stop here.

use super::pg_err;
use crate::StoreError;
use mfalens_core::classify::SignInFact;
use mfalens_core::directory::{
    DefaultMfaMethodType, DirectoryUser, PerUserMfaState, UserDefaultAuthenticationMethodType,
    UserType,
};
use mfalens_core::principal::{NonMfaEvidence, NonMfaPrincipal, NonMfaSource};
use mfalens_core::time::{from_nanos, to_nanos};
use tokio_postgres::Row;
use tokio_postgres::types::{FromSql, ToSql, Type};

// ---------------------------------------------------------------------------------------------
// Sign-in facts

/// The columns of a stored fact, in the order `FACT_TYPES` and `FactValues::params` use.
pub const FACT_COLUMNS: &str = "tenant_id, id, created_ns, metrics, flags, user_id, app_id";

pub const FACT_TYPES: [Type; 7] = [
    Type::TEXT,
    Type::TEXT,
    Type::INT8,
    Type::INT2,
    Type::INT2,
    Type::TEXT,
    Type::TEXT,
];

/// One fact as its column values.
pub struct FactValues<'a> {
    pub tenant_id: &'a str,
    pub id: &'a str,
    pub created_ns: i64,
    metrics: i16,
    flags: i16,
    user_id: Option<&'a str>,
    app_id: Option<&'a str>,
}

impl<'a> FactValues<'a> {
    pub fn new(f: &'a SignInFact) -> Self {
        FactValues {
            tenant_id: &f.tenant_id,
            id: &f.id,
            created_ns: to_nanos(f.created),
            metrics: i16::from(f.facts.metrics.0),
            flags: i16::from(f.flags()),
            user_id: f.user_id.as_deref(),
            app_id: f.app_id.as_deref(),
        }
    }

    pub fn params(&self) -> [&(dyn ToSql + Sync); 7] {
        [
            &self.tenant_id,
            &self.id,
            &self.created_ns,
            &self.metrics,
            &self.flags,
            &self.user_id,
            &self.app_id,
        ]
    }
}

/// The same facts as one array per column, for `unnest` (small batches skip `COPY`).
#[derive(Default)]
pub struct FactArrays<'a> {
    tenant_id: Vec<&'a str>,
    id: Vec<&'a str>,
    created_ns: Vec<i64>,
    metrics: Vec<i16>,
    flags: Vec<i16>,
    user_id: Vec<Option<&'a str>>,
    app_id: Vec<Option<&'a str>>,
}

impl<'a> FactArrays<'a> {
    pub fn push(&mut self, v: &FactValues<'a>) {
        self.tenant_id.push(v.tenant_id);
        self.id.push(v.id);
        self.created_ns.push(v.created_ns);
        self.metrics.push(v.metrics);
        self.flags.push(v.flags);
        self.user_id.push(v.user_id);
        self.app_id.push(v.app_id);
    }

    pub fn params(&self) -> [&(dyn ToSql + Sync); 7] {
        [
            &self.tenant_id,
            &self.id,
            &self.created_ns,
            &self.metrics,
            &self.flags,
            &self.user_id,
            &self.app_id,
        ]
    }
}

/// `(tenant_id, id)` of a row returned by `INSERT ... RETURNING tenant_id, id`.
pub fn key_of(r: &Row) -> Result<(&str, &str), StoreError> {
    Ok((col(r, 0)?, col(r, 1)?))
}

// ---------------------------------------------------------------------------------------------
// Directory users

/// The columns read back into a `DirectoryUser`, in `user_from_row` order.
pub const USER_COLUMNS: &str = "tenant_id, id, upn, display_name, user_type, is_admin, \
    is_mfa_registered, is_mfa_capable, is_sspr_registered, is_sspr_enabled, is_sspr_capable, \
    is_passwordless_capable, methods, default_mfa_method, system_preferred, preferred_secondary, \
    account_enabled, per_user_mfa_state, last_updated_ns";

/// The columns written: `USER_COLUMNS` then `upn_lower`, in `UserValues::params` order.
pub const USER_WRITE_COLUMNS: &str = "tenant_id, id, upn, display_name, user_type, is_admin, \
    is_mfa_registered, is_mfa_capable, is_sspr_registered, is_sspr_enabled, is_sspr_capable, \
    is_passwordless_capable, methods, default_mfa_method, system_preferred, preferred_secondary, \
    account_enabled, per_user_mfa_state, last_updated_ns, upn_lower";

pub const USER_WRITE_TYPES: [Type; 20] = [
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::BOOL,
    Type::BOOL,
    Type::BOOL,
    Type::BOOL,
    Type::BOOL,
    Type::BOOL,
    Type::BOOL,
    Type::TEXT_ARRAY,
    Type::TEXT,
    Type::BOOL,
    Type::TEXT,
    Type::BOOL,
    Type::TEXT,
    Type::INT8,
    Type::TEXT,
];

/// `SET` list of an `UPDATE users u ... FROM <source> s`: every written column but the key.
pub const USER_UPDATE_SET: &str = "upn = s.upn, display_name = s.display_name, \
    user_type = s.user_type, is_admin = s.is_admin, is_mfa_registered = s.is_mfa_registered, \
    is_mfa_capable = s.is_mfa_capable, is_sspr_registered = s.is_sspr_registered, \
    is_sspr_enabled = s.is_sspr_enabled, is_sspr_capable = s.is_sspr_capable, \
    is_passwordless_capable = s.is_passwordless_capable, methods = s.methods, \
    default_mfa_method = s.default_mfa_method, system_preferred = s.system_preferred, \
    preferred_secondary = s.preferred_secondary, account_enabled = s.account_enabled, \
    per_user_mfa_state = s.per_user_mfa_state, last_updated_ns = s.last_updated_ns, \
    upn_lower = s.upn_lower";

/// One user as its column values.
pub struct UserValues<'a> {
    u: &'a DirectoryUser,
    user_type: &'static str,
    default_mfa_method: &'static str,
    preferred_secondary: Option<&'static str>,
    per_user_mfa_state: &'static str,
    last_updated_ns: i64,
    upn_lower: String,
}

impl<'a> UserValues<'a> {
    pub fn new(u: &'a DirectoryUser) -> Self {
        UserValues {
            u,
            user_type: u.user_type.as_str(),
            default_mfa_method: u.default_mfa_method.as_str(),
            preferred_secondary: u
                .user_preferred_method_for_secondary_authentication
                .map(|p| p.as_str()),
            per_user_mfa_state: u.per_user_mfa_state.as_str(),
            last_updated_ns: to_nanos(u.last_updated),
            upn_lower: u.user_principal_name.to_lowercase(),
        }
    }

    pub fn params(&self) -> [&(dyn ToSql + Sync); 20] {
        let u = self.u;
        [
            &u.tenant_id,
            &u.id,
            &u.user_principal_name,
            &u.user_display_name,
            &self.user_type,
            &u.is_admin,
            &u.is_mfa_registered,
            &u.is_mfa_capable,
            &u.is_sspr_registered,
            &u.is_sspr_enabled,
            &u.is_sspr_capable,
            &u.is_passwordless_capable,
            &u.methods_registered,
            &self.default_mfa_method,
            &u.is_system_preferred_authentication_method_enabled,
            &self.preferred_secondary,
            &u.account_enabled,
            &self.per_user_mfa_state,
            &self.last_updated_ns,
            &self.upn_lower,
        ]
    }
}

/// Reads a row selected with `USER_COLUMNS`.
pub fn user_from_row(r: &Row) -> Result<DirectoryUser, StoreError> {
    let preferred: Option<&str> = col(r, 15)?;
    Ok(DirectoryUser {
        tenant_id: col(r, 0)?,
        id: col(r, 1)?,
        user_principal_name: col(r, 2)?,
        user_display_name: col(r, 3)?,
        user_type: UserType::parse(col(r, 4)?).map_err(|_| bad("userType"))?,
        is_admin: col(r, 5)?,
        is_mfa_registered: col(r, 6)?,
        is_mfa_capable: col(r, 7)?,
        is_sspr_registered: col(r, 8)?,
        is_sspr_enabled: col(r, 9)?,
        is_sspr_capable: col(r, 10)?,
        is_passwordless_capable: col(r, 11)?,
        methods_registered: col(r, 12)?,
        default_mfa_method: DefaultMfaMethodType::parse(col(r, 13)?)
            .map_err(|_| bad("defaultMfaMethod"))?,
        is_system_preferred_authentication_method_enabled: col(r, 14)?,
        user_preferred_method_for_secondary_authentication: preferred
            .map(UserDefaultAuthenticationMethodType::parse)
            .transpose()
            .map_err(|_| bad("preferred method"))?,
        account_enabled: col(r, 16)?,
        per_user_mfa_state: PerUserMfaState::parse(col(r, 17)?)
            .map_err(|_| bad("perUserMfaState"))?,
        last_updated: from_nanos(col(r, 18)?),
    })
}

pub use crate::columns::flag_column;

// ---------------------------------------------------------------------------------------------
// Non-MFA evidence

/// Reads `object_id, last_ns, evidence upn, directory upn`.
pub fn principal_from_row(tenant: &str, r: &Row) -> Result<NonMfaPrincipal, StoreError> {
    let seen: Option<String> = col(r, 2)?;
    let dir: Option<String> = col(r, 3)?;
    Ok(NonMfaPrincipal {
        tenant_id: tenant.to_string(),
        object_id: col(r, 0)?,
        upn: dir.or(seen),
        last: from_nanos(col(r, 1)?),
    })
}

/// Reads `object_id, upn, source, app_id, app_display_name, count, first_ns, last_ns`.
pub fn evidence_from_row(tenant: &str, r: &Row) -> Result<NonMfaEvidence, StoreError> {
    Ok(NonMfaEvidence {
        tenant_id: tenant.to_string(),
        object_id: col(r, 0)?,
        upn: col(r, 1)?,
        source: NonMfaSource::from_code(col(r, 2)?).ok_or_else(|| bad("evidence source"))?,
        app_id: col(r, 3)?,
        app_display_name: col(r, 4)?,
        count: count(col(r, 5)?),
        first: from_nanos(col(r, 6)?),
        last: from_nanos(col(r, 7)?),
    })
}

// ---------------------------------------------------------------------------------------------

/// A column value, with the driver's error mapped.
pub fn col<'a, T: FromSql<'a>>(r: &'a Row, i: usize) -> Result<T, StoreError> {
    r.try_get(i).map_err(pg_err)
}

/// A stored count (BIGINT, never negative) as the domain's `u64`.
pub fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn bad(what: &str) -> StoreError {
    StoreError::Other(format!("a stored value is not a valid {what}"))
}
