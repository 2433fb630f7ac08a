//! Settings read from environment variables that every part of cred reads
//! the same way: today, a number of seconds (`CRED_CHECK_TIMEOUT`,
//! `CRED_STORE_TIMEOUT`), with one error that names the variable.

use std::time::Duration;

use crate::error::{Error, Result};

/// The most seconds a variable read by [`seconds`] may ask for: an hour.
pub const MAX_SECONDS: f64 = 3600.0;

/// The value of `var`, seconds (fractions allowed, more than 0, at most an
/// hour), or `default` when it is unset or empty.
pub fn seconds(var: &str, default: Duration) -> Result<Duration> {
    match std::env::var_os(var) {
        None => Ok(default),
        Some(raw) => parse_seconds(var, &raw.to_string_lossy(), default),
    }
}

/// [`seconds`] on a value already read: `raw` is what `var` holds.
pub fn parse_seconds(var: &str, raw: &str, default: Duration) -> Result<Duration> {
    let text = raw.trim();
    if text.is_empty() {
        return Ok(default);
    }
    text.parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0 && *s <= MAX_SECONDS)
        .map(Duration::from_secs_f64)
        .ok_or_else(|| {
            Error::user(format!(
                "{var}=`{}` is not a number of seconds (more than 0, at most 3600)",
                crate::escape::visible(text)
            ))
            .hint(format!("set {var} to seconds, e.g. 30, or unset it"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Exit;

    const DEFAULT: Duration = Duration::from_secs(7);

    #[test]
    fn seconds_whole_fractions_and_the_default() {
        let parse = |raw| parse_seconds("X_TIMEOUT", raw, DEFAULT).unwrap();
        assert_eq!(parse(""), DEFAULT);
        assert_eq!(parse("  "), DEFAULT);
        assert_eq!(parse(" 5 "), Duration::from_secs(5));
        assert_eq!(parse("0.25"), Duration::from_millis(250));
        assert_eq!(parse("3600"), Duration::from_secs(3600));
    }

    #[test]
    fn a_bad_value_names_the_variable_in_one_wording() {
        for bad in ["0", "-1", "soon", "NaN", "inf", "3601", "1e9", "5s"] {
            let err = parse_seconds("X_TIMEOUT", bad, DEFAULT).unwrap_err();
            assert_eq!(
                err.message,
                format!("X_TIMEOUT=`{bad}` is not a number of seconds (more than 0, at most 3600)"),
            );
            assert_eq!(err.exit(), Exit::Failure);
            assert_eq!(
                err.hints,
                vec!["set X_TIMEOUT to seconds, e.g. 30, or unset it".to_string()]
            );
        }
    }

    #[test]
    fn control_characters_in_a_value_are_shown_escaped() {
        let err = parse_seconds("X_TIMEOUT", "5\u{1b}[2J", DEFAULT).unwrap_err();
        assert!(!err.message.contains('\u{1b}'), "{}", err.message);
    }
}
