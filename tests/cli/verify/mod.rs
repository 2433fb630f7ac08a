//! Live checks (SPEC §1, §2, §3) against real loopback servers: the request
//! each provider's check sends (path, exact auth bytes, headers), how every
//! kind of answer is classified and which exit code it gives, that a failed
//! check on `add` stores nothing, `verify` (concurrent, recorded in the
//! config, worst exit code, JSON), `rotate` (the new key is checked before
//! the old one is replaced), redirects (the key never crosses to another
//! origin) and TLS (certificates are verified).
//!
//! One module per concern; this file holds what they share.

mod answers;
mod command;
mod redirects;
mod requests;
mod rotate;
mod state;
mod tls;

/// The request of a Paligo check (instance `acme`): path and query.
const FOLDERS: &str = "/acme/api/v2/folders?per_page=1";
