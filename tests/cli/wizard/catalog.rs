//! The wizard of a catalog provider is the definition's: its guide, its
//! fields (validated and asked again), its secret label, its check and the
//! identity the check names. A provider without fields asks only the key
//! after the guide (and cred's own name and description).

use super::*;
use crate::providers::{ACME, acme_env, write_provider};

const TOKENCO: &str = r#"id = "tokenco"
name = "TokenCo"
summary = "TokenCo API: a personal token"
docs = "https://tokenco.example/docs"
base_url = "https://api.tokenco.example"
secret_label = "personal token"
example_path = "/user"
guide = """TokenCo: you need a personal token.
  Make one at tokenco.example > Settings > Tokens and copy it now."""

[auth]
scheme = "header"
header = "Authorization"
value = "Bearer {key}"

[check]
path = "/user"
rejected = [401]
identity = "Authenticated as {/login}"
rejected_message = "TokenCo rejected the token"
"#;

#[test]
fn a_provider_without_fields_asks_only_the_key_and_names_the_owner() {
    let env = TestEnv::new();
    write_provider(&env, "tokenco.toml", TOKENCO);
    let key = secret("tok");
    let good = format!("Bearer {key}");
    let server = Server::start(move |s| {
        if s.header("authorization") == Some(good.as_str()) {
            Reply::json(200, r#"{"login":"ada"}"#)
        } else {
            Reply::json(401, "{}")
        }
    });
    let url = [("CRED_PROVIDER_URL_TOKENCO", server.url())];
    let mut w = Wizard::start(&env, &["add", "tokenco"], &url);
    w.expect("TokenCo: you need a personal token.");
    w.answer_hidden("personal token", &key);
    w.expect("TokenCo accepted the key: Authenticated as ada");
    w.expect("Stored `tokenco` (tokenco,");
    let (code, seen) = w.finish();
    assert_eq!(code, 0, "{seen}");
    assert!(!seen.contains(&key), "the key was echoed:\n{seen}");
    // One question after the guide: the token (the name is the id).
    let questions: Vec<&str> = seen
        .split(['\r', '\n'])
        .filter(|l| l.starts_with("? "))
        .collect();
    assert_eq!(questions.len(), 1, "{questions:?}\n{seen}");
    assert!(questions[0].starts_with("? personal token"));
    assert_eq!(env.run(&["secret", "tokenco"]).stdout, format!("{key}\n"));
}

#[test]
fn a_field_is_asked_from_the_definition_and_asked_again_when_refused() {
    let env = TestEnv::new();
    write_provider(&env, "acme.toml", ACME);
    let server = Server::start(|_| Reply::json(200, r#"{"login":"ada"}"#));
    let mut w = Wizard::start(&env, &["add", "acme", "--no-verify"], &[acme_env(&server)]);
    w.expect("Acme: make a team token");
    w.answer("Team", "Blue Team");
    w.expect("does not look like blue");
    w.answer("Team", "blue");
    w.answer_hidden("team token", &secret("acme"));
    w.expect("Stored `acme` (acme,");
    let (code, seen) = w.finish();
    assert_eq!(code, 0, "{seen}");
    assert!(env.config_text().contains("team = \"blue\""));
}

/// Issue 27's example: `cred add github` on a terminal asks the token
/// after the guide (besides cred's own name and description), checks it
/// and prints the login.
#[test]
fn github_asks_the_token_checks_it_and_names_the_login() {
    let env = TestEnv::new();
    let key = secret("gh");
    let good = format!("Bearer {key}");
    let server = Server::start(move |s| {
        if s.header("authorization") == Some(good.as_str()) {
            Reply::json(200, r#"{"login":"octocat","name":"The Octocat"}"#)
        } else {
            Reply::json(401, r#"{"message":"Bad credentials"}"#)
        }
    });
    let url = [("CRED_PROVIDER_URL_GITHUB", server.url())];
    let mut w = Wizard::start(&env, &["add", "github"], &url);
    w.expect("GitHub");
    w.answer_hidden("fine-grained personal access token", &key);
    w.expect("Authenticated as octocat (The Octocat)");
    w.expect("Stored `github` (github,");
    let (code, seen) = w.finish();
    assert_eq!(code, 0, "{seen}");
    // One question after the guide: the token.
    let questions: Vec<&str> = seen
        .split(['\r', '\n'])
        .filter(|l| l.starts_with("? "))
        .collect();
    assert_eq!(questions.len(), 1, "{questions:?}\n{seen}");
    assert!(questions[0].starts_with("? fine-grained personal access token"));
    assert_eq!(server.requests()[0].path(), "/user");
}
