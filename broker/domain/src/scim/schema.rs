//! The schemas Daypass publishes (`/Schemas`): the attributes of a user and a group it keeps, the
//! enterprise extension's organization, and Daypass's own extension (company, contract end).
//! Everything else an identity provider sends is ignored, and the same tables drive checking input,
//! PATCH paths, filters and attribute selection.

use serde_json::{json, Value};

pub const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
pub const ENTERPRISE_USER: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const DAYPASS_USER: &str = "urn:daypass:params:scim:schemas:extension:daypass:2.0:User";
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
pub const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const SEARCH_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String,
    Boolean,
    DateTime,
    Reference,
    Complex,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutability {
    ReadOnly,
    ReadWrite,
    Immutable,
}

/// One attribute as RFC 7643 §7 describes it.
#[derive(Debug)]
pub struct Attr {
    pub name: &'static str,
    pub kind: Kind,
    pub multi: bool,
    pub required: bool,
    pub case_exact: bool,
    pub mutability: Mutability,
    pub unique: bool,
    pub sub: &'static [Attr],
    pub canonical: &'static [&'static str],
    pub references: &'static [&'static str],
    pub description: &'static str,
}

const fn attr(name: &'static str, kind: Kind, description: &'static str) -> Attr {
    Attr {
        name,
        kind,
        multi: false,
        required: false,
        case_exact: false,
        mutability: Mutability::ReadWrite,
        unique: false,
        sub: &[],
        canonical: &[],
        references: &[],
        description,
    }
}

impl Attr {
    const fn multi(mut self) -> Self {
        self.multi = true;
        self
    }
    const fn required(mut self) -> Self {
        self.required = true;
        self
    }
    const fn unique(mut self) -> Self {
        self.unique = true;
        self
    }
    const fn case_exact(mut self) -> Self {
        self.case_exact = true;
        self
    }
    const fn read_only(mut self) -> Self {
        self.mutability = Mutability::ReadOnly;
        self
    }
    const fn immutable(mut self) -> Self {
        self.mutability = Mutability::Immutable;
        self
    }
    const fn with(mut self, sub: &'static [Attr]) -> Self {
        self.sub = sub;
        self
    }
    const fn canonical(mut self, values: &'static [&'static str]) -> Self {
        self.canonical = values;
        self
    }
    const fn references(mut self, types: &'static [&'static str]) -> Self {
        self.references = types;
        self
    }

    /// The sub-attribute named `name` (any case).
    pub fn sub_attr(&self, name: &str) -> Option<&'static Attr> {
        self.sub.iter().find(|a| a.name.eq_ignore_ascii_case(name))
    }

    fn describe(&self) -> Value {
        let kind = match self.kind {
            Kind::String => "string",
            Kind::Boolean => "boolean",
            Kind::DateTime => "dateTime",
            Kind::Reference => "reference",
            Kind::Complex => "complex",
        };
        let mutability = match self.mutability {
            Mutability::ReadOnly => "readOnly",
            Mutability::ReadWrite => "readWrite",
            Mutability::Immutable => "immutable",
        };
        let mut out = json!({
            "name": self.name, "type": kind, "multiValued": self.multi, "description": self.description,
            "required": self.required, "caseExact": self.case_exact, "mutability": mutability,
            "returned": "default", "uniqueness": if self.unique { "server" } else { "none" },
        });
        if !self.sub.is_empty() {
            out["subAttributes"] = self.sub.iter().map(Attr::describe).collect();
        }
        if !self.canonical.is_empty() {
            out["canonicalValues"] = json!(self.canonical);
        }
        if !self.references.is_empty() {
            out["referenceTypes"] = json!(self.references);
        }
        out
    }
}

/// A schema: its URN, name and attributes.
#[derive(Debug)]
pub struct Schema {
    pub id: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub attrs: &'static [Attr],
}

impl Schema {
    /// The attribute named `name` (any case).
    pub fn attr(&self, name: &str) -> Option<&'static Attr> {
        self.attrs.iter().find(|a| a.name.eq_ignore_ascii_case(name))
    }

    /// The schema as `/Schemas` serves it.
    pub fn describe(&self) -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
            "id": self.id, "name": self.name, "description": self.description,
            "attributes": self.attrs.iter().map(Attr::describe).collect::<Vec<_>>(),
            "meta": { "resourceType": "Schema" },
        })
    }
}

const EMAIL: &[Attr] = &[
    attr("value", Kind::String, "The email address."),
    attr("type", Kind::String, "work, home or other.").canonical(&["work", "home", "other"]),
    attr("primary", Kind::Boolean, "The address mail goes to."),
];
const NAME: &[Attr] = &[
    attr("formatted", Kind::String, "The full name, as displayed."),
    attr("familyName", Kind::String, "The family name."),
    attr("givenName", Kind::String, "The given name."),
];
const USER_GROUP: &[Attr] = &[
    attr("value", Kind::String, "The group's id.").read_only(),
    attr("$ref", Kind::Reference, "The group's URI.")
        .read_only()
        .references(&["Group"]),
    attr("display", Kind::String, "The group's name.").read_only(),
];

pub static USER_SCHEMA: Schema = Schema {
    id: USER,
    name: "User",
    description: "A person Daypass knows: a contractor unless a group mapped to a role says otherwise.",
    attrs: &[
        attr("userName", Kind::String, "Unique name the identity provider signs the person in with; Daypass's person id is made from it.")
            .required()
            .unique(),
        attr("name", Kind::Complex, "The person's name.").with(NAME),
        attr("displayName", Kind::String, "The name shown to approvers and helpdesk."),
        attr("emails", Kind::Complex, "Email addresses; the primary one is the person's.").multi().with(EMAIL),
        attr("active", Kind::Boolean, "false disables the account and ends every live grant at once."),
        attr("groups", Kind::Complex, "The Daypass groups the person is in (set through Groups).")
            .multi()
            .read_only()
            .with(USER_GROUP),
    ],
};

pub static ENTERPRISE_SCHEMA: Schema = Schema {
    id: ENTERPRISE_USER,
    name: "EnterpriseUser",
    description:
        "Enterprise user: the organization is the person's company when Daypass's extension names none.",
    attrs: &[
        attr(
            "organization",
            Kind::String,
            "The person's organization (their company).",
        ),
        attr("department", Kind::String, "The person's department."),
    ],
};

pub static DAYPASS_SCHEMA: Schema = Schema {
    id: DAYPASS_USER,
    name: "DaypassUser",
    description: "What Daypass needs of a contractor: the company and when the contract ends.",
    attrs: &[
        attr(
            "company",
            Kind::String,
            "The contractor's company (emergency stops and reports use it).",
        ),
        attr(
            "contractEnd",
            Kind::DateTime,
            "When the contract ends: the account and every grant end then, and no grant outlasts it.",
        ),
    ],
};

const MEMBER: &[Attr] = &[
    attr("value", Kind::String, "The member's user id.")
        .immutable()
        .case_exact(),
    attr("$ref", Kind::Reference, "The member's URI.")
        .immutable()
        .references(&["User"]),
];

pub static GROUP_SCHEMA: Schema = Schema {
    id: GROUP,
    name: "Group",
    description: "A Daypass group: entitlements name it (group:ID); its id stays what it was made as when it is renamed.",
    attrs: &[
        attr("displayName", Kind::String, "The group's name in the identity provider.").required().unique(),
        attr("members", Kind::Complex, "The users in the group.").multi().with(MEMBER),
    ],
};

/// Every schema served, for `/Schemas`.
pub fn all() -> [&'static Schema; 4] {
    [&USER_SCHEMA, &ENTERPRISE_SCHEMA, &DAYPASS_SCHEMA, &GROUP_SCHEMA]
}

/// A kind of resource: its core schema and extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    User,
    Group,
}

impl ResourceKind {
    pub fn core(self) -> &'static Schema {
        match self {
            ResourceKind::User => &USER_SCHEMA,
            ResourceKind::Group => &GROUP_SCHEMA,
        }
    }

    pub fn extensions(self) -> &'static [&'static Schema] {
        static USER_EXTENSIONS: [&Schema; 2] = [&ENTERPRISE_SCHEMA, &DAYPASS_SCHEMA];
        match self {
            ResourceKind::User => &USER_EXTENSIONS,
            ResourceKind::Group => &[],
        }
    }

    /// The extension whose URN is `urn` (any case).
    pub fn extension(self, urn: &str) -> Option<&'static Schema> {
        self.extensions()
            .iter()
            .copied()
            .find(|s| s.id.eq_ignore_ascii_case(urn))
    }

    pub fn name(self) -> &'static str {
        match self {
            ResourceKind::User => "User",
            ResourceKind::Group => "Group",
        }
    }

    pub fn endpoint(self) -> &'static str {
        match self {
            ResourceKind::User => "Users",
            ResourceKind::Group => "Groups",
        }
    }

    /// The resource type as `/ResourceTypes` serves it.
    pub fn describe(self) -> Value {
        let extensions: Vec<Value> = self
            .extensions()
            .iter()
            .map(|s| json!({ "schema": s.id, "required": false }))
            .collect();
        let mut out = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": self.name(), "name": self.name(), "endpoint": format!("/{}", self.endpoint()),
            "description": self.core().description, "schema": self.core().id,
            "meta": { "resourceType": "ResourceType" },
        });
        if !extensions.is_empty() {
            out["schemaExtensions"] = Value::Array(extensions);
        }
        out
    }
}

/// Most resources one list answer carries.
pub const MAX_RESULTS: usize = 200;

/// `/ServiceProviderConfig`: what is supported (filters, PATCH) and what is not (bulk, sort,
/// ETags, password changes), and the bearer token to authenticate with.
pub fn service_provider_config() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": "https://daypass.invalid/docs/scim",
        "patch": { "supported": true },
        "bulk": { "supported": false, "maxOperations": 0, "maxPayloadSize": 0 },
        "filter": { "supported": true, "maxResults": MAX_RESULTS },
        "changePassword": { "supported": false },
        "sort": { "supported": false },
        "etag": { "supported": false },
        "authenticationSchemes": [{
            "type": "oauthbearertoken", "name": "Daypass SCIM token", "primary": true,
            "description": "A bearer token made with `daypass-broker admin scim-token issue NAME`; it opens /scim/v2 and nothing else.",
        }],
        "meta": { "resourceType": "ServiceProviderConfig" },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_describe_their_attributes_as_rfc_7643_says() {
        let user = USER_SCHEMA.describe();
        let user_name = &user["attributes"][0];
        assert_eq!(user_name["name"], "userName");
        assert_eq!(user_name["required"], true);
        assert_eq!(user_name["uniqueness"], "server");
        let emails = &user["attributes"][3];
        assert_eq!(emails["multiValued"], true);
        assert_eq!(emails["subAttributes"][1]["canonicalValues"][0], "work");
        assert_eq!(
            ResourceKind::User.describe()["schemaExtensions"][1]["schema"],
            DAYPASS_USER
        );
        assert!(ResourceKind::Group.describe().get("schemaExtensions").is_none());
        assert_eq!(USER_SCHEMA.attr("USERNAME").unwrap().name, "userName");
    }
}
