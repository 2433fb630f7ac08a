//! Recipients and identities as the real `age` CLI has them (issue 24,
//! SPEC §7 "File-store recipients"): `recipients.txt` beside the store, a
//! store encrypted by hand to two recipients is never silently narrowed to
//! one, `cred recipients add|remove` re-encrypt at once (checked with
//! `age -d -i` for each identity), every key of an identity file is tried,
//! an SSH ed25519 key is an identity, encrypted SSH keys and plugin
//! identities are refused by name, and an armored store stays armored.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{FileEnv, chmod, file_store_report};
use crate::common::*;

/// A new `age-keygen` identity in the test's directory: its path and
/// recipient.
fn keygen(f: &FileEnv, name: &str) -> (PathBuf, String) {
    let path = f.env.dir.path().join(name);
    let out = Command::new("age-keygen")
        .arg("-o")
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    chmod(&path, 0o600);
    (path.clone(), recipient_of(&path))
}

fn recipient_of(identity: &Path) -> String {
    let out = Command::new("age-keygen")
        .arg("-y")
        .arg(identity)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// `age -d -i IDENTITY STORE`: the plaintext, or `None` when it fails.
fn age_decrypt(identity: &Path, store: &Path) -> Option<String> {
    let out = Command::new("age")
        .arg("-d")
        .arg("-i")
        .arg(identity)
        .arg(store)
        .output()
        .unwrap();
    out.status
        .success()
        .then(|| String::from_utf8(out.stdout).unwrap())
}

/// Re-encrypts the store by hand with the real `age`, to `recipients`.
fn age_reencrypt(f: &FileEnv, recipients: &[&str], armor: bool) {
    let plain = f.age_decrypt();
    let tmp = f.env.dir.path().join("plain.toml");
    std::fs::write(&tmp, plain).unwrap();
    let mut cmd = Command::new("age");
    if armor {
        cmd.arg("-a");
    }
    for r in recipients {
        cmd.arg("-r").arg(r);
    }
    let out = cmd.arg("-o").arg(f.store()).arg(&tmp).output().unwrap();
    assert!(out.status.success(), "{out:?}");
    std::fs::remove_file(&tmp).unwrap();
    chmod(&f.store(), 0o600);
}

fn with_identity(identity: &Path) -> [(&'static str, String); 1] {
    [("CRED_IDENTITY_FILE", identity.display().to_string())]
}

#[test]
fn a_store_encrypted_to_two_recipients_keeps_both_after_cred_writes() {
    let f = FileEnv::new();
    let r1 = recipient_of(&f.identity);
    let (id2, r2) = keygen(&f, "id2.txt");
    let key = secret("first");
    f.add(&["paymo", "--no-verify"], &key, &[]).ok();
    // Someone adds a second recipient by hand, as age's docs show.
    age_reencrypt(&f, &[&r1, &r2], false);
    std::fs::remove_file(f.store().with_file_name("recipients.txt")).unwrap();
    let before = std::fs::read(f.store()).unwrap();
    // cred will not drop R2: it refuses to write, and says how to go on.
    let run = f.add(&["paymo", "--no-verify", "--name", "b"], &secret("b"), &[]);
    run.code(1);
    assert_one_error(
        &run,
        &format!(
            "refusing to write {}: it is encrypted to 2 (X25519 ×2) recipient(s), more than the 1 cred knows",
            f.store().display()
        ),
    );
    assert!(run.stderr.contains("age-keygen -y"), "{run}");
    assert!(
        run.stderr.contains("cred recipients add RECIPIENT"),
        "{run}"
    );
    assert_eq!(std::fs::read(f.store()).unwrap(), before);
    assert!(!f.env.config_text().contains("[credentials.b]"));
    // `recipients list` shows the gap without any identity.
    let run = run_env(&f.env, &["recipients", "list", "--json"], &[]);
    run.ok();
    let doc = json(&run);
    assert_eq!(doc["encrypted_to"]["X25519"], 2, "{doc}");
    // Naming R2 lets cred write, to both.
    f.run(&["recipients", "add", &r2], &[]).ok();
    let b = secret("b");
    f.add(&["paymo", "--no-verify", "--name", "b"], &b, &[])
        .ok();
    let plain = age_decrypt(&id2, &f.store()).expect("age -d -i id2.txt still opens it");
    assert!(plain.contains(&key) && plain.contains(&b), "{plain}");
    assert!(age_decrypt(&f.identity, &f.store()).is_some());
    let listed = std::fs::read_to_string(f.store().with_file_name("recipients.txt")).unwrap();
    assert!(listed.contains(&r1) && listed.contains(&r2), "{listed}");
}

#[test]
fn recipients_add_and_remove_reencrypt_at_once_for_each_identity() {
    let f = FileEnv::new();
    let r1 = recipient_of(&f.identity);
    let (id2, r2) = keygen(&f, "id2.txt");
    let key = secret("shared");
    f.add(&["paymo", "--no-verify"], &key, &[]).ok();
    assert!(age_decrypt(&id2, &f.store()).is_none());
    let run = f.run(&["recipients", "add", &r2], &[]);
    run.ok();
    assert!(!run.all().contains(&key));
    // At once: the host's identity opens the store now.
    assert!(age_decrypt(&id2, &f.store()).unwrap().contains(&key));
    assert!(age_decrypt(&f.identity, &f.store()).unwrap().contains(&key));
    let run = f.run(&["recipients", "list"], &[]);
    run.ok();
    assert_eq!(run.stdout, format!("{r1}\n{r2}\n"));
    // Adding it again changes nothing.
    let before = std::fs::read(f.store()).unwrap();
    f.run(&["recipients", "add", &r2], &[]).ok();
    assert_eq!(std::fs::read(f.store()).unwrap(), before);
    // With only id.txt at hand, R1 is the last recipient cred could open
    // the store with: refused.
    let run = f.run(&["recipients", "remove", &r1], &[]);
    run.code(1);
    assert_one_error(
        &run,
        "refusing to encrypt the store so that no identity at hand opens it",
    );
    assert_eq!(std::fs::read(f.store()).unwrap(), before);
    // From the host (id2 at hand), R1 may go.
    let host = with_identity(&id2);
    f.run(&["recipients", "remove", &r1], &host).ok();
    assert!(age_decrypt(&f.identity, &f.store()).is_none());
    assert!(age_decrypt(&id2, &f.store()).unwrap().contains(&key));
    assert_eq!(
        f.run(&["secret", "paymo"], &host).stdout,
        format!("{key}\n")
    );
    // The last one stays.
    let run = f.run(&["recipients", "remove", &r2], &host);
    run.code(1);
    assert!(age_decrypt(&id2, &f.store()).is_some());
    // A recipient that is not there, and one that is no recipient.
    f.run(&["recipients", "remove", &r1], &host).code(1);
    let run = f.run(&["recipients", "add", "age1nope"], &host);
    run.code(1);
    assert_one_error(
        &run,
        "the recipient given is not a recipient cred can encrypt to",
    );
}

#[test]
fn every_identity_of_a_multi_identity_file_is_tried() {
    let f = FileEnv::new();
    let r1 = recipient_of(&f.identity);
    let (id2, _) = keygen(&f, "id2.txt");
    let key = secret("multi");
    f.add(&["paymo", "--no-verify"], &key, &[]).ok();
    // id2 first, then id: `age -d -i multi.txt` opens it; so does cred.
    let multi = f.env.dir.path().join("multi.txt");
    let text = format!(
        "{}{}",
        std::fs::read_to_string(&id2).unwrap(),
        std::fs::read_to_string(&f.identity).unwrap()
    );
    std::fs::write(&multi, text).unwrap();
    chmod(&multi, 0o600);
    assert!(age_decrypt(&multi, &f.store()).is_some());
    let vars = with_identity(&multi);
    let run = f.run(&["secret", "paymo"], &vars);
    run.ok();
    assert_eq!(run.stdout, format!("{key}\n"));
    // doctor says which key opened it.
    let run = f.run(&["doctor", "--json"], &vars);
    let doc = json(&run);
    let d = &file_store_report(&doc)["details"];
    assert_eq!(d["opened_with"], format!("{r1} (key 2 of 2)"), "{doc}");
    assert_eq!(d["recipients"][0], r1, "{doc}");
    let run = f.run(&["doctor"], &vars);
    assert!(
        run.stdout
            .contains(&format!("opened with: {r1} (key 2 of 2)")),
        "{run}"
    );
    assert!(run.stdout.contains("encrypted to: 1 (X25519)"), "{run}");
}

#[test]
fn an_ssh_ed25519_key_is_an_identity() {
    let f = FileEnv::new();
    let ssh = f.env.dir.path().join("id_ed25519");
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "me@host", "-f"])
        .arg(&ssh)
        .output()
        .expect("ssh-keygen runs (scripts/test.sh installs openssh-client)");
    assert!(out.status.success(), "{out:?}");
    let vars = with_identity(&ssh);
    let key = secret("ssh");
    f.add(&["paymo", "--no-verify"], &key, &vars).ok();
    let run = f.run(&["secret", "paymo"], &vars);
    run.ok();
    assert_eq!(run.stdout, format!("{key}\n"));
    // The real age opens it with the same SSH key.
    assert!(age_decrypt(&ssh, &f.store()).unwrap().contains(&key));
    let pubkey = std::fs::read_to_string(ssh.with_extension("pub")).unwrap();
    let pubkey: Vec<&str> = pubkey.split_whitespace().take(2).collect();
    let run = f.run(&["recipients", "list"], &vars);
    assert_eq!(run.stdout, format!("{}\n", pubkey.join(" ")), "{run}");
    // An age identity can be added beside it, from a recipients file.
    let (id2, r2) = keygen(&f, "id2.txt");
    let list = f.env.dir.path().join("more.txt");
    std::fs::write(&list, format!("# the backup key\n{r2}\n")).unwrap();
    f.run(
        &["recipients", "add", "--file", &list.display().to_string()],
        &vars,
    )
    .ok();
    assert!(age_decrypt(&id2, &f.store()).unwrap().contains(&key));
    assert!(age_decrypt(&ssh, &f.store()).unwrap().contains(&key));
}

#[test]
fn an_encrypted_ssh_key_and_a_plugin_identity_are_refused_by_name() {
    let f = FileEnv::new();
    let key = secret("refused");
    f.add(&["paymo", "--no-verify"], &key, &[]).ok();
    let ssh = f.env.dir.path().join("id_locked");
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "correct horse", "-f"])
        .arg(&ssh)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let run = f.run(&["secret", "paymo"], &with_identity(&ssh));
    run.code(7);
    assert_one_error(
        &run,
        &format!(
            "CRED_IDENTITY_FILE ({}) is an SSH key protected by a passphrase",
            ssh.display()
        ),
    );
    assert!(run.stderr.contains("hint: "), "{run}");
    // A plugin line next to a real key is not skipped silently.
    let plugin = f.env.dir.path().join("plugin.txt");
    std::fs::write(
        &plugin,
        format!(
            "AGE-PLUGIN-YUBIKEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ\n{}",
            std::fs::read_to_string(&f.identity).unwrap()
        ),
    )
    .unwrap();
    chmod(&plugin, 0o600);
    let run = f.run(&["secret", "paymo"], &with_identity(&plugin));
    run.code(7);
    assert!(
        run.stderr.contains("age-plugin-yubikey"),
        "the plugin is not named\n{run}"
    );
    assert!(!run.all().contains(&key));
}

#[test]
fn an_armored_store_is_read_and_written_back_armored() {
    let f = FileEnv::new();
    let r1 = recipient_of(&f.identity);
    let key = secret("armor");
    f.add(&["paymo", "--no-verify"], &key, &[]).ok();
    assert!(
        std::fs::read(f.store())
            .unwrap()
            .starts_with(b"age-encryption.org/v1")
    );
    age_reencrypt(&f, &[&r1], true);
    let run = f.run(&["secret", "paymo"], &[]);
    run.ok();
    assert_eq!(run.stdout, format!("{key}\n"));
    let b = secret("b");
    f.add(&["paymo", "--no-verify", "--name", "b"], &b, &[])
        .ok();
    let raw = std::fs::read_to_string(f.store()).expect("armored text");
    assert!(
        raw.starts_with("-----BEGIN AGE ENCRYPTED FILE-----"),
        "{raw}"
    );
    let plain = f.age_decrypt();
    assert!(plain.contains(&key) && plain.contains(&b), "{plain}");
    let doc = json(&run_env(&f.env, &["recipients", "list", "--json"], &[]));
    assert_eq!(doc["armored"], true, "{doc}");
}
