//! When an answer is waited out and the request sent again: a
//! [`RetryPolicy`] value decides, from the method, the status and the
//! server's `Retry-After` (or the provider's own rate-limit header), whether
//! to wait (and how long) or to hand the answer back, and why ([`Limited`]).
//! Transient failures (a connection reset, 502, 503, 504) are retried with
//! exponential backoff and jitter when the policy has a `backoff`.
//!
//! Whatever a server says, waits are capped ([`MAX_RETRY_AFTER`]) and all
//! time arithmetic saturates: no `Retry-After` can make cred panic. Dates
//! are read by the `httpdate` crate (all three forms of RFC 9110).

use std::time::{Duration, SystemTime};

use reqwest::Method;
use reqwest::header::HeaderMap;

/// The longest wait a single `Retry-After` is taken to ask for. Longer
/// values (up to `u64::MAX` seconds) are read as this, and then refused by
/// `--max-wait` as any long wait is.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

/// How a request is retried after 429, or 503 with `Retry-After`.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// How many times a request may be sent again.
    pub retries: u32,
    /// The most time spent waiting in all.
    pub max_wait: Duration,
    /// The wait for a 429 that does not say how long.
    pub default_wait: Duration,
    /// Retry POST and PATCH too (`--retry-unsafe`).
    pub unsafe_methods: bool,
    /// The first wait before retrying a transient failure (a reset
    /// connection, 502, 503 or 504 without `Retry-After`), doubled on each
    /// retry, with jitter; zero: transient failures are not retried.
    pub backoff: Duration,
    /// The provider's reading of its own rate-limit headers, for a 429
    /// without `Retry-After` (Paymo: `X-Ratelimit-Decay-Period`).
    pub provider_wait: Option<fn(&HeaderMap) -> Option<Duration>>,
}

/// Why a request is sent again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retryable {
    /// The answer's status (429, 502, 503, 504).
    Status(u16),
    /// The connection broke before an answer came.
    Reset,
}

impl std::fmt::Display for Retryable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Retryable::Status(s) => write!(f, "HTTP {s}"),
            Retryable::Reset => f.write_str("connection reset"),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn never() -> Self {
        RetryPolicy {
            retries: 0,
            max_wait: Duration::ZERO,
            default_wait: Duration::ZERO,
            unsafe_methods: false,
            backoff: Duration::ZERO,
            provider_wait: None,
        }
    }

    fn retries_method(&self, method: &Method) -> bool {
        self.unsafe_methods
            || matches!(
                *method,
                Method::GET
                    | Method::HEAD
                    | Method::PUT
                    | Method::DELETE
                    | Method::OPTIONS
                    | Method::TRACE
            )
    }

    /// What to do with an answer, after `attempt` retries and `waited` in all.
    pub fn decide(
        &self,
        method: &Method,
        status: u16,
        headers: &HeaderMap,
        attempt: u32,
        waited: Duration,
    ) -> Decision {
        let retry_after = retry_after(headers);
        // Whether the server named the wait, or cred chose it.
        let (wait, asked) = match (status, retry_after) {
            (429 | 503, Some(w)) => (w, true),
            (429, None) => match self.provider_wait.and_then(|f| f(headers)) {
                Some(w) => (w.min(MAX_RETRY_AFTER), true),
                None => (self.backoff_wait(attempt, self.default_wait), false),
            },
            (502..=504, None) if !self.backoff.is_zero() => {
                (self.backoff_wait(attempt, self.backoff), false)
            }
            _ => return Decision::Done(None),
        };
        self.bounded(method, wait, asked, attempt, waited)
    }

    /// What to do when the connection broke before an answer came
    /// (`Done(None)`: report the failure).
    pub fn decide_reset(&self, method: &Method, attempt: u32, waited: Duration) -> Decision {
        if self.backoff.is_zero() || !self.retries_method(method) {
            return Decision::Done(None);
        }
        match self.bounded(
            method,
            self.backoff_wait(attempt, self.backoff),
            false,
            attempt,
            waited,
        ) {
            Decision::Wait(w) => Decision::Wait(w),
            Decision::Done(_) => Decision::Done(None),
        }
    }

    /// `wait` (`asked` by the server, or chosen by cred) if the method, the
    /// retries and `--max-wait` allow it.
    fn bounded(
        &self,
        method: &Method,
        wait: Duration,
        asked: bool,
        attempt: u32,
        waited: Duration,
    ) -> Decision {
        if !self.retries_method(method) {
            return Decision::Done(Some(Limited::Unsafe(method.clone())));
        }
        if attempt >= self.retries {
            return Decision::Done(Some(Limited::RetriesOut(attempt)));
        }
        if waited.saturating_add(wait) > self.max_wait {
            return Decision::Done(Some(Limited::MaxWait {
                wait,
                max: self.max_wait,
                asked,
            }));
        }
        Decision::Wait(wait)
    }

    /// Exponential backoff from `base` (doubled per retry, at most 2^6
    /// times), with jitter: between half and all of it.
    fn backoff_wait(&self, attempt: u32, base: Duration) -> Duration {
        let full = base.saturating_mul(1u32 << attempt.min(6));
        full.mul_f64(0.5 + jitter() / 2.0).min(MAX_RETRY_AFTER)
    }
}

/// A number in [0, 1) that differs between calls and processes (no
/// cryptographic quality needed: it only spreads retries out).
fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// The policy's answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Hand the answer back; `Some` says why a 429/503 was not waited out.
    Done(Option<Limited>),
    /// Wait this long, then send the request again.
    Wait(Duration),
}

/// Why a 429/503 answer was handed back instead of waited out.
#[derive(Debug, Clone, PartialEq)]
pub enum Limited {
    /// POST or PATCH without `--retry-unsafe`: repeating it might act twice.
    Unsafe(Method),
    /// That many retries were made.
    RetriesOut(u32),
    /// The next wait would pass the allowed total; `asked`: the server
    /// named it (`Retry-After`, a provider's header), else cred chose it.
    MaxWait {
        wait: Duration,
        max: Duration,
        asked: bool,
    },
}

impl Limited {
    pub fn cause(&self) -> String {
        match self {
            Limited::Unsafe(m) => {
                format!("not retried: {m} is not idempotent, so sending it again might act twice")
            }
            Limited::RetriesOut(n) => {
                let s = if *n == 1 { "retry" } else { "retries" };
                format!("still failing after {n} {s}")
            }
            Limited::MaxWait {
                wait,
                max,
                asked: true,
            } => format!(
                "the server asks to wait {} s, which would pass --max-wait {}",
                wait.as_secs_f64().ceil(),
                max.as_secs()
            ),
            Limited::MaxWait { wait, max, .. } => format!(
                "the server named no wait (no Retry-After); cred would wait {} s before retrying, which would pass --max-wait {}",
                wait.as_secs_f64().ceil(),
                max.as_secs()
            ),
        }
    }

    pub fn hint(&self) -> &'static str {
        match self {
            Limited::Unsafe(_) => {
                "if sending it twice is harmless, pass --retry-unsafe to wait out Retry-After and retry"
            }
            _ => "try again later, or raise --retries / --max-wait",
        }
    }
}

/// How long a 429/503 asks to wait (`Retry-After: SECONDS` or an HTTP
/// date), at most [`MAX_RETRY_AFTER`].
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let v = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    let wait = if v.bytes().all(|b| b.is_ascii_digit()) && !v.is_empty() {
        // More digits than a u64 holds is still "very long".
        Duration::from_secs(v.parse::<u64>().unwrap_or(u64::MAX))
    } else {
        // An HTTP date in any of RFC 9110's three forms, or (leniently)
        // an RFC 3339 time.
        let when = httpdate::parse_http_date(v)
            .ok()
            .or_else(|| humantime::parse_rfc3339_weak(v).ok())?;
        when.duration_since(SystemTime::now()).unwrap_or_default()
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(retry_after: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static(retry_after));
        h
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(retry_after(&headers("7")), Some(Duration::from_secs(7)));
        for past in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
            "1994-11-06T08:49:37Z",
        ] {
            assert_eq!(retry_after(&headers(past)), Some(Duration::ZERO), "{past}");
        }
        // A date ahead: the wait until then, capped at a day.
        let soon = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(120));
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_str(&soon).unwrap());
        let wait = retry_after(&h).unwrap();
        assert!(
            wait > Duration::from_secs(100) && wait <= Duration::from_secs(120),
            "{wait:?}"
        );
        let far = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(90 * 86_400));
        h.insert("retry-after", HeaderValue::from_str(&far).unwrap());
        assert_eq!(retry_after(&h), Some(MAX_RETRY_AFTER));
        assert_eq!(retry_after(&headers("soon")), None);
    }

    #[test]
    fn huge_retry_after_is_capped_not_a_panic() {
        for v in ["18446744073709551615", "99999999999999999999999"] {
            assert_eq!(retry_after(&headers(v)), Some(MAX_RETRY_AFTER));
        }
        let policy = RetryPolicy {
            retries: 3,
            max_wait: Duration::from_secs(60),
            default_wait: Duration::from_secs(1),
            unsafe_methods: false,
            backoff: Duration::ZERO,
            provider_wait: None,
        };
        let d = policy.decide(
            &Method::GET,
            429,
            &headers("18446744073709551615"),
            1,
            Duration::from_secs(1),
        );
        assert!(
            matches!(d, Decision::Done(Some(Limited::MaxWait { .. }))),
            "{d:?}"
        );
        // Even a total that would overflow saturates.
        let d = policy.decide(&Method::GET, 429, &headers("1"), 1, Duration::MAX);
        assert!(
            matches!(d, Decision::Done(Some(Limited::MaxWait { .. }))),
            "{d:?}"
        );
    }

    #[test]
    fn decisions() {
        let policy = RetryPolicy {
            retries: 2,
            max_wait: Duration::from_secs(10),
            default_wait: Duration::from_secs(1),
            unsafe_methods: false,
            backoff: Duration::ZERO,
            provider_wait: None,
        };
        let none = HeaderMap::new();
        assert_eq!(
            policy.decide(&Method::GET, 200, &none, 0, Duration::ZERO),
            Decision::Done(None)
        );
        assert_eq!(
            policy.decide(&Method::GET, 503, &none, 0, Duration::ZERO),
            Decision::Done(None)
        );
        // A 429 without Retry-After backs off from default_wait, jittered.
        let Decision::Wait(w) = policy.decide(&Method::GET, 429, &none, 0, Duration::ZERO) else {
            panic!("a 429 is waited out")
        };
        assert!(
            w >= Duration::from_millis(500) && w <= Duration::from_secs(1),
            "{w:?}"
        );
        assert_eq!(
            policy.decide(&Method::POST, 429, &none, 0, Duration::ZERO),
            Decision::Done(Some(Limited::Unsafe(Method::POST)))
        );
        assert_eq!(
            policy.decide(&Method::GET, 429, &none, 2, Duration::ZERO),
            Decision::Done(Some(Limited::RetriesOut(2)))
        );
    }

    #[test]
    fn transient_failures_back_off_exponentially() {
        let policy = RetryPolicy {
            retries: 5,
            max_wait: Duration::from_secs(60),
            default_wait: Duration::from_secs(1),
            unsafe_methods: false,
            backoff: Duration::from_millis(100),
            provider_wait: None,
        };
        let none = HeaderMap::new();
        for status in [502, 503, 504] {
            for attempt in 0..4 {
                let Decision::Wait(w) =
                    policy.decide(&Method::GET, status, &none, attempt, Duration::ZERO)
                else {
                    panic!("{status} is retried")
                };
                let full = Duration::from_millis(100 * (1 << attempt));
                assert!(w >= full / 2 && w <= full, "{status} {attempt}: {w:?}");
            }
        }
        assert_eq!(
            policy.decide(&Method::GET, 500, &none, 0, Duration::ZERO),
            Decision::Done(None)
        );
        assert!(matches!(
            policy.decide_reset(&Method::GET, 0, Duration::ZERO),
            Decision::Wait(_)
        ));
        assert_eq!(
            policy.decide_reset(&Method::POST, 0, Duration::ZERO),
            Decision::Done(None)
        );
        assert_eq!(
            policy.decide(&Method::POST, 502, &none, 0, Duration::ZERO),
            Decision::Done(Some(Limited::Unsafe(Method::POST)))
        );
        // Without a backoff (the live checks), no transient retries.
        let never = RetryPolicy {
            backoff: Duration::ZERO,
            ..policy
        };
        assert_eq!(
            never.decide(&Method::GET, 502, &none, 0, Duration::ZERO),
            Decision::Done(None)
        );
        assert_eq!(
            never.decide_reset(&Method::GET, 0, Duration::ZERO),
            Decision::Done(None)
        );
    }

    #[test]
    fn a_429_without_retry_after_asks_the_provider() {
        fn seven(_: &HeaderMap) -> Option<Duration> {
            Some(Duration::from_secs(7))
        }
        let policy = RetryPolicy {
            retries: 3,
            max_wait: Duration::from_secs(60),
            default_wait: Duration::from_secs(1),
            unsafe_methods: false,
            backoff: Duration::ZERO,
            provider_wait: Some(seven),
        };
        assert_eq!(
            policy.decide(&Method::GET, 429, &HeaderMap::new(), 0, Duration::ZERO),
            Decision::Wait(Duration::from_secs(7))
        );
        // Retry-After still wins.
        assert_eq!(
            policy.decide(&Method::GET, 429, &headers("2"), 0, Duration::ZERO),
            Decision::Wait(Duration::from_secs(2))
        );
    }
}
