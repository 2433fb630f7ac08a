//! `cred exec` on a terminal: the child gets a pseudo-terminal of its own,
//! so `isatty()` is true for it, colours and progress bars work and the
//! window size follows ours (also on resize), while everything it prints
//! passes through the scrubber. Our terminal goes into raw mode so that
//! every key (Ctrl-C included) reaches the child as at a shell; it is put
//! back however the child ends. Ctrl-Z suspends the child and cred as a
//! shell's job, and `fg` resumes both ([`Job`]).

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use rustix::fs::{Mode, OFlags};
use rustix::process::{Signal, kill_process_group};
use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
use rustix::termios::{
    LocalModes, OptionalActions, SpecialCodeIndex, Termios, tcgetattr, tcgetpgrp, tcgetwinsize,
    tcsetattr, tcsetwinsize,
};

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
    let job = Arc::new(Job {
        // The child leads its own session, so its group has its pid.
        group: rustix::process::Pid::from_raw(i32::try_from(child.id()).unwrap_or(0)),
        master: master.try_clone().map_err(io_err)?,
        keys_are_typed: raw.is_some(),
        saved: Mutex::new(raw),
        ended: AtomicBool::new(false),
    });
    suspend_on_sigtstp(&job);

    let reader = File::from(master.try_clone().map_err(io_err)?);
    let writer = File::from(master);
    // Keys go to the child; the thread ends with the process.
    let keys = Arc::clone(&job);
    std::thread::spawn(move || keys.pass_keys(writer));
    // Until the child and everything it started close the terminal (EIO).
    pump(reader, LineOut(io::stdout()), mask);
    let status = child
        .wait()
        .map_err(|e| Error::user("could not wait for the program").with_source(e));
    crate::signals::stop_forwarding();
    job.end(&stdin);
    status
}

/// Job control for the child. Its group is alone in a session of its own
/// (orphaned), where the kernel drops the stop signals a terminal sends, so
/// cred does what the terminal would: when a key the child's terminal
/// reads as suspend (Ctrl-Z) is typed, or cred gets SIGTSTP, the child's
/// group is stopped, our terminal put back and cred stopped, for the shell
/// to report; on `fg` our terminal goes raw again and the child continues.
struct Job {
    group: Option<rustix::process::Pid>,
    /// The child's terminal: its settings say which key suspends.
    master: OwnedFd,
    /// stdin is a terminal, so bytes read from it were typed.
    keys_are_typed: bool,
    /// Our terminal's settings to put back; the lock is held while
    /// suspending, so that one suspend runs at a time.
    saved: Mutex<Option<Termios>>,
    /// The child has ended and our terminal is back for good.
    ended: AtomicBool,
}

impl Job {
    /// Copies keys to the child's terminal, suspending at the suspend key
    /// when the child's terminal would (ISIG set).
    fn pass_keys(&self, mut to: File) {
        let mut input = io::stdin();
        let mut buf = [0u8; 4096];
        loop {
            let n = match input.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            };
            let mut rest = &buf[..n];
            while !rest.is_empty() {
                let at = self
                    .suspend_key()
                    .and_then(|key| rest.iter().position(|&b| b == key));
                let Some(at) = at else {
                    if to.write_all(rest).is_err() {
                        return;
                    }
                    break;
                };
                if self.child_would_stop() {
                    if to.write_all(&rest[..at]).is_err() {
                        return;
                    }
                    self.suspend();
                } else if to.write_all(&rest[..=at]).is_err() {
                    return;
                }
                rest = &rest[at + 1..];
            }
        }
    }

    /// The key the child's terminal turns into SIGTSTP now, if any.
    fn suspend_key(&self) -> Option<u8> {
        if !self.keys_are_typed {
            return None;
        }
        let t = tcgetattr(&self.master).ok()?;
        let key = t.special_codes[SpecialCodeIndex::VSUSP];
        (t.local_modes.contains(LocalModes::ISIG) && key != 0).then_some(key)
    }

    /// Whether the suspend key would stop the child in a plain run but
    /// does not here. Not when the foreground of its terminal is another
    /// group (a job of a shell run under cred, whose own job control gets
    /// the key), nor when the child ignores SIGTSTP (a shell at its
    /// prompt), where the key does nothing, as in a plain run.
    fn child_would_stop(&self) -> bool {
        let Some(group) = self.group else {
            return false;
        };
        if tcgetpgrp(&self.master).is_ok_and(|fg| fg != group) {
            return false;
        }
        !ignores_sigtstp(group)
    }

    /// Stops the child and cred (our terminal put back meanwhile); returns
    /// once cred is continued, with our terminal raw again and the child
    /// continued.
    fn suspend(&self) {
        let mut saved = self.saved.lock().unwrap_or_else(|e| e.into_inner());
        if self.ended.load(Ordering::SeqCst) {
            // The child is gone: SIGTSTP's usual effect.
            drop(saved);
            crate::signals::stop_self();
            return;
        }
        if let Some(group) = self.group {
            let _ = kill_process_group(group, Signal::STOP);
        }
        let stdin = io::stdin();
        restore(&stdin, saved.clone());
        crate::signals::stop_self();
        // Continued (`fg`): what the shell gave us is what to put back at
        // the end; the window may have changed meanwhile.
        if saved.is_some() {
            *saved = stdin_raw(&stdin);
        }
        if let Ok(size) = tcgetwinsize(io::stdout()) {
            let _ = tcsetwinsize(&self.master, size);
        }
        if let Some(group) = self.group {
            let _ = kill_process_group(group, Signal::CONT);
        }
    }

    /// The child has ended: our terminal back for good.
    fn end(&self, stdin: &io::Stdin) {
        let saved = self.saved.lock().unwrap_or_else(|e| e.into_inner());
        self.ended.store(true, Ordering::SeqCst);
        restore(stdin, saved.clone());
    }
}

/// Whether process `pid` ignores SIGTSTP (its `SigIgn` mask in /proc).
fn ignores_sigtstp(pid: rustix::process::Pid) -> bool {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{}/status", pid.as_raw_nonzero()))
    else {
        return false;
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigIgn:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << (signal_hook::consts::SIGTSTP - 1)) != 0)
}

/// SIGTSTP sent to cred (`kill -TSTP`, or a terminal not in raw mode)
/// suspends as the suspend key does.
fn suspend_on_sigtstp(job: &Arc<Job>) {
    let Ok(mut signals) = signal_hook::iterator::Signals::new([signal_hook::consts::SIGTSTP])
    else {
        return;
    };
    let job = Arc::clone(job);
    let _ = std::thread::Builder::new()
        .name("tstp".into())
        .spawn(move || {
            for _ in signals.forever() {
                job.suspend();
            }
        });
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
fn stdin_raw(stdin: &io::Stdin) -> Option<Termios> {
    let saved = tcgetattr(stdin).ok()?;
    let mut raw = saved.clone();
    raw.make_raw();
    let _ = tcsetattr(stdin, OptionalActions::Now, &raw);
    Some(saved)
}

fn restore(stdin: &io::Stdin, saved: Option<Termios>) {
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
