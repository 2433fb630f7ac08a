//! Storage (SPEC §4): the add → list → show → secret → remove round trip for
//! every provider (with and without the live check), concurrent writers, a
//! config that does not parse, an unreachable keychain, a keychain entry that
//! went missing, and a config write that fails halfway through `add` or
//! `remove`.

use std::io::Write as _;
use std::process::Stdio;

use serde_json::Value;

use crate::common::*;

// ---------------------------------------------------------------------------
// The round trip.

/// What one credential should look like once stored.
struct Expect<'a> {
    name: &'a str,
    provider: &'a str,
    target: &'a str,
    /// `show --json` `fields` entries.
    fields: &'a [(&'a str, &'a str)],
    description: Option<&'a str>,
    /// `last_check.result`, or None when added with --no-verify.
    check: Option<&'a str>,
}

/// add → list → list --json → show → show --json → secret → remove, with
/// the independent keychain view at each end.
fn round_trip(env: &TestEnv, add: &[&str], key: &str, extra: &[(&str, String)], e: &Expect) {
    let added = env.add(add, key, extra);
    added.ok();
    assert!(
        added.stderr.contains(&format!("Stored `{}`", e.name)),
        "{added}"
    );
    assert_eq!(added.stdout, "", "add prints nothing on stdout\n{added}");
    assert_eq!(keychain_lookup(env, e.name).as_deref(), Some(key));

    // list: the table and the JSON.
    let list = run_env(env, &["list"], extra);
    list.ok();
    let row = list
        .stdout
        .lines()
        .find(|l| l.starts_with(e.name))
        .unwrap_or_else(|| panic!("no row for {}\n{list}", e.name));
    assert!(row.contains(e.provider) && row.contains(e.target), "{list}");
    let listed = json(&run_env(env, &["list", "--json"], extra));
    let items = listed.as_array().expect("list --json is an array");
    assert_eq!(items.len(), 1, "{listed}");
    let item = &items[0];
    assert_eq!(item["name"], e.name);
    assert_eq!(item["provider"], e.provider);
    assert_eq!(item["target"], e.target);
    assert_eq!(item["description"].as_str(), e.description);
    match e.check {
        Some(result) => {
            assert_eq!(item["last_check"]["result"], result, "{listed}");
            assert!(
                item["last_check"]["at"]
                    .as_str()
                    .is_some_and(|a| a.ends_with('Z'))
            );
        }
        None => assert!(item["last_check"].is_null(), "{listed}"),
    }

    // show: every field, the secret masked to at most its last 4 characters.
    let last4 = &key[key.len() - 4..];
    let show = run_env(env, &["show", e.name], extra);
    show.ok();
    for (_, value) in e.fields {
        assert!(show.stdout.contains(value), "show lacks {value}\n{show}");
    }
    let secret_line = show
        .stdout
        .lines()
        .find(|l| l.starts_with("secret"))
        .unwrap_or_else(|| panic!("no secret line\n{show}"));
    assert_eq!(
        secret_line.split_whitespace().last(),
        Some(&*format!("********{last4}"))
    );
    assert_reveals_at_most_last4(&show.all(), key);

    let shown = json(&run_env(env, &["show", e.name, "--json"], extra));
    assert_eq!(shown["name"], e.name);
    assert_eq!(shown["provider"], e.provider);
    assert_eq!(shown["target"], e.target);
    assert_eq!(shown["description"].as_str(), e.description);
    assert_eq!(shown["secret"], format!("********{last4}"));
    assert!(shown["created"].as_str().is_some(), "{shown}");
    for (field, value) in e.fields {
        assert_eq!(shown["fields"][field], *value, "field {field} in {shown}");
    }
    assert_reveals_at_most_last4(&shown.to_string(), key);

    // secret: exactly what was stored, and a newline.
    let out = env.run(&["secret", e.name]);
    out.ok();
    assert_eq!(out.stdout, format!("{key}\n"));
    assert_eq!(out.stderr, "");

    // remove: config entry and keychain entry both gone.
    env.run(&["remove", e.name, "--yes"]).ok();
    assert!(
        !env.config_text()
            .contains(&format!("[credentials.{}]", e.name))
    );
    assert_eq!(json(&env.run(&["list", "--json"])), Value::Array(vec![]));
    assert_eq!(
        keychain_lookup(env, e.name),
        None,
        "keychain entry left behind"
    );
    let gone = env.run(&["secret", e.name]);
    gone.code(1);
    assert_one_error(&gone, &format!("no credential named `{}`", e.name));
}

/// No suffix of the key longer than 4 characters, and no prefix of the key
/// before its last 4, appears in `text`.
fn assert_reveals_at_most_last4(text: &str, key: &str) {
    for k in 5..=key.len() {
        assert!(
            !text.contains(&key[key.len() - k..]),
            "shows {k} characters of the key: {text}"
        );
    }
    assert!(
        !text.contains(&key[..key.len() - 4]),
        "shows the key's head: {text}"
    );
}

#[test]
fn paymo_round_trip() {
    let env = TestEnv::new();
    let key = secret("paymo");
    round_trip(
        &env,
        &["paymo", "--no-verify"],
        &key,
        &[],
        &Expect {
            name: "paymo",
            provider: "paymo",
            target: "https://app.paymoapp.com/api",
            fields: &[("base_url", "https://app.paymoapp.com/api")],
            description: None,
            check: None,
        },
    );
}

#[test]
fn paymo_round_trip_with_live_check() {
    let env = TestEnv::new();
    let server = ok_server();
    let key = secret("paymo");
    let extra = [paymo_env(&server)];
    let target = format!("{}/api", server.url());
    round_trip(
        &env,
        &["paymo", "--name", "work", "--description", "time sheets"],
        &key,
        &extra,
        &Expect {
            name: "work",
            provider: "paymo",
            target: &target,
            fields: &[("base_url", &target)],
            description: Some("time sheets"),
            check: Some("valid"),
        },
    );
    let seen = server.only();
    assert_eq!(
        (seen.method.as_str(), seen.url.as_str()),
        ("GET", "/api/me")
    );
    assert_eq!(seen.header("authorization"), Some(&*basic(&key, "X")));
    assert_eq!(seen.header("accept"), Some("application/json"));
}

#[test]
fn paymo_check_names_the_user() {
    let env = TestEnv::new();
    let server = ok_server();
    let added = env.add(&["paymo"], &secret("paymo"), &[paymo_env(&server)]);
    added.ok();
    assert!(
        added
            .stderr
            .contains("Authenticated as Ada <ada@example.com>"),
        "{added}"
    );
    let listed = json(&env.run(&["list", "--json"]));
    assert_eq!(
        listed[0]["last_check"]["message"],
        "Authenticated as Ada <ada@example.com>"
    );
}

#[test]
fn paligo_round_trip() {
    let env = TestEnv::new();
    let key = secret("paligo");
    round_trip(
        &env,
        &[
            "paligo",
            "--no-verify",
            "--instance",
            "acme.paligoapp.com",
            "--username",
            "me@acme.com",
        ],
        &key,
        &[],
        &Expect {
            name: "paligo",
            provider: "paligo",
            target: "acme",
            fields: &[("instance", "acme"), ("username", "me@acme.com")],
            description: None,
            check: None,
        },
    );
}

#[test]
fn paligo_round_trip_with_live_check() {
    let env = TestEnv::new();
    let server = Server::start(|_| Reply::json(200, r#"{"page":1,"folders":[]}"#));
    let key = secret("paligo");
    round_trip(
        &env,
        &[
            "paligo",
            "--name",
            "docs",
            "--instance",
            "https://acme.paligoapp.com/document/edit/12",
            "--username",
            "me@acme.com",
        ],
        &key,
        &[paligo_env(&server)],
        &Expect {
            name: "docs",
            provider: "paligo",
            target: "acme",
            fields: &[("instance", "acme"), ("username", "me@acme.com")],
            description: None,
            check: Some("valid"),
        },
    );
    let seen = server.only();
    assert_eq!(seen.method, "GET");
    assert_eq!(seen.url, "/acme/api/v2/folders?per_page=1");
    assert_eq!(
        seen.header("authorization"),
        Some(&*basic("me@acme.com", &key))
    );
}

#[test]
fn generic_round_trip() {
    let env = TestEnv::new();
    let key = secret("generic");
    round_trip(
        &env,
        &[
            "generic",
            "--no-verify",
            "--name",
            "gh",
            "--base-url",
            "https://api.example.com/v1/",
            "--template",
            "Bearer ${apiKey}",
        ],
        &key,
        &[],
        &Expect {
            name: "gh",
            provider: "generic",
            target: "https://api.example.com/v1",
            fields: &[
                ("base_url", "https://api.example.com/v1"),
                ("placement", "header"),
                ("key_name", "Authorization"),
                ("template", "Bearer ${apiKey}"),
                ("label", "API Key"),
            ],
            description: None,
            check: None,
        },
    );
}

#[test]
fn generic_header_round_trip_with_live_check() {
    let env = TestEnv::new();
    let server = Server::start(|_| Reply::json(200, "{}"));
    let key = secret("hdr");
    let base = format!("{}/v1", server.url());
    round_trip(
        &env,
        &[
            "generic",
            "--name",
            "api",
            "--base-url",
            &base,
            "--key-name",
            "x-api-key",
            "--template",
            "Api-Key ${apiKey}",
            "--check-path",
            "/me",
        ],
        &key,
        &[],
        &Expect {
            name: "api",
            provider: "generic",
            target: &base,
            fields: &[
                ("base_url", &base),
                ("placement", "header"),
                ("key_name", "x-api-key"),
                ("template", "Api-Key ${apiKey}"),
                ("check_path", "/me"),
            ],
            description: None,
            check: Some("valid"),
        },
    );
    let seen = server.only();
    assert_eq!((seen.method.as_str(), seen.url.as_str()), ("GET", "/v1/me"));
    assert_eq!(seen.header("x-api-key"), Some(&*format!("Api-Key {key}")));
    assert_eq!(seen.header("authorization"), None);
}

#[test]
fn generic_query_round_trip_with_live_check() {
    let env = TestEnv::new();
    let server = Server::start(|_| Reply::json(200, "{}"));
    let key = secret("qry");
    let base = format!("{}/v2", server.url());
    round_trip(
        &env,
        &[
            "generic",
            "--name",
            "q",
            "--base-url",
            &base,
            "--placement",
            "query",
        ],
        &key,
        &[],
        &Expect {
            name: "q",
            provider: "generic",
            target: &base,
            fields: &[
                ("placement", "query"),
                ("key_name", "api_key"),
                ("template", "${apiKey}"),
            ],
            description: None,
            check: Some("valid"),
        },
    );
    // No check path: the base URL itself, with the key as ?api_key=.
    let seen = server.only();
    assert_eq!(seen.path(), "/v2");
    assert_eq!(seen.query(), format!("api_key={key}"));
    assert_eq!(seen.header("authorization"), None);
}

// ---------------------------------------------------------------------------
// Concurrency.

#[test]
fn twenty_concurrent_adds_lose_nothing() {
    let env = TestEnv::new();
    let keys: Vec<String> = (0..20).map(|i| secret(&format!("c{i}"))).collect();
    let mut children = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let name = format!("p{i}");
        let mut cmd = std_cmd(&env);
        cmd.args(["add", "--name", &name, "--no-verify", "--api-key-stdin"]);
        if i % 2 == 0 {
            cmd.arg("paymo");
        } else {
            cmd.args(["generic", "--base-url", "https://api.example.com"]);
        }
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(key.as_bytes())
            .unwrap();
        children.push((name, child));
    }
    // All 20 were started before any is waited for.
    for (name, child) in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "add {name} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = env.config_text();
    let parsed: toml::Table = toml::from_str(&text).expect("config.toml parses");
    assert_eq!(
        parsed["credentials"].as_table().unwrap().len(),
        20,
        "{text}"
    );
    let listed = json(&env.run(&["list", "--json"]));
    assert_eq!(listed.as_array().unwrap().len(), 20, "{listed}");
    for (i, key) in keys.iter().enumerate() {
        let out = env.run(&["secret", &format!("p{i}")]);
        out.ok();
        assert_eq!(out.stdout, format!("{key}\n"), "p{i} got another's key");
    }
    // No temporary files left behind by the atomic writes.
    let names: Vec<String> = std::fs::read_dir(env.config_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
}

// ---------------------------------------------------------------------------
// A config that does not parse.

#[test]
fn broken_config_is_reported_by_every_command_and_never_overwritten() {
    let env = TestEnv::new();
    std::fs::create_dir_all(env.config_dir()).unwrap();
    let broken = "# hand edited\n[credentials.x]\nprovider = \"paymo\"\ndescription = = \"oops\"\n";
    std::fs::write(env.config_path(), broken).unwrap();
    let before = std::fs::read(env.config_path()).unwrap();
    let expected = format!(
        "cannot parse {} at line 4, column 15",
        env.config_path().display()
    );
    let key = secret("broken");
    let commands: &[&[&str]] = &[
        &["list"],
        &["list", "--json"],
        &["show", "x"],
        &["secret", "x"],
        &[
            "add",
            "paymo",
            "--name",
            "y",
            "--no-verify",
            "--api-key-stdin",
        ],
        &["rotate", "x", "--no-verify", "--api-key-stdin"],
        &["remove", "x", "--yes"],
        &["verify", "--all"],
        &["call", "x", "/"],
    ];
    for args in commands {
        let run = env.run_with(args, |c| {
            c.write_stdin(key.clone());
        });
        run.code(1);
        assert_one_error(&run, &expected);
        assert!(run.stderr.contains("hint:"), "{run}");
        assert_eq!(
            std::fs::read(env.config_path()).unwrap(),
            before,
            "`cred {}` changed the broken file",
            args.join(" ")
        );
    }
    assert_eq!(
        keychain_lookup(&env, "y"),
        None,
        "add stored a secret anyway"
    );
}

// ---------------------------------------------------------------------------
// The keychain.

const NO_BUS: &str = "unix:path=/nonexistent/bus";

#[test]
fn unreachable_keychain_exits_7_and_writes_no_config() {
    let env = TestEnv::new();
    let key = secret("nobus");
    let run = env.run_with(&["add", "paymo", "--no-verify", "--api-key-stdin"], |c| {
        c.write_stdin(key.clone());
        c.env("DBUS_SESSION_BUS_ADDRESS", NO_BUS);
    });
    run.code(7);
    assert_one_error(&run, "cannot reach the OS keychain: no D-Bus session bus");
    assert!(run.stderr.contains("\nhint: "), "{run}");
    assert!(
        !env.config_text().contains("paymo"),
        "config written: {}",
        env.config_text()
    );
    assert!(!run.all().contains(&key));

    // `secret` says the same; `list` reads the config only and still works.
    env.add(&["paymo", "--no-verify"], &key, &[]).ok();
    let no_bus = |args: &[&str]| {
        env.run_with(args, |c| {
            c.env("DBUS_SESSION_BUS_ADDRESS", NO_BUS);
        })
    };
    let secret_run = no_bus(&["secret", "paymo"]);
    secret_run.code(7);
    assert_one_error(&secret_run, "cannot reach the OS keychain");
    let list = no_bus(&["list"]);
    list.ok();
    assert!(list.stdout.contains("paymo"), "{list}");
}

#[test]
fn missing_keychain_entry_points_to_rotate() {
    let env = TestEnv::new();
    env.add(
        &["paymo", "--no-verify", "--name", "work"],
        &secret("gone"),
        &[],
    )
    .ok();
    keychain_clear(&env, "work");
    let run = env.run(&["secret", "work"]);
    run.code(1);
    assert_one_error(&run, "credential `work` has no secret in the keychain");
    assert!(
        run.stderr.contains("hint:") && run.stderr.contains("cred rotate work"),
        "{run}"
    );
    assert_eq!(run.stdout, "");
    let show = env.run(&["show", "work"]);
    show.code(1);
    assert!(show.all().contains("cred rotate work"), "{show}");
}

#[test]
fn config_dirs_do_not_share_keychain_entries() {
    let one = TestEnv::new();
    let two = TestEnv::new();
    let (k1, k2) = (secret("one"), secret("two"));
    one.add(&["paymo", "--no-verify"], &k1, &[]).ok();
    // The same config in another directory has no secret there.
    std::fs::create_dir_all(two.config_dir()).unwrap();
    std::fs::copy(one.config_path(), two.config_path()).unwrap();
    let run = two.run(&["secret", "paymo"]);
    run.code(1);
    assert!(run.stderr.contains("cred rotate paymo"), "{run}");
    // Storing under the same name in the second dir leaves the first alone.
    two.add(&["paymo", "--no-verify", "--force"], &k2, &[]).ok();
    assert_eq!(one.run(&["secret", "paymo"]).stdout, format!("{k1}\n"));
    assert_eq!(two.run(&["secret", "paymo"]).stdout, format!("{k2}\n"));
    two.run(&["remove", "paymo", "--yes"]).ok();
    assert_eq!(one.run(&["secret", "paymo"]).stdout, format!("{k1}\n"));
}

// ---------------------------------------------------------------------------
// Nothing half done.

const FAIL_WRITE: (&str, &str) = ("CRED_TEST_FAIL_CONFIG_WRITE", "1");

fn failing_write() -> [(&'static str, String); 1] {
    [(FAIL_WRITE.0, FAIL_WRITE.1.to_string())]
}

#[test]
fn failed_config_write_leaves_no_orphan_secret() {
    let env = TestEnv::new();
    let key = secret("orphan");
    let run = env.add(
        &["paymo", "--no-verify", "--name", "work"],
        &key,
        &failing_write(),
    );
    run.code(1);
    assert_one_error(
        &run,
        &format!("could not write {}", env.config_path().display()),
    );
    assert!(run.stderr.contains("simulated failure"), "{run}");
    assert_eq!(
        keychain_lookup(&env, "work"),
        None,
        "orphan secret in the keychain"
    );
    assert!(!env.config_text().contains("work"));
    assert!(!run.all().contains(&key));
}

#[test]
fn failed_forced_replace_restores_the_old_secret() {
    let env = TestEnv::new();
    let old = secret("old");
    env.add(
        &["paymo", "--no-verify", "--description", "old one"],
        &old,
        &[],
    )
    .ok();
    let config_before = std::fs::read(env.config_path()).unwrap();
    let new = secret("new");
    let run = env.add(
        &[
            "paymo",
            "--no-verify",
            "--force",
            "--description",
            "new one",
        ],
        &new,
        &failing_write(),
    );
    run.code(1);
    assert_eq!(keychain_lookup(&env, "paymo").as_deref(), Some(&*old));
    assert_eq!(env.run(&["secret", "paymo"]).stdout, format!("{old}\n"));
    assert_eq!(std::fs::read(env.config_path()).unwrap(), config_before);
}

#[test]
fn failed_config_write_during_remove_keeps_the_credential_usable() {
    let env = TestEnv::new();
    let key = secret("keep");
    env.add(&["paymo", "--no-verify"], &key, &[]).ok();
    let run = run_env(&env, &["remove", "paymo", "--yes"], &failing_write());
    run.code(1);
    assert_one_error(&run, "could not write");
    // The config still names it, so its secret must still be there.
    assert!(env.config_text().contains("[credentials.paymo]"));
    assert_eq!(env.run(&["secret", "paymo"]).stdout, format!("{key}\n"));
}
