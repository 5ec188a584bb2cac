//! Parsing NDJSON sign-ins on every core: the calling thread cuts the input into chunks of
//! whole lines, a pool of parser threads parses and classifies them, and each full batch is
//! handed to `send` (the writer) as soon as it is complete. Memory stays bounded: a few
//! chunks in flight, one batch filling, and what `send` holds.

use mfalens_core::classify::SignInFact;
use mfalens_core::ingest::Rejection;
use mfalens_core::records::{
    CHUNK_BYTES, Chunk, Item, Position, ReadError, read_chunk, split_lines,
};
use std::io::BufRead;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, mpsc};

/// Parses one record into a fact or says why not.
pub type ParseFn<'a> = dyn Fn(Position, Item<'_>) -> Result<SignInFact, Rejection> + Sync + 'a;
/// Takes a full batch; an `Err` stops the pipeline (the writer is gone).
pub type SendFn<'a> = dyn Fn(Vec<SignInFact>) -> Result<(), String> + Sync + 'a;

/// Rejections seen: the first `keep` (in input order) and how many in all.
#[derive(Debug, Default)]
pub struct Rejections {
    pub first: Vec<Rejection>,
    pub total: u64,
}

/// Runs the pipeline over `input` (NDJSON, see `records::is_ndjson`) to its end.
pub fn parse_parallel(
    input: &mut dyn BufRead,
    parsers: usize,
    batch_size: usize,
    keep: usize,
    parse: &ParseFn<'_>,
    send: &SendFn<'_>,
) -> Result<Rejections, ReadError> {
    let (chunk_tx, chunk_rx) = mpsc::sync_channel::<Chunk>(parsers * 2);
    let chunk_rx = Mutex::new(chunk_rx);
    let filling = Mutex::new(Vec::new());
    let stopped = AtomicBool::new(false);
    let stop_reason: Mutex<Option<String>> = Mutex::new(None);
    let stop = |reason: String| {
        stopped.store(true, Ordering::Relaxed);
        if let Ok(mut r) = stop_reason.lock() {
            r.get_or_insert(reason);
        }
    };
    let rejections = std::thread::scope(|s| -> Result<Rejections, ReadError> {
        // Owned here, so any early return closes the channel and the parsers finish.
        let chunk_tx = chunk_tx;
        let workers: Vec<std::thread::ScopedJoinHandle<'_, Rejections>> = (0..parsers.max(1))
            .map(|i| {
                std::thread::Builder::new()
                    .name(format!("mfalens-parse-{i}"))
                    .spawn_scoped(s, || {
                        let mut bad = Rejections::default();
                        let mut facts = Vec::with_capacity(2048);
                        while !stopped.load(Ordering::Relaxed) {
                            let next = match chunk_rx.lock() {
                                Ok(rx) => rx.recv(),
                                Err(_) => break,
                            };
                            let Ok(chunk) = next else { break };
                            let _ = read_chunk(&chunk, &mut |pos, item| {
                                match parse(pos, item) {
                                    Ok(f) => facts.push(f),
                                    Err(r) => {
                                        bad.total += 1;
                                        if bad.first.len() < keep {
                                            bad.first.push(r);
                                        }
                                    }
                                }
                                Ok(())
                            });
                            let Ok(mut b) = filling.lock() else { break };
                            b.append(&mut facts);
                            if b.len() >= batch_size {
                                // Sent while the lock is held: the other parsers wait here
                                // instead of filling further batches, so at most three are
                                // in memory (one written, one queued, this one).
                                let batch = std::mem::take(&mut *b);
                                if let Err(e) = send(batch) {
                                    stop(e);
                                }
                            }
                        }
                        bad
                    })
            })
            .collect::<std::io::Result<_>>()
            .map_err(ReadError::Io)?;
        let mut line = 1;
        let read = loop {
            if stopped.load(Ordering::Relaxed) {
                break Ok(());
            }
            match split_lines(input, line, CHUNK_BYTES) {
                Ok(Some(chunk)) => {
                    line = chunk.next_line();
                    if chunk_tx.send(chunk).is_err() {
                        break Ok(());
                    }
                }
                Ok(None) => break Ok(()),
                Err(e) => break Err(ReadError::Io(e)),
            }
        };
        drop(chunk_tx);
        let mut all = Rejections::default();
        for w in workers {
            let bad = w.join().unwrap_or_default();
            all.total += bad.total;
            all.first.extend(bad.first);
        }
        all.first.sort_by_key(|r| (r.line, r.index));
        all.first.truncate(keep);
        read.map(|()| all)
    })?;
    if let Some(reason) = stop_reason.lock().ok().and_then(|mut r| r.take()) {
        return Err(ReadError::Stopped(reason));
    }
    let rest = filling.into_inner().unwrap_or_default();
    if !rest.is_empty() {
        send(rest).map_err(ReadError::Stopped)?;
    }
    Ok(rejections)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mfalens_core::classify::ClassifyConfig;
    use mfalens_core::ingest::{TenantScope, parse_signin};
    use mfalens_core::time::parse_datetime;

    #[test]
    fn every_record_reaches_a_batch_once_and_rejections_keep_their_lines() {
        let now = parse_datetime("2026-11-23T00:00:00Z").unwrap();
        let mut input = String::new();
        for i in 0..5000 {
            if i % 1000 == 7 {
                input.push_str("not json\n");
            } else {
                input.push_str(&format!(
                    "{{\"id\":\"e{i}\",\"tenantId\":\"t\",\"createdDateTime\":\"2026-11-22T00:00:00Z\"}}\n"
                ));
            }
        }
        let cfg = ClassifyConfig::default();
        let scope = TenantScope::default();
        let parse = |p: Position, item: Item<'_>| parse_signin(p, item, &scope, &cfg, now);
        let got = Mutex::new(Vec::new());
        let send = |b: Vec<SignInFact>| {
            // A batch is sent once it reaches its size: it may pass it by one chunk's records.
            assert!(!b.is_empty());
            got.lock().unwrap().extend(b.into_iter().map(|f| f.id));
            Ok(())
        };
        let bad = parse_parallel(&mut input.as_bytes(), 2, 1000, 3, &parse, &send).unwrap();
        let mut ids = got.into_inner().unwrap();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 4995);
        assert_eq!(bad.total, 5);
        let lines: Vec<u64> = bad.first.iter().map(|r| r.line).collect();
        assert_eq!(lines.len(), 3);
        assert!(lines.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn a_failing_writer_stops_the_pipeline() {
        let now = parse_datetime("2026-11-23T00:00:00Z").unwrap();
        let input =
            "{\"id\":\"a\",\"tenantId\":\"t\",\"createdDateTime\":\"2026-11-22T00:00:00Z\"}\n"
                .repeat(10_000);
        let cfg = ClassifyConfig::default();
        let scope = TenantScope::default();
        let parse = |p: Position, item: Item<'_>| parse_signin(p, item, &scope, &cfg, now);
        let send = |_: Vec<SignInFact>| Err("the writer stopped".to_string());
        let r = parse_parallel(&mut input.as_bytes(), 2, 100, 3, &parse, &send);
        assert!(matches!(r, Err(ReadError::Stopped(_))), "{r:?}");
    }
}
