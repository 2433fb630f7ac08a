//! The integration tests: one binary, one module per command or concern.
//! Every test drives the real `cred` binary in a sealed environment
//! ([`common::TestEnv`]) against a real Secret Service (started by
//! `scripts/test.sh`) and real HTTP servers on 127.0.0.1.

mod common;

mod add;
mod call;
mod completion;
mod generated;
mod security;
mod storage;
mod verify;
mod wizard;

/// Every `.rs` file in this directory is a module of this binary, so no
/// test file is silently left out.
#[test]
fn no_test_file_is_forgotten() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cli");
    let main = std::fs::read_to_string(dir.join("main.rs")).unwrap();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let stem = path.file_stem().unwrap().to_str().unwrap().to_string();
        if stem == "main" {
            continue;
        }
        assert!(
            main.contains(&format!("mod {stem};")),
            "tests/cli/{stem} is not declared in tests/cli/main.rs"
        );
    }
}
