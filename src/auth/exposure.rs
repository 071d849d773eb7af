//! Who can reach a server without a key: nobody beyond loopback unless the operator says so.

use std::net::SocketAddr;

use crate::config::{AuthConfig, Config};
use crate::error::{AppError, AppResult};

/// Whether `config` demands a key on every protected route even while no active key exists:
/// `[auth] required`, or a non-loopback bind without `allow_unauthenticated_public` (so that
/// revoking the last key never opens a public server).
pub fn always_required(config: &Config) -> bool {
    config.auth.required
        || (!is_loopback(&config.server.bind) && !config.auth.allow_unauthenticated_public)
}

/// How a server about to listen on `bind` will treat requests without a key, given whether
/// any active key exists; an error when it would be open beyond loopback without
/// `[auth] allow_unauthenticated_public`.
pub fn check(bind: &str, auth: &AuthConfig, keys_exist: bool) -> AppResult<Exposure> {
    if auth.required || keys_exist {
        return Ok(Exposure::KeysRequired);
    }
    if is_loopback(bind) {
        return Ok(Exposure::OpenOnLoopback);
    }
    if auth.allow_unauthenticated_public {
        return Ok(Exposure::OpenToNetwork);
    }
    Err(AppError::invalid(
        "unauthenticated_public_bind",
        format!(
            "refusing to serve on {bind} without authentication: no API key exists, so anyone \
             who can reach that address could read and change everything. Create a key \
             (`constitutional-rag keys create --name admin --role admin`), bind to a loopback \
             address (server.bind = \"127.0.0.1:8080\"), or set \
             auth.allow_unauthenticated_public = true (CRAG_AUTH_ALLOW_UNAUTHENTICATED_PUBLIC=true)"
        ),
    ))
}

/// The outcome of [`check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exposure {
    /// Protected routes need a key.
    KeysRequired,
    /// No key is needed, and only this host can connect.
    OpenOnLoopback,
    /// No key is needed, on a network address, as explicitly allowed.
    OpenToNetwork,
}

impl Exposure {
    /// A line for the start-up log.
    pub fn describe(self) -> &'static str {
        match self {
            Exposure::KeysRequired => "API keys required",
            Exposure::OpenOnLoopback => {
                "no API key exists: authentication is off and the server listens on loopback only"
            }
            Exposure::OpenToNetwork => {
                "no API key exists: authentication is off on a network address \
                 (auth.allow_unauthenticated_public = true)"
            }
        }
    }
}

fn is_loopback(bind: &str) -> bool {
    bind.parse::<SocketAddr>()
        .is_ok_and(|addr| addr.ip().to_canonical().is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auth(required: bool, allow: bool) -> AuthConfig {
        AuthConfig {
            required,
            allow_unauthenticated_public: allow,
        }
    }

    #[test]
    fn loopback_may_be_open() {
        for bind in ["127.0.0.1:8080", "[::1]:0", "127.0.0.2:80"] {
            assert_eq!(
                check(bind, &auth(false, false), false).unwrap(),
                Exposure::OpenOnLoopback
            );
        }
    }

    #[test]
    fn network_without_keys_is_refused_unless_allowed() {
        for bind in ["0.0.0.0:8080", "[::]:8080", "192.168.1.10:80"] {
            let err = check(bind, &auth(false, false), false).unwrap_err();
            assert_eq!(err.code(), "unauthenticated_public_bind");
            assert!(
                err.to_string()
                    .contains("auth.allow_unauthenticated_public"),
                "{err}"
            );
            assert_eq!(
                check(bind, &auth(false, true), false).unwrap(),
                Exposure::OpenToNetwork
            );
            assert_eq!(
                check(bind, &auth(false, false), true).unwrap(),
                Exposure::KeysRequired
            );
            assert_eq!(
                check(bind, &auth(true, false), false).unwrap(),
                Exposure::KeysRequired
            );
        }
    }

    #[test]
    fn a_network_bind_never_falls_back_to_open() {
        let mut config = Config::default();
        assert!(!always_required(&config));
        config.server.bind = "0.0.0.0:8080".into();
        assert!(always_required(&config));
        config.auth.allow_unauthenticated_public = true;
        assert!(!always_required(&config));
        config.server.bind = "127.0.0.1:8080".into();
        config.auth.required = true;
        assert!(always_required(&config));
    }
}
