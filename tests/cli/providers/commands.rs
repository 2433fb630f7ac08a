//! `cred providers [list|show ID|search WORD]`, and completion of provider
//! ids.

use super::*;

#[test]
fn list_shows_every_provider_with_its_source() {
    let env = TestEnv::new();
    let run = env.run(&["providers"]);
    run.ok();
    let ids: Vec<&str> = run
        .stdout
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    for id in ["paligo", "paymo", "generic"] {
        assert!(ids.contains(&id), "{id} missing\n{run}");
    }
    assert_eq!(run.stdout, env.run(&["providers", "list"]).stdout);
    // Built-ins and the user's own, in JSON.
    write_provider(&env, "acme.toml", ACME);
    let run = env.run(&["providers", "list", "--json"]);
    run.ok();
    let items = json(&run);
    let acme = items
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "acme")
        .unwrap_or_else(|| panic!("{run}"));
    assert_eq!(acme["source"], "user");
    assert_eq!(acme["overrides_built_in"], false);
    let paligo = items
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == "paligo")
        .unwrap();
    assert_eq!(paligo["source"], "built-in");
}

#[test]
fn show_tells_fields_flags_auth_and_check() {
    let env = TestEnv::new();
    let run = env.run(&["providers", "show", "paligo"]);
    run.ok();
    for expected in [
        "paligo: Paligo",
        "Source:     built in",
        "https://{instance}.paligoapp.com/api/v2 (another address: set CRED_PROVIDER_URL_PALIGO)",
        "HTTP Basic, user {username}, password {key}",
        "GET /folders?per_page=1",
        "--instance mycompany",
        "cred add paligo --instance mycompany --username me@example.com",
        "Only Paligo admins can use the API.",
    ] {
        assert!(run.stdout.contains(expected), "{expected}\n{run}");
    }
    // An override in force is said, with the address it gives.
    let run = env
        .cmd()
        .args(["providers", "show", "github"])
        .env("CRED_PROVIDER_URL_GITHUB", "http://127.0.0.1:9/api")
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&run.stdout);
    assert!(
        out.contains(
            "https://api.github.com (now http://127.0.0.1:9/api from CRED_PROVIDER_URL_GITHUB)"
        ),
        "{out}"
    );
    let run = env.run(&["providers", "show", "paymo", "--json"]);
    run.ok();
    let p = json(&run);
    assert_eq!(p["id"], "paymo");
    assert_eq!(p["auth"]["scheme"], "basic");
    assert_eq!(p["auth"]["user"], "{key}");
    assert_eq!(p["check"]["path"], "/me");
    assert_eq!(p["url_variable"], "CRED_PROVIDER_URL_PAYMO");
    assert_eq!(p["fields"].as_array().unwrap().len(), 0);
    // The user's own, with its field's flag.
    write_provider(&env, "acme.toml", ACME);
    let run = env.run(&["providers", "show", "acme", "--json"]);
    run.ok();
    let a = json(&run);
    assert_eq!(a["fields"][0]["flag"], "--field team");
    assert_eq!(a["source"], "user");
    env.run(&["providers", "show", "generic"]).ok();
}

#[test]
fn show_of_an_unknown_id_suggests_the_closest() {
    let env = TestEnv::new();
    let run = env.run(&["providers", "show", "paymoo"]);
    run.code(1);
    assert_one_error(&run, "unknown provider `paymoo`");
    assert!(run.stderr.contains("hint: did you mean `paymo`?"), "{run}");
}

#[test]
fn search_finds_by_id_name_summary_and_keyword() {
    let env = TestEnv::new();
    let run = env.run(&["providers", "search", "TIME"]);
    run.ok();
    assert!(run.stdout.lines().any(|l| l.starts_with("paymo")), "{run}");
    assert!(!run.stdout.contains("paligo"), "{run}");
    write_provider(&env, "acme.toml", ACME);
    let run = env.run(&["providers", "search", "widgets", "--json"]);
    run.ok();
    let ids: Vec<String> = json(&run)
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, ["acme"]);
    let run = env.run(&["providers", "search", "zzzz"]);
    run.code(1);
    assert_one_error(&run, "no provider matches `zzzz`");
}

#[test]
fn tab_completes_provider_ids_for_add_and_show() {
    let env = TestEnv::new();
    write_provider(&env, "acme.toml", ACME);
    for line in [["cred", "add", ""], ["cred", "providers", "show"]] {
        let mut words: Vec<&str> = line.to_vec();
        if words[1] == "providers" {
            words.push("");
        }
        let run = env.run_with(&[], |c| {
            c.env("COMPLETE", "bash")
                .env("_CLAP_COMPLETE_INDEX", (words.len() - 1).to_string())
                .env("_CLAP_COMPLETE_COMP_TYPE", "9")
                .env("_CLAP_COMPLETE_SPACE", "true")
                .env("_CLAP_IFS", "\n")
                .arg("--")
                .args(&words);
        });
        run.ok();
        for id in ["acme", "paligo", "paymo", "generic"] {
            assert!(
                run.stdout.lines().any(|l| l == id),
                "{id} not offered for {words:?}\n{run}"
            );
        }
    }
}
