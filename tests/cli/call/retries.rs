//! `cred call`: rate limits: a 429 (or a 503 with Retry-After) is waited
//! out and retried, within `--retries` and `--max-wait`, and a request that
//! is not idempotent only with `--retry-unsafe`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use super::call;
use crate::common::*;

#[test]
fn a_429_with_retry_after_is_waited_out_and_retried() {
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    let server = Server::start(move |_| {
        if n2.fetch_add(1, Ordering::SeqCst) < 2 {
            Reply::json(429, r#"{"message":"rate limited"}"#).header("Retry-After", "1")
        } else {
            Reply::json(200, r#"{"folders":[]}"#)
        }
    });
    let env = TestEnv::new();
    let key = add_paligo_unchecked(&env, &server);
    let run = call(&env, &[paligo_env(&server)], &["paligo", "/folders"]);
    run.ok();
    assert_eq!(run.stdout, r#"{"folders":[]}"#, "{run}");
    assert!(
        run.stderr
            .contains("HTTP 429: waiting 1 s before retry 1 of 3"),
        "{run}"
    );
    assert!(run.stderr.contains("retry 2 of 3"), "{run}");
    let seen = server.requests();
    assert_eq!(seen.len(), 3);
    for s in &seen {
        assert_eq!(s.header("authorization"), Some(basic(EMAIL, &key).as_str()));
    }
    // Each retry came after its 1 s wait, as the server saw it (a lower
    // bound: load only lengthens the gaps).
    for pair in seen.windows(2) {
        let gap = pair[1].at.duration_since(pair[0].at);
        assert!(gap >= Duration::from_secs(1), "did not wait: {gap:?}");
    }
}

#[test]
fn a_503_is_retried_with_or_without_retry_after() {
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    let server = Server::start(move |s| match s.path() {
        "/v1/down" => Reply::new(503, "down for good"),
        _ if n2.fetch_add(1, Ordering::SeqCst) == 0 => {
            Reply::new(503, "").header("Retry-After", "1")
        }
        _ => Reply::new(200, "up"),
    });
    let env = TestEnv::new();
    add_generic_unchecked(&env, &server.url(), &[]);
    let run = call(&env, &[], &["api", "DELETE", "/items/1"]);
    run.ok();
    assert_eq!(run.stdout, "up");
    assert_eq!(server.count(), 2);
    // Without Retry-After a 503 is transient too: backed off and retried
    // until --retries runs out, then reported with the last body (exit 3).
    let run = call(&env, &[], &["api", "/down", "--retries", "2"]);
    run.code(3);
    assert_eq!(run.stdout, "down for good");
    assert!(run.stderr.contains("HTTP 503: waiting"), "{run}");
    assert!(
        run.stderr.contains("still failing after 2 retries"),
        "{run}"
    );
    assert_eq!(server.count(), 5);
}

#[test]
fn transient_failures_back_off_exponentially_for_idempotent_requests_only() {
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    let server = Server::start(move |s| match s.path() {
        "/v1/flaky" => match n2.fetch_add(1, Ordering::SeqCst) {
            0 => Reply::new(502, "bad gateway"),
            1 => Reply::new(504, "gateway timeout"),
            2 => Reply::new(503, "unavailable"),
            _ => Reply::new(200, "fine"),
        },
        _ => Reply::new(502, "bad gateway"),
    });
    let env = TestEnv::new();
    add_generic_unchecked(&env, &server.url(), &[]);
    let run = call(&env, &[], &["api", "/flaky", "-v"]);
    run.ok();
    assert_eq!(run.stdout, "fine");
    for (status, attempt) in [(502, 1), (504, 2), (503, 3)] {
        assert!(
            run.stderr.contains(&format!("HTTP {status}: waiting"))
                && run.stderr.contains(&format!("before retry {attempt} of 3")),
            "{run}"
        );
    }
    // Each wait doubles (0.5 s, 1 s, 2 s, each jittered down to half).
    let seen = server.requests();
    let gaps: Vec<Duration> = seen
        .windows(2)
        .map(|p| p[1].at.duration_since(p[0].at))
        .collect();
    assert!(gaps[0] >= Duration::from_millis(250), "{gaps:?}");
    assert!(gaps[2] >= Duration::from_secs(1), "{gaps:?}");
    // A POST is not retried on a 502 ...
    let run = call(&env, &[], &["api", "POST", "/gw", "-d", "x"]);
    run.code(3);
    assert!(run.stderr.contains("POST is not idempotent"), "{run}");
    assert_eq!(server.count(), 5);
    // ... unless --retry-unsafe.
    call(
        &env,
        &[],
        &[
            "api",
            "POST",
            "/gw",
            "-d",
            "x",
            "--retry-unsafe",
            "--retries",
            "1",
        ],
    )
    .code(3);
    assert_eq!(server.count(), 7);
}

/// A server that accepts a connection, reads the request and closes it
/// without an answer `drops` times, then answers 200 (raw sockets: the
/// test server always answers).
fn resetting_server(drops: usize) -> (String, Arc<AtomicUsize>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let c2 = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            if c2.fetch_add(1, Ordering::SeqCst) < drops {
                drop(stream);
                continue;
            }
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
        }
    });
    (url, count)
}

#[test]
fn a_reset_connection_is_retried_for_a_get_and_not_for_a_post() {
    let (url, count) = resetting_server(2);
    let env = TestEnv::new();
    add_generic_unchecked(&env, &url, &[]);
    let run = call(&env, &[], &["api", "/x"]);
    run.ok();
    assert_eq!(run.stdout, "ok");
    assert!(run.stderr.contains("connection reset: waiting"), "{run}");
    assert_eq!(count.load(Ordering::SeqCst), 3);

    let (url, count) = resetting_server(1);
    let env = TestEnv::new();
    add_generic_unchecked(&env, &url, &[]);
    let run = call(&env, &[], &["api", "POST", "/x", "-d", "once"]);
    run.code(5);
    assert!(run.stderr.contains("broke before an answer came"), "{run}");
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

#[test]
fn paymo_429_without_retry_after_waits_for_the_decay_period() {
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    let server = Server::start(move |_| {
        if n2.fetch_add(1, Ordering::SeqCst) == 0 {
            Reply::json(429, r#"{"message":"slow down"}"#)
                .header("X-Ratelimit-Limit", "10")
                .header("X-Ratelimit-Remaining", "0")
                .header("X-Ratelimit-Decay-Period", "2")
        } else {
            Reply::json(200, r#"{"projects":[]}"#)
        }
    });
    let env = TestEnv::new();
    add_paymo_unchecked(&env, &server);
    let run = call(&env, &[paymo_env(&server)], &["paymo", "/projects"]);
    run.ok();
    assert!(run.stderr.contains("HTTP 429: waiting 2 s"), "{run}");
    let seen = server.requests();
    assert!(seen[1].at.duration_since(seen[0].at) >= Duration::from_secs(2));
}

#[test]
fn retries_are_bounded_by_retries_and_max_wait() {
    let server = Server::start(|s| match s.path() {
        "/v1/long" => Reply::json(429, r#"{"wait":"long"}"#).header("Retry-After", "120"),
        _ => Reply::json(429, r#"{"wait":"short"}"#).header("Retry-After", "1"),
    });
    let env = TestEnv::new();
    add_generic_unchecked(&env, &server.url(), &[]);
    // Retries ran out: 1 + 1 requests.
    let run = call(&env, &[], &["api", "/short", "--retries", "1"]);
    run.code(6);
    assert!(run.stderr.contains("cred: error: HTTP 429"), "{run}");
    assert!(
        run.stderr.contains("after 1 retries") || run.stderr.contains("after 1 retry"),
        "{run}"
    );
    assert!(run.stderr.contains("--retries"), "{run}");
    assert_eq!(server.count(), 2);
    // --retries 0: no retry at all.
    call(&env, &[], &["api", "/short", "--retries", "0"]).code(6);
    assert_eq!(server.count(), 3);
    // A wait past --max-wait (default 60 s) is not even started: none is
    // announced (cred says "waiting N s" before each) and nothing is sent
    // again.
    let start = Instant::now();
    let run = call(&env, &[], &["api", "/long"]);
    run.code(6);
    assert!(!run.stderr.contains("waiting"), "{run}");
    // Nor sat out silently: a timing bound is the point here, kept generous
    // (10 s against the 120 s asked for) so that load cannot fail it.
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "{:?}",
        start.elapsed()
    );
    assert!(run.stderr.contains("--max-wait 60"), "{run}");
    assert_eq!(server.count(), 4);
    // Two waits of 1 s do not fit in --max-wait 1.
    let run = call(&env, &[], &["api", "/short", "--max-wait", "1"]);
    run.code(6);
    assert_eq!(server.count(), 6);
}

#[test]
fn a_post_that_is_rate_limited_is_not_retried_unless_allowed() {
    let n = Arc::new(AtomicUsize::new(0));
    let n2 = n.clone();
    let server = Server::start(move |_| {
        // POST, PATCH, then the first try of the --retry-unsafe POST.
        if n2.fetch_add(1, Ordering::SeqCst) < 3 {
            Reply::json(429, r#"{"message":"1 per minute"}"#).header("Retry-After", "1")
        } else {
            Reply::json(201, r#"{"id":1}"#)
        }
    });
    let env = TestEnv::new();
    add_paligo_unchecked(&env, &server);
    let p = [paligo_env(&server)];
    let run = call(&env, &p, &["paligo", "POST", "/productions", "-f", "x=1"]);
    run.code(6);
    assert_eq!(server.count(), 1);
    assert_eq!(run.stdout, r#"{"message":"1 per minute"}"#, "{run}");
    assert!(run.stderr.contains("cred: error: HTTP 429"), "{run}");
    assert!(run.stderr.contains("POST is not idempotent"), "{run}");
    assert!(run.stderr.contains("--retry-unsafe"), "{run}");
    // PATCH neither.
    call(
        &env,
        &p,
        &["paligo", "PATCH", "/productions/1", "-f", "x=1"],
    )
    .code(6);
    assert_eq!(server.count(), 2);
    // With --retry-unsafe it is waited out and sent again.
    let run = call(
        &env,
        &p,
        &[
            "paligo",
            "POST",
            "/productions",
            "-f",
            "x=1",
            "--retry-unsafe",
        ],
    );
    run.ok();
    assert_eq!(run.stdout, r#"{"id":1}"#);
    assert_eq!(server.count(), 4);
}
