//! The protocol: initialize, the tool list, list_credentials and describe
//! through the real client; start-up errors; malformed JSON-RPC and a
//! closed stdin on raw lines.

use std::io::{BufRead, BufReader, Write};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::*;
use crate::common::*;

#[test]
fn initialize_lists_the_three_tools() {
    let env = TestEnv::new();
    let server = ok_server();
    let key = add_api(&env, &server);
    let s = drive(&env, &[], &["api"], vec![json!({"op": "list_tools"})]);
    assert!(
        ["2025-06-18", "2025-11-25"].contains(&s.init["protocolVersion"].as_str().unwrap()),
        "{}",
        s.init
    );
    assert_eq!(s.init["serverInfo"]["name"], "cred", "{}", s.init);
    assert!(s.init["capabilities"]["tools"].is_object(), "{}", s.init);
    let tools = s.results[0]["tools"].as_array().unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["list_credentials", "call", "describe"]);
    for t in tools {
        assert_eq!(t["inputSchema"]["type"], "object", "{t}");
    }
    assert_eq!(server.count(), 0, "starting and listing sends nothing");
    assert_hidden("the session", s.all.as_bytes(), &forms(&key));
}

#[test]
fn only_the_named_credentials_are_listed_and_no_secret() {
    let env = TestEnv::new();
    let server = ok_server();
    let key = add_api(&env, &server);
    let other = add_paymo_unchecked(&env, &server);
    let hidden = secret("hidden");
    add_generic(
        &env,
        "hidden",
        &format!("{}/h", server.url()),
        &hidden,
        &["--no-verify"],
    )
    .ok();
    let s = drive(
        &env,
        &[paymo_env(&server)],
        &["api", "paymo", "--read-only", "--allow", "api GET /things*"],
        vec![
            tool("list_credentials", json!({})),
            tool("describe", json!({"credential": "paymo"})),
            tool("describe", json!({"credential": "hidden"})),
        ],
    );
    assert!(!s.is_error(0), "{}", s.text(0));
    let list = s.answer(0)["credentials"].as_array().unwrap();
    let names: Vec<&str> = list.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["api", "paymo"]);
    assert_eq!(list[0]["provider"], "generic");
    assert_eq!(list[0]["base_url"], format!("{}/v1", server.url()));
    assert_eq!(list[0]["allowed"]["methods"], json!(["GET", "HEAD"]));
    assert_eq!(list[0]["allowed"]["rules"], json!(["GET /things*"]));
    assert_eq!(list[1]["allowed"]["rules"], json!(["*"]));
    assert!(list[1].get("last_check").is_some(), "{}", list[1]);
    // describe: the provider's docs and notes.
    assert!(!s.is_error(1), "{}", s.text(1));
    assert_eq!(s.answer(1)["docs"], "https://github.com/paymoapp/api");
    assert!(
        s.answer(1)["notes"]
            .as_str()
            .unwrap()
            .contains("X-Ratelimit")
    );
    // A credential in the config but not named is not there at all.
    assert!(s.is_error(2));
    assert!(
        s.text(2).contains("no credential `hidden` is exposed"),
        "{}",
        s.text(2)
    );
    let mut all = forms(&key);
    all.extend(forms(&other));
    all.extend(forms(&hidden));
    assert_hidden("the session", s.all.as_bytes(), &all);
    assert_eq!(server.count(), 0);
}

#[test]
fn no_names_is_a_usage_error() {
    let env = TestEnv::new();
    let out = env.run(&["mcp"]);
    out.code(2);
    assert_one_error(
        &out,
        "cred mcp exposes only the credentials named on its command line",
    );
    assert!(out.stderr.contains("hint: "), "{out}");
    assert!(out.stdout.is_empty(), "{out}");
    // A rule for a credential that is not exposed, and an unknown name.
    let server = ok_server();
    add_api(&env, &server);
    let out = env.run(&["mcp", "api", "--allow", "other GET /x"]);
    out.code(2);
    assert_one_error(
        &out,
        "--allow 'other GET /x' names `other`, which is not exposed",
    );
    let out = env.run(&["mcp", "api", "nope"]);
    out.code(1);
    assert!(out.stderr.starts_with("cred: error: "), "{out}");
    assert!(out.stderr.contains("nope"), "{out}");
}

/// Reads one line of the server's standard output as JSON.
fn reply(out: &mut impl BufRead) -> Value {
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line:?}"))
}

#[test]
fn malformed_json_rpc_is_answered_and_the_server_goes_on() {
    let env = TestEnv::new();
    let server = ok_server();
    add_api(&env, &server);
    let mut child = spawn_raw(&env, &["api"]);
    let mut stdin = child.stdin.take().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let huge = format!("{{\"x\":\"{}\"}}", "a".repeat(2 * 1024 * 1024));
    let lines = [
        "{not json",
        "[]",
        "42",
        r#"{"jsonrpc":"2.0","id":1,"method":"no/such/method"}"#,
        r#"{"jsonrpc":"1.0","id":2,"method":"ping"}"#,
        r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"nope"}}"#,
        r#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":7}"#,
        huge.as_str(),
        "",
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        r#"{"jsonrpc":"2.0","id":"last","method":"ping"}"#,
    ];
    for l in lines {
        stdin.write_all(l.as_bytes()).unwrap();
        stdin.write_all(b"\n").unwrap();
    }
    stdin.flush().unwrap();
    let expect = [
        (Value::Null, -32700),
        (Value::Null, -32600),
        (Value::Null, -32600),
        (json!(1), -32601),
        (json!(2), -32600),
        (json!(3), -32602),
        (json!(4), -32602),
        (Value::Null, -32600),
    ];
    for (id, code) in expect {
        let r = reply(&mut out);
        assert_eq!(r["jsonrpc"], "2.0", "{r}");
        assert_eq!(r["id"], id, "{r}");
        assert_eq!(r["error"]["code"], code, "{r}");
        assert!(
            r["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty()),
            "{r}"
        );
    }
    let r = reply(&mut out);
    assert_eq!(
        (r["id"].clone(), r["result"].clone()),
        (json!("last"), json!({})),
        "{r}"
    );
    // Closing stdin ends it cleanly.
    drop(stdin);
    let started = Instant::now();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(server.count(), 0);
}

#[test]
fn closing_stdin_exits_0_at_once() {
    let env = TestEnv::new();
    let server = ok_server();
    add_api(&env, &server);
    let mut child = spawn_raw(&env, &["api"]);
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty());
}
