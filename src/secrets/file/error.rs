//! Why the file store could not be opened, read or written: all exit 7
//! (the store is unavailable or locked), each with what to do.

use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::secrets::{Failure, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("cannot find where to keep the file store: neither HOME nor XDG_DATA_HOME is set")]
    NoPath,
    /// Nothing at hand opens the store: each source tried, and why not.
    #[error("nothing can open the file store {}", path.display())]
    NoSource {
        path: PathBuf,
        tried: Vec<String>,
        /// A store exists but `identity.age` does not.
        no_identity_file: bool,
    },
    #[error("wrong passphrase: it does not open {}", path.display())]
    WrongPassphrase { path: PathBuf },
    #[error("the identity does not open the file store {}", path.display())]
    WrongIdentity { path: PathBuf },
    #[error("{} can be read by group or others (mode {mode:03o}); refusing to use it", path.display())]
    #[cfg_attr(not(unix), allow(dead_code))] // modes are Unix's
    Exposed { path: PathBuf, mode: u32 },
    #[error("{source_name} holds no usable age identity")]
    BadIdentity { source_name: String, detail: String },
    #[error("the file store {} cannot be read", path.display())]
    Corrupt { path: PathBuf, detail: String },
    #[error("could not {action} {}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        detail: String,
    },
    #[error("the kernel keyring refused to keep the unlock")]
    KernelKeyring { detail: String },
    #[error("there is no {} to unlock", path.display())]
    NothingToUnlock { path: PathBuf },
    /// The passphrase prompt ended without an answer (Ctrl-C, no
    /// terminal): that error, as it is.
    #[error("no passphrase was given")]
    Prompt(Box<Error>),
    #[error("`{value}` is not a duration for {what}")]
    BadTtl { what: String, value: String },
    /// Owner or mode lets someone else change what cred reads (ssh's
    /// StrictModes).
    #[error("refusing to use {}: {why}", path.display())]
    Untrusted {
        path: PathBuf,
        why: String,
        fix: String,
    },
    #[error("refusing to read {}: it is {kind}, not a regular file", path.display())]
    NotRegular { path: PathBuf, kind: &'static str },
    #[error("refusing to read {}: it is too large ({size} bytes; the limit is {} MiB)", path.display(), cap >> 20)]
    TooLarge { path: PathBuf, size: u64, cap: u64 },
    #[error(
        "{source_name} line {line} is an identity of the age plugin age-plugin-{plugin}, which cred does not run"
    )]
    PluginIdentity {
        source_name: String,
        line: usize,
        plugin: String,
    },
    #[error("{source_name} is an SSH key protected by a passphrase")]
    SshEncrypted { source_name: String },
    #[error("{source_name} is not a recipient cred can encrypt to")]
    BadRecipient { source_name: String, why: String },
    /// The store is encrypted to someone `recipients.txt` does not name
    /// (`age -r` by hand): writing would drop them.
    #[error("refusing to write {}: it is encrypted to {encrypted_to} recipient(s), more than the {listed} cred knows", path.display())]
    UnknownRecipients {
        path: PathBuf,
        encrypted_to: String,
        listed: usize,
        missing: String,
        list_exists: bool,
    },
    #[error("refusing to encrypt the store so that no identity at hand opens it")]
    NoRecipientAtHand { path: PathBuf },
}

impl FileError {
    pub fn io(action: &'static str, path: &Path, e: std::io::Error) -> Self {
        FileError::Io {
            action,
            path: path.to_path_buf(),
            detail: e.to_string(),
        }
    }
}

impl FileError {
    /// What kind of failure this is, whatever the store.
    pub fn failure(&self) -> Failure {
        match self {
            FileError::NoSource { .. }
            | FileError::WrongPassphrase { .. }
            | FileError::WrongIdentity { .. } => Failure::Locked,
            FileError::NoPath
            | FileError::Exposed { .. }
            | FileError::BadIdentity { .. }
            | FileError::NothingToUnlock { .. } => Failure::Misconfigured,
            FileError::Corrupt { .. } => Failure::Unreadable,
            FileError::Io { .. } | FileError::KernelKeyring { .. } => Failure::Unreachable,
            FileError::Prompt(_) => Failure::Cancelled,
            FileError::BadTtl { .. } => Failure::Invalid,
            FileError::PluginIdentity { .. } | FileError::SshEncrypted { .. } => {
                Failure::Misconfigured
            }
            // Refused files and recipients the user must fix: exit 1.
            FileError::Untrusted { .. }
            | FileError::NotRegular { .. }
            | FileError::TooLarge { .. }
            | FileError::BadRecipient { .. }
            | FileError::UnknownRecipients { .. }
            | FileError::NoRecipientAtHand { .. } => Failure::Invalid,
        }
    }
}

impl From<FileError> for StoreError {
    fn from(e: FileError) -> StoreError {
        StoreError::new(e.failure(), Error::from(e))
    }
}

impl From<FileError> for Error {
    fn from(e: FileError) -> Error {
        if let FileError::Prompt(err) = e {
            return *err;
        }
        let message = e.to_string();
        let err = Error::store(message.clone());
        match e {
            FileError::NoPath => {
                err.hint("set CRED_FILE_STORE to the file to use, e.g. CRED_FILE_STORE=~/.cred/secrets.age")
            }
            FileError::NoSource {
                tried,
                no_identity_file,
                ..
            } => {
                let mut err = err;
                for t in tried {
                    err = err.cause(format!("tried {t}"));
                }
                let hint = if no_identity_file {
                    "set CRED_IDENTITY_FILE to the age identity the store was encrypted to (or CRED_IDENTITY to its text)"
                } else {
                    "on a terminal run `cred unlock` (scripts: `cred unlock --passphrase-stdin`) and run the command again within CRED_UNLOCK_TTL; with no person at hand set CRED_IDENTITY_FILE to an age identity file (or CRED_IDENTITY to its text)"
                };
                err.hint(hint)
            }
            FileError::WrongPassphrase { .. } => err
                .cause("nothing was written")
                .hint("type the passphrase you chose when the file store was made; `age -d -i identity.age` takes the same one"),
            FileError::WrongIdentity { .. } => err
                .cause("the store is encrypted to another age recipient; nothing was written")
                .hint("use the identity the store was made with (CRED_IDENTITY_FILE, CRED_IDENTITY, or the passphrase of identity.age); `cred lock` forgets a stale unlock"),
            FileError::Exposed { path, .. } => err
                .cause("an age identity opens every secret in the store")
                .hint(format!("chmod 600 {}", path.display())),
            FileError::BadIdentity { detail, .. } => err
                .cause(detail)
                .hint("give an identity made by `age-keygen` (lines starting AGE-SECRET-KEY-1) or an unencrypted ssh-ed25519 / ssh-rsa private key"),
            FileError::PluginIdentity { .. } => err
                .cause("age plugins (hardware keys and others) are separate programs; cred runs none")
                .hint("give an identity made by `age-keygen`, and add its recipient with `cred recipients add` while the plugin identity can still open the store (`age -d`)"),
            FileError::SshEncrypted { .. } => err
                .cause("cred does not ask for SSH key passphrases")
                .hint("use an age identity (`age-keygen -o FILE`, then `cred recipients add` its recipient), or an unencrypted copy of the key (`ssh-keygen -p -N '' -f COPY`) kept private"),
            FileError::Corrupt { detail, .. } => err
                .cause(detail)
                .hint("restore the file from a backup, or look at it with `age -d -i IDENTITY FILE`"),
            FileError::Io { detail, .. } => err
                .cause(detail)
                .hint("check the file's directory and permissions, or point CRED_FILE_STORE elsewhere"),
            FileError::KernelKeyring { detail } => err
                .cause(detail)
                .hint("here cred asks for the passphrase on each command; scripts can set CRED_IDENTITY_FILE instead"),
            FileError::NothingToUnlock { .. } => err
                .cause("the passphrase-protected identity is made by the first `cred add --store file` on a terminal")
                .hint("run `cred add PROVIDER --store file` on a terminal first"),
            FileError::Prompt(_) => err,
            // The user's files, not the store's availability: exit 1.
            FileError::Untrusted { fix, .. } => Error::user(message)
                .cause("another user could plant entries encrypted to your recipient and swap a key under you")
                .hint(fix),
            FileError::NotRegular { .. } => Error::user(message)
                .hint("point CRED_FILE_STORE (or CRED_IDENTITY_FILE) at the file itself: cred reads only regular files"),
            FileError::TooLarge { .. } => Error::user(message)
                .cause("a real store of 100,000 credentials is a few MiB")
                .hint("point CRED_FILE_STORE (or CRED_IDENTITY_FILE) at the right file, or restore it from a backup"),
            FileError::BadRecipient { why, .. } => Error::user(message)
                .cause(why)
                .hint("a recipient is an age public key (age1…, `age-keygen -y IDENTITY` prints it) or an ssh-ed25519 / ssh-rsa public key"),
            FileError::UnknownRecipients {
                missing,
                list_exists,
                path,
                ..
            } => {
                let list = super::recipients::path(&path);
                let err = Error::user(message).cause(format!(
                    "not named in {}: {missing}; cred will not drop a recipient by rewriting the file",
                    list.display()
                ));
                let err = if list_exists {
                    err
                } else {
                    err.cause(format!(
                        "{} is not there yet: cred counts only the identity that opened the store",
                        list.display()
                    ))
                };
                err.hint("on the machine that holds the missing identity, `age-keygen -y IDENTITY` prints its recipient (an SSH key's is its .pub line); add it with `cred recipients add RECIPIENT`, then run the command again; `cred recipients list` shows what is named")
            }
            FileError::NoRecipientAtHand { path } => Error::user(message)
                .cause(format!(
                    "none of the recipients in {} belongs to an identity cred has now: it could not open the store again",
                    path.display()
                ))
                .hint("keep (or add) the recipient of the identity you use: `cred recipients add RECIPIENT`"),
            // A typo in a setting, not a store failure: exit 1.
            FileError::BadTtl { what, .. } => Error::user(message).hint(format!(
                "give {what} as a duration such as 15m, 1h or 30s, or 0 to keep nothing"
            )),
        }
    }
}
