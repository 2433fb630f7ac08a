//! Where credentials live: the non-secret fields in `config.toml`
//! ([`config`]), the secret in the OS keychain ([`keychain`]), and the
//! transaction that keeps the two in step ([`txn`]).

pub mod config;
pub mod keychain;
pub mod txn;

pub use config::{CheckRecord, Config, ConfigStore, Credential};
pub use keychain::{Keychain, StoreError};
