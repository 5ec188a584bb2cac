//! The `Store` trait and the types it speaks.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mfalens_core::classify::SignInFact;
use mfalens_core::directory::{DirectoryUser, PerUserMfaState, SignInPreferencesPatch};
use mfalens_core::metric::Metric;
use mfalens_core::principal::{NonMfaEvidence, NonMfaObservation, NonMfaPrincipal};
use mfalens_core::registration::RegistrationSummary;

/// The small error the domain owns; no driver error leaks upward.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error(
        "the database schema is version {found}, newer than this mfalens understands ({known}); upgrade mfalens"
    )]
    SchemaTooNew { found: i64, known: i64 },
    #[error("bad database URL: {0}")]
    BadUrl(String),
    #[error("storage failure: {0}")]
    Other(String),
}

/// What one ingested batch did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct IngestOutcome {
    /// New events, now counted.
    pub accepted: u64,
    /// Events already stored (same tenant and id): counted once, before.
    pub duplicates: u64,
    /// Events older than the 30-day retention window: not stored, not counted.
    pub expired: u64,
}

impl std::ops::AddAssign for IngestOutcome {
    fn add_assign(&mut self, o: Self) {
        self.accepted += o.accepted;
        self.duplicates += o.duplicates;
        self.expired += o.expired;
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct UpsertOutcome {
    pub inserted: u64,
    pub updated: u64,
}

impl std::ops::AddAssign for UpsertOutcome {
    fn add_assign(&mut self, o: Self) {
        self.inserted += o.inserted;
        self.updated += o.updated;
    }
}

/// How a path names a user: by object id or by user principal name (case-insensitive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserKey {
    Id(String),
    Upn(String),
}

/// Boolean columns of `userRegistrationDetails` that a `$filter` may test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserFlag {
    IsAdmin,
    IsMfaRegistered,
    IsMfaCapable,
    IsSsprRegistered,
    IsSsprEnabled,
    IsSsprCapable,
    IsPasswordlessCapable,
    IsSystemPreferredAuthenticationMethodEnabled,
    AccountEnabled,
}

impl UserFlag {
    pub fn of(self, u: &DirectoryUser) -> bool {
        match self {
            UserFlag::IsAdmin => u.is_admin,
            UserFlag::IsMfaRegistered => u.is_mfa_registered,
            UserFlag::IsMfaCapable => u.is_mfa_capable,
            UserFlag::IsSsprRegistered => u.is_sspr_registered,
            UserFlag::IsSsprEnabled => u.is_sspr_enabled,
            UserFlag::IsSsprCapable => u.is_sspr_capable,
            UserFlag::IsPasswordlessCapable => u.is_passwordless_capable,
            UserFlag::IsSystemPreferredAuthenticationMethodEnabled => {
                u.is_system_preferred_authentication_method_enabled
            }
            UserFlag::AccountEnabled => u.account_enabled,
        }
    }
}

/// A conjunction of `flag eq value` tests.
pub type UserFilter = Vec<(UserFlag, bool)>;

/// Sizes, for status lines and the demo.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct StoreCounts {
    pub tenants: u64,
    pub users: u64,
    pub signins: u64,
    pub non_mfa_principals: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PruneOutcome {
    pub signins: u64,
    pub rollup_minutes: u64,
    pub evidence: u64,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Which backend, for logs ("sqlite", "postgres").
    fn backend(&self) -> &'static str;

    /// Stores a batch of classified sign-ins atomically and durably, counting each
    /// (tenant, id) exactly once; events older than the retention window at `now` are skipped.
    async fn ingest_signins(
        &self,
        batch: Vec<SignInFact>,
        now: DateTime<Utc>,
    ) -> Result<IngestOutcome, StoreError>;

    /// Inserts or replaces directory users atomically.
    async fn upsert_users(&self, users: Vec<DirectoryUser>) -> Result<UpsertOutcome, StoreError>;

    /// Per-minute counts of `metric` for minutes in [first_minute, end_minute), zeros omitted.
    async fn rollups(
        &self,
        tenant: &str,
        metric: Metric,
        first_minute: i64,
        end_minute: i64,
    ) -> Result<Vec<(i64, u64)>, StoreError>;

    /// Creation times (ns) of stored events counting toward `metric` inside each [from, to).
    async fn raw_times(
        &self,
        tenant: &str,
        metric: Metric,
        ranges: &[(i64, i64)],
    ) -> Result<Vec<i64>, StoreError>;

    async fn user(&self, tenant: &str, key: &UserKey) -> Result<Option<DirectoryUser>, StoreError>;

    /// Applies a partial sign-in preferences change; `NotFound` when the user is unknown.
    async fn patch_sign_in_preferences(
        &self,
        tenant: &str,
        user_id: &str,
        patch: &SignInPreferencesPatch,
        now: DateTime<Utc>,
    ) -> Result<DirectoryUser, StoreError>;

    /// Sets per-user MFA state (the `enabled` → `enforced` rule applied); returns the user.
    async fn set_per_user_mfa_state(
        &self,
        tenant: &str,
        user_id: &str,
        state: PerUserMfaState,
        now: DateTime<Utc>,
    ) -> Result<DirectoryUser, StoreError>;

    /// Users of a tenant matching `filter`, ordered by id, after `after_id`, at most `limit`.
    async fn list_users(
        &self,
        tenant: &str,
        filter: &UserFilter,
        after_id: Option<&str>,
        limit: usize,
    ) -> Result<Vec<DirectoryUser>, StoreError>;

    /// Registration counts over a tenant's directory.
    async fn registration_summary(&self, tenant: &str) -> Result<RegistrationSummary, StoreError> {
        let mut summary = RegistrationSummary::default();
        let mut after: Option<String> = None;
        loop {
            let page = self
                .list_users(tenant, &Vec::new(), after.as_deref(), 5_000)
                .await?;
            for u in &page {
                summary.add(u);
            }
            match page.last() {
                Some(u) if page.len() == 5_000 => after = Some(u.id.clone()),
                _ => return Ok(summary),
            }
        }
    }

    /// Records one piece of non-MFA evidence (an API call made with a non-MFA token).
    async fn record_non_mfa(&self, obs: NonMfaObservation) -> Result<(), StoreError>;

    /// Records many observations atomically, as if `record_non_mfa` were called for each
    /// (backends override it with one transaction).
    async fn record_non_mfa_batch(&self, batch: Vec<NonMfaObservation>) -> Result<(), StoreError> {
        for obs in batch {
            self.record_non_mfa(obs).await?;
        }
        Ok(())
    }

    /// One row per principal of `tenant` whose latest evidence is at or after `since`,
    /// newest first, at most `limit`.
    async fn non_mfa_principals(
        &self,
        tenant: &str,
        since: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<NonMfaPrincipal>, StoreError>;

    /// All evidence rows of `tenant` whose latest time is at or after `since`.
    async fn non_mfa_evidence(
        &self,
        tenant: &str,
        since: DateTime<Utc>,
    ) -> Result<Vec<NonMfaEvidence>, StoreError>;

    /// Drops facts, rollups and evidence older than the retention window.
    async fn prune(&self, now: DateTime<Utc>) -> Result<PruneOutcome, StoreError>;

    /// Sizes, over one tenant or all.
    async fn counts(&self, tenant: Option<&str>) -> Result<StoreCounts, StoreError>;

    /// Tenant ids with any data, sorted.
    async fn tenants(&self) -> Result<Vec<String>, StoreError>;
}
