//! The load generator: N connections over loopback, each its own HTTP/1.1 keep-alive client
//! sending one request at a time; per-request latency, errors, and the request rate.

use anyhow::Result;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Builds the `i`-th request of connection `conn`, or `None` when that connection is done.
pub type MakeRequest =
    Arc<dyn Fn(&reqwest::Client, usize, u64) -> Option<reqwest::RequestBuilder> + Send + Sync>;

#[derive(Debug, Default)]
pub struct LoadResult {
    pub requests: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub secs: f64,
    /// Latencies of successful requests, microseconds, sorted.
    pub latencies_us: Vec<u64>,
}

impl LoadResult {
    pub fn rate(&self) -> f64 {
        self.requests as f64 / self.secs.max(1e-9)
    }
    pub fn percentile(&self, p: f64) -> u64 {
        if self.latencies_us.is_empty() {
            return 0;
        }
        let i = ((self.latencies_us.len() as f64 * p) as usize).min(self.latencies_us.len() - 1);
        self.latencies_us[i]
    }
}

/// Runs `conns` connections until each has no more requests or `limit` has passed.
pub async fn run(conns: usize, limit: Option<Duration>, make: MakeRequest) -> Result<LoadResult> {
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..conns {
        let make = make.clone();
        let client = reqwest::Client::builder()
            .http1_only()
            .pool_max_idle_per_host(1)
            .timeout(Duration::from_secs(600))
            .build()?;
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let (mut errors, mut first_error) = (0u64, None);
            let mut i = 0u64;
            loop {
                if limit.is_some_and(|l| started.elapsed() >= l) {
                    break;
                }
                let Some(req) = make(&client, c, i) else {
                    break;
                };
                i += 1;
                let t = Instant::now();
                let outcome = match req.send().await {
                    Ok(resp) => {
                        let status = resp.status();
                        match resp.bytes().await {
                            Ok(body) if status.is_success() => Ok(body.len()),
                            Ok(body) => Err(format!(
                                "HTTP {status}: {}",
                                String::from_utf8_lossy(&body[..body.len().min(300)])
                            )),
                            Err(e) => Err(e.to_string()),
                        }
                    }
                    Err(e) => Err(e.to_string()),
                };
                match outcome {
                    Ok(_) => lat.push(t.elapsed().as_micros() as u64),
                    Err(e) => {
                        errors += 1;
                        first_error.get_or_insert(e);
                    }
                }
            }
            (lat, errors, first_error)
        }));
    }
    let mut out = LoadResult::default();
    for t in tasks {
        let (lat, errors, first_error) = t.await?;
        out.requests += lat.len() as u64;
        out.latencies_us.extend(lat);
        out.errors += errors;
        if out.first_error.is_none() {
            out.first_error = first_error;
        }
    }
    out.secs = started.elapsed().as_secs_f64();
    out.latencies_us.sort_unstable();
    Ok(out)
}
