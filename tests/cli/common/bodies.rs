//! Large response bodies made on the fly, for streaming tests: deterministic
//! pseudo-random bytes ([`word`]), a checksum to compare them by ([`mix`]),
//! and a reader ([`Generated`]) that can stop halfway until released.

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Deterministic pseudo-random bytes: word k is splitmix64(k), little endian.
pub fn word(k: u64) -> u64 {
    let mut z = k.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A checksum over 8-byte words, sensitive to order and position.
pub fn mix(hash: u64, w: u64) -> u64 {
    (hash.rotate_left(5) ^ w).wrapping_mul(0x100_0000_01B3)
}

/// Generates `len` bytes of [`word`]s on the fly; optionally stops at
/// `pause_at` until `release` is set (and says so through `paused`).
pub struct Generated {
    pub pos: u64,
    pub len: u64,
    pub pause_at: Option<u64>,
    pub paused: Arc<AtomicBool>,
    pub release: Arc<AtomicBool>,
}

impl Read for Generated {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut end = self.len;
        if let Some(p) = self.pause_at {
            if self.pos >= p {
                self.paused.store(true, Ordering::SeqCst);
                // Released by the test, or after a minute at the latest so
                // that a failed test does not leave a server thread behind.
                let deadline = Instant::now() + Duration::from_secs(60);
                while !self.release.load(Ordering::SeqCst) && Instant::now() < deadline {
                    std::thread::sleep(Duration::from_millis(5));
                }
                self.pause_at = None;
            } else {
                end = p;
            }
        }
        let n = (buf.len() as u64).min(end - self.pos) as usize;
        let mut i = 0;
        while i < n {
            let at = self.pos + i as u64;
            let bytes = word(at / 8).to_le_bytes();
            let off = (at % 8) as usize;
            let take = (8 - off).min(n - i);
            buf[i..i + take].copy_from_slice(&bytes[off..off + take]);
            i += take;
        }
        self.pos += n as u64;
        Ok(n)
    }
}

/// `len` bytes of [`word`]s, without a pause.
pub fn generated(len: u64) -> Generated {
    Generated {
        pos: 0,
        len,
        pause_at: None,
        paused: Arc::new(AtomicBool::new(false)),
        release: Arc::new(AtomicBool::new(true)),
    }
}
