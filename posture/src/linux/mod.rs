//! Parsers for what the Linux probes read; pure functions over text and small trees, so captured
//! machines replay anywhere.

pub mod block;
pub mod mountinfo;
