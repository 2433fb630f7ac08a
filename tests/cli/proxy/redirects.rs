//! `cred proxy`: redirects are passed back to the client, never followed
//! with the key; a `Location` under the base URL points at the proxy.

use super::*;

#[test]
fn a_redirect_to_another_origin_is_passed_back_and_the_other_origin_sees_no_key() {
    let elsewhere = Server::open(|_| Reply::new(200, "from the CDN"));
    let target = format!("{}/files/export.zip?sig=abc", elsewhere.url());
    let t = target.clone();
    let server = Server::start(move |_| Reply::new(302, "").header("Location", &t));
    let env = TestEnv::new();
    let (proxy, key) = paligo_proxy(&env, &server, &[]);
    let auth = bearer(&proxy.token());
    let url = format!("{}/exports/7/download", proxy.url());

    // Passed back as it came, not followed by the proxy.
    let out = curl(&["-i", "-H", &auth, &url]);
    let head = String::from_utf8_lossy(&out.stdout);
    assert!(head.starts_with("HTTP/1.1 302"), "{head}");
    assert!(head.contains(&format!("location: {target}")), "{head}");
    assert_eq!(elsewhere.count(), 0, "the proxy followed the redirect");

    // A client that follows it reaches the other origin without the key.
    let out = curl(&["-L", "-H", &auth, &url]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "from the CDN");
    assert_eq!(elsewhere.count(), 1);
    assert_no_key_in_any_request(&elsewhere, &paligo_forms(&key));
    let basic_auth = elsewhere.only().header("authorization").map(str::to_string);
    assert!(!basic_auth.is_some_and(|a| a.starts_with("Basic")));
    assert_eq!(server.count(), 2);
    proxy.stop();
}

#[test]
fn a_same_origin_location_is_rewritten_to_the_proxy() {
    let server = Server::start(|seen| match seen.path() {
        "/acme/api/v2/documents/old" => {
            Reply::new(301, "").header("Location", "/acme/api/v2/documents/new?page=2")
        }
        "/acme/api/v2/relative" => Reply::new(307, "").header("Location", "documents/new"),
        _ => Reply::json(200, r#"{"new":true}"#),
    });
    let env = TestEnv::new();
    let (proxy, key) = paligo_proxy(&env, &server, &[]);
    let auth = bearer(&proxy.token());
    let base = proxy.url();

    let out = curl(&["-i", "-H", &auth, &format!("{base}/documents/old")]);
    let head = String::from_utf8_lossy(&out.stdout);
    assert!(head.starts_with("HTTP/1.1 301"), "{head}");
    assert!(
        head.contains(&format!("location: {base}/documents/new?page=2\r\n")),
        "{head}"
    );
    assert_eq!(server.count(), 1, "the proxy followed the redirect itself");

    let out = curl(&["-i", "-H", &auth, &format!("{base}/relative")]);
    let head = String::from_utf8_lossy(&out.stdout);
    assert!(
        head.contains(&format!("location: {base}/documents/new\r\n")),
        "{head}"
    );

    // Followed by the client, through the proxy: the key is added again.
    let out = curl(&["-L", "-H", &auth, &format!("{base}/documents/old")]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), r#"{"new":true}"#);
    let seen = server.requests();
    let last = seen.last().unwrap();
    assert_eq!(last.url, "/acme/api/v2/documents/new?page=2");
    assert_eq!(
        last.header("authorization"),
        Some(basic(EMAIL, &key).as_str())
    );
    proxy.stop();
}
