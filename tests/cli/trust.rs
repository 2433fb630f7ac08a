//! cred trusts only its own files and keeps keys out of core dumps
//! (SPEC §5): a config directory or file that another user owns or can
//! write is refused with the fix; the lock file is never followed through
//! a symlink; a symlinked config.toml is written through, the link kept; a
//! field cred does not know is refused with its line; a running `cred`
//! cannot leave a core file.

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::*;

#[test]
fn a_config_dir_others_can_write_is_refused_with_the_chmod() {
    let env = TestEnv::new();
    add_paymo_unchecked(&env, &Server::start(|_| Reply::new(200, "")));
    std::fs::set_permissions(env.config_dir(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let run = env.run(&["list"]);
    run.code(1);
    assert!(
        run.stderr.starts_with(&format!(
            "cred: error: refusing to use {}: the directory can be written by group or others (mode 777)",
            env.config_dir().display()
        )),
        "{run}"
    );
    assert!(run.stderr.contains("hint: chmod go-w"), "{run}");
    let run = env.add(
        &["paymo", "--name", "second", "--no-verify"],
        &secret("x"),
        &[],
    );
    run.code(1);
    assert_eq!(keychain_lookup(&env, "second"), None);
    std::fs::set_permissions(env.config_dir(), std::fs::Permissions::from_mode(0o700)).unwrap();
    env.run(&["list"]).ok();
}

#[test]
fn a_config_file_of_another_user_is_refused() {
    let env = TestEnv::new();
    add_paymo_unchecked(&env, &Server::start(|_| Reply::new(200, "")));
    // `nobody` (65534) wrote it: only root can hand a file to another user.
    std::os::unix::fs::chown(env.config_path(), Some(65534), None)
        .expect("this test changes a file's owner: run the tests as root (CI does)");
    let run = env.run(&["call", "paymo", "/me"]);
    run.code(1);
    assert!(
        run.stderr
            .contains("the file belongs to another user (uid 65534)"),
        "{run}"
    );
}

#[test]
fn a_planted_lock_file_symlink_is_not_followed() {
    let env = TestEnv::new();
    std::fs::create_dir_all(env.config_dir()).unwrap();
    std::fs::set_permissions(env.config_dir(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let elsewhere = env.home().join("created-by-cred");
    std::fs::create_dir_all(env.home()).unwrap();
    std::os::unix::fs::symlink(&elsewhere, env.config_dir().join(".config.lock")).unwrap();
    let key = secret("lock");
    let run = env.add(&["paymo", "--no-verify"], &key, &[]);
    run.code(1);
    assert!(run.stderr.contains(".config.lock"), "{run}");
    assert!(!elsewhere.exists(), "cred created a file through the link");
    assert_nothing_stored(&env, "paymo", Some(&key));
}

#[test]
fn a_symlinked_config_file_is_written_through_and_stays_a_link() {
    let env = TestEnv::new();
    add_paymo_unchecked(&env, &Server::start(|_| Reply::new(200, "")));
    let dotfiles = env.home().join("dotfiles");
    std::fs::create_dir_all(&dotfiles).unwrap();
    let real = dotfiles.join("cred.toml");
    std::fs::rename(env.config_path(), &real).unwrap();
    std::os::unix::fs::symlink(&real, env.config_path()).unwrap();
    env.add(
        &["paymo", "--name", "second", "--no-verify"],
        &secret("s"),
        &[],
    )
    .ok();
    let meta = std::fs::symlink_metadata(env.config_path()).unwrap();
    assert!(
        meta.file_type().is_symlink(),
        "the link was replaced by a file"
    );
    let text = std::fs::read_to_string(&real).unwrap();
    assert!(text.contains("[credentials.second]"), "{text}");
    assert!(text.contains("[credentials.paymo]"), "{text}");
    assert_eq!(
        std::fs::metadata(&real).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

#[test]
fn an_unknown_field_is_refused_with_its_line() {
    let env = TestEnv::new();
    std::fs::create_dir_all(env.config_dir()).unwrap();
    std::fs::set_permissions(env.config_dir(), std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::write(
        env.config_path(),
        "[credentials.api]\nprovider = \"generic\"\nbase_url = \"https://api.example.com\"\n\
         placement = \"header\"\nkey_name = \"Authorization\"\ntemplate = \"${apiKey}\"\n\
         label = \"API Key\"\nchek_path = \"/me\"\n",
    )
    .unwrap();
    let run = env.run(&["list"]);
    run.code(1);
    assert!(
        run.stderr
            .contains("has a field cred does not know: credentials.api.chek_path (line 8)"),
        "{run}"
    );
    // Nothing was rewritten.
    assert!(env.config_text().contains("chek_path"));
}

#[test]
fn a_running_cred_leaves_no_core_file() {
    let server = Server::start(|_| Reply::new(200, "late").delay(Duration::from_secs(20)));
    let env = TestEnv::new();
    let key = add_generic_unchecked(&env, &server.url(), &[]);
    let cwd = tempfile::tempdir().unwrap();
    // A control: an ordinary process dumps core here (core_pattern "core").
    let mut control = Command::new("bash")
        .args(["-c", "ulimit -c unlimited; exec sleep 30"])
        .current_dir(cwd.path())
        .spawn()
        .unwrap();
    // Once bash has set the limit and become `sleep` (a hang guard of 10 s).
    let start = std::time::Instant::now();
    while std::fs::read_to_string(format!("/proc/{}/comm", control.id()))
        .map_or(true, |c| c.trim() != "sleep")
    {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the control never ran sleep"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    Command::new("kill")
        .args(["-ABRT", &control.id().to_string()])
        .status()
        .unwrap();
    control.wait().unwrap();
    let cores_possible = std::fs::read_dir(cwd.path()).unwrap().count() > 0;
    for e in std::fs::read_dir(cwd.path()).unwrap() {
        std::fs::remove_file(e.unwrap().path()).unwrap();
    }

    let mut cmd = std_cmd(&env);
    cmd.args(["call", "api", "/slow"])
        .current_dir(cwd.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let program = cmd.get_program().to_string_lossy().into_owned();
    let mut child = Command::new("bash")
        .args([
            "-c",
            "ulimit -c unlimited; exec \"$0\" call api /slow",
            &program,
        ])
        .envs(env.sealed_env())
        .current_dir(cwd.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the key is in memory and the request is out (a hang guard
    // of 10 s, the server holds the answer for 20).
    let start = std::time::Instant::now();
    while server.count() == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "cred sent nothing"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", child.id())).unwrap();
    let core = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap();
    assert_eq!(core.split_whitespace().nth(4), Some("0"), "{core}");
    assert_eq!(core.split_whitespace().nth(5), Some("0"), "{core}");
    Command::new("kill")
        .args(["-ABRT", &child.id().to_string()])
        .status()
        .unwrap();
    child.wait().unwrap();
    let left: Vec<_> = std::fs::read_dir(cwd.path()).unwrap().collect();
    assert!(left.is_empty(), "cred left {left:?}");
    if !cores_possible {
        eprintln!(
            "note: this machine writes no core files at all; the limit check above still holds"
        );
    }
    let _ = key;
}

#[test]
fn a_config_edited_to_send_a_stored_key_elsewhere_is_refused_until_rotate() {
    let home = Server::start(|_| Reply::json(200, "{}"));
    let other = Server::open(|_| Reply::json(200, "{}"));
    let env = TestEnv::new();
    let key = add_paligo_unchecked(&env, &home);
    let original = env.config_text();
    // The provider turned into a generic one pointing at another server.
    std::fs::write(
        env.config_path(),
        format!(
            "[credentials.paligo]\nprovider = \"generic\"\nbase_url = \"{}/v1\"\n\
             placement = \"header\"\nkey_name = \"Authorization\"\ntemplate = \"${{apiKey}}\"\n\
             label = \"API Key\"\n",
            other.url()
        ),
    )
    .unwrap();
    let run = env.run(&["call", "paligo", "/x"]);
    run.code(1);
    assert_one_error(
        &run,
        "refusing to send the secret of `paligo` where it was not stored for: its provider changed from paligo to generic",
    );
    assert!(run.stderr.contains("cred rotate paligo"), "{run}");
    let run = env.run(&["verify", "paligo"]);
    run.code(1);
    assert!(run.stdout.contains("refusing to send"), "{run}");
    assert_eq!(other.count(), 0);
    assert_no_leak(&run, &paligo_forms(&key));

    // The same provider, another address through CRED_PALIGO_URL.
    std::fs::write(env.config_path(), &original).unwrap();
    let elsewhere = paligo_env(&other);
    let run = run_env(
        &env,
        &["call", "paligo", "/folders"],
        std::slice::from_ref(&elsewhere),
    );
    run.code(1);
    assert!(
        run.stderr
            .contains("its address changed from http://127.0.0.1:"),
        "{run}"
    );
    assert_eq!(other.count(), 0);
    // `cred secret` still shows it: it sends nothing.
    run_env(
        &env,
        &["secret", "paligo"],
        std::slice::from_ref(&elsewhere),
    )
    .ok();

    // Entering the key again confirms the new address.
    let mut cmd = std_cmd(&env);
    cmd.args(["rotate", "paligo", "--no-verify", "--api-key-stdin"])
        .env(elsewhere.0, &elsewhere.1)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(key.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success());
    run_env(&env, &["call", "paligo", "/folders"], &[elsewhere]).ok();
    assert_eq!(other.count(), 1);
    // ... and now the old address is the one refused.
    run_env(&env, &["call", "paligo", "/folders"], &[paligo_env(&home)]).code(1);
    assert_eq!(home.count(), 0);
}

#[test]
fn a_provider_url_override_over_plain_http_must_be_loopback() {
    let env = TestEnv::new();
    let run = env.add(
        &["paymo"],
        &secret("p"),
        &[("CRED_PAYMO_URL", "http://example.com/api".to_string())],
    );
    run.code(1);
    assert!(
        run.stderr
            .contains("uses http://, which would send the key unencrypted"),
        "{run}"
    );
    assert_nothing_stored(&env, "paymo", None);
}
