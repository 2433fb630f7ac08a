//! The live check of a key (SPEC §1), shared by `add`, `verify` and `rotate`:
//! one request to the provider's check path, its answer classified into an
//! [`Outcome`] a person can act on and an exit code a script can branch on.
//!
//! A check waits [`TIMEOUT`] for an answer; the environment variable
//! `CRED_CHECK_TIMEOUT` (seconds, fractions allowed, at most 3600) changes
//! that, for slow APIs and for tests.

use std::time::{Duration, Instant};

use reqwest::blocking::Client;
use secrecy::SecretString;

use crate::error::{Error, Exit, Result};
use crate::http;
use crate::providers::{Provider, ProviderConfig, Verdict};
use crate::store::CheckRecord;

/// How long a check waits for an answer, unless `CRED_CHECK_TIMEOUT` says.
pub const TIMEOUT: Duration = Duration::from_secs(20);
/// Overrides [`TIMEOUT`]: seconds, e.g. `5` or `0.5`.
pub const TIMEOUT_ENV: &str = "CRED_CHECK_TIMEOUT";
const MAX_TIMEOUT_SECS: f64 = 3600.0;
/// A 429 is waited out at most this often, and never longer than this.
const RATE_LIMIT_RETRIES: u32 = 2;
const MAX_WAIT: Duration = Duration::from_secs(60);

/// How long a check waits: [`TIMEOUT`], or `CRED_CHECK_TIMEOUT` seconds.
pub fn timeout() -> Result<Duration> {
    match std::env::var(TIMEOUT_ENV) {
        Ok(raw) => parse_timeout(&raw),
        Err(_) => Ok(TIMEOUT),
    }
}

/// The value of `CRED_CHECK_TIMEOUT`: seconds, more than 0 and at most an
/// hour; empty means the default.
fn parse_timeout(raw: &str) -> Result<Duration> {
    let text = raw.trim();
    if text.is_empty() {
        return Ok(TIMEOUT);
    }
    text.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0 && *s <= MAX_TIMEOUT_SECS)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| {
            Error::user(format!(
                "{TIMEOUT_ENV}=`{text}` is not a number of seconds (more than 0, at most 3600)"
            ))
        })
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The key works; optionally whose it is.
    Valid(Option<String>),
    Rejected(String),
    NotFound(String),
    Network(String),
    RateLimited(String),
    Unconfirmed(String),
    /// The check could not be made for a local reason (bad base URL, bad
    /// setting): nothing was sent.
    Error(String),
}

impl Outcome {
    pub fn exit(&self) -> Exit {
        match self {
            Outcome::Valid(_) => Exit::Success,
            Outcome::Rejected(_) => Exit::Rejected,
            Outcome::NotFound(_) => Exit::Failure,
            Outcome::Network(_) => Exit::Network,
            Outcome::RateLimited(_) => Exit::RateLimited,
            Outcome::Unconfirmed(_) => Exit::HttpStatus,
            Outcome::Error(_) => Exit::Failure,
        }
    }

    /// The word recorded in the config and shown by `list`.
    pub fn id(&self) -> &'static str {
        match self {
            Outcome::Valid(_) => "valid",
            Outcome::Rejected(_) => "rejected",
            Outcome::NotFound(_) => "not-found",
            Outcome::Network(_) => "network",
            Outcome::RateLimited(_) => "rate-limited",
            Outcome::Unconfirmed(_) => "unconfirmed",
            Outcome::Error(_) => "error",
        }
    }

    pub fn message(&self) -> String {
        match self {
            Outcome::Valid(Some(who)) => who.clone(),
            Outcome::Valid(None) => "the key works".into(),
            Outcome::Rejected(m)
            | Outcome::NotFound(m)
            | Outcome::Network(m)
            | Outcome::RateLimited(m)
            | Outcome::Unconfirmed(m)
            | Outcome::Error(m) => m.clone(),
        }
    }

    /// The same outcome with its message passed through `f`.
    pub fn map_message(self, f: impl Fn(String) -> String) -> Outcome {
        match self {
            Outcome::Valid(who) => Outcome::Valid(who.map(f)),
            Outcome::Rejected(m) => Outcome::Rejected(f(m)),
            Outcome::NotFound(m) => Outcome::NotFound(f(m)),
            Outcome::Network(m) => Outcome::Network(f(m)),
            Outcome::RateLimited(m) => Outcome::RateLimited(f(m)),
            Outcome::Unconfirmed(m) => Outcome::Unconfirmed(f(m)),
            Outcome::Error(m) => Outcome::Error(f(m)),
        }
    }

    pub fn is_valid(&self) -> bool {
        matches!(self, Outcome::Valid(_))
    }

    pub fn record(&self) -> CheckRecord {
        CheckRecord {
            at: crate::store::config::now_rfc3339(),
            result: self.id().to_string(),
            message: self.message(),
        }
    }

    /// The outcome as an error, for commands that stop on a failed check.
    /// The message says what happened; only a refusal says the provider
    /// refused: an unconfirmed key or an unreachable API is not a bad key.
    pub fn into_error(self, provider: &dyn Provider) -> Error {
        let exit = self.exit();
        let rejected = match provider.kind() {
            crate::providers::ProviderKind::Paligo => {
                "check the username and the key, or pass --no-verify to store it unchecked"
            }
            crate::providers::ProviderKind::Paymo => {
                "check the key, or pass --no-verify to store it unchecked"
            }
            crate::providers::ProviderKind::Generic => {
                "check the key, the key name and the template, or pass --no-verify to store it unchecked"
            }
        };
        let hint = match &self {
            Outcome::Rejected(_) => rejected,
            Outcome::NotFound(_) => "check the instance or base URL",
            Outcome::Network(m) if m.contains("did not answer within") => {
                "the API is slow: allow more time with CRED_CHECK_TIMEOUT=SECONDS, or pass --no-verify to store it unchecked"
            }
            Outcome::Network(_) => {
                "check your connection, or pass --no-verify to store it unchecked"
            }
            Outcome::RateLimited(_) => "wait a minute and try again",
            Outcome::Unconfirmed(_) => "pass --no-verify to store it without a check",
            Outcome::Error(m) if m.contains(TIMEOUT_ENV) => {
                "set CRED_CHECK_TIMEOUT to seconds, e.g. 30, or unset it"
            }
            Outcome::Error(_) | Outcome::Valid(_) => "",
        };
        let message = match &self {
            Outcome::Network(m) | Outcome::RateLimited(m) => {
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

/// Checks a key against the live API. `on_wait` is told when a 429 is
/// being waited out (for a spinner).
pub fn check(
    client: &Client,
    config: &ProviderConfig,
    secret: &SecretString,
    on_wait: &dyn Fn(Duration),
) -> Checked {
    let start = Instant::now();
    let provider = config.provider();
    let outcome = match timeout() {
        Ok(limit) => run(client, provider, secret, limit, on_wait),
        Err(e) => Outcome::Error(e.message),
    };
    // Messages quote the server (first line of an error body, the user's
    // name): an API that echoes the request must not put the key into
    // output or config.toml.
    let redactor = crate::http::Redactor::new(provider.auth(secret).revealing_forms(secret));
    let outcome = outcome.map_message(|m| redactor.redact(&m));
    Checked {
        outcome,
        elapsed: start.elapsed(),
    }
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
    let auth = provider.auth(secret);
    let mut waited = Duration::ZERO;
    let mut attempt = 0;
    loop {
        let request = match http::authorize(client, reqwest::Method::GET, url.clone(), &auth) {
            Ok(r) => r,
            Err(e) => return Outcome::Error(e.message),
        };
        let request = provider
            .check_headers()
            .into_iter()
            .fold(request, |r, (k, v)| r.header(k, v))
            .timeout(limit);
        let response = match request.send() {
            Ok(r) => r,
            Err(e) => return network(provider, e, &url, limit),
        };
        let status = response.status();
        if status.as_u16() == 429 {
            let wait = http::retry_after(response.headers()).unwrap_or(Duration::from_secs(5));
            if attempt >= RATE_LIMIT_RETRIES || waited + wait > MAX_WAIT {
                return Outcome::RateLimited(format!(
                    "{} is rate limiting requests (HTTP 429, retry after {} s)",
                    provider.display_name(),
                    wait.as_secs()
                ));
            }
            on_wait(wait);
            std::thread::sleep(wait);
            waited += wait;
            attempt += 1;
            continue;
        }
        if status.is_redirection() {
            // Same-origin redirects were followed by the client; this one
            // points elsewhere. Name only its origin: the rest of the
            // address may carry the key (a query parameter copied over).
            let to = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .and_then(|l| url.join(l).ok())
                .map(|u| u.origin().ascii_serialization())
                .unwrap_or_else(|| "another address".into());
            return Outcome::Unconfirmed(format!(
                "could not confirm the key: {} answered HTTP {} redirecting to {to}, another origin; the key was not sent there",
                provider.display_name(),
                status.as_u16()
            ));
        }
        let body = read_prefix(response);
        return match provider.judge(status.as_u16(), &body) {
            Verdict::Valid(who) => Outcome::Valid(who),
            Verdict::Rejected(m) => Outcome::Rejected(m),
            Verdict::NotFound(m) => Outcome::NotFound(m),
            Verdict::Unconfirmed(m) => Outcome::Unconfirmed(m),
        };
    }
}

/// The first 64 KiB of a body: enough to name the user or quote an error.
fn read_prefix(response: reqwest::blocking::Response) -> Vec<u8> {
    use std::io::Read;
    let mut body = Vec::new();
    let _ = response.take(64 * 1024).read_to_end(&mut body);
    body
}

fn network(
    provider: &dyn Provider,
    err: reqwest::Error,
    url: &url::Url,
    limit: Duration,
) -> Outcome {
    let e = http::network_error(err, url, limit);
    let dns = e.message.contains("does not resolve");
    if dns
        && provider.kind() == crate::providers::ProviderKind::Paligo
        && let Some(name) = url
            .host_str()
            .and_then(|h| h.strip_suffix(".paligoapp.com"))
    {
        return Outcome::Network(format!(
            "no Paligo instance named `{name}` (the address does not resolve): check the part of your Paligo address before .paligoapp.com"
        ));
    }
    let mut message = e.message;
    if let Some(cause) = e.causes.first() {
        message.push_str(&format!(" ({cause})"));
    }
    Outcome::Network(message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::PaligoConfig;

    #[test]
    fn check_timeout_values() {
        assert_eq!(parse_timeout("").unwrap(), TIMEOUT);
        assert_eq!(parse_timeout(" 5 ").unwrap(), Duration::from_secs(5));
        assert_eq!(parse_timeout("0.25").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_timeout("3600").unwrap(), Duration::from_secs(3600));
        for bad in ["0", "-1", "soon", "NaN", "inf", "3601", "1e9"] {
            let err = parse_timeout(bad).unwrap_err();
            assert!(err.message.contains(TIMEOUT_ENV), "{bad}: {}", err.message);
            assert_eq!(err.exit, Exit::Failure);
        }
    }

    #[test]
    fn errors_say_what_happened_and_keep_the_exit_code() {
        let paligo = PaligoConfig {
            instance: "acme".into(),
            username: "me@acme.com".into(),
        };
        let err =
            Outcome::Unconfirmed("could not confirm the key: Paligo answered HTTP 500: x".into())
                .into_error(&paligo);
        assert_eq!(err.exit, Exit::HttpStatus);
        assert!(
            err.message.starts_with("could not confirm"),
            "{}",
            err.message
        );

        let err = Outcome::Network("127.0.0.1 refused the connection".into()).into_error(&paligo);
        assert_eq!(err.exit, Exit::Network);
        assert_eq!(
            err.message,
            "could not check the key with Paligo: 127.0.0.1 refused the connection"
        );

        let err =
            Outcome::Network("127.0.0.1 did not answer within 1 s".into()).into_error(&paligo);
        assert!(err.hints[0].contains(TIMEOUT_ENV), "{:?}", err.hints);

        let err =
            Outcome::Rejected("Paligo rejected the username or API key".into()).into_error(&paligo);
        assert_eq!(err.exit, Exit::Rejected);
        assert_eq!(err.message, "Paligo rejected the username or API key");

        assert_eq!(Outcome::Error("bad".into()).exit(), Exit::Failure);
        assert_eq!(Outcome::NotFound("x".into()).exit(), Exit::Failure);
        assert_eq!(Outcome::RateLimited("x".into()).exit(), Exit::RateLimited);
    }
}
