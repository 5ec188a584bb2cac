//! The cost of token verification with and without the verified-token cache, printed as
//! verifications (and requests) per second. Timings are printed, never asserted:
//! `cargo test -p mfalens-server --test http -- --ignored --nocapture verification_cost`.

use super::{ENDPOINTS, call, least_privileged};
use crate::app::{TENANT_A, TestApp};
use mfalens_server::ServerConfig;
use mfalens_server::auth::Family;
use mfalens_server::auth::verify::{Audiences, Verifier};
use std::time::Instant;

fn per_sec(n: usize, started: Instant) -> f64 {
    n as f64 / started.elapsed().as_secs_f64()
}

#[tokio::test]
#[ignore = "a measurement; run with --ignored --nocapture"]
async fn verification_cost_with_and_without_the_cache() {
    let app = TestApp::start().await;
    let metrics = &ENDPOINTS[0];
    let token = least_privileged(&app, metrics, TENANT_A);
    let now = app.now().timestamp();
    let issuer = || vec![app.key.trusted_issuer().unwrap()];
    let uncached = Verifier::new(issuer(), Audiences::default(), 60).with_cache(0);
    let cached = Verifier::new(issuer(), Audiences::default(), 60);

    let n = 2000;
    let t = Instant::now();
    for _ in 0..n {
        uncached.verify(&token, Family::Graph, now).unwrap();
    }
    let without = per_sec(n, t);

    let n_hit = 200_000;
    cached.verify(&token, Family::Graph, now).unwrap();
    let t = Instant::now();
    for _ in 0..n_hit {
        cached.verify(&token, Family::Graph, now).unwrap();
    }
    let with = per_sec(n_hit, t);

    // Distinct tokens: every one a miss, so the cache only adds its bookkeeping.
    let distinct: Vec<String> = (0..n)
        .map(|i| {
            super::delegated(
                &app,
                Family::Graph,
                TENANT_A,
                &format!("user-{i}"),
                &["Reports.Read.All"],
                &[mfalens_server::auth::policy::REPORTS_READER],
            )
        })
        .collect();
    let t = Instant::now();
    for tok in &distinct {
        cached.verify(tok, Family::Graph, now).unwrap();
    }
    let misses = per_sec(n, t);

    println!("verifier, one token, no cache:        {without:>12.0} verifications/s");
    println!("verifier, one token, cache hit:       {with:>12.0} verifications/s");
    println!("verifier, distinct tokens, cache miss:{misses:>12.0} verifications/s");
    println!("cache hit speed-up: {:.0}x", with / without);

    // End to end: sequential requests to the metrics function over loopback HTTP.
    let uncached_app = TestApp::launch(ServerConfig::default(), Vec::new(), 0).await;
    let requests = 500;
    for (label, app) in [("no cache", &uncached_app), ("cache", &app)] {
        let token = least_privileged(app, metrics, TENANT_A);
        call(app, metrics, Some(&token), "").await;
        let t = Instant::now();
        for _ in 0..requests {
            let r = call(app, metrics, Some(&token), "").await;
            assert_eq!(r.status, 200);
        }
        println!(
            "HTTP metrics function, {label:<8}: {:>8.0} requests/s",
            per_sec(requests, t)
        );
    }
}
