//! `GET /api/v1/audit`: the audit log, newest first, as JSON pages or an
//! NDJSON/CSV export. Admins read everything; members their own actions.

use agentd_protocol::{AuditEntry, AuditPage, ErrorBody, ErrorCode};
use agentd_store::AuditFilter;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use time::OffsetDateTime;
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::Query;
use crate::state::AppState;

const PAGE_MAX: u32 = 1_000;
const EXPORT_MAX: u32 = 100_000;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AuditParams {
    /// Only actions by this user name.
    actor: Option<String>,
    /// Only this action (`login.failure`, `token.create`, …).
    action: Option<String>,
    /// Only entries at or after this time (RFC 3339).
    since: Option<String>,
    /// Entries older than this id (the `next_before` of a page).
    before: Option<i64>,
    /// Page size, 1 to 1000 (default 100); exports up to 100000. Anything
    /// else is refused.
    #[param(minimum = 1, maximum = 100_000)]
    limit: Option<u32>,
    /// `json` (default), `ndjson` or `csv`.
    #[param(inline)]
    format: Option<Format>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
enum Format {
    Json,
    Ndjson,
    Csv,
}

/// The audit log.
#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditParams),
    responses(
        (status = 200, description = "A page of entries (`format=json`), or every entry up to `limit` as one JSON object per line (`format=ndjson`) or CSV (`format=csv`)",
            content(
                (AuditPage = "application/json"),
                ("application/x-ndjson"),
                ("text/csv"),
            )),
        (status = 400, description = "Invalid parameters", body = ErrorBody),
    ))]
pub(crate) async fn list_audit(
    State(state): State<AppState>,
    caller: Caller,
    Query(params): Query<AuditParams>,
) -> Result<Response, ApiError> {
    let format = params.format.unwrap_or(Format::Json);
    let max = if format == Format::Json {
        PAGE_MAX
    } else {
        EXPORT_MAX
    };
    let limit = crate::params::page_limit(params.limit, 100, max)?;
    let since = params
        .since
        .as_deref()
        .map(|s| OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339))
        .transpose()
        .map_err(|_| invalid("since is an RFC 3339 time"))?;
    let filter = AuditFilter {
        // A member's view is limited to their own actions, whatever they ask.
        actor_id: (!caller.is_admin()).then(|| caller.user_id.clone()),
        actor_name: params.actor,
        action: params.action,
        since,
        before: params.before,
        limit,
    };
    let entries = state.manager.store().list_audit(&filter).await?;
    Ok(match format {
        Format::Json => {
            let next_before = (entries.len() as u32 == limit)
                .then(|| entries.last().map(|e| e.id))
                .flatten();
            axum::Json(AuditPage {
                entries,
                next_before,
            })
            .into_response()
        }
        Format::Ndjson => {
            let mut body = String::new();
            for e in &entries {
                if let Ok(line) = serde_json::to_string(e) {
                    body.push_str(&line);
                    body.push('\n');
                }
            }
            ([(header::CONTENT_TYPE, "application/x-ndjson")], body).into_response()
        }
        Format::Csv => (
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            csv(&entries),
        )
            .into_response(),
    })
}

fn invalid(message: &str) -> ApiError {
    ApiError::bad_request(ErrorCode::ValidationFailed, message)
}

fn csv(entries: &[AuditEntry]) -> String {
    let mut out = String::from("id,ts,actor_id,actor_name,action,target,ip,detail\n");
    for e in entries {
        let ts =
            e.ts.format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
        let fields = [
            e.id.to_string(),
            ts,
            e.actor_id.clone().unwrap_or_default(),
            e.actor_name.clone(),
            e.action.clone(),
            e.target.clone().unwrap_or_default(),
            e.ip.clone().unwrap_or_default(),
            e.detail.to_string(),
        ];
        let line: Vec<String> = fields.iter().map(|f| csv_field(f)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
}

/// RFC 4180 quoting, and a leading `'` on values a spreadsheet would run as
/// a formula (user names and actions come from users).
fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=cmd()"), "'=cmd()");
    }
}
