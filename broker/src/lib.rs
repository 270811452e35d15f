//! Daypass access broker: the control plane that decides who may reach what, for how long, and records why.

pub mod clock;
pub mod domain;
pub mod store;
