//! `cred call --jq EXPR`: the JSON answer, or the `--paginate` array,
//! filtered by jaq (a real jq); strings printed raw, other values as
//! compact JSON, as `gh api --jq` does; a bad expression costs no request.

use super::call;
use crate::common::*;

#[test]
fn jq_filters_the_answer_and_prints_strings_raw() {
    let server = Server::start(|_| {
        Reply::json(
            200,
            r#"{"folders":[{"id":1,"name":"Guides","size":123456789012345678901},{"id":2,"name":"API \"v2\""}]}"#,
        )
    });
    let env = TestEnv::new();
    add_generic_unchecked(&env, &server.url(), &[]);
    let run = call(&env, &[], &["api", "/folders", "--jq", ".folders[].name"]);
    run.ok();
    assert_eq!(run.stdout, "Guides\nAPI \"v2\"\n");
    let run = call(&env, &[], &["api", "/folders", "--jq", ".folders[0]"]);
    run.ok();
    assert_eq!(
        run.stdout,
        "{\"id\":1,\"name\":\"Guides\",\"size\":123456789012345678901}\n"
    );
    let run = call(
        &env,
        &[],
        &[
            "api",
            "/folders",
            "--jq",
            "[.folders[] | select(.id > 1) | .id] | length",
        ],
    );
    run.ok();
    assert_eq!(run.stdout, "1\n");
}

#[test]
fn a_bad_expression_is_refused_before_any_request() {
    let server = Server::start(|_| Reply::json(200, "{}"));
    let env = TestEnv::new();
    add_generic_unchecked(&env, &server.url(), &[]);
    for expr in [".[", "nosuchfilter"] {
        let run = call(&env, &[], &["api", "/x", "--jq", expr]);
        run.code(1);
        assert!(run.stderr.contains("invalid --jq expression"), "{run}");
    }
    assert_eq!(server.count(), 0);
}

#[test]
fn jq_on_an_answer_that_is_not_json_says_so() {
    let server = Server::start(|_| Reply::new(200, "plain text"));
    let env = TestEnv::new();
    add_generic_unchecked(&env, &server.url(), &[]);
    let run = call(&env, &[], &["api", "/x", "--jq", "."]);
    run.code(1);
    assert!(run.stderr.contains("not JSON"), "{run}");
}

#[test]
fn jq_runs_over_the_paginated_array_and_never_prints_the_key() {
    let server = Server::start(|s| {
        let host = s.header("host").unwrap().to_string();
        let auth = s.header("x-api-key").unwrap_or("").to_string();
        if s.query().contains("page=2") {
            Reply::json(200, r#"[{"name":"c"}]"#)
        } else {
            Reply::json(200, &format!(r#"[{{"name":"a"}},{{"name":"{auth}"}}]"#)).header(
                "Link",
                &format!("<http://{host}/v1/items?page=2>; rel=\"next\""),
            )
        }
    });
    let env = TestEnv::new();
    let key = add_generic_unchecked(&env, &server.url(), &["--key-name", "X-Api-Key"]);
    let run = call(
        &env,
        &[],
        &["api", "/items", "--paginate", "--jq", ".[].name"],
    );
    run.ok();
    assert_eq!(run.stdout, "a\n<redacted>\nc\n");
    assert_no_leak(&run, &key_forms(&key, None));
    let run = call(
        &env,
        &[],
        &["api", "/items", "--paginate", "--jq", "length"],
    );
    run.ok();
    assert_eq!(run.stdout, "3\n");
}

/// jq needs the whole value in memory: up to the limit (768 KiB of JSON)
/// the peak RSS stays under SPEC §5's 64 MiB, also for the densest small
/// objects; past it, a clear error instead of unbounded memory.
#[test]
fn jq_memory_is_bounded() {
    let item = br#"{"a":1},"#;
    let n = (768 * 1024 - 16) / item.len();
    let mut body = b"[".to_vec();
    for _ in 0..n {
        body.extend_from_slice(item);
    }
    body.extend_from_slice(b"{}]");
    assert!(body.len() <= 768 * 1024);
    let mut big = body.clone();
    big.splice(1..1, item.repeat(1024));
    let server = Server::start(move |s| match s.path() {
        "/v1/big" => Reply::new(200, big.clone()).header("Content-Type", "application/json"),
        _ => Reply::new(200, body.clone()).header("Content-Type", "application/json"),
    });
    let env = TestEnv::new();
    add_generic_unchecked(&env, &server.url(), &[]);
    let rss = env.dir.path().join("rss");
    require_command("/usr/bin/time");
    let out = std::process::Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&rss)
        .arg(env!("CARGO_BIN_EXE_cred"))
        .args(["call", "api", "/fits", "--jq", "length"])
        .env_clear()
        .envs(env.sealed_env())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("{}\n", n + 1));
    let kib: u64 = std::fs::read_to_string(&rss)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(kib < 64 * 1024, "peak RSS {kib} KiB");
    let run = call(&env, &[], &["api", "/big", "--jq", "length"]);
    run.code(1);
    assert!(
        run.stderr.contains("more than --jq holds in memory"),
        "{run}"
    );
    assert!(run.stderr.contains("pipe the answer to jq"), "{run}");
}
