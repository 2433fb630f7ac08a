//! Text from servers, files and flags never drives the terminal (SPEC §5).
//!
//! [`visible`] shows C0 and C1 control characters and DEL escaped (`\x1b`,
//! `\u{9b}`), keeping line breaks and tabs; `Ui` passes every message,
//! warning, error and `-v` line through it, and check results are stored
//! that way. [`json_visible`] does the same for JSON text, with JSON's own
//! escapes, so `--json` output stays valid JSON. [`control_in`] finds a
//! control character in a value that must have none (a flag, a field of
//! config.toml).

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` would be taken as a terminal control: C0 (but line break
/// and tab), DEL, C1.
fn is_control(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || ('\u{80}'..='\u{9f}').contains(&c)
}

/// `text` with every control character shown escaped.
pub fn visible(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_control(c) {
            if (c as u32) < 0x80 {
                let _ = write!(out, "\\x{:02x}", c as u32);
            } else {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// JSON text with DEL and C1 characters (which JSON allows raw) written as
/// `\u00XX` escapes; serde_json already escapes C0.
pub fn json_visible(json: &str) -> Cow<'_, str> {
    if !json
        .chars()
        .any(|c| c == '\u{7f}' || ('\u{80}'..='\u{9f}').contains(&c))
    {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 8);
    for c in json.chars() {
        if c == '\u{7f}' || ('\u{80}'..='\u{9f}').contains(&c) {
            let _ = write!(out, "\\u{:04x}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The first control character in a value that must hold none (line
/// breaks and tabs included), for an error that names it.
pub fn control_in(value: &str) -> Option<String> {
    value
        .chars()
        .find(|c| c.is_control() || ('\u{80}'..='\u{9f}').contains(c))
        .map(|c| visible(&c.to_string()).into_owned())
        .map(|shown| {
            if shown.len() == 1 {
                format!("{:?}", shown)
            } else {
                shown
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_are_shown_escaped() {
        assert_eq!(visible("plain\ttext\n"), "plain\ttext\n");
        assert_eq!(
            visible("a\x1b]52;c;ZXZpbA==\x07b"),
            "a\\x1b]52;c;ZXZpbA==\\x07b"
        );
        assert_eq!(visible("x\u{9b}2Jy\u{7f}"), "x\\u{9b}2Jy\\x7f");
    }

    #[test]
    fn json_stays_json() {
        let v = serde_json::json!({"name": "a\u{9b}b\u{1b}c\u{7f}"});
        let text = serde_json::to_string(&v).unwrap();
        let safe = json_visible(&text);
        assert!(!safe.chars().any(is_control), "{safe}");
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn values_with_controls_are_found() {
        assert_eq!(control_in("fine value"), None);
        assert_eq!(control_in("bad\x1bvalue").as_deref(), Some("\\x1b"));
        assert_eq!(control_in("two\nlines").as_deref(), Some("\"\\n\""));
    }
}
