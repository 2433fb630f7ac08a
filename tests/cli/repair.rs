//! `cred doctor --fix` never loses a working key (SPEC §7 "Duplicate
//! repair"): copies of one credential holding different secrets are
//! checked against the live API and the one it accepts is kept, even when
//! another client wrote it; exact copies collapse to cred's own; when the
//! API accepts both or neither, nothing is removed and doctor exits 1
//! naming each copy. The same rules hold for the file store, whose repair
//! once removed every copy.

use std::process::Command;

use crate::common::*;
use crate::file_store::{FileEnv, chmod};

/// An API that accepts exactly the keys in `good` (as `Authorization`),
/// and refuses anything else, including no key at all.
fn api_accepting(good: Vec<String>) -> Server {
    Server::start(move |r| match r.header("authorization") {
        Some(k) if good.iter().any(|g| g == k) => Reply::json(200, "{}"),
        _ => Reply::json(401, r#"{"error":"bad key"}"#),
    })
}

#[test]
fn a_foreign_copy_holding_the_working_key_is_kept_and_creds_wrong_copy_removed() {
    let right = secret("right");
    let wrong = secret("wrong");
    let server = api_accepting(vec![right.clone()]);
    let env = TestEnv::new();
    let base = format!("{}/v1", server.url());
    // cred's own item holds a key the API rejects; another client wrote
    // the right one for the same account.
    add_generic(&env, "api", &base, &wrong, &["--no-verify"]).ok();
    secret_tool_store("cred", &account(&env, "api"), &right);
    assert_eq!(count_items("cred", &account(&env, "api")), 2);

    let run = env.run(&["doctor", "--fix", "--yes"]);
    run.ok();
    assert!(run.stderr.contains("will remove"), "{run}");
    assert!(run.stderr.contains("made by cred"), "{run}");
    assert!(run.stderr.contains("the API rejects its key"), "{run}");
    assert_eq!(count_items("cred", &account(&env, "api")), 1);
    let run = env.run(&["secret", "api"]);
    run.ok();
    assert_eq!(run.stdout, format!("{right}\n"));
    // Kept as cred's own: bound to where it goes, and it works.
    env.run(&["call", "api", "/x"]).ok();
    env.run(&["doctor"]).ok();
    assert_no_leak(&env.run(&["doctor", "--json"]), &[right, wrong]);
}

#[test]
fn creds_working_copy_is_kept_when_the_foreign_one_is_wrong() {
    let right = secret("right");
    let wrong = secret("wrong");
    let server = api_accepting(vec![right.clone()]);
    let env = TestEnv::new();
    add_generic(
        &env,
        "api",
        &format!("{}/v1", server.url()),
        &right,
        &["--no-verify"],
    )
    .ok();
    secret_tool_store("cred", &account(&env, "api"), &wrong);
    env.run(&["doctor", "--fix", "--yes"]).ok();
    assert_eq!(count_items("cred", &account(&env, "api")), 1);
    assert_eq!(env.run(&["secret", "api"]).stdout, format!("{right}\n"));
}

#[test]
fn when_the_api_accepts_both_or_neither_nothing_is_removed() {
    for both in [true, false] {
        let (a, b) = (secret("first"), secret("second"));
        let good = if both {
            vec![a.clone(), b.clone()]
        } else {
            vec![]
        };
        let server = api_accepting(good);
        let env = TestEnv::new();
        add_generic(
            &env,
            "api",
            &format!("{}/v1", server.url()),
            &a,
            &["--no-verify"],
        )
        .ok();
        secret_tool_store("cred", &account(&env, "api"), &b);
        let run = env.run(&["doctor", "--fix", "--yes"]);
        run.code(1);
        assert_eq!(count_items("cred", &account(&env, "api")), 2, "{run}");
        assert!(run.stderr.contains("1 duplicate left as it is"), "{run}");
        // Each copy is named, with who made it.
        assert!(run.stderr.contains("made by cred"), "{run}");
        assert!(run.stderr.contains("made by Python keyring"), "{run}");
        let report = json(env.run(&["doctor", "--fix", "--yes", "--json"]).code(1));
        assert_eq!(report["status"], "problems", "{report}");
        assert_eq!(
            report["unresolved"].as_array().unwrap().len(),
            1,
            "{report}"
        );
        assert_no_leak(&run, &[a.clone(), b.clone()]);
        keychain_clear(&env, "api");
    }
}

#[test]
fn exact_copies_collapse_to_creds_own_item() {
    let key = secret("same");
    let server = api_accepting(vec![key.clone()]);
    let env = TestEnv::new();
    add_generic(
        &env,
        "api",
        &format!("{}/v1", server.url()),
        &key,
        &["--no-verify"],
    )
    .ok();
    secret_tool_store("cred", &account(&env, "api"), &key);
    env.run(&["doctor", "--fix", "--yes"]).ok();
    assert_eq!(count_items("cred", &account(&env, "api")), 1);
    // The copy left is cred's: it still records where the key may go.
    let listing = items_listing("cred", &account(&env, "api"));
    assert!(listing.contains("cred_origin"), "{listing}");
    assert_eq!(server.count(), 0, "exact copies need no check");
    let report = json(env.run(&["doctor", "--json"]).ok());
    assert_eq!(report["status"], "ok", "{report}");
}

/// Re-writes the file store's plaintext with `edit` through the real `age`.
fn edit_file_store(f: &FileEnv, edit: impl FnOnce(String) -> String) {
    let plain = edit(f.age_decrypt());
    let recipient = Command::new("age-keygen")
        .arg("-y")
        .arg(&f.identity)
        .output()
        .unwrap();
    let recipient = String::from_utf8(recipient.stdout).unwrap();
    let out_path = f.store().with_extension("new");
    let child = spawn_with_stdin(
        Command::new("age")
            .args(["-r", recipient.trim(), "-o"])
            .arg(&out_path),
        &plain,
    );
    assert!(child.wait_with_output().unwrap().status.success());
    std::fs::rename(&out_path, f.store()).unwrap();
    chmod(&f.store(), 0o600);
}

/// The `[[secret]]` block of the file store's plaintext (the first one).
fn first_block(plain: &str) -> String {
    let start = plain.find("\n[[secret]]").expect("a [[secret]] block") + 1;
    let rest = &plain[start..];
    let end = rest.find("\n[[secret]]").map_or(rest.len(), |e| e + 1);
    rest[..end].trim_end().to_string()
}

#[test]
fn the_file_stores_duplicate_repair_keeps_exactly_one_copy() {
    let f = FileEnv::new();
    let key = secret("d1");
    let server = api_accepting(vec![key.clone()]);
    let base = format!("{}/v1", server.url());
    f.add(
        &[
            "generic",
            "--name",
            "d1",
            "--base-url",
            &base,
            "--no-verify",
        ],
        &key,
        &[],
    )
    .ok();
    // A merge or a restore left the same entry twice.
    edit_file_store(&f, |plain| {
        let block = first_block(&plain);
        format!("{plain}\n{block}\n")
    });
    assert_eq!(f.age_decrypt().matches("\n[[secret]]").count(), 2);
    let run = f.run(&["doctor"], &[]);
    run.code(1);
    assert!(run.stdout.contains("duplicate: `d1`"), "{run}");

    let run = f.run(&["doctor", "--fix", "--yes"], &[]);
    run.ok();
    assert_eq!(f.age_decrypt().matches("\n[[secret]]").count(), 1, "{run}");
    let run = f.run(&["secret", "d1"], &[]);
    run.ok();
    assert_eq!(run.stdout, format!("{key}\n"));
}

#[test]
fn the_file_stores_repair_keeps_the_copy_the_api_accepts() {
    let f = FileEnv::new();
    let wrong = secret("wrong");
    let right = secret("right");
    let server = api_accepting(vec![right.clone()]);
    let base = format!("{}/v1", server.url());
    f.add(
        &[
            "generic",
            "--name",
            "d1",
            "--base-url",
            &base,
            "--no-verify",
        ],
        &wrong,
        &[],
    )
    .ok();
    edit_file_store(&f, |plain| {
        let block = first_block(&plain).replace(&wrong, &right);
        format!("{plain}\n{block}\n")
    });
    // Two different keys for one credential: ambiguous, never a guess.
    let run = f.run(&["secret", "d1"], &[]);
    run.code(1);
    assert!(run.stderr.contains("several entries"), "{run}");

    f.run(&["doctor", "--fix", "--yes"], &[]).ok();
    let plain = f.age_decrypt();
    assert_eq!(plain.matches("\n[[secret]]").count(), 1);
    assert!(plain.contains(&right) && !plain.contains(&wrong));
    f.run(&["call", "d1", "/x"], &[]).ok();
}
