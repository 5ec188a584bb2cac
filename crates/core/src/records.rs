//! Splits an import stream into JSON records, whatever container the exporter used:
//! NDJSON (one record per line), a Graph page `{"value": [...]}`, an Azure Monitor export
//! `{"records": [...]}`, or a bare JSON array; pages may also appear one per line.
//! Memory stays bounded by the largest single record, never by the file.

use serde::Deserialize;
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use std::fmt;
use std::io::{BufRead, Read};

/// Where a record sits in its input: a 1-based line, and its 0-based index inside a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Position {
    pub line: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<u64>,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.index {
            None => write!(f, "line {}", self.line),
            Some(i) => write!(f, "line {}, item {}", self.line, i),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("reading input failed: {0}")]
    Io(#[from] std::io::Error),
    /// The input is one JSON document and it is broken: nothing after the break is readable.
    #[error("the JSON document is malformed at line {line}, column {column}: {message}")]
    Document {
        line: u64,
        column: u64,
        message: String,
    },
    /// The sink asked to stop (e.g. strict mode after the first bad record).
    #[error("stopped: {0}")]
    Stopped(String),
}

/// What the reader hands the caller: a record's raw JSON, or why a line could not be read.
pub type Item<'a> = Result<&'a [u8], String>;

/// Reads every record of `input`, calling `sink` once per record in order. A malformed NDJSON
/// line is handed to the sink as an `Err` and reading goes on; `sink` returning `Err(reason)`
/// stops reading with `ReadError::Stopped`.
pub fn read_records<R: BufRead>(
    mut input: R,
    sink: &mut dyn FnMut(Position, Item<'_>) -> Result<(), String>,
) -> Result<(), ReadError> {
    let mut line = Vec::with_capacity(4096);
    let mut line_no: u64 = 0;
    // Find the first non-blank line to learn the container.
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        line_no += 1;
        if !is_blank(&line) {
            break;
        }
    }
    if starts_document(trim(&line)) {
        let start_line = line_no;
        let head = std::io::Cursor::new(std::mem::take(&mut line));
        return read_document(head.chain(input), start_line, sink);
    }
    loop {
        read_line(trim(&line), line_no, sink)?;
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            return Ok(());
        }
        line_no += 1;
        while is_blank(&line) {
            line.clear();
            if input.read_until(b'\n', &mut line)? == 0 {
                return Ok(());
            }
            line_no += 1;
        }
    }
}

/// A document spans lines: its first line is `[`, or an object left open that is a lone
/// `{` or a page wrapper. Any other first line is NDJSON, even a broken one, so that one
/// bad line never hides the rest of the file.
fn starts_document(first: &[u8]) -> bool {
    first.first() == Some(&b'[')
        || (matches!(serde_json::from_slice::<IgnoredAny>(first), Err(e) if e.is_eof())
            && (first == b"{" || first_key_is_wrapper(first)))
}

/// Bytes per chunk handed to a parser thread: large enough to amortise the hand-off, small
/// enough that the few in flight stay a few MB.
pub const CHUNK_BYTES: usize = 1 << 20;

/// A run of whole lines of an NDJSON stream, and the 1-based number of its first line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    pub first_line: u64,
    pub lines: u64,
    pub bytes: Vec<u8>,
}

impl Chunk {
    /// The number of the line after this chunk.
    pub fn next_line(&self) -> u64 {
        self.first_line + self.lines
    }
}

/// Whether `input` is NDJSON, judged from its first non-blank line (without consuming it),
/// so it can be cut into [`Chunk`]s and parsed in parallel. `false` when the first line is
/// not within the buffer: the sequential [`read_records`] then decides.
pub fn is_ndjson<R: BufRead + ?Sized>(input: &mut R) -> std::io::Result<bool> {
    let mut rest = input.fill_buf()?;
    while let Some(i) = rest.iter().position(|b| *b == b'\n') {
        let line = &rest[..i];
        if !is_blank(line) {
            return Ok(!starts_document(trim(line)));
        }
        rest = &rest[i + 1..];
    }
    Ok(false)
}

/// Takes about `size` bytes of whole lines from NDJSON `input` (at least one line), or `None`
/// at the end. Line numbers go on from `first_line`.
pub fn split_lines<R: BufRead + ?Sized>(
    input: &mut R,
    first_line: u64,
    size: usize,
) -> std::io::Result<Option<Chunk>> {
    let mut bytes = Vec::with_capacity(size + 8192);
    while bytes.len() < size {
        let buf = input.fill_buf()?;
        if buf.is_empty() {
            break;
        }
        let take = buf.len().min(size - bytes.len());
        bytes.extend_from_slice(&buf[..take]);
        input.consume(take);
    }
    // Finish the line the cut fell into.
    if bytes.last().is_some_and(|b| *b != b'\n') {
        input.read_until(b'\n', &mut bytes)?;
    }
    if bytes.is_empty() {
        return Ok(None);
    }
    let newlines = memchr::memchr_iter(b'\n', &bytes).count() as u64;
    let lines = newlines + u64::from(bytes.last() != Some(&b'\n'));
    Ok(Some(Chunk {
        first_line,
        lines,
        bytes,
    }))
}

/// Reads the records of one NDJSON chunk exactly as [`read_records`] reads NDJSON lines.
pub fn read_chunk(
    chunk: &Chunk,
    sink: &mut dyn FnMut(Position, Item<'_>) -> Result<(), String>,
) -> Result<(), ReadError> {
    let (bytes, mut start) = (&chunk.bytes[..], 0);
    let ends = memchr::memchr_iter(b'\n', bytes).chain(std::iter::once(bytes.len()));
    for (i, end) in ends.enumerate() {
        let line = &bytes[start..end];
        start = (end + 1).min(bytes.len());
        if !is_blank(line) {
            read_line(trim(line), chunk.first_line + i as u64, sink)?;
        }
    }
    Ok(())
}

fn read_line(
    bytes: &[u8],
    line: u64,
    sink: &mut dyn FnMut(Position, Item<'_>) -> Result<(), String>,
) -> Result<(), ReadError> {
    let pos = Position { line, index: None };
    if first_key_is_wrapper(bytes) {
        #[derive(Deserialize)]
        struct Wrapper<'a> {
            #[serde(borrow, default)]
            value: Option<Vec<&'a RawValue>>,
            #[serde(borrow, default)]
            records: Option<Vec<&'a RawValue>>,
        }
        return match serde_json::from_slice::<Wrapper<'_>>(bytes) {
            Ok(w) => {
                let items = w.value.into_iter().chain(w.records).flatten();
                for (i, raw) in items.enumerate() {
                    let pos = Position {
                        line,
                        index: Some(i as u64),
                    };
                    sink(pos, Ok(raw.get().as_bytes())).map_err(ReadError::Stopped)?;
                }
                Ok(())
            }
            Err(e) => sink(pos, Err(format!("not valid JSON: {e}"))).map_err(ReadError::Stopped),
        };
    }
    if bytes.first() != Some(&b'{') {
        let shown = String::from_utf8_lossy(&bytes[..bytes.len().min(40)]).into_owned();
        return sink(pos, Err(format!("expected a JSON object, found '{shown}'")))
            .map_err(ReadError::Stopped);
    }
    sink(pos, Ok(bytes)).map_err(ReadError::Stopped)
}

/// A page or export wrapper announces itself by its first key.
fn first_key_is_wrapper(bytes: &[u8]) -> bool {
    let rest = trim(bytes.strip_prefix(b"{").unwrap_or(b""));
    [
        &b"\"value\""[..],
        b"\"records\"",
        b"\"@odata.context\"",
        b"\"@odata.nextLink\"",
        b"\"@odata.count\"",
    ]
    .iter()
    .any(|k| rest.starts_with(k))
}

fn read_document<R: Read>(
    input: R,
    start_line: u64,
    sink: &mut dyn FnMut(Position, Item<'_>) -> Result<(), String>,
) -> Result<(), ReadError> {
    let mut de = serde_json::Deserializer::from_reader(input);
    let mut stopped: Option<String> = None;
    let seed = DocSeed {
        sink,
        line: start_line,
        stopped: &mut stopped,
    };
    let result = seed.deserialize(&mut de).and_then(|()| de.end());
    if let Some(reason) = stopped {
        return Err(ReadError::Stopped(reason));
    }
    result.map_err(|e| {
        if e.is_io() {
            ReadError::Io(std::io::Error::other(e.to_string()))
        } else {
            ReadError::Document {
                line: e.line() as u64 + start_line - 1,
                column: e.column() as u64,
                message: e.to_string(),
            }
        }
    })
}

struct DocSeed<'s> {
    sink: &'s mut dyn FnMut(Position, Item<'_>) -> Result<(), String>,
    line: u64,
    stopped: &'s mut Option<String>,
}

impl DocSeed<'_> {
    fn items(&mut self) -> ItemsSeed<'_> {
        ItemsSeed {
            sink: &mut *self.sink,
            line: self.line,
            stopped: &mut *self.stopped,
        }
    }
}

impl<'de> DeserializeSeed<'de> for DocSeed<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for DocSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array of records or an object with a \"value\" or \"records\" array")
    }
    fn visit_seq<A: SeqAccess<'de>>(mut self, seq: A) -> Result<(), A::Error> {
        self.items().visit_seq(seq)
    }
    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            if key == "value" || key == "records" {
                map.next_value_seed(self.items())?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

struct ItemsSeed<'s> {
    sink: &'s mut dyn FnMut(Position, Item<'_>) -> Result<(), String>,
    line: u64,
    stopped: &'s mut Option<String>,
}

impl<'de> DeserializeSeed<'de> for ItemsSeed<'_> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ItemsSeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of records")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0u64;
        while let Some(raw) = seq.next_element::<Box<RawValue>>()? {
            let pos = Position {
                line: self.line,
                index: Some(index),
            };
            if let Err(reason) = (self.sink)(pos, Ok(raw.get().as_bytes())) {
                *self.stopped = Some(reason.clone());
                return Err(serde::de::Error::custom(reason));
            }
            index += 1;
        }
        Ok(())
    }
}

fn is_blank(b: &[u8]) -> bool {
    b.iter().all(u8::is_ascii_whitespace)
}

fn trim(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    // A UTF-8 byte-order mark at the start of a file is not part of the record.
    let s = &b[start..end.max(start)];
    s.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(input: &str) -> (Vec<(Position, String)>, Result<(), ReadError>) {
        let mut out = Vec::new();
        let r = read_records(input.as_bytes(), &mut |p, item| {
            out.push((
                p,
                match item {
                    Ok(b) => String::from_utf8_lossy(b).into_owned(),
                    Err(e) => format!("ERR {e}"),
                },
            ));
            Ok(())
        });
        (out, r)
    }

    #[test]
    fn ndjson_with_a_bad_line_goes_on() {
        let (items, r) = collect("{\"id\":\"a\"}\n\n{\"id\":\n{\"id\":\"c\"}\nnot json\n");
        assert!(r.is_ok());
        assert_eq!(items.len(), 4);
        assert!(items[3].1.starts_with("ERR expected a JSON object"));
        assert_eq!(items[0].0.line, 1);
        assert_eq!(
            items[1].1, "{\"id\":",
            "handed on raw; the record parser reports it"
        );
        assert_eq!(items[1].0.line, 3);
        assert_eq!(items[2].0.line, 4);
    }

    #[test]
    fn pretty_printed_graph_page_streams_its_values() {
        let page = "{\n  \"@odata.context\": \"x\",\n  \"value\": [\n {\"id\":\"a\"},\n {\"id\":\"b\"}\n ],\n \"@odata.nextLink\": \"y\"\n}\n";
        let (items, r) = collect(page);
        assert!(r.is_ok(), "{r:?}");
        assert_eq!(items.len(), 2);
        assert_eq!(items[1].0.index, Some(1));
        assert_eq!(items[1].1, "{\"id\":\"b\"}");
    }

    #[test]
    fn one_line_pages_and_azure_records_expand() {
        let input =
            "{\"value\":[{\"id\":\"a\"},{\"id\":\"b\"}]}\n{\"records\":[{\"properties\":{}}]}\n";
        let (items, r) = collect(input);
        assert!(r.is_ok());
        assert_eq!(items.len(), 3);
        assert_eq!(
            items[2].0,
            Position {
                line: 2,
                index: Some(0)
            }
        );
    }

    #[test]
    fn bare_array_and_broken_document() {
        let (items, r) = collect("[{\"id\":\"a\"},\n{\"id\":\"b\"}]");
        assert!(r.is_ok());
        assert_eq!(items.len(), 2);
        let (_, r) = collect("{\n \"value\": [ {\"id\": \"a\"}, {\"id\" ]\n}");
        assert!(
            matches!(r, Err(ReadError::Document { line: 2, .. })),
            "{r:?}"
        );
    }

    #[test]
    fn a_broken_first_line_is_still_ndjson() {
        let (items, r) = collect("{\"id\":\n{\"id\":\"b\"}\n");
        assert!(r.is_ok());
        assert_eq!(items.len(), 2);
    }

    #[test]
    fn chunks_read_like_the_sequential_reader() {
        let input =
            "{\"id\":\"a\"}\n\n{\"id\":\nnot json\n{\"value\":[{\"id\":\"p\"}]}\n{\"id\":\"z\"}";
        let (want, r) = collect(input);
        assert!(r.is_ok());
        for size in [1, 7, 20, 1 << 20] {
            let mut src = input.as_bytes();
            assert!(is_ndjson(&mut src).unwrap());
            let mut got = Vec::new();
            let mut line = 1;
            while let Some(c) = split_lines(&mut src, line, size).unwrap() {
                line = c.next_line();
                read_chunk(&c, &mut |p, item| {
                    got.push((
                        p,
                        match item {
                            Ok(b) => String::from_utf8_lossy(b).into_owned(),
                            Err(e) => format!("ERR {e}"),
                        },
                    ));
                    Ok(())
                })
                .unwrap();
            }
            assert_eq!(got, want, "chunk size {size}");
        }
        assert!(!is_ndjson(&mut &b"[{}]\n"[..]).unwrap());
        assert!(!is_ndjson(&mut &b"{\n \"value\": []}\n"[..]).unwrap());
        assert!(
            !is_ndjson(&mut &b"{}"[..]).unwrap(),
            "no whole line: let the reader decide"
        );
    }

    #[test]
    fn a_sink_can_stop_reading() {
        let mut n = 0;
        let r = read_records(&b"{}\n{}\n{}\n"[..], &mut |_, _| {
            n += 1;
            if n == 2 { Err("enough".into()) } else { Ok(()) }
        });
        assert!(matches!(r, Err(ReadError::Stopped(_))));
        assert_eq!(n, 2);
    }
}
