//! `cred proxy`: the auth is added once and only upstream; the access
//! token, `--allow`, loopback-only `--listen` and the private `--socket`;
//! the key and token never in the log or the answers.

use std::process::Stdio;

use super::*;

#[test]
fn curl_through_the_proxy_gets_the_auth_added_once_and_only_upstream() {
    let server = Server::start(|_| Reply::json(200, r#"{"documents":[]}"#));
    let env = TestEnv::new();
    let (proxy, key) = paligo_proxy(&env, &server, &[]);
    assert!(
        proxy.url().starts_with("http://127.0.0.1:"),
        "{:?}",
        proxy.lines
    );
    assert!(proxy.lines[1].starts_with("CRED_PROXY_TOKEN=cpx_"));
    let token = proxy.token();
    assert!(!token.contains(&key));

    let out = curl(&[
        "-H",
        &bearer(&token),
        "-H",
        "X-Trace: 7",
        &format!("{}/documents?per_page=2", proxy.url()),
    ]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), r#"{"documents":[]}"#);
    let seen = server.only();
    assert_eq!(seen.url, "/acme/api/v2/documents?per_page=2");
    let auth: Vec<&(String, String)> = seen
        .headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case("authorization"))
        .collect();
    assert_eq!(auth.len(), 1, "{:?}", seen.headers);
    assert_eq!(auth[0].1, basic(EMAIL, &key));
    assert_eq!(seen.header("x-trace"), Some("7"));
    assert!(
        !format!("{:?}", seen.headers).contains(&token),
        "the access token went upstream: {:?}",
        seen.headers
    );
    let stopped = proxy.stop();
    assert_eq!(stopped.code, Some(0), "{}", stopped.stderr);
}

#[test]
fn a_python_requests_client_posts_through_the_proxy() {
    let server = Server::start(|seen| {
        Reply::json(
            201,
            &format!(r#"{{"got":{}}}"#, String::from_utf8_lossy(&seen.body)),
        )
    });
    let env = TestEnv::new();
    let (proxy, key) = paligo_proxy(&env, &server, &[]);
    require_command("/usr/bin/python3");
    let script = r#"
import os, requests
url, token = os.environ["CRED_PROXY_URL"], os.environ["CRED_PROXY_TOKEN"]
s = requests.Session()
s.headers["Authorization"] = "Bearer " + token
r = s.post(url + "/documents", json={"name": "Guide"})
print(r.status_code, r.text.strip())
r = requests.get(url + "/documents")
print(r.status_code, r.json()["error"])
"#;
    let out = std::process::Command::new("/usr/bin/python3")
        .args(["-c", script])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("CRED_PROXY_URL", proxy.url())
        .env("CRED_PROXY_TOKEN", proxy.token())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(r#"201 {"got":{"name": "Guide"}}"#));
    assert!(lines.next().unwrap().starts_with("401 "), "{text}");
    let seen = server.only();
    assert_eq!(seen.method, "POST");
    assert_eq!(seen.header("content-type"), Some("application/json"));
    assert_eq!(
        seen.header("authorization"),
        Some(basic(EMAIL, &key).as_str())
    );
    proxy.stop();
}

#[test]
fn without_the_token_or_with_a_wrong_one_401_and_nothing_is_forwarded() {
    let server = Server::start(|_| Reply::json(200, "{}"));
    let env = TestEnv::new();
    let (proxy, _key) = paligo_proxy(&env, &server, &[]);
    let url = format!("{}/documents", proxy.url());
    let out = curl(&["-i", &url]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("HTTP/1.1 401"), "{text}");
    assert!(text.contains("access token"), "{text}");
    assert_eq!(
        status_of(&["-H", "Authorization: Bearer cpx_wrong", &url]),
        401
    );
    assert_eq!(status_of(&["-H", "Authorization: Basic eDp5", &url]), 401);
    let wrong_token_in_proxy_header = format!("Proxy-Authorization: Bearer {}x", proxy.token());
    assert_eq!(status_of(&["-H", &wrong_token_in_proxy_header, &url]), 401);
    assert_eq!(
        server.count(),
        0,
        "the upstream saw a request without the token"
    );
    // Proxy-Authorization carries it too.
    let right = format!("Proxy-Authorization: Bearer {}", proxy.token());
    assert_eq!(status_of(&["-H", &right, &url]), 200);
    assert_eq!(server.count(), 1);
    let seen = server.only();
    assert!(seen.header("proxy-authorization").is_none());
    proxy.stop();
}

#[test]
fn allow_lets_through_only_what_it_lists_and_refuses_the_rest_with_403_json() {
    let server = Server::start(|_| Reply::json(200, "{}"));
    let env = TestEnv::new();
    let (proxy, _key) = paligo_proxy(&env, &server, &["--allow", "GET /documents*"]);
    let auth = bearer(&proxy.token());
    let base = proxy.url();
    assert_eq!(
        status_of(&["-H", &auth, &format!("{base}/documents/7?x=1")]),
        200
    );
    for (method, path) in [
        ("POST", "/documents"),
        ("GET", "/folders"),
        ("DELETE", "/documents/7"),
        ("GET", "/documents%2fusers"),
    ] {
        let out = curl(&[
            "-X",
            method,
            "-H",
            &auth,
            &format!("{base}{path}"),
            "-w",
            "\n%{http_code}",
        ]);
        let text = String::from_utf8_lossy(&out.stdout);
        let (body, code) = text.rsplit_once('\n').unwrap();
        assert_eq!(code, "403", "{method} {path}: {text}");
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert!(
            v["reason"].as_str().unwrap().contains("not allowed")
                || v["reason"].as_str().unwrap().contains("encoded"),
            "{v}"
        );
        assert_eq!(v["allowed"][0], "GET /documents*");
    }
    assert_eq!(server.count(), 1, "a refused request went upstream");
    proxy.stop();
}

/// Rails, Laravel, Symfony, ASP.NET and IIS act on a method or URL named in
/// a header rather than the request line: with `--allow` set, such a
/// request is refused (403, JSON reason) before it reaches the API;
/// without `--allow`, nothing is restricted and the header goes through.
#[test]
fn override_headers_cannot_get_around_allow() {
    let server = Server::start(|_| Reply::json(200, "{}"));
    let env = TestEnv::new();
    let (proxy, _key) = paligo_proxy(&env, &server, &["--allow", "GET /items*"]);
    let auth = bearer(&proxy.token());
    let url = format!("{}/items/7", proxy.url());
    for header in [
        "X-HTTP-Method-Override: DELETE",
        "X-HTTP-Method: DELETE",
        "X-Method-Override: DELETE",
        "X-Original-URL: /admin/users",
        "x-rewrite-url: /admin/users",
    ] {
        let out = curl(&["-H", &auth, "-H", header, &url, "-w", "\n%{http_code}"]);
        let text = String::from_utf8_lossy(&out.stdout);
        let (body, code) = text.rsplit_once('\n').unwrap();
        assert_eq!(code, "403", "{header}: {text}");
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        let name = header.split(':').next().unwrap().to_ascii_lowercase();
        assert!(v["reason"].as_str().unwrap().contains(&name), "{v}");
    }
    assert_eq!(
        server.count(),
        0,
        "a request with an override header went upstream"
    );
    assert_eq!(status_of(&["-H", &auth, &url]), 200);
    let stopped = proxy.stop();
    assert_eq!(
        stopped.stderr.matches(" 403 ").count(),
        5,
        "{}",
        stopped.stderr
    );

    // Without --allow: forwarded as they came.
    let server = Server::start(|_| Reply::json(200, "{}"));
    let env = TestEnv::new();
    let (proxy, _key) = paligo_proxy(&env, &server, &[]);
    let auth = bearer(&proxy.token());
    let url = format!("{}/items/7", proxy.url());
    assert_eq!(
        status_of(&["-H", &auth, "-H", "X-HTTP-Method-Override: DELETE", &url]),
        200
    );
    assert_eq!(
        server.only().header("x-http-method-override"),
        Some("DELETE")
    );
    proxy.stop();
}

/// `--listen` takes a loopback address alone (a free port) and IPv6's
/// `::1`, bare or bracketed with a port.
#[test]
fn listen_takes_an_address_alone_and_ipv6_loopback() {
    let server = Server::start(|_| Reply::json(200, "{}"));
    let env = TestEnv::new();
    add_paligo_unchecked(&env, &server);
    let free = closed_port().to_string();
    for (addr, prefix) in [
        ("127.0.0.1", "http://127.0.0.1:"),
        ("localhost", "http://127.0.0.1:"),
        ("::1", "http://[::1]:"),
        ("[::1]", "http://[::1]:"),
        (&format!("[::1]:{free}"), &format!("http://[::1]:{free}")),
    ] {
        let proxy = Proxy::start(&env, &[paligo_env(&server)], &["paligo", "--listen", addr]);
        let url = proxy.url();
        assert!(
            url.starts_with(prefix) && proxy.port() != 0,
            "{addr}: {url}"
        );
        let code = status_of(&["-H", &bearer(&proxy.token()), &format!("{url}/documents")]);
        assert_eq!(code, 200, "{addr}");
        proxy.stop();
    }
}

/// Every refusal gets a log line, also those hyper answers before a
/// request exists (a head too large: 431) and a connection without the
/// token dropped because its head did not come whole in time.
#[test]
fn every_refusal_is_logged_even_a_head_too_large() {
    let server = Server::start(|_| Reply::json(200, "{}"));
    let env = TestEnv::new();
    let (proxy, _key) = paligo_proxy(&env, &server, &["--allow", "GET /documents*"]);
    let (port, token) = (proxy.port(), proxy.token());
    // 200 headers: more than hyper reads.
    let mut head =
        format!("GET /documents HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n");
    for i in 0..200 {
        head.push_str(&format!("X-Filler-{i}: {i}\r\n"));
    }
    head.push_str("Connection: close\r\n\r\n");
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(head.as_bytes()).unwrap();
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    assert_eq!(parse_status(&answer), 431);
    let auth = bearer(&token);
    let base = proxy.url();
    assert_eq!(status_of(&[&format!("{base}/documents")]), 401);
    assert_eq!(status_of(&["-H", &auth, &format!("{base}/folders")]), 403);
    assert_eq!(
        status_of(&["--path-as-is", "-H", &auth, &format!("{base}/../x")]),
        400
    );
    // A connection without the token that never finishes its head.
    let mut idle = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    idle.write_all(b"GET /documents HTTP/1.1\r\n").unwrap();
    idle.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let _ = idle.read_to_end(&mut Vec::new());
    // The line is written once the proxy has closed the connection.
    let waited = Instant::now();
    while !proxy.stderr().contains(" - - closed: ") && waited.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let stopped = proxy.stop();
    let log = stopped.stderr;
    assert!(log.contains(" - - 431 refused: "), "{log}");
    assert!(log.contains(" GET /documents 401 "), "{log}");
    assert!(log.contains(" GET /folders 403 "), "{log}");
    assert!(log.contains(" 400 "), "{log}");
    assert!(
        log.contains(" - - closed: no whole request head within 10 s "),
        "{log}"
    );
    assert_eq!(server.count(), 0);
}

#[test]
fn listen_on_anything_but_loopback_is_refused() {
    let server = Server::start(|_| Reply::json(200, "{}"));
    let env = TestEnv::new();
    add_paligo_unchecked(&env, &server);
    for addr in ["0.0.0.0:0", "[::]:8080", "10.1.2.3:80"] {
        let run = run_env(
            &env,
            &["proxy", "paligo", "--listen", addr],
            &[paligo_env(&server)],
        );
        run.code(2);
        assert_one_error(&run, "invalid value");
        assert!(run.stderr.contains("loopback"), "{run}");
    }
}

#[cfg(unix)]
#[test]
fn a_socket_is_private_to_the_user_and_serves_without_a_token() {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    let server = Server::start(|_| Reply::json(200, r#"{"ok":1}"#));
    let env = TestEnv::new();
    std::fs::create_dir_all(env.home()).unwrap();
    let path = env.home().join("p.sock");
    let (proxy, key) = paligo_proxy(&env, &server, &["--socket", path.to_str().unwrap()]);
    assert_eq!(proxy.var("CRED_PROXY_SOCKET"), path.to_str().unwrap());
    assert!(
        proxy.url().starts_with("http+unix://%2F"),
        "{:?}",
        proxy.lines
    );
    let meta = std::fs::symlink_metadata(&path).unwrap();
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let out = curl(&[
        "--unix-socket",
        path.to_str().unwrap(),
        "http://localhost/documents",
    ]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), r#"{"ok":1}"#);
    assert_eq!(
        server.only().header("authorization"),
        Some(basic(EMAIL, &key).as_str())
    );
    let stopped = proxy.stop();
    assert_eq!(stopped.code, Some(0));
    assert!(!path.exists(), "the socket was left behind");
}

/// The upstream echoes the key in its body and a header: the client gets
/// them masked; the log (stderr, and --log FILE) and stdout never hold the
/// key or the token (stdout holds the token once, on its own line).
#[test]
fn the_key_and_the_token_never_appear_in_the_log_or_the_answers() {
    let key_cell: Arc<Mutex<String>> = Arc::default();
    let k = key_cell.clone();
    let server = Server::start(move |seen| {
        let key = k.lock().unwrap().clone();
        Reply::json(
            200,
            &format!(
                r#"{{"echo":"{key}","auth":"{}"}}"#,
                seen.header("authorization").unwrap_or("")
            ),
        )
        .header("X-Echo", &key)
    });
    let env = TestEnv::new();
    let key = add_paligo_unchecked(&env, &server);
    *key_cell.lock().unwrap() = key.clone();
    std::fs::create_dir_all(env.home()).unwrap();
    let log = env.home().join("proxy.log");
    for log_arg in [None, Some(log.to_str().unwrap())] {
        let mut args = vec!["paligo"];
        if let Some(l) = log_arg {
            args.extend(["--log", l]);
        }
        let proxy = Proxy::start(&env, &[paligo_env(&server)], &args);
        let token = proxy.token();
        let forms = hidden_forms(&key, &token);
        let url = format!("{}/documents?q={token}", proxy.url());
        let out = curl(&["-i", "-H", &bearer(&token), &url]);
        let answer = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(answer.contains("<redacted>"), "{answer}");
        assert_hidden("the answer", answer.as_bytes(), &paligo_forms(&key));
        let _ = curl(&[&url]);
        let stopped = proxy.stop();
        let log_text = match log_arg {
            Some(_) => std::fs::read_to_string(&log).unwrap(),
            None => stopped.stderr.clone(),
        };
        assert!(
            log_text.contains(" GET /documents?q=<redacted> 200 "),
            "{log_text}"
        );
        assert!(log_text.contains(" 401 "), "{log_text}");
        assert_hidden("the log", log_text.as_bytes(), &forms);
        assert_hidden("stderr", stopped.stderr.as_bytes(), &forms);
        let stdout_rest = stopped
            .stdout
            .replace(&format!("CRED_PROXY_TOKEN={token}"), "");
        assert_hidden("stdout", stdout_rest.as_bytes(), &forms);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&log).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
