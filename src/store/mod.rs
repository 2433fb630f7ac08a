//! Where credentials live: the non-secret fields in `config.toml`
//! ([`config`]), the secret in the OS keychain ([`keychain`]).

pub mod config;
pub mod keychain;

pub use config::{CheckRecord, Config, ConfigStore, Credential};
pub use keychain::Keychain;
