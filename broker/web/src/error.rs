//! The one error type of the broker's HTTP side (the JSON API, the console and the static pages):
//! every failure leaves as `application/problem+json` with a clear detail, and every service refusal
//! is mapped to its status and problem type here and nowhere else.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use daypass_broker_core::domain::emergency::StopRefusal;
use daypass_broker_core::domain::review::ReviewRefusal;
use daypass_broker_core::tickets::TicketSystemError;
use daypass_broker_core::{Forbidden, ServiceError, StoreError};
use daypass_proto::problem::{Problem, PROBLEM_CONTENT_TYPE};

#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    kind: &'static str,
    detail: String,
    /// Seconds, sent as `Retry-After` with a 429 or a 503.
    retry_after: Option<u64>,
}

impl ApiError {
    /// 503 with `Retry-After`: the broker cannot answer now, and the caller may ask again later.
    fn retry_later(kind: &'static str, detail: &str, seconds: u64) -> ApiError {
        let mut unavailable = ApiError::new(StatusCode::SERVICE_UNAVAILABLE, kind, detail);
        unavailable.retry_after = Some(seconds);
        unavailable
    }

    pub fn new(status: StatusCode, kind: &'static str, detail: impl Into<String>) -> Self {
        ApiError {
            status,
            kind,
            detail: detail.into(),
            retry_after: None,
        }
    }

    /// The status, what went wrong, and the seconds to wait before asking again (for the SCIM
    /// side, which answers in SCIM's own error format).
    pub(crate) fn parts(&self) -> (StatusCode, &str, Option<u64>) {
        (self.status, &self.detail, self.retry_after)
    }

    pub fn unauthenticated(detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", detail)
    }

    /// Input of a console form that breaks a rule (the service's own refusals map below).
    pub fn invalid(detail: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid-input", detail)
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        use ServiceError as E;
        let (status, kind) = match &e {
            E::Invalid(_) => (StatusCode::BAD_REQUEST, "invalid-input"),
            E::Unauthenticated(_) => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            E::NotFound(_) => (StatusCode::NOT_FOUND, "not-found"),
            E::Forbidden(Forbidden::EmergencyStop(_)) => (StatusCode::FORBIDDEN, "emergency-stop"),
            E::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            E::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            E::NotEntitled(_) => (StatusCode::FORBIDDEN, "not-entitled"),
            E::Ticket(_) => (StatusCode::UNPROCESSABLE_ENTITY, "ticket-refused"),
            E::Approval(_) => (StatusCode::FORBIDDEN, "approval-refused"),
            E::Request(_) => (StatusCode::CONFLICT, "request-closed"),
            E::Passkey(_) => (StatusCode::FORBIDDEN, "passkey-refused"),
            E::Stop(StopRefusal::Reason | StopRefusal::LiftReason | StopRefusal::NoCompany) => {
                (StatusCode::BAD_REQUEST, "invalid-input")
            }
            E::Stop(StopRefusal::OwnProposal) => (StatusCode::FORBIDDEN, "forbidden"),
            E::Stop(StopRefusal::NotProposed(_) | StopRefusal::NotInForce(_)) => {
                (StatusCode::CONFLICT, "conflict")
            }
            E::Review(ReviewRefusal::Name | ReviewRefusal::Deadline | ReviewRefusal::Reason) => {
                (StatusCode::BAD_REQUEST, "invalid-input")
            }
            E::Review(ReviewRefusal::Closed(_) | ReviewRefusal::AlreadyAnswered { .. }) => {
                (StatusCode::CONFLICT, "conflict")
            }
            E::Review(_) => (StatusCode::FORBIDDEN, "forbidden"),
            E::Scim(scim) => (
                StatusCode::from_u16(scim.status).unwrap_or(StatusCode::BAD_REQUEST),
                scim.scim_type.unwrap_or("scim"),
            ),
            E::Posture { .. } => (StatusCode::FORBIDDEN, "posture-refused"),
            E::StepUpNeeded { .. } => (StatusCode::FORBIDDEN, "forbidden"),
            E::TooMany(too_many) => {
                let mut refused =
                    ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too-many-requests", e.to_string());
                refused.retry_after = Some(too_many.retry_after_seconds);
                return refused;
            }
            // The built-in tickets live in the broker's own database: their failures are its failures.
            E::Store(StoreError::CommitUnknown(_))
            | E::TicketSystem(TicketSystemError::Store(StoreError::CommitUnknown(_))) => {
                tracing::warn!(error = %e, "the database went away during a commit");
                return ApiError::retry_later(
                    "outcome-unknown",
                    "the broker lost its database while recording this, so it may or may not have been recorded: look (your requests, the grant, the approval inbox) before trying again",
                    2,
                );
            }
            E::Store(store) | E::TicketSystem(TicketSystemError::Store(store)) if store.is_transient() => {
                tracing::warn!(error = %e, "the database is unavailable");
                return ApiError::retry_later(
                    "database-unavailable",
                    "the broker's database is unavailable for a moment (restarting, unreachable or out of connections); nothing was changed. Try again in a few seconds",
                    1,
                );
            }
            E::Store(_) | E::TicketSystem(TicketSystemError::Store(_)) | E::Internal(_) => {
                tracing::error!(error = %e, "the broker failed");
                return ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "the broker could not complete this; nothing was changed. Try again, and tell IT if it persists",
                );
            }
            E::TicketSystem(_) => (StatusCode::SERVICE_UNAVAILABLE, "ticket-system-unavailable"),
        };
        ApiError::new(status, kind, e.to_string())
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        // axum's own statuses: 400 malformed JSON, 422 wrong shape, 415 wrong content type, 413 too large.
        ApiError::new(
            r.status(),
            "invalid-body",
            format!(
                "{}: send a JSON body as the API document describes",
                r.body_text()
            ),
        )
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid-path",
            format!("{} (ids are UUIDs)", r.body_text()),
        )
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid-query", r.body_text())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_client_error() {
            tracing::debug!(status = %self.status, kind = self.kind, detail = %self.detail, "request refused");
        }
        let problem = Problem {
            kind: format!("urn:daypass:problem:{}", self.kind),
            title: self.status.canonical_reason().unwrap_or("Error").to_string(),
            status: self.status.as_u16(),
            detail: self.detail,
        };
        let body = serde_json::to_vec(&problem).unwrap_or_default();
        let mut response =
            (self.status, [(header::CONTENT_TYPE, PROBLEM_CONTENT_TYPE)], body).into_response();
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, seconds.into());
        }
        response
    }
}

/// JSON body whose rejections are problem documents.
#[derive(Debug, axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

impl<T: serde::Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

#[derive(Debug, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

#[derive(Debug, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

pub type ApiResult<T> = Result<ApiJson<T>, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;
    use daypass_broker_core::domain::passkey::PasskeyRefusal;
    use daypass_broker_core::{Conflict, InvalidInput, Missing, Unauthenticated};

    fn mapped(e: impl Into<ServiceError>) -> (StatusCode, &'static str, String) {
        let e = ApiError::from(e.into());
        (e.status, e.kind, e.detail)
    }

    #[test]
    fn each_kind_of_refusal_has_one_status_and_problem_type() {
        let cases: [(ServiceError, u16, &str); 11] = [
            (InvalidInput::PasskeyName.into(), 400, "invalid-input"),
            (Unauthenticated::UnknownToken.into(), 401, "unauthenticated"),
            (Forbidden::NotASession.into(), 403, "forbidden"),
            (PasskeyRefusal::InviteUsed.into(), 403, "passkey-refused"),
            (Missing::WaitingSignIn.into(), 404, "not-found"),
            (Conflict::PasskeyRegistered.into(), 409, "conflict"),
            (
                Forbidden::EmergencyStop("stopped".into()).into(),
                403,
                "emergency-stop",
            ),
            (StopRefusal::Reason.into(), 400, "invalid-input"),
            (StopRefusal::OwnProposal.into(), 403, "forbidden"),
            (StopRefusal::NotInForce("lifted").into(), 409, "conflict"),
            (
                ServiceError::StepUpNeeded { max_age_minutes: 5 },
                403,
                "forbidden",
            ),
        ];
        for (refusal, status, kind) in cases {
            let said = refusal.to_string();
            let (s, k, detail) = mapped(refusal);
            assert_eq!((s.as_u16(), k), (status, kind), "{said}");
            assert_eq!(detail, said, "the refusal's own words reach the caller");
        }
    }

    #[test]
    fn internal_failures_do_not_reveal_their_cause() {
        let (status, kind, detail) = mapped(ServiceError::Internal("a damaged ceremony: at line 3".into()));
        assert_eq!((status, kind), (StatusCode::INTERNAL_SERVER_ERROR, "internal"));
        assert!(!detail.contains("line 3"), "{detail}");
    }

    #[test]
    fn a_database_outage_is_a_retryable_503_that_says_whether_anything_was_recorded() {
        let outage = ApiError::from(ServiceError::Store(StoreError::Unavailable(
            "refused at 10.0.0.5".into(),
        )));
        assert_eq!(
            (outage.status.as_u16(), outage.kind, outage.retry_after),
            (503, "database-unavailable", Some(1))
        );
        assert!(outage.detail.contains("nothing was changed"), "{}", outage.detail);
        assert!(
            !outage.detail.contains("10.0.0.5"),
            "the cause stays in the broker's log"
        );

        let lost = ApiError::from(ServiceError::Store(StoreError::CommitUnknown("reset".into())));
        assert_eq!((lost.status.as_u16(), lost.kind), (503, "outcome-unknown"));
        assert!(lost.detail.contains("may or may not"), "{}", lost.detail);

        let response = outage.into_response();
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");

        // Reading the built-in tickets is reading the broker's own database.
        let unavailable = StoreError::Unavailable("connection refused".into());
        let tickets = ApiError::from(ServiceError::TicketSystem(TicketSystemError::Store(unavailable)));
        assert_eq!(
            (tickets.status.as_u16(), tickets.kind),
            (503, "database-unavailable")
        );
        let (status, kind, _) = mapped(ServiceError::TicketSystem(TicketSystemError::Unauthorized(401)));
        assert_eq!((status.as_u16(), kind), (503, "ticket-system-unavailable"));
    }
}
