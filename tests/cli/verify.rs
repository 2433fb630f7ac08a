//! Live checks (SPEC §1, §2, §3) against real loopback servers: the request
//! each provider's check sends (path, exact auth bytes, headers), how every
//! kind of answer is classified and which exit code it gives, that a failed
//! check on `add` stores nothing, `verify` (concurrent, recorded in the
//! config, worst exit code, JSON), `rotate` (the new key is checked before
//! the old one is replaced), redirects (the key never crosses to another
//! origin) and TLS (certificates are verified).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::common::*;

const FOLDERS: &str = "/acme/api/v2/folders?per_page=1";

fn user_agent() -> String {
    format!("cred/{}", env!("CARGO_PKG_VERSION"))
}

// ---------------------------------------------------------------------------
// What each provider's check sends
// ---------------------------------------------------------------------------

#[test]
fn paligo_check_is_get_folders_with_basic_email_and_key() {
    let env = TestEnv::new();
    let server = Server::start(|_| Reply::json(200, r#"{"page":1,"total_pages":1,"folders":[]}"#));
    let key = secret("paligo");
    let out = add_paligo(&env, &server, &key, &[]);
    out.ok();

    let seen = server.requests();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].method, "GET");
    assert_eq!(seen[0].url, FOLDERS);
    assert_eq!(
        seen[0].header("authorization"),
        Some(basic(EMAIL, &key).as_str())
    );
    assert_eq!(seen[0].header("user-agent"), Some(user_agent().as_str()));

    assert_eq!(stored_secret(&env, "paligo"), key);
    let (result, at) = last_check(&env, "paligo").expect("add records its check");
    assert_eq!(result, "valid");
    assert!(at.ends_with('Z') && at.contains('T'), "{at}");
    assert!(!out.all().contains(&key), "{out}");
}

#[test]
fn paymo_check_is_get_me_with_basic_key_x_and_names_the_user() {
    let env = TestEnv::new();
    let server = Server::start(|_| {
        Reply::json(
            200,
            r#"{"users":[{"id":7,"name":"Ada Lovelace","email":"ada@example.com"}]}"#,
        )
    });
    let key = secret("paymo");
    let out = env.add(&["paymo"], &key, &[paymo_env(&server)]);
    out.ok();
    assert!(
        out.all()
            .contains("Authenticated as Ada Lovelace <ada@example.com>"),
        "{out}"
    );

    let seen = server.requests();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].method, "GET");
    assert_eq!(seen[0].url, "/api/me");
    assert_eq!(
        seen[0].header("authorization"),
        Some(basic(&key, "X").as_str())
    );
    assert_eq!(seen[0].header("accept"), Some("application/json"));
    assert_eq!(seen[0].header("user-agent"), Some(user_agent().as_str()));
    assert_eq!(stored_secret(&env, "paymo"), key);

    // verify names the user too, and records it.
    let out = env.run_with(&["verify", "paymo"], |c| {
        let (k, v) = paymo_env(&server);
        c.env(k, v);
    });
    out.ok();
    assert!(
        out.stdout
            .contains("Authenticated as Ada Lovelace <ada@example.com>"),
        "{out}"
    );
    assert_eq!(
        server.requests()[1].header("authorization"),
        Some(basic(&key, "X").as_str())
    );
}

#[test]
fn generic_header_check_goes_to_the_check_path_with_the_template() {
    let env = TestEnv::new();
    let server = Server::start(|_| Reply::json(200, "{}"));
    let key = secret("generic-header");
    let base = format!("{}/v1", server.url());
    let out = add_generic(
        &env,
        "gh",
        &base,
        &key,
        &[
            "--key-name",
            "X-Api-Key",
            "--template",
            "Api-Key ${apiKey}",
            "--check-path",
            "/whoami",
        ],
    );
    out.ok();

    let seen = server.requests();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].method, "GET");
    assert_eq!(seen[0].url, "/v1/whoami");
    assert_eq!(
        seen[0].header("x-api-key"),
        Some(format!("Api-Key {key}").as_str())
    );
    assert_eq!(seen[0].header("authorization"), None);
    assert_eq!(seen[0].header("user-agent"), Some(user_agent().as_str()));
}

#[test]
fn generic_default_check_requests_the_base_url_with_the_raw_key_in_authorization() {
    let env = TestEnv::new();
    let server = Server::start(|_| Reply::new(204, ""));
    let key = secret("generic-default");
    let base = format!("{}/v2/api", server.url());
    add_generic(&env, "plain", &base, &key, &[]).ok();

    let seen = server.requests();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].path(), "/v2/api");
    assert_eq!(seen[0].query(), "");
    assert_eq!(seen[0].header("authorization"), Some(key.as_str()));
}

#[test]
fn generic_query_check_puts_the_key_in_the_named_parameter_only() {
    let env = TestEnv::new();
    let server = Server::start(|_| Reply::json(200, "[]"));
    let key = secret("generic-query");
    let base = format!("{}/v1", server.url());
    let out = add_generic(
        &env,
        "q",
        &base,
        &key,
        &[
            "--placement",
            "query",
            "--key-name",
            "token",
            "--check-path",
            "/status?verbose=1",
        ],
    );
    out.ok();
    assert!(
        out.stderr.contains("logs"),
        "query placement warns about logs\n{out}"
    );

    let seen = server.requests();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].path(), "/v1/status");
    assert_eq!(seen[0].query(), format!("verbose=1&token={key}"));
    for (name, value) in &seen[0].headers {
        assert!(!value.contains(&key), "the key is in header {name}");
    }
}

// ---------------------------------------------------------------------------
// Classification of the answer, on `add`: message, exit code, nothing stored
// ---------------------------------------------------------------------------

#[test]
fn paligo_401_is_rejected_with_exit_4_and_nothing_is_stored() {
    let env = TestEnv::new();
    let server = Server::start(|_| Reply::json(401, r#"{"message":"Unauthorized"}"#));
    let key = secret("wrong");
    let out = add_paligo(&env, &server, &key, &[]);
    out.code(4);
    assert!(out.stderr.contains("cred: error:"), "{out}");
    assert!(out.stderr.contains("username or API key"), "{out}");
    assert!(out.stderr.contains("shown only once"), "{out}");
    assert!(out.stderr.contains("nothing was stored"), "{out}");
    assert!(!out.all().contains(&key), "{out}");
    assert_eq!(server.count(), 1);
    assert_nothing_stored(&env, "paligo", Some(&key));
}

#[test]
fn paligo_403_says_the_user_is_not_an_admin() {
    let env = TestEnv::new();
    let server = Server::start(|_| Reply::json(403, r#"{"message":"Forbidden"}"#));
    let key = secret("notadmin");
    let out = add_paligo(&env, &server, &key, &[]);
    out.code(4);
    assert!(out.stderr.contains("admin"), "{out}");
    assert!(out.stderr.contains(EMAIL), "{out}");
    assert_nothing_stored(&env, "paligo", Some(&key));
}

#[test]
fn paligo_404_says_there_is_no_such_instance() {
    let env = TestEnv::new();
    let server = Server::start(|_| Reply::new(404, "Not Found"));
    let key = secret("noinstance");
    let out = add_paligo(&env, &server, &key, &[]);
    out.code(1);
    assert!(
        out.stderr.contains("no Paligo instance named `acme`"),
        "{out}"
    );
    assert_nothing_stored(&env, "paligo", Some(&key));
}

#[test]
fn paymo_401_is_rejected() {
    let env = TestEnv::new();
    let server = Server::start(|_| Reply::json(401, r#"{"message":"Invalid API key"}"#));
    let key = secret("paymo-wrong");
    let out = env.add(&["paymo"], &key, &[paymo_env(&server)]);
    out.code(4);
    assert!(out.stderr.contains("rejected the API key"), "{out}");
    assert_nothing_stored(&env, "paymo", Some(&key));
}

#[test]
fn generic_401_and_403_are_rejected() {
    for status in [401, 403] {
        let env = TestEnv::new();
        let server = Server::start(move |_| Reply::new(status, "nope"));
        let key = secret("generic-wrong");
        let out = add_generic(&env, "g", &server.url(), &key, &["--check-path", "/me"]);
        out.code(4);
        assert!(out.stderr.contains(&format!("HTTP {status}")), "{out}");
        assert_nothing_stored(&env, "g", Some(&key));
    }
}

#[test]
fn server_error_could_not_confirm_with_status_and_first_line_exit_3() {
    let body = "\ndatabase on fire\n  at line 2 of the stack trace\n";
    // Paligo
    let env = TestEnv::new();
    let server = Server::start(move |_| Reply::new(500, body));
    let key = secret("p500");
    let out = add_paligo(&env, &server, &key, &[]);
    out.code(3);
    assert!(out.stderr.contains("could not confirm"), "{out}");
    assert!(out.stderr.contains("HTTP 500: database on fire"), "{out}");
    assert!(!out.stderr.contains("stack trace"), "{out}");
    assert!(
        !out.stderr.contains("did not accept"),
        "an unconfirmed key is not a refused one\n{out}"
    );
    assert_nothing_stored(&env, "paligo", Some(&key));
    // Generic
    let env = TestEnv::new();
    let key = secret("g500");
    let out = add_generic(&env, "g", &server.url(), &key, &[]);
    out.code(3);
    assert!(out.stderr.contains("could not confirm"), "{out}");
    assert!(out.stderr.contains("HTTP 500: database on fire"), "{out}");
    assert_nothing_stored(&env, "g", Some(&key));
    // Paymo
    let env = TestEnv::new();
    let key = secret("m500");
    let out = env.add(&["paymo"], &key, &[paymo_env(&server)]);
    out.code(3);
    assert!(out.stderr.contains("could not confirm"), "{out}");
    assert!(out.stderr.contains("HTTP 500: database on fire"), "{out}");
    assert_nothing_stored(&env, "paymo", Some(&key));
}

#[test]
fn connection_refused_is_a_network_error_exit_5_that_says_so() {
    let env = TestEnv::new();
    let key = secret("refused");
    let base = format!("http://127.0.0.1:{}/api", closed_port());
    let out = add_generic(&env, "down", &base, &key, &[]);
    out.code(5);
    assert!(out.stderr.contains("refused the connection"), "{out}");
    assert!(out.stderr.contains("hint:"), "{out}");
    assert!(!out.all().contains(&key), "{out}");
    assert_nothing_stored(&env, "down", Some(&key));
}

#[test]
fn a_server_slower_than_the_check_timeout_is_a_timeout_exit_5() {
    let env = TestEnv::new();
    let server = Server::start(|_| Reply::json(200, "{}").delay(Duration::from_secs(4)));
    let key = secret("slow");
    let start = Instant::now();
    let out = env.add(
        &["paligo", "--instance", "acme", "--username", EMAIL],
        &key,
        &[paligo_env(&server), ("CRED_CHECK_TIMEOUT", "1".into())],
    );
    let took = start.elapsed();
    out.code(5);
    assert!(out.stderr.contains("did not answer within 1 s"), "{out}");
    assert!(
        took < Duration::from_secs(3),
        "the check waited {took:?}, not the 1 s asked for"
    );
    assert_eq!(server.count(), 1);
    assert_nothing_stored(&env, "paligo", Some(&key));
}

#[test]
fn a_bad_check_timeout_is_refused_naming_the_variable() {
    let env = TestEnv::new();
    let server = Server::start(|_| Reply::json(200, "{}"));
    let key = secret("badtimeout");
    let out = env.add(
        &["paligo", "--instance", "acme", "--username", EMAIL],
        &key,
        &[paligo_env(&server), ("CRED_CHECK_TIMEOUT", "soon".into())],
    );
    out.code(1);
    assert!(out.stderr.contains("CRED_CHECK_TIMEOUT"), "{out}");
    assert_eq!(server.count(), 0);
    assert_nothing_stored(&env, "paligo", Some(&key));
}

#[test]
fn rate_limit_with_retry_after_is_waited_out_and_retried() {
    let env = TestEnv::new();
    let calls = AtomicUsize::new(0);
    let server = Server::start(move |_| {
        if calls.fetch_add(1, Ordering::SeqCst) == 0 {
            Reply::json(429, r#"{"message":"Too Many Attempts."}"#).header("Retry-After", "1")
        } else {
            Reply::json(200, r#"{"folders":[]}"#)
        }
    });
    let key = secret("ratelimited");
    let start = Instant::now();
    let out = add_paligo(&env, &server, &key, &[]);
    let took = start.elapsed();
    out.ok();
    assert!(
        out.stderr.contains("waiting 1 s"),
        "the wait is shown\n{out}"
    );
    assert!(took >= Duration::from_secs(1), "it did not wait: {took:?}");
    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    assert!(seen.iter().all(
        |s| s.url == FOLDERS && s.header("authorization") == Some(basic(EMAIL, &key).as_str())
    ));
    assert_eq!(stored_secret(&env, "paligo"), key);
}

#[test]
fn rate_limit_past_the_longest_wait_exits_6_without_waiting() {
    let env = TestEnv::new();
    let server = Server::start(|_| Reply::json(429, "{}").header("Retry-After", "3600"));
    let key = secret("ratelimited-long");
    let start = Instant::now();
    let out = add_paligo(&env, &server, &key, &[]);
    out.code(6);
    assert!(start.elapsed() < Duration::from_secs(10));
    assert!(out.stderr.contains("429"), "{out}");
    assert_eq!(server.count(), 1);
    assert_nothing_stored(&env, "paligo", Some(&key));
}

#[test]
fn rate_limit_that_never_ends_gives_up_after_the_retries_with_exit_6() {
    let env = TestEnv::new();
    let server = Server::start(|_| Reply::json(429, "{}").header("Retry-After", "1"));
    let key = secret("ratelimited-always");
    let out = env.add(&["paymo"], &key, &[paymo_env(&server)]);
    out.code(6);
    assert_eq!(server.count(), 3, "one try and two retries");
    assert_nothing_stored(&env, "paymo", Some(&key));
}

#[test]
fn tls_certificates_are_verified() {
    let tls = TlsServer::start();
    let env = TestEnv::new();
    let key = secret("tls");
    let base = format!("https://127.0.0.1:{}/api", tls.port);
    let out = add_generic(&env, "selfsigned", &base, &key, &[]);
    out.code(5);
    assert!(out.stderr.contains("TLS"), "{out}");
    assert!(out.stderr.contains("certificate"), "{out}");
    assert_nothing_stored(&env, "selfsigned", Some(&key));
}

/// `openssl s_server` with a fresh self-signed certificate for 127.0.0.1:
/// it answers any request (`-www`) once the handshake is done, so a client
/// that did not verify certificates would get a 200.
struct TlsServer {
    child: std::process::Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl TlsServer {
    fn start() -> TlsServer {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        let made = std::process::Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-days",
                "1",
            ])
            .args([
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
            ])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .expect("this test needs the `openssl` command");
        assert!(made.success(), "openssl could not make a certificate");
        for _ in 0..5 {
            let port = closed_port();
            let mut child = std::process::Command::new("openssl")
                .args(["s_server", "-www", "-quiet", "-accept"])
                .arg(format!("127.0.0.1:{port}"))
                .arg("-cert")
                .arg(&cert)
                .arg("-key")
                .arg(&key)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return TlsServer {
                        child,
                        port,
                        _dir: dir,
                    };
                }
                if child.try_wait().unwrap().is_some() {
                    break; // the port was taken meanwhile: try another
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("openssl s_server did not start");
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------
// Redirects
// ---------------------------------------------------------------------------

#[test]
fn a_redirect_to_another_origin_does_not_carry_the_key() {
    let other = Server::start(|_| Reply::json(200, r#"{"folders":[]}"#));
    let target = format!("{}/acme/api/v2/folders?per_page=1", other.url());
    let server = Server::start(move |_| Reply::new(302, "").header("Location", &target));
    let env = TestEnv::new();
    let key = secret("redirect");
    let out = add_paligo(&env, &server, &key, &[]);
    assert_ne!(out.code, 0, "{out}");
    assert!(out.stderr.contains("redirect"), "{out}");
    assert!(
        out.stderr.contains(&other.url()),
        "names where it was sent\n{out}"
    );
    assert!(!out.all().contains(&key), "{out}");
    assert_eq!(server.count(), 1);
    assert_eq!(
        other.count(),
        0,
        "the other origin was contacted: {:?}",
        other.requests()
    );
    assert_nothing_stored(&env, "paligo", Some(&key));
}

#[test]
fn a_redirect_to_another_origin_does_not_carry_a_query_key() {
    // A hostile server copies the query (with the key) into the Location.
    let other = Server::start(|_| Reply::json(200, "{}"));
    let other_url = other.url();
    let server = Server::start(move |seen| {
        Reply::new(301, "").header("Location", &format!("{other_url}/steal?{}", seen.query()))
    });
    let env = TestEnv::new();
    let key = secret("redirect-query");
    let out = add_generic(&env, "q", &server.url(), &key, &["--placement", "query"]);
    assert_ne!(out.code, 0, "{out}");
    assert!(!out.all().contains(&key), "{out}");
    assert_eq!(
        other.count(),
        0,
        "the other origin was contacted: {:?}",
        other.requests()
    );
    assert_no_key_in_any_request(&other, std::slice::from_ref(&key));
    assert_nothing_stored(&env, "q", Some(&key));
}

#[test]
fn a_redirect_from_verify_to_another_origin_does_not_carry_the_key() {
    let env = TestEnv::new();
    let key = secret("redirect-verify");
    let other = Server::start(|_| Reply::json(200, "{}"));
    let target = format!("{}/api/me", other.url());
    let moved = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = moved.clone();
    let server = Server::start(move |_| {
        if flag.load(Ordering::SeqCst) {
            Reply::new(307, "").header("Location", &target)
        } else {
            Reply::json(200, r#"{"users":[]}"#)
        }
    });
    env.add(&["paymo"], &key, &[paymo_env(&server)]).ok();
    moved.store(true, Ordering::SeqCst);
    let out = env.run_with(&["verify", "paymo"], |c| {
        let (k, v) = paymo_env(&server);
        c.env(k, v);
    });
    assert_ne!(out.code, 0, "{out}");
    assert!(out.stdout.contains("redirect"), "{out}");
    assert_eq!(
        other.count(),
        0,
        "the other origin was contacted: {:?}",
        other.requests()
    );
    assert!(!out.all().contains(&key), "{out}");
}

#[test]
fn a_same_origin_redirect_is_followed_with_the_key() {
    let server = Server::start(|seen| {
        if seen.path() == "/acme/api/v2/folders" {
            Reply::new(302, "").header("Location", "/acme/api/v2/moved/folders?per_page=1")
        } else {
            Reply::json(200, r#"{"folders":[]}"#)
        }
    });
    let env = TestEnv::new();
    let key = secret("same-origin");
    add_paligo(&env, &server, &key, &[]).ok();
    let seen = server.requests();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0].url, FOLDERS);
    assert_eq!(seen[1].url, "/acme/api/v2/moved/folders?per_page=1");
    assert_eq!(
        seen[1].header("authorization"),
        Some(basic(EMAIL, &key).as_str())
    );
    assert_eq!(stored_secret(&env, "paligo"), key);
}

#[test]
fn a_same_host_redirect_to_another_port_is_another_origin() {
    // localhost and 127.0.0.1 on one port are different origins too, but a
    // different port is the sharpest case: the host name alone matches.
    let other = Server::start(|_| Reply::json(200, "{}"));
    let target = format!("http://127.0.0.1:{}/v1/me", other.port);
    let server = Server::start(move |_| Reply::new(308, "").header("Location", &target));
    let env = TestEnv::new();
    let key = secret("port");
    let out = add_generic(
        &env,
        "g",
        &format!("{}/v1", server.url()),
        &key,
        &["--check-path", "/me"],
    );
    assert_ne!(out.code, 0, "{out}");
    assert_eq!(other.count(), 0);
    assert_nothing_stored(&env, "g", Some(&key));
}

// ---------------------------------------------------------------------------
// verify
// ---------------------------------------------------------------------------

/// Adds generic credentials `c01`…`cNN` (unchecked) whose check path is
/// `/check/NAME`; returns their names and keys.
fn add_many(env: &TestEnv, server: &Server, n: usize) -> Vec<(String, String)> {
    (1..=n)
        .map(|i| {
            let name = format!("c{i:02}");
            let key = secret(&name);
            let check = format!("/check/{name}");
            add_generic(
                env,
                &name,
                &server.url(),
                &key,
                &["--check-path", &check, "--no-verify"],
            )
            .ok();
            (name, key)
        })
        .collect()
}

#[test]
fn verify_all_checks_twenty_concurrently_and_records_every_result() {
    let env = TestEnv::new();
    let server = Server::start(|_| Reply::json(200, "{}").delay(Duration::from_millis(300)));
    let creds = add_many(&env, &server, 20);
    assert_eq!(server.count(), 0, "--no-verify sends nothing");
    for (name, _) in &creds {
        assert_eq!(last_check(&env, name), None);
    }

    let start = Instant::now();
    let out = env.run(&["verify", "--all"]);
    let took = start.elapsed();
    out.ok();

    // Every credential was checked once, with its own key.
    let seen = server.requests();
    assert_eq!(seen.len(), 20, "{seen:?}");
    for (name, key) in &creds {
        let hits: Vec<_> = seen
            .iter()
            .filter(|s| s.url == format!("/check/{name}"))
            .collect();
        assert_eq!(hits.len(), 1, "{name}");
        assert_eq!(
            hits[0].header("authorization"),
            Some(key.as_str()),
            "{name}"
        );
    }
    // Concurrently: 20 × 300 ms one after another would take 6 s.
    let overlap = server.max_in_flight.load(Ordering::SeqCst);
    assert!(overlap >= 8, "at most {overlap} checks overlapped");
    assert!(took < Duration::from_secs(3), "verify --all took {took:?}");

    // One line per credential; each recorded.
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 20, "{out}");
    for (name, key) in &creds {
        assert_eq!(
            lines.iter().filter(|l| l.contains(name.as_str())).count(),
            1,
            "{name}\n{out}"
        );
        let (result, at) = last_check(&env, name).unwrap_or_else(|| panic!("{name} not recorded"));
        assert_eq!(result, "valid", "{name}");
        assert!(at.ends_with('Z'), "{at}");
        assert!(!out.all().contains(key.as_str()));
    }
    // list and show show it.
    let list = env.run(&["list"]);
    list.ok();
    assert_eq!(list.stdout.matches("valid").count(), 20, "{list}");
    let show = env.run(&["show", "c07"]);
    show.ok();
    assert!(show.stdout.contains("valid"), "{show}");
}

#[test]
fn verify_with_one_rejected_key_exits_4_and_the_json_says_which() {
    let env = TestEnv::new();
    let server = Server::start(|seen| {
        if seen.url == "/check/c03" {
            Reply::new(401, "bad key")
        } else {
            Reply::json(200, "{}")
        }
    });
    add_many(&env, &server, 5);
    let out = env.run(&["verify", "--all", "--json"]);
    out.code(4);
    let items: Vec<serde_json::Value> =
        serde_json::from_str(&out.stdout).expect("verify --json prints JSON");
    assert_eq!(items.len(), 5, "{out}");
    for item in &items {
        let name = item["name"].as_str().unwrap();
        if name == "c03" {
            assert_eq!(item["ok"], false, "{item}");
            assert_eq!(item["result"], "rejected", "{item}");
            assert_eq!(item["exit_code"], 4, "{item}");
            assert!(item["message"].as_str().unwrap().contains("401"), "{item}");
        } else {
            assert_eq!(item["ok"], true, "{item}");
            assert_eq!(item["result"], "valid", "{item}");
            assert_eq!(item["exit_code"], 0, "{item}");
        }
        assert_eq!(item["provider"], "generic");
    }
    assert_eq!(last_check(&env, "c03").unwrap().0, "rejected");
    assert_eq!(last_check(&env, "c02").unwrap().0, "valid");

    // Without --json: one line per credential, the failure marked.
    let out = env.run(&["verify"]);
    out.code(4);
    let line = out
        .stdout
        .lines()
        .find(|l| l.contains("c03"))
        .expect("a line for c03");
    assert!(line.contains("FAIL") && line.contains("rejected"), "{out}");
    assert_eq!(
        out.stdout.lines().filter(|l| l.contains("ok")).count(),
        4,
        "{out}"
    );
}

#[test]
fn verify_exits_with_the_worst_failure() {
    let env = TestEnv::new();
    let server = Server::start(|seen| match seen.url.as_str() {
        "/check/c01" => Reply::new(500, "oops"),
        "/check/c02" => Reply::new(403, "forbidden"),
        _ => Reply::json(200, "{}"),
    });
    add_many(&env, &server, 3);
    let out = env.run(&["verify", "--json"]);
    out.code(4);
    let items: Vec<serde_json::Value> = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(items[0]["result"], "unconfirmed");
    assert_eq!(items[0]["exit_code"], 3);

    // Only the unconfirmed one: 3.
    env.run(&["verify", "c01"]).code(3);
    // A network failure outranks a rejected key.
    let down = format!("http://127.0.0.1:{}", closed_port());
    add_generic(&env, "down", &down, &secret("down"), &["--no-verify"]).ok();
    let out = env.run(&["verify", "--json"]);
    out.code(5);
    let items: Vec<serde_json::Value> = serde_json::from_str(&out.stdout).unwrap();
    let down = items.iter().find(|i| i["name"] == "down").unwrap();
    assert_eq!(down["result"], "network");
    assert!(
        down["message"].as_str().unwrap().contains("refused"),
        "{down}"
    );
    assert_eq!(last_check(&env, "down").unwrap().0, "network");
}

#[test]
fn verify_names_checks_only_those_and_refuses_unknown_names() {
    let env = TestEnv::new();
    let server = Server::start(|_| Reply::json(200, "{}"));
    add_many(&env, &server, 3);
    let out = env.run(&["verify", "c02", "c02"]);
    out.ok();
    let seen = server.requests();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].url, "/check/c02");
    assert_eq!(out.stdout.lines().count(), 1, "{out}");
    assert!(last_check(&env, "c02").is_some());
    assert!(last_check(&env, "c01").is_none());

    let out = env.run(&["verify", "c01", "nope"]);
    out.code(1);
    assert!(out.stderr.contains("nope"), "{out}");
    assert_eq!(
        server.count(),
        1,
        "nothing is checked when a name is unknown"
    );

    env.run(&["verify", "c01", "--all"]).code(2);
}

#[test]
fn verify_with_nothing_stored_succeeds_and_says_so() {
    let env = TestEnv::new();
    let out = env.run(&["verify"]);
    out.ok();
    assert!(out.stderr.contains("No credentials"), "{out}");
    let out = env.run(&["verify", "--json"]);
    out.ok();
    assert_eq!(out.stdout.trim(), "[]");
}

#[test]
fn verify_waits_out_a_rate_limit_and_shows_it() {
    let env = TestEnv::new();
    let calls = AtomicUsize::new(0);
    let server = Server::start(move |_| {
        if calls.fetch_add(1, Ordering::SeqCst) == 0 {
            Reply::new(429, "slow down").header("Retry-After", "1")
        } else {
            Reply::json(200, "{}")
        }
    });
    add_many(&env, &server, 1);
    let out = env.run(&["verify", "c01"]);
    out.ok();
    assert!(out.stderr.contains("waiting 1 s"), "{out}");
    assert_eq!(server.count(), 2);
    assert_eq!(last_check(&env, "c01").unwrap().0, "valid");
}

#[test]
fn verify_times_out_a_slow_server_per_the_check_timeout() {
    let env = TestEnv::new();
    let server = Server::start(|_| Reply::json(200, "{}").delay(Duration::from_secs(4)));
    add_many(&env, &server, 2);
    let start = Instant::now();
    let out = env.run_with(&["verify", "--json"], |c| {
        c.env("CRED_CHECK_TIMEOUT", "0.5");
    });
    out.code(5);
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
    let items: Vec<serde_json::Value> = serde_json::from_str(&out.stdout).unwrap();
    for item in &items {
        assert_eq!(item["result"], "network", "{item}");
        assert!(
            item["message"]
                .as_str()
                .unwrap()
                .contains("did not answer within 0.5 s"),
            "{item}"
        );
    }
}

#[test]
fn verify_reports_a_missing_keychain_entry_with_the_fix() {
    let env = TestEnv::new();
    let server = Server::start(|_| Reply::json(200, "{}"));
    add_many(&env, &server, 1);
    // The config entry stays; the keychain entry goes (edit the config back in).
    let saved = env.config_text();
    env.run(&["remove", "c01", "--yes"]).ok();
    std::fs::write(env.config_path(), saved).unwrap();
    let out = env.run(&["verify"]);
    out.code(1);
    assert!(out.stdout.contains("cred rotate c01"), "{out}");
    assert_eq!(server.count(), 0);
}

// ---------------------------------------------------------------------------
// rotate
// ---------------------------------------------------------------------------

/// A Paligo server that accepts exactly the keys in `good`.
fn paligo_accepting(good: Vec<String>) -> Server {
    Server::start(move |seen| {
        let ok = good
            .iter()
            .any(|k| seen.header("authorization") == Some(basic(EMAIL, k).as_str()));
        if ok {
            Reply::json(200, r#"{"folders":[]}"#)
        } else {
            Reply::json(401, "{}")
        }
    })
}

#[test]
fn rotate_with_a_rejected_key_keeps_the_old_secret() {
    let env = TestEnv::new();
    let old = secret("old");
    let new = secret("new");
    let server = paligo_accepting(vec![old.clone()]);
    add_paligo(&env, &server, &old, &[]).ok();
    let before = last_check(&env, "paligo").unwrap();

    let out = env.run_with(&["rotate", "paligo", "--api-key-stdin"], |c| {
        c.write_stdin(new.clone());
        let (k, v) = paligo_env(&server);
        c.env(k, v);
    });
    out.code(4);
    assert!(out.stderr.contains("username or API key"), "{out}");
    assert!(out.stderr.contains("old secret"), "{out}");
    assert!(!out.all().contains(&new), "{out}");
    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(
        seen[1].header("authorization"),
        Some(basic(EMAIL, &new).as_str()),
        "the new key was checked"
    );

    assert_eq!(stored_secret(&env, "paligo"), old);
    assert_eq!(
        last_check(&env, "paligo").unwrap(),
        before,
        "the record of the old key stays"
    );
    // …and the old key still works.
    let out = env.run_with(&["verify", "paligo"], |c| {
        let (k, v) = paligo_env(&server);
        c.env(k, v);
    });
    out.ok();
    assert_eq!(
        server.requests()[2].header("authorization"),
        Some(basic(EMAIL, &old).as_str())
    );
}

#[test]
fn rotate_with_a_good_key_replaces_the_old_one() {
    let env = TestEnv::new();
    let old = secret("old");
    let new = secret("new");
    let server = paligo_accepting(vec![old.clone(), new.clone()]);
    add_paligo(&env, &server, &old, &[]).ok();

    let out = env.run_with(&["rotate", "paligo"], |c| {
        c.env("CRED_API_KEY", &new);
        let (k, v) = paligo_env(&server);
        c.env(k, v);
    });
    out.ok();
    assert!(!out.all().contains(&new), "{out}");
    let seen = server.requests();
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[1].url, FOLDERS);
    assert_eq!(
        seen[1].header("authorization"),
        Some(basic(EMAIL, &new).as_str())
    );
    assert_eq!(stored_secret(&env, "paligo"), new);
    assert_eq!(last_check(&env, "paligo").unwrap().0, "valid");
}

#[test]
fn rotate_on_a_network_failure_keeps_the_old_secret_with_exit_5() {
    let env = TestEnv::new();
    let old = secret("old");
    let base = format!("http://127.0.0.1:{}", closed_port());
    add_generic(&env, "g", &base, &old, &["--no-verify"]).ok();
    let out = env.run_with(&["rotate", "g"], |c| {
        c.env("CRED_API_KEY", secret("new"));
    });
    out.code(5);
    assert_eq!(stored_secret(&env, "g"), old);
}

// ---------------------------------------------------------------------------
// Timing (run by hand: cargo test --test cli verify::timing -- --ignored --nocapture)
// ---------------------------------------------------------------------------

#[test]
#[ignore = "a measurement, not a check: prints wall times of verify --all"]
fn timing_verify_all_twenty_at_300ms() {
    let env = TestEnv::new();
    let server = Server::start(|_| Reply::json(200, "{}").delay(Duration::from_millis(300)));
    add_many(&env, &server, 20);
    for round in 1..=5 {
        let start = Instant::now();
        env.run(&["verify", "--all"]).ok();
        eprintln!(
            "round {round}: verify --all over 20 credentials, server latency 300 ms: {:?} (max in flight {})",
            start.elapsed(),
            server.max_in_flight.load(Ordering::SeqCst)
        );
    }
}
