//! The integration tests: one binary, one module per command or concern
//! (a folder of modules where a concern is large). Every test drives the
//! real `cred` binary in a sealed environment ([`common::TestEnv`]) against
//! a real Secret Service (started by `scripts/test.sh`) and real HTTP
//! servers on 127.0.0.1.

mod common;

mod add;
mod add_recovery;
mod boundary;
mod call;
mod ci_mode;
mod completion;
mod docs;
mod doctor;
mod everyday;
mod exec;
mod exec_jobs;
pub mod file_store;
mod format_chars;
mod foundations;
mod generated;
mod honest;
mod hostile;
mod keychain_read;
mod masking;
mod mcp;
mod providers;
mod proxy;
mod repair;
mod security;
mod snapshots;
mod storage;
mod stores;
mod trust;
mod usage;
mod vault;
mod verify;
mod wizard;

use std::path::Path;

/// Every `.rs` file and every folder in this directory is a module of this
/// binary, and so is every file in each folder (declared in its `mod.rs`),
/// so no test file is silently left out.
#[test]
fn no_test_file_is_forgotten() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cli");
    let checked = assert_all_declared(&dir, "main.rs");
    // The walk does go into the folders.
    assert!(
        checked.iter().any(|p| p.ends_with("common/mod.rs")),
        "tests/cli/common/mod.rs was not checked: {checked:?}"
    );
}

/// Every entry of `dir` but `root` (`main.rs` or `mod.rs`) is declared with
/// `mod NAME;` in `root`; a folder must have a `mod.rs`, which is checked
/// the same way. Returns every module root it read.
fn assert_all_declared(dir: &Path, root: &str) -> Vec<std::path::PathBuf> {
    let root_path = dir.join(root);
    let text = std::fs::read_to_string(&root_path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", root_path.display()));
    let mut checked = vec![root_path.clone()];
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if name == root {
            continue;
        }
        // insta's `snapshots/` folders hold `.snap` files, not modules.
        if path.is_dir() && !has_rust_files(&path) {
            continue;
        }
        let stem = path.file_stem().unwrap().to_str().unwrap().to_string();
        assert!(
            text.contains(&format!("mod {stem};")),
            "{} is not declared in {}",
            path.display(),
            root_path.display()
        );
        if path.is_dir() {
            checked.extend(assert_all_declared(&path, "mod.rs"));
        }
    }
    checked
}

fn has_rust_files(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .unwrap()
        .any(|e| e.unwrap().path().extension().is_some_and(|x| x == "rs"))
}
