//! Auth as extractors: a handler that asks for `GraphCaller`, `PartnerCaller` or
//! `IngestCaller` only runs with a verified token of that API family's audience, and fails in
//! that family's envelope otherwise.

use super::policy::{Operation, Target, authorize};
use super::principal::Principal;
use super::verify::{AuthError, Family};
use crate::error::{GraphError, OwnError, PartnerError};
use crate::partner::recorder;
use crate::{AppState, MfaEnforcement};
use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use std::marker::PhantomData;

/// The bearer token of a request, or why there is none.
pub fn bearer(parts: &Parts) -> Result<&str, AuthError> {
    let Some(value) = parts.headers.get(AUTHORIZATION) else {
        return Err(AuthError::Missing);
    };
    let value = value.to_str().map_err(|_| AuthError::NotBearer)?.trim();
    let (scheme, token) = value.split_once(' ').ok_or(AuthError::NotBearer)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::NotBearer);
    }
    let token = token.trim();
    if token.is_empty() {
        return Err(AuthError::Missing);
    }
    Ok(token)
}

/// Verifies the request's token for `family` at the state's clock, with the keys at hand
/// (an unknown `kid` of a refreshable issuer starts a background refresh and fails this
/// call). Extractors should prefer `authenticate`, which waits for that refresh.
pub fn verify(parts: &Parts, st: &AppState, family: Family) -> Result<Principal, AuthError> {
    let token = bearer(parts)?;
    record(st.verifier().verify(token, family, st.now().timestamp()))
}

/// Verifies the request's token for `family`, first fetching the issuer's keys when the
/// token names one not seen yet (rate-limited per issuer). Never logs the token.
pub async fn authenticate(
    parts: &Parts,
    st: &AppState,
    family: Family,
) -> Result<Principal, AuthError> {
    let token = match bearer(parts) {
        Ok(t) => t,
        Err(e) => return record(Err(e)),
    };
    let now = st.now().timestamp();
    record(st.verifier().verify_refreshing(token, family, now).await)
}

/// Puts the caller's tenant on the request span, or logs why the token was refused.
fn record(r: Result<Principal, AuthError>) -> Result<Principal, AuthError> {
    match &r {
        Ok(p) => {
            tracing::Span::current().record("tenant", p.tenant_id.as_str());
        }
        Err(e) => tracing::info!(reason = %e, "bearer token refused"),
    }
    r
}

pub struct GraphCaller(pub Principal);

impl FromRequestParts<AppState> for GraphCaller {
    type Rejection = GraphError;
    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, GraphError> {
        Ok(GraphCaller(authenticate(parts, st, Family::Graph).await?))
    }
}

pub struct IngestCaller(pub Principal);

impl FromRequestParts<AppState> for IngestCaller {
    type Rejection = OwnError;
    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, OwnError> {
        Ok(IngestCaller(authenticate(parts, st, Family::Ingest).await?))
    }
}

/// The operation a Partner Center route performs; `PartnerCaller<O>` authorizes it.
pub trait PartnerOperation {
    const OPERATION: Operation;
}

/// A Partner Center caller, verified and authorized for `O`. On the way in, an App+User token
/// without MFA evidence (`amr` lacks `mfa`) leaves a non-MFA observation, whatever happens
/// next; then the caller must be allowed `O` (403 2032), and under `Enforce` the call is
/// refused with 401 900421. App-only tokens are never MFA checked.
pub struct PartnerCaller<O>(pub Principal, pub PhantomData<fn() -> O>);

impl<O: PartnerOperation> FromRequestParts<AppState> for PartnerCaller<O> {
    type Rejection = PartnerError;
    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, PartnerError> {
        let p = authenticate(parts, st, Family::PartnerCenter).await?;
        let user_without_mfa = p.is_delegated() && !p.mfa;
        if user_without_mfa {
            st.non_mfa_recorder()
                .record(recorder::api_call(&p, st.now()))
                .await;
        }
        authorize(&p, O::OPERATION, Target::Tenant)?;
        if user_without_mfa && st.config().partner_mfa == MfaEnforcement::Enforce {
            return Err(PartnerError::mfa_required());
        }
        Ok(PartnerCaller(p, PhantomData))
    }
}
