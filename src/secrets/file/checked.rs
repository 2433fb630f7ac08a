//! Every file the store reads is cred's, and bounded (SPEC §7 "Hostile
//! input"): `secrets.age`, `identity.age`, the identity file and
//! `recipients.txt`, and their directories, pass ssh's StrictModes
//! ([`crate::config::trust`]); each is opened without blocking (a FIFO
//! with no writer does not hang), must then be a regular file (`fstat`:
//! no `/dev/zero`), and is read only up to its cap, so a hostile file
//! costs neither time nor memory.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use super::FileError;
use crate::config::trust;

/// The most a store file may hold: 64 MiB, an order of magnitude above
/// 100,000 credentials.
pub const STORE_CAP: u64 = 64 << 20;
/// The most an identity or recipients file may hold (age's own limit for
/// identity files is 16 MiB; real ones are a few hundred bytes).
pub const SMALL_CAP: u64 = 1 << 20;

/// The file and its directories pass ssh's StrictModes.
pub fn trusted(path: &Path) -> Result<(), FileError> {
    trust::check_chain(path).map_err(FileError::from)
}

impl From<trust::Distrust> for FileError {
    fn from(d: trust::Distrust) -> Self {
        FileError::Untrusted {
            why: d.why(),
            fix: d.fix(),
            path: d.path,
        }
    }
}

/// Opens `path` for reading when it is a regular file of at most `cap`
/// bytes and trusted; `None` when it is not there (its directories are
/// checked all the same). Returns the file and its size.
pub fn open(path: &Path, cap: u64) -> Result<Option<(File, u64)>, FileError> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // A FIFO opens at once instead of waiting for a writer; a device
        // is refused below before a byte is read.
        options.custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32);
    }
    let file = match options.open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            trusted(path)?;
            return Ok(None);
        }
        Err(e) => return Err(FileError::io("read", path, e)),
    };
    let meta = file
        .metadata()
        .map_err(|e| FileError::io("read", path, e))?;
    if !meta.is_file() {
        return Err(FileError::NotRegular {
            path: path.to_path_buf(),
            kind: kind_of(&meta),
        });
    }
    if meta.len() > cap {
        return Err(FileError::TooLarge {
            path: path.to_path_buf(),
            size: meta.len(),
            cap,
        });
    }
    // What it is first (the clearer refusal for `/dev/zero`), then whose.
    trusted(path)?;
    #[cfg(unix)]
    {
        // Back to blocking reads: a regular file never blocks anyway.
        use std::os::fd::AsFd;
        let flags = rustix::fs::fcntl_getfl(file.as_fd())
            .map_err(|e| FileError::io("read", path, e.into()))?;
        rustix::fs::fcntl_setfl(file.as_fd(), flags - rustix::fs::OFlags::NONBLOCK)
            .map_err(|e| FileError::io("read", path, e.into()))?;
    }
    Ok(Some((file, meta.len())))
}

/// The whole of a small file (at most `cap`), `None` when not there.
pub fn read(path: &Path, cap: u64) -> Result<Option<Vec<u8>>, FileError> {
    let Some((file, len)) = open(path, cap)? else {
        return Ok(None);
    };
    let mut bytes = Vec::with_capacity(len as usize);
    // It may have grown since `fstat`: never past the cap.
    file.take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| FileError::io("read", path, e))?;
    if bytes.len() as u64 > cap {
        return Err(FileError::TooLarge {
            path: path.to_path_buf(),
            size: bytes.len() as u64,
            cap,
        });
    }
    Ok(Some(bytes))
}

fn kind_of(meta: &std::fs::Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_char_device() {
            return "a character device";
        }
        if t.is_block_device() {
            return "a block device";
        }
        if t.is_socket() {
            return "a socket";
        }
    }
    "not a regular file"
}
