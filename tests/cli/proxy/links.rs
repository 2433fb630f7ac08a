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
