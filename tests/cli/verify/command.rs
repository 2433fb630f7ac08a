//! `cred verify`: every credential (or the named ones) checked
//! concurrently, each result recorded in the config and shown by `list` and
//! `show`, the worst failure as the exit code, `--json`, rate limits and
//! timeouts per check, and a missing keychain entry with its fix.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::common::*;

/// Adds generic credentials `c01`…`cNN` (unchecked) whose check path is
/// `/check/NAME`; returns their names and keys.
fn add_many(env: &TestEnv, server: &Server, n: usize) -> Vec<(String, String)> {
    (1..=n)
        .map(|i| {
            let name = format!("c{i:02}");
            let key = secret(&name);
            let check = format!("/check/{name}");
            add_generic(
                env,
                &name,
                &server.url(),
                &key,
                &["--check-path", &check, "--no-verify"],
            )
            .ok();
            (name, key)
        })
        .collect()
}

#[test]
fn verify_all_checks_twenty_concurrently_and_records_every_result() {
    let env = TestEnv::new();
    let server = Server::start(|_| Reply::json(200, "{}").delay(Duration::from_millis(300)));
    let creds = add_many(&env, &server, 20);
    assert_eq!(server.count(), 0, "--no-verify sends nothing");
    for (name, _) in &creds {
        assert_eq!(last_check(&env, name), None);
    }

    let out = env.run(&["verify", "--all"]);
    out.ok();

    // Every credential was checked once, with its own key.
    let seen = server.requests();
    assert_eq!(seen.len(), 20, "{seen:?}");
    for (name, key) in &creds {
        let hits: Vec<_> = seen
            .iter()
            .filter(|s| s.url == format!("/check/{name}"))
            .collect();
        assert_eq!(hits.len(), 1, "{name}");
        assert_eq!(
            hits[0].header("authorization"),
            Some(key.as_str()),
            "{name}"
        );
    }
    // Concurrently, 8 at a time (README: "8 at a time"), as the server saw
    // it: each check is held 300 ms, so the checks sent meanwhile overlap.
    // (Counted by the server, not timed: a loaded machine cannot fake it.)
    let overlap = server.max_in_flight();
    assert!(overlap >= 8, "at most {overlap} checks overlapped");
    assert!(
        overlap <= 8,
        "{overlap} checks overlapped; verify runs at most 8 at a time"
    );

    // One line per credential; each recorded.
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 20, "{out}");
    for (name, key) in &creds {
        assert_eq!(
            lines.iter().filter(|l| l.contains(name.as_str())).count(),
            1,
            "{name}\n{out}"
        );
        let (result, at) = last_check(&env, name).unwrap_or_else(|| panic!("{name} not recorded"));
        assert_eq!(result, "valid", "{name}");
        assert!(at.ends_with('Z'), "{at}");
        assert!(!out.all().contains(key.as_str()));
    }
    // list and show show it.
    let list = env.run(&["list"]);
    list.ok();
    assert_eq!(list.stdout.matches("valid").count(), 20, "{list}");
    let show = env.run(&["show", "c07"]);
    show.ok();
    assert!(show.stdout.contains("valid"), "{show}");
}

#[test]
fn verify_with_one_rejected_key_exits_4_and_the_json_says_which() {
    let env = TestEnv::new();
    let server = Server::start(|seen| {
        if seen.url == "/check/c03" {
            Reply::new(401, "bad key")
        } else {
            Reply::json(200, "{}")
        }
    });
    add_many(&env, &server, 5);
    let out = env.run(&["verify", "--all", "--json"]);
    out.code(4);
    let items: Vec<serde_json::Value> =
        serde_json::from_str(&out.stdout).expect("verify --json prints JSON");
    assert_eq!(items.len(), 5, "{out}");
    for item in &items {
        let name = item["name"].as_str().unwrap();
        if name == "c03" {
            assert_eq!(item["ok"], false, "{item}");
            assert_eq!(item["result"], "rejected", "{item}");
            assert_eq!(item["exit_code"], 4, "{item}");
            assert!(item["message"].as_str().unwrap().contains("401"), "{item}");
        } else {
            assert_eq!(item["ok"], true, "{item}");
            assert_eq!(item["result"], "valid", "{item}");
            assert_eq!(item["exit_code"], 0, "{item}");
        }
        assert_eq!(item["provider"], "generic");
    }
    assert_eq!(last_check(&env, "c03").unwrap().0, "rejected");
    assert_eq!(last_check(&env, "c02").unwrap().0, "valid");

    // Without --json: one line per credential, the failure marked.
    let out = env.run(&["verify"]);
    out.code(4);
    let line = out
        .stdout
        .lines()
        .find(|l| l.contains("c03"))
        .expect("a line for c03");
    assert!(line.contains("FAIL") && line.contains("rejected"), "{out}");
    assert_eq!(
        out.stdout.lines().filter(|l| l.contains("ok")).count(),
        4,
        "{out}"
    );
}

#[test]
fn verify_exits_with_the_worst_failure() {
    let env = TestEnv::new();
    let server = Server::start(|seen| match seen.url.as_str() {
        "/check/c01" => Reply::new(500, "oops"),
        "/check/c02" => Reply::new(403, "forbidden"),
        _ => Reply::json(200, "{}"),
    });
    add_many(&env, &server, 3);
    let out = env.run(&["verify", "--json"]);
    out.code(4);
    let items: Vec<serde_json::Value> = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(items[0]["result"], "unconfirmed");
    assert_eq!(items[0]["exit_code"], 3);

    // Only the unconfirmed one: 3.
    env.run(&["verify", "c01"]).code(3);
    // A network failure outranks a rejected key.
    let down = format!("http://127.0.0.1:{}", closed_port());
    add_generic(&env, "down", &down, &secret("down"), &["--no-verify"]).ok();
    let out = env.run(&["verify", "--json"]);
    out.code(5);
    let items: Vec<serde_json::Value> = serde_json::from_str(&out.stdout).unwrap();
    let down = items.iter().find(|i| i["name"] == "down").unwrap();
    assert_eq!(down["result"], "network");
    assert!(
        down["message"].as_str().unwrap().contains("refused"),
        "{down}"
    );
    assert_eq!(last_check(&env, "down").unwrap().0, "network");
}

#[test]
fn verify_names_checks_only_those_and_refuses_unknown_names() {
    let env = TestEnv::new();
    let server = Server::start(|_| Reply::json(200, "{}"));
    add_many(&env, &server, 3);
    let out = env.run(&["verify", "c02", "c02"]);
    out.ok();
    let seen = server.requests();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].url, "/check/c02");
    assert_eq!(out.stdout.lines().count(), 1, "{out}");
    assert!(last_check(&env, "c02").is_some());
    assert!(last_check(&env, "c01").is_none());

    let out = env.run(&["verify", "c01", "nope"]);
    out.code(1);
    assert!(out.stderr.contains("nope"), "{out}");
    assert_eq!(
        server.count(),
        1,
        "nothing is checked when a name is unknown"
    );

    env.run(&["verify", "c01", "--all"]).code(2);
}

#[test]
fn verify_with_nothing_stored_succeeds_and_says_so() {
    let env = TestEnv::new();
    let out = env.run(&["verify"]);
    out.ok();
    assert!(out.stderr.contains("No credentials"), "{out}");
    let out = env.run(&["verify", "--json"]);
    out.ok();
    assert_eq!(out.stdout.trim(), "[]");
}

#[test]
fn verify_waits_out_a_rate_limit_and_shows_it() {
    let env = TestEnv::new();
    let calls = AtomicUsize::new(0);
    let server = Server::start(move |_| {
        if calls.fetch_add(1, Ordering::SeqCst) == 0 {
            Reply::new(429, "slow down").header("Retry-After", "1")
        } else {
            Reply::json(200, "{}")
        }
    });
    add_many(&env, &server, 1);
    let out = env.run(&["verify", "c01"]);
    out.ok();
    assert!(out.stderr.contains("waiting 1 s"), "{out}");
    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    // The retry came after the wait (a lower bound: load only lengthens it).
    let gap = seen[1].at.duration_since(seen[0].at);
    assert!(gap >= Duration::from_secs(1), "retried after {gap:?}");
    assert_eq!(last_check(&env, "c01").unwrap().0, "valid");
}

#[test]
fn verify_times_out_a_slow_server_per_the_check_timeout() {
    let env = TestEnv::new();
    // Each answer comes 3 s after its request. A check that had not given
    // up before then would be "valid": the "network" results (and no
    // stopwatch, which a loaded machine can fool) show both gave up first.
    let server = Server::start(|_| Reply::json(200, "{}").delay(Duration::from_secs(3)));
    add_many(&env, &server, 2);
    let out = env.run_with(&["verify", "--json"], |c| {
        c.env("CRED_CHECK_TIMEOUT", "0.5");
    });
    out.code(5);
    assert_eq!(server.count(), 2);
    let items: Vec<serde_json::Value> = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(items.len(), 2, "{out}");
    for item in &items {
        assert_eq!(item["result"], "network", "{item}");
        assert!(
            item["message"]
                .as_str()
                .unwrap()
                .contains("did not answer within 0.5 s"),
            "{item}"
        );
    }
}

#[test]
fn verify_reports_a_missing_keychain_entry_with_the_fix() {
    let env = TestEnv::new();
    let server = Server::start(|_| Reply::json(200, "{}"));
    add_many(&env, &server, 1);
    // The config entry stays; the keychain entry goes (edit the config back in).
    let saved = env.config_text();
    env.run(&["remove", "c01", "--yes"]).ok();
    std::fs::write(env.config_path(), saved).unwrap();
    let out = env.run(&["verify"]);
    out.code(1);
    assert!(out.stdout.contains("cred rotate c01"), "{out}");
    assert_eq!(server.count(), 0);
}

/// The count announced is the count of rows that follow: a credential
/// whose secret is missing gets a row, so it is counted too.
#[test]
fn the_announced_count_includes_credentials_without_a_secret() {
    let server = Server::start(|_| Reply::new(200, "{}"));
    let env = TestEnv::new();
    add_many(&env, &server, 3);
    keychain_clear(&env, "c02");
    let run = env.run(&["verify", "--all"]);
    assert!(run.stderr.contains("Checking 3 credentials…"), "{run}");
    let rows = run
        .all()
        .lines()
        .filter(|l| ["c01", "c02", "c03"].iter().any(|n| l.contains(n)))
        .count();
    assert!(rows >= 3, "{run}");
    assert!(run.all().contains("cred rotate c02"), "{run}");
}
