//! The secret stores' errors with a hint: the OS keychain unreachable or
//! silent, the file store (identities, the store file, recipients, the
//! unlock) and Vault (address, token, TLS, a server that refuses).

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

use crate::common::*;
use crate::file_store::FileEnv;

const PAYMO: &str = "[credentials.api]\nprovider = \"paymo\"\n";

#[test]
fn keychain_unreachable() {
    let env = TestEnv::new();
    super::write_config(&env, PAYMO);
    snap!(
        "keychain_no_bus",
        &env,
        &["secret", "api"],
        &[(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/bus".to_string()
        )]
    );
    snap!(
        "store_timeout_not_a_number",
        &env,
        &["secret", "api"],
        &[("CRED_STORE_TIMEOUT", "soon".to_string())]
    );
}

/// A private bus where a process owns org.freedesktop.secrets and never
/// answers (the fixture of `stores.rs`).
struct Silent {
    address: String,
    bus: std::process::Child,
    owner: Option<std::process::Child>,
    _dir: tempfile::TempDir,
}

impl Silent {
    /// With `owner` false, nothing owns the name: no Secret Service.
    fn start(owner: bool) -> Silent {
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
            .expect("dbus-daemon");
        let mut line = String::new();
        BufReader::new(bus.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let address = line.trim().to_string();
        let owner = owner.then(|| {
            let mut owner = Command::new("/usr/bin/python3")
                .args([
                    "-c",
                    "import dbus, time\n\
                     b = dbus.SessionBus(); b.request_name('org.freedesktop.secrets')\n\
                     print('owned', flush=True); time.sleep(600)",
                ])
                .env("DBUS_SESSION_BUS_ADDRESS", &address)
                .stdout(Stdio::piped())
                .spawn()
                .expect("python3-dbus");
            let mut owned = String::new();
            BufReader::new(owner.stdout.take().unwrap())
                .read_line(&mut owned)
                .unwrap();
            assert_eq!(owned.trim(), "owned");
            owner
        });
        Silent {
            address,
            bus,
            owner,
            _dir: dir,
        }
    }
}

impl Drop for Silent {
    fn drop(&mut self) {
        if let Some(owner) = &mut self.owner {
            let _ = owner.kill();
            let _ = owner.wait();
        }
        let _ = self.bus.kill();
        let _ = self.bus.wait();
    }
}

#[test]
fn keychain_service_missing() {
    let env = TestEnv::new();
    super::write_config(&env, PAYMO);
    let bus = Silent::start(false);
    snap!(
        "keychain_no_service",
        &env,
        &["secret", "api"],
        &[("DBUS_SESSION_BUS_ADDRESS", bus.address.clone())]
    );
}

#[test]
fn keychain_that_never_answers() {
    let env = TestEnv::new();
    super::write_config(&env, PAYMO);
    let silent = Silent::start(true);
    snap!(
        "keychain_timeout",
        &env,
        &["secret", "api"],
        &[
            ("DBUS_SESSION_BUS_ADDRESS", silent.address.clone()),
            ("CRED_STORE_TIMEOUT", "1".to_string()),
        ]
    );
}

#[test]
fn file_store_identities() {
    let fs = FileEnv::new();
    let key = secret("file");
    fs.add(&["paymo", "--no-verify"], &key, &[]).ok();
    let vars = |extra: &[(&'static str, String)]| fs.vars(extra);
    // No identity at all.
    let no_identity = vec![(
        "DBUS_SESSION_BUS_ADDRESS",
        "unix:path=/nonexistent/bus".to_string(),
    )];
    snap!(
        "file_no_identity",
        &fs.env,
        &["secret", "paymo"],
        &no_identity
    );
    // Another identity.
    let other = fs.env.dir.path().join("other.txt");
    let out = Command::new("age-keygen")
        .arg("-o")
        .arg(&other)
        .output()
        .unwrap();
    assert!(out.status.success());
    std::fs::set_permissions(&other, std::fs::Permissions::from_mode(0o600)).unwrap();
    snap!(
        "file_wrong_identity",
        &fs.env,
        &["secret", "paymo"],
        &vars(&[("CRED_IDENTITY_FILE", other.display().to_string())])
    );
    std::fs::set_permissions(&other, std::fs::Permissions::from_mode(0o644)).unwrap();
    snap!(
        "file_identity_readable_by_others",
        &fs.env,
        &["secret", "paymo"],
        &vars(&[("CRED_IDENTITY_FILE", other.display().to_string())])
    );
    let bad = fs.env.dir.path().join("bad.txt");
    std::fs::write(&bad, "not an identity\n").unwrap();
    std::fs::set_permissions(&bad, std::fs::Permissions::from_mode(0o600)).unwrap();
    snap!(
        "file_bad_identity",
        &fs.env,
        &["secret", "paymo"],
        &vars(&[("CRED_IDENTITY_FILE", bad.display().to_string())])
    );
    std::fs::write(
        &bad,
        "AGE-PLUGIN-YUBIKEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ\n",
    )
    .unwrap();
    snap!(
        "file_plugin_identity",
        &fs.env,
        &["secret", "paymo"],
        &vars(&[("CRED_IDENTITY_FILE", bad.display().to_string())])
    );
    snap!(
        "file_identity_is_a_directory",
        &fs.env,
        &["secret", "paymo"],
        &vars(&[(
            "CRED_IDENTITY_FILE",
            fs.env.dir.path().display().to_string()
        )])
    );
}

#[test]
fn file_store_other_identities() {
    let fs = FileEnv::new();
    fs.add(&["paymo", "--no-verify"], &secret("file"), &[]).ok();
    // An SSH key with a passphrase.
    let ssh = fs.env.dir.path().join("id_ed25519");
    let out = Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "ed25519",
            "-N",
            "a passphrase",
            "-C",
            "test",
            "-f",
        ])
        .arg(&ssh)
        .output()
        .expect("ssh-keygen");
    assert!(out.status.success(), "{out:?}");
    snap!(
        "file_ssh_key_with_a_passphrase",
        &fs.env,
        &["secret", "paymo"],
        &fs.vars(&[("CRED_IDENTITY_FILE", ssh.display().to_string())])
    );
    // A store path below a regular file.
    let below_a_file = fs.identity.join("secrets.age");
    snap!(
        "file_store_path_not_usable",
        &fs.env,
        &["secret", "paymo"],
        &fs.vars(&[("CRED_FILE_STORE", below_a_file.display().to_string())])
    );
    // Neither CRED_FILE_STORE nor HOME.
    let args = ["secret", "paymo"];
    let run = fs.env.run_with(&args, |c| {
        c.env_remove("HOME");
        for (k, v) in fs.vars(&[]) {
            c.env(k, v);
        }
    });
    assert_run!("file_store_no_path", &args, run);
}

/// A file store made on a terminal (its identity in identity.age, under a
/// passphrase), with no unlock kept.
fn file_store_with_a_passphrase(env: &TestEnv) {
    let mut s = super::wizard::Screen::start(
        env,
        &[
            "add",
            "paymo",
            "--no-verify",
            "--name",
            "paymo",
            "--description",
            "d",
            "--store",
            "file",
        ],
        &[
            (
                "DBUS_SESSION_BUS_ADDRESS",
                "unix:path=/nonexistent/bus".to_string(),
            ),
            ("CRED_API_KEY", secret("file")),
            ("CRED_UNLOCK_TTL", "0".to_string()),
        ],
    );
    s.until_asked();
    s.send("correct horse\r");
    s.until_asked();
    s.send("correct horse\r");
    assert_eq!(s.finish(), 0);
}

#[test]
fn file_store_unlock() {
    let env = TestEnv::new();
    file_store_with_a_passphrase(&env);
    let no_bus = (
        "DBUS_SESSION_BUS_ADDRESS",
        "unix:path=/nonexistent/bus".to_string(),
    );
    let unlock = ["unlock", "--passphrase-stdin"];
    snap!(
        "unlock_wrong_passphrase",
        &env,
        &unlock,
        std::slice::from_ref(&no_bus),
        stdin = "wrong\n"
    );
    snap!(
        "unlock_two_lines",
        &env,
        &unlock,
        std::slice::from_ref(&no_bus),
        stdin = "one\ntwo\n"
    );
    snap!(
        "unlock_without_a_terminal",
        &env,
        &["unlock"],
        std::slice::from_ref(&no_bus)
    );
    snap!(
        "unlock_ttl_invalid",
        &env,
        &unlock,
        &[no_bus.clone(), ("CRED_UNLOCK_TTL", "soon".to_string())],
        stdin = "correct horse\n"
    );
    snap!(
        "unlock_kernel_keyring_refused",
        &env,
        &unlock,
        &[
            no_bus.clone(),
            ("CRED_TEST_NO_KERNEL_KEYRING", "1".to_string())
        ],
        stdin = "correct horse\n"
    );
    snap!(
        "secret_locked",
        &env,
        &["secret", "paymo"],
        std::slice::from_ref(&no_bus)
    );
    let _ = run_env(&env, &["lock"], &[no_bus]);
}

#[test]
fn file_store_file() {
    let fs = FileEnv::new();
    fs.add(&["paymo", "--no-verify"], &secret("file"), &[]).ok();
    let vars = fs.vars(&[]);
    let other = fs.env.dir.path().join("other.txt");
    assert!(
        Command::new("age-keygen")
            .arg("-o")
            .arg(&other)
            .output()
            .unwrap()
            .status
            .success()
    );
    let out = Command::new("age-keygen")
        .arg("-y")
        .arg(&other)
        .output()
        .unwrap();
    let recipient = String::from_utf8(out.stdout).unwrap().trim().to_string();
    snap!(
        "file_recipient_not_known",
        &fs.env,
        &["recipients", "remove", &recipient],
        &vars
    );
    let own = Command::new("age-keygen")
        .arg("-y")
        .arg(&fs.identity)
        .output()
        .unwrap();
    let own = String::from_utf8(own.stdout).unwrap().trim().to_string();
    snap!(
        "file_remove_the_recipient_in_use",
        &fs.env,
        &["recipients", "remove", &own],
        &vars
    );
    snap!(
        "file_bad_recipient",
        &fs.env,
        &["recipients", "add", "not-a-recipient"],
        &vars
    );
    let dir = fs.store().parent().unwrap().to_path_buf();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    snap!(
        "file_store_dir_writable_by_others",
        &fs.env,
        &["secret", "paymo"],
        &vars
    );
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::write(fs.store(), "not an age file").unwrap();
    snap!("file_store_corrupt", &fs.env, &["secret", "paymo"], &vars);
    let as_dir = fs.vars(&[("CRED_FILE_STORE", dir.display().to_string())]);
    snap!(
        "file_store_is_a_directory",
        &fs.env,
        &["secret", "paymo"],
        &as_dir
    );
}

#[test]
fn vault_settings() {
    let env = TestEnv::new();
    let none: &[(&str, String)] = &[];
    snap!("vault_no_address", &env, &["pull"], none);
    let addr = ("VAULT_ADDR", "http://127.0.0.1:8200".to_string());
    snap!(
        "vault_no_token",
        &env,
        &["pull"],
        std::slice::from_ref(&addr)
    );
    let token = ("VAULT_TOKEN", "t0ken-never-shown".to_string());
    snap!(
        "vault_plain_http_address",
        &env,
        &["pull"],
        &[
            ("VAULT_ADDR", "http://vault.example.com:8200".to_string()),
            token.clone()
        ]
    );
    snap!(
        "vault_cacert_missing",
        &env,
        &["pull"],
        &[
            addr.clone(),
            token.clone(),
            ("VAULT_CACERT", "/nonexistent/ca.pem".to_string())
        ]
    );
    snap!(
        "vault_skip_verify",
        &env,
        &["pull"],
        &[
            addr.clone(),
            token.clone(),
            ("VAULT_SKIP_VERIFY", "1".to_string())
        ]
    );
    snap!(
        "vault_unreachable",
        &env,
        &["pull"],
        &[
            ("VAULT_ADDR", format!("http://127.0.0.1:{}", closed_port())),
            token.clone()
        ]
    );
}

/// A fake Vault answering every request with `status`.
fn vault_answering(name: &str, status: u16, body: &'static str) {
    let server = Server::open(move |_| Reply::json(status, body));
    let env = TestEnv::new();
    snap!(
        name,
        &env,
        &["pull"],
        &[
            ("VAULT_ADDR", server.url()),
            ("VAULT_TOKEN", "t0ken-never-shown".to_string())
        ]
    );
}

#[test]
fn vault_bad_token() {
    vault_answering(
        "vault_bad_token",
        403,
        r#"{"errors":["permission denied"]}"#,
    );
}

#[test]
fn vault_not_vault() {
    vault_answering("vault_not_vault", 200, r#"<html>a proxy</html>"#);
}

#[test]
fn vault_real_refusals() {
    let bao = Bao::start();
    let env = TestEnv::new();
    let root = bao.env(&bao.root);
    snap!("vault_pull_missing", &env, &["pull", "nothing-here"], &root);
    snap!(
        "vault_not_kv2",
        &env,
        &["pull", "--vault-mount", "nothing"],
        &root
    );
    let key = secret("vault");
    let mut vars = root.clone();
    vars.push((
        "CRED_PAYMO_URL",
        "https://paymo.example.com/api".to_string(),
    ));
    run_stdin_ok(
        &env,
        &[
            "add",
            "paymo",
            "--no-verify",
            "--store",
            "vault",
            "--api-key-stdin",
        ],
        &vars,
        &key,
    );
    let other = TestEnv::new();
    snap!(
        "vault_exists",
        &other,
        &[
            "add",
            "paymo",
            "--no-verify",
            "--store",
            "vault",
            "--api-key-stdin"
        ],
        &vars,
        stdin = &key
    );
    add_paymo_unchecked(&other, &ok_server());
    snap!(
        "vault_pull_over_a_local_one",
        &other,
        &["pull", "paymo"],
        &vars
    );
    let reader = bao.token_with_policy(
        "reader",
        "path \"secret/metadata/*\" { capabilities = [\"list\"] }",
    );
    snap!(
        "vault_denied",
        &env,
        &["secret", "paymo"],
        &bao.env(&reader)
    );
    snap!(
        "vault_remove_denied",
        &env,
        &["remove", "paymo", "--yes"],
        &bao.env(&reader)
    );
    // Entries cred did not write.
    bao.bao(&["kv", "put", "secret/cred/weird", "foo=bar"], "");
    snap!(
        "vault_pull_not_a_credential",
        &env,
        &["pull", "weird"],
        &root
    );
    let plain = r#"{"secret":"k","credential":{"provider":"generic","base_url":"http://api.example.com","placement":"header","key_name":"Authorization","template":"Bearer ${apiKey}","label":"API Key","allow_http":true}}"#;
    bao.bao(&["kv", "put", "secret/cred/plain", "-"], plain);
    snap!("vault_pull_plain_http", &env, &["pull", "plain"], &root);
    let odd = r#"{"secret":"k","credential":{"provider":"paymo","colour":"blue"}}"#;
    bao.bao(&["kv", "put", "secret/cred/odd", "-"], odd);
    snap!("vault_pull_unknown_field", &env, &["pull", "odd"], &root);
    let mut config = env.config_text();
    config.push_str("\n[credentials.weird]\nprovider = \"paymo\"\nstore = \"vault\"\n");
    super::write_config(&env, &config);
    snap!("vault_bad_data", &env, &["secret", "weird"], &root);
    bao.bao(&["secrets", "enable", "-path=kv1", "-version=1", "kv"], "");
    snap!(
        "vault_kv_version_1",
        &env,
        &["pull", "--vault-mount", "kv1"],
        &root
    );
    bao.bao(&["operator", "seal"], "");
    snap!("vault_sealed", &env, &["secret", "paymo"], &root);
}

fn run_stdin_ok(env: &TestEnv, args: &[&str], vars: &[(&str, String)], stdin: &str) {
    super::run_stdin(env, args, vars, stdin).ok();
}

#[test]
fn vault_over_tls_without_its_ca() {
    let bao = Bao::start_tls();
    let env = TestEnv::new();
    snap!("vault_tls_private_ca", &env, &["pull"], &bao.env(&bao.root));
}
