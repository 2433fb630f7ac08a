//! The `cred add` wizard in a real pseudo-terminal (rexpect): guide text,
//! prompts that explain and re-ask on bad input, the hidden key prompt, the
//! live check against a loopback server, the "What now?" choice after a
//! rejected key, and what ends up stored.

use rexpect::process::WaitStatus;
use rexpect::session::{Options, PtySession, spawn_with_options};

use std::time::{Duration, Instant};

use crate::common::*;

mod cancel;
mod catalog;
mod headless;
mod recovery;
mod unlock;

/// Arrows and Enter, as a terminal sends them.
const DOWN: &str = "\x1b[B";
const UP: &str = "\x1b[A";
const ENTER: &str = "\r";

/// A `cred` process on a pseudo-terminal, and everything it printed so far.
struct Wizard {
    session: PtySession,
    seen: String,
    /// `CRED_CONFIG_DIR=…` of this test, to find the process in /proc.
    marker: Vec<u8>,
}

impl Wizard {
    fn start(env: &TestEnv, args: &[&str], extra: &[(&str, String)]) -> Wizard {
        Wizard::start_with(env, args, extra, true)
    }

    /// With `strip` false, the escape sequences cred prints are kept (to
    /// check the cursor's visibility).
    fn start_with(env: &TestEnv, args: &[&str], extra: &[(&str, String)], strip: bool) -> Wizard {
        let mut cmd = std_cmd(env);
        cmd.args(args).env("TERM", "xterm");
        Wizard::spawn(env, cmd, extra, strip)
    }

    /// Like [`Wizard::start`], with the terminal's echo on before cred
    /// starts, as a shell leaves it (rexpect turns it off before exec):
    /// `stty echo` runs first, so nothing races cred's first prompt.
    fn start_echoing(env: &TestEnv, args: &[&str], extra: &[(&str, String)]) -> Wizard {
        let inner = std_cmd(env);
        let mut cmd = std::process::Command::new("sh");
        cmd.env_clear().current_dir(env.dir.path());
        for (k, v) in inner.get_envs() {
            if let Some(v) = v {
                cmd.env(k, v);
            }
        }
        cmd.arg("-c")
            .arg("stty echo && exec \"$0\" \"$@\"")
            .arg(inner.get_program())
            .args(args)
            .env("TERM", "xterm");
        Wizard::spawn(env, cmd, extra, true)
    }

    fn spawn(
        env: &TestEnv,
        mut cmd: std::process::Command,
        extra: &[(&str, String)],
        strip: bool,
    ) -> Wizard {
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let options = Options::new()
            .timeout_ms(Some(20_000))
            .strip_ansi_escape_codes(strip);
        Wizard {
            session: spawn_with_options(cmd, options).expect("spawn cred on a pty"),
            seen: String::new(),
            marker: format!("CRED_CONFIG_DIR={}\0", env.config_dir().display()).into_bytes(),
        }
    }

    /// The pid of this test's `cred` (rexpect does not expose it).
    fn pid(&self) -> String {
        // Polls /proc; the 10 s bound only stops a hang.
        let start = Instant::now();
        loop {
            for entry in std::fs::read_dir("/proc").unwrap().flatten() {
                let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
                    continue;
                };
                let is_cred = std::fs::read(entry.path().join("cmdline"))
                    .is_ok_and(|c| c.starts_with(env!("CARGO_BIN_EXE_cred").as_bytes()));
                if is_cred && environ.windows(self.marker.len()).any(|w| w == self.marker) {
                    return entry.file_name().to_string_lossy().into_owned();
                }
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "cred not found in /proc"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Waits for the hidden prompt, and until `cred` is blocked reading
    /// it: the prompt turns echo off with TCSAFLUSH, which drops anything
    /// typed before, as a person never types that fast but a test does.
    fn answer_hidden(&mut self, prompt: &str, answer: &str) {
        self.wait_reading(prompt);
        self.send(&format!("{answer}{ENTER}"));
    }

    /// Waits for `prompt`, and until `cred` sits in read(0, …).
    fn wait_reading(&mut self, prompt: &str) {
        self.expect(&format!("? {prompt}"));
        self.until_reading();
    }

    /// Waits until `cred` sits in read(0, …).
    fn until_reading(&mut self) {
        let pid = self.pid();
        let read = if cfg!(target_arch = "aarch64") {
            "63"
        } else {
            "0"
        };
        // Polls until cred sits in read(0, …); the 10 s bound only stops a
        // hang.
        let start = Instant::now();
        loop {
            let syscall =
                std::fs::read_to_string(format!("/proc/{pid}/syscall")).unwrap_or_default();
            let mut fields = syscall.split_whitespace();
            if fields.next() == Some(read) && fields.next() == Some("0x0") {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "cred never read its terminal: {syscall}\n{}",
                self.seen
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The pseudo-terminal's settings (master and slave share them).
    fn termios(&self) -> rustix::termios::Termios {
        let pty = self.session.process().get_file_handle().unwrap();
        rustix::termios::tcgetattr(&pty).unwrap()
    }

    /// Sends Ctrl-C, waits for the end, and checks that cred exited 130
    /// with the terminal's echo on again; returns what it printed.
    fn ctrl_c_restores_echo(mut self) -> String {
        self.send("\x03");
        let pty = self.session.process().get_file_handle().unwrap();
        let (code, seen) = self.finish();
        assert_eq!(code, 130, "{seen}");
        let after = rustix::termios::tcgetattr(&pty).unwrap();
        assert!(
            after
                .local_modes
                .contains(rustix::termios::LocalModes::ECHO),
            "echo is still off after Ctrl-C\n{seen}"
        );
        seen
    }

    /// Waits until `text` is printed.
    fn expect(&mut self, text: &str) {
        match self.session.exp_string(text) {
            Ok(before) => {
                self.seen.push_str(&before);
                self.seen.push_str(text);
            }
            Err(e) => panic!(
                "waiting for {text:?}: {e}\n--- output so far ---\n{}",
                self.seen
            ),
        }
    }

    /// Types `keys` (nothing is added: end answers with ENTER).
    fn send(&mut self, keys: &str) {
        self.session.send(keys).unwrap();
        self.session.flush().unwrap();
    }

    /// Waits for `prompt`, then types `answer` and Enter.
    fn answer(&mut self, prompt: &str, answer: &str) {
        self.expect(&format!("? {prompt}"));
        self.send(&format!("{answer}{ENTER}"));
    }

    /// Waits for the yes/no question `prompt`, then presses `key` (`y`,
    /// `n`, or ENTER for the default): one key, no Enter after a letter.
    fn confirm(&mut self, prompt: &str, key: &str) {
        self.expect(&format!("? {prompt}"));
        self.send(key);
    }

    /// Reads to the end and returns the exit code.
    fn finish(mut self) -> (i32, String) {
        match self.session.exp_eof() {
            Ok(rest) => self.seen.push_str(&rest),
            Err(e) => panic!("waiting for exit: {e}\n{}", self.seen),
        }
        match self.session.process().wait().unwrap() {
            WaitStatus::Exited(_, code) => (code, self.seen),
            other => panic!("cred ended with {other:?}\n{}", self.seen),
        }
    }
}

#[test]
fn paligo_wizard_guides_validates_and_stores() {
    let env = TestEnv::new();
    let server = Server::start(|_| Reply::json(200, r#"{"page":1,"folders":[]}"#));
    let key = secret("wizard");
    let mut w = Wizard::start(
        &env,
        &["add", "paligo", "--description", "docs team"],
        &[paligo_env(&server)],
    );
    w.expect("Only Paligo admins can use the API");
    w.expect("My Profile");
    w.answer(
        "Paligo instance",
        "https://acme.paligoapp.com/document/edit/12",
    );
    w.expect("using: acme");
    w.answer("Username", "not-an-email");
    w.expect("`not-an-email` is not an email address");
    w.answer("Username", "me@acme.com");
    w.answer_hidden("API key", &key);
    w.expect("Paligo accepted the key");
    w.expect("Stored `paligo` (paligo, acme)");
    let (code, seen) = w.finish();
    assert_eq!(code, 0, "{seen}");
    assert!(!seen.contains(&key), "the key was echoed:\n{seen}");

    let c = config(&env);
    let stored = &c["credentials"]["paligo"];
    assert_eq!(stored["instance"].as_str(), Some("acme"));
    assert_eq!(stored["username"].as_str(), Some("me@acme.com"));
    assert_eq!(stored["description"].as_str(), Some("docs team"));
    assert_eq!(env.run(&["secret", "paligo"]).stdout, format!("{key}\n"));
    let seen = server.requests();
    assert_eq!(seen.len(), 1, "{seen:#?}");
    assert_eq!(seen[0].url, "/acme/api/v2/folders?per_page=1");
    assert_eq!(
        seen[0].header("authorization"),
        Some(&*basic("me@acme.com", &key))
    );
}

#[test]
fn generic_wizard_with_query_placement() {
    let env = TestEnv::new();
    let server = Server::start(|_| Reply::json(200, "{}"));
    let key = secret("gwiz");
    let base = format!("{}/v1/", server.url());
    let mut w = Wizard::start(&env, &["add", "generic", "--name", "api"], &[]);
    w.expect("any HTTP API that takes an API key");
    w.answer("API base URL", &base);
    w.expect("because the host is loopback");
    w.expect("? Where does the key go?");
    w.expect("query: in a query parameter");
    w.send(DOWN);
    w.send(ENTER);
    w.expect("proxy and CDN logs");
    w.answer("Query parameter name", ""); // the default: api_key
    // The example fits a query parameter: the bare key.
    w.expect("? How the key is written, ${apiKey} for the key; usually the key alone (${apiKey})");
    w.send(ENTER); // the default: ${apiKey}
    w.answer("Path to check the key with", "/me");
    // The label is asked only for more options.
    w.confirm("More options", "y\r");
    w.answer("What the API calls the key", "Access token");
    w.answer_hidden("Access token", &key);
    w.expect("accepted the key");
    w.expect("Stored `api`");
    let (code, seen) = w.finish();
    assert_eq!(code, 0, "{seen}");
    assert!(!seen.contains(&key), "the key was echoed:\n{seen}");

    let c = config(&env);
    let g = c["credentials"]["api"].as_table().unwrap();
    assert_eq!(g["provider"].as_str(), Some("generic"));
    assert_eq!(g["base_url"].as_str(), Some(base.trim_end_matches('/')));
    assert_eq!(g["placement"].as_str(), Some("query"));
    assert_eq!(g["key_name"].as_str(), Some("api_key"));
    assert_eq!(g["template"].as_str(), Some("${apiKey}"));
    assert_eq!(g["label"].as_str(), Some("Access token"));
    assert_eq!(g["check_path"].as_str(), Some("/me"));
    assert!(!g.contains_key("description"), "{g:?}");
    let seen = server.requests();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path(), "/v1/me");
    assert_eq!(seen[0].query(), format!("api_key={key}"));
    assert_eq!(env.run(&["secret", "api"]).stdout, format!("{key}\n"));
}

#[test]
fn rejected_key_can_be_typed_again() {
    let env = TestEnv::new();
    let good = secret("good");
    let bad = secret("bad");
    let expected = format!("Api-Key {good}");
    let server = Server::start(move |seen| {
        if seen.header("x-api-key") == Some(expected.as_str()) {
            Reply::json(200, "{}")
        } else {
            Reply::json(401, r#"{"error":"invalid key"}"#)
        }
    });
    let mut w = Wizard::start(&env, &["add", "generic"], &[]);
    w.answer("Name for this credential", "");
    w.answer("API base URL", &server.url());
    w.expect("? Where does the key go?");
    w.send(ENTER); // the default: header
    w.answer("Header name", "x-api-key");
    w.answer("How the key is written", "Api-Key ${apiKey}");
    w.answer("Path to check the key with", ""); // empty: the base URL
    w.confirm("More options", ENTER); // the default: no
    w.answer_hidden("API Key", &bad);
    w.expect("the API rejected the key (HTTP 401)");
    w.expect("What now?");
    w.expect("Enter the key again");
    w.expect("Quit without storing anything");
    w.send(ENTER);
    w.answer_hidden("API Key", &good);
    w.expect("accepted the key");
    w.expect("Stored `generic`");
    let (code, seen) = w.finish();
    assert_eq!(code, 0, "{seen}");
    assert!(!seen.contains(&good) && !seen.contains(&bad), "{seen}");

    let requests = server.requests();
    assert_eq!(requests.len(), 2, "{requests:#?}");
    assert_eq!(
        requests[0].header("x-api-key"),
        Some(&*format!("Api-Key {bad}"))
    );
    assert_eq!(
        requests[1].header("x-api-key"),
        Some(&*format!("Api-Key {good}"))
    );
    assert_eq!(requests[1].path(), "/");
    let c = config(&env);
    assert!(
        !c["credentials"]["generic"]
            .as_table()
            .unwrap()
            .contains_key("check_path")
    );
    assert_eq!(keychain_lookup(&env, "generic").as_deref(), Some(&*good));
}

#[test]
fn quitting_after_a_rejected_key_stores_nothing() {
    let env = TestEnv::new();
    let server = Server::start(|_| Reply::json(401, "{}"));
    let key = secret("quit");
    let mut w = Wizard::start(&env, &["add", "paymo"], &[paymo_env(&server)]);
    w.expect("the My Account page");
    w.answer_hidden("API key", &key);
    w.expect("Paymo rejected the API key");
    w.expect("Quit without storing anything");
    w.send(DOWN);
    w.send(ENTER);
    w.expect("nothing was stored");
    let (code, seen) = w.finish();
    assert_eq!(code, 4, "{seen}");
    assert!(!env.config_text().contains("paymo"));
    assert_eq!(keychain_lookup(&env, "paymo"), None);
}

#[test]
fn an_existing_name_can_be_replaced_or_another_picked() {
    let env = TestEnv::new();
    let old = secret("old");
    env.add(&["paymo", "--no-verify"], &old, &[]).ok();
    // The name is taken: storing it under another name is the default
    // choice, and the name prompt offers the next free name.
    let new = secret("new");
    let mut w = Wizard::start(&env, &["add", "paymo", "--no-verify"], &[]);
    w.expect("A credential named `paymo` exists.");
    w.expect("Store this one under another name");
    w.send(ENTER);
    w.expect("? Name for this credential");
    w.expect("paymo-2");
    w.send(ENTER);
    w.answer_hidden("API key", &new);
    w.expect("Stored `paymo-2`");
    let (code, seen) = w.finish();
    assert_eq!(code, 0, "{seen}");
    assert_eq!(keychain_lookup(&env, "paymo").as_deref(), Some(&*old));
    assert_eq!(keychain_lookup(&env, "paymo-2").as_deref(), Some(&*new));

    // A name in use: pick another (the default choice) ...
    let third = secret("third");
    let mut w = Wizard::start(
        &env,
        &["add", "paymo", "--no-verify", "--name", "paymo"],
        &[],
    );
    w.expect("A credential named `paymo` exists.");
    w.expect("Store this one under another name");
    w.send(ENTER);
    w.answer("Name for this credential", "\x15work"); // Ctrl-U clears the default
    w.answer_hidden("API key", &third);
    w.expect("Stored `work`");
    let (code, seen) = w.finish();
    assert_eq!(code, 0, "{seen}");
    assert_eq!(keychain_lookup(&env, "paymo").as_deref(), Some(&*old));
    assert_eq!(keychain_lookup(&env, "work").as_deref(), Some(&*third));

    // ... or replace it.
    let fourth = secret("fourth");
    let mut w = Wizard::start(
        &env,
        &["add", "paymo", "--no-verify", "--name", "paymo"],
        &[],
    );
    w.expect("Replace `paymo`");
    w.send(UP);
    w.send(ENTER);
    w.answer_hidden("API key", &fourth);
    w.expect("Replaced `paymo`");
    let (code, seen) = w.finish();
    assert_eq!(code, 0, "{seen}");
    assert_eq!(keychain_lookup(&env, "paymo").as_deref(), Some(&*fourth));
}

#[test]
fn a_check_that_cannot_confirm_offers_to_store_the_key_unchecked() {
    let env = TestEnv::new();
    let server = Server::start(|_| Reply::new(503, "maintenance"));
    let key = secret("unconfirmed");
    let mut w = Wizard::start(
        &env,
        &[
            "add",
            "generic",
            "--name",
            "api",
            "--base-url",
            &format!("{}/v1", server.url()),
        ],
        &[],
    );
    w.expect("? Where does the key go?");
    w.send(ENTER);
    w.answer("Header name", "");
    w.answer("How the key is written", "");
    w.answer("Path to check the key with", "");
    w.confirm("More options", "n\r");
    w.answer_hidden("API Key", &key);
    w.expect("could not confirm the key");
    w.expect("Store it unchecked");
    // Enter the key again / … and keep the key / …, then the key / Store it unchecked
    w.send(DOWN);
    w.send(DOWN);
    w.send(DOWN);
    w.send(ENTER);
    w.expect("Stored `api`");
    let (code, seen) = w.finish();
    assert_eq!(code, 0, "{seen}");
    assert_eq!(keychain_lookup(&env, "api").as_deref(), Some(&*key));
    let listed = env.run(&["list"]);
    assert!(listed.stdout.contains("unchecked"), "{listed}");

    // A rejected key is never offered that way.
    let server = Server::start(|_| Reply::new(401, "no"));
    let mut w = Wizard::start(
        &env,
        &[
            "add",
            "generic",
            "--name",
            "api2",
            "--base-url",
            &format!("{}/v1", server.url()),
        ],
        &[],
    );
    w.expect("? Where does the key go?");
    w.send(ENTER);
    w.answer("Header name", "");
    w.answer("How the key is written", "");
    w.answer("Path to check the key with", "");
    w.confirm("More options", "n\r");
    w.answer_hidden("API Key", &key);
    w.expect("Quit without storing anything");
    assert!(!w.seen.contains("Store it unchecked"), "{}", w.seen);
    // Ctrl-C at the menu (read raw, so the key arrives as a byte): the
    // terminal leaves raw mode again, nothing is stored, exit 130.
    w.send("\x03");
    let pty = w.session.process().get_file_handle().unwrap();
    let (code, seen) = w.finish();
    assert_eq!(code, 130, "{seen}");
    assert!(seen.contains("cancelled: nothing stored"), "{seen}");
    let after = rustix::termios::tcgetattr(&pty).unwrap();
    assert!(
        after
            .local_modes
            .contains(rustix::termios::LocalModes::ICANON),
        "the terminal was left in raw mode\n{seen}"
    );
    assert_eq!(keychain_lookup(&env, "api2"), None);
}

#[test]
fn changing_the_answers_offers_the_earlier_ones() {
    let env = TestEnv::new();
    let key = secret("again");
    let wanted = format!("api_key={key}");
    let server = Server::start(move |seen| {
        if seen.query() == wanted {
            Reply::json(200, "{}")
        } else {
            Reply::json(401, "{}")
        }
    });
    let mut w = Wizard::start(&env, &["add", "generic"], &[]);
    w.answer("Name for this credential", "");
    w.answer("API base URL", &server.url());
    w.expect("? Where does the key go?");
    w.send(DOWN);
    w.send(ENTER);
    w.answer("Query parameter name", "apikey"); // the mistake
    w.answer("How the key is written", "");
    w.answer("Path to check the key with", "/me");
    w.confirm("More options", ENTER);
    w.answer_hidden("API Key", &key);
    w.expect("What now?");
    w.expect("Change the other answers, then the key");
    w.expect("Quit without storing anything");
    w.send(DOWN);
    w.send(DOWN);
    w.send(ENTER);
    // Enter keeps each earlier answer, including the placement.
    w.answer("API base URL", "");
    w.expect("? Where does the key go?");
    w.send(ENTER);
    w.answer("Query parameter name", "api_key");
    w.answer("How the key is written", "");
    w.answer("Path to check the key with", "");
    w.confirm("More options", ENTER);
    w.answer_hidden("API Key", &key);
    w.expect("accepted the key");
    w.expect("Stored `generic`");
    let (code, seen) = w.finish();
    assert_eq!(code, 0, "{seen}");

    let requests = server.requests();
    assert_eq!(requests.len(), 2, "{requests:#?}");
    assert_eq!(requests[0].query(), format!("apikey={key}"));
    assert_eq!(requests[1].path(), "/me");
    let c = config(&env);
    let g = c["credentials"]["generic"].as_table().unwrap();
    assert_eq!(g["placement"].as_str(), Some("query"));
    assert_eq!(g["key_name"].as_str(), Some("api_key"));
    assert_eq!(g["check_path"].as_str(), Some("/me"));
}

#[test]
fn a_rejected_key_from_the_environment_is_not_asked_again() {
    // Typing "again" would only read the same CRED_API_KEY again.
    let env = TestEnv::new();
    let server = Server::start(|_| Reply::json(401, "{}"));
    let key = secret("envkey");
    let extra = [paymo_env(&server), ("CRED_API_KEY", key.clone())];
    let w = Wizard::start(&env, &["add", "paymo", "--name", "paymo"], &extra);
    let (code, seen) = w.finish();
    assert_eq!(code, 4, "{seen}");
    assert!(seen.contains("Paymo rejected the API key"), "{seen}");
    assert!(!seen.contains("What now?"), "{seen}");
    assert!(!seen.contains(&key), "{seen}");
    assert_eq!(server.count(), 1);
    assert_eq!(keychain_lookup(&env, "paymo"), None);
}

#[test]
fn answers_with_bidi_or_zero_width_characters_are_asked_again() {
    let env = TestEnv::new();
    let key = secret("fmt");
    let mut w = Wizard::start(
        &env,
        &[
            "add",
            "generic",
            "--name",
            "api",
            "--base-url",
            "https://api.example.com",
            "--placement",
            "header",
            "--key-name",
            "X-Api-Key",
            "--template",
            "${apiKey}",
            "--check-path",
            "/me",
            "--no-verify",
        ],
        &[],
    );
    w.confirm("More options", "y\r");
    w.answer("What the API calls the key", "API\u{200b}Key");
    w.expect("\\u{200b}, an invisible format character");
    w.answer("What the API calls the key", "API Key");
    w.answer_hidden("API Key", &key);
    w.expect("Stored `api`");
    let (code, seen) = w.finish();
    assert_eq!(code, 0, "{seen}");
    let c = config(&env);
    let g = c["credentials"]["api"].as_table().unwrap();
    assert_eq!(g["label"].as_str(), Some("API Key"));
}
