//! The parse-only ceiling: read the file and turn every record into the same `SignInFact`
//! that ingest stores (parse, normalise, classify), and do nothing else. Runs as a child
//! process (`mfalens-bench parse-only FILE`) so its peak memory is its own.

use anyhow::{Context, Result};
use mfalens_core::classify::{ClassifyConfig, SignInFact};
use mfalens_core::ingest::{TenantScope, parse_signin};
use mfalens_core::records::{Chunk, read_chunk, read_records, split_lines};
use serde::{Deserialize, Serialize};
use std::io::BufReader;
use std::path::Path;
use std::sync::{Arc, Mutex, mpsc};
use std::time::Instant;

#[derive(Debug, Serialize, Deserialize)]
pub struct ParseResult {
    pub threads: usize,
    pub records: u64,
    pub rejected: u64,
    pub secs: f64,
    pub cpu_secs: f64,
    pub peak_rss: u64,
}

fn open(path: &Path) -> Result<BufReader<std::fs::File>> {
    let f = std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    Ok(BufReader::with_capacity(1 << 20, f))
}

/// Parses the whole file with `threads` parsers (1: the plain sequential reader).
pub fn run(path: &Path, threads: usize, now: chrono::DateTime<chrono::Utc>) -> Result<ParseResult> {
    let scope = TenantScope::default();
    let cfg = ClassifyConfig::default();
    let started = Instant::now();
    let (records, rejected) = if threads <= 1 {
        let (mut ok, mut bad) = (0u64, 0u64);
        read_records(open(path)?, &mut |pos, item| {
            match parse_signin(pos, item, &scope, &cfg, now) {
                Ok(f) => {
                    std::hint::black_box(&f);
                    ok += 1;
                }
                Err(_) => bad += 1,
            }
            Ok(())
        })?;
        (ok, bad)
    } else {
        parallel(path, threads, &scope, &cfg, now)?
    };
    Ok(ParseResult {
        threads,
        records,
        rejected,
        secs: started.elapsed().as_secs_f64(),
        cpu_secs: crate::machine::cpu_secs_of("self").unwrap_or(0.0),
        peak_rss: crate::machine::own_peak_rss().unwrap_or(0),
    })
}

/// A reader thread cuts the file into chunks of whole lines; `threads` workers parse them.
fn parallel(
    path: &Path,
    threads: usize,
    scope: &TenantScope,
    cfg: &ClassifyConfig,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(u64, u64)> {
    let mut input = open(path)?;
    let (tx, rx) = mpsc::sync_channel::<Chunk>(threads * 2);
    let rx = Arc::new(Mutex::new(rx));
    std::thread::scope(|s| -> Result<(u64, u64)> {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                let rx = rx.clone();
                s.spawn(move || {
                    let (mut ok, mut bad) = (0u64, 0u64);
                    let mut facts: Vec<SignInFact> = Vec::with_capacity(2048);
                    loop {
                        let next = match rx.lock() {
                            Ok(r) => r.recv(),
                            Err(_) => break,
                        };
                        let Ok(chunk) = next else { break };
                        let _ = read_chunk(&chunk, &mut |pos, item| {
                            match parse_signin(pos, item, scope, cfg, now) {
                                Ok(f) => facts.push(f),
                                Err(_) => bad += 1,
                            }
                            Ok(())
                        });
                        ok += facts.len() as u64;
                        std::hint::black_box(&facts);
                        facts.clear();
                    }
                    (ok, bad)
                })
            })
            .collect();
        let mut line = 1;
        while let Some(chunk) = split_lines(&mut input, line, mfalens_core::records::CHUNK_BYTES)? {
            line = chunk.next_line();
            if tx.send(chunk).is_err() {
                break;
            }
        }
        drop(tx);
        let mut total = (0, 0);
        for w in workers {
            let (ok, bad) = w
                .join()
                .map_err(|_| anyhow::anyhow!("a parser thread panicked"))?;
            total.0 += ok;
            total.1 += bad;
        }
        Ok(total)
    })
}
