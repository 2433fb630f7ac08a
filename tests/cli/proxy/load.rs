//! `cred proxy` under load: a 1 GiB answer streams through with bounded
//! memory, bodies arrive byte for byte both ways, 50 clients at once are
//! all answered, and a client that sends its headers byte by byte does
//! not hold up the others. No test here measures speed.

use std::sync::atomic::{AtomicBool, Ordering};

use super::*;

/// 1 GiB generated on the fly goes through the proxy to curl: every byte
/// arrives, and the proxy's peak memory stays small (a memory bound, not
/// a timing).
#[test]
fn a_gib_streams_through_with_bounded_memory() {
    const LEN: u64 = 1024 * 1024 * 1024;
    let server = Server::start(|_| {
        Reply::stream(200, generated(LEN), LEN as usize)
            .header("Content-Type", "application/octet-stream")
    });
    let env = TestEnv::new();
    let (proxy, _key) = paligo_proxy(&env, &server, &[]);
    let out = curl(&[
        "-o",
        "/dev/null",
        "-w",
        "%{http_code} %{size_download}",
        "-H",
        &bearer(&proxy.token()),
        &format!("{}/export", proxy.url()),
    ]);
    let rss = peak_rss_kib(proxy.pid).unwrap_or(0);
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("200 {LEN}"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        rss > 0 && rss < 64 * 1024,
        "the proxy's peak memory was {rss} KiB for a streamed GiB"
    );
    proxy.stop();
}

/// 8 MiB each way: the upload reaches the API and the download the client,
/// byte for byte.
#[test]
fn bodies_pass_byte_for_byte_both_ways() {
    const LEN: u64 = 8 * 1024 * 1024;
    let server = Server::start(|seen| {
        let mut want = Vec::new();
        generated(LEN).read_to_end(&mut want).unwrap();
        let status = if seen.body == want { 200 } else { 400 };
        Reply::stream(status, generated(LEN), LEN as usize)
    });
    let env = TestEnv::new();
    std::fs::create_dir_all(env.home()).unwrap();
    let upload = env.home().join("up.bin");
    let mut bytes = Vec::new();
    generated(LEN).read_to_end(&mut bytes).unwrap();
    std::fs::write(&upload, &bytes).unwrap();
    let (proxy, _key) = paligo_proxy(&env, &server, &[]);
    let down = env.home().join("down.bin");
    let code = status_of(&[
        "-H",
        &bearer(&proxy.token()),
        "-H",
        "Content-Type: application/octet-stream",
        "--data-binary",
        &format!("@{}", upload.display()),
        "-D",
        down.with_extension("head").to_str().unwrap(),
        &format!("{}/import", proxy.url()),
    ]);
    assert_eq!(code, 200, "the API did not get the upload byte for byte");
    let out = curl(&[
        "-H",
        &bearer(&proxy.token()),
        "-o",
        down.to_str().unwrap(),
        &format!("{}/export", proxy.url()),
    ]);
    assert!(out.status.success());
    assert!(
        std::fs::read(&down).unwrap() == bytes,
        "the download differs"
    );
    proxy.stop();
}

#[test]
fn fifty_clients_at_once_are_all_answered() {
    let server = Server::start(|_| Reply::json(200, "{}").delay(Duration::from_millis(300)));
    let env = TestEnv::new();
    let (proxy, _key) = paligo_proxy(&env, &server, &[]);
    let (port, token) = (proxy.port(), proxy.token());
    let codes: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..50)
            .map(|i| {
                let token = &token;
                s.spawn(move || raw_get(port, &format!("/documents/{i}"), token))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(codes.iter().all(|c| *c == 200), "{codes:?}");
    assert_eq!(server.count(), 50);
    // They were served side by side, not one after the other.
    assert!(server.max_in_flight() > 1, "{}", server.max_in_flight());
    proxy.stop();
}

/// A client sends its request head one byte at a time over about 30 s;
/// meanwhile other clients are answered. (The waits only pace the slow
/// client; nothing asserts how fast anything is.)
#[test]
fn a_client_sending_its_headers_byte_by_byte_does_not_block_others() {
    let server = Server::start(|_| Reply::json(200, "{}"));
    let env = TestEnv::new();
    let (proxy, _key) = paligo_proxy(&env, &server, &[]);
    let (port, token) = (proxy.port(), proxy.token());
    let head = format!(
        "GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    let pace = Duration::from_millis(28_000 / head.len() as u64);
    let done = Arc::new(AtomicBool::new(false));
    let slow = {
        let done = done.clone();
        std::thread::spawn(move || {
            let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
            for b in head.as_bytes() {
                if s.write_all(std::slice::from_ref(b)).is_err() {
                    break;
                }
                std::thread::sleep(pace);
            }
            s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
            let mut answer = Vec::new();
            let _ = s.read_to_end(&mut answer);
            done.store(true, Ordering::SeqCst);
            parse_status(&answer)
        })
    };
    std::thread::sleep(Duration::from_secs(1));
    let mut answered = 0;
    for i in 0..10 {
        assert_eq!(raw_get(port, &format!("/fast/{i}"), &token), 200);
        answered += 1;
        std::thread::sleep(Duration::from_secs(1));
    }
    assert!(
        !done.load(Ordering::SeqCst),
        "the slow client finished early: the test did not overlap it"
    );
    assert_eq!(answered, 10);
    // The slow client is answered too, or dropped at the head deadline;
    // either way it ends.
    let status = slow.join().unwrap();
    assert!(status == 200 || status == 0 || status == 408, "{status}");
    proxy.stop();
}
