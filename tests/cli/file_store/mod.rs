//! The file store (SPEC §6 "file") without a person: no session bus, an
//! age identity from `CRED_IDENTITY_FILE` (made by the real `age-keygen`)
//! or `CRED_IDENTITY`. Every command works per provider, nothing but the
//! encrypted store ever holds a key, the real `age -d` recovers every
//! secret, 20 concurrent adds lose nothing, an identity others can read is
//! refused, and a store nothing can open is exit 7 naming each source.
//! `moves`: `cred move` between the keychain and the file store.

mod hostile;
mod moves;

use std::path::PathBuf;
use std::process::Command;

use crate::common::*;

/// A session bus address where nothing listens: no keychain at all.
pub const NO_BUS: &str = "unix:path=/nonexistent/cred-test-bus";

/// A test environment with an `age-keygen` identity file (mode 600).
pub struct FileEnv {
    pub env: TestEnv,
    pub identity: PathBuf,
}

impl Default for FileEnv {
    fn default() -> Self {
        Self::new()
    }
}

impl FileEnv {
    pub fn new() -> FileEnv {
        let env = TestEnv::new();
        let identity = env.dir.path().join("id.txt");
        let out = Command::new("age-keygen")
            .arg("-o")
            .arg(&identity)
            .output()
            .expect("age-keygen runs (scripts/test.sh installs age)");
        assert!(out.status.success(), "{out:?}");
        chmod(&identity, 0o600);
        FileEnv { env, identity }
    }

    /// The store's path in the sealed environment (HOME/.local/share).
    pub fn store(&self) -> PathBuf {
        self.env.home().join(".local/share/cred/secrets.age")
    }

    /// No bus, the identity file, and `extra`.
    pub fn vars(&self, extra: &[(&'static str, String)]) -> Vec<(&'static str, String)> {
        let mut v = vec![
            ("DBUS_SESSION_BUS_ADDRESS", NO_BUS.to_string()),
            ("CRED_IDENTITY_FILE", self.identity.display().to_string()),
        ];
        v.extend_from_slice(extra);
        v
    }

    pub fn run(&self, args: &[&str], extra: &[(&'static str, String)]) -> Run {
        run_env(&self.env, args, &self.vars(extra))
    }

    /// `cred add ARGS --store file --api-key-stdin` with `key` on stdin.
    pub fn add(&self, args: &[&str], key: &str, extra: &[(&'static str, String)]) -> Run {
        let mut full = args.to_vec();
        full.extend_from_slice(&["--store", "file"]);
        self.env.add(&full, key, &self.vars(extra))
    }

    /// What the real `age -d -i IDENTITY` prints for the store.
    pub fn age_decrypt(&self) -> String {
        let out = Command::new("age")
            .arg("-d")
            .arg("-i")
            .arg(&self.identity)
            .arg(self.store())
            .output()
            .expect("age runs");
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout).unwrap()
    }
}

pub fn chmod(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// No file under the test's directory holds any form of a key, in the
/// clear (the store is encrypted; the config holds no secret).
pub fn assert_no_plaintext(env: &TestEnv, forms: &[String]) {
    for (path, bytes) in env.files() {
        if let Some(f) = revealed(&bytes, forms) {
            panic!("{} holds `{f}` in the clear", path.display());
        }
    }
}

/// The file store's entry in `cred doctor --json`.
pub fn file_store_report(doc: &serde_json::Value) -> serde_json::Value {
    doc["stores"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["store"] == "file")
        .cloned()
        .unwrap_or_else(|| panic!("no file store in {doc}"))
}

/// A server that answers every request with 200 and a small JSON body.
fn ok_server() -> Server {
    Server::start(|_| Reply::json(200, r#"{"folders":[],"user":{}}"#))
}

/// add, secret, call, verify, rotate, remove through the file store, for
/// one provider, with no session bus. `auth` makes the Authorization value
/// a key is sent as.
fn lifecycle(
    provider_args: &[&str],
    name: &str,
    server: &Server,
    extra: Vec<(&'static str, String)>,
    auth: impl Fn(&str) -> String,
) {
    let f = FileEnv::new();
    let key = secret(name);
    f.add(provider_args, &key, &extra).ok();
    assert!(f.env.config_text().contains("store = \"file\""));
    assert!(f.store().exists());
    let run = f.run(&["secret", name], &extra);
    run.ok();
    assert_eq!(run.stdout, format!("{key}\n"));
    f.run(&["call", name, "/x"], &extra).ok();
    f.run(&["verify", name], &extra).ok();
    let new = secret("rotated");
    let vars = f.vars(&extra);
    let run = f.env.run_with(&["rotate", name, "--api-key-stdin"], |c| {
        c.write_stdin(new.clone());
        for (k, v) in &vars {
            c.env(k, v);
        }
    });
    run.ok();
    assert!(!run.all().contains(&new), "{run}");
    assert_eq!(f.run(&["secret", name], &extra).stdout, format!("{new}\n"));
    f.run(&["call", name, "/y"], &extra).ok();
    let seen = server.requests();
    let sent: Vec<_> = seen
        .iter()
        .filter_map(|s| s.header("authorization"))
        .collect();
    assert!(sent.contains(&auth(&key).as_str()), "{sent:?}");
    assert!(sent.contains(&auth(&new).as_str()), "{sent:?}");
    let mut forms = key_forms(&key, Some(&auth(&key)));
    forms.extend(key_forms(&new, Some(&auth(&new))));
    assert_no_plaintext(&f.env, &forms);
    // The real age recovers it, in the documented layout.
    let plain = f.age_decrypt();
    assert!(plain.contains(&format!("name = \"{name}\"")), "{plain}");
    assert!(plain.contains(&format!("secret = \"{new}\"")), "{plain}");
    f.run(&["remove", name, "--yes"], &extra).ok();
    let plain = f.age_decrypt();
    assert!(!plain.contains(&new) && !plain.contains(&key), "{plain}");
    f.run(&["secret", name], &extra).code(1);
}

#[test]
fn paligo_lives_in_the_file_store_without_a_keychain() {
    let server = ok_server();
    lifecycle(
        &[
            "paligo",
            "--instance",
            "acme",
            "--username",
            EMAIL,
            "--no-verify",
        ],
        "paligo",
        &server,
        vec![paligo_env(&server)],
        |k| basic(EMAIL, k),
    );
}

#[test]
fn paymo_lives_in_the_file_store_without_a_keychain() {
    let server = ok_server();
    lifecycle(
        &["paymo", "--no-verify"],
        "paymo",
        &server,
        vec![paymo_env(&server)],
        |k| basic(k, "X"),
    );
}

#[test]
fn generic_lives_in_the_file_store_without_a_keychain() {
    let server = ok_server();
    let base = format!("{}/v1", server.url());
    lifecycle(
        &[
            "generic",
            "--name",
            "api",
            "--base-url",
            &base,
            "--no-verify",
        ],
        "api",
        &server,
        vec![],
        |k| k.to_string(),
    );
}

#[test]
fn an_identity_file_others_can_read_is_refused() {
    let f = FileEnv::new();
    let key = secret("exposed");
    f.add(&["paymo", "--no-verify"], &key, &[]).ok();
    let before = std::fs::read(f.store()).unwrap();
    chmod(&f.identity, 0o644);
    let run = f.run(&["secret", "paymo"], &[]);
    run.code(7);
    assert_one_error(
        &run,
        &format!("{} can be read by group or others", f.identity.display()),
    );
    assert!(
        run.stderr
            .contains(&format!("hint: chmod 600 {}", f.identity.display())),
        "{run}"
    );
    assert!(!run.all().contains(&key));
    let run = f.add(
        &["paymo", "--no-verify", "--name", "other"],
        &secret("x"),
        &[],
    );
    run.code(7);
    assert_eq!(std::fs::read(f.store()).unwrap(), before);
}

#[test]
fn cred_identity_text_creates_and_opens_the_store() {
    let f = FileEnv::new();
    let text = std::fs::read_to_string(&f.identity).unwrap();
    let id_var = [("CRED_IDENTITY", text.clone())];
    let vars = [
        ("DBUS_SESSION_BUS_ADDRESS", NO_BUS.to_string()),
        ("CRED_IDENTITY", text.clone()),
    ];
    let key = secret("container");
    f.env
        .add(&["paymo", "--no-verify", "--store", "file"], &key, &vars)
        .ok();
    let run = run_env(&f.env, &["secret", "paymo"], &vars);
    run.ok();
    assert_eq!(run.stdout, format!("{key}\n"));
    // Encrypted to that identity's recipient: the identity file opens it too.
    assert!(f.age_decrypt().contains(&key));
    let secret_line = text
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-1"))
        .unwrap();
    for out in [f.run(&["secret", "paymo"], &id_var), run] {
        assert!(!out.all().contains(secret_line), "{out}");
    }
}

#[test]
fn nothing_to_open_the_store_is_exit_7_naming_each_source() {
    let f = FileEnv::new();
    let key = secret("locked");
    f.add(&["paymo", "--no-verify"], &key, &[]).ok();
    let run = run_env(
        &f.env,
        &["secret", "paymo"],
        &[("DBUS_SESSION_BUS_ADDRESS", NO_BUS.to_string())],
    );
    run.code(7);
    assert_one_error(&run, "nothing can open the file store");
    for source in [
        "CRED_IDENTITY_FILE",
        "CRED_IDENTITY:",
        "kernel keyring",
        "identity.age",
    ] {
        assert!(run.stderr.contains(source), "{source} is not named\n{run}");
    }
    assert!(run.stderr.contains("hint: "), "{run}");
    assert!(!run.all().contains(&key));
    // Another identity: exit 7, the file untouched.
    let other = FileEnv::new();
    let before = std::fs::read(f.store()).unwrap();
    let vars = [
        ("DBUS_SESSION_BUS_ADDRESS", NO_BUS.to_string()),
        ("CRED_IDENTITY_FILE", other.identity.display().to_string()),
    ];
    let run = f.env.add(
        &["paymo", "--no-verify", "--name", "b", "--store", "file"],
        "k",
        &vars,
    );
    run.code(7);
    assert!(run.stderr.contains("does not open the file store"), "{run}");
    assert_eq!(std::fs::read(f.store()).unwrap(), before);
}

#[test]
fn twenty_concurrent_adds_keep_twenty_secrets() {
    let f = FileEnv::new();
    let keys: Vec<String> = (0..20).map(|i| secret(&format!("c{i}"))).collect();
    let children: Vec<_> = keys
        .iter()
        .enumerate()
        .map(|(i, key)| {
            let name = format!("p{i}");
            let mut cmd = std_cmd(&f.env);
            cmd.args([
                "add",
                "paymo",
                "--no-verify",
                "--store",
                "file",
                "--api-key-stdin",
            ])
            .args(["--name", &name]);
            for (k, v) in f.vars(&[]) {
                cmd.env(k, v);
            }
            spawn_with_stdin(&mut cmd, key)
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{out:?}");
    }
    let plain = f.age_decrypt();
    for (i, key) in keys.iter().enumerate() {
        assert!(plain.contains(key), "secret {i} was lost:\n{plain}");
        let run = f.run(&["secret", &format!("p{i}")], &[]);
        assert_eq!(run.stdout, format!("{key}\n"), "{run}");
    }
    let entries = plain.lines().filter(|l| *l == "[[secret]]").count();
    assert_eq!(entries, 20, "{plain}");
}

#[test]
fn doctor_shows_the_file_store_and_what_opens_it() {
    let f = FileEnv::new();
    let key = secret("doc");
    f.add(&["paymo", "--no-verify"], &key, &[]).ok();
    let run = f.run(&["doctor", "--json"], &[]);
    // The keychain is unreachable here (no bus), but no credential uses
    // it: doctor reports it and does not fail on it.
    run.code(0);
    let doc = json(&run);
    assert_eq!(doc["stores"][0]["store"], "keychain", "{doc}");
    assert_eq!(doc["stores"][0]["ok"], false, "{doc}");
    let file = file_store_report(&doc);
    assert_eq!(file["ok"], true, "{doc}");
    assert_eq!(file["missing"].as_array().unwrap().len(), 0, "{doc}");
    let d = &file["details"];
    assert_eq!(d["path"], f.store().display().to_string(), "{doc}");
    assert_eq!(d["mode"], "600", "{doc}");
    assert_eq!(d["opened_by"], "identity-file", "{doc}");
    assert!(!run.all().contains(&key));
    let run = f.run(&["doctor"], &[]);
    assert!(
        run.stdout.contains("opened by: CRED_IDENTITY_FILE"),
        "{run}"
    );
    assert!(run.stdout.contains("mode 600"), "{run}");
}

#[test]
fn without_a_keychain_add_points_to_the_file_store() {
    let f = FileEnv::new();
    let run = run_env(
        &f.env,
        &["add", "paymo", "--no-verify", "--api-key-stdin"],
        &[("DBUS_SESSION_BUS_ADDRESS", NO_BUS.to_string())],
    );
    run.code(7);
    assert!(
        run.stderr
            .contains("hint: or keep the secret in an encrypted file instead: --store file"),
        "{run}"
    );
    // With it, the same add works.
    f.add(&["paymo", "--no-verify"], &secret("then"), &[]).ok();
}
