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

/// What a check found, typed: the provider's verdict on the answer, the
/// [`SendError`] when no answer came, the [`Error`] that kept a check from
/// being made (a bad setting; in `verify`, the store). Its words for
/// people are made from these ([`Outcome::message`],
/// [`Outcome::into_error`]), never kept as text.
#[derive(Debug)]
pub enum Outcome {
    /// The key works; optionally whose it is.
    Valid(Option<String>),
    /// The provider refused the key (its words).
    Rejected(String),
    /// The key is good but the user may not use the API (Paligo non-admin).
    Forbidden(String),
    /// The instance or API is not where the credential points.
    NotFound(String),
    /// No answer; `slow` when the API did not answer in time; `said` is
    /// the provider's own account (Paligo names the instance whose host
    /// does not resolve).
    Network {
        error: SendError,
        slow: bool,
        said: Option<String>,
    },
    /// HTTP 429 after the waits a check allows; the wait the API asked for.
    RateLimited {
        provider: &'static str,
        retry_after: Option<Duration>,
    },
    /// An answer that tells nothing either way (the provider's words).
    Unconfirmed(String),
    /// A redirect to another origin (`to`, the origin only): the key was
    /// not sent there.
    Offsite {
        provider: &'static str,
        status: u16,
        to: String,
    },
    /// The check answered 2xx, and so did the same request without the
    /// key: it proves nothing about the key.
    NoKeyNeeded {
        provider: &'static str,
        url: String,
        status: u16,
    },
    /// The request could not be sent or its answer not read, for a reason
    /// other than the network (a key headers cannot carry, a corrupt body).
    Unsent(SendError),
    /// The check could not be made for a local reason (bad base URL, bad
    /// check path): nothing was sent.
    Error(Error),
    /// `verify`: the credential's store holds no secret for it.
    NoSecret { name: String, place: &'static str },
    /// `verify`: the config now sends the secret elsewhere than it was
    /// stored for ([`crate::secrets::Moved`]): nothing was sent.
    Moved(Error),
    /// `verify`: the secret could not be read (an entry that cannot be
    /// used, a bad `CRED_SECRET_<NAME>`): nothing was sent.
    Unreadable(Error),
    /// `verify`: the credential's store cannot be used now (exit 7); every
    /// credential it stopped carries the same error.
    Store(Error),
}

impl Outcome {
    pub fn exit(&self) -> Exit {
        match self {
            Outcome::Valid(_) => Exit::Success,
            Outcome::Rejected(_) | Outcome::Forbidden(_) => Exit::Rejected,
            Outcome::NotFound(_) | Outcome::NoSecret { .. } => Exit::Failure,
            Outcome::Network { .. } => Exit::Network,
            Outcome::RateLimited { .. } => Exit::RateLimited,
            Outcome::Unconfirmed(_) | Outcome::Offsite { .. } => Exit::HttpStatus,
            Outcome::NoKeyNeeded { .. } | Outcome::Unsent(_) | Outcome::Error(_) => Exit::Failure,
            Outcome::Moved(e) | Outcome::Unreadable(e) | Outcome::Store(e) => e.exit(),
        }
    }

    /// The word recorded in state.toml and shown by `list`.
    pub fn id(&self) -> &'static str {
        match self {
            Outcome::Valid(_) => "valid",
            Outcome::Rejected(_) | Outcome::Forbidden(_) => "rejected",
            Outcome::NotFound(_) | Outcome::NoSecret { .. } => "not-found",
            Outcome::Network { .. } => "network",
            Outcome::RateLimited { .. } => "rate-limited",
            Outcome::Unconfirmed(_) | Outcome::Offsite { .. } => "unconfirmed",
            Outcome::NoKeyNeeded { .. } => "cannot-confirm",
            Outcome::Unsent(_) | Outcome::Error(_) | Outcome::Moved(_) | Outcome::Unreadable(_) => {
                "error"
            }
            Outcome::Store(_) => "store-unavailable",
        }
    }

    /// What happened, on one line, made from the typed outcome; control
    /// characters shown escaped.
    pub fn message(&self) -> String {
        let text = match self {
            Outcome::Valid(Some(who)) => who.clone(),
            Outcome::Valid(None) => "the key works".into(),
            Outcome::Rejected(m)
            | Outcome::Forbidden(m)
            | Outcome::NotFound(m)
            | Outcome::Unconfirmed(m)
            | Outcome::Network { said: Some(m), .. } => m.clone(),
            Outcome::Network { error, .. } => with_first_cause(error),
            Outcome::RateLimited {
                provider,
                retry_after,
            } => {
                let when = match retry_after {
                    Some(wait) => format!("retry after {} s", wait.as_secs()),
                    None => "it named no time to wait".to_string(),
                };
                format!("{provider} is rate limiting requests (HTTP 429, {when})")
            }
            Outcome::Offsite {
                provider,
                status,
                to,
            } => format!(
                "could not confirm the key: {provider} answered HTTP {status} redirecting to {to}, another origin; the key was not sent there"
            ),
            Outcome::NoKeyNeeded {
                provider,
                url,
                status,
            } => format!(
                "cannot confirm the key: {provider} answers {url} with HTTP {status} without any key too, so its answer says nothing about the key"
            ),
            // The key cannot be sent, or the answer is broken: not the network.
            Outcome::Unsent(e) => match e.hint() {
                "" => format!("could not check the key: {e}"),
                hint => format!("could not check the key: {e} ({hint})"),
            },
            Outcome::NoSecret { name, place } => {
                format!("no secret in {place}: run `cred rotate {name}`")
            }
            Outcome::Error(e) | Outcome::Moved(e) | Outcome::Unreadable(e) | Outcome::Store(e) => {
                e.headline()
            }
        };
        crate::escape::visible(&text).into_owned()
    }

    /// The same outcome with the text it quotes from the answer (the
    /// provider's words, the user's name, an address) passed through `f`.
    fn map_quoted(self, f: impl Fn(String) -> String) -> Outcome {
        match self {
            Outcome::Valid(who) => Outcome::Valid(who.map(f)),
            Outcome::Rejected(m) => Outcome::Rejected(f(m)),
            Outcome::Forbidden(m) => Outcome::Forbidden(f(m)),
            Outcome::NotFound(m) => Outcome::NotFound(f(m)),
            Outcome::Unconfirmed(m) => Outcome::Unconfirmed(f(m)),
            Outcome::Network { error, slow, said } => Outcome::Network {
                error,
                slow,
                said: said.map(f),
            },
            Outcome::Offsite {
                provider,
                status,
                to,
            } => Outcome::Offsite {
                provider,
                status,
                to: f(to),
            },
            Outcome::NoKeyNeeded {
                provider,
                url,
                status,
            } => Outcome::NoKeyNeeded {
                provider,
                url: f(url),
                status,
            },
            // The one send error that quotes the server (a header's value).
            Outcome::Unsent(SendError::TransferCoding { status, coding }) => {
                Outcome::Unsent(SendError::TransferCoding {
                    status,
                    coding: f(coding),
                })
            }
            other => other,
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
                | Outcome::RateLimited { .. }
                | Outcome::Unconfirmed(_)
                | Outcome::Offsite { .. }
                | Outcome::NoKeyNeeded { .. }
        )
    }

    /// Whether the check path answers without a key (a better path is the
    /// fix, not a new key).
    pub fn needs_other_path(&self) -> bool {
        matches!(self, Outcome::NoKeyNeeded { .. })
    }

    /// Whether a check was made at all: the store could not be used, or
    /// gave no secret to check, and there is nothing to record.
    pub fn was_checked(&self) -> bool {
        !matches!(self, Outcome::Store(_))
    }

    /// What state.toml records for a key stored although this check could
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
    /// An outcome that carries an error is that error, with its causes and
    /// hints.
    pub fn into_error(self, provider: &dyn Provider) -> Error {
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
            Outcome::RateLimited { .. } => "wait a minute and try again",
            Outcome::Unconfirmed(_) | Outcome::Offsite { .. } => {
                "pass --no-verify to store it without a check"
            }
            Outcome::NoKeyNeeded { .. } => {
                "give a check path that needs the key, e.g. --check-path /user (or /me, /account), or pass --no-verify to store it unchecked"
            }
            _ => "",
        };
        let message = match &self {
            Outcome::Network { .. } | Outcome::RateLimited { .. } => format!(
                "could not check the key with {}: {}",
                provider.display_name(),
                self.message()
            ),
            other => other.message(),
        };
        let err = Error::new(self.exit(), message);
        let err = match self {
            Outcome::Error(e) | Outcome::Moved(e) | Outcome::Unreadable(e) | Outcome::Store(e) => {
                return e;
            }
            Outcome::Network { error, .. } | Outcome::Unsent(error) => err.with_source(error),
            _ => err,
        };
        if hint.is_empty() { err } else { err.hint(hint) }
    }
}

/// A send error and the first of its causes, on one line: "127.0.0.1
/// refused the connection (tcp connect error: …)".
fn with_first_cause(e: &SendError) -> String {
    let cause = std::error::Error::source(e)
        .map(http::error::chain_text)
        .map(|c| c.lines().map(str::trim).collect::<Vec<_>>().join(" "))
        .filter(|c| !c.is_empty());
    match cause {
        Some(cause) => format!("{e} ({cause})"),
        None => e.to_string(),
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
    let outcome = outcome.map_quoted(|m| secrets.shown(&m));
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
        Err(e) => return Outcome::Error(e),
    };
    let url = match http::resolve(&base, &provider.check_path()) {
        Ok(u) => u,
        Err(why) => return Outcome::Error(Error::user(why)),
    };
    let mut request = Request::get(url);
    if let Ok(method) = reqwest::Method::from_bytes(provider.check_method().as_bytes()) {
        request.method = method;
    }
    request.body = provider
        .check_body()
        .map(|b| http::Body::Bytes(b.as_bytes().to_vec()));
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
        return Outcome::Offsite {
            provider: provider.display_name(),
            status,
            to,
        };
    }
    if sent.limited.is_some() && status == 429 {
        return Outcome::RateLimited {
            provider: provider.display_name(),
            retry_after: http::retry::retry_after(sent.response.headers()),
        };
    }
    // Where the answer came from (after same-origin redirects), without
    // the key if it rides in the query.
    let mut answered = sent.response.url().clone();
    http::pipeline::without_auth_query(&mut answered, &auth);
    let body = read_prefix(sent.response);
    match provider.judge(status, &body) {
        Verdict::Valid(_) if answers_without_key(client, &request, &answered, provider) => {
            Outcome::NoKeyNeeded {
                provider: provider.display_name(),
                url: http::display_url(&answered),
                status,
            }
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
/// followed), is accepted too (a 2xx the provider judges valid): then the
/// check's answer proves nothing about the key.
fn answers_without_key(
    client: &Client,
    request: &Request,
    url: &reqwest::Url,
    provider: &dyn Provider,
) -> bool {
    let mut bare = client.request(request.method.clone(), url.clone());
    for (name, value) in &request.headers {
        bare = bare.header(name, value);
    }
    if let Some(body) = request.body.as_ref().and_then(|b| b.bytes()) {
        bare = bare.body(body.to_vec());
    }
    bare.send().is_ok_and(|r| {
        let status = r.status().as_u16();
        r.status().is_success()
            && matches!(provider.judge(status, &read_prefix(r)), Verdict::Valid(_))
    })
}

/// The first 64 KiB of a body: enough to name the user or quote an error.
fn read_prefix(response: reqwest::blocking::Response) -> Vec<u8> {
    use std::io::Read;
    let mut body = Vec::new();
    let _ = response.take(64 * 1024).read_to_end(&mut body);
    body
}

/// No usable answer: the network's failure, or the request's or answer's.
fn network(provider: &dyn Provider, error: SendError) -> Outcome {
    if !error.is_network() {
        return Outcome::Unsent(error);
    }
    let said = match &error {
        SendError::Dns { host, .. } => provider.dns_failure(host),
        _ => None,
    };
    Outcome::Network {
        slow: error.is_timeout(),
        error,
        said,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::ProviderConfig;

    #[test]
    fn errors_say_what_happened_and_keep_the_exit_code() {
        let config = ProviderConfig::catalog(
            "paligo",
            &[("instance", "acme"), ("username", "me@acme.com")],
        )
        .unwrap();
        let paligo = config.provider();
        let err =
            Outcome::Unconfirmed("could not confirm the key: Paligo answered HTTP 500: x".into())
                .into_error(paligo);
        assert_eq!(err.exit(), Exit::HttpStatus);
        assert!(
            err.message.starts_with("could not confirm"),
            "{}",
            err.message
        );

        let refused = || SendError::Refused {
            host: "127.0.0.1".into(),
            source: Box::new(std::io::Error::other("tcp connect error")),
        };
        let err = Outcome::Network {
            error: refused(),
            slow: false,
            said: None,
        }
        .into_error(paligo);
        assert_eq!(err.exit(), Exit::Network);
        assert_eq!(
            err.message,
            "could not check the key with Paligo: 127.0.0.1 refused the connection (tcp connect error)"
        );
        // The send error stays typed under the message.
        assert!(err.is::<SendError>());

        let err = Outcome::Network {
            error: SendError::Timeout {
                host: "127.0.0.1".into(),
                after: Duration::from_secs(1),
                source: None,
            },
            slow: true,
            said: None,
        }
        .into_error(paligo);
        assert!(err.hints[0].contains(TIMEOUT_ENV), "{:?}", err.hints);

        let err =
            Outcome::Rejected("Paligo rejected the username or API key".into()).into_error(paligo);
        assert_eq!(err.exit(), Exit::Rejected);
        assert_eq!(err.message, "Paligo rejected the username or API key");

        assert_eq!(Outcome::Error(Error::user("bad")).exit(), Exit::Failure);
        assert_eq!(Outcome::NotFound("x".into()).exit(), Exit::Failure);
        let limited = Outcome::RateLimited {
            provider: "Paligo",
            retry_after: Some(Duration::from_secs(30)),
        };
        assert_eq!(limited.exit(), Exit::RateLimited);
        assert_eq!(
            limited.message(),
            "Paligo is rate limiting requests (HTTP 429, retry after 30 s)"
        );
    }

    #[test]
    fn an_outcome_that_carries_an_error_is_that_error() {
        let config = ProviderConfig::catalog(
            "paligo",
            &[("instance", "acme"), ("username", "me@acme.com")],
        )
        .unwrap();
        let paligo = config.provider();
        let store = Error::store("cannot reach the OS keychain")
            .cause("no bus")
            .hint("set CRED_SECRET_X");
        let outcome = Outcome::Store(store.clone());
        assert_eq!(outcome.id(), "store-unavailable");
        assert_eq!(outcome.exit(), Exit::Store);
        assert!(!outcome.was_checked());
        assert_eq!(outcome.into_error(paligo).render(), store.render());

        let unsent = Outcome::Unsent(SendError::UnsendableKey);
        assert_eq!(unsent.id(), "error");
        assert_eq!(unsent.exit(), Exit::Failure);
        assert!(
            unsent
                .message()
                .starts_with("could not check the key: the API key cannot be sent in a header ("),
            "{}",
            unsent.message()
        );
        let err = unsent.into_error(paligo);
        assert!(err.is::<SendError>());
        // The source repeats the message: no cause line says it again.
        assert!(err.cause_lines().is_empty(), "{:?}", err.cause_lines());
    }

    #[test]
    fn quoted_text_is_masked_and_escaped_typed_parts_are_not_touched() {
        let mapped = Outcome::Offsite {
            provider: "Paligo",
            status: 302,
            to: "https://evil.example".into(),
        }
        .map_quoted(|t| t.replace("evil", "****"));
        assert_eq!(mapped.id(), "unconfirmed");
        assert!(
            mapped
                .message()
                .contains("redirecting to https://****.example")
        );
        let coding = Outcome::Unsent(SendError::TransferCoding {
            status: 200,
            coding: "evil, chunked".into(),
        })
        .map_quoted(|t| t.replace("evil", "****"));
        assert!(
            coding.message().contains("`****, chunked`"),
            "{}",
            coding.message()
        );
        let shown = Outcome::Rejected("bad\u{1b}[2Jkey".into()).message();
        assert!(!shown.contains('\u{1b}'), "{shown}");
    }
}
