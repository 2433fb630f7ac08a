//! The loopback HTTP server the tests talk to ([`Server`]): a real HTTP/1.1
//! server on 127.0.0.1 that answers with a closure, records every request it
//! saw ([`Seen`]) and how many were being answered at once, plus the
//! provider URLs that point `cred` at it and a port nothing listens on.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    /// Path and query, as sent.
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Which TCP connection it came on (0, 1, … in accept order).
    pub conn: usize,
    /// When the server had read it (to check the gaps between requests).
    pub at: Instant,
    /// Refused with 401 before the handler, for carrying no credential.
    pub refused: bool,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn path(&self) -> &str {
        self.url.split('?').next().unwrap_or("")
    }
    pub fn query(&self) -> &str {
        self.url.split_once('?').map(|(_, q)| q).unwrap_or("")
    }
}

/// What a handler answers.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Box<dyn std::io::Read + Send>,
    /// `Some(n)`: sent with `Content-Length: n`; `None`: the body ends when
    /// the connection closes.
    pub length: Option<usize>,
    pub delay: Duration,
}

impl Reply {
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        let body = body.into();
        Reply {
            status,
            headers: Vec::new(),
            length: Some(body.len()),
            body: Box::new(std::io::Cursor::new(body)),
            delay: Duration::ZERO,
        }
    }
    pub fn json(status: u16, body: &str) -> Self {
        Reply::new(status, body.as_bytes().to_vec()).header("Content-Type", "application/json")
    }
    pub fn header(mut self, k: &str, v: &str) -> Self {
        self.headers.push((k.into(), v.into()));
        self
    }
    pub fn delay(mut self, d: Duration) -> Self {
        self.delay = d;
        self
    }
    /// A body of `len` bytes from a reader, sent without holding it in memory.
    pub fn stream(status: u16, reader: impl std::io::Read + Send + 'static, len: usize) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            body: Box::new(reader),
            length: Some(len),
            delay: Duration::ZERO,
        }
    }
}

type Handler = dyn Fn(&Seen) -> Reply + Send + Sync;

/// A real HTTP/1.1 server on 127.0.0.1: a thread per connection, keep-alive,
/// every request recorded (with the connection it came on and when), and
/// the most requests it was answering at once ([`Server::max_in_flight`]).
///
/// Like every real API, a server made with [`Server::start`] answers 401 to
/// a request that carries no credential at all (no `Authorization`, no
/// header or query parameter naming a key, token or signature), whatever
/// its handler says; cred's honest check relies on that. A server that
/// must answer anyone (a CDN an offsite redirect points to) is made with
/// [`Server::open`].
pub struct Server {
    pub seen: Arc<Mutex<Vec<Seen>>>,
    max_in_flight: Arc<AtomicUsize>,
    pub port: u16,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

struct Shared {
    handler: Box<Handler>,
    /// Answers requests without any credential too.
    open: bool,
    seen: Arc<Mutex<Vec<Seen>>>,
    in_flight: AtomicUsize,
    max_in_flight: Arc<AtomicUsize>,
}

impl Server {
    /// An API: requests without any credential get 401.
    pub fn start(handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Server {
        Server::serve(handler, false)
    }

    /// A server that answers anyone (no credential needed).
    pub fn open(handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Server {
        Server::serve(handler, true)
    }

    fn serve(handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static, open: bool) -> Server {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let shared = Arc::new(Shared {
            handler: Box::new(handler),
            open,
            seen: Arc::new(Mutex::new(Vec::new())),
            in_flight: AtomicUsize::new(0),
            max_in_flight: Arc::new(AtomicUsize::new(0)),
        });
        let server = Server {
            seen: shared.seen.clone(),
            max_in_flight: shared.max_in_flight.clone(),
            port,
            stop: stop.clone(),
        };
        std::thread::spawn(move || {
            for (conn, stream) in listener.incoming().enumerate() {
                if stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let shared = shared.clone();
                std::thread::spawn(move || {
                    let _ = serve_connection(conn, stream, &shared);
                });
            }
        });
        server
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The requests the handler answered (those refused for carrying no
    /// credential are in [`Server::all_requests`]).
    pub fn requests(&self) -> Vec<Seen> {
        self.all_requests()
            .into_iter()
            .filter(|s| !s.refused)
            .collect()
    }

    /// Every request that reached the server, refused ones included.
    pub fn all_requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// How many requests the handler answered.
    pub fn count(&self) -> usize {
        self.requests().len()
    }

    /// How many requests were refused for carrying no credential.
    pub fn refused(&self) -> usize {
        self.all_requests().iter().filter(|s| s.refused).count()
    }

    /// The most requests that were in flight at once: read by the server
    /// and not yet answered. A request counts from the moment it has been
    /// read until its answer starts to be written (after the reply's
    /// delay), a span that lies inside the client's own wait for that
    /// answer, so this never exceeds how many requests the client really
    /// had open at once; and a request held by a delay overlaps every
    /// other request sent meanwhile.
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight.load(Ordering::SeqCst)
    }

    /// The one request this server saw (fails if it saw another number).
    pub fn only(&self) -> Seen {
        let seen = self.requests();
        assert_eq!(seen.len(), 1, "expected exactly one request: {seen:#?}");
        seen[0].clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees `stop`.
        let _ = std::net::TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn serve_connection(
    conn: usize,
    stream: std::net::TcpStream,
    shared: &Shared,
) -> std::io::Result<()> {
    use std::io::{BufRead, BufReader, Read, Write};
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or("").to_string();
        let url = parts.next().unwrap_or("").to_string();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h)? == 0 {
                return Ok(());
            }
            let h = h.trim_end_matches(['\r', '\n']);
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        let get = |name: &str| {
            headers
                .iter()
                .find(|(k, _): &&(String, String)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.to_ascii_lowercase())
        };
        let mut body = Vec::new();
        if get("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
            loop {
                let mut size = String::new();
                reader.read_line(&mut size)?;
                let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16)
                    .unwrap_or(0);
                let mut chunk = vec![0; n + 2];
                reader.read_exact(&mut chunk)?;
                if n == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..n]);
            }
        } else if let Some(n) = get("content-length").and_then(|v| v.parse::<usize>().ok()) {
            body.resize(n, 0);
            reader.read_exact(&mut body)?;
        }
        let close = get("connection").is_some_and(|v| v.contains("close"));
        let mut seen = Seen {
            method,
            url,
            headers,
            body,
            conn,
            at: Instant::now(),
            refused: false,
        };
        let admitted = shared.open || carries_credential(&seen);
        seen.refused = !admitted;
        shared.seen.lock().unwrap().push(seen.clone());
        let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        shared.max_in_flight.fetch_max(now, Ordering::SeqCst);
        let mut reply = if admitted {
            (shared.handler)(&seen)
        } else {
            Reply::json(401, r#"{"error":"no credential"}"#)
        };
        std::thread::sleep(reply.delay);
        // No longer in flight once the answer starts: counting until it was
        // written would let the client's next request (on another
        // connection) overlap this one on paper only.
        shared.in_flight.fetch_sub(1, Ordering::SeqCst);
        let mut head = format!("HTTP/1.1 {} {}\r\n", reply.status, reason(reply.status));
        let has = |name: &str| {
            reply
                .headers
                .iter()
                .any(|(k, _)| k.eq_ignore_ascii_case(name))
        };
        let (set_length, set_close) = (!has("content-length"), !has("connection"));
        for (k, v) in &reply.headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        match reply.length {
            Some(n) if set_length => head.push_str(&format!("Content-Length: {n}\r\n")),
            None if set_close => head.push_str("Connection: close\r\n"),
            _ => {}
        }
        head.push_str("\r\n");
        let result = writer.write_all(head.as_bytes()).and_then(|_| {
            if seen.method != "HEAD" {
                std::io::copy(&mut reply.body, &mut writer)?;
            }
            writer.flush()
        });
        result?;
        if close || reply.length.is_none() {
            return Ok(());
        }
    }
}

/// Whether a request carries anything like a credential: an
/// `Authorization` header, or a header or query parameter whose name speaks
/// of a key, token, auth or signature.
fn carries_credential(seen: &Seen) -> bool {
    let credential_name = |name: &str| {
        let n = name.to_ascii_lowercase();
        ["auth", "key", "token", "sig"]
            .iter()
            .any(|w| n.contains(w))
    };
    seen.headers.iter().any(|(k, _)| credential_name(k))
        || seen
            .query()
            .split('&')
            .filter_map(|p| p.split('=').next())
            .any(credential_name)
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// `CRED_PALIGO_URL` pointing at a loopback server, with the instance in the path.
pub fn paligo_env(server: &Server) -> (&'static str, String) {
    (
        "CRED_PALIGO_URL",
        format!("{}/{{instance}}/api/v2", server.url()),
    )
}

/// `CRED_PAYMO_URL` pointing at a loopback server.
pub fn paymo_env(server: &Server) -> (&'static str, String) {
    ("CRED_PAYMO_URL", format!("{}/api", server.url()))
}

/// A server that answers every request with 200 and Paymo's `/me` body.
pub fn ok_server() -> Server {
    Server::start(|_| {
        Reply::json(
            200,
            r#"{"users":[{"id":1,"name":"Ada","email":"ada@example.com"}]}"#,
        )
    })
}

/// A port on 127.0.0.1 with nothing listening (bound, then released).
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// A port where a plain-HTTP server answers anything, a TLS handshake
/// included, with `400 Bad Request` (as nginx or `python -m http.server`
/// do): an https:// URL to it meets a server that does not speak TLS.
pub fn plain_http_port() -> u16 {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 1024];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(
                b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    port
}
