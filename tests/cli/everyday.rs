//! Everyday commands (issue 26): `ls` and `rm`; "did you mean" for a
//! mistyped credential and an unknown provider; `remove --local`, also
//! offered when a shared Vault refuses the delete; `show` with every
//! non-secret field (Paligo's base URL) even when the store cannot be used;
//! a forgotten `CRED_PALIGO_URL` named in the refusal.

use crate::common::*;

/// A session bus address where nothing listens.
const NO_BUS: &str = "unix:path=/nonexistent/cred-test-bus";

#[test]
fn ls_and_rm_are_list_and_remove() {
    let server = Server::start(|_| Reply::json(200, "{}"));
    let env = TestEnv::new();
    add_generic_unchecked(&env, &server.url(), &[]);
    let run = env.run(&["ls"]);
    run.ok();
    assert!(run.stdout.contains("api"), "{run}");
    env.run(&["rm", "api", "--yes"]).ok();
    assert!(keychain_lookup(&env, "api").is_none());
    assert!(
        !env.config_text().contains("[api]"),
        "{}",
        env.config_text()
    );
    let run = env.run(&["--help"]);
    assert!(run.stdout.contains("[alias: ls]"), "{run}");
}

#[test]
fn a_mistyped_name_or_provider_gets_a_suggestion() {
    let server = Server::start(|_| Reply::json(200, "{}"));
    let env = TestEnv::new();
    add_paligo_unchecked(&env, &server);
    add_paymo_unchecked(&env, &server);
    let run = env.run(&["call", "paligoo", "/x"]);
    run.code(1);
    assert_one_error(&run, "no credential named `paligoo`");
    assert!(run.stderr.contains("hint: did you mean `paligo`?"), "{run}");
    // Nothing close: the list, as before.
    let run = env.run(&["show", "github"]);
    run.code(1);
    assert!(
        run.stderr
            .contains("hint: stored credentials: paligo, paymo"),
        "{run}"
    );
    // A provider the catalog does not have: generic, under that name.
    let run = env.run(&["add", "acme-api"]);
    run.code(2);
    assert_one_error(&run, "unknown provider `acme-api`");
    assert!(
        run.stderr.contains(
            "hint: for any other API-key HTTP API: cred add generic --name acme-api --base-url URL"
        ),
        "{run}"
    );
    // A typo of one it has: the closest id.
    let run = env.run(&["add", "paymoo"]);
    run.code(2);
    assert!(run.stderr.contains("hint: did you mean `paymo`?"), "{run}");
}

#[test]
fn remove_local_forgets_the_credential_and_keeps_the_secret() {
    let server = Server::start(|_| Reply::json(200, "{}"));
    let env = TestEnv::new();
    let key = add_generic_unchecked(&env, &server.url(), &[]);
    let run = env.run(&["remove", "api", "--local", "--yes"]);
    run.ok();
    assert!(run.stderr.contains("Forgot `api` here"), "{run}");
    assert!(
        !env.config_text().contains("[api]"),
        "{}",
        env.config_text()
    );
    assert_eq!(keychain_lookup(&env, "api").as_deref(), Some(key.as_str()));
}

#[test]
fn a_vault_that_refuses_the_delete_offers_remove_local() {
    let bao = Bao::start();
    let server = ok_server();
    let env = TestEnv::new();
    let mut vars = bao.env(&bao.root);
    vars.push(paligo_env(&server));
    env.add(
        &[
            "paligo",
            "--instance",
            "acme",
            "--username",
            EMAIL,
            "--store",
            "vault",
            "--no-verify",
        ],
        &secret("team"),
        &vars,
    )
    .ok();
    // A teammate's token: read and write, no delete.
    let token = bao.token_with_policy(
        "cred-no-delete",
        r#"path "secret/data/cred/*" { capabilities = ["create", "read", "update"] }
path "secret/metadata/cred/*" { capabilities = ["list", "read"] }"#,
    );
    let mut vars = bao.env(&token);
    vars.push(paligo_env(&server));
    let run = run_env(&env, &["remove", "paligo", "--yes"], &vars);
    run.code(7);
    assert!(
        run.stderr.contains(
            "hint: to forget it here only and keep it in Vault for everyone else: cred remove paligo --local"
        ),
        "{run}"
    );
    assert!(bao.kv_exists("secret", "paligo"));
    run_env(&env, &["remove", "paligo", "--local", "--yes"], &vars).ok();
    assert!(
        !env.config_text().contains("paligo]"),
        "{}",
        env.config_text()
    );
    assert!(bao.kv_exists("secret", "paligo"), "the team keeps it");
}

#[test]
fn show_prints_every_field_when_the_store_cannot_be_used() {
    let server = Server::start(|_| Reply::json(200, "{}"));
    let env = TestEnv::new();
    add_paligo_unchecked(&env, &server);
    let url = format!("{}/acme/api/v2", server.url());
    let run = run_env(&env, &["show", "paligo"], &[paligo_env(&server)]);
    run.ok();
    assert!(
        run.stdout
            .lines()
            .any(|l| l.starts_with("base URL") && l.contains(&url)),
        "{run}"
    );
    let run = run_env(
        &env,
        &["show", "paligo"],
        &[
            paligo_env(&server),
            ("DBUS_SESSION_BUS_ADDRESS", NO_BUS.to_string()),
        ],
    );
    run.code(7);
    for field in ["instance", "username", "base URL"] {
        assert!(
            run.stdout.lines().any(|l| l.starts_with(field)),
            "{field}\n{run}"
        );
    }
    assert!(
        run.stdout.lines().any(
            |l| l.starts_with("secret") && l.contains("not read: cannot reach the OS keychain")
        ),
        "{run}"
    );
    assert_error_line(&run, "cannot reach the OS keychain");
    let run = run_env(
        &env,
        &["show", "paligo", "--json"],
        &[
            paligo_env(&server),
            ("DBUS_SESSION_BUS_ADDRESS", NO_BUS.to_string()),
        ],
    );
    run.code(7);
    let v = json(&run);
    assert_eq!(v["base_url"], url.as_str());
    assert_eq!(v["fields"]["instance"], "acme");
    assert!(
        v["secret_error"]
            .as_str()
            .unwrap()
            .starts_with("cannot reach the OS keychain"),
        "{run}"
    );
}

#[test]
fn a_forgotten_url_variable_is_named() {
    let server = Server::start(|_| Reply::json(200, "{}"));
    let env = TestEnv::new();
    add_paligo_unchecked(&env, &server);
    // A new shell without CRED_PALIGO_URL: the default address now.
    let run = env.run(&["call", "paligo", "/documents"]);
    run.code(1);
    assert_one_error(&run, "refusing to send the secret of `paligo`");
    assert!(
        run.stderr.contains("cause: CRED_PALIGO_URL is not set now"),
        "{run}"
    );
    assert!(
        run.stderr.contains("hint: set CRED_PALIGO_URL again"),
        "{run}"
    );
    assert_eq!(server.count(), 0);
    // Paymo alike.
    let env = TestEnv::new();
    add_paymo_unchecked(&env, &server);
    let run = env.run(&["verify", "paymo"]);
    run.code(1);
    assert!(run.stdout.contains("refusing"), "{run}");
    let run = env.run(&["secret", "paymo"]);
    run.ok();
    let run = env.run(&["call", "paymo", "/me"]);
    run.code(1);
    assert!(
        run.stderr.contains("cause: CRED_PAYMO_URL is not set now"),
        "{run}"
    );
}
