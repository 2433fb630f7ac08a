//! The providers as data: the built-in catalog's checks against loopback
//! APIs (`catalog.rs`).

mod catalog;
