//! Daypass wire types shared by the broker, gateway, tunnel service and desktop app; no I/O.

pub mod api;
pub mod duration;
pub mod gateway_stream;
pub mod grant;
pub mod ipc;
pub mod pkce;
pub mod problem;
pub mod request_signature;
pub mod resource;
pub mod signed;

pub use grant::{Grant, GrantDevice, GrantedResource};
pub use problem::Problem;
pub use resource::{PortRange, Protocol};
pub use signed::{SignatureError, Signed};
