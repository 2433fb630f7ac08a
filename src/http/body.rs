//! A request's body as the pipeline holds it: bytes in memory, or a
//! multipart form whose files are opened afresh each time the request is
//! sent (a redirect hop or a retry), so a streamed upload can be resent
//! without holding the file in memory.

use std::path::PathBuf;

/// What a request sends.
#[derive(Debug, Clone)]
pub enum Body {
    /// Bytes sent as they are (`-d`, `-f`, urlencoded `--form`).
    Bytes(Vec<u8>),
    /// `multipart/form-data` (`--form K=@FILE`); the boundary and content
    /// type are reqwest's.
    Multipart(Vec<Part>),
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
    /// The body for one send: files opened now.
    pub(super) fn build(
        &self,
        builder: reqwest::blocking::RequestBuilder,
    ) -> std::io::Result<reqwest::blocking::RequestBuilder> {
        Ok(match self {
            Body::Bytes(b) => builder.body(b.clone()),
            Body::Multipart(parts) => {
                let mut form = reqwest::blocking::multipart::Form::new();
                for part in parts {
                    form = match part {
                        Part::Text { name, value } => form.text(name.clone(), value.clone()),
                        Part::File { name, path } => form.file(name.clone(), path)?,
                    };
                }
                builder.multipart(form)
            }
        })
    }

    /// The bytes, for a body held in memory.
    pub fn bytes(&self) -> Option<&[u8]> {
        match self {
            Body::Bytes(b) => Some(b),
            Body::Multipart(_) => None,
        }
    }
}
