//! [`SendError`]: why a request got no usable answer, typed so that callers
//! branch on the kind (a check says "the API is slow" for a timeout, and
//! Paligo names the instance for a DNS failure) and never on message text.
//!
//! Transport errors are classified by walking the source chain and
//! downcasting (`reqwest::Error::is_timeout`/`is_connect`,
//! `io::ErrorKind`); what the dependencies only say in words (a resolver's
//! or TLS library's message) is read in one place, [`classify_text`].
//! No URL is ever kept: it may carry a key in its query.

use std::io;
use std::time::Duration;

use crate::error::{Error, Exit};

/// What went wrong while sending a request or reading its answer.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("{host} did not answer within {} s", after.as_secs_f64())]
    Timeout {
        host: String,
        after: Duration,
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    #[error("the name {host} does not resolve (DNS)")]
    Dns {
        host: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("the TLS connection to {host} failed (certificate not trusted or handshake error)")]
    Tls {
        host: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An https:// address whose server answered in plain HTTP.
    #[error("{host} does not speak TLS; is it http://…?")]
    NotTls {
        host: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("{host} refused the connection")]
    Refused {
        host: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("the connection to {host} broke before an answer came")]
    Reset {
        host: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("could not talk to {host}")]
    Other {
        host: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("too many redirects (more than {max})")]
    TooManyRedirects { max: usize },
    #[error("the server stopped sending the body for {} s", after.as_secs())]
    BodyStalled { after: Duration },
    #[error("the API sent a corrupt compressed body (its Content-Encoding does not decode)")]
    CorruptBody {
        #[source]
        source: io::Error,
    },
    #[error("the connection broke while reading the body")]
    BodyBroken {
        #[source]
        source: io::Error,
    },
    #[error("the API key cannot be sent in a header (it has characters headers do not allow)")]
    UnsendableKey,
    #[error("`{0}` is not a valid header name")]
    BadHeaderName(String),
    #[error("could not build the request")]
    Build(#[source] reqwest::Error),
    #[error("could not open a file to upload")]
    BodyFile(#[source] io::Error),
    #[error("the request body was streamed already and cannot be sent again")]
    BodySpent,
    /// The answer's body is in a transfer coding other than `chunked`
    /// (`gzip, chunked`, say): hyper undoes the chunks only, so the body
    /// would come out still compressed, where the scrubber cannot see the
    /// key. cred never asks for one (it sends no `TE`).
    #[error(
        "the API answered {status} with Transfer-Encoding `{coding}`, which cred does not decode, so it cannot keep the key out of the answer"
    )]
    TransferCoding { status: u16, coding: String },
}

impl SendError {
    /// Whether the server was too slow (a timeout or a stalled body).
    pub fn is_timeout(&self) -> bool {
        matches!(
            self,
            SendError::Timeout { .. } | SendError::BodyStalled { .. }
        )
    }

    /// Whether the connection broke before an answer (worth a retry for an
    /// idempotent request).
    pub fn is_reset(&self) -> bool {
        matches!(self, SendError::Reset { .. })
    }

    /// Classifies a transport error of a request to `host`.
    pub fn from_reqwest(err: reqwest::Error, host: &str, timeout: Duration) -> SendError {
        let err = err.without_url();
        let host = host.to_string();
        if err.is_timeout() || chain_has_io_kind(&err, io::ErrorKind::TimedOut) {
            return SendError::Timeout {
                host,
                after: timeout,
                source: Some(Box::new(err)),
            };
        }
        if chain_has_io_kind(&err, io::ErrorKind::ConnectionRefused) {
            return SendError::Refused {
                host,
                source: Box::new(err),
            };
        }
        if [
            io::ErrorKind::ConnectionReset,
            io::ErrorKind::ConnectionAborted,
            io::ErrorKind::BrokenPipe,
            io::ErrorKind::UnexpectedEof,
        ]
        .into_iter()
        .any(|kind| chain_has_io_kind(&err, kind))
        {
            return SendError::Reset {
                host,
                source: Box::new(err),
            };
        }
        match classify_text(&chain_text(&err)) {
            Some(TextKind::Timeout) => SendError::Timeout {
                host,
                after: timeout,
                source: Some(Box::new(err)),
            },
            Some(TextKind::Dns) => SendError::Dns {
                host,
                source: Box::new(err),
            },
            Some(TextKind::Tls) => SendError::Tls {
                host,
                source: Box::new(err),
            },
            Some(TextKind::NotTls) => SendError::NotTls {
                host,
                source: Box::new(err),
            },
            Some(TextKind::Refused) => SendError::Refused {
                host,
                source: Box::new(err),
            },
            Some(TextKind::Reset) => SendError::Reset {
                host,
                source: Box::new(err),
            },
            Some(TextKind::Corrupt) | None => SendError::Other {
                host,
                source: Box::new(err),
            },
        }
    }

    /// Classifies a failure while reading a body.
    pub fn from_body(err: io::Error, timeout: Duration) -> SendError {
        let mut timed_out = err.kind() == io::ErrorKind::TimedOut;
        let mut corrupt = false;
        let mut next: Option<&(dyn std::error::Error + 'static)> = err
            .get_ref()
            .map(|r| r as &(dyn std::error::Error + 'static));
        while let Some(e) = next {
            if let Some(re) = e.downcast_ref::<reqwest::Error>() {
                timed_out |= re.is_timeout();
                corrupt |= re.is_decode();
            }
            if let Some(io) = e.downcast_ref::<io::Error>() {
                timed_out |= io.kind() == io::ErrorKind::TimedOut;
                corrupt |= io.kind() == io::ErrorKind::InvalidData;
            }
            next = e.source();
        }
        let text = classify_text(&chain_text(&err));
        corrupt |= text == Some(TextKind::Corrupt);
        if corrupt && !timed_out {
            SendError::CorruptBody { source: err }
        } else if timed_out || text == Some(TextKind::Timeout) {
            SendError::BodyStalled { after: timeout }
        } else {
            SendError::BodyBroken { source: err }
        }
    }

    /// Whether this is a failure of the network (exit 5) rather than of
    /// the key, the request or the answer.
    pub fn is_network(&self) -> bool {
        self.exit() == Exit::Network
    }

    fn exit(&self) -> Exit {
        match self {
            SendError::TooManyRedirects { .. } => Exit::HttpStatus,
            SendError::UnsendableKey
            | SendError::CorruptBody { .. }
            | SendError::BadHeaderName(_)
            | SendError::Build(_)
            | SendError::BodyFile(_)
            | SendError::BodySpent
            | SendError::TransferCoding { .. } => Exit::Failure,
            _ => Exit::Network,
        }
    }

    pub fn hint(&self) -> &'static str {
        match self {
            SendError::Timeout { .. } => {
                "try again later, or allow more time with --timeout SECONDS"
            }
            SendError::BodyStalled { .. } => "try again, or allow more time with --timeout SECONDS",
            SendError::Dns { .. } => "check the host name and your network connection",
            SendError::Tls { .. } => {
                "cred always verifies certificates; check the URL, or your system's CA certificates"
            }
            SendError::NotTls { .. } => {
                "the server answered in plain HTTP where https:// expects TLS: check the URL's scheme and port"
            }
            SendError::Refused { .. } => "check the URL and port, and that the service is running",
            SendError::Other { .. } | SendError::Reset { .. } | SendError::BodyBroken { .. } => {
                "check your network connection and the URL"
            }
            SendError::TooManyRedirects { .. } => {
                "the API redirects in a loop; check the path, or ask the API's owner"
            }
            SendError::UnsendableKey => {
                "check the key and the template; `cred rotate NAME` stores a new key"
            }
            SendError::CorruptBody { .. } => {
                "the server or a proxy in between mangled the answer; `-o FILE` keeps what came, and the API's owner can look at it"
            }
            SendError::BodyFile(_) => "check the path after @ in --form",
            SendError::TransferCoding { .. } => {
                "cred sends no `TE` header, so the API should not use a transfer coding; ask its owner, or use Content-Encoding, which cred decodes"
            }
            SendError::BadHeaderName(_) | SendError::Build(_) | SendError::BodySpent => "",
        }
    }
}

impl From<SendError> for Error {
    fn from(e: SendError) -> Error {
        let mut err = Error::new(e.exit(), e.to_string());
        // The transport's own words, on one line, as the cause.
        if let Some(source) = std::error::Error::source(&e) {
            err = err.cause(chain_text(source));
        }
        let hint = e.hint();
        if !hint.is_empty() {
            err = err.hint(hint);
        }
        err.with_source(e)
    }
}

/// What a dependency's message says, where it offers no type to test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TextKind {
    Timeout,
    Dns,
    Tls,
    /// A TLS handshake answered in plain HTTP (rustls: "received corrupt
    /// message of type InvalidContentType").
    NotTls,
    Refused,
    /// The connection closed or was reset before the answer (hyper says so
    /// only in words: "connection closed before message completed").
    Reset,
    /// A compressed body that does not decode (the decoders say so only in
    /// words: "deflate decompression error", "invalid gzip header").
    Corrupt,
}

/// The one place where the words of a third-party error decide its kind
/// (hyper-util's resolver and rustls report only in text).
fn classify_text(chain: &str) -> Option<TextKind> {
    let lower = chain.to_lowercase();
    if lower.contains("decompression error")
        || lower.contains("invalid gzip header")
        || lower.contains("corrupt deflate stream")
    {
        Some(TextKind::Corrupt)
    } else if lower.contains("timed out") {
        Some(TextKind::Timeout)
    } else if lower.contains("dns") || lower.contains("lookup") || lower.contains("resolve") {
        Some(TextKind::Dns)
    } else if lower.contains("invalidcontenttype") || lower.contains("wrong version number") {
        Some(TextKind::NotTls)
    } else if lower.contains("certificate") || lower.contains("tls") || lower.contains("handshake")
    {
        Some(TextKind::Tls)
    } else if lower.contains("refused") {
        Some(TextKind::Refused)
    } else if lower.contains("connection reset")
        || lower.contains("closed before message completed")
    {
        Some(TextKind::Reset)
    } else {
        None
    }
}

fn chain_has_io_kind(err: &(dyn std::error::Error + 'static), kind: io::ErrorKind) -> bool {
    let mut next = Some(err);
    while let Some(e) = next {
        if e.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == kind)
        {
            return true;
        }
        next = e.source();
    }
    false
}

/// The messages of an error and its sources, joined, without repeats.
pub fn chain_text(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let s = e.to_string();
        if !parts.iter().any(|p| p.contains(&s)) {
            parts.push(s);
        }
        next = e.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_classification_is_kept_in_one_place() {
        assert_eq!(
            classify_text("dns error: failed to lookup address information"),
            Some(TextKind::Dns)
        );
        assert_eq!(
            classify_text("invalid peer certificate: UnknownIssuer"),
            Some(TextKind::Tls)
        );
        assert_eq!(
            classify_text("operation timed out"),
            Some(TextKind::Timeout)
        );
        assert_eq!(classify_text("connection reset"), Some(TextKind::Reset));
        assert_eq!(
            classify_text(
                "client error (Connect): received corrupt message of type InvalidContentType"
            ),
            Some(TextKind::NotTls)
        );
        assert_eq!(classify_text("unexpected frame"), None);
    }

    #[test]
    fn kinds_fix_the_exit_code() {
        let e: Error = SendError::TooManyRedirects { max: 10 }.into();
        assert_eq!(e.exit(), Exit::HttpStatus);
        let e: Error = SendError::BodyStalled {
            after: Duration::from_secs(3),
        }
        .into();
        assert_eq!(e.exit(), Exit::Network);
        assert_eq!(e.message, "the server stopped sending the body for 3 s");
        let io = io::Error::new(io::ErrorKind::TimedOut, "x");
        assert!(SendError::from_body(io, Duration::from_secs(1)).is_timeout());
    }
}
