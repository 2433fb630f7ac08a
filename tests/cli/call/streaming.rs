//! `cred call`: large bodies stream: 200 MB to a file byte for byte with
//! little memory, and the body reaches stdout before the answer is
//! complete.

use std::io::Read;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

use crate::common::*;

/// 200 MB generated on the fly, written with -o: same size, same checksum,
/// on disk before the answer is complete, and cred's memory stays small.
#[test]
fn a_200_mb_answer_streams_to_a_file_byte_for_byte() {
    const LEN: u64 = 200 * 1024 * 1024;
    const PAUSE: u64 = 150 * 1024 * 1024;
    let paused = Arc::new(AtomicBool::new(false));
    let release = Arc::new(AtomicBool::new(false));
    let (p2, r2) = (paused.clone(), release.clone());
    let server = Server::start(move |_| {
        let g = Generated {
            pos: 0,
            len: LEN,
            pause_at: Some(PAUSE),
            paused: p2.clone(),
            release: r2.clone(),
        };
        Reply::stream(200, g, LEN as usize).header("Content-Type", "application/octet-stream")
    });
    let env = TestEnv::new();
    add_paligo_unchecked(&env, &server);
    let out = env.dir.path().join("big.bin");
    let child = spawn_cred(
        &env,
        &[paligo_env(&server)],
        &["call", "paligo", "/export", "-o", out.to_str().unwrap()],
        Stdio::null(),
    );
    let pid = child.id();
    let mut child = Reap(Some(child));

    // The server sends 150 MB, then holds back the rest: by then cred must
    // have written most of it to the file, without holding it in memory.
    // The waits below are polling windows, not speed checks: a cred that
    // streams has the bytes on disk moments after reading them, one that
    // buffers the body never before the server sends the rest (after this
    // loop). They stay below cred's 30 s timeout for a silent server.
    let deadline = Instant::now() + Duration::from_secs(60);
    let min_on_disk = PAUSE - 16 * 1024 * 1024;
    let (mut on_disk, mut rss) = (0, 0);
    let mut paused_since: Option<Instant> = None;
    while Instant::now() < deadline {
        rss = rss.max(peak_rss_kib(pid).unwrap_or(0));
        on_disk = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
        if on_disk >= min_on_disk {
            break;
        }
        if paused.load(Ordering::SeqCst) {
            let since = *paused_since.get_or_insert_with(Instant::now);
            if since.elapsed() > Duration::from_secs(20) {
                break;
            }
        }
        if child.0.as_mut().unwrap().try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    rss = rss.max(peak_rss_kib(pid).unwrap_or(0));
    release.store(true, Ordering::SeqCst);
    assert!(
        on_disk >= min_on_disk,
        "only {on_disk} bytes were on disk while the server held back the last 50 MB: the body is not streamed"
    );
    assert!(
        rss > 0 && rss < 64 * 1024,
        "cred's peak memory was {rss} KiB for a streamed body"
    );

    let status = child.0.take().unwrap().wait_with_output().unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let mut file = std::fs::File::open(&out).unwrap();
    assert_eq!(file.metadata().unwrap().len(), LEN);
    let mut buf = vec![0u8; 1 << 20];
    let (mut got, mut want, mut k) = (0u64, 0u64, 0u64);
    loop {
        let n = file.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        assert_eq!(n % 8, 0, "short read");
        for c in buf[..n].chunks_exact(8) {
            got = mix(got, u64::from_le_bytes(c.try_into().unwrap()));
            want = mix(want, word(k));
            k += 1;
        }
    }
    assert_eq!(k * 8, LEN);
    assert_eq!(got, want, "the file differs from what the server sent");
}

/// The body reaches stdout while the server is still sending.
#[test]
fn the_body_streams_to_stdout_before_the_answer_is_complete() {
    let release = Arc::new(AtomicBool::new(false));
    let r2 = release.clone();
    let server = Server::start(move |_| {
        let mut g = generated(4_000_000);
        g.pause_at = Some(1_000_000);
        g.release = r2.clone();
        Reply::stream(200, g, 4_000_000)
    });
    let env = TestEnv::new();
    add_paligo_unchecked(&env, &server);
    let mut child = Reap(Some(spawn_cred(
        &env,
        &[paligo_env(&server)],
        &["call", "paligo", "/big"],
        Stdio::piped(),
    )));
    let mut stdout = child.0.as_mut().unwrap().stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 1 << 16];
        let mut total = 0usize;
        let mut sent_first = false;
        loop {
            match stdout.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
            if !sent_first && total >= 500_000 {
                sent_first = true;
                let _ = tx.send(total);
            }
        }
        let _ = tx.send(total);
    });
    // Polling windows, not speed checks: the first bytes come at once from
    // a cred that streams, and never from one that waits for the whole body
    // (held back until `release`).
    let early = rx.recv_timeout(Duration::from_secs(30));
    release.store(true, Ordering::SeqCst);
    assert!(
        early.is_ok(),
        "nothing reached stdout while the server held back the rest"
    );
    let total = rx.recv_timeout(Duration::from_secs(60)).unwrap();
    assert_eq!(total, 4_000_000);
    let status = child.0.take().unwrap().wait().unwrap();
    assert!(status.success());
}
