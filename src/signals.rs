//! Panics, signals and the terminal.
//!
//! - [`install`] (called first thing in `main`) sets a panic hook that
//!   prints one `cred: error: internal error …` line and a hint, never a
//!   backtrace; `main` turns the unwound panic into exit 1.
//! - [`TerminalGuard`]: held while a prompt or a spinner owns the terminal.
//!   If Ctrl-C (SIGINT), SIGTERM or SIGHUP arrives meanwhile, the terminal
//!   settings saved when the first guard was taken (echo, canonical mode)
//!   are put back, the cursor is shown again, "cancelled: nothing stored"
//!   is printed and cred exits 130. Without a guard those signals keep
//!   their default action.
//! - [`forward_to`]: while `cred exec` runs a child, those signals and
//!   SIGQUIT are passed on to it instead (not those the terminal sent to
//!   a child in cred's own process group, which has them already), and
//!   cred waits for it to end. Without a child, SIGQUIT keeps its usual
//!   effect (after the terminal is put back when a guard is live).
//! - [`stop_self`]: job control for `cred exec` on a terminal, which stops
//!   itself once its child is stopped and its terminal put back.
//! - [`on_stop`]: a long-running command (`cred proxy`) stops cleanly on
//!   the first of those signals; a second one ends the process at once
//!   (exit 130).

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Mutex, Once};

/// What cred prints when a person cancels at a prompt or spinner.
pub const CANCELLED: &str = "cancelled: nothing stored";

/// Whether [`say_cancelled`] has spoken: a Ctrl-C at a prompt can reach
/// cred twice (the prompt reads the key and the terminal also sends
/// SIGINT), and the line is said once.
static CANCEL_SAID: AtomicBool = AtomicBool::new(false);

/// Prints "cancelled: nothing stored" on stderr, once per process.
pub fn say_cancelled() {
    if !CANCEL_SAID.swap(true, Ordering::SeqCst) {
        let _ = writeln!(std::io::stderr().lock(), "\n{CANCELLED}");
    }
}

/// Sets the panic hook, and keeps keys out of core dumps: on Linux the
/// process is made non-dumpable (no core file, no ptrace by other
/// processes of the user) and its core size limit 0. Call once, first.
pub fn install() {
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{
            DumpableBehavior, Resource, Rlimit, set_dumpable_behavior, setrlimit,
        };
        let _ = setrlimit(
            Resource::Core,
            Rlimit {
                current: Some(0),
                maximum: Some(0),
            },
        );
        let _ = set_dumpable_behavior(DumpableBehavior::NotDumpable);
    }
    static PANICKED: AtomicBool = AtomicBool::new(false);
    std::panic::set_hook(Box::new(|info| {
        // A panic in a worker thread is seen again when the thread is
        // joined: say it once.
        if PANICKED.swap(true, Ordering::SeqCst) {
            return;
        }
        restore_terminal();
        let payload = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        let first_line = payload.lines().next().unwrap_or("").to_string();
        let place = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let _ = write!(
            std::io::stderr().lock(),
            "cred: error: internal error: {first_line}{place}\n\
             hint: this is a bug in cred, not in your input; please report it with the command you ran (never the key)\n"
        );
    }));
}

/// Held while a prompt or spinner owns the terminal.
pub struct TerminalGuard {
    _private: (),
}

struct Saved {
    guards: usize,
    #[cfg(unix)]
    termios: Option<rustix::termios::Termios>,
}

static SAVED: Mutex<Saved> = Mutex::new(Saved {
    guards: 0,
    #[cfg(unix)]
    termios: None,
});

impl TerminalGuard {
    /// Saves the terminal's settings (when the first guard is taken) and
    /// makes sure the signals that would end cred restore them first.
    pub fn new() -> TerminalGuard {
        watch_signals();
        let mut saved = SAVED.lock().unwrap_or_else(|e| e.into_inner());
        if saved.guards == 0 {
            #[cfg(unix)]
            {
                let stdin = std::io::stdin();
                saved.termios = if stdin.is_terminal() {
                    rustix::termios::tcgetattr(&stdin).ok()
                } else {
                    None
                };
            }
        }
        saved.guards += 1;
        TerminalGuard { _private: () }
    }
}

impl Default for TerminalGuard {
    fn default() -> Self {
        TerminalGuard::new()
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        let mut saved = SAVED.lock().unwrap_or_else(|e| e.into_inner());
        saved.guards = saved.guards.saturating_sub(1);
        if saved.guards == 0 {
            #[cfg(unix)]
            {
                saved.termios = None;
            }
        }
    }
}

/// Puts back what the first live guard saved, and shows the cursor.
pub fn restore_terminal() {
    let saved = SAVED.lock().unwrap_or_else(|e| e.into_inner());
    if saved.guards == 0 {
        return;
    }
    #[cfg(unix)]
    if let Some(t) = &saved.termios {
        let _ =
            rustix::termios::tcsetattr(std::io::stdin(), rustix::termios::OptionalActions::Now, t);
    }
    let stderr = std::io::stderr();
    if stderr.is_terminal() {
        let _ = stderr.lock().write_all(b"\x1b[?25h");
    }
}

/// The child `cred exec` runs, while it runs (0: none).
static CHILD: AtomicI32 = AtomicI32::new(0);

/// Passes SIGINT, SIGTERM, SIGHUP and SIGQUIT on to `pid` from now on.
pub fn forward_to(pid: u32) {
    CHILD.store(i32::try_from(pid).unwrap_or(0), Ordering::SeqCst);
    watch_signals();
}

/// Ends the process with `err` (printed as every error is) once `after`
/// has passed, whatever it is doing then: a whole-command deadline such as
/// `cred call --max-time`, which no read timeout can give.
pub fn exit_after(after: std::time::Duration, err: crate::error::Error) {
    let _ = std::thread::Builder::new()
        .name("deadline".into())
        .spawn(move || {
            std::thread::sleep(after);
            restore_terminal();
            crate::ui::Ui::new().error(&err);
            std::process::exit(i32::from(err.exit().code()));
        });
}

/// What a long-running command does on SIGINT, SIGTERM or SIGHUP (given
/// the signal's name), once; a second signal exits 130 at once.
type StopHook = Box<dyn Fn(&'static str) + Send + Sync>;

static STOP: Mutex<Option<StopHook>> = Mutex::new(None);

/// From now on the first SIGINT, SIGTERM or SIGHUP calls `stop` (which
/// should end the command cleanly) instead of ending the process.
pub fn on_stop(stop: impl Fn(&'static str) + Send + Sync + 'static) {
    *STOP.lock().unwrap_or_else(|e| e.into_inner()) = Some(Box::new(stop));
    watch_signals();
}

/// Stops the whole process (SIGSTOP, which no handler can catch) and
/// returns once it is continued (SIGCONT, as a shell's `fg` sends).
#[cfg(unix)]
pub fn stop_self() {
    use std::sync::{Arc, OnceLock};
    static CONTINUED: OnceLock<Option<Arc<AtomicBool>>> = OnceLock::new();
    let continued = CONTINUED.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        signal_hook::flag::register(signal_hook::consts::SIGCONT, Arc::clone(&flag))
            .ok()
            .map(|_| flag)
    });
    if let Some(flag) = continued {
        flag.store(false, Ordering::SeqCst);
    }
    let stopped =
        rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::STOP);
    // The stop may be taken by another thread while this one runs on for a
    // moment: wait until the process has been stopped and continued.
    if let (Ok(()), Some(flag)) = (stopped, continued) {
        while !flag.load(Ordering::SeqCst) {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}

/// The child has ended: signals keep their usual effect again.
pub fn stop_forwarding() {
    CHILD.store(0, Ordering::SeqCst);
}

/// Set when a prompt saw Ctrl-C itself (a menu reads the terminal raw and
/// gets the key, and the terminal library raises SIGINT): the signal that
/// follows may be handled after the prompt's guard is gone, and must still
/// be a cancel, not a kill.
static CANCELLING: AtomicBool = AtomicBool::new(false);

/// A prompt is ending because the person pressed Ctrl-C.
pub fn note_cancel() {
    CANCELLING.store(true, Ordering::SeqCst);
}

/// Whether a guard is live (a prompt or spinner owns the terminal), or a
/// prompt is ending in a cancel.
#[cfg(unix)]
fn guarded() -> bool {
    CANCELLING.load(Ordering::SeqCst) || SAVED.lock().map(|s| s.guards > 0).unwrap_or(true)
}

/// A stop hook ran: the next signal ends the process at once.
#[cfg(unix)]
static STOPPING: AtomicBool = AtomicBool::new(false);

/// Whether a signal was sent by the terminal (Ctrl-C, Ctrl-\\, a hangup) to
/// its whole foreground group while `child` is in cred's own group: the
/// child has had it already, and passing it on would deliver it twice.
#[cfg(unix)]
fn from_our_terminal_to_both(code: i32, child: rustix::process::Pid) -> bool {
    #[cfg(target_os = "linux")]
    {
        // si_code of a signal the kernel itself sends (the terminal's).
        const SI_KERNEL: i32 = 0x80;
        code == SI_KERNEL
            && rustix::process::getpgid(Some(child)).ok() == rustix::process::getpgid(None).ok()
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (code, child);
        false
    }
}

/// Starts, once, the thread that handles SIGINT, SIGTERM, SIGHUP and
/// SIGQUIT.
fn watch_signals() {
    static ONCE: Once = Once::new();
    #[cfg(unix)]
    ONCE.call_once(|| {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
        use signal_hook::iterator::{SignalsInfo, exfiltrator::WithRawSiginfo};
        let Ok(mut signals) =
            SignalsInfo::<WithRawSiginfo>::new([SIGINT, SIGTERM, SIGHUP, SIGQUIT])
        else {
            return;
        };
        let _ = std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                for info in signals.forever() {
                    let signal = info.si_signo;
                    let child = CHILD.load(Ordering::SeqCst);
                    if child > 0 {
                        if let (Some(pid), Some(sig)) = (
                            rustix::process::Pid::from_raw(child),
                            rustix::process::Signal::from_named_raw(signal),
                        ) && !from_our_terminal_to_both(info.si_code, pid)
                        {
                            let _ = rustix::process::kill_process(pid, sig);
                        }
                        continue;
                    }
                    if signal == SIGQUIT {
                        // Not a way to cancel or stop cleanly: its usual
                        // effect, with the terminal put back first.
                        restore_terminal();
                        let _ = signal_hook::low_level::emulate_default_handler(signal);
                        continue;
                    }
                    if let Some(stop) = STOP.lock().unwrap_or_else(|e| e.into_inner()).take() {
                        stop(match signal {
                            SIGINT => "SIGINT",
                            SIGTERM => "SIGTERM",
                            _ => "SIGHUP",
                        });
                        STOPPING.store(true, Ordering::SeqCst);
                        continue;
                    }
                    if STOPPING.load(Ordering::SeqCst) {
                        std::process::exit(i32::from(crate::error::Exit::Cancelled.code()));
                    }
                    if guarded() {
                        restore_terminal();
                        say_cancelled();
                        std::process::exit(i32::from(crate::error::Exit::Cancelled.code()));
                    }
                    // Nobody is being asked anything: the signal's usual
                    // effect.
                    let _ = signal_hook::low_level::emulate_default_handler(signal);
                }
            });
    });
    #[cfg(not(unix))]
    ONCE.call_once(|| {});
}
