//! Docs that match the binary (issue 26): every environment variable the
//! code reads is in `man/cred.1` (ENVIRONMENT) and the README; help and
//! man pages do not say "the OS keychain" where the store may be a file or
//! Vault.

use std::path::{Path, PathBuf};

/// Read by the tests only (debug builds), or known to every shell.
const UNDOCUMENTED: &[&str] = &[
    "CRED_TEST_PANIC",
    "CRED_TEST_FAIL_CONFIG_WRITE",
    "CRED_TEST_NO_KERNEL_KEYRING",
    "CRED_TEST_QUICK_READ_ONLY",
    "HOME",
    "CARGO_PKG_VERSION",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The string literal that starts right after `prefix` in `line`.
fn literal_after<'l>(line: &'l str, prefix: &str) -> Vec<&'l str> {
    let mut found = Vec::new();
    let mut rest = line;
    while let Some(i) = rest.find(prefix) {
        rest = &rest[i + prefix.len()..];
        if let Some(end) = rest.find('"') {
            found.push(&rest[..end]);
        }
    }
    found
}

fn is_var_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars().next().unwrap().is_ascii_uppercase()
        && s.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

/// Every variable `src/` reads: `env::var("X")`, `var_os("X")`, constants
/// named `…_ENV`, clap's `env = "X"`, and the names in the lists the
/// Vault store and the proxy setting read (`"VAULT_…"`, `"BAO_…"`,
/// `"…_PROXY"`).
fn variables_read() -> Vec<String> {
    let mut files = Vec::new();
    rust_files(&root().join("src"), &mut files);
    let mut vars = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        for line in text.lines() {
            let mut names = Vec::new();
            for prefix in ["var(\"", "var_os(\"", "env = \""] {
                names.extend(literal_after(line, prefix));
            }
            let code = line.trim_start();
            if (code.starts_with("const ") || code.starts_with("pub const "))
                && code.contains("_ENV: &str = \"")
            {
                names.extend(literal_after(line, "= \""));
            }
            for lit in literal_after(line, "\"") {
                if lit.starts_with("VAULT_") || lit.starts_with("BAO_") || lit.ends_with("_PROXY") {
                    names.push(lit);
                }
            }
            for n in names {
                if is_var_name(n) && !UNDOCUMENTED.contains(&n) && !vars.iter().any(|v| v == n) {
                    vars.push(n.to_string());
                }
            }
        }
    }
    vars.sort();
    vars
}

#[test]
fn every_variable_the_code_reads_is_in_the_man_page_and_the_readme() {
    let vars = variables_read();
    // The scan itself works: it finds variables of each kind.
    for expected in [
        "CRED_STORE",
        "CRED_STORE_TIMEOUT",
        "CRED_IDENTITY",
        "CRED_IDENTITY_FILE",
        "CRED_FILE_STORE",
        "CRED_UNLOCK_TTL",
        "CRED_CONFIG_DIR",
        "VAULT_ADDR",
        "BAO_TOKEN",
        "XDG_STATE_HOME",
        "HTTPS_PROXY",
    ] {
        assert!(
            vars.iter().any(|v| v == expected),
            "{expected} not found in src/: {vars:?}"
        );
    }
    let man = std::fs::read_to_string(root().join("man/cred.1")).unwrap();
    let environment = man
        .split(".SH ENVIRONMENT")
        .nth(1)
        .and_then(|s| s.split(".SH ").next())
        .expect("man/cred.1 has an ENVIRONMENT section");
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let env_section = readme
        .split("\n## Environment\n")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("README.md has an Environment section");
    let mut missing = Vec::new();
    for var in vars
        .iter()
        .map(String::as_str)
        .chain(["CRED_SECRET_<NAME>", "CRED_PROVIDER_URL_<ID>"])
    {
        if !environment.contains(var) {
            missing.push(format!("{var} (man/cred.1 ENVIRONMENT)"));
        }
        if !env_section.contains(&format!("`{var}`")) {
            missing.push(format!("{var} (README.md, Environment)"));
        }
    }
    assert!(missing.is_empty(), "undocumented variables: {missing:#?}");
}

#[test]
fn help_and_man_pages_do_not_call_every_store_the_keychain() {
    let mut bad = Vec::new();
    for e in std::fs::read_dir(root().join("man")).unwrap() {
        let p = e.unwrap().path();
        let text = std::fs::read_to_string(&p).unwrap();
        for line in text.lines() {
            let l = line.to_lowercase();
            // The keychain by name is fine where it is one store among
            // others (the --store values, FILES); "never the keychain" or
            // "store in the keychain" for every store is not.
            if l.contains("never the keychain")
                || l.contains("in the keychain")
                || (l.contains("the os keychain is") && !l.contains("file"))
            {
                bad.push(format!("{}: {line}", p.display()));
            }
        }
    }
    assert!(bad.is_empty(), "{bad:#?}");
}
