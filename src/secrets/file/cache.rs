//! An unlock kept in the Linux kernel keyring: the X25519 identity that
//! `identity.age` holds, as a `user` key in the user keyring (`@u`), with
//! the kernel's own timeout (`CRED_UNLOCK_TTL`, default 15 minutes), so the
//! next commands of that user need no passphrase and the key disappears on
//! its own. (`@u`, not the session keyring: the session keyring refused
//! timeouts on these machines, and `@u` outlives one login shell, which is
//! what a person on an SSH box expects.)
//!
//! The key is named `cred:file-store:PATH`, PATH the store file's absolute
//! path, so two stores never share an unlock; its payload is
//! `UNTIL\nIDENTITY` (UNTIL in seconds since the epoch, for `cred doctor`).
//! Only its owner (uid) may read it.
//!
//! Elsewhere (macOS, Windows, or a container whose seccomp profile refuses
//! `keyctl`) nothing is kept, and cred asks on each command.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use age::x25519;
use secrecy::ExposeSecret;
use zeroize::Zeroizing;

use super::FileError;

pub const TTL_ENV: &str = "CRED_UNLOCK_TTL";
pub const DEFAULT_TTL: Duration = Duration::from_secs(15 * 60);

/// The kernel key's description for the store at `store`.
pub fn key_name(store: &Path) -> String {
    let absolute = match (store.parent(), store.file_name()) {
        (Some(dir), Some(name)) => std::fs::canonicalize(dir)
            .map(|d| d.join(name))
            .unwrap_or_else(|_| store.to_path_buf()),
        _ => store.to_path_buf(),
    };
    format!("cred:file-store:{}", absolute.display())
}

/// An unlock found in the kernel keyring.
pub struct Cached {
    pub identity: x25519::Identity,
    /// When the kernel forgets it (seconds since the epoch), if recorded.
    pub until: Option<u64>,
}

/// `CRED_UNLOCK_TTL`: how long an unlock lasts (`0`: keep nothing).
pub fn ttl() -> Result<Duration, FileError> {
    match std::env::var(TTL_ENV) {
        Ok(v) if !v.trim().is_empty() => parse_ttl(&v, TTL_ENV),
        _ => Ok(DEFAULT_TTL),
    }
}

/// `15m`, `1h30m`, `90s`, `0`.
pub fn parse_ttl(text: &str, what: &str) -> Result<Duration, FileError> {
    let t = text.trim();
    if t == "0" {
        return Ok(Duration::ZERO);
    }
    humantime::parse_duration(t)
        .ok()
        .filter(|d| d.as_secs() <= 366 * 24 * 3600)
        .ok_or_else(|| FileError::BadTtl {
            what: what.to_string(),
            value: crate::escape::visible(t).into_owned(),
        })
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn encode(identity: &x25519::Identity, until: u64) -> Zeroizing<String> {
    Zeroizing::new(format!("{until}\n{}", identity.to_string().expose_secret()))
}

// Only the kernel keyring (Linux) hands a payload back.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn decode(payload: &[u8]) -> Option<Cached> {
    let text = std::str::from_utf8(payload).ok()?;
    let (until, key) = text.split_once('\n')?;
    let identity = key.trim().parse::<x25519::Identity>().ok()?;
    Some(Cached {
        identity,
        until: until.parse().ok().filter(|u| *u > 0),
    })
}

/// Where the kernel keyring cannot be used, why.
#[derive(Debug, Clone)]
pub struct Refused(pub String);

#[cfg(target_os = "linux")]
mod kernel {
    use linux_keyutils::{KeyError, KeyPermissionsBuilder, KeyRing, KeyRingIdentifier, Permission};

    use super::*;

    fn ring() -> Result<KeyRing, Refused> {
        // Test hook (debug builds only): a kernel keyring that refuses, as
        // a container's seccomp profile does.
        #[cfg(debug_assertions)]
        if std::env::var_os("CRED_TEST_NO_KERNEL_KEYRING").is_some() {
            return Err(Refused("keyctl: Operation not permitted (test)".into()));
        }
        KeyRing::from_special_id(KeyRingIdentifier::User, true)
            .map_err(|e| Refused(format!("the user keyring: {e}")))
    }

    pub fn load(name: &str) -> Result<Option<Cached>, Refused> {
        let ring = ring()?;
        let key = match ring.search(name) {
            Ok(k) => k,
            Err(KeyError::KeyDoesNotExist | KeyError::KeyExpired | KeyError::KeyRevoked) => {
                return Ok(None);
            }
            Err(e) => return Err(Refused(format!("searching the user keyring: {e}"))),
        };
        match key.read_to_vec() {
            Ok(payload) => Ok(decode(&Zeroizing::new(payload))),
            Err(KeyError::KeyExpired | KeyError::KeyRevoked | KeyError::KeyDoesNotExist) => {
                Ok(None)
            }
            Err(e) => Err(Refused(format!("reading the cached unlock: {e}"))),
        }
    }

    pub fn keep(name: &str, payload: &[u8], ttl: Duration) -> Result<(), Refused> {
        let ring = ring()?;
        let key = ring
            .add_key(name, payload)
            .map_err(|e| Refused(format!("adding a key to the user keyring: {e}")))?;
        let perms = KeyPermissionsBuilder::builder()
            .posessor(Permission::ALL)
            .user(Permission::ALL)
            .build();
        let result = key
            .set_perms(perms)
            .and_then(|()| key.set_timeout(ttl.as_secs().max(1) as usize));
        if let Err(e) = result {
            // Never leave an unlock without its timeout.
            let _ = key.invalidate();
            return Err(Refused(format!("setting the key's timeout: {e}")));
        }
        Ok(())
    }

    pub fn forget(name: &str) -> Result<bool, Refused> {
        let ring = ring()?;
        match ring.search(name) {
            Ok(key) => key
                .invalidate()
                .map(|()| true)
                .map_err(|e| Refused(format!("removing the cached unlock: {e}"))),
            Err(KeyError::KeyDoesNotExist | KeyError::KeyExpired | KeyError::KeyRevoked) => {
                Ok(false)
            }
            Err(e) => Err(Refused(format!("searching the user keyring: {e}"))),
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod kernel {
    use super::*;

    const NONE: &str = "there is no kernel keyring on this system";

    pub fn load(_: &str) -> Result<Option<Cached>, Refused> {
        Err(Refused(NONE.into()))
    }
    pub fn keep(_: &str, _: &[u8], _: Duration) -> Result<(), Refused> {
        Err(Refused(NONE.into()))
    }
    pub fn forget(_: &str) -> Result<bool, Refused> {
        Err(Refused(NONE.into()))
    }
}

/// The unlock kept for the store at `store`, if any.
pub fn load(store: &Path) -> Result<Option<Cached>, Refused> {
    kernel::load(&key_name(store))
}

/// Keeps `identity` for `ttl`; returns when the kernel forgets it.
pub fn keep(store: &Path, identity: &x25519::Identity, ttl: Duration) -> Result<u64, Refused> {
    let until = now() + ttl.as_secs().max(1);
    let payload = encode(identity, until);
    kernel::keep(&key_name(store), payload.as_bytes(), ttl)?;
    Ok(until)
}

/// Forgets the unlock of the store at `store`; whether there was one.
pub fn forget(store: &Path) -> Result<bool, Refused> {
    kernel::forget(&key_name(store))
}

/// `2026-12-02T09:00:00Z` for seconds since the epoch.
pub fn format_until(until: u64) -> String {
    humantime::format_rfc3339_seconds(UNIX_EPOCH + Duration::from_secs(until)).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_round_trips() {
        let id = x25519::Identity::generate();
        let cached = decode(encode(&id, 42).as_bytes()).unwrap();
        assert_eq!(cached.until, Some(42));
        assert_eq!(
            cached.identity.to_public().to_string(),
            id.to_public().to_string()
        );
    }

    #[test]
    fn ttls() {
        assert_eq!(parse_ttl("0", "x").unwrap(), Duration::ZERO);
        assert_eq!(parse_ttl("15m", "x").unwrap(), DEFAULT_TTL);
        assert_eq!(parse_ttl("2s", "x").unwrap(), Duration::from_secs(2));
        assert!(parse_ttl("soon", "x").is_err());
    }

    #[test]
    fn key_names_differ_per_store() {
        assert_ne!(
            key_name(Path::new("/a/secrets.age")),
            key_name(Path::new("/b/secrets.age"))
        );
    }
}
