//! The keychain's quick read (src/secrets/keychain/read.rs), against the
//! real gnome-keyring and against a hostile fake Secret Service.
//!
//! `CRED_TEST_QUICK_READ_ONLY` (debug builds only) makes the quick read's
//! "ask the keyring crate" an error naming why, so a test can tell which
//! path answered.

use std::io::{Read, Write};
use std::os::unix::net::UnixListener;
use std::process::Command as StdCommand;

use zbus::zvariant::serialized::Context;
use zbus::zvariant::{Endian, ObjectPath, Signature, Value};

use crate::common::*;

const QUICK_ONLY: &str = "CRED_TEST_QUICK_READ_ONLY";

fn store_as_another_client(account: &str, value: &str, extra: &[(&str, &str)]) {
    let mut attributes = vec![("service", "cred"), ("username", account)];
    attributes.extend_from_slice(extra);
    secret_tool_store_with("stored by secret-tool", &attributes, value);
}

#[test]
fn an_item_stored_by_secret_tool_is_read_with_its_attributes() {
    let env = TestEnv::new();
    let server = ok_server();
    let base = format!("{}/api", server.url());
    env.add(
        &[
            "generic",
            "--name",
            "st",
            "--base-url",
            &base,
            "--no-verify",
        ],
        &secret("first"),
        &[],
    )
    .ok();
    keychain_clear(&env, "st");

    // Another client's item with cred's attributes: the quick read alone
    // finds it and its secret.
    let key = secret("by-secret-tool");
    store_as_another_client(&account(&env, "st"), &key, &[]);
    let run = env.run_with(&["secret", "st"], |c| {
        c.env(QUICK_ONLY, "1");
    });
    run.ok();
    assert_eq!(run.stdout.trim_end(), key);

    // The item's attributes come with it: a record of another origin is
    // refused before any request.
    keychain_clear(&env, "st");
    store_as_another_client(
        &account(&env, "st"),
        &key,
        &[
            ("cred_provider", "generic"),
            ("cred_origin", "https://elsewhere.example.com/api"),
        ],
    );
    let run = env.run_with(&["call", "st", "/x"], |c| {
        c.env(QUICK_ONLY, "1");
    });
    run.code(1);
    assert_one_error(&run, "refusing to send the secret of `st`");
    assert!(run.stderr.contains("elsewhere.example.com"), "{run}");
    assert_eq!(server.count(), 0, "a request was sent");
    assert!(!run.all().contains(&key));
}

#[test]
fn nothing_stored_is_missing_and_two_items_go_to_the_keyring_crate() {
    let env = TestEnv::new();
    env.add(
        &["paymo", "--no-verify", "--name", "two"],
        &secret("one"),
        &[],
    )
    .ok();
    keychain_clear(&env, "two");
    let run = env.run_with(&["secret", "two"], |c| {
        c.env(QUICK_ONLY, "1");
    });
    run.code(1);
    assert_one_error(&run, "credential `two` has no secret in the OS keychain");

    store_as_another_client(&account(&env, "two"), "a", &[]);
    store_as_another_client(&account(&env, "two"), "b", &[("application", "other")]);
    let quick = env.run_with(&["secret", "two"], |c| {
        c.env(QUICK_ONLY, "1");
    });
    quick.code(7);
    assert!(
        quick
            .stderr
            .contains("the quick read declined: 2 unlocked and 0 locked"),
        "{quick}"
    );
    // Without the hook the keyring crate answers, as it always did.
    let run = env.run(&["secret", "two"]);
    run.code(1);
    assert_one_error(
        &run,
        "the OS keychain holds several entries for credential `two`",
    );
}

/// Runs `script` (bash) under a keyring of its own (scripts/with-keyring.sh),
/// with `$CRED` the binary under test and `$CRED_CONFIG_DIR` a fresh
/// directory; returns its stdout.
fn in_private_keyring(env: &TestEnv, script: &str) -> String {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = StdCommand::new("bash")
        .arg(format!("{root}/scripts/with-keyring.sh"))
        .args(["bash", "-c", script])
        .env("CRED", env!("CARGO_BIN_EXE_cred"))
        .env("CRED_CONFIG_DIR", env.config_dir())
        .env("HOME", env.home())
        .env("NO_PROXY", "*")
        .env("CRED_STORE_TIMEOUT", "20")
        .current_dir(env.dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "the script failed: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn a_locked_collection_falls_back_to_the_keyring_crate() {
    let env = TestEnv::new();
    std::fs::create_dir_all(env.config_dir()).unwrap();
    // The login collection is locked in a keyring of this test's own (the
    // shared test keyring stays unlocked for the other tests).
    let out = in_private_keyring(
        &env,
        r#"
        printf 'k-locked-0123' | "$CRED" add paymo --name lk --no-verify --api-key-stdin >/dev/null 2>&1 || exit 1
        "$CRED" secret lk || exit 1
        dbus-send --session --print-reply --dest=org.freedesktop.secrets /org/freedesktop/secrets \
            org.freedesktop.Secret.Service.Lock array:objpath:/org/freedesktop/secrets/collection/login >/dev/null || exit 1
        echo "== quick"
        CRED_TEST_QUICK_READ_ONLY=1 "$CRED" secret lk 2>&1; echo "exit $?"
        echo "== keyring"
        "$CRED" secret lk 2>&1; echo "exit $?"
        "#,
    );
    let (unlocked, rest) = out.split_once("== quick\n").expect("quick section");
    assert_eq!(unlocked.trim_end(), "k-locked-0123");
    let (quick, keyring) = rest.split_once("== keyring\n").expect("keyring section");
    // The quick read saw the locked item and stepped aside...
    assert!(
        quick.contains("the quick read declined: 0 unlocked and 1 locked items match"),
        "{quick}"
    );
    // ...and the keyring crate tried to unlock it (no one can answer the
    // prompt here): locked, exit 7, never the key.
    assert!(
        keyring.starts_with("cred: error: the OS keychain is locked"),
        "{keyring}"
    );
    assert!(keyring.trim_end().ends_with("exit 7"), "{keyring}");
    assert!(!keyring.contains("k-locked-0123"), "{keyring}");
}

/// What the fake Secret Service answers wrongly.
#[derive(Clone, Copy, Debug)]
enum Hostile {
    /// The secret is for another session.
    WrongSession,
    /// A secret of 2 MiB.
    Huge,
    /// A ciphertext that is no whole number of AES blocks.
    BadCiphertext,
    /// The public key 1, which would make the session key known.
    WeakKey,
    /// SearchItems answers a string.
    WrongType,
}

/// A fake session bus and Secret Service in one, on a Unix socket: it
/// authenticates anyone and answers the quick read's calls in order
/// (Hello, GetAll, OpenSession, SearchItems, GetSecret, Get), wrongly as `hostile`
/// says. Returns the bus address.
fn fake_service(dir: &std::path::Path, hostile: Hostile) -> String {
    let path = dir.join("fake-bus");
    let listener = UnixListener::bind(&path).unwrap();
    std::thread::spawn(move || {
        // One connection per cred run (the keyring crate may try after).
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let _ = serve_fake(&mut stream, hostile);
        }
    });
    format!("unix:path={}", path.display())
}

fn serve_fake(
    stream: &mut std::os::unix::net::UnixStream,
    hostile: Hostile,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    // "\0AUTH EXTERNAL …\r\n", then OK, then "BEGIN\r\n".
    let mut lines = 0;
    while lines < 2 {
        let n = stream.read(&mut chunk)?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        while let Some(end) = buf.windows(2).position(|w| w == b"\r\n") {
            buf.drain(..end + 2);
            lines += 1;
            if lines == 1 {
                stream.write_all(b"OK 0123456789abcdef0123456789abcdef\r\n")?;
            } else {
                break;
            }
        }
    }
    let mut calls = 0;
    loop {
        while buf.len() < 16 {
            let n = stream.read(&mut chunk)?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let u32_at = |at: usize| u32::from_le_bytes(buf[at..at + 4].try_into().unwrap());
        let serial = u32_at(8);
        let fields = 16 + u32_at(12) as usize;
        let total = fields.next_multiple_of(8) + u32_at(4) as usize;
        while buf.len() < total {
            let n = stream.read(&mut chunk)?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        buf.drain(..total);
        calls += 1;
        let session = ObjectPath::try_from("/org/freedesktop/secrets/session/s1").unwrap();
        let item = ObjectPath::try_from("/org/freedesktop/secrets/collection/login/1").unwrap();
        let answer = match calls {
            1 => reply(serial, "s", &":1.7"),
            2 => {
                let collections = vec![
                    ObjectPath::try_from("/org/freedesktop/secrets/collection/login").unwrap(),
                ];
                let props =
                    std::collections::HashMap::from([("Collections", Value::from(collections))]);
                reply(serial, "a{sv}", &props)
            }
            3 => {
                let key: Vec<u8> = match hostile {
                    Hostile::WeakKey => vec![1],
                    _ => vec![2],
                };
                reply(serial, "vo", &(Value::from(key), &session))
            }
            4 => match hostile {
                Hostile::WrongType => reply(serial, "s", &"no"),
                _ => reply(serial, "aoao", &(vec![&item], Vec::<ObjectPath>::new())),
            },
            5 => {
                let other = ObjectPath::try_from("/org/freedesktop/secrets/session/other").unwrap();
                let (for_session, value) = match hostile {
                    Hostile::WrongSession => (&other, vec![0u8; 32]),
                    Hostile::Huge => (&session, vec![0u8; 2 << 20]),
                    _ => (&session, vec![0u8; 17]),
                };
                reply(
                    serial,
                    "(oayays)",
                    &((for_session, vec![0u8; 16], value, "text/plain"),),
                )
            }
            6 => {
                let attrs = std::collections::HashMap::from([("service", "cred")]);
                reply(serial, "v", &Value::from(attrs))
            }
            _ => continue,
        };
        stream.write_all(&answer)?;
    }
}

/// A method return answering `serial`, with body `body` of signature `sig`.
fn reply<B: serde::Serialize + zbus::zvariant::DynamicType>(
    serial: u32,
    sig: &str,
    body: &B,
) -> Vec<u8> {
    let body = zbus::zvariant::to_bytes(Context::new_dbus(Endian::Little, 0), body).unwrap();
    let fields: Vec<(u8, Value)> = vec![
        (5, Value::U32(serial)),
        (8, Value::Signature(Signature::try_from(sig).unwrap())),
    ];
    let fields = zbus::zvariant::to_bytes(Context::new_dbus(Endian::Little, 12), &fields).unwrap();
    let mut out = vec![b'l', 2, 0, 1];
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&1000u32.to_le_bytes());
    out.extend_from_slice(&fields);
    while out.len() % 8 != 0 {
        out.push(0);
    }
    out.extend_from_slice(&body);
    out
}

#[test]
fn hostile_answers_are_errors_not_panics_or_hangs() {
    let env = TestEnv::new();
    env.add(
        &["paymo", "--no-verify", "--name", "h"],
        &secret("real"),
        &[],
    )
    .ok();
    for (hostile, cause) in [
        (
            Hostile::WrongSession,
            "the secret came for session /org/freedesktop/secrets/session/other",
        ),
        (Hostile::Huge, "a message of more than 1024 KiB"),
        (
            Hostile::BadCiphertext,
            "does not decrypt with the session key",
        ),
        (Hostile::WeakKey, "not a valid group element"),
        (
            Hostile::WrongType,
            "an answer of type `s` that cannot be read",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let address = fake_service(dir.path(), hostile);
        let run = env.run_with(&["secret", "h"], |c| {
            c.env("DBUS_SESSION_BUS_ADDRESS", &address);
            c.env("CRED_STORE_TIMEOUT", "20");
        });
        run.code(7);
        assert_one_error(&run, "the OS keychain sent an answer cred cannot read");
        assert!(run.stderr.contains(cause), "{hostile:?}: {run}");
        assert_eq!(run.stdout, "", "{hostile:?}");
    }
}
