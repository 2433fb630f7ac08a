//! After a failed check, the wizard's menu starts at the choice that can
//! fix that failure (the key for a rejected key, the answers for a user
//! who may not use the API or a wrong address), offers to keep the key
//! typed (Paligo shows a key only once), and offers as choices what the
//! flags would do (store unchecked, accept plain http). An unknown
//! instance is reported before the key is asked; a name taken by another
//! `cred add` meanwhile gets the replace-or-rename menu before storing.

use super::*;

/// A Paligo that knows the instance `acme` only (404 for any other, key
/// or no key), where `admin@acme.com` is an admin and `me@acme.com` is
/// not (403).
fn paligo_server(key: &str) -> Server {
    let admin = basic("admin@acme.com", key);
    let user = basic("me@acme.com", key);
    Server::open(move |r| {
        if !r.url.starts_with("/acme/") {
            return Reply::json(404, r#"{"message":"no such instance"}"#);
        }
        match r.header("authorization") {
            Some(a) if a == admin => Reply::json(200, r#"{"page":1,"folders":[]}"#),
            Some(a) if a == user => Reply::json(403, r#"{"message":"not an admin"}"#),
            _ => Reply::json(401, r#"{"message":"unauthorized"}"#),
        }
    })
}

#[test]
fn a_user_who_may_not_use_the_api_is_offered_other_answers_first() {
    let env = TestEnv::new();
    let key = secret("forbidden");
    let server = paligo_server(&key);
    let mut w = Wizard::start(&env, &["add", "paligo"], &[paligo_env(&server)]);
    w.answer("Paligo instance", "acme");
    w.answer("Username", "me@acme.com");
    w.answer_hidden("API key", &key);
    w.expect("may not use the API");
    w.expect("ask a Paligo admin");
    w.expect("Quit without storing anything");
    // The default choice: other answers, then a key (a new key alone
    // cannot make the user an admin).
    w.send(ENTER);
    w.answer("Paligo instance", "");
    w.answer("Username", "\x15admin@acme.com");
    w.answer_hidden("API key", &key);
    w.expect("Paligo accepted the key");
    w.expect("Stored `paligo`");
    let (code, seen) = w.finish();
    assert_eq!(code, 0, "{seen}");
    let c = config(&env);
    assert_eq!(
        c["credentials"]["paligo"]["username"].as_str(),
        Some("admin@acme.com")
    );
}

#[test]
fn other_answers_can_keep_the_key_typed() {
    let env = TestEnv::new();
    let key = secret("once");
    let server = paligo_server(&key);
    let mut w = Wizard::start(&env, &["add", "paligo"], &[paligo_env(&server)]);
    w.answer("Paligo instance", "acme");
    w.answer("Username", "admin@acme.co"); // the typo
    w.answer_hidden("API key", &key);
    w.expect("Paligo rejected the username or API key");
    w.expect("Change the other answers and keep the key you typed");
    w.expect("Quit without storing anything");
    // A rejected key: the default is to type it again; one down keeps it.
    w.send(DOWN);
    w.send(ENTER);
    w.answer("Paligo instance", "");
    w.answer("Username", "\x15admin@acme.com");
    // No key prompt: the same key is checked with the new answers.
    w.expect("Paligo accepted the key");
    w.expect("Stored `paligo`");
    let (code, seen) = w.finish();
    assert_eq!(code, 0, "{seen}");
    assert_eq!(seen.matches("? API key").count(), 1, "{seen}");
    assert!(!seen.contains(&key), "{seen}");
    let keyed: Vec<_> = server
        .requests()
        .into_iter()
        .filter(|r| r.header("authorization").is_some())
        .collect();
    assert_eq!(keyed.len(), 2, "{keyed:#?}");
    assert_eq!(
        keyed[1].header("authorization"),
        Some(&*basic("admin@acme.com", &key))
    );
    assert_eq!(keychain_lookup(&env, "paligo").as_deref(), Some(&*key));
}

#[test]
fn an_unknown_instance_is_reported_before_the_key_is_asked() {
    let env = TestEnv::new();
    let key = secret("instance");
    let server = paligo_server(&key);
    let mut w = Wizard::start(&env, &["add", "paligo"], &[paligo_env(&server)]);
    w.answer("Paligo instance", "acmee");
    w.answer("Username", "admin@acme.com");
    w.expect("no Paligo instance named `acmee`");
    // Asked again, the earlier answers as defaults, before any key.
    w.answer("Paligo instance", "\x15acme");
    assert!(!w.seen.contains("? API key"), "{}", w.seen);
    w.answer("Username", "");
    w.answer_hidden("API key", &key);
    w.expect("Paligo accepted the key");
    w.expect("Stored `paligo`");
    let (code, seen) = w.finish();
    assert_eq!(code, 0, "{seen}");
    assert_eq!(seen.matches("? API key").count(), 1, "{seen}");
    // The unknown instance never saw the key.
    for r in server.requests() {
        if r.url.starts_with("/acmee/") {
            assert_eq!(r.header("authorization"), None, "{r:#?}");
        }
    }
    assert_eq!(
        config(&env)["credentials"]["paligo"]["instance"].as_str(),
        Some("acme")
    );
}

#[test]
fn an_https_address_of_a_plain_http_server_is_changed_keeping_the_key() {
    let env = TestEnv::new();
    let key = secret("tls");
    let wanted = format!("Bearer {key}");
    let server = Server::start(move |r| {
        if r.header("authorization") == Some(wanted.as_str()) {
            Reply::json(200, "{}")
        } else {
            Reply::json(401, "{}")
        }
    });
    // An https:// address where a plain-HTTP server answers.
    let wrong = format!("https://127.0.0.1:{}", plain_http_port());
    let mut w = Wizard::start(&env, &["add", "generic", "--name", "api"], &[]);
    w.answer("API base URL", &wrong);
    w.expect("? Where does the key go?");
    w.send(ENTER);
    w.answer("Header name", "");
    // The example fits the Authorization header.
    w.answer(
        "How the key is written, ${apiKey} for the key, e.g. Bearer ${apiKey}",
        "Bearer ${apiKey}",
    );
    w.answer("Path to check the key with", "/me");
    w.confirm("More options", ENTER);
    w.answer_hidden("API Key", &key);
    w.expect("does not speak TLS; is it http://");
    w.expect("Quit without storing anything");
    // The default: the address is wrong, the key may be right.
    w.send(ENTER);
    w.answer("API base URL", &format!("\x15{}", server.url()));
    w.expect("? Where does the key go?");
    w.send(ENTER);
    w.answer("Header name", "");
    w.answer("How the key is written", "");
    w.answer("Path to check the key with", "");
    w.confirm("More options", ENTER);
    w.expect("accepted the key");
    w.expect("Stored `api`");
    let (code, seen) = w.finish();
    assert_eq!(code, 0, "{seen}");
    assert_eq!(seen.matches("? API Key").count(), 1, "{seen}");
    assert!(!seen.contains("--no-verify"), "{seen}");
    assert_eq!(keychain_lookup(&env, "api").as_deref(), Some(&*key));
    assert_eq!(
        config(&env)["credentials"]["api"]["base_url"].as_str(),
        Some(&*server.url())
    );
}

#[test]
fn plain_http_is_a_choice_not_a_flag_to_pass() {
    let env = TestEnv::new();
    let key = secret("plain");
    let mut w = Wizard::start(
        &env,
        &["add", "generic", "--name", "api", "--no-verify"],
        &[],
    );
    w.answer("API base URL", "http://api.example.test/v1");
    w.expect("is plain http://: the key would cross the network unencrypted");
    w.expect("Use this plain-http address anyway");
    // The default: another address.
    w.send(ENTER);
    w.answer("API base URL", "\x15http://api.example.test/v2");
    w.expect("Use this plain-http address anyway");
    w.send(DOWN);
    w.send(ENTER);
    w.expect("plain http:// accepted");
    w.expect("? Where does the key go?");
    w.send(ENTER);
    w.answer("Header name", "");
    w.answer("How the key is written", "");
    w.answer("Path to check the key with", "");
    w.confirm("More options", ENTER);
    w.answer_hidden("API Key", &key);
    w.expect("Stored `api`");
    let (code, seen) = w.finish();
    assert_eq!(code, 0, "{seen}");
    assert!(!seen.contains("--allow-http"), "{seen}");
    let c = config(&env);
    let g = c["credentials"]["api"].as_table().unwrap();
    assert_eq!(g["base_url"].as_str(), Some("http://api.example.test/v2"));
    assert_eq!(g["allow_http"].as_bool(), Some(true));
}

#[test]
fn a_check_that_cannot_confirm_names_no_flag_in_the_wizard() {
    let env = TestEnv::new();
    let server = Server::start(|_| Reply::new(503, "maintenance"));
    let key = secret("noflag");
    let extra = [paymo_env(&server)];
    let mut w = Wizard::start(&env, &["add", "paymo", "--name", "paymo"], &extra);
    w.answer_hidden("API key", &key);
    w.expect("could not confirm the key");
    w.expect("Quit without storing anything");
    w.send("\x03");
    let (code, seen) = w.finish();
    assert_eq!(code, 130, "{seen}");
    assert!(seen.contains("Store it unchecked"), "{seen}");
    assert!(!seen.contains("--no-verify"), "{seen}");
}

#[test]
fn a_name_taken_meanwhile_gets_the_replace_or_rename_menu() {
    let env = TestEnv::new();
    let first = secret("first");
    env.add(&["paymo", "--no-verify"], &first, &[]).ok();
    let mine = secret("mine");
    let mut w = Wizard::start(&env, &["add", "paymo", "--no-verify"], &[]);
    w.expect("A credential named `paymo` exists.");
    w.expect("Store this one under another name");
    w.send(ENTER);
    w.expect("? Name for this credential");
    w.expect("paymo-2");
    w.send(ENTER);
    w.wait_reading("API key");
    // Another `cred add` takes paymo-2 while this one waits for the key.
    let theirs = secret("theirs");
    env.add(&["paymo", "--no-verify", "--name", "paymo-2"], &theirs, &[])
        .ok();
    w.send(&format!("{mine}{ENTER}"));
    w.expect("A credential named `paymo-2` exists.");
    w.expect("Store this one under another name");
    w.send(ENTER);
    w.expect("? Name for this credential");
    w.expect("paymo-3");
    w.send(ENTER);
    w.expect("Stored `paymo-3`");
    let (code, seen) = w.finish();
    assert_eq!(code, 0, "{seen}");
    assert_eq!(keychain_lookup(&env, "paymo-2").as_deref(), Some(&*theirs));
    assert_eq!(keychain_lookup(&env, "paymo-3").as_deref(), Some(&*mine));
}

#[test]
fn the_label_is_asked_only_for_more_options() {
    let env = TestEnv::new();
    let key = secret("label");
    let mut w = Wizard::start(
        &env,
        &["add", "generic", "--name", "api", "--no-verify"],
        &[],
    );
    w.answer("API base URL", "https://api.example.test");
    w.expect("? Where does the key go?");
    w.send(ENTER);
    w.answer("Header name", "X-Api-Key");
    w.expect("usually the key alone (${apiKey})");
    w.send(ENTER);
    w.answer("Path to check the key with", "");
    w.confirm("More options", ENTER);
    w.answer_hidden("API Key", &key);
    w.expect("Stored `api`");
    let (code, seen) = w.finish();
    assert_eq!(code, 0, "{seen}");
    assert!(!seen.contains("What the API calls the key"), "{seen}");
    let c = config(&env);
    assert_eq!(c["credentials"]["api"]["label"].as_str(), Some("API Key"));
}

#[test]
fn a_check_that_timed_out_is_tried_again_with_the_same_key() {
    let env = TestEnv::new();
    let key = secret("slow");
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = calls.clone();
    let server = Server::start(move |_| {
        // The first answer comes after cred has given up; the next at once.
        if seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            std::thread::sleep(Duration::from_millis(1500));
        }
        Reply::json(
            200,
            r#"{"users":[{"name":"Ana","email":"ana@example.com"}]}"#,
        )
    });
    let extra = [paymo_env(&server), ("CRED_CHECK_TIMEOUT", "1".into())];
    let mut w = Wizard::start(&env, &["add", "paymo"], &extra);
    w.answer_hidden("API key", &key);
    w.expect("CRED_CHECK_TIMEOUT=SECONDS allows more time");
    w.expect("Check again with the same key");
    // Past the server's slow first answer.
    std::thread::sleep(Duration::from_millis(1000));
    w.send(ENTER);
    w.expect("Paymo accepted the key");
    w.expect("Stored `paymo`");
    let (code, seen) = w.finish();
    assert_eq!(code, 0, "{seen}");
    assert_eq!(keychain_lookup(&env, "paymo").as_deref(), Some(&*key));
    assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);
}
