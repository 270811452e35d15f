//! The Daypass client side: the session state machine (`session`), pure over events and `now`,
//! and the tunnel it brings up and down (`split` plans it, `interface` does it), which the
//! privileged tunnel service will drive with the wall clock.

#[cfg(unix)]
pub mod interface;
pub mod session;
pub mod split;
