//! Storage (SPEC §4): the add → list → show → secret → remove round trip for
//! every provider (with and without the live check), concurrent writers, a
//! config that does not parse, an unreachable keychain, a keychain entry that
//! went missing, and a config write that fails halfway through `add` or
//! `remove`.

mod concurrency;
mod config_file;
mod keychain;
mod round_trip;
