//! A provider defined in the config directory's `providers/`: end to end
//! (add, verify, call, exec, proxy), a broken or foreign file, an override
//! of a built-in, the URL override's rules, and the key kept at its origin.

use super::*;
use crate::proxy::{Proxy, bearer, curl};

/// Acme's API at a loopback server: `/blue/v1/whoami` names the caller
/// when the key is `Token KEY`, 401 otherwise; `/blue/v1/things` a list.
fn acme_server(key: &str) -> Server {
    let good = format!("Token {key}");
    Server::start(move |s| {
        if s.header("x-acme-key") != Some(good.as_str()) {
            return Reply::json(401, r#"{"error":"bad token"}"#);
        }
        match s.path() {
            "/blue/v1/whoami" => Reply::json(200, r#"{"login":"ada","email":"ada@acme.example"}"#),
            "/blue/v1/things" => Reply::json(200, r#"[{"id":1}]"#),
            _ => Reply::json(404, r#"{"error":"no such thing"}"#),
        }
    })
}

#[test]
fn a_user_provider_works_end_to_end() {
    let env = TestEnv::new();
    write_provider(&env, "acme.toml", ACME);
    let key = secret("acme");
    let server = acme_server(&key);
    let url = [acme_env(&server)];

    // add: the field from --field, the check names the caller.
    let run = env.add(&["acme", "--field", "team=blue"], &key, &url);
    run.ok();
    assert!(
        run.stderr
            .contains("Acme accepted the key: Authenticated as ada <ada@acme.example>"),
        "{run}"
    );
    let config = env.config_text();
    assert!(config.contains("provider = \"acme\""), "{config}");
    assert!(config.contains("team = \"blue\""), "{config}");
    assert!(!config.contains(&key), "{config}");
    assert_eq!(
        acme_key(&server.requests()[0]),
        Some(format!("Token {key}"))
    );
    assert_eq!(server.requests()[0].path(), "/blue/v1/whoami");

    // verify
    let run = run_env(&env, &["verify", "acme"], &url);
    run.ok();

    // call
    let run = run_env(&env, &["call", "acme", "/things"], &url);
    run.ok();
    assert!(run.stdout.contains(r#""id":1"#), "{run}");
    assert_no_leak(&run, std::slice::from_ref(&key));

    // show and list name the provider and its field.
    let run = run_env(&env, &["show", "acme", "--json"], &url);
    run.ok();
    let shown = json(&run);
    assert_eq!(shown["provider"], "acme", "{run}");
    assert_eq!(shown["fields"]["team"], "blue", "{run}");

    // exec: the key, the base URL and the field, as ACME_*.
    std::fs::create_dir_all(env.home()).unwrap();
    let out = env.home().join("vars");
    let script = format!(
        "printf '%s\\n' \"$ACME_API_KEY\" \"$ACME_BASE_URL\" \"$ACME_TEAM\" > '{}'",
        out.display()
    );
    run_env(&env, &["exec", "acme", "--", "sh", "-c", &script], &url).ok();
    let vars = std::fs::read_to_string(&out).unwrap();
    assert_eq!(
        vars,
        format!("{key}\n{}/blue/v1\nblue\n", server.url()),
        "{vars}"
    );

    // proxy: a client without the key, the upstream gets it.
    let proxy = Proxy::start(&env, &url, &["acme"]);
    let answer = curl(&[
        "-H",
        &bearer(&proxy.token()),
        &format!("{}/things", proxy.url()),
    ]);
    assert!(
        String::from_utf8_lossy(&answer.stdout).contains(r#""id":1"#),
        "{answer:?}"
    );
    let last = server.requests().pop().unwrap();
    assert_eq!(last.path(), "/blue/v1/things");
    assert_eq!(acme_key(&last), Some(format!("Token {key}")));
    proxy.stop();
}

#[test]
fn a_wrong_key_is_rejected_in_the_definitions_words() {
    let env = TestEnv::new();
    write_provider(&env, "acme.toml", ACME);
    let server = acme_server("the-right-one");
    let run = env.add(
        &["acme", "--field", "team=blue"],
        &secret("acme"),
        &[acme_env(&server)],
    );
    run.code(4);
    assert_error_line(&run, "Acme rejected the token");
    assert!(!env.config_path().exists());
}

#[test]
fn flags_answer_only_the_providers_own_fields() {
    let env = TestEnv::new();
    write_provider(&env, "acme.toml", ACME);
    let server = acme_server("k");
    let url = [acme_env(&server)];
    // A field Acme does not have, by --field or by a named flag.
    for extra in [&["--field", "region=eu"][..], &["--instance", "x"][..]] {
        let mut args = vec!["acme", "--field", "team=blue", "--no-verify"];
        args.extend_from_slice(extra);
        let run = env.add(&args, "k", &url);
        run.code(2);
        assert!(run.stderr.contains("Acme's fields: team"), "{run}");
    }
    // Not ID=VALUE.
    let run = env.add(&["acme", "--field", "team", "--no-verify"], "k", &url);
    run.code(2);
    assert!(run.stderr.contains("ID=VALUE"), "{run}");
    // A value the field refuses names the flag.
    let run = env.add(
        &["acme", "--field", "team=Blue Team", "--no-verify"],
        "k",
        &url,
    );
    run.code(1);
    assert_one_error(&run, "invalid --field team");
    // Without a terminal, a missing field names its flag.
    let run = env.add(&["acme", "--no-verify"], "k", &url);
    run.code(1);
    assert!(run.stderr.contains("--field team"), "{run}");
    assert!(!env.config_path().exists());
}

#[test]
fn a_broken_user_file_names_the_file_and_the_line() {
    let env = TestEnv::new();
    // An unknown key (serde's error, with its line).
    let broken = ACME.replacen("keywords = [", "colour = \"red\"\nkeywords = [", 1);
    let colour = broken
        .lines()
        .position(|l| l.starts_with("colour"))
        .unwrap()
        + 1;
    let path = write_provider(&env, "acme.toml", &broken);
    for args in [
        &["providers"][..],
        &["providers", "show", "acme"],
        &["add", "acme"],
    ] {
        let run = env.run(args);
        run.code(1);
        assert_one_error(
            &run,
            &format!(
                "invalid provider definition {}, line {colour}",
                path.display()
            ),
        );
        assert!(run.stderr.contains("colour"), "{run}");
    }
    // A value the validation refuses: the key twice, on the line of auth.value.
    let twice = ACME.replace("value = \"Token {key}\"", "value = \"Token {key} {key}\"");
    write_provider(&env, "acme.toml", &twice);
    let line = twice
        .lines()
        .position(|l| l.starts_with("value = "))
        .unwrap()
        + 1;
    let run = env.run(&["providers", "show", "acme"]);
    run.code(1);
    assert_one_error(
        &run,
        &format!(
            "invalid provider definition {}, line {line}",
            path.display()
        ),
    );
    assert!(run.stderr.contains("auth.value"), "{run}");
    // The built-ins still work.
    env.run(&["providers", "show", "paymo"]).ok();
    // A file named for another id.
    std::fs::remove_file(&path).unwrap();
    write_provider(&env, "other.toml", ACME);
    let run = env.run(&["providers", "show", "other"]);
    run.code(1);
    assert!(run.stderr.contains("its id must be `other`"), "{run}");
}

#[test]
fn a_user_file_others_can_write_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let env = TestEnv::new();
    let path = write_provider(&env, "acme.toml", ACME);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
    let run = env.run(&["providers", "show", "acme"]);
    run.code(1);
    assert_one_error(&run, &format!("refusing to use {}", path.display()));
    assert!(run.stderr.contains("chmod"), "{run}");
}

#[test]
fn a_user_file_overrides_a_built_in() {
    let env = TestEnv::new();
    let ours = r#"id = "paymo"
name = "Paymo (ours)"
summary = "Paymo through our gateway"
docs = "https://github.com/paymoapp/api"
base_url = "https://paymo.gateway.example/api"
example_path = "/projects"
guide = """Paymo via the gateway: your gateway key."""

[auth]
scheme = "header"
header = "X-Gateway-Key"
value = "{key}"

[check]
path = "/me2"
rejected = [401]
rejected_message = "the gateway rejected the key"
"#;
    let path = write_provider(&env, "paymo.toml", ours);
    let run = env.run(&["providers"]);
    run.ok();
    assert!(
        run.stdout
            .lines()
            .any(|l| l.starts_with("paymo") && l.contains("yours (overrides built-in)")),
        "{run}"
    );
    let run = env.run(&["providers", "show", "paymo"]);
    run.ok();
    assert!(
        run.stdout.contains(&format!(
            "your file {} (overrides the built-in)",
            path.display()
        )),
        "{run}"
    );
    let run = env.run(&["providers", "show", "paymo", "--json"]);
    assert_eq!(json(&run)["overrides_built_in"], true, "{run}");
    // add uses the user's definition: its header, its check path.
    let server = Server::start(|_| Reply::json(200, "{}"));
    let key = secret("gw");
    let run = env.add(
        &["paymo"],
        &key,
        &[("CRED_PROVIDER_URL_PAYMO", format!("{}/api", server.url()))],
    );
    run.ok();
    let seen = server.requests();
    assert_eq!(seen[0].path(), "/api/me2");
    assert_eq!(seen[0].header("x-gateway-key"), Some(key.as_str()));
    assert_eq!(seen[0].header("authorization"), None);
}

#[test]
fn the_url_override_is_https_or_loopback_and_wins_over_the_older_name() {
    let env = TestEnv::new();
    let run = env.add(
        &["paymo", "--no-verify"],
        "k3y-123",
        &[(
            "CRED_PROVIDER_URL_PAYMO",
            "http://api.example.com/api".into(),
        )],
    );
    run.code(1);
    assert_one_error(
        &run,
        "the base URL `http://api.example.com/api` from CRED_PROVIDER_URL_PAYMO uses http://",
    );
    assert!(!env.config_path().exists());
    // Both names set: the new one is read.
    let new = ok_server();
    let old = ok_server();
    let run = env.add(
        &["paymo"],
        "k3y-123",
        &[
            ("CRED_PROVIDER_URL_PAYMO", format!("{}/api", new.url())),
            ("CRED_PAYMO_URL", format!("{}/api", old.url())),
        ],
    );
    run.ok();
    assert_eq!(new.count(), 1, "{run}");
    assert_eq!(old.count(), 0);
}

#[test]
fn a_catalog_key_is_never_sent_to_another_origin() {
    let other = Server::open(|_| Reply::new(200, "stolen"));
    let other_url = other.url();
    let key = secret("acme");
    let good = format!("Token {key}");
    let home = Server::start(move |s| match s.path() {
        "/blue/v1/away" => Reply::new(302, "").header("Location", &format!("{other_url}/collect")),
        "/blue/v1/whoami" if s.header("x-acme-key") == Some(good.as_str()) => {
            Reply::json(200, r#"{"login":"ada"}"#)
        }
        _ => Reply::json(401, "{}"),
    });
    let env = TestEnv::new();
    write_provider(&env, "acme.toml", ACME);
    let url = [acme_env(&home)];
    env.add(&["acme", "--field", "team=blue"], &key, &url).ok();
    let run = run_env(&env, &["call", "acme", "/away"], &url);
    run.code(3);
    assert!(run.stderr.contains("another origin"), "{run}");
    let run = run_env(&env, &["call", "acme", "/away", "--follow-offsite"], &url);
    assert_no_leak(&run, std::slice::from_ref(&key));
    assert_no_key_in_any_request(&other, std::slice::from_ref(&key));
    for seen in other.all_requests() {
        assert_eq!(acme_key(&seen), None, "{seen:?}");
    }
}

#[test]
fn a_post_check_sends_its_body() {
    let env = TestEnv::new();
    let graph = r#"id = "graph"
name = "Graph"
summary = "A GraphQL API"
docs = "https://graph.example/docs"
base_url = "https://api.graph.example"
example_path = "/graphql"
guide = """Graph: a personal API key."""

[auth]
scheme = "header"
header = "Authorization"
value = "{key}"

[check]
method = "POST"
path = "/graphql"
headers = { Content-Type = "application/json" }
body = '{"query":"{ viewer { name } }"}'
rejected = [401]
identity = "Authenticated as {/data/viewer/name}"
rejected_message = "Graph rejected the key"
"#;
    write_provider(&env, "graph.toml", graph);
    let server = Server::start(|s| {
        if s.method == "POST" && s.body == br#"{"query":"{ viewer { name } }"}"# {
            Reply::json(200, r#"{"data":{"viewer":{"name":"Ada"}}}"#)
        } else {
            Reply::json(400, r#"{"errors":[]}"#)
        }
    });
    let run = env.add(
        &["graph"],
        &secret("graph"),
        &[("CRED_PROVIDER_URL_GRAPH", server.url())],
    );
    run.ok();
    assert!(run.stderr.contains("Authenticated as Ada"), "{run}");
    let seen = server.requests();
    assert_eq!(seen[0].header("content-type"), Some("application/json"));
    // A body on a GET check is refused when the file is read.
    write_provider(
        &env,
        "graph.toml",
        &graph.replace("method = \"POST\"\n", ""),
    );
    let run = env.run(&["providers", "show", "graph"]);
    run.code(1);
    assert!(
        run.stderr.contains("only a POST check sends a body"),
        "{run}"
    );
}

/// A deleted provider file breaks only the credentials that name it:
/// config.toml loads, `list` shows it as broken, every use of it fails
/// with the file's path and a hint, other credentials work, `remove`
/// removes it (secret and entry), and config.toml is never rewritten to
/// drop it.
#[test]
fn a_credential_whose_provider_is_gone_is_broken_alone() {
    let env = TestEnv::new();
    let path = write_provider(&env, "acme.toml", ACME);
    let server = acme_server("k3y-123");
    let url = [acme_env(&server)];
    env.add(
        &["acme", "--field", "team=blue", "--no-verify"],
        "k3y-123",
        &[],
    )
    .ok();
    env.add(&["paymo", "--no-verify"], "paymo-k3y", &[]).ok();
    std::fs::remove_file(&path).unwrap();
    let before = env.config_text();
    let missing = format!("provider definition missing: {}", path.display());

    let run = env.run(&["list"]);
    run.ok();
    let line = run
        .stdout
        .lines()
        .find(|l| l.starts_with("acme"))
        .unwrap_or_else(|| panic!("{run}"));
    assert!(line.contains("acme") && line.contains(&missing), "{run}");
    assert!(run.stdout.lines().any(|l| l.starts_with("paymo")), "{run}");
    let run = env.run(&["list", "--json"]);
    run.ok();
    let listed = json(&run);
    let acme = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "acme")
        .unwrap();
    assert_eq!(acme["provider"], "acme", "{run}");
    assert_eq!(acme["broken"], missing.as_str(), "{run}");

    for args in [
        vec!["call", "acme", "/things"],
        vec!["exec", "acme", "--", "true"],
        vec!["proxy", "acme"],
        vec!["show", "acme"],
    ] {
        let run = run_env(&env, &args, &url);
        run.code(1);
        assert_one_error(&run, &format!("cannot use `acme`: {missing}"));
        assert!(run.stderr.contains("cred remove acme"), "{args:?}: {run}");
    }
    let run = run_env(&env, &["verify", "acme"], &url);
    assert_ne!(run.code, 0, "{run}");
    assert!(run.all().contains(&missing), "{run}");
    assert_eq!(server.count(), 0);
    // The other credential works; config.toml is as it was.
    run_env(&env, &["show", "paymo"], &[]).ok();
    assert_eq!(env.config_text(), before);

    let run = env.run(&["remove", "acme", "--yes"]);
    run.ok();
    assert!(!env.config_text().contains("[credentials.acme]"));
    assert!(env.config_text().contains("paymo"));
    assert!(
        !env.run(&["list"]).stdout.contains("acme"),
        "acme is listed after its removal"
    );
    assert_nothing_stored(&env, "acme", Some("k3y-123"));
}

/// A broken provider file breaks only its credentials too, with the file's
/// own error.
#[test]
fn a_credential_whose_provider_file_is_broken_is_broken_alone() {
    let env = TestEnv::new();
    let path = write_provider(&env, "acme.toml", ACME);
    env.add(
        &["acme", "--field", "team=blue", "--no-verify"],
        "k3y-123",
        &[],
    )
    .ok();
    std::fs::write(&path, ACME.replace("summary", "sumary")).unwrap();
    let run = env.run(&["list"]);
    run.ok();
    assert!(run.stdout.contains("provider definition broken"), "{run}");
    let run = env.run(&["call", "acme", "/things"]);
    run.code(1);
    assert!(run.stderr.contains(&path.display().to_string()), "{run}");
    assert!(run.stderr.contains("line 3"), "{run}");
    env.run(&["remove", "acme", "--yes"]).ok();
    assert_nothing_stored(&env, "acme", Some("k3y-123"));
}

#[test]
fn an_ok_pointer_judges_a_200_by_its_body() {
    let env = TestEnv::new();
    let chat = r#"id = "chat"
name = "Chat"
summary = "A chat API that answers 200 to everything"
docs = "https://chat.example/docs"
base_url = "https://chat.example/api"
example_path = "/auth.test"
guide = """Chat: a bot token."""

[auth]
scheme = "header"
header = "Authorization"
value = "Bearer {key}"

[check]
path = "/auth.test"
rejected = [401]
ok_pointer = "/ok"
identity = "Authenticated as {/user}"
rejected_message = "Chat rejected the token"
"#;
    write_provider(&env, "chat.toml", chat);
    let key = secret("chat");
    let good = format!("Bearer {key}");
    // Like Slack: HTTP 200 whatever the token, `ok` says.
    let server = Server::open(move |s| {
        if s.header("authorization") == Some(good.as_str()) {
            Reply::json(200, r#"{"ok":true,"user":"ada"}"#)
        } else {
            Reply::json(200, r#"{"ok":false,"error":"invalid_auth"}"#)
        }
    });
    let url = [("CRED_PROVIDER_URL_CHAT", format!("{}/api", server.url()))];
    let run = env.add(&["chat"], &secret("other"), &url);
    run.code(4);
    assert_error_line(&run, "Chat rejected the token");
    assert!(!env.config_path().exists());
    // A good token: valid, and the same request without it (ok: false)
    // does not make the check unconfirmable.
    let run = env.add(&["chat"], &key, &url);
    run.ok();
    assert!(run.stderr.contains("Authenticated as ada"), "{run}");
}

#[test]
fn a_forgotten_provider_url_variable_is_named() {
    let env = TestEnv::new();
    write_provider(&env, "acme.toml", ACME);
    let server = acme_server("k3y-123");
    env.add(
        &["acme", "--field", "team=blue", "--no-verify"],
        "k3y-123",
        &[acme_env(&server)],
    )
    .ok();
    // A new shell without CRED_PROVIDER_URL_ACME: the default address now.
    let run = env.run(&["call", "acme", "/things"]);
    run.code(1);
    assert_one_error(&run, "refusing to send the secret of `acme`");
    assert!(
        run.stderr
            .contains("cause: CRED_PROVIDER_URL_ACME is not set now"),
        "{run}"
    );
    assert_eq!(server.count(), 0);
}

/// `cred add` with a URL override over plain http to another host says
/// why and what to do, as `cred call` does; nothing is sent or stored.
#[test]
fn add_with_an_http_override_gives_the_https_hint() {
    let env = TestEnv::new();
    let run = env.add(
        &["github"],
        &secret("github"),
        &[(
            "CRED_PROVIDER_URL_GITHUB",
            "http://api.github.example".to_string(),
        )],
    );
    run.code(1);
    assert_error_line(&run, "the base URL `http://api.github.example`");
    assert!(run.stderr.contains("cause: nothing was stored"), "{run}");
    assert!(
        run.stderr
            .contains("hint: use https://, or http:// only for a loopback address"),
        "{run}"
    );
    assert!(!env.config_path().exists());
}
