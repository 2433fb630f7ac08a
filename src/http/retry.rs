//! When an answer is waited out and the request sent again: a
//! [`RetryPolicy`] value decides, from the method, the status and the
//! server's `Retry-After`, whether to wait (and how long) or to hand the
//! answer back, and why ([`Limited`]).
//!
//! Whatever a server says, waits are capped ([`MAX_RETRY_AFTER`]) and all
//! time arithmetic saturates: no `Retry-After` can make cred panic.

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
}

impl RetryPolicy {
    /// No retries at all.
    pub fn never() -> Self {
        RetryPolicy {
            retries: 0,
            max_wait: Duration::ZERO,
            default_wait: Duration::ZERO,
            unsafe_methods: false,
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
        let retryable = status == 429 || (status == 503 && retry_after.is_some());
        if !retryable {
            return Decision::Done(None);
        }
        if !self.retries_method(method) {
            return Decision::Done(Some(Limited::Unsafe(method.clone())));
        }
        if attempt >= self.retries {
            return Decision::Done(Some(Limited::RetriesOut(attempt)));
        }
        let wait = retry_after.unwrap_or(self.default_wait);
        if waited.saturating_add(wait) > self.max_wait {
            return Decision::Done(Some(Limited::MaxWait {
                wait,
                max: self.max_wait,
            }));
        }
        Decision::Wait(wait)
    }
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
    /// The next wait would pass the allowed total.
    MaxWait { wait: Duration, max: Duration },
}

impl Limited {
    pub fn cause(&self) -> String {
        match self {
            Limited::Unsafe(m) => {
                format!("not retried: {m} is not idempotent, so sending it again might act twice")
            }
            Limited::RetriesOut(n) => {
                let s = if *n == 1 { "retry" } else { "retries" };
                format!("still limited after {n} {s}")
            }
            Limited::MaxWait { wait, max } => format!(
                "the server asks to wait {} s, which would pass --max-wait {}",
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
        let when = humantime::parse_rfc3339_weak(v)
            .ok()
            .or_else(|| httpdate(v))?;
        when.duration_since(SystemTime::now()).unwrap_or_default()
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

/// Parses an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn httpdate(v: &str) -> Option<SystemTime> {
    let parts: Vec<&str> = v.split_whitespace().collect();
    if parts.len() != 6 || parts[5] != "GMT" {
        return None;
    }
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| *m == parts[2])? + 1;
    let text = format!(
        "{}-{:02}-{:02}T{}Z",
        parts[3],
        month,
        parts[1].parse::<u8>().ok()?,
        parts[4]
    );
    humantime::parse_rfc3339(&text).ok()
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
        assert_eq!(
            retry_after(&headers("Sun, 06 Nov 1994 08:49:37 GMT")),
            Some(Duration::ZERO)
        );
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
        assert_eq!(
            policy.decide(&Method::GET, 429, &none, 0, Duration::ZERO),
            Decision::Wait(Duration::from_secs(1))
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
}
