//! The store layer (SPEC §6): where secrets come from when no desktop
//! keychain runs. `CRED_SECRET_<NAME>` serves `call`, `verify` and `secret`
//! with no store opened at all; `show` names the source; a store that
//! cannot be reached is exit 7 before any question; a Secret Service that
//! never answers is exit 7 after `CRED_STORE_TIMEOUT`, not a hang; `cred
//! doctor` finds and repairs orphaned and duplicated keychain entries.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::*;

/// A session bus address where nothing listens.
const NO_BUS: &str = "unix:path=/nonexistent/cred-test-bus";

fn no_bus(extra: &[(&str, String)]) -> Vec<(&'static str, String)> {
    let mut vars: Vec<(&'static str, String)> =
        vec![("DBUS_SESSION_BUS_ADDRESS", NO_BUS.to_string())];
    for (k, v) in extra {
        // Leaked: a handful of short strings per test.
        vars.push((Box::leak(k.to_string().into_boxed_str()), v.clone()));
    }
    vars
}

#[test]
fn a_ci_secret_from_the_environment_needs_no_keychain() {
    let server = Server::start(|_| Reply::json(200, r#"{"ok":true}"#));
    let env = TestEnv::new();
    let stored = add_generic_unchecked(&env, &server.url(), &["--check-path", "/me"]);
    let ci = secret("from-ci");
    let vars = no_bus(&[("CRED_SECRET_API", ci.clone())]);
    let run = run_env(&env, &["call", "api", "/x"], &vars);
    run.ok();
    assert_eq!(run.stdout, r#"{"ok":true}"#);
    let run = run_env(&env, &["verify", "api"], &vars);
    run.ok();
    let run = run_env(&env, &["secret", "api"], &vars);
    run.ok();
    assert_eq!(run.stdout, format!("{ci}\n"));
    for s in server.requests() {
        assert_eq!(s.header("authorization"), Some(ci.as_str()), "{s:?}");
    }
    assert_eq!(server.count(), 2);
    // The same command without the variable needs the keychain, which is
    // not there: exit 7, saying which.
    let run = run_env(&env, &["call", "api", "/x"], &no_bus(&[]));
    run.code(7);
    assert_one_error(&run, "cannot reach the OS keychain: no D-Bus session bus");
    assert!(!run.all().contains(&stored));
}

#[test]
fn the_variable_name_folds_dashes_and_dots_and_an_empty_one_is_refused() {
    let server = Server::start(|_| Reply::new(200, "ok"));
    let env = TestEnv::new();
    let key = secret("acme");
    add_generic(
        &env,
        "acme-docs.v2",
        &format!("{}/v1", server.url()),
        &key,
        &["--no-verify"],
    )
    .ok();
    let ci = secret("ci");
    let run = run_env(
        &env,
        &["call", "acme-docs.v2", "/x"],
        &[("CRED_SECRET_ACME_DOCS_V2", ci.clone())],
    );
    run.ok();
    assert_eq!(
        server.requests()[0].header("authorization"),
        Some(ci.as_str())
    );
    let run = run_env(
        &env,
        &["call", "acme-docs.v2", "/x"],
        &[("CRED_SECRET_ACME_DOCS_V2", String::new())],
    );
    run.code(1);
    assert_one_error(&run, "CRED_SECRET_ACME_DOCS_V2 is set but empty");
    assert_eq!(server.count(), 1);
}

#[test]
fn show_names_where_the_secret_would_come_from() {
    let server = Server::start(|_| Reply::new(200, "ok"));
    let env = TestEnv::new();
    add_generic_unchecked(&env, &server.url(), &[]);
    let run = env.run(&["show", "api"]);
    run.ok();
    assert!(
        run.stdout
            .lines()
            .any(|l| l.starts_with("source") && l.ends_with("the OS keychain")),
        "{run}"
    );
    let vars = [("CRED_SECRET_API", secret("ci"))];
    let run = run_env(&env, &["show", "api", "--json"], &vars);
    run.ok();
    assert_eq!(json(&run)["secret_source"], "env:CRED_SECRET_API");
    let run = run_env(&env, &["show", "api"], &vars);
    assert!(
        run.stdout.contains("CRED_SECRET_API (environment)"),
        "{run}"
    );
    let listed = json(env.run(&["list", "--json"]).ok());
    assert_eq!(listed[0]["store"], "keychain");
}

#[test]
fn add_and_rotate_without_a_keychain_stop_before_asking_anything() {
    let server = Server::start(|_| Reply::new(200, "ok"));
    let env = TestEnv::new();
    let key = secret("api");
    let run = env.add(
        &["generic", "--base-url", &format!("{}/v1", server.url())],
        &key,
        &no_bus(&[]),
    );
    run.code(7);
    assert_one_error(&run, "cannot reach the OS keychain: no D-Bus session bus");
    assert!(run.stderr.contains("CRED_SECRET_<NAME>"), "{run}");
    assert!(!run.stderr.contains("Checking"), "{run}");
    assert_eq!(server.count(), 0);
    assert!(!env.config_path().exists());

    add_generic_unchecked(&env, &server.url(), &[]);
    let run = env.add(&["--help"], "", &[]);
    run.ok();
    let mut cmd = std_cmd(&env);
    cmd.args(["rotate", "api", "--api-key-stdin"])
        .env("DBUS_SESSION_BUS_ADDRESS", NO_BUS)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(7), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .starts_with("cred: error: cannot reach the OS keychain"),
        "{out:?}"
    );
}

/// A private session bus on which a process owns `org.freedesktop.secrets`
/// and never answers (python3-dbus), as in ../shared/TESTING.md.
struct SilentSecretService {
    address: String,
    bus: Child,
    owner: Child,
    _dir: tempfile::TempDir,
}

impl SilentSecretService {
    fn start() -> SilentSecretService {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("bus.conf");
        std::fs::write(
            &conf,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={}/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
                dir.path().display()
            ),
        )
        .unwrap();
        let mut bus = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", conf.display()))
            .args(["--nofork", "--nopidfile", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon (installed by scripts/test.sh)");
        let mut line = String::new();
        BufReader::new(bus.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let address = line.trim().to_string();
        assert!(!address.is_empty(), "dbus-daemon printed no address");
        let mut owner = Command::new("/usr/bin/python3")
            .args([
                "-c",
                "import dbus, time\n\
                 b = dbus.SessionBus(); b.request_name('org.freedesktop.secrets')\n\
                 print('owned', flush=True); time.sleep(600)",
            ])
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 with python3-dbus (installed by scripts/test.sh)");
        let mut owned = String::new();
        BufReader::new(owner.stdout.take().unwrap())
            .read_line(&mut owned)
            .unwrap();
        assert_eq!(owned.trim(), "owned", "python3-dbus did not take the name");
        SilentSecretService {
            address,
            bus,
            owner,
            _dir: dir,
        }
    }
}

impl Drop for SilentSecretService {
    fn drop(&mut self) {
        let _ = self.owner.kill();
        let _ = self.owner.wait();
        let _ = self.bus.kill();
        let _ = self.bus.wait();
    }
}

#[test]
fn a_secret_service_that_never_answers_is_exit_7_after_the_deadline() {
    let env = TestEnv::new();
    // The config names a credential; its secret would be in the keychain.
    std::fs::create_dir_all(env.config_dir()).unwrap();
    std::fs::write(
        env.config_path(),
        "[credentials.api]\nprovider = \"paymo\"\n",
    )
    .unwrap();
    let silent = SilentSecretService::start();
    let run = env.run_with(&["secret", "api"], |c| {
        c.env("DBUS_SESSION_BUS_ADDRESS", &silent.address)
            .env("CRED_STORE_TIMEOUT", "1")
            // Guards against a hang; cred must give up long before.
            .timeout(Duration::from_secs(60));
    });
    run.code(7);
    assert_one_error(&run, "the OS keychain did not answer within 1 s");
    assert!(run.stderr.contains("CRED_STORE_TIMEOUT"), "{run}");
    assert!(run.stdout.is_empty());
    // A bad value is refused up front.
    let run = env.run_with(&["secret", "api"], |c| {
        c.env("DBUS_SESSION_BUS_ADDRESS", &silent.address)
            .env("CRED_STORE_TIMEOUT", "soon");
    });
    run.code(1);
    assert_one_error(&run, "CRED_STORE_TIMEOUT=`soon` is not a number of seconds");
}

#[test]
fn doctor_finds_and_fixes_orphans_and_duplicates_and_nothing_else() {
    // The API accepts cred's key only; the second copy holds another one.
    let key = secret("api");
    let accepted = key.clone();
    let server = Server::start(move |r| match r.header("authorization") {
        Some(k) if k == accepted => Reply::new(200, "ok"),
        _ => Reply::new(401, "no"),
    });
    let env = TestEnv::new();
    add_generic(
        &env,
        "api",
        &format!("{}/v1", server.url()),
        &key,
        &["--no-verify"],
    )
    .ok();
    // Healthy first.
    let run = env.run(&["doctor"]);
    run.ok();
    assert!(run.stdout.contains("keychain    ok"), "{run}");

    // An orphan (a config entry deleted by hand), a duplicate of `api`
    // (another client wrote a second item), and look-alikes that are not
    // cred's to touch: another service, another config directory.
    let orphan = account(&env, "gone");
    secret_tool_store("cred", &orphan, "orphaned-secret");
    secret_tool_store("cred", &account(&env, "api"), "second-copy");
    let other_service = account(&env, "api");
    secret_tool_store("cred-other", &other_service, "not-ours");
    let other_dir = "api@/some/other/config/dir";
    secret_tool_store("cred", other_dir, "not-ours-either");
    let api_items = count_items("cred", &account(&env, "api"));

    let run = env.run(&["doctor"]);
    run.code(1);
    assert!(run.stdout.contains(&format!("orphan: {orphan}")), "{run}");
    assert!(
        run.stdout.contains("duplicate: `api` has 2 entries"),
        "{run}"
    );
    assert!(run.stderr.contains("cred doctor --fix"), "{run}");
    let report = json(env.run(&["doctor", "--json"]).code(1));
    assert_eq!(report["stores"][0]["orphans"][0], orphan.as_str());
    assert_eq!(report["stores"][0]["duplicates"][0]["name"], "api");

    // Without a terminal, --fix needs --yes.
    let run = env.run(&["doctor", "--fix"]);
    run.code(1);
    assert!(run.stderr.contains("--yes"), "{run}");
    assert_eq!(count_items("cred", &orphan), 1);

    let run = env.run(&["doctor", "--fix", "--yes"]);
    run.ok();
    assert_eq!(count_items("cred", &orphan), 0);
    assert!(api_items >= 2, "secret-tool made no duplicate");
    assert_eq!(count_items("cred", &account(&env, "api")), 1);
    assert_eq!(count_items("cred-other", &other_service), 1);
    assert_eq!(count_items("cred", other_dir), 1);
    env.run(&["doctor"]).ok();
    // The credential still works.
    let run = env.run(&["secret", "api"]);
    run.ok();
    assert_eq!(run.stdout, format!("{key}\n"), "the working copy was kept");
    // Clean up the look-alikes in the shared test keyring.
    for (service, acct) in [("cred-other", other_service.as_str()), ("cred", other_dir)] {
        Command::new("secret-tool")
            .args(["clear", "service", service, "username", acct])
            .env("DBUS_SESSION_BUS_ADDRESS", bus_address())
            .status()
            .unwrap();
    }
}

#[test]
fn a_duplicated_entry_is_exit_1_with_the_doctor_hint() {
    let server = Server::start(|_| Reply::new(200, "ok"));
    let env = TestEnv::new();
    add_generic_unchecked(&env, &server.url(), &[]);
    secret_tool_store("cred", &account(&env, "api"), "second-copy");
    let run = env.run(&["call", "api", "/x"]);
    run.code(1);
    assert_one_error(
        &run,
        "the OS keychain holds several entries for credential `api`",
    );
    assert!(run.stderr.contains("cred doctor --fix"), "{run}");
    assert_eq!(server.count(), 0);
}
