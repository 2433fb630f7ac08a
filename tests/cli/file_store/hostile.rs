//! Nothing forged (issue 31 §2, SPEC §7 "Hostile input"): the files the
//! file store reads are the user's and bounded. A `secrets.age`,
//! `identity.age`, identity file or `recipients.txt` owned by another user
//! (made here with chown, as the tests run as root), one others may write,
//! or a directory above it others may write, is refused with exit 1, the
//! reason and the `chmod`/`chown` that fixes it, and `doctor` shows the
//! same verdict. `/dev/zero`, a FIFO with no writer and a sparse 1 GiB file
//! are refused at once, within 64 MiB of memory.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use super::{FileEnv, chmod, file_store_report};
use crate::common::*;

const NOBODY: u32 = 65534;

fn chown(path: &Path, uid: u32) {
    std::os::unix::fs::chown(path, Some(uid), None).unwrap();
}

/// A file store holding `paymo`, and the key.
fn store_with_a_secret() -> (FileEnv, String) {
    let f = FileEnv::new();
    let key = secret("hostile");
    f.add(&["paymo", "--no-verify"], &key, &[]).ok();
    (f, key)
}

/// `cred secret paymo` is refused with exit 1 naming `path`, `why` and the
/// fix; nothing of the key is shown.
fn assert_refused(f: &FileEnv, key: &str, path: &Path, why: &str, fix: &str) {
    let run = f.run(&["secret", "paymo"], &[]);
    run.code(1);
    assert_one_error(&run, &format!("refusing to use {}: {why}", path.display()));
    assert!(run.stderr.contains(&format!("hint: {fix}")), "{run}");
    assert!(!run.all().contains(key), "{run}");
    // doctor says the same.
    let run = f.run(&["doctor", "--json"], &[]);
    let doc = json(&run);
    let file = file_store_report(&doc);
    let checks = file["details"]["checks"].as_array().unwrap();
    assert!(
        checks.iter().any(|c| c["ok"] == false
            && c["error"]
                .as_str()
                .is_some_and(|e| e.contains(&path.display().to_string()) && e.contains(why))
            && c["fix"].as_str().is_some_and(|x| x.contains(fix))),
        "{doc}"
    );
    let run = f.run(&["doctor"], &[]);
    assert!(run.stdout.contains("refused: refusing to use"), "{run}");
    assert!(run.stdout.contains(fix), "{run}");
}

#[test]
fn a_store_owned_by_another_user_is_refused() {
    let (f, key) = store_with_a_secret();
    chown(&f.store(), NOBODY);
    assert_refused(
        &f,
        &key,
        &f.store(),
        "the file belongs to another user (uid 65534)",
        &format!("sudo chown \"$(id -u)\" '{}'", f.store().display()),
    );
    // Nothing is written to it either.
    let before = std::fs::read(f.store()).unwrap();
    f.add(&["paymo", "--no-verify", "--name", "b"], &secret("b"), &[])
        .code(1);
    assert_eq!(std::fs::read(f.store()).unwrap(), before);
}

#[test]
fn a_store_others_can_write_is_refused() {
    let (f, key) = store_with_a_secret();
    chmod(&f.store(), 0o666);
    assert_refused(
        &f,
        &key,
        &f.store(),
        "the file can be written by group or others (mode 666)",
        &format!("chmod go-w '{}'", f.store().display()),
    );
}

#[test]
fn a_store_directory_others_can_write_is_refused() {
    let (f, key) = store_with_a_secret();
    let dir = f.store().parent().unwrap().to_path_buf();
    chmod(&dir, 0o777);
    assert_refused(
        &f,
        &key,
        &dir,
        "the directory can be written by group or others (mode 777)",
        &format!("chmod go-w '{}'", dir.display()),
    );
    // A directory further up, below HOME, too.
    chmod(&dir, 0o700);
    let share = dir.parent().unwrap().to_path_buf();
    chmod(&share, 0o777);
    let run = f.run(&["secret", "paymo"], &[]);
    run.code(1);
    assert_one_error(&run, &format!("refusing to use {}", share.display()));
    chmod(&share, 0o755);
    f.run(&["secret", "paymo"], &[]).ok();
}

#[test]
fn an_identity_file_owned_by_another_user_is_refused() {
    let (f, key) = store_with_a_secret();
    chown(&f.identity, NOBODY);
    let run = f.run(&["secret", "paymo"], &[]);
    run.code(1);
    assert_one_error(
        &run,
        &format!(
            "refusing to use {}: the file belongs to another user (uid 65534)",
            f.identity.display()
        ),
    );
    assert!(run.stderr.contains("hint: sudo chown"), "{run}");
    assert!(!run.all().contains(&key));
}

#[test]
fn recipients_txt_and_identity_age_others_can_write_are_refused() {
    let (f, key) = store_with_a_secret();
    let list = f.store().with_file_name("recipients.txt");
    assert!(list.exists(), "the first write records the recipients");
    chmod(&list, 0o666);
    assert_refused(
        &f,
        &key,
        &list,
        "the file can be written by group or others (mode 666)",
        &format!("chmod go-w '{}'", list.display()),
    );
    chmod(&list, 0o600);
    // identity.age is refused before its passphrase is even tried.
    let id_age = f.store().with_file_name("identity.age");
    std::fs::write(&id_age, b"age-encryption.org/v1\n").unwrap();
    chmod(&id_age, 0o666);
    let run = f.env.run_with(&["unlock", "--passphrase-stdin"], |c| {
        c.write_stdin("pass");
    });
    run.code(1);
    assert_one_error(&run, &format!("refusing to use {}", id_age.display()));
}

#[test]
fn a_store_in_a_sticky_shared_directory_is_used_while_it_is_the_users_alone() {
    let f = FileEnv::new();
    let shared = f.env.dir.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    chmod(&shared, 0o1777);
    let store = shared.join("secrets.age");
    let vars = [("CRED_FILE_STORE", store.display().to_string())];
    let key = secret("sticky");
    f.add(&["paymo", "--no-verify"], &key, &vars).ok();
    let run = f.run(&["secret", "paymo"], &vars);
    run.ok();
    assert_eq!(run.stdout, format!("{key}\n"));
    // Writable by others, a sticky directory protects nothing.
    chmod(&store, 0o622);
    f.run(&["secret", "paymo"], &vars).code(1);
    // Without the sticky bit the directory itself is refused.
    chmod(&store, 0o600);
    chmod(&shared, 0o777);
    let run = f.run(&["secret", "paymo"], &vars);
    run.code(1);
    assert_one_error(&run, &format!("refusing to use {}", shared.display()));
}

/// Runs cred with `CRED_FILE_STORE=store` under `/usr/bin/time`, killed
/// if it has not finished within `limit` (a hang is the failure): the run
/// and its peak memory in KiB.
fn run_bounded(f: &FileEnv, store: &Path, args: &[&str]) -> (Run, u64) {
    let report = f.env.dir.path().join("time.txt");
    let mut cmd = std::process::Command::new("/usr/bin/time");
    cmd.arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&report)
        .arg(env!("CARGO_BIN_EXE_cred"))
        .args(args)
        .env_clear()
        .envs(f.env.sealed_env())
        .envs(f.vars(&[("CRED_FILE_STORE", store.display().to_string())]))
        .current_dir(f.env.dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let limit = Duration::from_secs(30);
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "cred {args:?} with CRED_FILE_STORE={} hangs",
                store.display()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    let text = std::fs::read_to_string(&report).unwrap();
    let kib = text
        .lines()
        .filter_map(|l| l.trim().parse::<u64>().ok())
        .next_back()
        .unwrap_or_else(|| panic!("no figure in {text:?}"));
    (run, kib)
}

const MEMORY_LIMIT_KIB: u64 = 64 * 1024;

#[test]
fn dev_zero_as_the_store_is_refused_at_once() {
    let (f, _) = store_with_a_secret();
    let (run, kib) = run_bounded(&f, Path::new("/dev/zero"), &["secret", "paymo"]);
    run.code(1);
    assert_one_error(
        &run,
        "refusing to read /dev/zero: it is a character device, not a regular file",
    );
    assert!(kib < MEMORY_LIMIT_KIB, "peak memory {kib} KiB");
}

#[test]
fn a_fifo_with_no_writer_as_the_store_is_refused_at_once() {
    let (f, _) = store_with_a_secret();
    let fifo = f.env.dir.path().join("secrets.age");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    chmod(&fifo, 0o600);
    let (run, kib) = run_bounded(&f, &fifo, &["secret", "paymo"]);
    run.code(1);
    assert_one_error(
        &run,
        &format!(
            "refusing to read {}: it is a FIFO, not a regular file",
            fifo.display()
        ),
    );
    assert!(kib < MEMORY_LIMIT_KIB, "peak memory {kib} KiB");
}

#[test]
fn a_sparse_one_gib_store_is_refused_within_64_mib() {
    let (f, _) = store_with_a_secret();
    let big = f.env.dir.path().join("secrets.age");
    let file = std::fs::File::create(&big).unwrap();
    file.set_len(1 << 30).unwrap();
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
        .unwrap();
    drop(file);
    let (run, kib) = run_bounded(&f, &big, &["secret", "paymo"]);
    run.code(1);
    assert_one_error(
        &run,
        &format!(
            "refusing to read {}: it is too large (1073741824 bytes; the limit is 64 MiB)",
            big.display()
        ),
    );
    assert!(kib < MEMORY_LIMIT_KIB, "peak memory {kib} KiB");
    eprintln!("peak memory on a sparse 1 GiB store: {kib} KiB");
}
