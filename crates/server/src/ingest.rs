//! mfalens's own ingest API: `POST /ingest/signins` and `POST /ingest/users`, NDJSON or a
//! JSON page, gzip allowed. One request is one atomic batch: acknowledged once durable.

use crate::AppState;
use crate::auth::Principal;
use crate::auth::extract::IngestCaller;
use crate::auth::policy::{Operation, Target, authorize};
use crate::error::OwnError;
use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::post;
use mfalens_core::ingest::{Rejection, TenantScope, parse_signin, parse_user};
use mfalens_core::records::{Item, Position, ReadError, read_records};
use mfalens_store::{IngestOutcome, UpsertOutcome};
use serde::Serialize;
use std::io::Read;

/// How many rejections a response lists; the count covers them all.
pub const MAX_LISTED_REJECTIONS: usize = 1000;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ingest/signins", post(signins))
        .route("/ingest/users", post(users))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SignInReport {
    #[serde(flatten)]
    pub outcome: IngestOutcome,
    pub rejected: u64,
    pub errors: Vec<Rejection>,
    pub errors_truncated: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UserReport {
    #[serde(flatten)]
    pub outcome: UpsertOutcome,
    pub rejected: u64,
    pub errors: Vec<Rejection>,
    pub errors_truncated: bool,
}

struct Options {
    strict: bool,
}

fn options(q: Option<String>) -> Result<Options, OwnError> {
    let mut strict = false;
    for pair in q
        .as_deref()
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
    {
        match pair.split_once('=').unwrap_or((pair, "true")) {
            ("strict", "true" | "1" | "") => strict = true,
            ("strict", "false" | "0") => strict = false,
            ("strict", v) => {
                return Err(OwnError::new(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    format!("query parameter 'strict' must be true or false, not '{v}'"),
                ));
            }
            (k, _) => {
                return Err(OwnError::new(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    format!("unknown query parameter '{k}' (known: strict)"),
                ));
            }
        }
    }
    Ok(Options { strict })
}

/// Collects rejections, listing the first `MAX_LISTED_REJECTIONS`.
#[derive(Default)]
struct Rejections {
    listed: Vec<Rejection>,
    total: u64,
}

impl Rejections {
    fn push(&mut self, r: Rejection) {
        self.total += 1;
        if self.listed.len() < MAX_LISTED_REJECTIONS {
            self.listed.push(r);
        }
    }
    fn truncated(&self) -> bool {
        self.total as usize > self.listed.len()
    }
    fn strict_failure(self) -> OwnError {
        let n = self.total;
        OwnError::new(
            StatusCode::BAD_REQUEST,
            "InvalidRecords",
            format!("{n} record(s) were invalid; with strict=true nothing was stored"),
        )
        .with_details(serde_json::to_value(&self.listed).unwrap_or_default())
    }
}

fn document_error(e: ReadError) -> OwnError {
    OwnError::new(
        StatusCode::BAD_REQUEST,
        "MalformedBody",
        format!("{e}; nothing was stored"),
    )
}

/// What both uploads share: the body checked and read, every record parsed with `parse`
/// (refusals collected), and the strict rule applied — all before anything is written.
struct Upload<T> {
    records: Vec<T>,
    rejected: Rejections,
    now: chrono::DateTime<chrono::Utc>,
}

async fn parse_upload<T>(
    st: &AppState,
    p: &Principal,
    q: Option<String>,
    headers: &HeaderMap,
    body: Body,
    parse: impl Fn(
        Position,
        Item<'_>,
        &TenantScope,
        chrono::DateTime<chrono::Utc>,
    ) -> Result<T, Rejection>,
) -> Result<Upload<T>, OwnError> {
    authorize(p, Operation::Ingest, Target::Tenant)?;
    let opts = options(q)?;
    let bytes = read_body(headers, body, st.config().max_body_bytes).await?;
    let now = st.now();
    let scope = TenantScope {
        default_tenant: Some(p.tenant_id.clone()),
        allowed: Some(p.tenants.clone()),
    };
    let mut records = Vec::new();
    let mut rejected = Rejections::default();
    read_records(&bytes[..], &mut |pos, item| {
        match parse(pos, item, &scope, now) {
            Ok(r) => records.push(r),
            Err(r) => rejected.push(r),
        }
        Ok(())
    })
    .map_err(document_error)?;
    if opts.strict && rejected.total > 0 {
        return Err(rejected.strict_failure());
    }
    Ok(Upload {
        records,
        rejected,
        now,
    })
}

async fn signins(
    State(st): State<AppState>,
    IngestCaller(p): IngestCaller,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<SignInReport>, OwnError> {
    let up = parse_upload(&st, &p, q, &headers, body, |pos, item, scope, now| {
        parse_signin(pos, item, scope, st.classify(), now)
    })
    .await?;
    let outcome = st.store().ingest_signins(up.records, up.now).await?;
    tracing::info!(
        tenant = %p.tenant_id,
        accepted = outcome.accepted,
        duplicates = outcome.duplicates,
        expired = outcome.expired,
        rejected = up.rejected.total,
        "sign-ins ingested"
    );
    Ok(Json(SignInReport {
        outcome,
        rejected: up.rejected.total,
        errors_truncated: up.rejected.truncated(),
        errors: up.rejected.listed,
    }))
}

async fn users(
    State(st): State<AppState>,
    IngestCaller(p): IngestCaller,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<UserReport>, OwnError> {
    let up = parse_upload(&st, &p, q, &headers, body, parse_user).await?;
    let outcome = st.store().upsert_users(up.records).await?;
    tracing::info!(
        tenant = %p.tenant_id,
        inserted = outcome.inserted,
        updated = outcome.updated,
        rejected = up.rejected.total,
        "users ingested"
    );
    Ok(Json(UserReport {
        outcome,
        rejected: up.rejected.total,
        errors_truncated: up.rejected.truncated(),
        errors: up.rejected.listed,
    }))
}

const ACCEPTED_TYPES: &[&str] = &[
    "application/json",
    "application/x-ndjson",
    "application/ndjson",
    "application/jsonl",
    "application/x-jsonlines",
];

/// The request body, checked for type and encoding and decompressed, never past `limit` bytes.
pub async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Vec<u8>, OwnError> {
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        });
    match ctype.as_deref() {
        Some(t) if ACCEPTED_TYPES.contains(&t) => {}
        other => {
            return Err(OwnError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UnsupportedMediaType",
                format!(
                    "Content-Type {} is not accepted; send application/x-ndjson (one record per line) or application/json (a {{\"value\": [...]}} page)",
                    other
                        .map(|t| format!("'{t}'"))
                        .unwrap_or_else(|| "(none)".into())
                ),
            ));
        }
    }
    let gzip = match headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_ascii_lowercase())
        .as_deref()
    {
        None | Some("identity") | Some("") => false,
        Some("gzip") | Some("x-gzip") => true,
        Some(other) => {
            return Err(OwnError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "UnsupportedMediaType",
                format!("Content-Encoding '{other}' is not supported; use gzip or none"),
            ));
        }
    };
    let too_large = || {
        OwnError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PayloadTooLarge",
            format!(
                "the request body exceeds the limit of {limit} bytes; split the upload into smaller batches"
            ),
        )
    };
    let raw = axum::body::to_bytes(body, limit)
        .await
        .map_err(|_| too_large())?;
    if !gzip {
        return Ok(raw.to_vec());
    }
    // Decompress with the same cap, so a small bomb cannot exhaust memory.
    let mut out = Vec::new();
    let mut dec = flate2::read::GzDecoder::new(&raw[..]).take(limit as u64 + 1);
    dec.read_to_end(&mut out).map_err(|e| {
        OwnError::new(
            StatusCode::BAD_REQUEST,
            "MalformedBody",
            format!("the body is not valid gzip: {e}"),
        )
    })?;
    if out.len() > limit {
        return Err(too_large());
    }
    Ok(out)
}
