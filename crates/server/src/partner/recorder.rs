//! Non-MFA API-call evidence, recorded off the request path. A request puts its observation on
//! a bounded queue and moves on; one background task writes the queue to the store in arrival
//! order. `flush()` returns once everything queued before it is stored, so a read that flushes
//! first sees every call answered before it began. A full queue makes requests wait (back-
//! pressure), never drops evidence. Not a durability boundary: a crash (not a graceful stop)
//! can lose what is still queued; `crate::serve` flushes on shutdown.

use crate::auth::Principal;
use chrono::{DateTime, Utc};
use mfalens_core::classify::DEFAULT_PARTNER_APP_IDS;
use mfalens_core::principal::{NonMfaObservation, NonMfaSource};
use mfalens_store::Store;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Observations that may wait for the writer before requests start waiting for it.
pub const QUEUE_CAPACITY: usize = 4096;
/// Messages the writer takes off the queue at a time.
const DRAIN_MAX: usize = 256;

enum Msg {
    Observe(NonMfaObservation),
    Flush(oneshot::Sender<()>),
}

pub struct NonMfaRecorder {
    store: Arc<dyn Store>,
    /// Created, with its writer task, on first use: that is always inside the runtime.
    queue: OnceLock<mpsc::Sender<Msg>>,
}

impl NonMfaRecorder {
    pub fn new(store: Arc<dyn Store>) -> Self {
        NonMfaRecorder {
            store,
            queue: OnceLock::new(),
        }
    }

    fn queue(&self) -> &mpsc::Sender<Msg> {
        self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
            tokio::spawn(write_loop(self.store.clone(), rx));
            tx
        })
    }

    /// Queues one observation; waits only while the queue is full.
    pub async fn record(&self, obs: NonMfaObservation) {
        if self.queue().send(Msg::Observe(obs)).await.is_err() {
            tracing::error!("the non-MFA evidence writer has stopped; an observation was lost");
        }
    }

    /// Waits until every observation queued before this call is stored (or has failed and
    /// been logged).
    pub async fn flush(&self) {
        let Some(queue) = self.queue.get() else {
            return;
        };
        let (tx, rx) = oneshot::channel();
        if queue.send(Msg::Flush(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }
}

/// The observation an App+User call without MFA evidence leaves.
pub fn api_call(p: &Principal, at: DateTime<Utc>) -> NonMfaObservation {
    let app_id = p.app_id.clone().unwrap_or_default().to_ascii_lowercase();
    let app_display_name = DEFAULT_PARTNER_APP_IDS
        .iter()
        .find(|(id, _)| *id == app_id)
        .map(|(_, name)| name.to_string());
    NonMfaObservation {
        tenant_id: p.tenant_id.clone(),
        object_id: p.object_id.clone(),
        upn: p.upn.clone(),
        source: NonMfaSource::ApiCall,
        app_id,
        app_display_name,
        at,
    }
}

/// Writes what is queued in one transaction per drain (one disk sync for many calls), and
/// answers each flush once everything queued before it is stored.
async fn write_loop(store: Arc<dyn Store>, mut rx: mpsc::Receiver<Msg>) {
    let mut msgs = Vec::with_capacity(DRAIN_MAX);
    let mut pending = Vec::with_capacity(DRAIN_MAX);
    while rx.recv_many(&mut msgs, DRAIN_MAX).await > 0 {
        for msg in msgs.drain(..) {
            match msg {
                Msg::Observe(obs) => pending.push(obs),
                Msg::Flush(done) => {
                    write(store.as_ref(), std::mem::take(&mut pending)).await;
                    let _ = done.send(());
                }
            }
        }
        write(store.as_ref(), std::mem::take(&mut pending)).await;
    }
}

async fn write(store: &dyn Store, batch: Vec<NonMfaObservation>) {
    if batch.is_empty() {
        return;
    }
    // One retry: a passing failure (a busy database) should not cost evidence.
    for attempt in 1..=2 {
        match store.record_non_mfa_batch(batch.clone()).await {
            Ok(()) => return,
            Err(e) if attempt == 1 => {
                tracing::warn!(error = %e, "recording non-MFA evidence failed; retrying");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => {
                tracing::error!(error = %e, observations = batch.len(), "non-MFA evidence lost");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Grant;
    use mfalens_store::sqlite::SqliteStore;

    fn principal(app: &str) -> Principal {
        Principal {
            tenant_id: "t".into(),
            object_id: "u".into(),
            upn: Some("u@x".into()),
            app_id: Some(app.into()),
            grant: Grant::Delegated {
                scopes: vec!["user_impersonation".into()],
            },
            directory_roles: vec![],
            mfa: false,
            tenants: vec!["t".into()],
            expires_at: 0,
        }
    }

    #[test]
    fn an_api_call_names_known_partner_apps() {
        let now = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let o = api_call(
            &principal(&DEFAULT_PARTNER_APP_IDS[0].0.to_uppercase()),
            now,
        );
        assert_eq!(o.source, NonMfaSource::ApiCall);
        assert_eq!(o.app_id, DEFAULT_PARTNER_APP_IDS[0].0);
        assert_eq!(
            o.app_display_name.as_deref(),
            Some(DEFAULT_PARTNER_APP_IDS[0].1)
        );
        assert_eq!(api_call(&principal("other"), now).app_display_name, None);
    }

    #[tokio::test]
    async fn flush_waits_for_everything_queued_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open(&dir.path().join("r.db")).await.unwrap());
        let rec = NonMfaRecorder::new(store.clone());
        rec.flush().await; // nothing queued yet: returns at once
        let now = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        for i in 0..50 {
            let mut p = principal("app");
            p.object_id = format!("u{i}");
            rec.record(api_call(&p, now)).await;
        }
        rec.flush().await;
        let since = now - chrono::Duration::days(1);
        assert_eq!(
            store
                .non_mfa_principals("t", since, 100)
                .await
                .unwrap()
                .len(),
            50
        );
    }
}
