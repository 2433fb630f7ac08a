//! Storage: config.toml and the keychain (SPEC §4): the round trip per
//! provider, concurrency, broken configs, an unreachable keychain.

use crate::common::*;

#[test]
fn paymo_round_trip() {
    let env = TestEnv::new();
    let key = secret("paymo");
    env.add(&["paymo", "--no-verify"], &key, &[]).ok();
    let list = env.run(&["list"]);
    list.ok();
    assert!(list.stdout.contains("paymo"), "{list}");
    let out = env.run(&["secret", "paymo"]);
    out.ok();
    assert_eq!(out.stdout, format!("{key}\n"));
    env.run(&["remove", "paymo", "--yes"]).ok();
    env.run(&["secret", "paymo"]).code(1);
}
