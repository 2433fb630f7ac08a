//! Storage: the add → list → show → secret → remove round trip for every
//! provider, with and without the live check, with the independent keychain
//! view at each end and the secret never shown beyond its last 4
//! characters.

use serde_json::Value;

use crate::common::*;

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
