//! Partner Center non-MFA-compliant principals: the evidence that puts a principal on the
//! list (a partner-application sign-in, or an API call with a non-MFA token) and the list.

use chrono::{DateTime, Utc};
use serde::Serialize;

/// Why a principal is listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum NonMfaSource {
    /// A sign-in to a partner application that completed without MFA (ingested).
    SignIn,
    /// A call to mfalens's Partner Center API with an App+User token lacking `mfa` in `amr`.
    ApiCall,
}

impl NonMfaSource {
    pub fn code(self) -> i16 {
        match self {
            NonMfaSource::SignIn => 0,
            NonMfaSource::ApiCall => 1,
        }
    }
    pub fn from_code(c: i16) -> Option<Self> {
        match c {
            0 => Some(NonMfaSource::SignIn),
            1 => Some(NonMfaSource::ApiCall),
            _ => None,
        }
    }
}

/// One piece of evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonMfaObservation {
    pub tenant_id: String,
    pub object_id: String,
    pub upn: Option<String>,
    pub source: NonMfaSource,
    /// The application (client) id involved; empty when unknown.
    pub app_id: String,
    pub app_display_name: Option<String>,
    pub at: DateTime<Utc>,
}

/// A row of the contract list: one per principal, its latest non-MFA time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonMfaPrincipal {
    pub tenant_id: String,
    pub object_id: String,
    pub upn: Option<String>,
    pub last: DateTime<Utc>,
}

/// Evidence aggregated per (principal, source, application), for the details extension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NonMfaEvidence {
    pub tenant_id: String,
    pub object_id: String,
    pub upn: Option<String>,
    pub source: NonMfaSource,
    pub app_id: String,
    pub app_display_name: Option<String>,
    pub count: u64,
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
}
