//! Loads what the non-MFA report needs — a tenant's evidence and the directory users it names —
//! and builds the rows with `mfalens_core::non_mfa_report`. Shared by the HTTP extension and
//! `mfalens report non-mfa`. Users are looked up one by one for short lists and read in pages
//! of the tenant's directory (filter pushed down) for long ones, never one query per row.

use chrono::{DateTime, Utc};
use futures::{StreamExt, TryStreamExt};
use mfalens_core::directory::DirectoryUser;
use mfalens_core::non_mfa_report::{ReportFilter, ReportRow, build_rows};
use mfalens_store::{Store, StoreError, UserFilter, UserFlag, UserKey};
use std::collections::{HashMap, HashSet};

/// Up to this many principals, users are fetched by id; beyond it, in pages.
pub const POINT_LOOKUP_MAX: usize = 200;
/// Users per page when reading the directory.
pub const USER_PAGE: usize = 5_000;
const LOOKUP_CONCURRENCY: usize = 8;

/// The report rows of `tenant` for evidence at or after `since`, newest first.
pub async fn load(
    store: &dyn Store,
    tenant: &str,
    since: DateTime<Utc>,
    filter: ReportFilter,
) -> Result<Vec<ReportRow>, StoreError> {
    let evidence = store.non_mfa_evidence(tenant, since).await?;
    let ids: HashSet<String> = evidence.iter().map(|e| e.object_id.clone()).collect();
    let users = directory_users(store, tenant, &ids, filter).await?;
    Ok(build_rows(evidence, |id| users.get(id), filter))
}

async fn by_id(
    store: &dyn Store,
    tenant: &str,
    id: String,
) -> Result<Option<DirectoryUser>, StoreError> {
    store.user(tenant, &UserKey::Id(id)).await
}

/// The directory users among `ids`. With a filter, users it excludes may be left out too.
async fn directory_users(
    store: &dyn Store,
    tenant: &str,
    ids: &HashSet<String>,
    filter: ReportFilter,
) -> Result<HashMap<String, DirectoryUser>, StoreError> {
    if ids.len() <= POINT_LOOKUP_MAX {
        let found: Vec<Option<DirectoryUser>> = futures::stream::iter(ids.iter().cloned())
            .map(|id| by_id(store, tenant, id))
            .buffer_unordered(LOOKUP_CONCURRENCY)
            .try_collect()
            .await?;
        return Ok(found
            .into_iter()
            .flatten()
            .map(|u| (u.id.clone(), u))
            .collect());
    }
    let pushed_down: UserFilter = [
        (UserFlag::AccountEnabled, filter.enabled),
        (UserFlag::IsAdmin, filter.admin),
    ]
    .into_iter()
    .filter_map(|(flag, v)| v.map(|v| (flag, v)))
    .collect();
    let mut out = HashMap::new();
    let mut after: Option<String> = None;
    loop {
        let page = store
            .list_users(tenant, &pushed_down, after.as_deref(), USER_PAGE)
            .await?;
        let full = page.len() == USER_PAGE;
        after = page.last().map(|u| u.id.clone());
        out.extend(
            page.into_iter()
                .filter(|u| ids.contains(&u.id))
                .map(|u| (u.id.clone(), u)),
        );
        if !full || out.len() == ids.len() {
            return Ok(out);
        }
    }
}
