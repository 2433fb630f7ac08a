//! The other commands' errors with a hint: remove, move, rotate, verify, unlock,
//! recipients, proxy, mcp, doctor --fix, and a secret given in
//! `CRED_SECRET_<NAME>`.

use crate::common::*;

#[test]
fn remove_move_and_rotate() {
    let server = Server::start(|_| Reply::json(401, r#"{"error":"bad key"}"#));
    let env = TestEnv::new();
    add_paymo_unchecked(&env, &server);
    snap!("remove_without_yes", &env, &["remove", "paymo"]);
    snap!(
        "move_vault_mount_without_vault",
        &env,
        &["move", "paymo", "--store", "file", "--vault-mount", "team"]
    );
    snap!(
        "rotate_rejected",
        &env,
        &["rotate", "paymo", "--api-key-stdin"],
        &[paymo_env(&server)],
        stdin = &secret("rotate")
    );
}

#[test]
fn secret_from_an_empty_variable() {
    let server = ok_server();
    let env = TestEnv::new();
    add_paymo_unchecked(&env, &server);
    snap!(
        "cred_secret_variable_empty",
        &env,
        &["secret", "paymo"],
        &[("CRED_SECRET_PAYMO", String::new())]
    );
}

#[test]
fn unlock_without_a_passphrase() {
    let fs = crate::file_store::FileEnv::new();
    let none: &[(&str, String)] = &[];
    snap!(
        "unlock_nothing_to_unlock",
        &fs.env,
        &["unlock", "--passphrase-stdin"],
        none,
        stdin = "pass\n"
    );
}

#[test]
fn proxy_refusals() {
    let server = ok_server();
    let env = TestEnv::new();
    add_paymo_unchecked(&env, &server);
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let url = [paymo_env(&server)];
    snap!(
        "proxy_port_in_use",
        &env,
        &["proxy", "paymo", "--listen", &addr],
        &url
    );
    std::fs::write(env.dir.path().join("taken.sock"), "a file").unwrap();
    snap!(
        "proxy_socket_path_taken",
        &env,
        &["proxy", "paymo", "--socket", "taken.sock"],
        &url
    );
}

#[test]
fn mcp_refusals() {
    let env = TestEnv::new();
    snap!("mcp_without_names", &env, &["mcp"]);
    snap!(
        "mcp_allow_names_another",
        &env,
        &["mcp", "paymo", "--allow", "other GET /me"]
    );
}

#[test]
fn doctor_fix_without_a_terminal() {
    // A second copy of the secret under cred's name: something to fix.
    let server = ok_server();
    let env = TestEnv::new();
    add_paymo_unchecked(&env, &server);
    secret_tool_store("cred", &account(&env, "paymo"), "another key");
    // The API accepts both copies: cred cannot tell which to keep.
    let args = ["doctor", "--fix"];
    let mut run = run_env(&env, &args, &[paymo_env(&server)]);
    run.stderr = copies_in_order(&run.stderr);
    assert_run!("doctor_fix_duplicates_left", &args, run);
    snap!("secret_ambiguous", &env, &["secret", "paymo"]);
}

/// The store lists the copies of a duplicate in no fixed order: sorted
/// here, so the snapshot does not depend on it.
fn copies_in_order(text: &str) -> String {
    text.lines()
        .map(|line| match line.split_once(": `paymo`: ") {
            Some((head, copies)) => {
                let mut copies: Vec<&str> = copies.split(", paymo@").collect();
                let first = copies.remove(0);
                let mut all: Vec<String> = vec![first.to_string()];
                all.extend(copies.iter().map(|c| format!("paymo@{c}")));
                all.sort();
                format!("{head}: `paymo`: {}\n", all.join(", "))
            }
            None => format!("{line}\n"),
        })
        .collect()
}

#[test]
fn doctor_fix_needs_a_yes_without_a_terminal() {
    // The API accepts cred's key only: the other copy is to be removed.
    let key = secret("doctor");
    let accepted = basic(&key, "X");
    let server = Server::start(move |r| match r.header("authorization") {
        Some(k) if k == accepted => Reply::json(200, "{}"),
        _ => Reply::json(401, "{}"),
    });
    let env = TestEnv::new();
    env.add(&["paymo", "--no-verify"], &key, &[paymo_env(&server)])
        .ok();
    secret_tool_store("cred", &account(&env, "paymo"), "another key");
    snap!(
        "doctor_fix_without_yes",
        &env,
        &["doctor", "--fix"],
        &[paymo_env(&server)]
    );
}

#[test]
fn a_missing_secret() {
    let server = ok_server();
    let env = TestEnv::new();
    add_paymo_unchecked(&env, &server);
    keychain_clear(&env, "paymo");
    snap!("secret_missing", &env, &["secret", "paymo"]);
}

#[test]
fn verify_reports_each_failure_with_its_fix() {
    let server = Server::start(|seen| match seen.path() {
        "/v1/ok" => Reply::json(200, "{}"),
        "/v1/limited" => Reply::json(429, "{}").header("Retry-After", "3600"),
        _ => Reply::json(401, r#"{"error":"bad key"}"#),
    });
    let env = TestEnv::new();
    for (name, check) in [
        ("good", "/ok"),
        ("bad", "/nope"),
        ("gone", "/ok"),
        ("busy", "/limited"),
    ] {
        add_generic(
            &env,
            name,
            &format!("{}/v1", server.url()),
            &secret(name),
            &["--no-verify", "--check-path", check],
        )
        .ok();
    }
    keychain_clear(&env, "gone");
    snap!("verify_all", &env, &["verify", "--all"]);
    snap!("verify_one_rejected", &env, &["verify", "bad"]);
}
