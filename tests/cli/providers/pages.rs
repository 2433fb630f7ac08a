//! `pagination = "page-param"`: `cred call --paginate` and `cred mcp`'s
//! call tool count pages up (`?page=2`, 3, …) and stop at an empty page or
//! one shorter than the page size asked for.

use super::*;
use crate::mcp::{call as mcp_call, drive};
use serde_json::json;

/// Acme paging by number, two items a page by default.
fn paged() -> String {
    ACME.replace(
        "pagination = \"link-header\"",
        "pagination = \"page-param\"\nper_page_param = \"limit\"\nper_page = 2",
    )
}

/// Five things, served `limit` at a time (2 unless asked) on page `page`
/// (1 unless asked).
fn numbered_server(key: &str) -> Server {
    let good = format!("Token {key}");
    Server::start(move |s| {
        if s.header("x-acme-key") != Some(good.as_str()) {
            return Reply::json(401, r#"{"error":"bad token"}"#);
        }
        let q = |name: &str| {
            s.query()
                .split('&')
                .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
                .and_then(|v| v.parse::<usize>().ok())
        };
        let (page, limit) = (q("page").unwrap_or(1), q("limit").unwrap_or(2));
        let items: Vec<String> = (1..=5)
            .skip((page - 1) * limit)
            .take(limit)
            .map(|i| format!(r#"{{"id":{i}}}"#))
            .collect();
        Reply::json(
            200,
            &format!(r#"{{"things":[{}],"total":5}}"#, items.join(",")),
        )
    })
}

fn pages_seen(server: &Server) -> Vec<String> {
    server
        .requests()
        .iter()
        .filter(|s| s.path() == "/blue/v1/things")
        .map(|s| s.query().to_string())
        .collect()
}

#[test]
fn call_paginate_counts_pages_until_a_short_one() {
    let env = TestEnv::new();
    write_provider(&env, "acme.toml", &paged());
    let key = secret("acme");
    let server = numbered_server(&key);
    let url = [acme_env(&server)];
    env.add(&["acme", "--field", "team=blue", "--no-verify"], &key, &url)
        .ok();
    let run = run_env(&env, &["call", "acme", "/things", "--paginate"], &url);
    run.ok();
    let ids: Vec<i64> = json(&run)
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [1, 2, 3, 4, 5], "{run}");
    assert_eq!(
        pages_seen(&server),
        ["limit=2", "limit=2&page=2", "limit=2&page=3"]
    );

    // The caller's own size wins; an exact last page ends at the empty one.
    let run = run_env(
        &env,
        &["call", "acme", "/things", "--paginate", "-q", "limit=5"],
        &url,
    );
    run.ok();
    assert_eq!(json(&run).as_array().unwrap().len(), 5, "{run}");
    let seen = pages_seen(&server);
    assert_eq!(&seen[3..], ["limit=5", "limit=5&page=2"]);
}

#[test]
fn mcp_paginate_counts_pages_too() {
    let env = TestEnv::new();
    write_provider(&env, "acme.toml", &paged());
    let key = secret("acme");
    let server = numbered_server(&key);
    let url = [acme_env(&server)];
    env.add(&["acme", "--field", "team=blue", "--no-verify"], &key, &url)
        .ok();
    let s = drive(
        &env,
        &url,
        &["acme"],
        vec![mcp_call(
            json!({"credential": "acme", "path": "/things", "paginate": true}),
        )],
    );
    assert!(!s.is_error(0), "{}", s.text(0));
    assert_eq!(pages_seen(&server).len(), 3, "{}", s.text(0));
    for i in 1..=5 {
        assert!(s.text(0).contains(&format!("\"id\":{i}")), "{}", s.text(0));
    }
}

#[test]
fn page_settings_need_page_param_pagination() {
    let env = TestEnv::new();
    write_provider(
        &env,
        "acme.toml",
        &ACME.replace(
            "pagination = \"link-header\"",
            "pagination = \"link-header\"\nper_page = 2",
        ),
    );
    let run = env.run(&["providers", "show", "acme"]);
    run.code(1);
    assert!(run.stderr.contains("per_page"), "{run}");
    assert!(run.stderr.contains("page-param"), "{run}");
}
