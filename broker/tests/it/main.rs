//! Integration tests of the broker: service scenarios on SQLite and PostgreSQL, the HTTP API through
//! the router and a real TLS listener, ticket connectors against a local ticket server, audit tamper.

#![allow(clippy::unwrap_used)]

mod anomaly;
mod api;
mod audit;
mod connectors;
mod console;
mod emergency;
mod listener;
mod mmdb;
mod passkeys;
mod posture;
mod reviews;
mod scenarios;
mod scim;
mod siem;
mod support;
mod verification;
