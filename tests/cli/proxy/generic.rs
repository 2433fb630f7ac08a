//! `cred proxy` with generic credentials: a key in a header of its own
//! name or in the query is added exactly once, whatever the client sends
//! under that name, and never shows in the log; HEAD keeps its length.

use super::*;

#[test]
fn a_header_key_is_added_once_even_when_the_client_sends_that_header() {
    let server = Server::start(|_| Reply::json(200, "{}"));
    let env = TestEnv::new();
    let key = add_generic_unchecked(&env, &server.url(), &["--key-name", "X-Api-Key"]);
    let proxy = Proxy::start(&env, &[], &["api"]);
    let out = curl(&[
        "-H",
        &bearer(&proxy.token()),
        "-H",
        "X-Api-Key: the-clients-guess",
        &format!("{}/items", proxy.url()),
    ]);
    assert!(out.status.success());
    let seen = server.only();
    assert_eq!(seen.url, "/v1/items");
    let keys: Vec<&str> = seen
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("x-api-key"))
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(keys, [key.as_str()]);
    assert!(seen.header("authorization").is_none(), "{:?}", seen.headers);
    proxy.stop();
}

#[test]
fn a_query_key_is_added_once_and_the_log_masks_that_parameter() {
    let server = Server::start(|_| Reply::json(200, "{}").header("Content-Length", "2"));
    let env = TestEnv::new();
    let key = add_generic_unchecked(&env, &server.url(), &["--placement", "query"]);
    let proxy = Proxy::start(&env, &[], &["api"]);
    let auth = bearer(&proxy.token());
    let url = format!("{}/items?page=2&api_key=guess", proxy.url());
    assert_eq!(status_of(&["-H", &auth, &url]), 200);
    let seen = server.only();
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(seen.query().as_bytes())
        .into_owned()
        .collect();
    assert_eq!(
        pairs,
        [("page".into(), "2".into()), ("api_key".into(), key.clone())]
    );
    // HEAD: no body to scrub, so the API's length passes on.
    let out = curl(&["-I", "-H", &auth, &format!("{}/items", proxy.url())]);
    let head = String::from_utf8_lossy(&out.stdout).to_ascii_lowercase();
    assert!(head.contains("content-length: 2\r\n"), "{head}");
    let token = proxy.token();
    let stopped = proxy.stop();
    assert!(
        stopped
            .stderr
            .contains(" GET /items?page=2&api_key=<redacted> 200 "),
        "{}",
        stopped.stderr
    );
    assert!(!stopped.stderr.contains("guess"), "{}", stopped.stderr);
    assert_hidden("stderr", stopped.stderr.as_bytes(), &[key, token]);
}
