//! Text from servers, files and flags never drives the terminal (SPEC §5),
//! and never shows other than it reads (SPEC §7, hostile input).
//!
//! [`visible`] shows C0 and C1 control characters, DEL and Unicode format
//! characters (category Cf: bidi controls such as U+202E, which make
//! `invoice \u{202e}gnp.exe` look like `invoice exe.png`, zero-width
//! characters, the BOM) escaped (`\x1b`, `\u{9b}`, `\u{202e}`), keeping
//! line breaks and tabs; `Ui` passes every message,
//! warning, error and `-v` line through it, and check results are stored
//! that way. [`json_visible`] does the same for JSON text, with JSON's own
//! escapes, so `--json` output stays valid JSON. [`control_in`] finds a
//! control character in a value that must have none (a flag, a field of
//! config.toml).

use std::borrow::Cow;
use std::fmt::Write as _;

/// Whether `c` would be taken as a terminal control: C0 (but line break
/// and tab), DEL, C1; or is a format character.
fn is_control(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t') || ('\u{80}'..='\u{9f}').contains(&c) || is_format(c)
}

/// Unicode's format characters (general category Cf, Unicode 15.1):
/// invisible, and some (the bidi controls) reorder the text around them.
pub fn is_format(c: char) -> bool {
    matches!(c,
        '\u{ad}'
        | '\u{600}'..='\u{605}'
        | '\u{61c}'
        | '\u{6dd}'
        | '\u{70f}'
        | '\u{890}'..='\u{891}'
        | '\u{8e2}'
        | '\u{180e}'
        | '\u{200b}'..='\u{200f}'
        | '\u{202a}'..='\u{202e}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{206f}'
        | '\u{feff}'
        | '\u{fff9}'..='\u{fffb}'
        | '\u{110bd}'
        | '\u{110cd}'
        | '\u{13430}'..='\u{1343f}'
        | '\u{1bca0}'..='\u{1bca3}'
        | '\u{1d173}'..='\u{1d17a}'
        | '\u{e0001}'
        | '\u{e0020}'..='\u{e007f}')
}

/// The bidi controls: embeddings, overrides and isolates.
fn is_bidi(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{61c}')
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

/// JSON text with DEL, C1 and format characters (which JSON allows raw)
/// written as `\uXXXX` escapes (a surrogate pair above U+FFFF); serde_json
/// already escapes C0. The strings mean the same; only their look changes.
pub fn json_visible(json: &str) -> Cow<'_, str> {
    let raw = |c: char| c == '\u{7f}' || ('\u{80}'..='\u{9f}').contains(&c) || is_format(c);
    if !json.chars().any(raw) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 8);
    for c in json.chars() {
        if raw(c) {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{:04x}", u);
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The first control or format character in a value that must hold none
/// (line breaks and tabs included), for an error that names it: shown
/// escaped, and what a format character does.
pub fn control_in(value: &str) -> Option<String> {
    let c = value
        .chars()
        .find(|&c| c.is_control() || ('\u{80}'..='\u{9f}').contains(&c) || is_format(c))?;
    let shown = visible(&c.to_string()).into_owned();
    Some(if shown.len() == 1 {
        format!("{:?}", shown)
    } else if is_bidi(c) {
        format!("{shown}, a bidi control: it reorders how the text around it is shown")
    } else if is_format(c) {
        format!("{shown}, an invisible format character")
    } else {
        shown
    })
}

/// Writes a text body to a terminal: C0 controls (but line breaks, carriage
/// returns and tabs), DEL, C1 and format characters (bidi controls,
/// zero-width characters) shown escaped, every other byte as it came.
/// Works on bytes, so a character split between two writes is fine.
pub struct TerminalText<W: std::io::Write> {
    inner: W,
    /// The start of a multi-byte character whose last bytes have not come.
    held: [u8; 4],
    len: usize,
}

impl<W: std::io::Write> TerminalText<W> {
    pub fn new(inner: W) -> Self {
        TerminalText {
            inner,
            held: [0; 4],
            len: 0,
        }
    }
}

/// How many bytes the UTF-8 character that `lead` begins has.
fn utf8_len(lead: u8) -> usize {
    match lead {
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

/// One whole multi-byte character: escaped when it is C1 or a format
/// character, else as it came (also when it is not valid UTF-8).
fn char_for_terminal(bytes: &[u8], out: &mut Vec<u8>) {
    let c = std::str::from_utf8(bytes)
        .ok()
        .and_then(|s| s.chars().next());
    match c {
        Some(c) if ('\u{80}'..='\u{9f}').contains(&c) || is_format(c) => {
            let _ = write!(out_str(out), "\\u{{{:x}}}", c as u32);
        }
        _ => out.extend_from_slice(bytes),
    }
}

impl<W: std::io::Write> std::io::Write for TerminalText<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut out = Vec::with_capacity(buf.len() + 16);
        for &b in buf {
            if self.len > 0 {
                if b & 0xc0 == 0x80 {
                    self.held[self.len] = b;
                    self.len += 1;
                    if self.len == utf8_len(self.held[0]) {
                        char_for_terminal(&self.held[..self.len], &mut out);
                        self.len = 0;
                    }
                    continue;
                }
                // Not a character after all: its bytes as they came.
                out.extend_from_slice(&self.held[..self.len]);
                self.len = 0;
            }
            match b {
                0xc2..=0xf4 => {
                    self.held[0] = b;
                    self.len = 1;
                }
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

/// `s` as one word for a POSIX shell: as it is when every character is
/// plain (letters, digits, `/ . _ - : = , @ + %`), else in single quotes
/// (`/v1/customers?limit=3` would be a glob to zsh).
pub fn shell_word(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-:=,@+%".contains(c));
    if plain {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shell_word_is_quoted_only_where_a_shell_would_read_it_otherwise() {
        assert_eq!(shell_word("/user/repos"), "/user/repos");
        assert_eq!(
            shell_word("/v1/customers?limit=3"),
            "'/v1/customers?limit=3'"
        );
        assert_eq!(shell_word("/a b"), "'/a b'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
    }

    #[test]
    fn controls_are_shown_escaped() {
        assert_eq!(visible("plain\ttext\n"), "plain\ttext\n");
        assert_eq!(
            visible("a\x1b]52;c;ZXZpbA==\x07b"),
            "a\\x1b]52;c;ZXZpbA==\\x07b"
        );
        assert_eq!(visible("x\u{9b}2Jy\u{7f}"), "x\\u{9b}2Jy\\x7f");
        assert_eq!(
            visible("invoice \u{202e}gnp.exe\u{200b}\u{e0001}"),
            "invoice \\u{202e}gnp.exe\\u{200b}\\u{e0001}"
        );
        assert_eq!(visible("café ☕ שלום"), "café ☕ שלום");
    }

    #[test]
    fn json_stays_json() {
        let v = serde_json::json!({"name": "a\u{9b}b\u{1b}c\u{7f}\u{202e}d\u{e0001}"});
        let text = serde_json::to_string(&v).unwrap();
        let safe = json_visible(&text);
        assert!(!safe.chars().any(is_control), "{safe}");
        assert!(
            safe.contains("\\u202e") && safe.contains("\\udb40\\udc01"),
            "{safe}"
        );
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn text_for_a_terminal_is_escaped_byte_by_byte() {
        use std::io::Write;
        let body = "ok\r\n\x1b[2J é \u{9b}31m\x07 \u{202e}gnp.exe \u{1f600}\u{e0001}".as_bytes();
        for cut in 0..=body.len() {
            let mut t = TerminalText::new(Vec::new());
            t.write_all(&body[..cut]).unwrap();
            t.write_all(&body[cut..]).unwrap();
            assert_eq!(
                String::from_utf8(t.inner).unwrap(),
                "ok\r\n\\x1b[2J é \\u{9b}31m\\x07 \\u{202e}gnp.exe \u{1f600}\\u{e0001}",
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn values_with_controls_are_found() {
        assert_eq!(control_in("fine value"), None);
        assert_eq!(control_in("bad\x1bvalue").as_deref(), Some("\\x1b"));
        assert_eq!(control_in("two\nlines").as_deref(), Some("\"\\n\""));
        let bidi = control_in("invoice \u{202e}gnp.exe").unwrap();
        assert!(bidi.starts_with("\\u{202e}, a bidi control"), "{bidi}");
        let zw = control_in("zero\u{200b}width").unwrap();
        assert!(zw.starts_with("\\u{200b}, an invisible"), "{zw}");
    }
}
