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
//! Messages are built by `cred` itself from names and statuses; secrets are
//! never formatted into them (reqwest errors are stripped of their URL before
//! they become a cause, see `http.rs`).

use std::fmt;
use std::process::ExitCode;

/// The kinds of failure a script can tell apart (SPEC §3).
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
    /// 7: the OS keychain is unavailable or locked.
    Keychain,
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
            Exit::Keychain => 7,
        }
    }

    /// How bad an outcome is when several are combined (`verify` over many
    /// credentials exits with the worst). Keychain and network problems
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
            Exit::Keychain => 7,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e.code())
    }
}

/// An error the user sees: a one-line message, the causes behind it, hints.
#[derive(Debug)]
pub struct Error {
    pub exit: Exit,
    pub message: String,
    pub causes: Vec<String>,
    pub hints: Vec<String>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        Error {
            exit,
            message: message.into(),
            causes: Vec::new(),
            hints: Vec::new(),
        }
    }

    /// Bad input, unknown credential, file or I/O problem (exit 1).
    pub fn user(message: impl Into<String>) -> Self {
        Error::new(Exit::Failure, message)
    }

    pub fn keychain(message: impl Into<String>) -> Self {
        Error::new(Exit::Keychain, message)
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }

    pub fn cause(mut self, cause: impl fmt::Display) -> Self {
        let text = cause.to_string();
        // Keep each cause on one line, so the output stays greppable.
        let one_line = text.lines().map(str::trim).collect::<Vec<_>>().join(" ");
        if !one_line.is_empty() && !self.causes.contains(&one_line) {
            self.causes.push(one_line);
        }
        self
    }

    /// Adds the whole source chain of a std error as causes.
    pub fn caused_by(mut self, err: &(dyn std::error::Error + 'static)) -> Self {
        let mut next = Some(err);
        while let Some(e) = next {
            self = self.cause(e);
            next = e.source();
        }
        self
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
        let e = Error::user(format!("could not {action} {}", path.display())).cause(&err);
        match hint {
            Some(h) => e.hint(h),
            None => e,
        }
    }

    /// Renders the error as the lines printed on stderr (without colour).
    pub fn render(&self) -> String {
        let mut out = format!("cred: error: {}\n", self.message);
        for c in &self.causes {
            out.push_str(&format!("  cause: {c}\n"));
        }
        for h in &self.hints {
            out.push_str(&format!("hint: {h}\n"));
        }
        out
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

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
    fn exit_codes_match_the_contract() {
        let codes: Vec<u8> = [
            Exit::Success,
            Exit::Failure,
            Exit::Usage,
            Exit::HttpStatus,
            Exit::Rejected,
            Exit::Network,
            Exit::RateLimited,
            Exit::Keychain,
        ]
        .iter()
        .map(|e| e.code())
        .collect();
        assert_eq!(codes, vec![0, 1, 2, 3, 4, 5, 6, 7]);
    }
}
