//! `cred call --paginate`: Paligo's `next_page` links and generic `Link`
//! headers joined into one JSON array, never followed outside the base
//! URL, stopped by an error page, on one kept-alive connection.

use std::collections::BTreeSet;

use super::call;
use crate::common::*;

/// A Paligo-shaped list: `per` folders a page, `pages` pages, absolute
/// `next_page` links (empty on the last page).
fn paligo_pages(s: &Seen, pages: usize, per: usize) -> Reply {
    let host = s.header("host").unwrap_or("127.0.0.1").to_string();
    let page: usize = s
        .query()
        .split('&')
        .find_map(|kv| kv.strip_prefix("page="))
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let folders: Vec<serde_json::Value> = (0..per)
        .map(
            |i| serde_json::json!({"id": (page - 1) * per + i + 1, "name": format!("f{page}.{i}")}),
        )
        .collect();
    let next = if page < pages {
        format!("http://{host}{}?page={}&per_page={per}", s.path(), page + 1)
    } else {
        String::new()
    };
    let body = serde_json::json!({"page": page, "next_page": next, "total_pages": pages, "folders": folders});
    Reply::json(200, &body.to_string())
}

#[test]
fn paginate_joins_five_paligo_pages_into_one_array() {
    let server = Server::start(|s| paligo_pages(s, 5, 3));
    let env = TestEnv::new();
    let key = add_paligo_unchecked(&env, &server);
    let run = call(
        &env,
        &[paligo_env(&server)],
        &["paligo", "/folders", "-q", "per_page=3", "--paginate"],
    );
    run.ok();
    let items: Vec<serde_json::Value> = serde_json::from_str(&run.stdout).expect("one JSON array");
    let ids: Vec<u64> = items.iter().map(|i| i["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, (1..=15).collect::<Vec<u64>>());
    assert_eq!(items[0]["name"], "f1.0");
    let seen = server.requests();
    let urls: Vec<&str> = seen.iter().map(|s| s.url.as_str()).collect();
    assert_eq!(
        urls,
        [
            "/acme/api/v2/folders?per_page=3",
            "/acme/api/v2/folders?page=2&per_page=3",
            "/acme/api/v2/folders?page=3&per_page=3",
            "/acme/api/v2/folders?page=4&per_page=3",
            "/acme/api/v2/folders?page=5&per_page=3",
        ]
    );
    for s in &seen {
        assert_eq!(s.header("authorization"), Some(basic(EMAIL, &key).as_str()));
    }
    // -o gets the same array.
    let out = env.dir.path().join("all.json");
    call(
        &env,
        &[paligo_env(&server)],
        &[
            "paligo",
            "/folders",
            "--paginate",
            "-o",
            out.to_str().unwrap(),
        ],
    )
    .ok();
    let from_file: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(from_file.len(), 15);
}

#[test]
fn paginate_accepts_a_bare_array_page() {
    let server = Server::start(|_| Reply::json(200, r#"[{"id":1},{"id":2}]"#));
    let env = TestEnv::new();
    add_paligo_unchecked(&env, &server);
    let run = call(
        &env,
        &[paligo_env(&server)],
        &["paligo", "/languages", "--paginate"],
    );
    run.ok();
    assert_eq!(run.stdout.trim_end(), r#"[{"id":1},{"id":2}]"#);
    assert_eq!(server.count(), 1);
}

#[test]
fn paginate_does_not_follow_a_next_page_outside_the_base_url() {
    let other = Server::open(|s| paligo_pages(s, 2, 1));
    let other_url = other.url();
    let server = Server::start(move |_| {
        Reply::json(
            200,
            &serde_json::json!({"page": 1, "next_page": format!("{other_url}/acme/api/v2/folders?page=2"), "folders": [{"id": 1}]})
                .to_string(),
        )
    });
    let env = TestEnv::new();
    add_paligo_unchecked(&env, &server);
    let run = call(
        &env,
        &[paligo_env(&server)],
        &["paligo", "/folders", "--paginate"],
    );
    assert!(
        run.stderr.contains("not under the credential's base URL"),
        "{run}"
    );
    assert_eq!(other.count(), 0);
    assert_eq!(server.count(), 1);
    let items: Vec<serde_json::Value> = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(items.len(), 1);
}

#[test]
fn paginate_stops_on_an_error_page_with_its_status() {
    let server = Server::start(|s| {
        if s.query().contains("page=3") {
            Reply::json(500, r#"{"error":"boom"}"#)
        } else {
            paligo_pages(s, 5, 2)
        }
    });
    let env = TestEnv::new();
    add_paligo_unchecked(&env, &server);
    let run = call(
        &env,
        &[paligo_env(&server)],
        &["paligo", "/folders", "--paginate"],
    );
    run.code(3);
    assert!(run.stdout.contains(r#"{"error":"boom"}"#), "{run}");
    assert!(run.stderr.contains("HTTP 500"), "{run}");
    assert_eq!(server.count(), 3);
}

#[test]
fn paginate_follows_generic_link_headers() {
    let server = Server::start(|s| {
        let host = s.header("host").unwrap().to_string();
        let page: usize = s
            .query()
            .strip_prefix("page=")
            .and_then(|p| p.parse().ok())
            .unwrap_or(1);
        let items = serde_json::json!([format!("item{}a", page), format!("item{}b", page)]);
        let mut reply = Reply::json(200, &items.to_string());
        let prev = format!("<http://{host}/v1/things?page=1>; rel=\"first\"");
        if page < 4 {
            reply = reply.header(
                "Link",
                &format!(
                    "{prev}, <http://{host}/v1/things?page={}>; rel=\"next\"",
                    page + 1
                ),
            );
        } else {
            reply = reply.header("Link", &prev);
        }
        reply
    });
    let env = TestEnv::new();
    let key = add_generic_unchecked(&env, &server.url(), &["--key-name", "X-Key"]);
    let run = call(&env, &[], &["api", "/things", "--paginate"]);
    run.ok();
    let items: Vec<String> = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        items,
        [
            "item1a", "item1b", "item2a", "item2b", "item3a", "item3b", "item4a", "item4b"
        ]
    );
    let seen = server.requests();
    assert_eq!(seen.len(), 4);
    assert!(seen.iter().all(|s| s.header("x-key") == Some(key.as_str())));
}

#[test]
fn paginate_is_refused_for_paymo_and_for_non_get() {
    let server = Server::start(|_| Reply::json(200, "[]"));
    let env = TestEnv::new();
    add_paymo_unchecked(&env, &server);
    let run = call(
        &env,
        &[paymo_env(&server)],
        &["paymo", "/projects", "--paginate"],
    );
    run.code(1);
    assert!(run.stderr.contains("Paymo does not paginate"), "{run}");
    assert!(run.stderr.contains("hint: drop --paginate"), "{run}");
    add_paligo_unchecked(&env, &server);
    let run = call(
        &env,
        &[paligo_env(&server)],
        &["paligo", "POST", "/folders", "--paginate"],
    );
    run.code(1);
    assert_eq!(server.count(), 0);
}

#[test]
fn paginate_uses_one_kept_alive_connection() {
    let server = Server::start(|seen| {
        let page: usize = seen
            .url
            .rsplit("page=")
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(1);
        let host = seen.header("host").unwrap_or("").to_string();
        let next = if page < 5 {
            format!("http://{host}/acme/api/v2/folders?page={}", page + 1)
        } else {
            String::new()
        };
        Reply::json(
            200,
            &serde_json::json!({"page": page, "next_page": next, "total_pages": 5, "folders": [{"id": page}]})
                .to_string(),
        )
    });
    let env = TestEnv::new();
    add_paligo_unchecked(&env, &server);
    let url = paligo_env(&server);
    let run = call(&env, &[url], &["paligo", "/folders", "--paginate"]);
    run.ok();
    let ids: Vec<serde_json::Value> = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(ids.len(), 5);
    let seen = server.requests();
    assert_eq!(seen.len(), 5, "{seen:?}");
    let conns: BTreeSet<usize> = seen.iter().map(|s| s.conn).collect();
    assert_eq!(
        conns.len(),
        1,
        "pages came on several connections: {seen:?}"
    );
}

#[test]
fn paginate_on_an_answer_that_is_not_a_list_names_its_shape() {
    let server = Server::start(|s| match s.path() {
        "/acme/api/v2/one" => Reply::json(200, r#"{"id":7,"name":"x","owner":{"id":1}}"#),
        "/acme/api/v2/num" => Reply::json(200, "42"),
        _ => Reply::json(200, "{}"),
    });
    let env = TestEnv::new();
    add_paligo_unchecked(&env, &server);
    let p = [paligo_env(&server)];
    for (path, shape) in [
        (
            "/one",
            "a JSON object with no list in it (keys: id, name, owner)",
        ),
        ("/num", "a JSON number"),
        ("/empty", "an empty JSON object"),
    ] {
        let run = call(&env, &p, &["paligo", path, "--paginate"]);
        run.code(1);
        assert_eq!(run.stdout, "", "never an empty [] for {path}: {run}");
        assert!(run.stderr.contains(shape), "{path}: {run}");
        assert!(run.stderr.contains("page 1 cannot be joined"), "{run}");
    }
}

#[test]
fn paginate_keeps_the_callers_query_when_next_page_drops_it() {
    let server = Server::start(|s| {
        let host = s.header("host").unwrap().to_string();
        if s.query().contains("page=2") {
            Reply::json(200, r#"{"next_page":"","folders":[{"id":2}]}"#)
        } else {
            // Paligo's next_page names the page only.
            Reply::json(
                200,
                &format!(
                    r#"{{"next_page":"http://{host}/acme/api/v2/folders?page=2","folders":[{{"id":1}}]}}"#
                ),
            )
        }
    });
    let env = TestEnv::new();
    add_paligo_unchecked(&env, &server);
    let run = call(
        &env,
        &[paligo_env(&server)],
        &[
            "paligo",
            "folders?per_page=1",
            "-q",
            "parent=9",
            "--paginate",
        ],
    );
    run.ok();
    assert_eq!(run.stdout, "[{\"id\":1},{\"id\":2}]\n");
    let urls: Vec<String> = server.requests().iter().map(|s| s.url.clone()).collect();
    assert_eq!(
        urls,
        [
            "/acme/api/v2/folders?per_page=1&parent=9",
            "/acme/api/v2/folders?page=2&per_page=1&parent=9",
        ]
    );
}

#[test]
fn paginated_items_keep_their_tokens_and_include_is_refused() {
    let server =
        Server::start(|_| Reply::json(200, r#"[{"n":123456789012345678.99,"a":1,"a":2}]"#));
    let env = TestEnv::new();
    add_generic_unchecked(&env, &server.url(), &[]);
    let run = call(&env, &[], &["api", "/x", "--paginate"]);
    run.ok();
    assert_eq!(
        run.stdout,
        "[{\"n\":123456789012345678.99,\"a\":1,\"a\":2}]\n"
    );
    // -i cannot print one head for many pages: refused, not ignored.
    let run = call(&env, &[], &["api", "/x", "--paginate", "-i"]);
    run.code(2);
    assert!(run.stderr.contains("--include"), "{run}");
    assert_eq!(server.count(), 1);
}
