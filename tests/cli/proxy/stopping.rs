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
