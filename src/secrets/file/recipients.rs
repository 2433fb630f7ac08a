//! Whom the store is encrypted to (SPEC §7 "File-store recipients"):
//! `recipients.txt` beside `secrets.age`, in age's recipients-file format
//! (one recipient per line: `age1…`, `ssh-ed25519 AAAA…`, `ssh-rsa
//! AAAA…`; `#` comments and blank lines skipped). Every write encrypts to
//! all of them. Without the file, the store is encrypted to the identity
//! that opened it, and the next write records that in a new
//! `recipients.txt`.
//!
//! The header of `secrets.age` shows how many recipients it is encrypted
//! to (one stanza each, of the recipient's type; age's "grease" stanzas
//! aside). A file that holds more stanzas of a type than the list names
//! was encrypted by hand (`age -r`) to someone cred does not know: cred
//! refuses to write it rather than drop that recipient.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use age::{armor::ArmoredReader, x25519};

use super::{FileError, checked};

pub const FILE_NAME: &str = "recipients.txt";
const HEADER: &str = "# cred file store: every write of secrets.age is encrypted to each recipient below\n# (age's recipients-file format). Change it with `cred recipients add|remove`.\n";

/// `recipients.txt` beside the store.
pub fn path(store: &Path) -> PathBuf {
    store.with_file_name(FILE_NAME)
}

/// One recipient: an age X25519 public key or an SSH public key.
#[derive(Clone)]
pub enum Recipient {
    X25519(x25519::Recipient),
    Ssh(age::ssh::Recipient),
}

impl std::fmt::Display for Recipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Recipient::X25519(r) => write!(f, "{r}"),
            Recipient::Ssh(r) => write!(f, "{r}"),
        }
    }
}

impl PartialEq for Recipient {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

impl std::fmt::Debug for Recipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self}")
    }
}

impl Recipient {
    /// Parses one recipient (an SSH key's trailing comment is dropped).
    /// The error says why, for people.
    pub fn parse(text: &str) -> Result<Recipient, String> {
        let text = text.trim();
        if text.starts_with("ssh-") || text.starts_with("sk-ssh-") || text.starts_with("ecdsa-") {
            let mut fields = text.split_whitespace();
            let key = match (fields.next(), fields.next()) {
                (Some(t), Some(b)) => format!("{t} {b}"),
                _ => return Err("an SSH public key is `TYPE BASE64 [comment]`".into()),
            };
            return key
                .parse::<age::ssh::Recipient>()
                .map(Recipient::Ssh)
                .map_err(|e| match e {
                    age::ssh::ParseRecipientKeyError::Unsupported(t) => format!(
                        "age takes only ssh-ed25519 and ssh-rsa SSH keys, not {}",
                        crate::escape::visible(&t)
                    ),
                    age::ssh::ParseRecipientKeyError::RsaModulusTooSmall => {
                        "the ssh-rsa key is shorter than 2048 bits".into()
                    }
                    age::ssh::ParseRecipientKeyError::RsaModulusTooLarge => {
                        "the ssh-rsa key is longer than 4096 bits".into()
                    }
                    _ => "it is not a valid SSH public key".into(),
                });
        }
        if let Some(plugin) = plugin_of_recipient(text) {
            return Err(format!(
                "it is a recipient of the age plugin age-plugin-{plugin}; cred does not run age plugins"
            ));
        }
        if text.starts_with("AGE-SECRET-KEY-1") {
            return Err("it is a secret key (an identity), not a recipient: give its public key (`age-keygen -y FILE` prints it)".into());
        }
        text.parse::<x25519::Recipient>()
            .map(Recipient::X25519)
            .map_err(|_| "it is not an age recipient (age1…) nor an SSH public key".into())
    }

    pub fn as_age(&self) -> &dyn age::Recipient {
        match self {
            Recipient::X25519(r) => r,
            Recipient::Ssh(r) => r,
        }
    }

    /// The stanza type a file encrypted to it holds.
    pub fn stanza(&self) -> &'static str {
        match self {
            Recipient::X25519(_) => "X25519",
            Recipient::Ssh(age::ssh::Recipient::SshEd25519(..)) => "ssh-ed25519",
            Recipient::Ssh(age::ssh::Recipient::SshRsa(..)) => "ssh-rsa",
        }
    }
}

/// `age1yubikey1…` → `yubikey`.
fn plugin_of_recipient(text: &str) -> Option<String> {
    let rest = text.strip_prefix("age1")?;
    let (name, _) = rest.rsplit_once('1')?;
    (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .then(|| name.to_string())
}

/// Parses recipients-file text; an error names the line (never its text,
/// which might be a pasted secret key).
pub fn parse_list(text: &str, source: &str) -> Result<Vec<Recipient>, FileError> {
    let mut list: Vec<Recipient> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let r = Recipient::parse(line).map_err(|why| FileError::BadRecipient {
            source_name: format!("{source}, line {}", i + 1),
            why,
        })?;
        if !list.contains(&r) {
            list.push(r);
        }
    }
    Ok(list)
}

/// `recipients.txt`, `None` when it is not there.
pub fn load(store: &Path) -> Result<Option<Vec<Recipient>>, FileError> {
    let p = path(store);
    let Some(bytes) = checked::read(&p, checked::SMALL_CAP)? else {
        return Ok(None);
    };
    let text = String::from_utf8(bytes).map_err(|_| FileError::BadRecipient {
        source_name: p.display().to_string(),
        why: "it is not UTF-8 text".into(),
    })?;
    parse_list(&text, &p.display().to_string()).map(Some)
}

/// Writes `recipients.txt` atomically (0600).
pub fn save(store: &Path, list: &[Recipient]) -> Result<(), FileError> {
    let mut text = String::from(HEADER);
    for r in list {
        text.push_str(&r.to_string());
        text.push('\n');
    }
    super::write_private(&path(store), text.as_bytes())
}

/// What the header of `secrets.age` shows.
#[derive(Debug, Default, Clone)]
pub struct Header {
    pub armored: bool,
    /// Stanza type → how many, grease left out.
    pub stanzas: BTreeMap<String, usize>,
}

impl Header {
    pub fn total(&self) -> usize {
        self.stanzas.values().sum()
    }

    /// "2 (X25519 ×2)".
    pub fn describe(&self) -> String {
        let parts: Vec<String> = self
            .stanzas
            .iter()
            .map(|(t, n)| {
                if *n == 1 {
                    crate::escape::visible(t).into_owned()
                } else {
                    format!("{} ×{n}", crate::escape::visible(t))
                }
            })
            .collect();
        format!("{} ({})", self.total(), parts.join(", "))
    }

    /// The stanzas `list` does not account for: type and how many more.
    pub fn unaccounted(&self, list: &[Recipient]) -> Vec<(String, usize)> {
        let mut named: BTreeMap<&str, usize> = BTreeMap::new();
        for r in list {
            *named.entry(r.stanza()).or_default() += 1;
        }
        self.stanzas
            .iter()
            .filter_map(|(t, n)| {
                let have = named.get(t.as_str()).copied().unwrap_or(0);
                (*n > have).then(|| (t.clone(), n - have))
            })
            .collect()
    }
}

/// Reads the header of the store (armored or not): its stanza types.
/// `None` when there is no store.
pub fn header(store: &Path) -> Result<Option<Header>, FileError> {
    let Some((mut file, _)) = checked::open(store, checked::STORE_CAP)? else {
        return Ok(None);
    };
    let corrupt = |detail: &str| FileError::Corrupt {
        path: store.to_path_buf(),
        detail: detail.to_string(),
    };
    let mut start = [0u8; 64];
    let n = read_up_to(&mut file, &mut start).map_err(|e| FileError::io("read", store, e))?;
    let armored = String::from_utf8_lossy(&start[..n])
        .trim_start()
        .starts_with("-----BEGIN AGE ENCRYPTED FILE-----");
    use std::io::Seek;
    file.rewind().map_err(|e| FileError::io("read", store, e))?;
    // The header is text; a megabyte is far more than any real one.
    let reader = ArmoredReader::new(file.take(checked::STORE_CAP)).take(1 << 20);
    let mut lines = BufReader::new(reader);
    let mut line = Vec::new();
    let mut first = true;
    let mut stanzas: BTreeMap<String, usize> = BTreeMap::new();
    loop {
        line.clear();
        let n = lines
            .read_until(b'\n', &mut line)
            .map_err(|e| corrupt(&e.to_string()))?;
        if n == 0 {
            return Err(corrupt("the age header ends before its MAC line"));
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches('\n');
        if first {
            if text != "age-encryption.org/v1" {
                return Err(corrupt("it is not an age file (version line missing)"));
            }
            first = false;
            continue;
        }
        if text.starts_with("---") {
            break;
        }
        if let Some(rest) = text.strip_prefix("-> ") {
            let tag = rest.split(' ').next().unwrap_or("").to_string();
            if !tag.ends_with("-grease") {
                *stanzas.entry(tag).or_default() += 1;
            }
        }
    }
    Ok(Some(Header { armored, stanzas }))
}

fn read_up_to(file: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_age_and_ssh_recipients_and_refuses_plugins_and_secrets() {
        let id = x25519::Identity::generate();
        let text = format!(
            "# a comment\n\n{}\nssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIjmr4x7UHfLp2p6AbVkKfxSsfsKEM13q0lqb/TsPB65 me@host\n",
            id.to_public()
        );
        let list = parse_list(&text, "t").unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].stanza(), "X25519");
        assert_eq!(list[1].stanza(), "ssh-ed25519");
        assert!(!list[1].to_string().contains("me@host"));
        let err = Recipient::parse("age1yubikey1qwertyuiop").unwrap_err();
        assert!(err.contains("age-plugin-yubikey"), "{err}");
        let secret = id.to_string();
        let Err(err) = parse_list(secrecy::ExposeSecret::expose_secret(&secret), "t") else {
            panic!("a secret key parsed as a recipient")
        };
        assert!(!format!("{err:?}").contains("AGE-SECRET-KEY"), "{err:?}");
    }
}
