//! The store test suite every backend must pass. Each case takes a fresh, empty store;
//! `store_suite!` turns the list into `#[tokio::test]`s for a backend.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::*;
use chrono::{DateTime, Duration, Utc};
use mfalens_core::classify::{SignInFact, SignInFacts};
use mfalens_core::directory::{
    DirectoryUser, PerUserMfaState, SignInPreferencesPatch, UserDefaultAuthenticationMethodType,
};
use mfalens_core::metric::{Metric, MetricSet};
use mfalens_core::principal::{NonMfaObservation, NonMfaSource};
use mfalens_core::time::{minute_of, parse_datetime, to_nanos};
use std::collections::HashMap;
use std::sync::Arc;

pub type Fixture = Arc<dyn Store>;

/// The suite's fixed clock.
pub fn now() -> DateTime<Utc> {
    parse_datetime("2026-11-23T12:00:00Z").expect("valid literal")
}

pub const T1: &str = "11111111-1111-1111-1111-111111111111";
pub const T2: &str = "22222222-2222-2222-2222-222222222222";

pub fn fact(tenant: &str, id: &str, at: DateTime<Utc>, metrics: &[Metric]) -> SignInFact {
    SignInFact {
        tenant_id: tenant.into(),
        id: id.into(),
        created: at,
        user_id: Some(format!("user-{id}")),
        user_principal_name: Some(format!("{id}@contoso.example")),
        app_id: Some("app".into()),
        app_display_name: Some("App".into()),
        facts: SignInFacts {
            metrics: metrics.iter().copied().collect::<MetricSet>(),
            mfa_satisfied: false,
            partner_non_mfa: false,
        },
    }
}

pub fn user(tenant: &str, id: &str, upn: &str) -> DirectoryUser {
    let rec = format!(
        r#"{{"id":"{id}","tenantId":"{tenant}","userPrincipalName":"{upn}","isMfaRegistered":true,
           "isSsprRegistered":true,"isSsprEnabled":true,"methodsRegistered":["microsoftAuthenticatorPush"],
           "userPreferredMethodForSecondaryAuthentication":"push"}}"#
    );
    DirectoryUser::from_json(rec.as_bytes(), None, now()).expect("valid user")
}

pub async fn ingest_counts_each_event_once(s: Fixture) {
    let base = now() - Duration::hours(5);
    let batch: Vec<_> = (0..500)
        .map(|i| {
            let m = if i % 3 == 0 {
                vec![Metric::MfaSignInFailure]
            } else {
                vec![Metric::MfaSignInSuccess, Metric::SamlSignInSuccess]
            };
            fact(T1, &format!("e{i}"), base + Duration::seconds(i * 7), &m)
        })
        .collect();
    let first = s.ingest_signins(batch.clone(), now()).await.unwrap();
    assert_eq!(
        first,
        IngestOutcome {
            accepted: 500,
            duplicates: 0,
            expired: 0
        }
    );
    let again = s.ingest_signins(batch.clone(), now()).await.unwrap();
    assert_eq!(
        again,
        IngestOutcome {
            accepted: 0,
            duplicates: 500,
            expired: 0
        }
    );
    // Overlapping halves, and duplicates inside one batch.
    let mut mixed = batch[250..].to_vec();
    mixed.push(fact(T1, "new", base, &[Metric::MfaSignInFailure]));
    mixed.push(fact(T1, "new", base, &[Metric::MfaSignInFailure]));
    let third = s.ingest_signins(mixed, now()).await.unwrap();
    assert_eq!(
        third,
        IngestOutcome {
            accepted: 1,
            duplicates: 251,
            expired: 0
        }
    );

    let mut expected: HashMap<i64, u64> = HashMap::new();
    for (i, f) in batch.iter().enumerate() {
        if i % 3 == 0 {
            *expected.entry(minute_of(f.created)).or_default() += 1;
        }
    }
    *expected.entry(minute_of(base)).or_default() += 1;
    let got: HashMap<i64, u64> = s
        .rollups(
            T1,
            Metric::MfaSignInFailure,
            minute_of(base) - 10,
            minute_of(now()),
        )
        .await
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(got, expected);
    let saml: u64 = s
        .rollups(T1, Metric::SamlSignInSuccess, 0, i64::MAX)
        .await
        .unwrap()
        .iter()
        .map(|(_, n)| n)
        .sum();
    assert_eq!(saml, 333);
    assert!(
        s.rollups(T2, Metric::MfaSignInFailure, 0, i64::MAX)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(s.counts(Some(T1)).await.unwrap().signins, 501);
}

pub async fn expired_events_are_skipped_not_stored(s: Fixture) {
    let old = now() - Duration::days(30) - Duration::seconds(1);
    let edge = now() - Duration::days(30);
    let out = s
        .ingest_signins(
            vec![
                fact(T1, "old", old, &[Metric::MfaSignInFailure]),
                fact(T1, "edge", edge, &[Metric::MfaSignInFailure]),
            ],
            now(),
        )
        .await
        .unwrap();
    assert_eq!(
        out,
        IngestOutcome {
            accepted: 1,
            duplicates: 0,
            expired: 1
        }
    );
    assert_eq!(s.counts(None).await.unwrap().signins, 1);
}

pub async fn raw_times_follow_metric_and_range(s: Fixture) {
    let t0 = now() - Duration::hours(1);
    s.ingest_signins(
        vec![
            fact(
                T1,
                "a",
                t0 + Duration::seconds(10),
                &[Metric::MfaSignInFailure],
            ),
            fact(
                T1,
                "b",
                t0 + Duration::seconds(50),
                &[Metric::MfaSignInFailure],
            ),
            fact(
                T1,
                "c",
                t0 + Duration::seconds(20),
                &[Metric::MfaSignInSuccess],
            ),
            fact(
                T2,
                "d",
                t0 + Duration::seconds(20),
                &[Metric::MfaSignInFailure],
            ),
        ],
        now(),
    )
    .await
    .unwrap();
    let r = (to_nanos(t0), to_nanos(t0 + Duration::seconds(30)));
    let mut got = s
        .raw_times(T1, Metric::MfaSignInFailure, &[r])
        .await
        .unwrap();
    got.sort();
    assert_eq!(got, vec![to_nanos(t0 + Duration::seconds(10))]);
    let both = s
        .raw_times(
            T1,
            Metric::MfaSignInFailure,
            &[r, (r.1, to_nanos(t0 + Duration::seconds(60)))],
        )
        .await
        .unwrap();
    assert_eq!(both.len(), 2);
}

pub async fn users_upsert_and_lookup_within_their_tenant(s: Fixture) {
    let out = s
        .upsert_users(vec![
            user(T1, "u1", "Alice@Contoso.example"),
            user(T1, "u2", "bob@contoso.example"),
        ])
        .await
        .unwrap();
    assert_eq!(
        out,
        UpsertOutcome {
            inserted: 2,
            updated: 0
        }
    );
    let mut changed = user(T1, "u1", "alice@contoso.example");
    changed.is_admin = true;
    let out = s.upsert_users(vec![changed.clone()]).await.unwrap();
    assert_eq!(
        out,
        UpsertOutcome {
            inserted: 0,
            updated: 1
        }
    );
    assert_eq!(
        s.user(T1, &UserKey::Id("U1".into())).await.unwrap(),
        Some(changed.clone())
    );
    assert_eq!(
        s.user(T1, &UserKey::Upn("ALICE@contoso.example".into()))
            .await
            .unwrap()
            .map(|u| u.id),
        Some("u1".into())
    );
    assert_eq!(
        s.user(T2, &UserKey::Id("u1".into())).await.unwrap(),
        None,
        "other tenant"
    );
    assert_eq!(
        s.user(T1, &UserKey::Id("nobody".into())).await.unwrap(),
        None
    );
}

pub async fn patches_change_only_what_they_name(s: Fixture) {
    s.upsert_users(vec![user(T1, "u1", "a@x.example")])
        .await
        .unwrap();
    let later = now() + Duration::minutes(1);
    let u = s
        .patch_sign_in_preferences(
            T1,
            "u1",
            &SignInPreferencesPatch {
                is_system_preferred_authentication_method_enabled: Some(true),
                user_preferred_method_for_secondary_authentication: None,
            },
            later,
        )
        .await
        .unwrap();
    assert!(u.is_system_preferred_authentication_method_enabled);
    assert_eq!(
        u.user_preferred_method_for_secondary_authentication,
        Some(UserDefaultAuthenticationMethodType::Push)
    );
    assert_eq!(u.last_updated, later);
    let stored = s
        .user(T1, &UserKey::Id("u1".into()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, u);
    // `enabled` on a user with a registered method becomes `enforced`.
    let u = s
        .set_per_user_mfa_state(T1, "u1", PerUserMfaState::Enabled, later)
        .await
        .unwrap();
    assert_eq!(u.per_user_mfa_state, PerUserMfaState::Enforced);
    let u = s
        .set_per_user_mfa_state(T1, "u1", PerUserMfaState::Disabled, later)
        .await
        .unwrap();
    assert_eq!(u.per_user_mfa_state, PerUserMfaState::Disabled);
    assert!(matches!(
        s.set_per_user_mfa_state(T2, "u1", PerUserMfaState::Enabled, later)
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        s.patch_sign_in_preferences(T1, "ghost", &SignInPreferencesPatch::default(), later)
            .await,
        Err(StoreError::NotFound)
    ));
}

pub async fn list_users_filters_and_pages(s: Fixture) {
    let mut users = Vec::new();
    for i in 0..25 {
        let mut u = user(T1, &format!("u{i:02}"), &format!("u{i}@x.example"));
        u.is_admin = i % 5 == 0;
        u.account_enabled = i != 3;
        users.push(u);
    }
    users.push(user(T2, "z", "z@y.example"));
    s.upsert_users(users).await.unwrap();
    let page1 = s.list_users(T1, &vec![], None, 10).await.unwrap();
    assert_eq!(page1.len(), 10);
    let page2 = s
        .list_users(T1, &vec![], Some(&page1[9].id), 100)
        .await
        .unwrap();
    assert_eq!(page2.len(), 15);
    assert!(page2.iter().all(|u| u.tenant_id == T1));
    let admins = s
        .list_users(T1, &vec![(UserFlag::IsAdmin, true)], None, 100)
        .await
        .unwrap();
    assert_eq!(admins.len(), 5);
    let enabled_admins = s
        .list_users(
            T1,
            &vec![(UserFlag::IsAdmin, true), (UserFlag::AccountEnabled, true)],
            None,
            100,
        )
        .await
        .unwrap();
    assert_eq!(enabled_admins.len(), 5);
    let summary = s.registration_summary(T1).await.unwrap();
    assert_eq!(summary.total, 24);
    assert_eq!(summary.mfa_registered, 24);
    assert_eq!(
        summary.by_method.get("microsoftAuthenticatorPush"),
        Some(&24)
    );
}

pub async fn non_mfa_principals_latest_first_per_tenant(s: Fixture) {
    let mut f1 = fact(T1, "s1", now() - Duration::days(2), &[]);
    f1.facts.partner_non_mfa = true;
    f1.user_id = Some("p1".into());
    let mut f2 = fact(T1, "s2", now() - Duration::days(1), &[]);
    f2.facts.partner_non_mfa = true;
    f2.user_id = Some("p1".into());
    let mut f3 = fact(T2, "s3", now() - Duration::hours(1), &[]);
    f3.facts.partner_non_mfa = true;
    f3.user_id = Some("other".into());
    s.ingest_signins(vec![f1.clone(), f2, f3], now())
        .await
        .unwrap();
    // A duplicate delivery adds no evidence.
    s.ingest_signins(vec![f1], now()).await.unwrap();
    s.record_non_mfa(NonMfaObservation {
        tenant_id: T1.into(),
        object_id: "p2".into(),
        upn: Some("p2@contoso.example".into()),
        source: NonMfaSource::ApiCall,
        app_id: "client".into(),
        app_display_name: None,
        at: now() - Duration::hours(3),
    })
    .await
    .unwrap();
    s.record_non_mfa(NonMfaObservation {
        tenant_id: T1.into(),
        object_id: "p3".into(),
        upn: None,
        source: NonMfaSource::ApiCall,
        app_id: "client".into(),
        app_display_name: None,
        at: now() - Duration::days(8),
    })
    .await
    .unwrap();
    let since = now() - Duration::days(7);
    let list = s.non_mfa_principals(T1, since, 10_000).await.unwrap();
    let ids: Vec<_> = list.iter().map(|p| p.object_id.as_str()).collect();
    assert_eq!(
        ids,
        vec!["p2", "p1"],
        "newest first, one row each, old and foreign left out"
    );
    assert_eq!(list[1].last, now() - Duration::days(1));
    assert_eq!(list[0].upn.as_deref(), Some("p2@contoso.example"));
    assert_eq!(s.non_mfa_principals(T1, since, 1).await.unwrap().len(), 1);
    let ev = s.non_mfa_evidence(T1, since).await.unwrap();
    let p1 = ev.iter().find(|e| e.object_id == "p1").unwrap();
    assert_eq!((p1.count, p1.source), (2, NonMfaSource::SignIn));
    assert_eq!(p1.first, now() - Duration::days(2));
}

pub async fn a_batch_of_observations_equals_them_one_by_one(s: Fixture) {
    let obs = |user: &str, hours: i64| NonMfaObservation {
        tenant_id: T1.into(),
        object_id: user.into(),
        upn: Some(format!("{user}@contoso.example")),
        source: NonMfaSource::ApiCall,
        app_id: "client".into(),
        app_display_name: None,
        at: now() - Duration::hours(hours),
    };
    // Repeats of one principal inside the batch, and a row that already exists.
    s.record_non_mfa(obs("p1", 30)).await.unwrap();
    s.record_non_mfa_batch(vec![obs("p1", 5), obs("p2", 2), obs("p1", 9), obs("p1", 1)])
        .await
        .unwrap();
    s.record_non_mfa_batch(vec![]).await.unwrap();
    let ev = s
        .non_mfa_evidence(T1, now() - Duration::days(7))
        .await
        .unwrap();
    let p1 = ev.iter().find(|e| e.object_id == "p1").unwrap();
    assert_eq!(p1.count, 4);
    assert_eq!(p1.first, now() - Duration::hours(30));
    assert_eq!(p1.last, now() - Duration::hours(1));
    let list = s
        .non_mfa_principals(T1, now() - Duration::days(7), 10)
        .await
        .unwrap();
    let ids: Vec<_> = list.iter().map(|p| p.object_id.as_str()).collect();
    assert_eq!(ids, vec!["p1", "p2"]);
}

pub async fn prune_drops_what_fell_out_of_retention(s: Fixture) {
    let t = now() - Duration::days(29);
    s.ingest_signins(
        vec![
            fact(T1, "a", t, &[Metric::MfaSignInFailure]),
            fact(T1, "b", now(), &[Metric::MfaSignInFailure]),
        ],
        now(),
    )
    .await
    .unwrap();
    let out = s.prune(now() + Duration::days(2)).await.unwrap();
    assert_eq!(out.signins, 1);
    assert_eq!(out.rollup_minutes, 1);
    assert_eq!(s.counts(None).await.unwrap().signins, 1);
    // Re-delivered after its fact was pruned, the event is too old to count again.
    let again = s
        .ingest_signins(
            vec![fact(T1, "a", t, &[Metric::MfaSignInFailure])],
            now() + Duration::days(2),
        )
        .await
        .unwrap();
    assert_eq!(again.expired, 1);
}

pub async fn concurrent_overlapping_ingests_count_once(s: Fixture) {
    let base = now() - Duration::hours(2);
    let all: Vec<_> = (0..2000)
        .map(|i| {
            fact(
                T1,
                &format!("c{i}"),
                base + Duration::seconds(i),
                &[Metric::MfaSignInFailure],
            )
        })
        .collect();
    let mut tasks = Vec::new();
    for k in 0..4 {
        let s = s.clone();
        // Each writer takes an overlapping 1000-event slice, in 100-event batches.
        let slice = all[(k * 333)..(k * 333 + 1000)].to_vec();
        tasks.push(tokio::spawn(async move {
            let mut total = IngestOutcome::default();
            for chunk in slice.chunks(100) {
                total += s.ingest_signins(chunk.to_vec(), now()).await.unwrap();
            }
            total
        }));
    }
    let mut accepted = 0;
    for t in tasks {
        accepted += t.await.unwrap().accepted;
    }
    let distinct = 3 * 333 + 1000;
    assert_eq!(accepted, distinct as u64);
    let sum: u64 = s
        .rollups(T1, Metric::MfaSignInFailure, 0, i64::MAX)
        .await
        .unwrap()
        .iter()
        .map(|(_, n)| n)
        .sum();
    assert_eq!(sum, distinct as u64);
}

/// PostgreSQL test support: a schema of one test's own on `MFALENS_TEST_POSTGRES_URL`.
/// Unset, tests skip with a message, except under `CI`, where a missing or unreachable
/// database fails them.
pub mod pg {
    use crate::postgres::PostgresStore;
    use std::hash::{BuildHasher, RandomState};
    use std::sync::atomic::{AtomicU64, Ordering};

    pub const URL_VAR: &str = "MFALENS_TEST_POSTGRES_URL";

    pub fn in_ci() -> bool {
        std::env::var("CI")
            .is_ok_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
    }

    /// The server to test against, or `None` (after saying so) when the tests should skip.
    pub fn base_url() -> Option<String> {
        match std::env::var(URL_VAR) {
            Ok(u) if !u.trim().is_empty() => Some(u.trim().to_string()),
            _ if in_ci() => panic!(
                "{URL_VAR} is not set, and CI is: the PostgreSQL store tests must run in CI \
                 (e.g. {URL_VAR}=postgres://postgres@127.0.0.1:5432/test)"
            ),
            _ => {
                eprintln!(
                    "SKIPPED: PostgreSQL store test; set {URL_VAR}=postgres://USER@HOST:PORT/DB to run it"
                );
                None
            }
        }
    }

    pub async fn admin(base: &str) -> tokio_postgres::Client {
        let (client, conn) = tokio_postgres::connect(base, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| {
                let cause = std::error::Error::source(&e)
                    .map(|c| format!(": {c}"))
                    .unwrap_or_default();
                panic!("cannot reach PostgreSQL at ${URL_VAR}: {e}{cause}")
            });
        tokio::spawn(conn);
        client
    }

    /// A schema of one test's own, dropped (with everything in it) when the guard is dropped.
    pub struct TestSchema {
        pub base: String,
        pub name: String,
    }

    impl TestSchema {
        pub async fn create() -> Option<TestSchema> {
            static SEQ: AtomicU64 = AtomicU64::new(0);
            let base = base_url()?;
            let random = RandomState::new()
                .hash_one((std::process::id(), SEQ.fetch_add(1, Ordering::Relaxed)));
            let name = format!("mfalens_test_{random:016x}");
            admin(&base)
                .await
                .batch_execute(&format!("CREATE SCHEMA {name}"))
                .await
                .unwrap_or_else(|e| panic!("cannot create schema {name}: {e}"));
            Some(TestSchema { base, name })
        }

        /// The base URL with this schema first on the search path.
        pub fn url(&self) -> String {
            let sep = if self.base.contains('?') { '&' } else { '?' };
            format!("{}{sep}options=-c%20search_path%3D{}", self.base, self.name)
        }

        pub async fn open(&self) -> PostgresStore {
            PostgresStore::open(&self.url())
                .await
                .unwrap_or_else(|e| panic!("cannot open the store in {}: {e}", self.name))
        }
    }

    impl Drop for TestSchema {
        fn drop(&mut self) {
            // Drop cannot await: a thread of its own with a small runtime does the clean-up. (The
            // tests use the multi-thread runtime, so the stores' connection tasks, still closing on
            // its workers, never wait on this thread.)
            let (base, name) = (self.base.clone(), self.name.clone());
            let done = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                rt.block_on(async {
                    let (client, conn) =
                        tokio_postgres::connect(&base, tokio_postgres::NoTls).await?;
                    tokio::spawn(conn);
                    client
                        .batch_execute(&format!(
                            "SET lock_timeout = '20s'; DROP SCHEMA IF EXISTS {name} CASCADE"
                        ))
                        .await
                })?;
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
            })
            .join();
            if !matches!(done, Ok(Ok(()))) {
                eprintln!("warning: test schema {} was left behind", self.name);
            }
        }
    }
}

/// Expands to one `#[tokio::test]` per suite case; `$make` is an async expression giving a
/// fresh `Fixture`.
///
/// `store_suite!(optional: $make)` is for backends that need an outside server: there `$make`
/// gives `Option<(Fixture, Guard)>`. `None` skips the case (the maker says why); the guard,
/// of any type, lives until the case ends and its `Drop` may clean up (drop a test schema).
#[macro_export]
macro_rules! store_suite {
    (optional: $make:expr) => {
        $crate::store_suite!(@cases $make;
            ingest_counts_each_event_once,
            expired_events_are_skipped_not_stored,
            raw_times_follow_metric_and_range,
            users_upsert_and_lookup_within_their_tenant,
            patches_change_only_what_they_name,
            list_users_filters_and_pages,
            non_mfa_principals_latest_first_per_tenant,
            a_batch_of_observations_equals_them_one_by_one,
            prune_drops_what_fell_out_of_retention,
            concurrent_overlapping_ingests_count_once,
        );
    };
    ($make:expr) => {
        $crate::store_suite!(optional: async { Some(($make.await, ())) });
    };
    (@cases $make:expr; $($case:ident),+ $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some((store, _guard)) = $make.await else {
                    return;
                };
                $crate::testsuite::$case(store).await;
            }
        )+
    };
}
