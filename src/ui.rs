//! Every byte `cred` prints goes through [`Ui`]: results to stdout (clean for
//! pipes), messages, warnings, errors, spinners and prompts to stderr.
//!
//! `Ui` holds the secrets in play (`scrub::Secrets`): a command that reads
//! a secret (`call`, `exec`, `proxy`, `mcp`) installs it once
//! ([`Ui::hide`]), and from then on every message, warning, error (its
//! causes and hints too), `-v` line, spinner and stdout line is masked by
//! construction, before control characters are escaped. Streams written
//! outside `Ui` (a body, a child's output, the proxy's answers) take the
//! same set from [`Ui::secrets`]; logs are made by [`Ui::log`].
//!
//! Colour and spinners appear only when the stream is a terminal and
//! `NO_COLOR` is unset. Prompts appear only when stdin and stderr are both
//! terminals; otherwise a missing value is an error naming its flag. The
//! wizard talks to people through the [`Prompter`] trait, so its logic can be
//! tested without a terminal.

pub mod json;
pub mod log;

use std::io::{self, IsTerminal, Write};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use secrecy::SecretString;

use crate::error::{Error, Result, stdout_error};
use crate::providers::Auth;
use crate::scrub::Secrets;
use crate::signals::TerminalGuard;

pub struct Ui {
    stdin_tty: bool,
    stdout_tty: bool,
    stderr_tty: bool,
    color_out: bool,
    color_err: bool,
    /// The secrets in play: masked in everything written through `Ui`.
    secrets: RwLock<Arc<Secrets>>,
}

impl Default for Ui {
    fn default() -> Self {
        Ui::new()
    }
}

impl Ui {
    pub fn new() -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let stdout_tty = io::stdout().is_terminal();
        let stderr_tty = io::stderr().is_terminal();
        Ui {
            stdin_tty: io::stdin().is_terminal(),
            stdout_tty,
            stderr_tty,
            color_out: stdout_tty && !no_color,
            color_err: stderr_tty && !no_color,
            secrets: RwLock::default(),
        }
    }

    /// From now on every form of `secret` (and of the way `auth` presents
    /// it) is masked in everything written through `Ui`, and in the set
    /// [`Ui::secrets`] hands out.
    pub fn hide(&self, secret: &SecretString, auth: Option<&Auth>) {
        let mut held = self.secrets.write().unwrap_or_else(|e| e.into_inner());
        let mut more = Secrets::clone(&held);
        more.add(secret, auth);
        *held = Arc::new(more);
    }

    /// The secrets in play, for what is written outside `Ui`: a body
    /// streamed through `ScrubWriter`, a child's output, the proxy's
    /// answers. Those installed later are not in it.
    pub fn secrets(&self) -> Arc<Secrets> {
        self.secrets
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// `text` as a message shows it: the secrets masked, then control
    /// characters escaped.
    fn shown(&self, text: &str) -> String {
        self.secrets().shown(text)
    }

    /// Whether a person can answer prompts (stdin and stderr are terminals).
    pub fn interactive(&self) -> bool {
        self.stdin_tty && self.stderr_tty
    }

    pub fn stdout_is_terminal(&self) -> bool {
        self.stdout_tty
    }

    pub fn stderr_is_terminal(&self) -> bool {
        self.stderr_tty
    }

    /// Ends the body's last line on stderr when stdout and stderr end in
    /// the same file and the body did not: messages start on their own line
    /// and stdout's bytes stay as they came.
    pub fn end_line_between_outputs(&self) {
        if !self.stdout_tty && same_file() {
            let _ = io::stderr().lock().write_all(b"\n");
        }
    }

    pub fn color_stdout(&self) -> bool {
        self.color_out
    }

    /// A result line on stdout (the secrets masked).
    pub fn out(&self, text: &str) -> Result<()> {
        let text = self.secrets().scrub_str(text);
        let mut out = io::stdout().lock();
        out.write_all(text.as_bytes())
            .and_then(|_| out.write_all(b"\n"))
            .and_then(|_| out.flush())
            .map_err(stdout_error)
    }

    /// A JSON document on stdout (pretty), control characters escaped the
    /// JSON way.
    pub fn out_json(&self, value: &impl serde::Serialize) -> Result<()> {
        let text = serde_json::to_string_pretty(value).unwrap_or_default();
        self.out(&crate::escape::json_visible(&text))
    }

    /// Raw bytes on stdout, without an added newline: the secrets in play
    /// masked (`cred secret`, which prints its secret this way, installs
    /// none).
    pub fn out_bytes(&self, bytes: &[u8]) -> Result<()> {
        let (bytes, _) = self.secrets().scrub_bytes(bytes);
        let mut out = io::stdout().lock();
        out.write_all(&bytes)
            .and_then(|_| out.flush())
            .map_err(stdout_error)
    }

    /// A message for the person on stderr (progress, results of checks,
    /// `-v` heads). Control characters in it are shown escaped: a server's
    /// text never drives the terminal.
    pub fn status(&self, text: &str) {
        let _ = writeln!(io::stderr().lock(), "{}", self.shown(text));
    }

    /// A success line on stderr, green on a terminal.
    pub fn success(&self, text: &str) {
        let _ = writeln!(
            io::stderr().lock(),
            "{}",
            self.paint_err("32", &self.shown(text))
        );
    }

    pub fn warn(&self, text: &str) {
        let _ = io::stderr()
            .lock()
            .write_all(self.warning_text(text).as_bytes());
    }

    fn warning_text(&self, text: &str) -> String {
        let label = self.paint_err("33", "cred: warning:");
        format!("{label} {}\n", self.shown(text))
    }

    /// Prints an error as SPEC §3 asks: `cred: error: …`, causes, hints.
    pub fn error(&self, err: &Error) {
        let _ = io::stderr()
            .lock()
            .write_all(self.error_text(err).as_bytes());
    }

    /// The error as [`Ui::error`] prints it: every line masked.
    fn error_text(&self, err: &Error) -> String {
        let secrets = self.secrets();
        let mut text = String::new();
        text.push_str(&self.paint_err("1;31", "cred: error:"));
        text.push(' ');
        text.push_str(&secrets.shown(&err.headline()));
        text.push('\n');
        for c in err.cause_lines() {
            text.push_str(&format!("  cause: {}\n", secrets.shown(&c)));
        }
        for h in &err.hints {
            text.push_str(&format!(
                "{} {}\n",
                self.paint_err("36", "hint:"),
                secrets.shown(h)
            ));
        }
        text
    }

    fn paint_err(&self, code: &str, text: &str) -> String {
        paint(self.color_err, code, text)
    }

    pub fn paint_out(&self, code: &str, text: &str) -> String {
        paint(self.color_out, code, text)
    }

    /// A spinner on a terminal; a plain line once otherwise. Its messages
    /// are masked as every message is.
    pub fn spinner(&self, message: &str) -> Spinner {
        let secrets = self.secrets();
        if self.stderr_tty {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            bar.set_message(secrets.shown(message));
            bar.enable_steady_tick(Duration::from_millis(100));
            Spinner {
                bar: Some(bar),
                secrets,
                _guard: Some(TerminalGuard::new()),
            }
        } else {
            self.status(message);
            Spinner {
                bar: None,
                secrets,
                _guard: None,
            }
        }
    }

    /// A log of lines (the proxy's requests, `cred mcp`'s audit) to `to`,
    /// each masked with the secrets in play now and escaped as messages
    /// are: make it once every secret is installed.
    pub fn log(&self, to: Box<dyn Write + Send>) -> log::Log {
        log::Log::new(to, self.secrets())
    }

    /// The prompter for the wizard: real prompts on a terminal.
    pub fn prompter(&self) -> Box<dyn Prompter> {
        if self.interactive() {
            Box::new(TermPrompter::new(self.color_err))
        } else {
            Box::new(NoPrompter)
        }
    }
}

fn paint(enabled: bool, code: &str, text: &str) -> String {
    if enabled {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

/// A spinner that clears itself when finished or dropped.
pub struct Spinner {
    bar: Option<indicatif::ProgressBar>,
    secrets: Arc<Secrets>,
    /// Ctrl-C during the spinner restores the terminal first.
    _guard: Option<TerminalGuard>,
}

impl Spinner {
    pub fn set_message(&self, message: &str) {
        if let Some(bar) = &self.bar {
            bar.set_message(self.secrets.shown(message));
        }
    }

    pub fn finish(self) {}
}

impl Drop for Spinner {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// A validator: returns the normalised value, or why the input is refused.
pub type Validator<'a> = &'a dyn Fn(&str) -> Result<String, String>;

/// How the wizard asks questions. The terminal implementation uses
/// dialoguer; tests use a scripted one.
pub trait Prompter {
    /// Guide text shown before the questions.
    fn say(&mut self, text: &str);
    /// A line of text, re-asked until `validate` accepts it.
    fn input(
        &mut self,
        prompt: &str,
        default: Option<&str>,
        validate: Validator<'_>,
    ) -> Result<String>;
    /// A hidden line (the secret), re-asked while empty.
    fn secret(&mut self, prompt: &str) -> Result<SecretString>;
    /// A hidden passphrase, taken as typed (not trimmed), re-asked while
    /// empty; with `confirm`, asked twice until both agree.
    fn passphrase(&mut self, prompt: &str, confirm: Option<&str>) -> Result<SecretString> {
        let _ = confirm;
        self.secret(prompt)
    }
    fn confirm(&mut self, prompt: &str, default: bool) -> Result<bool>;
    /// One of `items`; returns its index.
    fn select(&mut self, prompt: &str, items: &[&str], default: usize) -> Result<usize>;
    /// Whether questions can be asked at all.
    fn can_prompt(&self) -> bool {
        true
    }
}

/// Used without a terminal: every question is an error (the caller names
/// the flag before it gets here).
pub struct NoPrompter;

impl Prompter for NoPrompter {
    fn say(&mut self, _text: &str) {}
    fn input(&mut self, prompt: &str, _: Option<&str>, _: Validator<'_>) -> Result<String> {
        Err(no_terminal(prompt))
    }
    fn secret(&mut self, prompt: &str) -> Result<SecretString> {
        Err(no_terminal(prompt))
    }
    fn confirm(&mut self, prompt: &str, _: bool) -> Result<bool> {
        Err(no_terminal(prompt))
    }
    fn select(&mut self, prompt: &str, _: &[&str], _: usize) -> Result<usize> {
        Err(no_terminal(prompt))
    }
    fn can_prompt(&self) -> bool {
        false
    }
}

fn no_terminal(prompt: &str) -> Error {
    Error::user(format!("cannot ask for `{prompt}`: no terminal"))
}

struct TermPrompter {
    theme: Box<dyn dialoguer::theme::Theme>,
}

impl TermPrompter {
    fn new(color: bool) -> Self {
        let theme: Box<dyn dialoguer::theme::Theme> = if color {
            Box::new(dialoguer::theme::ColorfulTheme::default())
        } else {
            Box::new(dialoguer::theme::SimpleTheme)
        };
        TermPrompter { theme }
    }
}

/// A prompt ended without an answer: Ctrl-C read as a key (menus read
/// the terminal raw) is a cancel, like the signal.
fn prompt_error(e: dialoguer::Error) -> Error {
    let dialoguer::Error::IO(io) = e;
    if io.kind() == io::ErrorKind::Interrupted {
        crate::signals::note_cancel();
        crate::signals::restore_terminal();
        Error::cancelled()
    } else {
        Error::user("could not read from the terminal").with_source(io)
    }
}

impl Prompter for TermPrompter {
    fn say(&mut self, text: &str) {
        let _ = writeln!(io::stderr().lock(), "{text}\n");
    }

    fn input(
        &mut self,
        prompt: &str,
        default: Option<&str>,
        validate: Validator<'_>,
    ) -> Result<String> {
        let _guard = TerminalGuard::new();
        let mut input = dialoguer::Input::<String>::with_theme(self.theme.as_ref())
            .with_prompt(prompt)
            // Empty answers go to the validator, which refuses them with a
            // reason where a value is required (dialoguer alone would
            // silently ask again, so optional prompts could not be skipped).
            .allow_empty(true)
            .validate_with(|s: &String| validate(s).map(|_| ()));
        if let Some(d) = default {
            input = input.default(d.to_string());
        }
        let raw = input.interact_text().map_err(prompt_error)?;
        let value = validate(&raw).map_err(Error::user)?;
        if value != raw.trim() {
            // A pasted address became `acme`: say what will be stored.
            let _ = writeln!(io::stderr().lock(), "  using: {value}");
        }
        Ok(value)
    }

    fn secret(&mut self, prompt: &str) -> Result<SecretString> {
        let _guard = TerminalGuard::new();
        dialoguer::Password::with_theme(self.theme.as_ref())
            .with_prompt(prompt)
            // Let the validator say why an empty answer is asked again.
            .allow_empty_password(true)
            .validate_with(|s: &String| {
                if s.trim().is_empty() {
                    Err("the key is empty: paste it, then press Enter")
                } else {
                    Ok(())
                }
            })
            .interact()
            .map(|s| SecretString::from(s.trim().to_string()))
            .map_err(prompt_error)
    }

    fn passphrase(&mut self, prompt: &str, confirm: Option<&str>) -> Result<SecretString> {
        let _guard = TerminalGuard::new();
        let mut ask = dialoguer::Password::with_theme(self.theme.as_ref())
            .with_prompt(prompt)
            .allow_empty_password(true)
            .validate_with(|s: &String| {
                if s.is_empty() {
                    Err("the passphrase is empty: type it, then press Enter")
                } else {
                    Ok(())
                }
            });
        if let Some(again) = confirm {
            ask = ask.with_confirmation(again, "the two passphrases differ; type them again");
        }
        ask.interact()
            .map(|s| SecretString::from(zeroize::Zeroizing::new(s).to_string()))
            .map_err(prompt_error)
    }

    fn confirm(&mut self, prompt: &str, default: bool) -> Result<bool> {
        let _guard = TerminalGuard::new();
        // y or n is taken with Enter, as a typed answer is: a keypress
        // alone would answer at once, and the Enter typed after it would
        // then answer the next question with its default.
        dialoguer::Confirm::with_theme(self.theme.as_ref())
            .with_prompt(prompt)
            .default(default)
            .wait_for_newline(true)
            .interact()
            .map_err(prompt_error)
    }

    fn select(&mut self, prompt: &str, items: &[&str], default: usize) -> Result<usize> {
        let _guard = TerminalGuard::new();
        dialoguer::Select::with_theme(self.theme.as_ref())
            .with_prompt(prompt)
            .items(items)
            .default(default)
            .interact()
            .map_err(prompt_error)
    }
}

/// A prompter that answers from a script, for unit tests of the wizard.
#[cfg(test)]
pub struct ScriptedPrompter {
    pub answers: std::collections::VecDeque<String>,
    pub transcript: Vec<String>,
}

#[cfg(test)]
impl ScriptedPrompter {
    pub fn new(answers: &[&str]) -> Self {
        ScriptedPrompter {
            answers: answers.iter().map(|s| s.to_string()).collect(),
            transcript: Vec::new(),
        }
    }

    fn next(&mut self, prompt: &str) -> String {
        let a = self
            .answers
            .pop_front()
            .unwrap_or_else(|| panic!("no scripted answer for `{prompt}`"));
        self.transcript.push(format!("{prompt}: {a}"));
        a
    }
}

#[cfg(test)]
impl Prompter for ScriptedPrompter {
    fn say(&mut self, text: &str) {
        self.transcript.push(text.to_string());
    }
    fn input(
        &mut self,
        prompt: &str,
        default: Option<&str>,
        validate: Validator<'_>,
    ) -> Result<String> {
        loop {
            let mut a = self.next(prompt);
            if a.is_empty() {
                a = default.unwrap_or("").to_string();
            }
            match validate(&a) {
                Ok(v) => return Ok(v),
                Err(why) => self.transcript.push(format!("invalid: {why}")),
            }
        }
    }
    fn secret(&mut self, prompt: &str) -> Result<SecretString> {
        Ok(SecretString::from(self.next(prompt)))
    }
    fn confirm(&mut self, prompt: &str, _default: bool) -> Result<bool> {
        Ok(self.next(prompt) == "y")
    }
    fn select(&mut self, prompt: &str, items: &[&str], _default: usize) -> Result<usize> {
        let a = self.next(prompt);
        Ok(items
            .iter()
            .position(|i| i.starts_with(&a))
            .expect("scripted choice"))
    }
}

#[cfg(unix)]
fn same_file() -> bool {
    use std::os::fd::AsFd;
    use std::os::unix::fs::MetadataExt;
    let meta = |fd: std::os::fd::BorrowedFd<'_>| {
        fd.try_clone_to_owned()
            .ok()
            .and_then(|o| std::fs::File::from(o).metadata().ok())
            .map(|m| (m.dev(), m.ino()))
    };
    let out = meta(io::stdout().as_fd());
    out.is_some() && out == meta(io::stderr().as_fd())
}

#[cfg(not(unix))]
fn same_file() -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    const KEY: &str = "k3y/0123+456789";

    /// A Ui without terminals or colours, holding [`KEY`] (sent as Basic).
    fn ui() -> Ui {
        let ui = Ui {
            stdin_tty: false,
            stdout_tty: false,
            stderr_tty: false,
            color_out: false,
            color_err: false,
            secrets: RwLock::default(),
        };
        ui.hide(
            &SecretString::from(KEY),
            Some(&Auth::basic("me@acme.com", KEY)),
        );
        ui
    }

    /// Every way `KEY` would show: raw, base64 (alone and in the Basic
    /// token), percent-encoded.
    fn assert_masked(text: &str) {
        let b64 = |t: &str| base64::engine::general_purpose::STANDARD.encode(t);
        let percent: String = url::form_urlencoded::byte_serialize(KEY.as_bytes()).collect();
        for form in [
            KEY.to_string(),
            b64(KEY),
            b64(&format!("me@acme.com:{KEY}")),
            percent,
            "0123".to_string(),
        ] {
            assert!(!text.contains(&form), "`{form}` in {text}");
        }
        assert!(text.contains(crate::scrub::REDACTED), "{text}");
    }

    #[test]
    fn an_error_is_masked_in_its_message_causes_source_and_hints() {
        let ui = ui();
        let percent: String = url::form_urlencoded::byte_serialize(KEY.as_bytes()).collect();
        let err = Error::user(format!("the API redirected to https://x.test/?k={percent}"))
            .cause(format!("it said {KEY}"))
            .with_source(std::io::Error::other(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("me@acme.com:{KEY}"))
            )))
            .hint(format!("not {KEY}"));
        let text = ui.error_text(&err);
        assert_masked(&text);
        assert_eq!(text.matches(crate::scrub::REDACTED).count(), 4, "{text}");
        assert!(
            text.starts_with("cred: error: the API redirected"),
            "{text}"
        );
    }

    #[test]
    fn warnings_and_messages_are_masked_before_controls_are_escaped() {
        let ui = ui();
        let text = ui.warning_text(&format!("page at /x?k={KEY}"));
        assert_eq!(text, "cred: warning: page at /x?k=<redacted>\n");
        // A key with a colour change inside is still found; the colour is
        // then shown escaped.
        let coloured = format!("< x-echo: {}\x1b[31m{}", &KEY[..4], &KEY[4..]);
        let shown = ui.shown(&coloured);
        assert_eq!(shown, "< x-echo: <redacted>\\x1b[31m");
    }

    #[test]
    fn the_set_grows_and_is_shared_with_streams() {
        let ui = ui();
        let before = ui.secrets();
        ui.hide(&SecretString::from("second-s3cret-value"), None);
        assert_eq!(ui.shown("second-s3cret-value"), crate::scrub::REDACTED);
        // What was handed out before keeps its own set.
        assert_eq!(
            before.scrub_str("second-s3cret-value"),
            "second-s3cret-value"
        );
        let (out, hits) = ui
            .secrets()
            .scrub_bytes(format!("{KEY} and second-s3cret-value").as_bytes());
        assert_eq!(
            (String::from_utf8(out).unwrap(), hits),
            ("<redacted> and <redacted>".into(), 2)
        );
    }

    #[test]
    fn nothing_is_masked_before_a_secret_is_installed() {
        let ui = Ui::new();
        assert_eq!(ui.shown(KEY), KEY);
        assert!(ui.secrets().is_empty());
    }
}
