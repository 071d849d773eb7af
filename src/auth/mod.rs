//! API keys and roles: keys are random secrets shown once and stored only as a digest; each
//! has a role, and each route needs at least some role (see `api::middleware::access`).
//!
//! Authentication is on while at least one active key exists, or always when
//! `[auth] required` is set or the server listens beyond loopback (see [`exposure`]).

pub mod exposure;
mod keyring;
mod secret;

pub use keyring::{Caller, KeyRing, Rejection};
