//! The per-principal non-MFA report behind the Partner Center extension and
//! `mfalens report non-mfa`: evidence rows joined with directory users into one row per
//! principal (why listed, which applications, how often, when, enabled, admin), filtered, and
//! rendered as JSON or RFC 4180 CSV. Pure: callers load evidence and users and pass them in.

use crate::RETENTION_DAYS;
use crate::directory::DirectoryUser;
use crate::principal::{NonMfaEvidence, NonMfaSource};
use crate::time::graph_datetime;
use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};
use std::collections::HashMap;

/// Which principals a report keeps, by directory facts. `None` keeps everyone; `Some(v)` keeps
/// principals whose directory record says `v` (principals absent from the directory are
/// dropped, since nothing is known about them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReportFilter {
    pub enabled: Option<bool>,
    pub admin: Option<bool>,
}

impl ReportFilter {
    pub fn is_empty(&self) -> bool {
        self.enabled.is_none() && self.admin.is_none()
    }

    pub fn admits(&self, user: Option<&DirectoryUser>) -> bool {
        let wants = |want: Option<bool>, have: Option<bool>| want.is_none() || want == have;
        wants(self.enabled, user.map(|u| u.account_enabled))
            && wants(self.admin, user.map(|u| u.is_admin))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "days must be a whole number from 1 to {RETENTION_DAYS} (evidence is kept {RETENTION_DAYS} days), not '{0}'"
)]
pub struct BadDays(pub String);

/// Reads a report window length in days: 1 to the retention window.
pub fn parse_days(s: &str) -> Result<i64, BadDays> {
    match s.trim().parse::<i64>() {
        Ok(d) if (1..=RETENTION_DAYS).contains(&d) => Ok(d),
        _ => Err(BadDays(s.to_string())),
    }
}

fn time<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&graph_datetime(*t))
}

/// One (reason, application) behind a principal's listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppUse {
    pub reason: NonMfaSource,
    /// Empty when the application is unknown.
    pub app_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_display_name: Option<String>,
    pub count: u64,
    #[serde(rename = "firstDateTime", serialize_with = "time")]
    pub first: DateTime<Utc>,
    #[serde(rename = "lastDateTime", serialize_with = "time")]
    pub last: DateTime<Utc>,
}

/// One principal of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportRow {
    pub object_id: String,
    pub tenant_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The principal has a record in the imported directory.
    pub in_directory: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_admin: Option<bool>,
    /// Why listed, distinct, sign-ins first.
    pub reasons: Vec<NonMfaSource>,
    pub count: u64,
    pub sign_in_count: u64,
    pub api_call_count: u64,
    #[serde(rename = "firstNonMfaDateTime", serialize_with = "time")]
    pub first: DateTime<Utc>,
    #[serde(rename = "lastNonMfaDateTime", serialize_with = "time")]
    pub last: DateTime<Utc>,
    /// Newest first.
    pub applications: Vec<AppUse>,
}

/// Groups one tenant's evidence by principal, joins each with its directory record (looked up
/// by lower-case object id), applies `filter`, and orders newest first (then by object id).
pub fn build_rows<'u>(
    evidence: Vec<NonMfaEvidence>,
    directory: impl Fn(&str) -> Option<&'u DirectoryUser>,
    filter: ReportFilter,
) -> Vec<ReportRow> {
    let mut by_principal: HashMap<String, Vec<NonMfaEvidence>> = HashMap::new();
    for e in evidence {
        by_principal.entry(e.object_id.clone()).or_default().push(e);
    }
    let mut rows: Vec<ReportRow> = by_principal
        .into_iter()
        .filter_map(|(object_id, ev)| {
            let user = directory(&object_id);
            filter.admits(user).then(|| row(object_id, ev, user))
        })
        .collect();
    rows.sort_by(|a, b| {
        b.last
            .cmp(&a.last)
            .then_with(|| a.object_id.cmp(&b.object_id))
    });
    rows
}

fn row(object_id: String, ev: Vec<NonMfaEvidence>, user: Option<&DirectoryUser>) -> ReportRow {
    let count_of = |src| {
        ev.iter()
            .filter(|e| e.source == src)
            .map(|e| e.count)
            .sum::<u64>()
    };
    let (sign_in_count, api_call_count) = (
        count_of(NonMfaSource::SignIn),
        count_of(NonMfaSource::ApiCall),
    );
    let mut reasons: Vec<NonMfaSource> = ev.iter().map(|e| e.source).collect();
    reasons.sort();
    reasons.dedup();
    let first = ev.iter().map(|e| e.first).min().unwrap_or_default();
    let last = ev.iter().map(|e| e.last).max().unwrap_or_default();
    let evidence_upn = ev.iter().find_map(|e| e.upn.clone());
    let tenant_id = ev.first().map(|e| e.tenant_id.clone()).unwrap_or_default();
    let mut applications: Vec<AppUse> = ev
        .into_iter()
        .map(|e| AppUse {
            reason: e.source,
            app_id: e.app_id,
            app_display_name: e.app_display_name,
            count: e.count,
            first: e.first,
            last: e.last,
        })
        .collect();
    applications.sort_by(|a, b| {
        b.last
            .cmp(&a.last)
            .then_with(|| (a.reason, &a.app_id).cmp(&(b.reason, &b.app_id)))
    });
    ReportRow {
        object_id,
        tenant_id,
        upn: user.map(|u| u.user_principal_name.clone()).or(evidence_upn),
        display_name: user
            .map(|u| u.user_display_name.clone())
            .filter(|n| !n.is_empty()),
        in_directory: user.is_some(),
        account_enabled: user.map(|u| u.account_enabled),
        is_admin: user.map(|u| u.is_admin),
        reasons,
        count: sign_in_count + api_call_count,
        sign_in_count,
        api_call_count,
        first,
        last,
        applications,
    }
}

/// The JSON body: a Partner Center-style collection of report rows, fields in order.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportCollection<'a> {
    pub total_count: usize,
    pub items: &'a [ReportRow],
    pub attributes: CollectionAttributes,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CollectionAttributes {
    pub object_type: &'static str,
}

pub fn collection(rows: &[ReportRow]) -> ReportCollection<'_> {
    ReportCollection {
        total_count: rows.len(),
        items: rows,
        attributes: CollectionAttributes {
            object_type: "Collection",
        },
    }
}

/// The CSV columns, in order.
pub const CSV_COLUMNS: &[&str] = &[
    "tenantId",
    "objectId",
    "upn",
    "displayName",
    "inDirectory",
    "accountEnabled",
    "isAdmin",
    "reasons",
    "count",
    "signInCount",
    "apiCallCount",
    "firstNonMfaDateTime",
    "lastNonMfaDateTime",
    "applicationIds",
    "applicationNames",
];

/// RFC 4180 CSV: a header line, one record per principal, CRLF line ends, fields quoted when
/// they hold a comma, quote, CR or LF (quotes doubled). Lists are joined with `;`; an unknown
/// boolean is an empty field.
pub fn to_csv(rows: &[ReportRow]) -> String {
    let mut out = String::new();
    push_record(&mut out, CSV_COLUMNS.iter().map(|c| c.to_string()));
    for r in rows {
        let flag = |b: Option<bool>| b.map(|b| b.to_string()).unwrap_or_default();
        let mut app_ids: Vec<&str> = Vec::new();
        let mut app_names: Vec<&str> = Vec::new();
        for a in &r.applications {
            if !app_ids.contains(&a.app_id.as_str()) {
                app_ids.push(&a.app_id);
                app_names.push(a.app_display_name.as_deref().unwrap_or_default());
            }
        }
        push_record(
            &mut out,
            [
                r.tenant_id.clone(),
                r.object_id.clone(),
                r.upn.clone().unwrap_or_default(),
                r.display_name.clone().unwrap_or_default(),
                r.in_directory.to_string(),
                flag(r.account_enabled),
                flag(r.is_admin),
                reason_list(&r.reasons),
                r.count.to_string(),
                r.sign_in_count.to_string(),
                r.api_call_count.to_string(),
                graph_datetime(r.first),
                graph_datetime(r.last),
                app_ids.join(";"),
                app_names.join(";"),
            ],
        );
    }
    out
}

/// `signIn;apiCall`: the wire names of the reasons.
pub fn reason_list(reasons: &[NonMfaSource]) -> String {
    reasons
        .iter()
        .map(|r| reason_name(*r))
        .collect::<Vec<_>>()
        .join(";")
}

pub fn reason_name(r: NonMfaSource) -> &'static str {
    match r {
        NonMfaSource::SignIn => "signIn",
        NonMfaSource::ApiCall => "apiCall",
    }
}

fn push_record(out: &mut String, fields: impl IntoIterator<Item = String>) {
    for (i, f) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&csv_field(&f));
    }
    out.push_str("\r\n");
}

/// One RFC 4180 field.
pub fn csv_field(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\"")).into()
    } else {
        s.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_datetime;

    fn t(s: &str) -> DateTime<Utc> {
        parse_datetime(s).unwrap()
    }

    fn ev(
        object: &str,
        src: NonMfaSource,
        app: &str,
        count: u64,
        first: &str,
        last: &str,
    ) -> NonMfaEvidence {
        NonMfaEvidence {
            tenant_id: "t".into(),
            object_id: object.into(),
            upn: Some(format!("{object}@seen.example")),
            source: src,
            app_id: app.into(),
            app_display_name: (app == "pc").then(|| "Partner Center".into()),
            count,
            first: t(first),
            last: t(last),
        }
    }

    fn user(id: &str, name: &str, enabled: bool, admin: bool) -> DirectoryUser {
        let rec = format!(
            r#"{{"id":"{id}","tenantId":"t","userPrincipalName":"{id}@dir.example",
               "userDisplayName":{name},"accountEnabled":{enabled},"isAdmin":{admin}}}"#,
            name = serde_json::Value::from(name)
        );
        DirectoryUser::from_json(rec.as_bytes(), None, t("2026-11-01T00:00:00Z")).unwrap()
    }

    fn sample() -> (Vec<NonMfaEvidence>, HashMap<String, DirectoryUser>) {
        let evidence = vec![
            ev(
                "a",
                NonMfaSource::SignIn,
                "pc",
                3,
                "2026-11-01T01:00:00Z",
                "2026-11-02T00:00:00Z",
            ),
            ev(
                "a",
                NonMfaSource::ApiCall,
                "ps",
                2,
                "2026-11-03T00:00:00Z",
                "2026-11-04T00:00:00Z",
            ),
            ev(
                "b",
                NonMfaSource::ApiCall,
                "ps",
                1,
                "2026-11-05T00:00:00Z",
                "2026-11-05T00:00:00Z",
            ),
            ev(
                "c",
                NonMfaSource::SignIn,
                "pc",
                1,
                "2026-11-03T00:00:00Z",
                "2026-11-03T00:00:00Z",
            ),
        ];
        let dir = [
            user("a", "Ann, \"the admin\"", true, true),
            user("b", "Bob", false, false),
        ]
        .into_iter()
        .map(|u| (u.id.clone(), u))
        .collect();
        (evidence, dir)
    }

    #[test]
    fn one_row_per_principal_newest_first_with_why_and_how_often() {
        let (evidence, dir) = sample();
        let rows = build_rows(evidence, |id| dir.get(id), ReportFilter::default());
        let ids: Vec<&str> = rows.iter().map(|r| r.object_id.as_str()).collect();
        assert_eq!(ids, ["b", "a", "c"]);
        let a = &rows[1];
        assert_eq!(a.reasons, [NonMfaSource::SignIn, NonMfaSource::ApiCall]);
        assert_eq!((a.count, a.sign_in_count, a.api_call_count), (5, 3, 2));
        assert_eq!(a.first, t("2026-11-01T01:00:00Z"));
        assert_eq!(a.last, t("2026-11-04T00:00:00Z"));
        assert_eq!(a.upn.as_deref(), Some("a@dir.example"), "directory wins");
        assert_eq!(a.applications[0].app_id, "ps", "newest application first");
        let c = &rows[2];
        assert!(!c.in_directory);
        assert_eq!((c.account_enabled, c.is_admin), (None, None));
        assert_eq!(c.upn.as_deref(), Some("c@seen.example"));
    }

    #[test]
    fn filters_need_a_directory_record_that_matches() {
        let (evidence, dir) = sample();
        let pick = |f: ReportFilter| -> Vec<String> {
            build_rows(evidence.clone(), |id| dir.get(id), f)
                .into_iter()
                .map(|r| r.object_id)
                .collect()
        };
        let enabled = ReportFilter {
            enabled: Some(true),
            admin: None,
        };
        assert_eq!(pick(enabled), ["a"]);
        let disabled = ReportFilter {
            enabled: Some(false),
            admin: None,
        };
        assert_eq!(pick(disabled), ["b"]);
        let admins = ReportFilter {
            enabled: Some(true),
            admin: Some(true),
        };
        assert_eq!(pick(admins), ["a"]);
    }

    #[test]
    fn json_omits_nulls_and_uses_graph_dates() {
        let (evidence, dir) = sample();
        let rows = build_rows(evidence, |id| dir.get(id), ReportFilter::default());
        let v = serde_json::to_value(collection(&rows)).unwrap();
        assert_eq!(v["totalCount"], 3);
        assert_eq!(v["attributes"]["objectType"], "Collection");
        let c = &v["items"][2];
        assert!(c.get("accountEnabled").is_none());
        assert!(c.get("displayName").is_none());
        assert_eq!(c["inDirectory"], false);
        assert_eq!(c["reasons"], serde_json::json!(["signIn"]));
        assert_eq!(c["lastNonMfaDateTime"], "2026-11-03T00:00:00Z");
        assert_eq!(c["applications"][0]["appDisplayName"], "Partner Center");
        assert!(
            v["items"][0]["applications"][0]
                .get("appDisplayName")
                .is_none()
        );
    }

    #[test]
    fn csv_quotes_per_rfc_4180() {
        let (evidence, dir) = sample();
        let rows = build_rows(evidence, |id| dir.get(id), ReportFilter::default());
        let csv = to_csv(&rows);
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(lines[0], CSV_COLUMNS.join(","));
        assert_eq!(
            lines[2],
            "t,a,a@dir.example,\"Ann, \"\"the admin\"\"\",true,true,true,signIn;apiCall,5,3,2,\
             2026-11-01T01:00:00Z,2026-11-04T00:00:00Z,ps;pc,;Partner Center"
        );
        assert_eq!(
            lines[3],
            "t,c,c@seen.example,,false,,,signIn,1,1,0,2026-11-03T00:00:00Z,2026-11-03T00:00:00Z,pc,Partner Center"
        );
        assert_eq!(lines[4], "", "every record ends with CRLF");
        assert_eq!(lines.len(), 5);
        assert_eq!(csv_field("line\nbreak"), "\"line\nbreak\"");
    }

    #[test]
    fn days_within_retention() {
        assert_eq!(parse_days("7"), Ok(7));
        assert_eq!(parse_days("30"), Ok(30));
        assert!(parse_days("0").is_err());
        assert!(parse_days("31").is_err());
        assert!(parse_days("week").is_err());
    }
}
