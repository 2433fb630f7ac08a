//! The live check of a key (SPEC §1), shared by `add`, `verify` and `rotate`:
//! one request to the provider's check path, its answer classified into an
//! [`Outcome`] a person can act on and an exit code a script can branch on.
//!
//! A check waits [`TIMEOUT`] for an answer; the environment variable
//! `CRED_CHECK_TIMEOUT` (seconds, fractions allowed, at most 3600) changes
//! that, for slow APIs and for tests.

use std::time::{Duration, Instant};

use reqwest::blocking::Client;
use reqwest::header::{HeaderName, HeaderValue};
use secrecy::SecretString;

use crate::config::CheckRecord;
use crate::error::{Error, Exit, Result};
use crate::http::{self, Pipeline, Request, RetryPolicy, SendError};
use crate::providers::{Provider, ProviderConfig, Verdict};
use crate::scrub::Secrets;
use crate::ui::Ui;

/// How long a check waits for an answer, unless `CRED_CHECK_TIMEOUT` says.
pub const TIMEOUT: Duration = Duration::from_secs(20);
/// Overrides [`TIMEOUT`]: seconds, e.g. `5` or `0.5`.
pub const TIMEOUT_ENV: &str = "CRED_CHECK_TIMEOUT";
/// How a check waits out rate limits: at most twice, a minute in all, 5 s
/// when the server does not say.
const RETRY: RetryPolicy = RetryPolicy {
    retries: 2,
    max_wait: Duration::from_secs(60),
    default_wait: Duration::from_secs(5),
    unsafe_methods: false,
    // A check reports a 502-504 as "could not confirm" at once.
    backoff: Duration::ZERO,
    provider_wait: None,
};

/// How long a check waits: [`TIMEOUT`], or `CRED_CHECK_TIMEOUT` seconds.
pub fn timeout() -> Result<Duration> {
    crate::envvar::seconds(TIMEOUT_ENV, TIMEOUT)
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The key works; optionally whose it is.
    Valid(Option<String>),
    Rejected(String),
    /// The key is good but the user may not use the API (Paligo non-admin).
    Forbidden(String),
    NotFound(String),
    /// No answer; `slow` when the API did not answer in time.
    Network {
        message: String,
        slow: bool,
    },
    RateLimited(String),
    Unconfirmed(String),
    /// The check answered 2xx, and so did the same request without the
    /// key: it proves nothing about the key.
    NoKeyNeeded(String),
    /// The check could not be made for a local reason (bad base URL, bad
    /// setting): nothing was sent.
    Error(String),
}

impl Outcome {
    pub fn exit(&self) -> Exit {
        match self {
            Outcome::Valid(_) => Exit::Success,
            Outcome::Rejected(_) | Outcome::Forbidden(_) => Exit::Rejected,
            Outcome::NotFound(_) => Exit::Failure,
            Outcome::Network { .. } => Exit::Network,
            Outcome::RateLimited(_) => Exit::RateLimited,
            Outcome::Unconfirmed(_) => Exit::HttpStatus,
            Outcome::NoKeyNeeded(_) => Exit::Failure,
            Outcome::Error(_) => Exit::Failure,
        }
    }

    /// The word recorded in the config and shown by `list`.
    pub fn id(&self) -> &'static str {
        match self {
            Outcome::Valid(_) => "valid",
            Outcome::Rejected(_) | Outcome::Forbidden(_) => "rejected",
            Outcome::NotFound(_) => "not-found",
            Outcome::Network { .. } => "network",
            Outcome::RateLimited(_) => "rate-limited",
            Outcome::Unconfirmed(_) => "unconfirmed",
            Outcome::NoKeyNeeded(_) => "cannot-confirm",
            Outcome::Error(_) => "error",
        }
    }

    pub fn message(&self) -> String {
        match self {
            Outcome::Valid(Some(who)) => who.clone(),
            Outcome::Valid(None) => "the key works".into(),
            Outcome::Network { message: m, .. }
            | Outcome::Rejected(m)
            | Outcome::Forbidden(m)
            | Outcome::NotFound(m)
            | Outcome::RateLimited(m)
            | Outcome::Unconfirmed(m)
            | Outcome::NoKeyNeeded(m)
            | Outcome::Error(m) => m.clone(),
        }
    }

    /// The same outcome with its message passed through `f`.
    pub fn map_message(self, f: impl Fn(String) -> String) -> Outcome {
        match self {
            Outcome::Valid(who) => Outcome::Valid(who.map(f)),
            Outcome::Rejected(m) => Outcome::Rejected(f(m)),
            Outcome::Forbidden(m) => Outcome::Forbidden(f(m)),
            Outcome::NotFound(m) => Outcome::NotFound(f(m)),
            Outcome::Network { message, slow } => Outcome::Network {
                message: f(message),
                slow,
            },
            Outcome::RateLimited(m) => Outcome::RateLimited(f(m)),
            Outcome::Unconfirmed(m) => Outcome::Unconfirmed(f(m)),
            Outcome::NoKeyNeeded(m) => Outcome::NoKeyNeeded(f(m)),
            Outcome::Error(m) => Outcome::Error(f(m)),
        }
    }

    pub fn is_valid(&self) -> bool {
        matches!(self, Outcome::Valid(_))
    }

    /// Whether the answer says the instance or API is not where the
    /// credential points (the other answers may be wrong, not the key).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Outcome::NotFound(_))
    }

    /// Whether the check could not confirm the key either way (no answer,
    /// rate limited, an unexpected status), so storing it unchecked is a
    /// reasonable choice; a rejection or a wrong address is not.
    pub fn is_unconfirmed(&self) -> bool {
        matches!(
            self,
            Outcome::Network { .. }
                | Outcome::RateLimited(_)
                | Outcome::Unconfirmed(_)
                | Outcome::NoKeyNeeded(_)
        )
    }

    /// Whether the check path answers without a key (a better path is the
    /// fix, not a new key).
    pub fn needs_other_path(&self) -> bool {
        matches!(self, Outcome::NoKeyNeeded(_))
    }

    /// What config.toml records for a key stored although this check could
    /// not confirm it (`cred list` shows "unchecked").
    pub fn unchecked_record(&self) -> CheckRecord {
        CheckRecord {
            at: crate::config::now_rfc3339(),
            result: "unchecked".to_string(),
            message: format!("stored without a confirmed check: {}", self.message()),
        }
    }

    pub fn record(&self) -> CheckRecord {
        CheckRecord {
            at: crate::config::now_rfc3339(),
            result: self.id().to_string(),
            message: self.message(),
        }
    }

    /// The outcome as an error, for commands that stop on a failed check.
    /// The message says what happened; only a refusal says the provider
    /// refused: an unconfirmed key or an unreachable API is not a bad key.
    pub fn into_error(self, provider: &dyn Provider) -> Error {
        let exit = self.exit();
        let hint = match &self {
            Outcome::Rejected(_) => provider.rejected_hint(),
            Outcome::Forbidden(_) => provider.forbidden_hint(),
            Outcome::NotFound(_) => "check the instance or base URL",
            Outcome::Network { slow: true, .. } => {
                "the API is slow: allow more time with CRED_CHECK_TIMEOUT=SECONDS, or pass --no-verify to store it unchecked"
            }
            Outcome::Network { .. } => {
                "check your connection, or pass --no-verify to store it unchecked"
            }
            Outcome::RateLimited(_) => "wait a minute and try again",
            Outcome::Unconfirmed(_) => "pass --no-verify to store it without a check",
            Outcome::NoKeyNeeded(_) => {
                "give a check path that needs the key, e.g. --check-path /user (or /me, /account), or pass --no-verify to store it unchecked"
            }
            Outcome::Error(_) | Outcome::Valid(_) => "",
        };
        let message = match &self {
            Outcome::Network { message: m, .. } | Outcome::RateLimited(m) => {
                format!(
                    "could not check the key with {}: {m}",
                    provider.display_name()
                )
            }
            other => other.message(),
        };
        let err = Error::new(exit, message);
        if hint.is_empty() { err } else { err.hint(hint) }
    }
}

/// The result of one check and how long it took.
pub struct Checked {
    pub outcome: Outcome,
    pub elapsed: Duration,
}

/// Tells a caller's closure about rate-limit waits (for a spinner).
struct WaitNotice<'a>(&'a dyn Fn(Duration));

impl http::Observer for WaitNotice<'_> {
    fn waiting(&self, _why: http::Retryable, wait: Duration, _attempt: u32, _retries: u32) {
        (self.0)(wait)
    }
}

/// Checks a key against the live API, waiting at most `limit` for an
/// answer. `on_wait` is told when a 429 is being waited out.
pub fn check(
    client: &Client,
    config: &ProviderConfig,
    secret: &SecretString,
    limit: Duration,
    on_wait: &dyn Fn(Duration),
) -> Checked {
    let start = Instant::now();
    let provider = config.provider();
    let outcome = run(client, provider, secret, limit, on_wait);
    // Messages quote the server (first line of an error body, the user's
    // name): an API that echoes the request must not put the key into
    // output or config.toml, nor control characters into a terminal.
    let secrets = Secrets::new(secret, &provider.auth(secret));
    let outcome =
        outcome.map_message(|m| crate::escape::visible(&secrets.scrub_str(&m)).into_owned());
    Checked {
        outcome,
        elapsed: start.elapsed(),
    }
}

/// Runs the live check with a spinner and reports a success (`add`, `rotate`).
pub fn with_spinner(
    ui: &Ui,
    client: &Client,
    provider: &ProviderConfig,
    secret: &SecretString,
    limit: Duration,
) -> Outcome {
    let who = provider.provider().display_name();
    let spinner = ui.spinner(&format!("Checking the key with {who}…"));
    let checked = check(client, provider, secret, limit, &|wait| {
        let msg = format!("{who} is rate limiting; waiting {} s…", wait.as_secs());
        spinner.set_message(&msg);
        if !ui.stderr_is_terminal() {
            ui.status(&msg);
        }
    });
    spinner.finish();
    if let Outcome::Valid(_) = &checked.outcome {
        ui.success(&format!(
            "✓ {who} accepted the key: {}",
            checked.outcome.message()
        ));
    }
    checked.outcome
}

fn run(
    client: &Client,
    provider: &dyn Provider,
    secret: &SecretString,
    limit: Duration,
    on_wait: &dyn Fn(Duration),
) -> Outcome {
    let base = match provider.base_url() {
        Ok(b) => b,
        Err(e) => return Outcome::Error(e.message),
    };
    let url = match http::resolve(&base, &provider.check_path()) {
        Ok(u) => u,
        Err(why) => return Outcome::Error(why),
    };
    let mut request = Request::get(url);
    for (k, v) in provider.check_headers() {
        if let Ok(name) = HeaderName::from_bytes(k.as_bytes()) {
            request.headers.insert(name, HeaderValue::from_static(v));
        }
    }
    let auth = provider.auth(secret);
    let notice = WaitNotice(on_wait);
    let pipeline = Pipeline::new(client, &auth, &base, limit)
        .retry(RetryPolicy {
            provider_wait: provider.rate_limit_wait(),
            ..RETRY
        })
        .observer(&notice);
    let sent = match pipeline.send(&request) {
        Ok(sent) => sent,
        Err(e) => return network(provider, e),
    };
    let status = sent.response.status().as_u16();
    if let Some(offsite) = sent.offsite {
        // Name only the target's origin: the rest of the address may carry
        // the key (a query parameter copied over).
        let to = offsite
            .target
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_else(|| "another address".into());
        return Outcome::Unconfirmed(format!(
            "could not confirm the key: {} answered HTTP {status} redirecting to {to}, another origin; the key was not sent there",
            provider.display_name(),
        ));
    }
    if sent.limited.is_some() && status == 429 {
        let when = match http::retry::retry_after(sent.response.headers()) {
            Some(wait) => format!("retry after {} s", wait.as_secs()),
            None => "it named no time to wait".to_string(),
        };
        return Outcome::RateLimited(format!(
            "{} is rate limiting requests (HTTP 429, {when})",
            provider.display_name(),
        ));
    }
    // Where the answer came from (after same-origin redirects), without
    // the key if it rides in the query.
    let mut answered = sent.response.url().clone();
    http::pipeline::without_auth_query(&mut answered, &auth);
    let body = read_prefix(sent.response);
    match provider.judge(status, &body) {
        Verdict::Valid(_) if answers_without_key(client, &request, &answered) => {
            Outcome::NoKeyNeeded(format!(
                "cannot confirm the key: {} answers {} with HTTP {status} without any key too, so its answer says nothing about the key",
                provider.display_name(),
                http::display_url(&answered),
            ))
        }
        Verdict::Valid(who) => Outcome::Valid(who),
        Verdict::Rejected(m) => Outcome::Rejected(m),
        Verdict::Forbidden(m) => Outcome::Forbidden(m),
        Verdict::NotFound(m) => Outcome::NotFound(m),
        Verdict::Unconfirmed(m) => Outcome::Unconfirmed(m),
    }
}

/// Whether the check's request, sent again to the address that answered
/// but without the key (no auth header, no query key, no redirect
/// followed), is accepted too: then a 2xx proves nothing about the key.
fn answers_without_key(client: &Client, request: &Request, url: &reqwest::Url) -> bool {
    let mut bare = client.request(request.method.clone(), url.clone());
    for (name, value) in &request.headers {
        bare = bare.header(name, value);
    }
    bare.send().is_ok_and(|r| r.status().is_success())
}

/// The first 64 KiB of a body: enough to name the user or quote an error.
fn read_prefix(response: reqwest::blocking::Response) -> Vec<u8> {
    use std::io::Read;
    let mut body = Vec::new();
    let _ = response.take(64 * 1024).read_to_end(&mut body);
    body
}

fn network(provider: &dyn Provider, err: SendError) -> Outcome {
    if let SendError::Dns { host, .. } = &err
        && let Some(message) = provider.dns_failure(host)
    {
        return Outcome::Network {
            message,
            slow: false,
        };
    }
    let slow = err.is_timeout();
    let network_failure = err.is_network();
    let e = Error::from(err);
    if !network_failure {
        // The key cannot be sent, or the answer is broken: not the network.
        let mut message = format!("could not check the key: {}", e.message);
        if let Some(hint) = e.hints.first() {
            message.push_str(&format!(" ({hint})"));
        }
        return Outcome::Error(message);
    }
    let mut message = e.message.clone();
    if let Some(cause) = e.cause_lines().first() {
        message.push_str(&format!(" ({cause})"));
    }
    Outcome::Network { message, slow }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::PaligoConfig;

    #[test]
    fn errors_say_what_happened_and_keep_the_exit_code() {
        let paligo = PaligoConfig {
            instance: "acme".into(),
            username: "me@acme.com".into(),
        };
        let err =
            Outcome::Unconfirmed("could not confirm the key: Paligo answered HTTP 500: x".into())
                .into_error(&paligo);
        assert_eq!(err.exit(), Exit::HttpStatus);
        assert!(
            err.message.starts_with("could not confirm"),
            "{}",
            err.message
        );

        let err = Outcome::Network {
            message: "127.0.0.1 refused the connection".into(),
            slow: false,
        }
        .into_error(&paligo);
        assert_eq!(err.exit(), Exit::Network);
        assert_eq!(
            err.message,
            "could not check the key with Paligo: 127.0.0.1 refused the connection"
        );

        let err = Outcome::Network {
            message: "127.0.0.1 did not answer within 1 s".into(),
            slow: true,
        }
        .into_error(&paligo);
        assert!(err.hints[0].contains(TIMEOUT_ENV), "{:?}", err.hints);

        let err =
            Outcome::Rejected("Paligo rejected the username or API key".into()).into_error(&paligo);
        assert_eq!(err.exit(), Exit::Rejected);
        assert_eq!(err.message, "Paligo rejected the username or API key");

        assert_eq!(Outcome::Error("bad".into()).exit(), Exit::Failure);
        assert_eq!(Outcome::NotFound("x".into()).exit(), Exit::Failure);
        assert_eq!(Outcome::RateLimited("x".into()).exit(), Exit::RateLimited);
    }
}
