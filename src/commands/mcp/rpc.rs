//! JSON-RPC 2.0 as MCP's stdio transport frames it: one message per line
//! of standard input, one answer per line of standard output.
//!
//! [`Lines`] reads lines with a cap ([`MAX_LINE`]): a longer line is read
//! to its end and thrown away, so memory stays bounded whatever a client
//! sends. [`parse`] sorts a line into a request, a notification, a
//! response (ignored: this server asks nothing) or an error to answer
//! (-32700 when it is not JSON, -32600 when it is not a request). Messages
//! are typed: `params` and `id` stay raw JSON until a method reads them,
//! and an `id` is echoed back byte for byte.

use std::io::{self, BufRead, Write};

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

/// The longest line read: a request (with a body to send) larger than
/// this is answered with an error.
pub const MAX_LINE: usize = 1024 * 1024;

pub const PARSE_ERROR: i64 = -32700;
pub const INVALID_REQUEST: i64 = -32600;
pub const METHOD_NOT_FOUND: i64 = -32601;
pub const INVALID_PARAMS: i64 = -32602;

/// One line of input.
pub enum Line {
    Message(Vec<u8>),
    /// Longer than the cap (its length); its bytes were dropped.
    TooLong(usize),
    End,
}

/// Lines of at most `max` bytes from a reader.
pub struct Lines<R> {
    inner: R,
    max: usize,
}

impl<R: BufRead> Lines<R> {
    pub fn new(inner: R, max: usize) -> Self {
        Lines { inner, max }
    }

    /// The next line without its `\n` (and `\r`); the last one may lack the
    /// `\n`.
    pub fn next_line(&mut self) -> io::Result<Line> {
        let mut buf = Vec::new();
        let mut seen = 0usize;
        let mut too_long = false;
        loop {
            let available = match self.inner.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if available.is_empty() {
                return Ok(if too_long {
                    Line::TooLong(seen)
                } else if seen == 0 {
                    Line::End
                } else {
                    Line::Message(trim_cr(buf))
                });
            }
            let newline = memchr::memchr(b'\n', available);
            let chunk = &available[..newline.unwrap_or(available.len())];
            seen = seen.saturating_add(chunk.len());
            if !too_long {
                if buf.len() + chunk.len() > self.max {
                    too_long = true;
                    buf = Vec::new();
                } else {
                    buf.extend_from_slice(chunk);
                }
            }
            let used = newline.map_or(available.len(), |i| i + 1);
            self.inner.consume(used);
            if newline.is_some() {
                return Ok(if too_long {
                    Line::TooLong(seen)
                } else {
                    Line::Message(trim_cr(buf))
                });
            }
        }
    }
}

fn trim_cr(mut line: Vec<u8>) -> Vec<u8> {
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    line
}

/// A JSON-RPC error object.
#[derive(Debug, Serialize)]
pub struct RpcError {
    pub code: i64,
    pub message: String,
}

impl RpcError {
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        RpcError {
            code,
            message: message.into(),
        }
    }
}

/// What a line holds.
pub enum Message {
    Request {
        id: Box<RawValue>,
        method: String,
        params: Option<Box<RawValue>>,
    },
    /// A notification (`notifications/initialized`, `…/cancelled`):
    /// nothing to answer.
    Notification,
    /// A response to a request of ours (there are none): ignored.
    Response,
    /// Answered with this error (and the request's id, when it had a
    /// readable one; else null).
    Invalid {
        id: Option<Box<RawValue>>,
        error: RpcError,
    },
}

/// The members of a message, raw where a method reads them later.
#[derive(Deserialize)]
struct Envelope {
    jsonrpc: Option<String>,
    #[serde(default, deserialize_with = "present")]
    id: Option<Box<RawValue>>,
    method: Option<String>,
    params: Option<Box<RawValue>>,
    #[serde(default, deserialize_with = "present")]
    result: Option<Box<RawValue>>,
    #[serde(default, deserialize_with = "present")]
    error: Option<Box<RawValue>>,
}

/// A member that is there, also when it is `null`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Box<RawValue>>, D::Error> {
    Box::<RawValue>::deserialize(d).map(Some)
}

/// A request id: a string or a number (JSON-RPC), never null (MCP).
#[derive(Deserialize)]
#[serde(untagged)]
enum Id {
    #[allow(dead_code)]
    Number(serde_json::Number),
    #[allow(dead_code)]
    Text(String),
}

pub fn parse(line: &[u8]) -> Message {
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(line) {
        return Message::Invalid {
            id: None,
            error: RpcError::new(PARSE_ERROR, format!("parse error: not JSON ({e})")),
        };
    }
    if line.trim_ascii_start().first() == Some(&b'[') {
        return Message::Invalid {
            id: None,
            error: RpcError::new(
                INVALID_REQUEST,
                "invalid request: batches are not supported (MCP 2025-06-18); send one message per line",
            ),
        };
    }
    let env: Envelope = match serde_json::from_slice(line) {
        Ok(e) => e,
        Err(e) => {
            return Message::Invalid {
                id: None,
                error: RpcError::new(
                    INVALID_REQUEST,
                    format!("invalid request: not a JSON-RPC 2.0 message ({e})"),
                ),
            };
        }
    };
    let id_ok = env
        .id
        .as_ref()
        .is_some_and(|id| serde_json::from_str::<Id>(id.get()).is_ok());
    let invalid = |id: Option<Box<RawValue>>, why: &str| Message::Invalid {
        id,
        error: RpcError::new(INVALID_REQUEST, format!("invalid request: {why}")),
    };
    if env.jsonrpc.as_deref() != Some("2.0") {
        return invalid(env.id.filter(|_| id_ok), "`jsonrpc` must be \"2.0\"");
    }
    match (env.method, env.id) {
        (Some(method), Some(id)) if id_ok => Message::Request {
            id,
            method,
            params: env.params,
        },
        (Some(_), Some(_)) => invalid(None, "`id` must be a string or a number"),
        (Some(_), None) => Message::Notification,
        (None, _) if env.result.is_some() || env.error.is_some() => Message::Response,
        (None, id) => invalid(id.filter(|_| id_ok), "no `method`"),
    }
}

/// Writes one answer as a line.
#[derive(Serialize)]
struct Reply<'a> {
    jsonrpc: &'static str,
    id: &'a RawValue,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<&'a Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a RpcError>,
}

/// Writes the answer to a request (or an error without a request's id)
/// as one line, and flushes it.
pub fn write_reply(
    out: &mut impl Write,
    id: Option<&RawValue>,
    outcome: Result<&Value, &RpcError>,
) -> io::Result<()> {
    let null = RawValue::from_string("null".into()).map_err(io::Error::other)?;
    let reply = Reply {
        jsonrpc: "2.0",
        id: id.unwrap_or(&null),
        result: outcome.ok(),
        error: outcome.err(),
    };
    let text = serde_json::to_string(&reply).map_err(io::Error::other)?;
    // DEL and C1 characters, which JSON allows raw, as escapes: a client
    // that shows the line cannot be driven by them.
    let text = crate::escape::json_visible(&text);
    out.write_all(text.as_bytes())?;
    out.write_all(b"\n")?;
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], max: usize) -> Vec<String> {
        let mut l = Lines::new(input, max);
        let mut out = Vec::new();
        loop {
            match l.next_line().unwrap() {
                Line::End => return out,
                Line::TooLong(n) => out.push(format!("too long: {n}")),
                Line::Message(m) => out.push(String::from_utf8(m).unwrap()),
            }
        }
    }

    #[test]
    fn lines_are_capped_and_the_rest_goes_on() {
        assert_eq!(
            lines(b"ab\r\n0123456789\ncd", 5),
            ["ab", "too long: 10", "cd"]
        );
        assert_eq!(lines(b"", 5), Vec::<String>::new());
        assert_eq!(lines(b"\n", 5), [""]);
    }

    fn kind(line: &str) -> String {
        match parse(line.as_bytes()) {
            Message::Request { id, method, .. } => format!("request {} {method}", id.get()),
            Message::Notification => "notification".into(),
            Message::Response => "response".into(),
            Message::Invalid { id, error } => format!(
                "error {} {}",
                error.code,
                id.map(|i| i.get().to_string()).unwrap_or_default()
            ),
        }
    }

    #[test]
    fn messages_are_sorted() {
        assert_eq!(
            kind(r#"{"jsonrpc":"2.0","id":7,"method":"ping"}"#),
            "request 7 ping"
        );
        assert_eq!(
            kind(r#"{"jsonrpc":"2.0","id":"a","method":"x","params":{}}"#),
            "request \"a\" x"
        );
        assert_eq!(
            kind(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#),
            "notification"
        );
        assert_eq!(kind(r#"{"jsonrpc":"2.0","id":1,"result":{}}"#), "response");
        assert_eq!(kind("{not json"), "error -32700 ");
        assert_eq!(kind("[1]"), "error -32600 ");
        assert_eq!(kind("42"), "error -32600 ");
        assert_eq!(kind(r#"{"id":3,"method":"ping"}"#), "error -32600 3");
        assert_eq!(
            kind(r#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#),
            "error -32600 "
        );
        assert_eq!(
            kind(r#"{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}"#),
            "error -32600 "
        );
        assert_eq!(kind(r#"{"jsonrpc":"2.0","id":4}"#), "error -32600 4");
    }

    #[test]
    fn replies_are_one_line() {
        let mut out = Vec::new();
        let id = RawValue::from_string("\"x\"".into()).unwrap();
        write_reply(
            &mut out,
            Some(&id),
            Ok(&serde_json::json!({"t": "a\u{9b}\nb"})),
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"result\":{\"t\":\"a\\u009b\\nb\"}}\n"
        );
    }
}
