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

/// Writes a text body to a terminal: C0 controls (but line breaks, carriage
/// returns and tabs), DEL and C1 shown escaped, every other byte as it
/// came. Works on bytes, so a character split between two writes is fine.
pub struct TerminalText<W: std::io::Write> {
    inner: W,
    /// A 0xC2 byte whose follower (a C1 control, or not) has not come yet.
    held: bool,
}

impl<W: std::io::Write> TerminalText<W> {
    pub fn new(inner: W) -> Self {
        TerminalText { inner, held: false }
    }
}

impl<W: std::io::Write> std::io::Write for TerminalText<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut out = Vec::with_capacity(buf.len() + 16);
        for &b in buf {
            if std::mem::take(&mut self.held) {
                if (0x80..=0x9f).contains(&b) {
                    let _ = write!(out_str(&mut out), "\\u{{{b:x}}}");
                } else {
                    out.extend_from_slice(&[0xc2, b]);
                }
                continue;
            }
            match b {
                0xc2 => self.held = true,
                b'\n' | b'\r' | b'\t' => out.push(b),
                0..=0x1f | 0x7f => {
                    let _ = write!(out_str(&mut out), "\\x{b:02x}");
                }
                _ => out.push(b),
            }
        }
        self.inner.write_all(&out)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A `fmt::Write` view of a byte buffer (ASCII escapes only).
fn out_str(out: &mut Vec<u8>) -> impl std::fmt::Write + '_ {
    struct Bytes<'a>(&'a mut Vec<u8>);
    impl std::fmt::Write for Bytes<'_> {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            self.0.extend_from_slice(s.as_bytes());
            Ok(())
        }
    }
    Bytes(out)
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
    fn text_for_a_terminal_is_escaped_byte_by_byte() {
        use std::io::Write;
        let body = "ok\r\n\x1b[2J é \u{9b}31m\x07".as_bytes();
        for cut in 0..=body.len() {
            let mut t = TerminalText::new(Vec::new());
            t.write_all(&body[..cut]).unwrap();
            t.write_all(&body[cut..]).unwrap();
            assert_eq!(
                String::from_utf8(t.inner).unwrap(),
                "ok\r\n\\x1b[2J é \\u{9b}31m\\x07",
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn values_with_controls_are_found() {
        assert_eq!(control_in("fine value"), None);
        assert_eq!(control_in("bad\x1bvalue").as_deref(), Some("\\x1b"));
        assert_eq!(control_in("two\nlines").as_deref(), Some("\"\\n\""));
    }
}
