//! The file store for a person, in a real pseudo-terminal: the first `add
//! --store file` asks a new passphrase twice and writes `identity.age`; the
//! unlock is kept in the kernel keyring, so the next commands ask nothing
//! until `cred lock` or the end of `CRED_UNLOCK_TTL`; a wrong passphrase is
//! exit 7 with every file byte-identical; Ctrl-C at the passphrase prompt
//! puts the terminal back; the real `age` opens `identity.age` with the
//! same passphrase.

use std::path::PathBuf;

use super::*;

pub(super) const PASS: &str = "correct horse battery";
const NO_BUS: &str = "unix:path=/nonexistent/cred-test-bus";

pub(super) fn store(env: &TestEnv) -> PathBuf {
    env.home().join(".local/share/cred/secrets.age")
}

fn identity_age(env: &TestEnv) -> PathBuf {
    store(env).with_file_name("identity.age")
}

pub(super) fn no_bus() -> (&'static str, String) {
    ("DBUS_SESSION_BUS_ADDRESS", NO_BUS.to_string())
}

/// Forgets this test's unlock when the test ends, however it ends.
pub(super) struct LockOnDrop<'a>(pub(super) &'a TestEnv);

impl Drop for LockOnDrop<'_> {
    fn drop(&mut self) {
        let _ = self.0.run(&["lock"]);
    }
}

/// `cred add paymo --store file --name NAME` on a terminal, the key in
/// `key`, no session bus; what else it asks is the test's.
fn add_on_terminal(env: &TestEnv, name: &str, key: &str, extra: &[(&str, String)]) -> Wizard {
    let mut vars = vec![no_bus(), ("CRED_API_KEY", key.to_string())];
    vars.extend_from_slice(extra);
    let args = [
        "add",
        "paymo",
        "--no-verify",
        "--store",
        "file",
        "--name",
        name,
    ];
    Wizard::start(env, &[&args[..], &["--description", "d"]].concat(), &vars)
}

/// The first `add --store file` on a terminal: a new passphrase, twice.
fn first_add(env: &TestEnv, key: &str, extra: &[(&str, String)]) -> String {
    let mut w = add_on_terminal(env, "paymo", key, extra);
    w.expect("The file store is new");
    w.answer_hidden("New passphrase for the file store", PASS);
    w.answer_hidden("Repeat the passphrase", PASS);
    let (code, seen) = w.finish();
    assert_eq!(code, 0, "{seen}");
    assert!(seen.contains("the key is in the file store"), "{seen}");
    assert!(!seen.contains(key) && !seen.contains(PASS), "{seen}");
    seen
}

/// `cred secret paymo` on a terminal, answering the passphrase prompt with
/// `answer` when given; returns the exit code and what was printed.
fn secret_on_terminal(env: &TestEnv, answer: Option<&str>) -> (i32, String) {
    let mut w = Wizard::start(env, &["secret", "paymo"], &[no_bus()]);
    if let Some(a) = answer {
        w.answer_hidden("Passphrase for", a);
    }
    w.finish()
}

fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn the_first_add_asks_twice_then_nothing_until_cred_lock() {
    let env = TestEnv::new();
    let _lock = LockOnDrop(&env);
    let key = secret("person");
    first_add(&env, &key, &[]);
    assert_eq!(mode(&identity_age(&env)), 0o600);
    assert_eq!(mode(&store(&env)), 0o600);
    // Unlocked: a terminal is not asked, and a script needs no terminal.
    let (code, seen) = secret_on_terminal(&env, None);
    assert_eq!(code, 0, "{seen}");
    assert!(
        seen.contains(&key) && !seen.contains("Passphrase"),
        "{seen}"
    );
    let run = run_env(&env, &["secret", "paymo"], &[no_bus()]);
    assert_eq!(run.stdout, format!("{key}\n"), "{run}");
    let run = run_env(&env, &["doctor", "--json"], &[no_bus()]);
    let doc = json(&run);
    let file = crate::file_store::file_store_report(&doc);
    assert_eq!(file["details"]["opened_by"], "unlock-cache", "{doc}");
    assert!(file["details"]["unlock_until"].is_string(), "{doc}");
    // RFC 3339 for scripts, local time for people.
    assert!(
        file["details"]["unlock_until"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{doc}"
    );
    let run = run_env(&env, &["doctor"], &[no_bus(), ("TZ", "EET-2".into())]);
    let cached = run
        .stdout
        .lines()
        .find(|l| l.contains("an unlock is cached until"))
        .unwrap_or_default();
    assert!(cached.ends_with(" EET"), "{run}");

    run_env(&env, &["lock"], &[no_bus()]).ok();
    // Locked, and no terminal to ask on: the table names the store, the
    // error says why once (it was said in the table too, causes and all);
    // the keychain nothing needs is one line.
    let run = run_env(&env, &["doctor"], &[no_bus()]);
    run.code(7);
    assert!(
        run.stdout
            .contains("\nfile        unavailable (the error below says why)\n"),
        "{run}"
    );
    assert!(
        run.stdout.contains("\n            opened by: nothing\n"),
        "{run}"
    );
    assert_eq!(
        run.all().matches("nothing can open the file store").count(),
        1,
        "{run}"
    );
    assert_eq!(
        run.all().matches("cause: tried CRED_IDENTITY:").count(),
        1,
        "{run}"
    );
    assert!(
        run.stdout
            .contains("\nkeychain    unavailable, and no credential here needs it: "),
        "{run}"
    );
    let run = run_env(&env, &["secret", "paymo"], &[no_bus()]);
    run.code(7);
    assert!(
        run.stderr.contains("nothing can open the file store"),
        "{run}"
    );
    let (code, seen) = secret_on_terminal(&env, Some(PASS));
    assert_eq!(code, 0, "{seen}");
    assert!(seen.contains(&key), "{seen}");
    // Unlocked again by that answer.
    let run = run_env(&env, &["secret", "paymo"], &[no_bus()]);
    assert_eq!(run.stdout, format!("{key}\n"), "{run}");
}

#[test]
fn an_unlock_ends_with_its_ttl_and_scripts_unlock_from_stdin() {
    let env = TestEnv::new();
    let _lock = LockOnDrop(&env);
    let key = secret("ttl");
    first_add(&env, &key, &[("CRED_UNLOCK_TTL", "0".into())]);
    // TTL 0 kept nothing.
    run_env(&env, &["secret", "paymo"], &[no_bus()]).code(7);
    let unlocked_at = Instant::now();
    let run = env.run_with(&["unlock", "--ttl", "2s", "--passphrase-stdin"], |c| {
        c.write_stdin(format!("{PASS}\n"));
        c.env("DBUS_SESSION_BUS_ADDRESS", NO_BUS);
        c.env("TZ", "EET-2");
    });
    run.ok();
    // The TTL in human units, the end in local time with the zone.
    assert!(run.stderr.contains(" for 2s (until 20"), "{run}");
    assert!(run.stderr.contains(" EET); `cred lock`"), "{run}");
    assert!(!run.all().contains(PASS), "{run}");
    let run = run_env(&env, &["secret", "paymo"], &[no_bus()]);
    assert_eq!(run.stdout, format!("{key}\n"), "{run}");
    // The unlock ends by itself: poll until the secret cannot be read
    // (the kernel counts the TTL in whole seconds, so at least 1 s after
    // the unlock began; the 15 s bound only stops a hang).
    loop {
        let run = run_env(&env, &["secret", "paymo"], &[no_bus()]);
        if run.code == 7 {
            break;
        }
        assert_eq!(run.stdout, format!("{key}\n"), "{run}");
        assert!(
            unlocked_at.elapsed() < Duration::from_secs(15),
            "the 2 s unlock never ended"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        unlocked_at.elapsed() >= Duration::from_secs(1),
        "the 2 s unlock ended after {:?}",
        unlocked_at.elapsed()
    );
    let (code, seen) = secret_on_terminal(&env, Some(PASS));
    assert_eq!(code, 0, "{seen}");
    assert!(seen.contains(&key), "{seen}");
}

#[test]
fn a_wrong_passphrase_is_exit_7_and_changes_nothing() {
    let env = TestEnv::new();
    let _lock = LockOnDrop(&env);
    let key = secret("wrong");
    first_add(&env, &key, &[("CRED_UNLOCK_TTL", "0".into())]);
    let files = |e: &TestEnv| {
        (
            std::fs::read(store(e)).unwrap(),
            std::fs::read(identity_age(e)).unwrap(),
            e.config_text(),
        )
    };
    let before = files(&env);
    let other = secret("other");
    let mut w = add_on_terminal(&env, "b", &other, &[]);
    // Three tries, as sudo and ssh allow; then exit 7.
    w.answer_hidden("Passphrase for", "not the passphrase");
    w.expect("Wrong passphrase; try again (2 tries left).");
    w.answer_hidden("Passphrase for", "nor this");
    w.expect("Wrong passphrase; try again (1 try left).");
    w.answer_hidden("Passphrase for", "nor that");
    let (code, seen) = w.finish();
    assert_eq!(code, 7, "{seen}");
    assert!(seen.contains("wrong passphrase"), "{seen}");
    assert_eq!(seen.matches("? Passphrase for").count(), 3, "{seen}");
    assert!(!seen.contains(&other), "{seen}");
    assert_eq!(files(&env), before, "a file changed");
    let run = env.run_with(&["unlock", "--passphrase-stdin"], |c| {
        c.write_stdin("nope");
    });
    run.code(7);
    assert_one_error(&run, "wrong passphrase");
    assert_eq!(files(&env), before, "a file changed");
}

#[test]
fn a_mistyped_passphrase_is_asked_again() {
    let env = TestEnv::new();
    let _lock = LockOnDrop(&env);
    let key = secret("retry");
    first_add(&env, &key, &[("CRED_UNLOCK_TTL", "0".into())]);
    let other = secret("other");
    let mut w = add_on_terminal(&env, "b", &other, &[("CRED_UNLOCK_TTL", "0".into())]);
    w.answer_hidden("Passphrase for", "not the passphrase");
    w.expect("Wrong passphrase; try again (2 tries left).");
    w.answer_hidden("Passphrase for", PASS);
    w.expect("Stored `b`");
    let (code, seen) = w.finish();
    assert_eq!(code, 0, "{seen}");
    assert!(!seen.contains(PASS) && !seen.contains(&other), "{seen}");

    // `cred unlock` too.
    let mut w = Wizard::start(&env, &["unlock"], &[no_bus()]);
    w.answer_hidden("Passphrase for", "typo");
    w.expect("Wrong passphrase; try again");
    w.answer_hidden("Passphrase for", PASS);
    w.expect("Unlocked");
    let (code, seen) = w.finish();
    assert_eq!(code, 0, "{seen}");
}

#[test]
fn ctrl_c_at_the_passphrase_prompt_restores_the_terminal() {
    let env = TestEnv::new();
    let _lock = LockOnDrop(&env);
    let key = secret("cancel");
    first_add(&env, &key, &[("CRED_UNLOCK_TTL", "0".into())]);
    // The passphrase prompt comes at once: the terminal gets its echo
    // (as a person's has) from `stty` before cred starts.
    let mut cmd = std::process::Command::new("sh");
    cmd.env_clear()
        .envs(env.sealed_env())
        .current_dir(env.dir.path())
        .env("TERM", "xterm")
        .env("DBUS_SESSION_BUS_ADDRESS", NO_BUS)
        .args(["-c", "stty echo && exec \"$0\" \"$@\""])
        .args([env!("CARGO_BIN_EXE_cred"), "secret", "paymo"]);
    let options = Options::new()
        .timeout_ms(Some(20_000))
        .strip_ansi_escape_codes(true);
    let mut w = Wizard {
        session: spawn_with_options(cmd, options).expect("spawn cred on a pty"),
        seen: String::new(),
        marker: format!("CRED_CONFIG_DIR={}\0", env.config_dir().display()).into_bytes(),
    };
    w.wait_reading("Passphrase for");
    assert!(
        !w.termios()
            .local_modes
            .contains(rustix::termios::LocalModes::ECHO),
        "the passphrase prompt did not hide the input"
    );
    let seen = w.ctrl_c_restores_echo();
    assert!(!seen.contains(&key), "{seen}");
}

#[test]
fn the_real_age_opens_identity_age_with_the_same_passphrase() {
    require_command("age");
    let env = TestEnv::new();
    let _lock = LockOnDrop(&env);
    let key = secret("peer");
    first_add(&env, &key, &[("CRED_UNLOCK_TTL", "0".into())]);
    let mut cmd = std::process::Command::new("age");
    cmd.arg("-d")
        .arg("-i")
        .arg(identity_age(&env))
        .arg(store(&env));
    let options = Options::new().timeout_ms(Some(30_000));
    let mut age = spawn_with_options(cmd, options).expect("spawn age on a pty");
    age.exp_string("passphrase")
        .expect("age asks the passphrase");
    // age sets up the terminal after printing the prompt, dropping what was
    // typed before: wait until it sits reading the terminal (the 10 s bound
    // only stops a hang).
    // age leads the terminal's foreground process group.
    let pty = age.process().get_file_handle().unwrap();
    let pid = rustix::termios::tcgetpgrp(&pty)
        .unwrap()
        .as_raw_nonzero()
        .get();
    let start = Instant::now();
    while !reads_a_terminal(pid) {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "age never read its terminal"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    age.send(&format!("{PASS}\r")).unwrap();
    age.flush().unwrap();
    let out = age.exp_eof().expect("age ends");
    assert!(out.contains(&format!("secret = \"{key}\"")), "{out}");
    assert!(out.contains("name = \"paymo\""), "{out}");
}

/// Whether a thread of process `pid` sits in read(FD, …) with FD its
/// terminal (age is a Go program: several threads, the terminal opened as
/// /dev/tty).
fn reads_a_terminal(pid: i32) -> bool {
    let read = if cfg!(target_arch = "aarch64") {
        "63"
    } else {
        "0"
    };
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    tasks.flatten().any(|task| {
        let syscall = std::fs::read_to_string(task.path().join("syscall")).unwrap_or_default();
        let mut fields = syscall.split_whitespace();
        if fields.next() != Some(read) {
            return false;
        }
        let Some(fd) = fields
            .next()
            .and_then(|f| u64::from_str_radix(f.trim_start_matches("0x"), 16).ok())
        else {
            return false;
        };
        std::fs::read_link(format!("/proc/{pid}/fd/{fd}")).is_ok_and(|target| {
            let target = target.to_string_lossy();
            target.starts_with("/dev/pts/") || target == "/dev/tty"
        })
    })
}

#[test]
fn one_command_asks_once_for_several_credentials_even_with_nothing_kept() {
    let env = TestEnv::new();
    let _lock = LockOnDrop(&env);
    let server = Server::start(|_| Reply::json(200, "{}"));
    let ttl0 = ("CRED_UNLOCK_TTL", "0".to_string());
    first_add(&env, &secret("one"), &[ttl0.clone(), paymo_env(&server)]);
    let mut w = add_on_terminal(
        &env,
        "two",
        &secret("two"),
        &[ttl0.clone(), paymo_env(&server)],
    );
    w.answer_hidden("Passphrase for", PASS);
    let (code, seen) = w.finish();
    assert_eq!(code, 0, "{seen}");
    let mut w = Wizard::start(
        &env,
        &["verify", "--all"],
        &[no_bus(), ttl0, paymo_env(&server)],
    );
    w.answer_hidden("Passphrase for", PASS);
    let (code, seen) = w.finish();
    assert_eq!(code, 0, "{seen}");
    assert_eq!(seen.matches("? Passphrase for").count(), 1, "{seen}");
    assert_eq!(server.count(), 2);
}

#[test]
fn where_the_kernel_keyring_is_refused_cred_says_so_and_asks_each_time() {
    let env = TestEnv::new();
    let refused = ("CRED_TEST_NO_KERNEL_KEYRING", "1".to_string());
    let key = secret("seccomp");
    let seen = first_add(&env, &key, std::slice::from_ref(&refused));
    assert_eq!(
        seen.matches("the kernel keyring cannot keep the unlock here")
            .count(),
        1,
        "{seen}"
    );
    for _ in 0..2 {
        let mut w = Wizard::start(&env, &["secret", "paymo"], &[no_bus(), refused.clone()]);
        w.answer_hidden("Passphrase for", PASS);
        let (code, seen) = w.finish();
        assert_eq!(code, 0, "{seen}");
        assert!(seen.contains(&key), "{seen}");
        assert!(
            seen.contains("cred will ask for the passphrase on each command"),
            "{seen}"
        );
    }
    // Nothing but the encrypted files holds the key, the passphrase or the
    // identity.
    let forms = [
        key.clone(),
        PASS.to_string(),
        "AGE-SECRET-KEY-1".to_string(),
    ];
    for (path, bytes) in env.files() {
        if let Some(f) = revealed(&bytes, &forms) {
            panic!("{} holds `{f}` in the clear", path.display());
        }
    }
    let run = env.run_with(&["unlock", "--passphrase-stdin"], |c| {
        c.write_stdin(PASS);
        c.env(refused.0, &refused.1);
    });
    run.code(7);
    assert_one_error(&run, "the kernel keyring refused to keep the unlock");
}
