//! `GET /v1/nonMfaCompliantPartnerPrincipals` (and `/pcapi/v1/...`): the contract list. The
//! caller's tenant only; principals with non-MFA evidence at or after `now - 7 days`; one item
//! per principal with its latest time; newest first; at most 10,000; null members left out;
//! no `links`. The contract defines no query parameters: any sent are accepted and ignored.

use super::{PartnerJson, ReadNonMfa};
use crate::AppState;
use crate::auth::extract::PartnerCaller;
use crate::error::PartnerError;
use axum::extract::State;
use chrono::{DateTime, Duration, Utc};
use mfalens_core::principal::NonMfaPrincipal;
use mfalens_core::time::dotnet_datetime;
use mfalens_core::{NON_MFA_MAX_ITEMS, NON_MFA_WINDOW_DAYS};
use serde::Serialize;

/// `ResourceCollection<NonMfaCompliantPartnerPrincipalDetails>`, as the contract writes it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Collection {
    pub total_count: usize,
    pub items: Vec<Item>,
    pub attributes: Attributes,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Item {
    pub object_id: String,
    pub tenant_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upn: Option<String>,
    pub last_non_mfa_compliant_request_date_time: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Attributes {
    pub object_type: &'static str,
}

/// The first instant inside the window: evidence exactly this old is still listed.
pub fn window_start(now: DateTime<Utc>) -> DateTime<Utc> {
    now - Duration::days(NON_MFA_WINDOW_DAYS)
}

pub fn collection(principals: Vec<NonMfaPrincipal>) -> Collection {
    let items: Vec<Item> = principals
        .into_iter()
        .take(NON_MFA_MAX_ITEMS)
        .map(|p| Item {
            last_non_mfa_compliant_request_date_time: dotnet_datetime(p.last),
            object_id: p.object_id,
            tenant_id: p.tenant_id,
            upn: p.upn,
        })
        .collect();
    Collection {
        total_count: items.len(),
        items,
        attributes: Attributes {
            object_type: "Collection",
        },
    }
}

pub async fn list(
    State(st): State<AppState>,
    PartnerCaller(p, _): PartnerCaller<ReadNonMfa>,
) -> Result<PartnerJson<Collection>, PartnerError> {
    // Calls answered before this one (this one included) are listed: wait for their evidence.
    st.non_mfa_recorder().flush().await;
    let since = window_start(st.now());
    let principals = st
        .store()
        .non_mfa_principals(&p.tenant_id, since, NON_MFA_MAX_ITEMS)
        .await?;
    Ok(PartnerJson(collection(principals)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mfalens_core::time::parse_datetime;

    #[test]
    fn the_body_is_the_contracts() {
        let last = parse_datetime("2020-04-21T22:09:53.0510000Z").unwrap();
        let body = serde_json::to_string(&collection(vec![
            NonMfaPrincipal {
                tenant_id: "t".into(),
                object_id: "o".into(),
                upn: Some("u@x".into()),
                last,
            },
            NonMfaPrincipal {
                tenant_id: "t".into(),
                object_id: "p".into(),
                upn: None,
                last,
            },
        ]))
        .unwrap();
        assert_eq!(
            body,
            r#"{"totalCount":2,"items":[{"objectId":"o","tenantId":"t","upn":"u@x","lastNonMfaCompliantRequestDateTime":"2020-04-21T22:09:53.051"},{"objectId":"p","tenantId":"t","lastNonMfaCompliantRequestDateTime":"2020-04-21T22:09:53.051"}],"attributes":{"objectType":"Collection"}}"#
        );
        let empty = serde_json::to_string(&collection(vec![])).unwrap();
        assert_eq!(
            empty,
            r#"{"totalCount":0,"items":[],"attributes":{"objectType":"Collection"}}"#
        );
    }
}
