//! User-facing errors: what went wrong, why, what to do about it, and the exit
//! code of SPEC §3 that tells a script which kind of failure it was.
//!
//! Every error reaches the user as
//!
//! ```text
//! cred: error: <message>
//!   cause: <cause>
//! hint: <hint>
//! ```
//!
//! In the style of jj's `CommandError`: an [`Error`] has a [`ErrorKind`]
//! that fixes the exit code, the typed source it came from (kept as an
//! `anyhow::Error`, so a caller can still downcast it), explicit causes and
//! hints. The layers below report typed errors (`SendError` in `http`,
//! `StoreError` in `secrets::error`, `ConfigError` in `config`);
//! their `From` impls here and beside them attach the hints. Nothing
//! decides behaviour by reading the text of a message cred wrote itself.
//!
//! Messages are built by `cred` itself from names and statuses; secrets are
//! never formatted into them (reqwest errors are stripped of their URL before
//! they become a cause, see `http::error`).

use std::fmt;
use std::process::ExitCode;
use std::sync::Arc;

/// The exit statuses a script can tell apart (SPEC §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    /// 0: success.
    Success,
    /// 1: bad input, unknown credential, file or I/O problem.
    Failure,
    /// 2: usage error (reported by clap itself).
    Usage,
    /// 3: the API answered with a status of 400 or above (other than 401/403/429).
    HttpStatus,
    /// 4: the API rejected the credential (401/403).
    Rejected,
    /// 5: network: DNS, connect, TLS or timeout.
    Network,
    /// 6: rate limited, and waiting longer was not allowed.
    RateLimited,
    /// 7: the secret store is unavailable or locked.
    Store,
    /// 130: a person cancelled at a prompt (Ctrl-C), as a shell reports
    /// SIGINT.
    Cancelled,
    /// The exit status of the program `cred exec` ran (128+N after signal N).
    Child(u8),
}

impl Exit {
    pub fn code(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::Failure => 1,
            Exit::Usage => 2,
            Exit::HttpStatus => 3,
            Exit::Rejected => 4,
            Exit::Network => 5,
            Exit::RateLimited => 6,
            Exit::Store => 7,
            Exit::Cancelled => 130,
            Exit::Child(code) => code,
        }
    }

    /// How bad an outcome is when several are combined (`verify` over many
    /// credentials exits with the worst). Store and network problems
    /// outrank a rejected key, which outranks an unexpected status.
    pub fn severity(self) -> u8 {
        match self {
            Exit::Success => 0,
            Exit::HttpStatus => 1,
            Exit::Failure => 2,
            Exit::Usage => 3,
            Exit::RateLimited => 4,
            Exit::Rejected => 5,
            Exit::Network => 6,
            Exit::Store => 7,
            Exit::Cancelled => 8,
            Exit::Child(_) => 1,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e.code())
    }
}

/// What kind of failure an [`Error`] is; fixes its exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// One of the exit statuses of SPEC §3.
    Exit(Exit),
    /// Standard output was closed by its reader (`cred list | head -1`):
    /// not a failure; `main` exits 0 and prints nothing.
    ClosedOutput,
}

impl From<Exit> for ErrorKind {
    fn from(e: Exit) -> Self {
        ErrorKind::Exit(e)
    }
}

/// An error the user sees: a one-line message, the causes behind it, hints.
/// Cloning shares the typed source: one store failure can stand for every
/// credential it stopped without being rebuilt from its text.
#[derive(Debug, Clone)]
pub struct Error {
    pub kind: ErrorKind,
    pub message: String,
    /// What the error is about when it stopped one of several things
    /// (`verify`'s credentials): printed as "`subject`: message".
    subject: Option<String>,
    /// Cause lines given explicitly (`.cause(…)`), printed before those of
    /// the source chain.
    pub causes: Vec<String>,
    pub hints: Vec<String>,
    /// The typed error this one was made from, if any.
    source: Option<Arc<anyhow::Error>>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: impl Into<ErrorKind>, message: impl Into<String>) -> Self {
        Error {
            kind: kind.into(),
            message: message.into(),
            subject: None,
            causes: Vec::new(),
            hints: Vec::new(),
            source: None,
        }
    }

    /// Bad input, unknown credential, file or I/O problem (exit 1).
    pub fn user(message: impl Into<String>) -> Self {
        Error::new(Exit::Failure, message)
    }

    /// The secret store is unavailable or locked (exit 7).
    pub fn store(message: impl Into<String>) -> Self {
        Error::new(Exit::Store, message)
    }

    /// A person cancelled at a prompt: nothing was stored (exit 130).
    pub fn cancelled() -> Self {
        Error::new(Exit::Cancelled, crate::signals::CANCELLED)
    }

    /// Standard output went away (broken pipe).
    pub fn closed_output() -> Self {
        Error::new(ErrorKind::ClosedOutput, "standard output was closed")
    }

    /// The exit status this error ends the process with.
    pub fn exit(&self) -> Exit {
        match self.kind {
            ErrorKind::Exit(e) => e,
            ErrorKind::ClosedOutput => Exit::Success,
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }

    pub fn cause(mut self, cause: impl fmt::Display) -> Self {
        push_line(&mut self.causes, &cause.to_string());
        self
    }

    /// Keeps `source` as the typed cause of this error: its chain is printed
    /// as cause lines, and callers may downcast it.
    pub fn with_source(mut self, source: impl Into<anyhow::Error>) -> Self {
        self.source = Some(Arc::new(source.into()));
        self
    }

    /// The typed source, for callers that branch on it.
    pub fn source_ref(&self) -> Option<&anyhow::Error> {
        self.source.as_deref()
    }

    /// Whether the typed source is a `T` (see [`Error::with_source`]).
    pub fn is<T: fmt::Display + fmt::Debug + Send + Sync + 'static>(&self) -> bool {
        self.source_ref().is_some_and(|s| s.is::<T>())
    }

    /// The same error, said of `subject`, one of several things it stopped
    /// (`verify`: "`later`: cannot reach the OS keychain").
    pub fn about(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// A step that failed because of this error: `message` says what could
    /// not be done, this error's message becomes the first cause; its
    /// kind, causes, hints and source stay (jj's `user_error_with_message`).
    pub fn context(self, message: impl Into<String>) -> Self {
        let mut causes = vec![self.headline()];
        causes.extend(self.causes);
        Error {
            message: message.into(),
            subject: None,
            causes,
            ..self
        }
    }

    /// The first line's text: the message, after its subject if it has one.
    pub fn headline(&self) -> String {
        match &self.subject {
            Some(subject) => format!("`{subject}`: {}", self.message),
            None => self.message.clone(),
        }
    }

    /// Every cause line: the explicit ones, then the source chain, each on
    /// one line and without repeats.
    pub fn cause_lines(&self) -> Vec<String> {
        let mut lines = self.causes.clone();
        if let Some(source) = &self.source {
            for e in source.chain() {
                let text = e.to_string();
                // A layer that repeats the text of the one below, or the
                // message, adds nothing.
                if !lines.iter().any(|l| l.contains(&text)) && !self.message.contains(&text) {
                    push_line(&mut lines, &text);
                }
            }
        }
        lines
    }

    /// An I/O error on a file, naming the file.
    pub fn io(action: &str, path: &std::path::Path, err: std::io::Error) -> Self {
        let hint = match err.kind() {
            std::io::ErrorKind::PermissionDenied => Some(format!(
                "check the permissions of {} (cred keeps it private to your user)",
                path.display()
            )),
            _ => None,
        };
        if err.kind() == std::io::ErrorKind::BrokenPipe {
            return Error::closed_output();
        }
        let e = Error::user(format!("could not {action} {}", path.display())).with_source(err);
        match hint {
            Some(h) => e.hint(h),
            None => e,
        }
    }

    /// Renders the error as the lines printed on stderr (without colour).
    #[cfg(test)]
    pub fn render(&self) -> String {
        let mut out = format!("cred: error: {}\n", self.headline());
        for c in self.cause_lines() {
            out.push_str(&format!("  cause: {c}\n"));
        }
        for h in &self.hints {
            out.push_str(&format!("hint: {h}\n"));
        }
        out
    }
}

/// Adds `text` as one line (a cause stays greppable), unless empty or
/// already there.
fn push_line(lines: &mut Vec<String>, text: &str) {
    let one_line = text.lines().map(str::trim).collect::<Vec<_>>().join(" ");
    if !one_line.is_empty() && !lines.contains(&one_line) {
        lines.push(one_line);
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.headline())
    }
}

impl std::error::Error for Error {}

/// Writing to standard output failed: a closed pipe is its own kind, any
/// other failure is exit 1.
pub fn stdout_error(e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        Error::closed_output()
    } else {
        Error::user("could not write to standard output").with_source(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_has_message_causes_and_hints_one_per_line() {
        let e = Error::user("no credential named `x`")
            .cause("first\nsecond line")
            .hint("run `cred list`");
        assert_eq!(
            e.render(),
            "cred: error: no credential named `x`\n  cause: first second line\nhint: run `cred list`\n"
        );
    }

    #[test]
    fn source_chain_becomes_causes_and_stays_typed() {
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied");
        let e = Error::io("read", std::path::Path::new("/x"), io);
        assert_eq!(e.cause_lines(), vec!["denied".to_string()]);
        assert!(
            e.source_ref()
                .unwrap()
                .downcast_ref::<std::io::Error>()
                .is_some()
        );
        assert_eq!(e.exit(), Exit::Failure);
        assert_eq!(e.hints.len(), 1);
    }

    #[test]
    fn context_keeps_the_kind_causes_hints_and_source() {
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied");
        let e = Error::io("write", std::path::Path::new("/s"), io)
            .cause("first")
            .context("checked, but the results were not recorded");
        assert_eq!(e.message, "checked, but the results were not recorded");
        assert_eq!(
            e.cause_lines(),
            ["could not write /s", "first", "denied"].map(String::from)
        );
        assert_eq!(e.hints.len(), 1);
        assert_eq!(e.exit(), Exit::Failure);
        assert!(e.is::<std::io::Error>());
    }

    #[test]
    fn a_subject_is_said_before_the_message_and_clones_share_the_source() {
        let e = Error::store("cannot reach the OS keychain")
            .with_source(std::io::Error::other("no bus"))
            .hint("h");
        let about = e.clone().about("later");
        assert_eq!(
            about.render(),
            "cred: error: `later`: cannot reach the OS keychain\n  cause: no bus\nhint: h\n"
        );
        assert_eq!(e.headline(), "cannot reach the OS keychain");
        assert!(about.is::<std::io::Error>());
    }

    #[test]
    fn a_closed_pipe_is_its_own_kind() {
        let e = stdout_error(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        assert_eq!(e.kind, ErrorKind::ClosedOutput);
        assert_eq!(e.exit(), Exit::Success);
    }

    #[test]
    fn exit_codes_match_the_contract() {
        let codes: Vec<u8> = [
            Exit::Success,
            Exit::Failure,
            Exit::Usage,
            Exit::HttpStatus,
            Exit::Rejected,
            Exit::Network,
            Exit::RateLimited,
            Exit::Store,
        ]
        .iter()
        .map(|e| e.code())
        .collect();
        assert_eq!(codes, vec![0, 1, 2, 3, 4, 5, 6, 7]);
    }
}
