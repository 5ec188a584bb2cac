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
use mfalens_core::time::push_graph_datetime;
use std::fmt::Write as _;

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
    // Written straight to text (the same bytes serde_json writes for the equivalent value):
    // 30 days at 5 minutes is 8,640 points.
    let context = format!(
        "{}/$metadata#Collection(microsoft.graph.serviceActivityValueMetric)",
        odata_base(&st, &headers)
    );
    let mut body = String::with_capacity(64 + context.len() + points.len() * 56);
    body.push_str("{\"@odata.context\":");
    body.push_str(&serde_json::to_string(&context).unwrap_or_else(|_| "\"\"".into()));
    body.push_str(",\"value\":[");
    for (i, pt) in points.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str("{\"intervalStartDateTime\":\"");
        push_graph_datetime(&mut body, pt.interval_start);
        body.push_str("\",\"value\":");
        let _ = write!(body, "{}", pt.value);
        body.push('}');
    }
    body.push_str("]}");
    Ok(GraphBody(body))
}
