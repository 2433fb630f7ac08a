//! `cred proxy` stops: after `--ttl`, and cleanly on SIGTERM, with a log
//! line for a request it had to cut.

use std::sync::atomic::{AtomicBool, Ordering};

use super::*;

#[test]
fn ttl_stops_the_proxy() {
    let server = Server::start(|_| Reply::json(200, "{}"));
    let env = TestEnv::new();
    let (mut proxy, _key) = paligo_proxy(&env, &server, &["--ttl", "2s"]);
    assert_eq!(raw_get(proxy.port(), "/documents", &proxy.token()), 200);
    // A hang guard, not a timing: it must end by itself.
    let code = proxy.wait_exit(Duration::from_secs(60));
    assert_eq!(code, Some(0), "{}", proxy.stderr());
    assert!(
        proxy.stderr().contains("stopped (--ttl 2s passed)"),
        "{}",
        proxy.stderr()
    );
    assert_eq!(raw_get(proxy.port(), "/documents", &proxy.token()), 0);
}

#[test]
fn sigterm_stops_cleanly_and_logs_the_request_it_cuts() {
    const LEN: u64 = 64 * 1024 * 1024;
    let paused = Arc::new(AtomicBool::new(false));
    let release = Arc::new(AtomicBool::new(false));
    let (p, r) = (paused.clone(), release.clone());
    let server = Server::start(move |_| {
        let g = Generated {
            pos: 0,
            len: LEN,
            pause_at: Some(1024 * 1024),
            paused: p.clone(),
            release: r.clone(),
        };
        Reply::stream(200, g, LEN as usize)
    });
    let env = TestEnv::new();
    let (proxy, key) = paligo_proxy(&env, &server, &[]);
    let (port, token) = (proxy.port(), proxy.token());
    let client = std::thread::spawn(move || raw_get(port, "/export", &token));
    let start = Instant::now();
    while !paused.load(Ordering::SeqCst) {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the download never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let token = proxy.token();
    let stopped = proxy.stop();
    release.store(true, Ordering::SeqCst);
    assert_eq!(stopped.code, Some(0), "{}", stopped.stderr);
    assert!(
        stopped.stderr.contains("stopped (SIGTERM)"),
        "{}",
        stopped.stderr
    );
    let cut: Vec<&str> = stopped
        .stderr
        .lines()
        .filter(|l| l.contains(" GET /export ") && l.contains("cut"))
        .collect();
    assert_eq!(cut.len(), 1, "{}", stopped.stderr);
    assert_hidden(
        "stderr",
        stopped.stderr.as_bytes(),
        &hidden_forms(&key, &token),
    );
    // The cut download ended for the client too (a status, then a broken body).
    assert_eq!(client.join().unwrap(), 200);
}

/// Once stopping, the proxy forwards nothing new: a request on a
/// connection it kept alive gets 503 while an earlier one finishes.
#[test]
fn once_stopping_a_kept_alive_connection_gets_503_and_nothing_new_is_forwarded() {
    let server = Server::start(|seen| {
        let reply = Reply::json(200, "{}");
        if seen.path().ends_with("/slow") {
            reply.delay(Duration::from_secs(3))
        } else {
            reply
        }
    });
    let env = TestEnv::new();
    let (mut proxy, _key) = paligo_proxy(&env, &server, &[]);
    let (port, token) = (proxy.port(), proxy.token());
    let mut kept = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    kept.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let request = format!(
        "GET /documents HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n"
    );
    // One answer on a kept-alive connection: chunked, up to its last chunk.
    let exchange = |s: &mut std::net::TcpStream| {
        s.write_all(request.as_bytes()).unwrap();
        let mut answer = Vec::new();
        let mut buf = [0u8; 4096];
        while !answer.ends_with(b"\r\n0\r\n\r\n") && !answer.ends_with(b"}\n") {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
        }
        parse_status(&answer)
    };
    assert_eq!(exchange(&mut kept), 200);
    let slow = std::thread::spawn(move || raw_get(port, "/slow", &token));
    let start = Instant::now();
    while server.count() < 2 {
        assert!(start.elapsed() < Duration::from_secs(30), "no slow request");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::process::Command::new("kill")
        .args(["-TERM", &proxy.pid.to_string()])
        .status()
        .unwrap();
    // Stopping, the proxy closes its listening socket (after it stopped
    // forwarding anything new): wait for that, not for a time.
    let start = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the proxy still accepts connections after SIGTERM\n{}",
            proxy.stderr()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(exchange(&mut kept), 503);
    assert_eq!(server.count(), 2, "forwarded after the stop");
    assert_eq!(slow.join().unwrap(), 200, "the request in flight finished");
    assert_eq!(proxy.wait_exit(Duration::from_secs(60)), Some(0));
}
