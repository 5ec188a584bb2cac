//! Opening import files: plain or gzip (by `.gz` suffix or magic bytes), `-` for stdin.

use anyhow::{Context, Result};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// The file's size on disk, for progress (None for stdin).
pub fn size_of(path: &Path) -> Option<u64> {
    if path == Path::new("-") {
        return None;
    }
    std::fs::metadata(path).ok().map(|m| m.len())
}

/// Wraps `raw` (the bytes as stored, so progress counts compressed bytes) into a reader of
/// the decompressed text.
pub fn decoded<R: Read + Send + 'static>(mut raw: BufReader<R>) -> Result<Box<dyn BufRead + Send>> {
    let magic = raw.fill_buf().context("cannot read input")?;
    if magic.starts_with(&[0x1f, 0x8b]) {
        let dec = flate2::read::MultiGzDecoder::new(raw);
        Ok(Box::new(BufReader::with_capacity(1 << 20, dec)))
    } else {
        Ok(Box::new(raw))
    }
}

pub fn open_raw(path: &Path) -> Result<Box<dyn Read + Send>> {
    if path == Path::new("-") {
        return Ok(Box::new(std::io::stdin()));
    }
    let f = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    Ok(Box::new(f))
}
