//! SCIM provisioning through the router, with the request bodies Okta and Microsoft Entra ID
//! document: people created, linked, changed and deactivated; groups pushed, renamed and their
//! members changed; deactivation and deletion end live grants at once; only SCIM tokens open
//! `/scim/v2`, and they open nothing else.

use crate::support::{send, Db, Harness, Options};
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use daypass_broker_core::domain::directory::Role;
use daypass_broker_web::{router, AppState};
use daypass_proto::api::GrantStatus;
use secrecy::ExposeSecret as _;
use serde_json::{json, Value};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const DAYPASS: &str = "urn:daypass:params:scim:schemas:extension:daypass:2.0:User";

struct Idp {
    h: Harness,
    app: axum::Router,
    token: String,
}

impl Idp {
    async fn new(db: Db) -> Idp {
        let mut opts = Options::default();
        opts.settings
            .scim_role_groups
            .insert("daypass-approvers".into(), Role::Approver);
        let h = Harness::with(db, opts).await;
        let token = h
            .broker
            .issue_scim_token("test", "okta", time::Duration::days(365))
            .await
            .unwrap();
        let state = AppState {
            broker: h.broker.clone(),
            ticket_webhook_secret: None,
        };
        Idp {
            app: router(state),
            token: token.expose_secret().to_string(),
            h,
        }
    }

    async fn call_as(
        &self,
        token: Option<&str>,
        method: &str,
        uri: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        if body.is_some() {
            req = req.header(header::CONTENT_TYPE, "application/scim+json");
        }
        let body = body.map(|b| Body::from(b.to_string())).unwrap_or_default();
        let (status, json, content_type) = send(&self.app, req.body(body).unwrap()).await;
        if status != StatusCode::NO_CONTENT && uri.starts_with("/scim") {
            assert_eq!(content_type, "application/scim+json", "{method} {uri}: {json}");
        }
        (status, json)
    }

    async fn call(&self, method: &str, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.call_as(Some(&self.token), method, uri, body).await
    }

    /// The only user a filter finds.
    async fn find(&self, filter: &str) -> Value {
        let uri = format!(
            "/scim/v2/Users?filter={}&startIndex=1&count=100",
            urlencode(filter)
        );
        let (status, list) = self.call("GET", &uri, None).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        assert_eq!(list["totalResults"], 1, "{filter}: {list}");
        list["Resources"][0].clone()
    }

    async fn grant_status(&self, id: uuid::Uuid) -> GrantStatus {
        let ida = daypass_broker_core::Caller::Person(self.h.person("ida").await);
        self.h.broker.grant_view(&ida, id).await.unwrap().status
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn patch(operations: Value) -> Value {
    json!({ "schemas": [PATCH_OP], "Operations": operations })
}

#[tokio::test]
async fn only_a_scim_token_opens_scim_and_it_opens_nothing_else() {
    let idp = Idp::new(Db::Sqlite).await;
    let (status, error) = idp.call_as(None, "GET", "/scim/v2/Users", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error");
    assert_eq!(error["status"], "401");
    let person_token = idp
        .h
        .broker
        .issue_token("test", "ida", "t", time::Duration::days(1))
        .await
        .unwrap();
    let (status, _) = idp
        .call_as(Some(person_token.expose_secret()), "GET", "/scim/v2/Users", None)
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "an admin's API token is not a SCIM token"
    );
    let (status, _) = idp.call("GET", "/api/v1/me", None).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a SCIM token opens nothing else"
    );

    let (status, config) = idp.call("GET", "/scim/v2/ServiceProviderConfig", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(config["patch"]["supported"], true);
    idp.h.broker.revoke_scim_token("test", "okta").await.unwrap();
    let (status, _) = idp.call("GET", "/scim/v2/Users", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a revoked token");
    assert!(idp.h.actions().await.contains(&"scim.token_revoked".to_string()));
}

/// Okta: it looks a person up by userName, links the one the directory has (ana, made on the CLI)
/// or creates one; deactivates by PATCH; pushes groups, renames them with their id in the value,
/// and adds and removes members.
async fn okta_provisions_links_deactivates_and_pushes_groups(db: Db) {
    let idp = Idp::new(db).await;
    let grant = idp.h.granted("db", "OPS-1", "1h").await;

    // Linking: the person the CLI made is found by userName.
    let ana = idp.find(r#"userName eq "ana""#).await;
    assert_eq!(ana["id"], "ana");
    assert_eq!(ana["active"], true);
    assert_eq!(ana["groups"][0]["value"], "dba");
    assert!(ana["meta"]["location"]
        .as_str()
        .unwrap()
        .ends_with("/scim/v2/Users/ana"));

    // A new contractor, as Okta creates one.
    let (status, made) = idp
        .call(
            "POST",
            "/scim/v2/Users",
            Some(json!({
                "schemas": [USER], "userName": "lee.chen@initech.example",
                "name": {"givenName": "Lee", "familyName": "Chen"},
                "emails": [{"primary": true, "value": "lee.chen@initech.example", "type": "work"}],
                "displayName": "Lee Chen", "locale": "en-US", "externalId": "00u1abcd",
                "groups": [], "password": "not-kept", "active": true,
                DAYPASS: {"company": "Initech", "contractEnd": "2027-03-31T23:59:59Z"},
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let id = made["id"].as_str().unwrap().to_string();
    assert_eq!(id, "lee.chen@initech.example");
    assert!(made.get("password").is_none() && made.get("locale").is_none());
    let lee = idp.h.person(&id).await;
    assert_eq!((lee.name.as_str(), lee.company.as_str()), ("Lee Chen", "Initech"));
    assert_eq!(
        lee.roles,
        [Role::Contractor].into(),
        "a contractor unless a mapped group says otherwise"
    );
    assert_eq!(lee.contract_end.unwrap().year(), 2027);
    let (status, twice) = idp
        .call(
            "POST",
            "/scim/v2/Users",
            Some(json!({"schemas": [USER], "userName": "LEE.CHEN@initech.example"})),
        )
        .await;
    assert_eq!(
        (status, twice["scimType"].as_str()),
        (StatusCode::CONFLICT, Some("uniqueness"))
    );

    // Okta deactivates ana: her live grant ends at once, audited as done by the identity provider.
    let (status, off) = idp
        .call(
            "PATCH",
            "/scim/v2/Users/ana",
            Some(patch(json!([{"op": "replace", "value": {"active": false}}]))),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{off}");
    assert_eq!(off["active"], false);
    assert_eq!(idp.grant_status(grant).await, GrantStatus::Revoked);
    assert!(idp.h.person("ana").await.disabled);

    // A group pushed with a member mapped to the approver role; renamed; members changed.
    let (status, group) = idp
        .call(
            "POST",
            "/scim/v2/Groups",
            Some(json!({"schemas": [GROUP], "displayName": "Daypass Approvers", "members": [{"value": id, "display": "Lee Chen"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    assert_eq!(group["id"], "daypass-approvers");
    assert_eq!(idp.h.person(&id).await.roles, [Role::Approver].into());
    // An admin made on the CLI and linked by the identity provider keeps the roles IT gave her,
    // in a mapped group or not.
    let add_ida = json!([{"op": "add", "path": "members", "value": [{"value": "ida"}]}]);
    let (status, _) = idp
        .call("PATCH", "/scim/v2/Groups/daypass-approvers", Some(patch(add_ida)))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = idp
        .call(
            "PATCH",
            "/scim/v2/Users/ida",
            Some(patch(
                json!([{"op": "replace", "path": "displayName", "value": "Ida N."}]),
            )),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let ida = idp.h.person("ida").await;
    assert_eq!(
        (ida.name.as_str(), ida.roles.clone()),
        ("Ida N.", [Role::Admin].into())
    );
    let (status, renamed) = idp
        .call(
            "PATCH",
            "/scim/v2/Groups/daypass-approvers",
            Some(patch(json!([{"op": "replace", "value": {"id": "daypass-approvers", "displayName": "Approvers (Daypass)"}}]))),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    assert_eq!(
        (renamed["id"].as_str(), renamed["displayName"].as_str()),
        (Some("daypass-approvers"), Some("Approvers (Daypass)"))
    );
    let remove = json!([{"op": "remove", "path": format!("members[value eq \"{id}\"]")}]);
    let (status, emptied) = idp
        .call("PATCH", "/scim/v2/Groups/daypass-approvers", Some(patch(remove)))
        .await;
    assert_eq!(status, StatusCode::OK, "{emptied}");
    assert_eq!(
        emptied["members"].as_array().unwrap().len(),
        1,
        "ida stays: {emptied}"
    );
    assert_eq!(emptied["members"][0]["value"], "ida");
    assert_eq!(idp.h.person(&id).await.roles, [Role::Contractor].into());
    let add = json!([{"op": "add", "path": "members", "value": [{"value": "nobody"}]}]);
    let (status, refused) = idp
        .call("PATCH", "/scim/v2/Groups/daypass-approvers", Some(patch(add)))
        .await;
    assert_eq!(
        (status, refused["scimType"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalidValue"))
    );

    let actions = idp.h.actions().await;
    assert!(actions.iter().any(|a| a == "scim.group_saved"), "{actions:?}");
    let (status, _) = idp
        .call("DELETE", "/scim/v2/Groups/daypass-approvers", None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = idp.call("GET", "/scim/v2/Groups/daypass-approvers", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// Microsoft Entra ID: its create body, `"op": "Replace"` with booleans as strings, a work address
/// added by filter, the enterprise organization as the company, members added and removed by
/// value, and DELETE, which ends the account's access and makes the user gone.
async fn entra_id_provisions_with_its_quirks_and_deletes(db: Db) {
    let idp = Idp::new(db).await;
    let (status, made) = idp
        .call(
            "POST",
            "/scim/v2/Users",
            Some(json!({
                "schemas": [USER, ENTERPRISE], "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
                "userName": "Test_User_ab6490ee@contoso.example", "active": true,
                "emails": [{"primary": true, "type": "work", "value": "Test_User_fd0ea19b@contoso.example"}],
                "meta": {"resourceType": "User"}, "roles": [],
                "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
                ENTERPRISE: {"organization": "Contoso Contracting", "department": "IT"},
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let id = made["id"].as_str().unwrap().to_string();
    assert_eq!(idp.h.person(&id).await.company, "Contoso Contracting");
    let found = idp
        .find(r#"userName eq "test_user_ab6490ee@contoso.example""#)
        .await;
    assert_eq!(found["id"], id);
    let by_external = idp
        .find(r#"externalId eq "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef""#)
        .await;
    assert_eq!(by_external["id"], id);

    let operations = json!([
        {"op": "Replace", "path": "displayName", "value": "Test User"},
        {"op": "Add", "path": "emails[type eq \"work\"].value", "value": "test.user@contoso.example"},
        {"op": "Replace", "path": format!("{ENTERPRISE}:organization"), "value": "Contoso Ltd"},
        {"op": "Replace", "path": "active", "value": "False"},
    ]);
    let (status, changed) = idp
        .call("PATCH", &format!("/scim/v2/Users/{id}"), Some(patch(operations)))
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    let person = idp.h.person(&id).await;
    assert_eq!(
        (person.name.as_str(), person.email.as_str()),
        ("Test User", "test.user@contoso.example")
    );
    assert_eq!(person.company, "Contoso Ltd");
    assert!(person.disabled);
    let (status, _) = idp
        .call(
            "PATCH",
            &format!("/scim/v2/Users/{id}"),
            Some(patch(
                json!([{"op": "Replace", "path": "active", "value": "True"}]),
            )),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(!idp.h.person(&id).await.disabled);

    // A group of Entra's, with members added and removed as Entra sends them.
    let (status, group) = idp
        .call(
            "POST",
            "/scim/v2/Groups",
            Some(json!({"schemas": [GROUP], "displayName": "dba", "externalId": "g-1"})),
        )
        .await;
    assert_eq!(
        (status, group["scimType"].as_str()),
        (StatusCode::CONFLICT, Some("uniqueness")),
        "dba exists (ana is in it)"
    );
    let (status, group) = idp
        .call(
            "POST",
            "/scim/v2/Groups",
            Some(json!({"schemas": [GROUP], "displayName": "Contoso DBAs", "externalId": "g-1"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{group}");
    let gid = group["id"].as_str().unwrap().to_string();
    let add = json!([{"op": "Add", "path": "members", "value": [{"value": id}]}]);
    let (status, _) = idp
        .call("PATCH", &format!("/scim/v2/Groups/{gid}"), Some(patch(add)))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(idp.h.person(&id).await.groups.contains(&gid));
    let remove = json!([{"op": "Remove", "path": "members", "value": [{"value": id}]}]);
    let (status, _) = idp
        .call("PATCH", &format!("/scim/v2/Groups/{gid}"), Some(patch(remove)))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(!idp.h.person(&id).await.groups.contains(&gid));

    // DELETE: the user is gone; the person stays, disabled, with everything on record.
    let grant = idp.h.granted("db", "OPS-1", "1h").await;
    let (status, _) = idp.call("DELETE", "/scim/v2/Users/ana", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(idp.grant_status(grant).await, GrantStatus::Revoked);
    let (status, _) = idp.call("GET", "/scim/v2/Users/ana", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(idp.h.person("ana").await.disabled);
    let (status, list) = idp
        .call(
            "GET",
            &format!("/scim/v2/Users?filter={}", urlencode(r#"userName eq "ana""#)),
            None,
        )
        .await;
    assert_eq!((status, list["totalResults"].as_u64()), (StatusCode::OK, Some(0)));
    let actions = idp.h.actions().await;
    assert!(actions.iter().any(|a| a == "scim.user_deleted"), "{actions:?}");
}

#[tokio::test]
async fn bad_requests_get_scim_errors_that_say_what_to_fix() {
    let idp = Idp::new(Db::Sqlite).await;
    let cases = [
        (
            "GET",
            "/scim/v2/Users?filter=userName%20zz%20%22a%22".to_string(),
            None,
            400,
            Some("invalidFilter"),
        ),
        (
            "GET",
            "/scim/v2/Users?count=many".to_string(),
            None,
            400,
            Some("invalidValue"),
        ),
        (
            "POST",
            "/scim/v2/Users".to_string(),
            Some(json!({"schemas": [USER], "displayName": "no user name"})),
            400,
            Some("invalidValue"),
        ),
        (
            "POST",
            "/scim/v2/Users".to_string(),
            Some(json!({"userName": "x", "active": "perhaps"})),
            400,
            Some("invalidValue"),
        ),
        (
            "PATCH",
            "/scim/v2/Users/ana".to_string(),
            Some(patch(json!([{"op": "replace", "path": "id", "value": "x"}]))),
            400,
            Some("mutability"),
        ),
        (
            "PATCH",
            "/scim/v2/Users/ana".to_string(),
            Some(patch(json!([{"op": "add", "path": "nickName", "value": "x"}]))),
            400,
            Some("invalidPath"),
        ),
        (
            "PATCH",
            "/scim/v2/Users/nobody".to_string(),
            Some(patch(
                json!([{"op": "replace", "path": "active", "value": false}]),
            )),
            404,
            None,
        ),
        ("GET", "/scim/v2/Bulk".to_string(), None, 404, None),
        (
            "POST",
            "/scim/v2/.search".to_string(),
            Some(json!({"count": "two"})),
            400,
            Some("invalidValue"),
        ),
    ];
    for (method, uri, body, status, scim_type) in cases {
        let (got, error) = idp.call(method, &uri, body).await;
        assert_eq!(got.as_u16(), status, "{method} {uri}: {error}");
        assert_eq!(error["scimType"].as_str(), scim_type, "{method} {uri}: {error}");
        assert!(!error["detail"].as_str().unwrap().is_empty());
    }
    // Nothing half-written: the person is as before.
    assert!(!idp.h.person("ana").await.disabled);
    let raw = Request::post("/scim/v2/Users")
        .header(header::AUTHORIZATION, format!("Bearer {}", idp.token))
        .body(Body::from("{not json"))
        .unwrap();
    let (status, error, _) = send(&idp.app, raw).await;
    assert_eq!(
        (status, error["scimType"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalidSyntax"))
    );
}

#[tokio::test]
async fn lists_page_filter_and_select_attributes() {
    let idp = Idp::new(Db::Sqlite).await;
    let (status, page) = idp
        .call(
            "GET",
            "/scim/v2/Users?startIndex=2&count=2&attributes=userName,emails.value&filter=active%20eq%20true",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let total = page["totalResults"].as_u64().unwrap();
    assert_eq!(total, 6, "every seeded person: {page}");
    assert_eq!(
        (page["startIndex"].as_u64(), page["itemsPerPage"].as_u64()),
        (Some(2), Some(2))
    );
    let second = &page["Resources"][0];
    assert!(
        second.get("userName").is_some() && second.get("displayName").is_none(),
        "{second}"
    );
    assert_eq!(
        second["emails"][0].as_object().unwrap().len(),
        1,
        "only emails.value"
    );
    let (status, searched) = idp
        .call(
            "POST",
            "/scim/v2/Users/.search",
            Some(json!({"filter": "emails co \"ida@\"", "excludedAttributes": ["emails"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{searched}");
    assert_eq!(searched["totalResults"], 1);
    assert!(searched["Resources"][0].get("emails").is_none());
    let (status, both) = idp
        .call(
            "POST",
            "/scim/v2/.search",
            Some(json!({"filter": "displayName eq \"dba\" or userName eq \"ana\""})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{both}");
    let types: Vec<&str> = both["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["meta"]["resourceType"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["User", "Group"], "{both}");
    let (status, groups) = idp
        .call("GET", "/scim/v2/Groups?filter=displayName%20eq%20%22DBA%22", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(groups["Resources"][0]["members"][0]["value"], "ana");
}

/// A user name is found whichever case it is asked in, whether SCIM made the person (their user
/// name can differ from their id) or the CLI did (their id is their user name); a new user's id
/// steps past taken ones, and one the identity provider deleted comes back under its old id.
async fn user_names_are_found_in_any_case_and_new_ids_step_past_taken_ones(db: Db) {
    let idp = Idp::new(db).await;
    let create = |user_name: &str| {
        let body = json!({"schemas": [USER], "userName": user_name, "displayName": user_name});
        let idp = &idp;
        async move {
            let (status, made) = idp.call("POST", "/scim/v2/Users", Some(body)).await;
            assert_eq!(status, StatusCode::CREATED, "{made}");
            made["id"].as_str().unwrap().to_string()
        }
    };
    assert_eq!(create("lee-chen").await, "lee-chen");
    assert_eq!(
        create("Lee Chen").await,
        "lee-chen-2",
        "its id, lee-chen, is taken"
    );
    assert_eq!(create("Lee+Chen").await, "lee-chen-3");
    assert_eq!(idp.find(r#"userName eq "LEE CHEN""#).await["id"], "lee-chen-2");
    assert_eq!(idp.find(r#"userName eq "Lee-Chen""#).await["id"], "lee-chen");
    assert_eq!(
        idp.find(r#"userName eq "ANA""#).await["id"],
        "ana",
        "made on the CLI"
    );
    let (status, none) = idp
        .call(
            "GET",
            &format!(
                "/scim/v2/Users?filter={}",
                urlencode(r#"userName eq "lee-chen-2""#)
            ),
            None,
        )
        .await;
    assert_eq!(
        (status, none["totalResults"].as_u64()),
        (StatusCode::OK, Some(0)),
        "lee-chen-2 is an id, not a user name: {none}"
    );

    let (status, _) = idp.call("DELETE", "/scim/v2/Users/lee-chen", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        create("lee-chen").await,
        "lee-chen",
        "a deleted user's id comes back"
    );
    assert_eq!(idp.find(r#"userName eq "LEE-chen""#).await["id"], "lee-chen");
    assert!(
        !idp.h.person("lee-chen").await.disabled,
        "and its account is enabled again"
    );
}

crate::on_both_databases!(
    okta_provisions_links_deactivates_and_pushes_groups,
    entra_id_provisions_with_its_quirks_and_deletes,
    user_names_are_found_in_any_case_and_new_ids_step_past_taken_ones,
);
