//! Who is at the broker's pages: the browser session in the `__Host-daypass` cookie (HttpOnly,
//! Secure, SameSite=Strict), the CSRF token every change must carry (derived from the session's
//! secret, so nothing more is stored), and the same-origin check on every request that changes
//! anything.

use crate::{ApiError, AppState};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::{COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use daypass_broker_core::domain::directory::{Person, Role};
use daypass_broker_core::{Caller, ServiceError};
use secrecy::{ExposeSecret as _, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;
use time::OffsetDateTime;

pub const COOKIE_NAME: &str = "__Host-daypass";
/// The header a page's script sends its CSRF token in (forms send the field `csrf`).
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The CSRF token of a browser session: only a page served to that session knows it.
pub fn csrf_token(session_token: &SecretString) -> String {
    hex::encode(Sha256::digest(
        format!("daypass-csrf\0{}", session_token.expose_secret()).as_bytes(),
    ))
}

/// The cookie that carries a new browser session until it expires.
pub fn session_cookie(token: &SecretString, expires_at: OffsetDateTime, now: OffsetDateTime) -> HeaderValue {
    let max_age = (expires_at - now).whole_seconds().max(0);
    let value = format!(
        "{COOKIE_NAME}={}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age={max_age}",
        token.expose_secret()
    );
    HeaderValue::from_str(&value).expect("a token is base64url")
}

/// The cookie that clears the session from the browser.
pub fn cleared_cookie() -> HeaderValue {
    HeaderValue::from_static("__Host-daypass=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0")
}

fn session_token(parts: &Parts) -> Option<SecretString> {
    parts
        .headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| SecretString::from(value.to_string()))
}

/// A person signed in to the broker's pages.
pub struct Visitor {
    pub caller: Caller,
    csrf: String,
}

impl Visitor {
    /// The token this session's pages put in their forms.
    pub fn csrf(&self) -> &str {
        &self.csrf
    }

    /// Refuses a change that does not carry this session's CSRF token.
    pub fn confirm(&self, presented: Option<&str>) -> Result<(), ApiError> {
        let presented = presented.unwrap_or_default().as_bytes();
        if bool::from(presented.ct_eq(self.csrf.as_bytes())) {
            Ok(())
        } else {
            Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "csrf",
                "this form is stale or came from another site: reload the page and try again",
            ))
        }
    }

    /// Refuses a script's change without the session's CSRF token in its header.
    pub fn confirm_header(&self, parts: &axum::http::HeaderMap) -> Result<(), ApiError> {
        self.confirm(parts.get(CSRF_HEADER).and_then(|v| v.to_str().ok()))
    }

    /// The person making a change from a page's script: the session's CSRF token checked, and one
    /// of `roles` held (any signed-in person when empty).
    pub fn changing(&self, headers: &axum::http::HeaderMap, roles: &[Role]) -> Result<&Person, ApiError> {
        self.confirm_header(headers)?;
        Ok(if roles.is_empty() {
            self.caller.person()?
        } else {
            self.caller.person_with(roles)?
        })
    }
}

/// No browser session: pages send the person to sign in, scripts and forms get 401.
pub enum NotSignedIn {
    Page,
    Call(ApiError),
}

impl IntoResponse for NotSignedIn {
    fn into_response(self) -> Response {
        match self {
            NotSignedIn::Page => {
                let mut response = StatusCode::SEE_OTHER.into_response();
                let headers = response.headers_mut();
                headers.insert(LOCATION, HeaderValue::from_static("/console/sign-in"));
                headers.insert(SET_COOKIE, cleared_cookie());
                response
            }
            NotSignedIn::Call(e) => e.into_response(),
        }
    }
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = NotSignedIn;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let reject = |detail: String| {
            if parts.method == Method::GET {
                NotSignedIn::Page
            } else {
                NotSignedIn::Call(ApiError::unauthenticated(detail))
            }
        };
        let Some(token) = session_token(parts) else {
            return Err(reject("sign in with your passkey first".into()));
        };
        match state.broker.authenticate_browser(&token).await {
            Ok(caller) => Ok(Visitor {
                caller,
                csrf: csrf_token(&token),
            }),
            Err(ServiceError::Unauthenticated(m)) => Err(reject(m.to_string())),
            Err(other) => Err(NotSignedIn::Call(other.into())),
        }
    }
}

/// Every request that may change something must come from the broker's own origin: browsers send
/// `Origin` with every POST, and a cross-site form or script cannot forge it.
pub async fn same_origin(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    let origin = request.headers().get(ORIGIN).and_then(|v| v.to_str().ok());
    if origin == Some(state.broker.origin().as_str()) {
        return next.run(request).await;
    }
    ApiError::new(
        StatusCode::FORBIDDEN,
        "cross-origin",
        format!(
            "changes are accepted only from pages of {} (this came from {}): open the page from there",
            state.broker.origin(),
            origin.unwrap_or("no origin")
        ),
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_csrf_token_belongs_to_one_session_and_does_not_reveal_it() {
        let a = SecretString::from("dpw_aaaa".to_string());
        let b = SecretString::from("dpw_bbbb".to_string());
        assert_eq!(csrf_token(&a), csrf_token(&a));
        assert_ne!(csrf_token(&a), csrf_token(&b));
        assert!(!csrf_token(&a).contains("aaaa"));
        // Not the stored digest of the session token either.
        assert_ne!(csrf_token(&a), hex::encode(Sha256::digest(b"dpw_aaaa")));
    }

    #[test]
    fn the_session_cookie_is_host_only_secure_and_hidden_from_scripts() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let cookie = session_cookie(
            &SecretString::from("dpw_x".to_string()),
            now + time::Duration::hours(12),
            now,
        );
        let cookie = cookie.to_str().unwrap();
        for part in [
            "__Host-daypass=dpw_x",
            "Path=/",
            "Secure",
            "HttpOnly",
            "SameSite=Strict",
            "Max-Age=43200",
        ] {
            assert!(cookie.contains(part), "{cookie} lacks {part}");
        }
        assert!(!cookie.contains("Domain"), "a __Host- cookie has no Domain");
    }

    #[test]
    fn the_session_is_read_from_among_other_cookies() {
        let request = axum::http::Request::get("/console")
            .header(COOKIE, "theme=dark; __Host-daypass=dpw_tok; other=1")
            .body(())
            .unwrap();
        let (parts, ()) = request.into_parts();
        let token = session_token(&parts).unwrap();
        assert_eq!(token.expose_secret(), "dpw_tok");
    }
}
