//! A request's body as the pipeline holds it: bytes in memory, a
//! multipart form whose files are opened afresh each time the request is
//! sent (a redirect hop or a retry), so a streamed upload can be resent
//! without holding the file in memory, or a stream read once as it is sent
//! (what `cred proxy` forwards from its client).

use std::io::Read;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use super::error::SendError;

/// What a request sends.
#[derive(Debug, Clone)]
pub enum Body {
    /// Bytes sent as they are (`-d`, `-f`, urlencoded `--form`).
    Bytes(Vec<u8>),
    /// `multipart/form-data` (`--form K=@FILE`); the boundary and content
    /// type are reqwest's.
    Multipart(Vec<Part>),
    /// A stream sent as it is read, never held: it can be sent once only
    /// (a pipeline that streams a body must not retry or follow redirects
    /// with it; a second send is [`SendError::BodySpent`]).
    Stream(Streamed),
}

/// A body read from a stream, once. Clones share the one stream.
#[derive(Clone)]
pub struct Streamed {
    reader: Arc<Mutex<Option<Box<dyn Read + Send>>>>,
    len: Option<u64>,
}

impl Streamed {
    /// `len`: the length when known (sent as `Content-Length`), else the
    /// body goes chunked.
    pub fn new(reader: impl Read + Send + 'static, len: Option<u64>) -> Self {
        Streamed {
            reader: Arc::new(Mutex::new(Some(Box::new(reader)))),
            len,
        }
    }

    fn take(&self) -> Option<Box<dyn Read + Send>> {
        self.reader.lock().unwrap_or_else(|e| e.into_inner()).take()
    }
}

impl std::fmt::Debug for Streamed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Streamed").field("len", &self.len).finish()
    }
}

/// One part of a multipart form.
#[derive(Debug, Clone)]
pub enum Part {
    Text {
        name: String,
        value: String,
    },
    /// A file, streamed from disk; its content type guessed from its name.
    File {
        name: String,
        path: PathBuf,
    },
}

impl Body {
    /// The body for one send: files opened now, a stream taken.
    pub(super) fn build(
        &self,
        builder: reqwest::blocking::RequestBuilder,
    ) -> Result<reqwest::blocking::RequestBuilder, SendError> {
        Ok(match self {
            Body::Bytes(b) => builder.body(b.clone()),
            Body::Multipart(parts) => {
                let mut form = reqwest::blocking::multipart::Form::new();
                for part in parts {
                    form = match part {
                        Part::Text { name, value } => form.text(name.clone(), value.clone()),
                        Part::File { name, path } => {
                            form.file(name.clone(), path).map_err(SendError::BodyFile)?
                        }
                    };
                }
                builder.multipart(form)
            }
            Body::Stream(s) => {
                let reader = s.take().ok_or(SendError::BodySpent)?;
                builder.body(match s.len {
                    Some(n) => reqwest::blocking::Body::sized(reader, n),
                    None => reqwest::blocking::Body::new(reader),
                })
            }
        })
    }

    /// The bytes, for a body held in memory.
    pub fn bytes(&self) -> Option<&[u8]> {
        match self {
            Body::Bytes(b) => Some(b),
            Body::Multipart(_) | Body::Stream(_) => None,
        }
    }
}
