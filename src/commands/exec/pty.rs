//! `cred exec` on a terminal: the child gets a pseudo-terminal of its own,
//! so `isatty()` is true for it, colours and progress bars work and the
//! window size follows ours (also on resize), while everything it prints
//! passes through the scrubber. Our terminal goes into raw mode so that
//! every key (Ctrl-C included) reaches the child as at a shell; it is put
//! back however the child ends.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus, Stdio};

use rustix::fs::{Mode, OFlags};
use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
use rustix::termios::{OptionalActions, tcgetattr, tcgetwinsize, tcsetattr, tcsetwinsize};

use super::{ExecArgs, pump, spawn};
use crate::error::{Error, Result};
use crate::scrub::Secrets;
use crate::signals::TerminalGuard;

pub fn run(mut cmd: Command, args: &ExecArgs, mask: &Secrets) -> Result<ExitStatus> {
    let (master, slave) = open_pty().map_err(|e| {
        Error::user("could not open a pseudo-terminal for the program").with_source(e)
    })?;
    let stdin = io::stdin();
    let stdout = io::stdout();
    // The child starts with our terminal's settings and size.
    if let Ok(t) = tcgetattr(&stdin).or_else(|_| tcgetattr(&stdout)) {
        let _ = tcsetattr(&slave, OptionalActions::Now, &t);
    }
    if let Ok(size) = tcgetwinsize(&stdout) {
        let _ = tcsetwinsize(&slave, size);
    }
    let io_err = |e: io::Error| Error::user("could not set up the pseudo-terminal").with_source(e);
    cmd.stdin(Stdio::from(slave.try_clone().map_err(io_err)?))
        .stdout(Stdio::from(slave.try_clone().map_err(io_err)?))
        .stderr(Stdio::from(slave.try_clone().map_err(io_err)?));
    // SAFETY: only async-signal-safe calls (setsid, ioctl) between fork and
    // exec; fd 0 is the pty's slave by then.
    unsafe {
        cmd.pre_exec(|| {
            rustix::process::setsid()?;
            rustix::process::ioctl_tiocsctty(io::stdin())?;
            Ok(())
        });
    }
    // Raw mode for our terminal while the child runs; the guard (and the
    // signal thread) put it back.
    let _guard = TerminalGuard::new();
    let raw = stdin_raw(&stdin);
    let mut child = match spawn(&mut cmd, args) {
        Ok(c) => c,
        Err(e) => {
            restore(&stdin, raw);
            return Err(e);
        }
    };
    // The child holds the terminal now: our copies of its end must go, or
    // the end of its output would never be seen.
    drop(cmd);
    drop(slave);
    crate::signals::forward_to(child.id());
    follow_window_size(&master);

    let reader = File::from(master.try_clone().map_err(io_err)?);
    let mut writer = File::from(master);
    // Keys go to the child; the thread ends with the process.
    std::thread::spawn(move || {
        let mut input = io::stdin();
        let _ = io::copy(&mut input, &mut writer);
    });
    // Until the child and everything it started close the terminal (EIO).
    pump(reader, LineOut(io::stdout()), mask);
    let status = child
        .wait()
        .map_err(|e| Error::user("could not wait for the program").with_source(e));
    crate::signals::stop_forwarding();
    restore(&stdin, raw);
    status
}

/// stdout, flushed after every write.
struct LineOut(io::Stdout);

impl Write for LineOut {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut out = self.0.lock();
        out.write_all(buf)?;
        out.flush()?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

fn open_pty() -> io::Result<(OwnedFd, OwnedFd)> {
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)?;
    grantpt(&master)?;
    unlockpt(&master)?;
    let name = ptsname(&master, Vec::new())?;
    let slave = rustix::fs::open(
        name.as_c_str(),
        OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    Ok((master, slave))
}

/// Puts our terminal (when stdin is one) into raw mode; returns the
/// settings to restore.
fn stdin_raw(stdin: &io::Stdin) -> Option<rustix::termios::Termios> {
    let saved = tcgetattr(stdin).ok()?;
    let mut raw = saved.clone();
    raw.make_raw();
    let _ = tcsetattr(stdin, OptionalActions::Now, &raw);
    Some(saved)
}

fn restore(stdin: &io::Stdin, saved: Option<rustix::termios::Termios>) {
    if let Some(t) = saved {
        let _ = tcsetattr(stdin, OptionalActions::Now, &t);
    }
}

/// Copies our window size to the child's terminal on every SIGWINCH.
fn follow_window_size(master: &impl AsFd) {
    let Ok(master) = master.as_fd().try_clone_to_owned() else {
        return;
    };
    let Ok(mut signals) = signal_hook::iterator::Signals::new([signal_hook::consts::SIGWINCH])
    else {
        return;
    };
    let _ = std::thread::Builder::new()
        .name("winch".into())
        .spawn(move || {
            for _ in signals.forever() {
                if let Ok(size) = tcgetwinsize(io::stdout()) {
                    let _ = tcsetwinsize(&master, size);
                }
            }
        });
}
