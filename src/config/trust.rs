//! ssh's StrictModes, for every file cred trusts: the config (SPEC §5) and
//! the file store's `secrets.age`, `identity.age`, identity file and
//! `recipients.txt` (SPEC §7 "Hostile input"). A file and each directory
//! above it, up to the user's home (or `/` for a file outside it), must be
//! owned by the user or root and not writable by group or others: anyone
//! who can write there can swap what cred reads. A sticky directory that
//! others may write (`/tmp`) is allowed only above a file that is the
//! user's own and that nobody else can write, as the sticky bit keeps others
//! from renaming or removing it.
//!
//! Missing paths are fine: cred creates them private.

use std::path::{Path, PathBuf};

/// Why a path is not to be trusted (found by the Unix checks only: on
/// other systems nothing is refused).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(not(unix), allow(dead_code))]
pub enum Problem {
    /// Owned by another user (not root either).
    Owner { uid: u32 },
    /// Group or others may write it (`mode` with the type bits removed).
    Writable { mode: u32 },
}

/// A refusal: the path, why, and the command that fixes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Distrust {
    pub path: PathBuf,
    pub is_dir: bool,
    pub problem: Problem,
}

impl Distrust {
    /// "the directory can be written by group or others (mode 777)".
    pub fn why(&self) -> String {
        let what = if self.is_dir { "directory" } else { "file" };
        match self.problem {
            Problem::Owner { uid } => format!("the {what} belongs to another user (uid {uid})"),
            Problem::Writable { mode } => {
                format!("the {what} can be written by group or others (mode {mode:o})")
            }
        }
    }

    /// The `chown` or `chmod` that fixes it.
    pub fn fix(&self) -> String {
        let shown = self.path.display();
        match self.problem {
            Problem::Owner { .. } => format!("sudo chown \"$(id -u)\" '{shown}'"),
            Problem::Writable { .. } => format!("chmod go-w '{shown}'"),
        }
    }
}

/// One path, as ssh checks it: the user's or root's, and nobody else may
/// write it. A missing path is fine.
pub fn check_path(path: &Path) -> Result<(), Distrust> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let Ok(meta) = std::fs::metadata(path) else {
            return Ok(());
        };
        if let Some(problem) = problem(meta.uid(), meta.mode()) {
            return Err(Distrust {
                path: path.to_path_buf(),
                is_dir: meta.is_dir(),
                problem,
            });
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(unix)]
fn problem(uid: u32, mode: u32) -> Option<Problem> {
    let me = rustix::process::geteuid().as_raw();
    if uid != me && uid != 0 {
        return Some(Problem::Owner { uid });
    }
    if mode & 0o022 != 0 {
        return Some(Problem::Writable {
            mode: mode & 0o7777,
        });
    }
    None
}

/// A file and every directory above it up to the user's home (`HOME`),
/// or up to `/` when the file is not under it; symlinks resolved, as ssh
/// resolves them. A sticky directory others may write is allowed only
/// where the file is the user's own and others cannot write it.
pub fn check_chain(file: &Path) -> Result<(), Distrust> {
    check_path(file)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let home = std::env::var_os("HOME")
            .filter(|h| !h.is_empty())
            .and_then(|h| std::fs::canonicalize(h).ok());
        let me = rustix::process::geteuid().as_raw();
        // The file is its owner's alone: a sticky directory keeps others
        // from replacing it.
        let file_is_mine = match std::fs::metadata(file) {
            Ok(m) => m.uid() == me && m.mode() & 0o022 == 0,
            // Not there yet: cred creates it, private.
            Err(_) => true,
        };
        let mut dirs = Vec::new();
        if let Some(parent) = file.parent().and_then(nearest_existing) {
            dirs.push(parent);
        }
        // A symlinked file: the directories of its target too.
        if std::fs::symlink_metadata(file).is_ok_and(|m| m.file_type().is_symlink())
            && let Some(parent) = std::fs::canonicalize(file)
                .ok()
                .and_then(|t| t.parent().map(Path::to_path_buf))
        {
            dirs.push(parent);
        }
        for start in dirs {
            for dir in start.ancestors() {
                let Ok(meta) = std::fs::metadata(dir) else {
                    continue;
                };
                match problem(meta.uid(), meta.mode()) {
                    Some(Problem::Writable { .. }) if meta.mode() & 0o1000 != 0 && file_is_mine => {
                    }
                    Some(problem) => {
                        return Err(Distrust {
                            path: dir.to_path_buf(),
                            is_dir: true,
                            problem,
                        });
                    }
                    None => {}
                }
                if home.as_deref() == Some(dir) {
                    break;
                }
            }
        }
    }
    Ok(())
}

/// The canonical form of `dir`, or of its nearest ancestor that exists.
#[cfg(unix)]
fn nearest_existing(dir: &Path) -> Option<PathBuf> {
    let dir = std::path::absolute(dir).ok()?;
    dir.ancestors().find_map(|d| std::fs::canonicalize(d).ok())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn chmod(p: &Path, mode: u32) {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn a_writable_directory_is_refused_and_a_sticky_one_is_not() {
        let top = tempfile::tempdir().unwrap();
        let dir = top.path().join("store");
        std::fs::create_dir(&dir).unwrap();
        chmod(&dir, 0o700);
        let file = dir.join("secrets.age");
        std::fs::write(&file, b"x").unwrap();
        chmod(&file, 0o600);
        assert_eq!(check_chain(&file), Ok(()));
        chmod(&dir, 0o777);
        let err = check_chain(&file).unwrap_err();
        assert_eq!(err.path, std::fs::canonicalize(&dir).unwrap());
        assert!(err.fix().starts_with("chmod go-w"), "{err:?}");
        // Sticky, like /tmp: fine while the file is the user's alone.
        chmod(&dir, 0o1777);
        assert_eq!(check_chain(&file), Ok(()));
        chmod(&file, 0o666);
        let err = check_chain(&file).unwrap_err();
        assert_eq!(err.path, file);
        chmod(&file, 0o600);
    }
}
