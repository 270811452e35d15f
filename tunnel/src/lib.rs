//! The Daypass client side. Today: the session state machine (`session`), pure over events and
//! `now`, which the privileged tunnel service will drive with WireGuard and the wall clock.

pub mod session;
