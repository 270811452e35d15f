//! SCIM filters (RFC 7644 §3.4.2.2): `userName eq "ana"`, `emails[type eq "work" and value co
//! "@acme"]`, `not (active eq false) or meta.lastModified gt "2026-01-01T00:00:00Z"`; parsed once,
//! then matched against resources. Strings compare case-insensitively unless the attribute is
//! case-exact (ids); a multi-valued attribute matches when any of its values does.

use super::resource::{resolve, Target};
use super::schema::ResourceKind;
use super::ScimError;
use serde_json::Value;
use std::cmp::Ordering;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    Compare {
        path: String,
        op: Op,
        value: Value,
    },
    Present(String),
    /// `emails[type eq "work"]`: some value of `path` matches the inner filter.
    Within(String, Box<Filter>),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Literal(Value),
    Open,
    Close,
    OpenBracket,
    CloseBracket,
}

fn tokens(text: &str) -> Result<Vec<Token>, ScimError> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some(&(at, c)) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' | '[' | ']' => {
                chars.next();
                out.push(match c {
                    '(' => Token::Open,
                    ')' => Token::Close,
                    '[' => Token::OpenBracket,
                    _ => Token::CloseBracket,
                });
            }
            '"' => {
                // A JSON string, escapes and all.
                let mut end = None;
                let mut escaped = false;
                chars.next();
                for (i, c) in chars.by_ref() {
                    match c {
                        _ if escaped => escaped = false,
                        '\\' => escaped = true,
                        '"' => {
                            end = Some(i);
                            break;
                        }
                        _ => {}
                    }
                }
                let end = end.ok_or_else(|| ScimError::invalid_filter("a string is not closed with \""))?;
                let s: String = serde_json::from_str(&text[at..=end])
                    .map_err(|_| ScimError::invalid_filter(format!("bad string {}", &text[at..=end])))?;
                out.push(Token::Literal(Value::String(s)));
            }
            _ => {
                let mut end = text.len();
                while let Some(&(i, c)) = chars.peek() {
                    if c.is_whitespace() || matches!(c, '(' | ')' | '[' | ']' | '"') {
                        end = i;
                        break;
                    }
                    chars.next();
                }
                let word = &text[at..end];
                out.push(match word.to_ascii_lowercase().as_str() {
                    "true" => Token::Literal(Value::Bool(true)),
                    "false" => Token::Literal(Value::Bool(false)),
                    "null" => Token::Literal(Value::Null),
                    _ => match word.parse::<serde_json::Number>() {
                        Ok(n) if word.starts_with(|c: char| c.is_ascii_digit() || c == '-') => {
                            Token::Literal(Value::Number(n))
                        }
                        _ => Token::Word(word.to_string()),
                    },
                });
            }
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek_word(&self) -> Option<String> {
        match self.tokens.get(self.at) {
            Some(Token::Word(w)) => Some(w.to_ascii_lowercase()),
            _ => None,
        }
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn expect(&mut self, wanted: Token, what: &str) -> Result<(), ScimError> {
        match self.next() {
            Some(t) if t == wanted => Ok(()),
            _ => Err(ScimError::invalid_filter(format!("expected {what}"))),
        }
    }

    fn or(&mut self) -> Result<Filter, ScimError> {
        let mut left = self.and()?;
        while self.peek_word().as_deref() == Some("or") {
            self.at += 1;
            left = Filter::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Filter, ScimError> {
        let mut left = self.unary()?;
        while self.peek_word().as_deref() == Some("and") {
            self.at += 1;
            left = Filter::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Filter, ScimError> {
        if self.peek_word().as_deref() == Some("not") {
            self.at += 1;
            self.expect(Token::Open, "( after not")?;
            let inner = self.or()?;
            self.expect(Token::Close, ")")?;
            return Ok(Filter::Not(Box::new(inner)));
        }
        match self.next() {
            Some(Token::Open) => {
                let inner = self.or()?;
                self.expect(Token::Close, ")")?;
                Ok(inner)
            }
            Some(Token::Word(path)) => self.after_path(path),
            _ => Err(ScimError::invalid_filter("expected an attribute, ( or not")),
        }
    }

    fn after_path(&mut self, path: String) -> Result<Filter, ScimError> {
        if self.tokens.get(self.at) == Some(&Token::OpenBracket) {
            self.at += 1;
            let inner = self.or()?;
            self.expect(Token::CloseBracket, "]")?;
            return Ok(Filter::Within(path, Box::new(inner)));
        }
        let op = self
            .peek_word()
            .ok_or_else(|| ScimError::invalid_filter(format!("expected an operator after {path}")))?;
        self.at += 1;
        let op = match op.as_str() {
            "pr" => return Ok(Filter::Present(path)),
            "eq" => Op::Eq,
            "ne" => Op::Ne,
            "co" => Op::Co,
            "sw" => Op::Sw,
            "ew" => Op::Ew,
            "gt" => Op::Gt,
            "ge" => Op::Ge,
            "lt" => Op::Lt,
            "le" => Op::Le,
            other => return Err(ScimError::invalid_filter(format!("unknown operator {other:?}"))),
        };
        match self.next() {
            Some(Token::Literal(value)) => Ok(Filter::Compare { path, op, value }),
            _ => Err(ScimError::invalid_filter(format!(
                "expected a value after {path}"
            ))),
        }
    }
}

impl Filter {
    pub fn parse(text: &str) -> Result<Filter, ScimError> {
        let mut parser = Parser {
            tokens: tokens(text)?,
            at: 0,
        };
        let filter = parser.or()?;
        if parser.at < parser.tokens.len() {
            return Err(ScimError::invalid_filter(format!(
                "unexpected text after the filter in {text:?}"
            )));
        }
        Ok(filter)
    }

    /// Whether `resource` (of `kind`) matches. An attribute the schemas do not know matches nothing.
    pub fn matches(&self, kind: ResourceKind, resource: &Value) -> bool {
        match self {
            Filter::And(a, b) => a.matches(kind, resource) && b.matches(kind, resource),
            Filter::Or(a, b) => a.matches(kind, resource) || b.matches(kind, resource),
            Filter::Not(a) => !a.matches(kind, resource),
            Filter::Present(path) => values(kind, resource, path)
                .iter()
                .any(|v| !v.is_null() && v != &Value::String(String::new())),
            Filter::Compare { path, op, value } => {
                let case_exact = case_exact(kind, path);
                values(kind, resource, path)
                    .iter()
                    .any(|have| compare(have, *op, value, case_exact))
            }
            Filter::Within(path, inner) => element_values(kind, resource, path)
                .iter()
                .any(|element| inner.matches_element(kind, element, path)),
        }
    }

    /// An inner filter of `path[…]` against one element of that attribute.
    pub fn matches_element(&self, kind: ResourceKind, element: &Value, path: &str) -> bool {
        match self {
            Filter::And(a, b) => {
                a.matches_element(kind, element, path) && b.matches_element(kind, element, path)
            }
            Filter::Or(a, b) => {
                a.matches_element(kind, element, path) || b.matches_element(kind, element, path)
            }
            Filter::Not(a) => !a.matches_element(kind, element, path),
            Filter::Present(sub) => super::member(element, sub).is_some_and(|v| !v.is_null()),
            Filter::Compare { path: sub, op, value } => {
                let exact = case_exact(kind, &format!("{path}.{sub}"));
                super::member(element, sub).is_some_and(|have| compare(have, *op, value, exact))
            }
            Filter::Within(..) => false,
        }
    }

    /// The user name a users' filter asks for when it is `userName eq "…"` and nothing else (how
    /// identity providers look a user up), so a list can read just the people it may be of.
    pub fn user_name_eq(&self) -> Option<&str> {
        match self {
            Filter::Compare {
                path,
                op: Op::Eq,
                value: Value::String(name),
            } => match resolve(ResourceKind::User, path) {
                Ok(Some(Target::Attr {
                    extension: None,
                    attr,
                    sub: None,
                })) if attr.name == "userName" => Some(name),
                _ => None,
            },
            _ => None,
        }
    }

    /// The sub-attribute values a simple `[sub eq "x" and …]` filter names, to make an element of
    /// when a PATCH targets one that does not exist yet (`emails[type eq "work"].value`).
    pub fn equalities(&self) -> Option<Vec<(String, Value)>> {
        match self {
            Filter::Compare {
                path,
                op: Op::Eq,
                value,
            } => Some(vec![(path.clone(), value.clone())]),
            Filter::And(a, b) => {
                let mut all = a.equalities()?;
                all.extend(b.equalities()?);
                Some(all)
            }
            _ => None,
        }
    }
}

fn case_exact(kind: ResourceKind, path: &str) -> bool {
    match resolve(kind, path) {
        Ok(Some(target)) => target.case_exact(),
        // id, externalId and meta.* are the service's or the client's own identifiers.
        Ok(None) => true,
        Err(_) => false,
    }
}

/// The elements of a (complex) attribute at `path`.
fn element_values(kind: ResourceKind, resource: &Value, path: &str) -> Vec<Value> {
    match resolve(kind, path) {
        Ok(Some(target @ Target::Attr { attr, sub: None, .. })) => {
            match target.holder(resource).and_then(|h| h.get(attr.name)) {
                Some(Value::Array(items)) => items.clone(),
                Some(v) => vec![v.clone()],
                None => vec![],
            }
        }
        _ => vec![],
    }
}

/// Every value at `path` in `resource` (each element's, for a multi-valued attribute).
fn values(kind: ResourceKind, resource: &Value, path: &str) -> Vec<Value> {
    match resolve(kind, path) {
        Ok(Some(target @ Target::Attr { attr, sub, .. })) => {
            let Some(v) = target.holder(resource).and_then(|h| h.get(attr.name)) else {
                return vec![];
            };
            let items: Vec<&Value> = match v {
                Value::Array(items) => items.iter().collect(),
                one => vec![one],
            };
            match sub {
                Some(sub) => items.iter().filter_map(|i| i.get(sub.name)).cloned().collect(),
                // `emails eq "x"` means the elements' value.
                None if attr.sub.is_empty() => items.into_iter().cloned().collect(),
                None => items.iter().filter_map(|i| i.get("value")).cloned().collect(),
            }
        }
        Ok(Some(Target::Extension(_))) | Err(_) => vec![],
        Ok(None) => {
            let mut at = resource;
            for part in path.split('.') {
                match super::member(at, part) {
                    Some(next) => at = next,
                    None => return vec![],
                }
            }
            vec![at.clone()]
        }
    }
}

fn compare(have: &Value, op: Op, want: &Value, case_exact: bool) -> bool {
    match (have, want) {
        (Value::String(h), Value::String(w)) => {
            let (h, w) = if case_exact {
                (h.clone(), w.clone())
            } else {
                (h.to_lowercase(), w.to_lowercase())
            };
            match op {
                Op::Eq => h == w,
                Op::Ne => h != w,
                Op::Co => h.contains(&w),
                Op::Sw => h.starts_with(&w),
                Op::Ew => h.ends_with(&w),
                // Dates in RFC 3339 with the same offset order as strings do.
                Op::Gt => h.cmp(&w) == Ordering::Greater,
                Op::Ge => h.cmp(&w) != Ordering::Less,
                Op::Lt => h.cmp(&w) == Ordering::Less,
                Op::Le => h.cmp(&w) != Ordering::Greater,
            }
        }
        (Value::Bool(h), Value::Bool(w)) => match op {
            Op::Eq => h == w,
            Op::Ne => h != w,
            _ => false,
        },
        (Value::Number(h), Value::Number(w)) => {
            let (h, w) = (h.as_f64().unwrap_or(f64::NAN), w.as_f64().unwrap_or(f64::NAN));
            match op {
                Op::Eq => h == w,
                Op::Ne => h != w,
                Op::Gt => h > w,
                Op::Ge => h >= w,
                Op::Lt => h < w,
                Op::Le => h <= w,
                _ => false,
            }
        }
        (_, Value::Null) => matches!(op, Op::Ne) != have.is_null(),
        _ => matches!(op, Op::Ne),
    }
}

#[cfg(test)]
mod tests {
    use super::super::schema::{ENTERPRISE_USER, USER};
    use super::*;
    use serde_json::json;

    fn ana() -> Value {
        json!({
            "id": "ana", "userName": "Ana@Acme.example", "active": true, "externalId": "E-1",
            "emails": [{"value": "ana@acme.example", "type": "work"}, {"value": "ana@home.example", "type": "home"}],
            ENTERPRISE_USER: {"organization": "Acme"},
            "meta": {"lastModified": "2026-12-01T10:00:00Z"},
        })
    }

    fn matches(filter: &str) -> bool {
        Filter::parse(filter).unwrap().matches(ResourceKind::User, &ana())
    }

    #[test]
    fn a_lone_user_name_equality_is_known_for_a_lookup() {
        let name = |f: &str| Filter::parse(f).unwrap().user_name_eq().map(str::to_string);
        assert_eq!(name(r#"userName eq "Ana@Acme""#), Some("Ana@Acme".into()));
        assert_eq!(name(r#"USERNAME eq "ana""#), Some("ana".into()));
        assert_eq!(name(&format!(r#"{USER}:userName eq "ana""#)), Some("ana".into()));
        for other in [
            r#"userName ne "ana""#,
            r#"userName sw "ana""#,
            r#"displayName eq "ana""#,
            r#"userName eq "ana" or userName eq "ben""#,
            r#"not (userName eq "ana")"#,
        ] {
            assert_eq!(name(other), None, "{other}");
        }
    }

    #[test]
    fn filters_match_as_rfc_7644_says() {
        assert!(
            matches(r#"userName eq "ana@acme.example""#),
            "names compare in any case"
        );
        assert!(!matches(r#"id eq "ANA""#), "ids compare exactly");
        assert!(matches(r#"externalId eq "E-1" and active eq true"#));
        assert!(matches(r#"emails[type eq "work" and value co "@acme"]"#));
        assert!(!matches(r#"emails[type eq "work" and value co "@home"]"#));
        assert!(matches(r#"emails.value ew "home.example""#), "any of the values");
        assert!(matches(r#"not (active eq false) or userName sw "x""#));
        assert!(matches(&format!(r#"{ENTERPRISE_USER}:organization eq "acme""#)));
        assert!(matches(r#"meta.lastModified gt "2026-11-30T00:00:00Z""#));
        assert!(!matches("title pr") && matches("emails pr"));
        assert!(matches(
            r#"(userName eq "x" or displayName eq "y") or userName Eq "ANA@acme.example""#
        ));
    }

    #[test]
    fn a_malformed_filter_is_refused_saying_what_is_wrong() {
        for bad in [
            r#"userName eq"#,
            r#"userName xx "a""#,
            r#"(userName eq "a""#,
            r#"userName eq "a" extra"#,
            r#"userName eq "open"#,
        ] {
            let e = Filter::parse(bad).unwrap_err();
            assert_eq!(e.scim_type, Some("invalidFilter"), "{bad}: {e}");
        }
    }

    #[test]
    fn a_simple_value_filter_names_the_element_to_make() {
        let f = Filter::parse(r#"type eq "work" and primary eq true"#).unwrap();
        assert_eq!(
            f.equalities(),
            Some(vec![
                ("type".into(), json!("work")),
                ("primary".into(), json!(true))
            ])
        );
        assert_eq!(Filter::parse(r#"type co "w""#).unwrap().equalities(), None);
    }
}
