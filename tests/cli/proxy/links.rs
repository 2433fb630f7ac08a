//! `cred proxy` and links in JSON answers: an absolute URL under the
//! credential's base URL points at the proxy, so a client that follows
//! Paligo's `next_page` stays on the proxy (and keeps its key-less access)
//! instead of going to the API without the key; `--no-rewrite` leaves the
//! links as the API wrote them.

use super::*;

/// Three pages of documents, each naming the next absolutely, as Paligo
/// does; page 2 with its slashes escaped (`https:\/\/…`), as PHP's
/// `json_encode` writes them.
fn paged_server() -> Server {
    let base: Arc<Mutex<String>> = Arc::default();
    let server_base = base.clone();
    let server = Server::start(move |s| {
        let page: u32 = s
            .query()
            .split('&')
            .find_map(|p| p.strip_prefix("page="))
            .and_then(|p| p.parse().ok())
            .unwrap_or(1);
        let base = server_base.lock().unwrap().clone();
        let next = match page {
            1 => format!(r#""{base}/documents?page=2""#),
            2 => format!(
                r#""{}""#,
                format!("{base}/documents?page=3").replace('/', "\\/")
            ),
            _ => "null".to_string(),
        };
        let body = format!(
            r#"{{"documents":[{{"id":{page}}}],"self":"{base}/documents/{page}","next_page":{next}}}"#
        );
        Reply::json(200, &body)
    });
    *base.lock().unwrap() = paligo_env(&server).1.replace("{instance}", "acme");
    server
}

/// A client following `next_page` through the proxy until it is null.
fn follow(proxy: &Proxy, first: &str) -> (Vec<u64>, Vec<String>) {
    let auth = bearer(&proxy.token());
    let (mut ids, mut links) = (Vec::new(), Vec::new());
    let mut url = first.to_string();
    for _ in 0..10 {
        let out = curl(&["-f", "-H", &auth, &url]);
        assert!(
            out.status.success(),
            "{url}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        ids.push(v["documents"][0]["id"].as_u64().unwrap());
        links.push(v["self"].as_str().unwrap().to_string());
        match v["next_page"].as_str() {
            Some(next) => {
                links.push(next.to_string());
                url = next.to_string();
            }
            None => break,
        }
    }
    (ids, links)
}

#[test]
fn a_client_follows_next_page_through_the_proxy() {
    let server = paged_server();
    let env = TestEnv::new();
    let (proxy, _key) = paligo_proxy(&env, &server, &[]);
    let (ids, links) = follow(&proxy, &format!("{}/documents", proxy.url()));
    assert_eq!(ids, [1, 2, 3]);
    for link in &links {
        assert!(
            link.starts_with(&format!("{}/documents", proxy.url())),
            "{link}"
        );
    }
    let paths: Vec<String> = server.requests().iter().map(|s| s.url.clone()).collect();
    assert_eq!(
        paths,
        [
            "/acme/api/v2/documents",
            "/acme/api/v2/documents?page=2",
            "/acme/api/v2/documents?page=3"
        ]
    );
    proxy.stop();
}

#[test]
fn no_rewrite_leaves_the_links_as_the_api_wrote_them() {
    let server = paged_server();
    let env = TestEnv::new();
    let (proxy, _key) = paligo_proxy(&env, &server, &["--no-rewrite"]);
    let out = curl(&[
        "-H",
        &bearer(&proxy.token()),
        &format!("{}/documents", proxy.url()),
    ]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let api = paligo_env(&server).1.replace("{instance}", "acme");
    assert_eq!(v["next_page"], format!("{api}/documents?page=2"));
    proxy.stop();
}

/// An API with a query-placed key that writes the key into its next link
/// (`?page=2&api_key=KEY`): the client sees the link through the proxy with
/// the key masked (`%3Credacted%3E`, so the link can be sent as it is),
/// follows it, and the proxy puts the key back in place of its own mask
/// (once), rather than refusing the link it wrote.
#[test]
fn a_next_link_carrying_a_query_key_is_followed_with_the_key_put_back() {
    let base: Arc<Mutex<String>> = Arc::default();
    let server_base = base.clone();
    let server = Server::start(move |s| {
        let key = url::form_urlencoded::parse(s.query().as_bytes())
            .find(|(k, _)| k == "api_key")
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        let base = server_base.lock().unwrap().clone();
        if s.query().contains("page=2") {
            Reply::json(200, r#"{"items":[2],"next":null}"#)
        } else {
            Reply::json(
                200,
                &format!(r#"{{"items":[1],"next":"{base}/items?page=2&api_key={key}"}}"#),
            )
        }
    });
    *base.lock().unwrap() = format!("{}/v1", server.url());
    let env = TestEnv::new();
    let key = add_generic_unchecked(&env, &server.url(), &["--placement", "query"]);
    let proxy = Proxy::start(&env, &[], &["api"]);
    let auth = bearer(&proxy.token());
    let first = curl(&["-f", "-H", &auth, &format!("{}/items", proxy.url())]);
    let v: serde_json::Value = serde_json::from_slice(&first.stdout).unwrap();
    let next = v["next"].as_str().unwrap().to_string();
    assert_eq!(
        next,
        format!("{}/items?page=2&api_key=%3Credacted%3E", proxy.url())
    );
    let second = curl(&["-f", "-g", "-H", &auth, &next]);
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&second.stdout).unwrap();
    assert_eq!(v["items"][0], 2);
    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(seen[1].query().as_bytes())
        .into_owned()
        .collect();
    assert_eq!(
        pairs,
        [("page".into(), "2".into()), ("api_key".into(), key)]
    );
    proxy.stop();
}
