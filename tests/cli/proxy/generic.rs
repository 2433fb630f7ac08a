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

/// The key's own query parameter is set by the proxy only: a client that
/// sends one of its own gets 400 with a JSON reason (as `cred call`
/// refuses `-q api_key=…`), not a silent replacement; the mask the proxy
/// itself wrote into a link (`api_key=<redacted>`) is dropped and the key
/// put in its place. The log masks that parameter's value.
#[test]
fn a_query_key_is_added_once_a_clients_own_is_refused_and_the_log_masks_it() {
    let server = Server::start(|_| Reply::json(200, "{}").header("Content-Length", "2"));
    let env = TestEnv::new();
    let key = add_generic_unchecked(&env, &server.url(), &["--placement", "query"]);
    let proxy = Proxy::start(&env, &[], &["api"]);
    let auth = bearer(&proxy.token());
    let out = curl(&[
        "-H",
        &auth,
        "-w",
        "\n%{http_code}",
        &format!("{}/items?page=2&api_key=guess", proxy.url()),
    ]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap();
    assert_eq!(code, "400", "{text}");
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    assert!(v["reason"].as_str().unwrap().contains("`api_key`"), "{v}");
    assert_eq!(server.count(), 0, "the client's own key went upstream");
    for url in [
        format!("{}/items?page=2", proxy.url()),
        format!("{}/items?page=2&api_key=%3Credacted%3E", proxy.url()),
    ] {
        assert_eq!(status_of(&["-H", &auth, &url]), 200, "{url}");
    }
    for seen in server.requests() {
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(seen.query().as_bytes())
            .into_owned()
            .collect();
        assert_eq!(
            pairs,
            [("page".into(), "2".into()), ("api_key".into(), key.clone())]
        );
    }
    // HEAD: no body to scrub, so the API's length passes on.
    let out = curl(&["-I", "-H", &auth, &format!("{}/items", proxy.url())]);
    let head = String::from_utf8_lossy(&out.stdout).to_ascii_lowercase();
    assert!(head.contains("content-length: 2\r\n"), "{head}");
    let token = proxy.token();
    let stopped = proxy.stop();
    assert!(
        stopped
            .stderr
            .contains(" GET /items?page=2&api_key=<redacted> 400 "),
        "{}",
        stopped.stderr
    );
    assert!(!stopped.stderr.contains("guess"), "{}", stopped.stderr);
    assert_hidden("stderr", stopped.stderr.as_bytes(), &[key, token]);
}
