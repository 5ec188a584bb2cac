//! `GET /beta/reports/serviceActivity/getMetricsFor*(...)`: the six Entra service-activity
//! metric functions, as dense interval series computed from per-minute rollups.

use super::{GraphBody, odata_base};
use crate::AppState;
use crate::auth::extract::GraphCaller;
use crate::auth::policy::{Operation, Target, authorize};
use crate::error::GraphError;
use axum::extract::State;
use axum::http::{HeaderMap, Uri};
use mfalens_core::metric::Metric;
use mfalens_core::odata::{ODataError, parse_function_call, parse_query};
use mfalens_core::series::{SeriesError, Window};
use mfalens_core::time::write_graph_datetime;

pub const START: &str = "inclusiveIntervalStartDateTime";
pub const END: &str = "exclusiveIntervalEndDateTime";
pub const INTERVAL: &str = "aggregationIntervalInMinutes";
const PARAMS: &[&str] = &[START, END, INTERVAL];

impl From<ODataError> for GraphError {
    fn from(e: ODataError) -> Self {
        GraphError::bad_request(e.to_string())
    }
}

impl From<SeriesError> for GraphError {
    fn from(e: SeriesError) -> Self {
        GraphError::bad_request(e.to_string())
    }
}

pub async fn get_metrics(
    State(st): State<AppState>,
    GraphCaller(p): GraphCaller,
    uri: Uri,
    headers: HeaderMap,
) -> Result<GraphBody, GraphError> {
    authorize(&p, Operation::ReadServiceActivity, Target::Tenant)?;
    let segment = uri.path().rsplit('/').next().unwrap_or_default();
    let query = parse_query(uri.query())?;
    let call = parse_function_call(segment, &query, PARAMS)?;
    let metric = Metric::from_function_name(&call.name).ok_or_else(|| {
        GraphError::bad_request(format!(
            "Resource not found for the segment '{}'.",
            call.name
        ))
    })?;
    let window = Window::new(
        call.required_datetime(START)?,
        call.required_datetime(END)?,
        call.optional_int32(INTERVAL)?,
        st.now(),
    )?;
    let plan = window.plan();
    let store = st.store();
    let rollups = store
        .rollups(&p.tenant_id, metric, plan.first_minute, plan.end_minute)
        .await?;
    let raw = store
        .raw_times(&p.tenant_id, metric, &plan.raw_ranges)
        .await?;
    let points = window.assemble(&plan, &rollups, &raw);
    Ok(GraphBody(render_series(
        &odata_base(&st, &headers),
        &points,
    )))
}

/// The series body, written straight into one string: a 30-day, 5-minute series is 8,640
/// points, and building a JSON tree for it would cost more than the query.
fn render_series(base: &str, points: &[mfalens_core::series::Point]) -> String {
    let mut out = String::with_capacity(128 + points.len() * 56);
    out.push_str("{\"@odata.context\":");
    out.push_str(
        &serde_json::Value::from(format!(
            "{base}/$metadata#Collection(microsoft.graph.serviceActivityValueMetric)"
        ))
        .to_string(),
    );
    out.push_str(",\"value\":[");
    for (i, p) in points.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"intervalStartDateTime\":\"");
        write_graph_datetime(&mut out, p.interval_start);
        out.push_str("\",\"value\":");
        out.push_str(&p.value.to_string());
        out.push('}');
    }
    out.push_str("]}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use mfalens_core::series::Point;
    use mfalens_core::time::parse_datetime;
    use serde_json::json;

    #[test]
    fn the_series_body_is_the_json_it_means() {
        let pts = [
            Point {
                interval_start: parse_datetime("2026-11-01T00:00:00Z").unwrap(),
                value: 4,
            },
            Point {
                interval_start: parse_datetime("2026-11-01T00:10:00.5Z").unwrap(),
                value: 0,
            },
        ];
        let body: serde_json::Value =
            serde_json::from_str(&render_series("http://h/beta", &pts)).unwrap();
        assert_eq!(
            body,
            json!({
                "@odata.context": "http://h/beta/$metadata#Collection(microsoft.graph.serviceActivityValueMetric)",
                "value": [
                    {"intervalStartDateTime": "2026-11-01T00:00:00Z", "value": 4},
                    {"intervalStartDateTime": "2026-11-01T00:10:00.5Z", "value": 0},
                ]
            })
        );
        assert!(render_series("h", &[]).ends_with("\"value\":[]}"));
    }
}
