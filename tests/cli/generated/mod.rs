//! Generated files cannot drift: `completions/` and `man/` must equal what
//! the clap definition produces now. `CRED_REGENERATE=1 cargo test --test
//! cli generated` rewrites them. The man pages must lint clean.

mod pages;

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn check(dir: &Path, files: Vec<(String, Vec<u8>)>) {
    let regenerate = std::env::var_os("CRED_REGENERATE").is_some();
    if regenerate {
        std::fs::create_dir_all(dir).unwrap();
    }
    let mut stale = Vec::new();
    for (name, contents) in &files {
        let path = dir.join(name);
        if std::fs::read(&path).ok().as_ref() != Some(contents) {
            if regenerate {
                std::fs::write(&path, contents).unwrap();
            } else {
                stale.push(name.clone());
            }
        }
    }
    // Nothing extra lies in the directory either.
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if !files.iter().any(|(n, _)| *n == name) {
            if regenerate {
                std::fs::remove_file(dir.join(&name)).unwrap();
            } else {
                stale.push(format!("{name} (not generated any more)"));
            }
        }
    }
    assert!(
        stale.is_empty(),
        "{} is out of date: {}\nrun `CRED_REGENERATE=1 cargo test --test cli generated` and commit the result",
        dir.display(),
        stale.join(", ")
    );
}

#[test]
fn completion_scripts_are_up_to_date() {
    check(&root().join("completions"), pages::completion_files());
}

#[test]
fn man_pages_are_up_to_date() {
    check(&root().join("man"), pages::man_files());
}

#[test]
fn man_pages_lint_clean() {
    for (name, contents) in pages::man_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(&name);
        std::fs::write(&path, &contents).unwrap();
        let out = std::process::Command::new("mandoc")
            .args(["-T", "lint", "-W", "warning"])
            .arg(&path)
            .output()
            .expect("mandoc is installed by scripts/test.sh");
        let report = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && report.trim().is_empty(),
            "{name}:\n{report}"
        );
        let out = std::process::Command::new("groff")
            .args(["-man", "-ww", "-z"])
            .arg(&path)
            .output()
            .expect("groff is installed by scripts/test.sh");
        let report = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && report.trim().is_empty(),
            "{name}:\n{report}"
        );
    }
}
