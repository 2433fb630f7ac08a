//! Storage: twenty `cred add` processes at once lose nothing and leave no
//! temporary files.

use crate::common::*;

#[test]
fn twenty_concurrent_adds_lose_nothing() {
    let env = TestEnv::new();
    let keys: Vec<String> = (0..20).map(|i| secret(&format!("c{i}"))).collect();
    let mut children = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let name = format!("p{i}");
        let mut cmd = std_cmd(&env);
        cmd.args(["add", "--name", &name, "--no-verify", "--api-key-stdin"]);
        if i % 2 == 0 {
            cmd.arg("paymo");
        } else {
            cmd.args(["generic", "--base-url", "https://api.example.com"]);
        }
        children.push((name, spawn_with_stdin(&mut cmd, key)));
    }
    // All 20 were started before any is waited for.
    for (name, child) in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "add {name} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = env.config_text();
    let parsed: toml::Table = toml::from_str(&text).expect("config.toml parses");
    assert_eq!(
        parsed["credentials"].as_table().unwrap().len(),
        20,
        "{text}"
    );
    let listed = json(&env.run(&["list", "--json"]));
    assert_eq!(listed.as_array().unwrap().len(), 20, "{listed}");
    for (i, key) in keys.iter().enumerate() {
        let out = env.run(&["secret", &format!("p{i}")]);
        out.ok();
        assert_eq!(out.stdout, format!("{key}\n"), "p{i} got another's key");
    }
    // No temporary files left behind by the atomic writes.
    let names: Vec<String> = std::fs::read_dir(env.config_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
}
