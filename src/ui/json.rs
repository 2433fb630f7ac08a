//! A streaming, token-level JSON pretty-printer for the terminal
//! ([`Pretty`]): it re-indents the tokens as they came, so numbers keep
//! their digits (`123456789012345678.99` stays so), duplicate keys and key
//! order stay, and memory is bounded by the nesting depth, not the size of
//! the answer. Control characters inside strings (C0, DEL, C1) are written
//! as `\u00XX` escapes, so a server's text cannot drive the terminal.
//!
//! It checks the structure as it goes (brackets, commas, colons, what may
//! stand where) and stops with an error at the first byte that cannot be
//! JSON; what was printed up to there stays printed.

use std::io::{self, Write};

/// The deepest nesting printed; deeper is an error (the stack is bounded).
pub const MAX_DEPTH: usize = 512;

const KEY: &str = "34";
const STRING: &str = "32";
const SCALAR: &str = "33";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frame {
    Object,
    Array,
}

/// What the next meaningful byte may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// A value (the document's, an array item or an object member's).
    Value,
    /// A value or `]` (just after `[`).
    ValueOrClose,
    /// A key or `}` (just after `{`).
    KeyOrClose,
    /// A key (after a comma in an object).
    Key,
    /// `:` after a key.
    Colon,
    /// `,` or the closing bracket, after a value.
    CommaOrClose,
    /// Only whitespace (the document's value is complete).
    End,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    /// Between tokens.
    None,
    /// Inside a string; `key` says whether it is an object key.
    Str { key: bool, escaped: bool },
    /// Inside a number or a literal (`true`, `false`, `null`).
    Scalar,
}

/// Pretty-prints the JSON text written to it onto `W`.
pub struct Pretty<W: Write> {
    inner: W,
    color: bool,
    stack: Vec<Frame>,
    expect: Expect,
    token: Token,
    /// An opened bracket whose newline waits for its first item (so an
    /// empty `[]` or `{}` stays on one line).
    open_pending: bool,
    /// The start of a multi-byte character inside a string, waiting for
    /// its last bytes: a C1 control or a format character (a bidi control,
    /// a zero-width space) is escaped, any other comes out as it was.
    held: [u8; 4],
    held_len: usize,
    /// Bytes seen (for the error's position).
    offset: u64,
    out: Vec<u8>,
}

impl<W: Write> Pretty<W> {
    pub fn new(inner: W, color: bool) -> Self {
        Pretty {
            inner,
            color,
            stack: Vec::new(),
            expect: Expect::Value,
            token: Token::None,
            open_pending: false,
            held: [0; 4],
            held_len: 0,
            offset: 0,
            out: Vec::with_capacity(8 * 1024),
        }
    }

    /// Ends the document: it must be complete. Returns the writer.
    pub fn finish(mut self) -> io::Result<W> {
        if self.token == Token::Scalar {
            self.end_scalar();
        }
        if self.expect != Expect::End || !matches!(self.token, Token::None) {
            self.flush_out()?;
            return Err(self.invalid("the JSON text ends early"));
        }
        self.out.push(b'\n');
        self.flush_out()?;
        self.inner.flush()?;
        Ok(self.inner)
    }

    fn invalid(&self, what: &str) -> io::Error {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{what} (at byte {})", self.offset),
        )
    }

    fn flush_out(&mut self) -> io::Result<()> {
        self.inner.write_all(&self.out)?;
        self.out.clear();
        Ok(())
    }

    fn paint_start(&mut self, code: &str) {
        if self.color {
            self.out.extend_from_slice(b"\x1b[");
            self.out.extend_from_slice(code.as_bytes());
            self.out.push(b'm');
        }
    }

    fn paint_end(&mut self) {
        if self.color {
            self.out.extend_from_slice(b"\x1b[0m");
        }
    }

    fn newline(&mut self) {
        self.out.push(b'\n');
        for _ in 0..self.stack.len() {
            self.out.extend_from_slice(b"  ");
        }
    }

    /// Before a value or key: the newline an opened bracket owes.
    fn before_item(&mut self) {
        if self.open_pending {
            self.open_pending = false;
            self.newline();
        }
    }

    /// What follows a complete value.
    fn after_value(&mut self) {
        self.expect = if self.stack.is_empty() {
            Expect::End
        } else {
            Expect::CommaOrClose
        };
    }

    fn end_scalar(&mut self) {
        self.paint_end();
        self.token = Token::None;
        self.after_value();
    }

    /// `{` or `[` where a value may start.
    fn open(&mut self, b: u8) -> io::Result<()> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(self.invalid("the JSON nests too deeply to print"));
        }
        self.before_item();
        self.out.push(b);
        let (frame, expect) = if b == b'{' {
            (Frame::Object, Expect::KeyOrClose)
        } else {
            (Frame::Array, Expect::ValueOrClose)
        };
        self.stack.push(frame);
        self.expect = expect;
        self.open_pending = true;
        Ok(())
    }

    /// `]` or `}` after an item: it must close what is open.
    fn close(&mut self, b: u8) -> io::Result<()> {
        let want = if b == b']' {
            Frame::Array
        } else {
            Frame::Object
        };
        if self.stack.last() != Some(&want) {
            return Err(self.invalid("a bracket closes what it did not open"));
        }
        self.stack.pop();
        self.newline();
        self.out.push(b);
        self.after_value();
        Ok(())
    }

    fn byte(&mut self, b: u8) -> io::Result<()> {
        match self.token {
            Token::Str { key, escaped } => {
                self.string_byte(b, key, escaped);
                return Ok(());
            }
            Token::Scalar => {
                if b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.') {
                    self.out.push(b);
                    return Ok(());
                }
                self.end_scalar();
            }
            Token::None => {}
        }
        if matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
            return Ok(());
        }
        match (self.expect, b) {
            (Expect::Value | Expect::ValueOrClose, b'{' | b'[') => self.open(b)?,
            (Expect::ValueOrClose, b']') | (Expect::KeyOrClose, b'}') => {
                self.stack.pop();
                self.open_pending = false;
                self.out.push(b);
                self.after_value();
            }
            (Expect::CommaOrClose, b']' | b'}') => self.close(b)?,
            (Expect::CommaOrClose, b',') => {
                self.out.push(b',');
                self.newline();
                self.expect = match self.stack.last() {
                    Some(Frame::Object) => Expect::Key,
                    _ => Expect::Value,
                };
            }
            (Expect::Colon, b':') => {
                self.out.extend_from_slice(b": ");
                self.expect = Expect::Value;
            }
            (Expect::Key | Expect::KeyOrClose, b'"') => {
                self.before_item();
                self.paint_start(KEY);
                self.out.push(b'"');
                self.token = Token::Str {
                    key: true,
                    escaped: false,
                };
            }
            (Expect::Value | Expect::ValueOrClose, b'"') => {
                self.before_item();
                self.paint_start(STRING);
                self.out.push(b'"');
                self.token = Token::Str {
                    key: false,
                    escaped: false,
                };
            }
            (Expect::Value | Expect::ValueOrClose, b'-' | b'0'..=b'9' | b't' | b'f' | b'n') => {
                self.before_item();
                self.paint_start(SCALAR);
                self.out.push(b);
                self.token = Token::Scalar;
            }
            _ => return Err(self.invalid("this is not valid JSON")),
        }
        Ok(())
    }

    fn string_byte(&mut self, b: u8, key: bool, escaped: bool) {
        if self.held_len > 0 {
            if b & 0xc0 == 0x80 {
                self.held[self.held_len] = b;
                self.held_len += 1;
                let want = match self.held[0] {
                    0xc0..=0xdf => 2,
                    0xe0..=0xef => 3,
                    _ => 4,
                };
                if self.held_len == want {
                    let bytes = &self.held[..want];
                    match std::str::from_utf8(bytes)
                        .ok()
                        .and_then(|t| t.chars().next())
                    {
                        Some(c)
                            if ('\u{80}'..='\u{9f}').contains(&c)
                                || crate::escape::is_format(c) =>
                        {
                            let mut units = [0u16; 2];
                            for u in c.encode_utf16(&mut units) {
                                self.out
                                    .extend_from_slice(format!("\\u{:04x}", u).as_bytes());
                            }
                        }
                        _ => self.out.extend_from_slice(bytes),
                    }
                    self.held_len = 0;
                }
                return;
            }
            // Not a whole character: its bytes as they came.
            self.out.extend_from_slice(&self.held[..self.held_len]);
            self.held_len = 0;
        }
        if escaped {
            self.out.push(b);
            self.token = Token::Str {
                key,
                escaped: false,
            };
            return;
        }
        match b {
            b'\\' => {
                self.out.push(b);
                self.token = Token::Str { key, escaped: true };
            }
            b'"' => {
                self.out.push(b);
                self.paint_end();
                self.token = Token::None;
                if key {
                    self.expect = Expect::Colon;
                } else {
                    self.after_value();
                }
            }
            0x00..=0x1f | 0x7f => {
                self.out
                    .extend_from_slice(format!("\\u{:04x}", b).as_bytes());
            }
            0xc2..=0xf4 => {
                self.held[0] = b;
                self.held_len = 1;
            }
            _ => self.out.push(b),
        }
    }
}

impl<W: Write> Write for Pretty<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        for &b in buf {
            let result = self.byte(b);
            self.offset += 1;
            if let Err(e) = result {
                self.paint_end();
                self.out.push(b'\n');
                self.flush_out()?;
                return Err(e);
            }
        }
        if self.out.len() >= 8 * 1024 {
            self.flush_out()?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.flush_out()?;
        self.inner.flush()
    }
}

/// Pretty-prints a whole JSON text (the tests' way in).
#[cfg(test)]
pub fn pretty_bytes(json: &[u8], color: bool) -> io::Result<Vec<u8>> {
    let mut p = Pretty::new(Vec::new(), color);
    p.write_all(json)?;
    p.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pretty(s: &str) -> String {
        String::from_utf8(pretty_bytes(s.as_bytes(), false).unwrap()).unwrap()
    }

    #[test]
    fn tokens_stay_as_they_came() {
        assert_eq!(
            pretty(r#"{"n":123456789012345678.99,"a":1,"a":2,"e":1E+400}"#),
            "{\n  \"n\": 123456789012345678.99,\n  \"a\": 1,\n  \"a\": 2,\n  \"e\": 1E+400\n}\n"
        );
    }

    #[test]
    fn nesting_and_empty_containers() {
        assert_eq!(
            pretty(r#" [ {} , [], {"k":[true,null]} ] "#),
            "[\n  {},\n  [],\n  {\n    \"k\": [\n      true,\n      null\n    ]\n  }\n]\n"
        );
        assert_eq!(pretty("\"a\\\"b\""), "\"a\\\"b\"\n");
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(
            pretty("[\"a\u{1b}[2Jb\u{85}c\u{e9}\"]"),
            "[\n  \"a\\u001b[2Jb\\u0085c\u{e9}\"\n]\n"
        );
        // Bidi controls and zero-width characters too; other text stays.
        assert_eq!(
            pretty("[\"invoice \u{202e}gnp.exe\u{200b} \u{1f600}\u{e0001} שלום\"]"),
            "[\n  \"invoice \\u202egnp.exe\\u200b \u{1f600}\\udb40\\udc01 שלום\"\n]\n"
        );
    }

    #[test]
    fn invalid_json_stops_with_an_error() {
        for bad in ["{\"a\" 1}", "[1,]", "[1}", "{", "[1] x", "{1:2}"] {
            assert!(pretty_bytes(bad.as_bytes(), false).is_err(), "{bad}");
        }
    }

    #[test]
    fn works_across_chunk_boundaries() {
        let text = "{\"k\u{85}\":[1.5,\"x\\\"y\"]}";
        let mut p = Pretty::new(Vec::new(), true);
        for b in text.as_bytes() {
            p.write_all(&[*b]).unwrap();
        }
        let whole = pretty_bytes(text.as_bytes(), true).unwrap();
        assert_eq!(p.finish().unwrap(), whole);
    }
}
