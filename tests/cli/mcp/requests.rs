//! The `call` tool through the real client: a GET through the fake API,
//! refusals (`--read-only`, paths, `--allow`) with nothing sent, an answer
//! echoing the key in every encoding, a redirect to another origin, a
//! 64 MiB answer, pagination, and the audit log.

use serde_json::json;

use super::*;
use crate::common::*;

#[test]
fn a_get_goes_through_with_the_key_and_is_logged() {
    let env = TestEnv::new();
    let server = Server::start(|_| {
        Reply::json(200, r#"{"things":[1,2]}"#)
            .header("X-Ratelimit-Remaining", "41")
            .header("Set-Cookie", "session=abc")
    });
    let key = add_api(&env, &server);
    let s = drive(
        &env,
        &[],
        &["api"],
        vec![call(json!({
            "credential": "api",
            "path": "/things",
            "query": {"page": 2, "q": "a b"},
            "headers": {"X-Trace": "t1"},
        }))],
    );
    assert!(!s.is_error(0), "{}", s.text(0));
    let a = s.answer(0);
    assert_eq!(a["status"], 200, "{a}");
    assert_eq!(a["body"], r#"{"things":[1,2]}"#);
    assert_eq!(a["truncated"], false);
    assert_eq!(a["headers"]["x-ratelimit-remaining"], "41");
    assert!(a["headers"].get("set-cookie").is_none(), "{a}");
    let seen = server.only();
    assert_eq!(seen.method, "GET");
    assert_eq!(seen.url, "/v1/things?page=2&q=a+b");
    assert_eq!(
        seen.header("authorization"),
        Some(format!("Bearer {key}").as_str())
    );
    assert_eq!(seen.header("x-trace"), Some("t1"));
    // One audit line: time, tool, credential, method, path, status, bytes, ms.
    let line = s
        .stderr
        .lines()
        .find(|l| l.contains(" call api "))
        .unwrap_or_else(|| panic!("no audit line:\n{}", s.stderr));
    let words: Vec<&str> = line.split(' ').collect();
    assert_eq!(
        &words[1..6],
        ["call", "api", "GET", "/v1/things?page=2&q=a+b", "200"],
        "{line}"
    );
    assert_eq!(&words[6..], ["16", "B", words[8], "ms"], "{line}");
    assert_hidden("the session", s.all.as_bytes(), &forms(&key));
}

#[test]
fn refused_requests_send_nothing_and_name_the_rule() {
    let env = TestEnv::new();
    let server = ok_server();
    let key = add_api(&env, &server);
    let s = drive(
        &env,
        &[],
        &["api", "--read-only", "--allow", "api GET /documents*"],
        vec![
            call(
                json!({"credential": "api", "method": "POST", "path": "/documents", "body": {"a": 1}}),
            ),
            call(json!({"credential": "api", "method": "DELETE", "path": "/documents/1"})),
            call(json!({"credential": "api", "path": "/admin/users"})),
            call(json!({"credential": "api", "path": "/../admin"})),
            call(json!({"credential": "api", "path": "/documents/..%2f..%2fadmin"})),
            call(json!({"credential": "api", "path": "/documents/1"})),
        ],
    );
    for i in 0..2 {
        assert!(s.is_error(i), "{}", s.text(i));
        assert!(s.text(i).contains("--read-only"), "{}", s.text(i));
        assert!(s.text(i).contains("nothing was sent"), "{}", s.text(i));
    }
    assert!(s.is_error(2));
    assert!(
        s.text(2).contains("GET /documents*"),
        "the rule is named: {}",
        s.text(2)
    );
    assert!(
        s.is_error(3) && s.text(3).contains("climbs out"),
        "{}",
        s.text(3)
    );
    assert!(
        s.is_error(4) && s.text(4).contains("refused"),
        "{}",
        s.text(4)
    );
    // The one allowed request is the only one sent.
    assert!(!s.is_error(5), "{}", s.text(5));
    assert_eq!(server.only().url, "/v1/documents/1");
    assert_eq!(s.stderr.matches(" refused ").count(), 5, "{}", s.stderr);
    assert_hidden("the session", s.all.as_bytes(), &forms(&key));
}

/// A character as an encoder that escapes every ASCII character but
/// letters and digits writes it in a JSON string (`\u002d` for `-`).
fn u_escape(c: char) -> String {
    if c.is_ascii_alphanumeric() {
        c.to_string()
    } else {
        format!("\\u{:04x}", c as u32)
    }
}

#[test]
fn an_answer_echoing_the_key_is_scrubbed_in_every_encoding() {
    use base64::Engine as _;
    let env = TestEnv::new();
    let key_slot: std::sync::Arc<std::sync::Mutex<String>> = Default::default();
    let k2 = key_slot.clone();
    let server = Server::start(move |seen| {
        let key = k2.lock().unwrap().clone();
        let auth = seen.header("authorization").unwrap_or("").to_string();
        let std64 = base64::engine::general_purpose::STANDARD;
        let url64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let json_u: String = key.chars().map(u_escape).collect();
        let body = json!({
            "raw": key,
            "header": auth,
            "percent": urlencoded(&key),
            "percent20": urlencoded(&key).replace('+', "%20"),
            "base64": std64.encode(&key),
            "base64url": url64.encode(&key),
            "inside_base64": std64.encode(format!("user:{key}:tail")),
            "inside_base64_shifted": std64.encode(format!("xy{key}")),
            "bearer_base64": std64.encode(&auth),
        })
        .to_string();
        // Written by hand: a serializer would escape the backslashes.
        let body = format!("{},\"json_u\":\"{json_u}\"}}", &body[..body.len() - 1]);
        Reply::json(200, &body)
            .header(
                "Link",
                &format!("<https://x.example/?k={key}>; rel=\"next\""),
            )
            .header("X-Request-Id", &key)
    });
    let key = add_api(&env, &server);
    *key_slot.lock().unwrap() = key.clone();
    let s = drive(
        &env,
        &[],
        &["api"],
        vec![call(json!({"credential": "api", "path": "/echo"}))],
    );
    assert!(!s.is_error(0), "{}", s.text(0));
    let text = s.text(0);
    assert!(text.matches("<redacted>").count() >= 10, "{text}");
    let std64 = base64::engine::general_purpose::STANDARD;
    let mut all = forms(&key);
    all.push(std64.encode(format!("user:{key}:tail"))[8..24].to_string());
    all.push(key[4..20].to_string());
    all.push(key.chars().map(u_escape).collect());
    assert_hidden("the answer", text.as_bytes(), &all);
    assert_hidden("the session", s.all.as_bytes(), &all);
}

#[test]
fn a_redirect_to_another_origin_is_not_followed_with_the_key() {
    let env = TestEnv::new();
    let elsewhere = ok_server();
    let target = format!("{}/steal?x=1", elsewhere.url());
    let server = Server::start(move |_| Reply::new(302, "").header("Location", &target));
    let key = add_api(&env, &server);
    let s = drive(
        &env,
        &[],
        &["api"],
        vec![call(json!({"credential": "api", "path": "/download"}))],
    );
    assert!(!s.is_error(0), "{}", s.text(0));
    let a = s.answer(0);
    assert_eq!(a["status"], 302, "{a}");
    assert!(
        a["notes"][0]
            .as_str()
            .unwrap()
            .contains("did not follow it"),
        "{a}"
    );
    assert_eq!(elsewhere.count(), 0, "the other origin was asked");
    assert_eq!(server.count(), 1);
    assert_hidden("the session", s.all.as_bytes(), &forms(&key));
}

#[test]
fn a_64_mib_answer_is_cut_at_the_cap_in_bounded_memory() {
    use std::io::Read as _;
    const LEN: usize = 64 * 1024 * 1024;
    let env = TestEnv::new();
    let server = Server::start(|_| {
        Reply::stream(200, std::io::repeat(b'x').take(LEN as u64), LEN)
            .header("Content-Type", "text/plain")
    });
    let key = add_api(&env, &server);
    let s = drive(
        &env,
        &[],
        &["api", "--max-body", "1M"],
        vec![
            call(json!({"credential": "api", "path": "/big"})),
            json!({"op": "peak_rss"}),
        ],
    );
    assert!(!s.is_error(0), "{}", s.text(0));
    let a = s.answer(0);
    assert_eq!(a["truncated"], true);
    assert_eq!(a["bytes"], 1024 * 1024);
    assert_eq!(a["body"].as_str().unwrap().len(), 1024 * 1024);
    assert!(
        a["notes"][0]
            .as_str()
            .unwrap()
            .contains("cut at 1048576 bytes"),
        "{a}"
    );
    let peak = s.results[1]["peak_rss_kib"]
        .as_u64()
        .unwrap_or_else(|| panic!("no peak: {}", s.results[1]));
    assert!(peak < 64 * 1024, "peak RSS {peak} KiB");
    assert_hidden("the session", s.all.as_bytes(), &forms(&key));
}

#[test]
fn pages_are_joined_within_bounds() {
    let env = TestEnv::new();
    let port: std::sync::Arc<std::sync::Mutex<u16>> = Default::default();
    let p2 = port.clone();
    let server = Server::start(move |seen| {
        let page: u32 = seen
            .query()
            .split('&')
            .find_map(|kv| kv.strip_prefix("page="))
            .and_then(|v| v.parse().ok())
            .unwrap_or(1);
        let mut r = Reply::json(200, &format!("[{}, {}]", page * 10, page * 10 + 1));
        if page < 5 {
            let next = format!(
                "<http://127.0.0.1:{}/v1/items?page={}>; rel=\"next\"",
                p2.lock().unwrap(),
                page + 1
            );
            r = r.header("Link", &next);
        }
        r
    });
    *port.lock().unwrap() = server.port;
    let key = add_api(&env, &server);
    let s = drive(
        &env,
        &[],
        &["api"],
        vec![call(
            json!({"credential": "api", "path": "/items", "query": {"per_page": 2}, "paginate": true, "max_pages": 3}),
        )],
    );
    assert!(!s.is_error(0), "{}", s.text(0));
    let a = s.answer(0);
    assert_eq!(a["body"], "[10,11,20,21,30,31]", "{a}");
    assert_eq!(
        (a["pages"].clone(), a["truncated"].clone()),
        (json!(3), json!(true)),
        "{a}"
    );
    let urls: Vec<String> = server.requests().iter().map(|r| r.url.clone()).collect();
    assert_eq!(
        urls,
        [
            "/v1/items?per_page=2",
            "/v1/items?page=2&per_page=2",
            "/v1/items?page=3&per_page=2"
        ]
    );
    assert_hidden("the session", s.all.as_bytes(), &forms(&key));
}

#[test]
fn the_log_file_is_private_and_has_one_line_per_tool_call() {
    let env = TestEnv::new();
    let server = ok_server();
    let key = add_api(&env, &server);
    let log = env.dir.path().join("mcp.log");
    let s = drive(
        &env,
        &[],
        &["api", "--log", log.to_str().unwrap()],
        vec![
            tool("list_credentials", json!({})),
            call(json!({"credential": "api", "path": "/me"})),
            tool("describe", json!({"credential": "api"})),
        ],
    );
    assert!(!s.is_error(1), "{}", s.text(1));
    let text = std::fs::read_to_string(&log).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&log).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let calls: Vec<&str> = text.lines().filter(|l| l.ends_with(" ms")).collect();
    assert_eq!(calls.len(), 3, "{text}");
    assert!(calls[0].contains(" list_credentials - - - ok "), "{text}");
    assert!(calls[1].contains(" call api GET /v1/me 200 "), "{text}");
    assert!(calls[2].contains(" describe api - - ok "), "{text}");
    assert!(
        !s.stderr.contains(" call api "),
        "the log went to the file only"
    );
    assert_hidden("the log", text.as_bytes(), &forms(&key));
}

#[test]
fn paligo_pages_follow_next_page_and_describe_links_the_docs() {
    let env = TestEnv::new();
    let port: std::sync::Arc<std::sync::Mutex<u16>> = Default::default();
    let p2 = port.clone();
    let server = Server::start(move |seen| {
        let next = if seen.query().contains("page=2") {
            String::new()
        } else {
            format!(
                "http://127.0.0.1:{}/acme/api/v2/folders?page=2",
                p2.lock().unwrap()
            )
        };
        let id = if next.is_empty() { 2 } else { 1 };
        Reply::json(
            200,
            &json!({"page": id, "next_page": next, "folders": [{"id": id}]}).to_string(),
        )
    });
    *port.lock().unwrap() = server.port;
    let key = add_paligo_unchecked(&env, &server);
    let s = drive(
        &env,
        &[paligo_env(&server)],
        &["paligo", "--read-only"],
        vec![
            call(
                json!({"credential": "paligo", "path": "folders", "query": {"per_page": 1}, "paginate": true}),
            ),
            tool("describe", json!({"credential": "paligo"})),
            call(
                json!({"credential": "paligo", "method": "POST", "path": "/productions", "paginate": true}),
            ),
        ],
    );
    assert!(!s.is_error(0), "{}", s.text(0));
    let a = s.answer(0);
    assert_eq!(a["body"], r#"[{"id":1},{"id":2}]"#, "{a}");
    assert_eq!(
        (a["pages"].clone(), a["truncated"].clone()),
        (json!(2), json!(false))
    );
    let urls: Vec<String> = server.requests().iter().map(|r| r.url.clone()).collect();
    assert_eq!(
        urls,
        [
            "/acme/api/v2/folders?per_page=1",
            "/acme/api/v2/folders?page=2&per_page=1"
        ]
    );
    for r in server.requests() {
        assert_eq!(r.header("authorization"), Some(basic(EMAIL, &key).as_str()));
    }
    assert_eq!(
        s.answer(1)["docs"],
        "https://paligo.net/docs/apidocs/en/index-en.html"
    );
    assert!(
        s.is_error(2) && s.text(2).contains("--read-only"),
        "{}",
        s.text(2)
    );
    assert_hidden("the session", s.all.as_bytes(), &paligo_forms(&key));
}
