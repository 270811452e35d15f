//! Daypass device posture: facts collected from a device, and the pure evaluation of those facts
//! against the organisation's policy and a signed baseline. The broker runs the same evaluation on
//! the facts it receives; the client shows it to the contractor.

pub mod baseline;
pub mod device_key;
pub mod evaluate;
pub mod facts;
pub mod linux;
pub mod policy;
pub mod probes;
pub mod signed_report;
pub mod system;
pub mod version;
