//! Hostile input never drives the terminal (SPEC §5): control characters
//! from a server (a user name, an error body, a header), from a flag or
//! from a hand-edited config.toml are shown escaped or refused, on every
//! path that prints or stores them.

use crate::common::*;

/// Sequences a terminal would obey: clipboard write (OSC 52), window title,
/// clear screen, and a C1 CSI.
const EVIL: &str = "Ada\u{1b}]52;c;ZXZpbA==\u{7}\u{1b}]0;pwned\u{7}\u{1b}[2J\u{9b}31m";

fn assert_inert(what: &str, text: &str) {
    for bad in ['\u{1b}', '\u{7}', '\u{9b}'] {
        assert!(
            !text.contains(bad),
            "{what} holds a raw {:?}:\n{text:?}",
            bad
        );
    }
}

#[test]
fn a_user_name_from_the_server_is_shown_and_stored_escaped() {
    let body = serde_json::json!({"users": [{"id": 1, "name": EVIL, "email": "ada@example.com"}]})
        .to_string();
    let server = Server::start(move |_| Reply::json(200, &body));
    let env = TestEnv::new();
    let key = secret("paymo");
    let run = env.add(&["paymo"], &key, &[paymo_env(&server)]);
    run.ok();
    assert_inert("add", &run.all());
    assert!(run.stderr.contains("Ada\\x1b]52;c;"), "{run}");
    let stored = last_check(&env, "paymo").expect("a check result");
    assert_inert("config.toml", &format!("{stored:?}"));
    for args in [
        vec!["show", "paymo"],
        vec!["show", "paymo", "--json"],
        vec!["list"],
        vec!["list", "--json"],
    ] {
        let run = run_env(&env, &args, &[paymo_env(&server)]);
        run.ok();
        assert_inert(&args.join(" "), &run.all());
    }
    let run = run_env(&env, &["verify", "paymo"], &[paymo_env(&server)]);
    run.ok();
    assert_inert("verify", &run.all());
    let run = run_env(&env, &["verify", "paymo", "--json"], &[paymo_env(&server)]);
    assert_inert("verify --json", &run.all());
    let v = json(&run);
    assert!(v[0]["message"].as_str().unwrap().contains("Ada"), "{run}");
}

#[test]
fn an_error_body_and_headers_are_shown_escaped() {
    let server =
        Server::start(|_| Reply::new(500, format!("{EVIL}\nmore")).header("x-evil", "a\u{9b}b"));
    let env = TestEnv::new();
    let run = env.add(
        &["generic", "--base-url", &format!("{}/v1", server.url())],
        &secret("api"),
        &[],
    );
    run.code(3);
    assert_inert("add", &run.all());
    assert!(run.stderr.contains("could not confirm the key"), "{run}");
    add_generic_unchecked(&env, &server.url(), &[]);
    let run = env.run(&["call", "api", "/x", "-v", "-o", "/dev/null"]);
    run.code(3);
    assert_inert("call -v", &run.stderr);
    assert!(run.stderr.contains("x-evil: a\\u{9b}b"), "{run}");
}

#[test]
fn flags_and_hand_edited_fields_with_control_characters_are_refused() {
    let env = TestEnv::new();
    let run = env.add(
        &["paymo", "--no-verify", "--description", "docs\u{1b}[2J"],
        &secret("p"),
        &[],
    );
    run.code(1);
    assert_one_error(
        &run,
        "invalid --description: it holds a control character (\\x1b)",
    );
    assert_nothing_stored(&env, "paymo", None);

    std::fs::create_dir_all(env.config_dir()).unwrap();
    std::fs::write(
        env.config_path(),
        "[credentials.paymo]\nprovider = \"paymo\"\ndescription = \"a\\u001b]0;title\\u0007\"\n",
    )
    .unwrap();
    for args in [vec!["list"], vec!["show", "paymo"]] {
        let run = env.run(&args);
        run.code(1);
        assert_inert("error", &run.all());
        assert!(
            run.stderr
                .contains("holds a control character (\\x1b) in credentials.paymo.description"),
            "{run}"
        );
    }
    std::fs::write(
        env.config_path(),
        "[credentials.Shouting]\nprovider = \"paymo\"\n",
    )
    .unwrap();
    let run = env.run(&["list"]);
    run.code(1);
    assert!(
        run.stderr
            .contains("credential name cred does not accept: `Shouting`"),
        "{run}"
    );
    // A check result quoting a server is shown escaped, not refused.
    std::fs::write(
        env.config_path(),
        "[credentials.paymo]\nprovider = \"paymo\"\n\n[credentials.paymo.last_check]\nat = \"2026-01-01T00:00:00Z\"\nresult = \"unconfirmed\"\nmessage = \"boom\\u001b[2J\"\n",
    )
    .unwrap();
    let run = env.run(&["show", "paymo"]);
    assert_inert("show", &run.all());
    assert!(run.stdout.contains("boom\\x1b[2J"), "{run}");
}
