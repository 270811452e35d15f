//! The error half of every operation's contract, written into the API document in one place: each
//! failure an operation can answer is declared with its `application/problem+json` body, the
//! handler naming the refusals of its own domain and this module adding the ones that follow from
//! the operation's shape (credentials, parameters, a JSON body) and from `crate::error`'s mapping.

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::response::Response;
use utoipa::openapi::{Content, OpenApi, Ref, RefOr};

/// Completes the failure responses of every operation of the document.
pub struct ErrorContract;

impl utoipa::Modify for ErrorContract {
    fn modify(&self, doc: &mut OpenApi) {
        for item in doc.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                complete(operation);
            }
        }
    }
}

/// The failures that follow from an operation's shape, with what each means for the caller.
fn implied_failures(operation: &Operation) -> Vec<(u16, &'static str)> {
    let mut failures = vec![
        (
            401,
            "no credentials, or a token that is unknown, expired or revoked, or a passkey session \
             whose device signature does not hold",
        ),
        (
            500,
            "the broker could not complete this (storage failure); nothing was changed",
        ),
    ];
    if operation.security.is_some() {
        failures.push((
            403,
            "the caller's roles do not allow this, or a gateway's credential where a person's is needed \
             (and the other way round)",
        ));
    }
    let parameters = operation.parameters.iter().flatten();
    if parameters
        .into_iter()
        .any(|p| matches!(p.parameter_in, ParameterIn::Path | ParameterIn::Query))
    {
        failures.push((400, "a path or query parameter is malformed"));
    }
    if operation.request_body.is_some() {
        failures.extend([
            (
                400,
                "the body is not valid JSON, or a field breaks a rule the schema states",
            ),
            (
                413,
                "the body is too large (over 1 MiB with a passkey session, 2 MiB otherwise)",
            ),
            (415, "the body is not sent as application/json"),
            (422, "the body is JSON of the wrong shape"),
        ]);
    }
    failures
}

fn complete(operation: &mut Operation) {
    for (status, description) in implied_failures(operation) {
        operation
            .responses
            .responses
            .entry(status.to_string())
            .or_insert_with(|| RefOr::T(Response::new(description)));
    }
    for (status, response) in operation.responses.responses.iter_mut() {
        let RefOr::T(response) = response else { continue };
        if !status.starts_with(['4', '5']) {
            continue;
        }
        if response.description.is_empty() {
            response.description = default_description(status).to_string();
        }
        if status == "429" {
            let seconds = utoipa::openapi::ObjectBuilder::new()
                .schema_type(utoipa::openapi::schema::Type::Integer)
                .build();
            let mut retry_after = utoipa::openapi::header::Header::new(seconds);
            retry_after.description = Some("seconds until the caller may try again".into());
            response.headers.insert("Retry-After".into(), retry_after);
        }
        response.content.clear();
        response.content.insert(
            daypass_proto::problem::PROBLEM_CONTENT_TYPE.to_string(),
            Content::new(Some(Ref::from_schema_name("Problem"))),
        );
    }
}

/// What a declared failure means when its handler did not say.
fn default_description(status: &str) -> &'static str {
    match status {
        "400" => "the input breaks a rule the schema states",
        "403" => "the caller's roles, account or device do not allow this",
        "404" => "no such thing that the caller can see",
        "409" => "the thing is not in a state that allows this",
        "429" => "too many calls in a row: wait as long as Retry-After says",
        "422" => "refused for what the input refers to",
        "503" => "a system the broker depends on is unreachable",
        _ => "refused",
    }
}

#[cfg(test)]
mod tests {
    use utoipa::OpenApi as _;

    fn operations() -> Vec<(String, utoipa::openapi::path::Operation)> {
        let doc = super::super::ApiDoc::openapi();
        let mut all = Vec::new();
        for (path, item) in doc.paths.paths {
            for (method, op) in [("get", item.get), ("post", item.post)] {
                if let Some(op) = op {
                    all.push((format!("{method} {path}"), op));
                }
            }
        }
        all
    }

    #[test]
    fn every_failure_is_a_problem_document() {
        for (name, op) in operations() {
            for (status, response) in &op.responses.responses {
                let utoipa::openapi::RefOr::T(response) = response else {
                    panic!("{name} {status}: a reference")
                };
                let types: Vec<&String> = response.content.keys().collect();
                if status.starts_with(['4', '5']) {
                    assert_eq!(types, ["application/problem+json"], "{name} {status}");
                    assert!(!response.description.is_empty(), "{name} {status}");
                }
            }
        }
    }

    #[test]
    fn shape_implies_its_failures() {
        for (name, op) in operations() {
            let declared = |s: &str| op.responses.responses.contains_key(s);
            assert!(declared("401") && declared("500"), "{name}");
            if op.security.is_some() {
                assert!(declared("403"), "{name}");
            }
            if op.request_body.is_some() {
                for s in ["400", "413", "415", "422"] {
                    assert!(declared(s), "{name} lacks {s}");
                }
            }
            if op.parameters.iter().flatten().next().is_some() {
                assert!(declared("400"), "{name}");
            }
        }
    }
}
