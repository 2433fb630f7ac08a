//! Text from others never reaches the terminal raw (SPEC §7, hostile
//! input): bidi controls (a right-to-left override makes
//! `invoice \u{202e}gnp.exe` show as `invoice exe.png`), zero-width and
//! other Unicode format characters are refused in names, labels and
//! descriptions given to cred, refused in a hand-edited config.toml (as
//! control characters are), and shown escaped when a server sends them.

use crate::common::*;

/// A right-to-left override, a zero-width space, a right-to-left isolate.
const HIDDEN: [char; 3] = ['\u{202e}', '\u{200b}', '\u{2067}'];

fn assert_shown_escaped(what: &str, text: &str) {
    for c in HIDDEN {
        assert!(!text.contains(c), "{what} holds a raw {c:?}:\n{text:?}");
    }
}

#[test]
fn a_description_or_label_with_a_bidi_control_is_refused() {
    let env = TestEnv::new();
    let run = env.add(
        &[
            "generic",
            "--base-url",
            "https://api.example.com",
            "--no-verify",
            "--description",
            "invoice \u{202e}gnp.exe",
        ],
        &secret("g"),
        &[],
    );
    run.code(1);
    assert_one_error(
        &run,
        "invalid --description: it holds a control character (\\u{202e}, a bidi control",
    );
    assert_shown_escaped("add", &run.all());
    assert_nothing_stored(&env, "generic", None);

    let run = env.add(
        &[
            "generic",
            "--base-url",
            "https://api.example.com",
            "--no-verify",
            "--label",
            "API\u{200b}Key",
        ],
        &secret("g"),
        &[],
    );
    run.code(1);
    assert!(
        run.stderr.contains("\\u{200b}") && run.stderr.contains("--label"),
        "{run}"
    );
    assert_shown_escaped("add", &run.all());
    assert_nothing_stored(&env, "generic", None);
}

#[test]
fn a_hand_edited_description_with_a_bidi_control_is_refused_with_it_escaped() {
    let env = TestEnv::new();
    std::fs::create_dir_all(env.config_dir()).unwrap();
    std::fs::write(
        env.config_path(),
        "[credentials.paymo]\nprovider = \"paymo\"\ndescription = \"invoice \\u202Egnp.exe\"\n",
    )
    .unwrap();
    for args in [vec!["list"], vec!["show", "paymo"], vec!["list", "--json"]] {
        let run = env.run(&args);
        run.code(1);
        assert_shown_escaped(&args.join(" "), &run.all());
        assert!(
            run.stderr.contains("(\\u{202e}, a bidi control")
                && run.stderr.contains("credentials.paymo.description"),
            "{run}"
        );
    }
}

#[test]
fn format_characters_from_a_server_are_shown_escaped() {
    let name = "Ada \u{202e}gnp.exe\u{200b}\u{2067}";
    let body = serde_json::json!({"users": [{"id": 1, "name": name, "email": "ada@example.com"}]})
        .to_string();
    let server = Server::start(move |_| Reply::json(200, &body));
    let env = TestEnv::new();
    let run = env.add(&["paymo"], &secret("paymo"), &[paymo_env(&server)]);
    run.ok();
    assert_shown_escaped("add", &run.all());
    assert!(
        run.stderr.contains("Ada \\u{202e}gnp.exe\\u{200b}"),
        "{run}"
    );
    for args in [vec!["show", "paymo"], vec!["list"]] {
        let run = run_env(&env, &args, &[paymo_env(&server)]);
        run.ok();
        assert_shown_escaped(&args.join(" "), &run.all());
    }
    // JSON output keeps the same string, escaped the JSON way.
    let run = run_env(&env, &["show", "paymo", "--json"], &[paymo_env(&server)]);
    run.ok();
    assert_shown_escaped("show --json", &run.all());
    assert!(run.stdout.contains("\\u202e"), "{run}");
    let v = json(&run);
    assert!(v.to_string().contains('\u{202e}'), "{run}");
}
