//! Sealed test environments and loopback HTTP servers.
//!
//! [`TestEnv`] gives each test its own config dir and HOME, a cleared
//! environment (only PATH, the test keyring's D-Bus address and a locale
//! pass through), and helpers to run `cred`. [`Server`] is a real HTTP
//! server on 127.0.0.1 that answers with a closure and records every
//! request it saw.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use std::process::Stdio;

use assert_cmd::Command;
use serde_json::Value;

pub struct TestEnv {
    pub dir: tempfile::TempDir,
}

/// The output of one run of `cred`.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn ok(&self) -> &Self {
        assert_eq!(self.code, 0, "expected success\n{self}");
        self
    }
    pub fn code(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "unexpected exit code\n{self}");
        self
    }
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

impl Default for TestEnv {
    fn default() -> Self {
        Self::new()
    }
}

impl TestEnv {
    pub fn new() -> Self {
        TestEnv {
            dir: tempfile::Builder::new()
                .prefix("cred-test.")
                .tempdir()
                .unwrap(),
        }
    }

    pub fn config_dir(&self) -> PathBuf {
        self.dir.path().join("config")
    }

    pub fn config_path(&self) -> PathBuf {
        self.config_dir().join("config.toml")
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    pub fn config_text(&self) -> String {
        std::fs::read_to_string(self.config_path()).unwrap_or_default()
    }

    /// `cred` with a sealed environment. Requires the test keyring unless
    /// the caller removes DBUS_SESSION_BUS_ADDRESS on purpose.
    pub fn cmd(&self) -> Command {
        let mut cmd = Command::cargo_bin("cred").unwrap();
        cmd.env_clear()
            .envs(self.sealed_env())
            .current_dir(self.dir.path());
        cmd
    }

    /// The whole environment `cred` runs with: nothing else passes through.
    pub fn sealed_env(&self) -> Vec<(&'static str, std::ffi::OsString)> {
        vec![
            ("PATH", std::env::var_os("PATH").unwrap_or_default()),
            ("HOME", self.home().into()),
            ("CRED_CONFIG_DIR", self.config_dir().into()),
            ("LANG", "C.UTF-8".into()),
            ("NO_PROXY", "*".into()),
            ("DBUS_SESSION_BUS_ADDRESS", bus_address().into()),
        ]
    }

    /// Runs `cred ARGS` with no stdin.
    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, |_| {})
    }

    /// Runs `cred ARGS`, letting the caller adjust the command (env, stdin).
    pub fn run_with(&self, args: &[&str], adjust: impl FnOnce(&mut Command)) -> Run {
        let mut cmd = self.cmd();
        cmd.args(args);
        cmd.write_stdin("");
        adjust(&mut cmd);
        cmd.timeout(Duration::from_secs(120));
        let out = cmd.output().unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Adds a credential non-interactively with the key on stdin.
    pub fn add(&self, args: &[&str], key: &str, extra_env: &[(&str, String)]) -> Run {
        let mut full = vec!["add"];
        full.extend_from_slice(args);
        full.push("--api-key-stdin");
        let key = key.to_string();
        let env: Vec<(String, String)> = extra_env
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        self.run_with(&full, move |c| {
            c.write_stdin(key);
            for (k, v) in env {
                c.env(k, v);
            }
        })
    }

    /// Every file under the config dir, with its bytes (for leak checks).
    pub fn files(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        walk(self.dir.path(), &mut out);
        out
    }
}

fn walk(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else if let Ok(bytes) = std::fs::read(&p) {
            out.push((p, bytes));
        }
    }
}

/// The private session bus of the test keyring (scripts/with-keyring.sh).
pub fn bus_address() -> String {
    match (
        std::env::var("CRED_TEST_KEYRING"),
        std::env::var("DBUS_SESSION_BUS_ADDRESS"),
    ) {
        (Ok(v), Ok(addr)) if v == "1" => addr,
        _ => panic!(
            "these tests need the real Secret Service started by scripts/test.sh \
             (or run them under scripts/with-keyring.sh cargo test)"
        ),
    }
}

/// A unique, recognisable secret for leak checks.
pub fn secret(tag: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "sk-{tag}-{}-{}-Zq9xW7vT",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

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
/// every request recorded (with the connection it came on).
pub struct Server {
    pub seen: Arc<Mutex<Vec<Seen>>>,
    pub max_in_flight: Arc<AtomicUsize>,
    pub port: u16,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

struct Shared {
    handler: Box<Handler>,
    seen: Arc<Mutex<Vec<Seen>>>,
    in_flight: AtomicUsize,
    max_in_flight: Arc<AtomicUsize>,
}

impl Server {
    pub fn start(handler: impl Fn(&Seen) -> Reply + Send + Sync + 'static) -> Server {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let shared = Arc::new(Shared {
            handler: Box::new(handler),
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

    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    pub fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
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
        let seen = Seen {
            method,
            url,
            headers,
            body,
            conn,
        };
        shared.seen.lock().unwrap().push(seen.clone());
        let now = shared.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        shared.max_in_flight.fetch_max(now, Ordering::SeqCst);
        let mut reply = (shared.handler)(&seen);
        std::thread::sleep(reply.delay);
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
        shared.in_flight.fetch_sub(1, Ordering::SeqCst);
        result?;
        if close || reply.length.is_none() {
            return Ok(());
        }
    }
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

/// The `Authorization: Basic` value for user:password.
pub fn basic(user: &str, password: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

// ---------------------------------------------------------------------------
// Helpers for looking into the real keychain, spawning `cred` as a plain
// process, and checking errors.

/// `cred` as a `std::process::Command`, with the same sealed environment as
/// [`TestEnv::cmd`], for tests that spawn several at once or keep stdin open.
pub fn std_cmd(env: &TestEnv) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_cred"));
    cmd.env_clear()
        .envs(env.sealed_env())
        .current_dir(env.dir.path());
    cmd
}

/// `cred add paymo --no-verify --api-key-stdin` as a running child with
/// piped stdin, stdout and stderr: the test writes the key (and may keep
/// stdin open to look at the process meanwhile).
pub fn spawn_add_reading_stdin(env: &TestEnv) -> std::process::Child {
    std_cmd(env)
        .args(["add", "paymo", "--no-verify", "--api-key-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The keychain account of credential `name` in this environment's config
/// directory: `NAME@<canonical config dir>`.
pub fn account(env: &TestEnv, name: &str) -> String {
    let dir = std::fs::canonicalize(env.config_dir()).unwrap_or_else(|_| env.config_dir());
    format!("{name}@{}", dir.display())
}

fn secret_tool(args: &[&str]) -> std::process::Output {
    std::process::Command::new("secret-tool")
        .args(args)
        .env("DBUS_SESSION_BUS_ADDRESS", bus_address())
        .stdin(Stdio::null())
        .output()
        .expect("secret-tool (libsecret-tools) is needed by the tests")
}

/// What the real Secret Service holds for credential `name` (looked up with
/// `secret-tool`, independently of `cred`), if anything.
pub fn keychain_lookup(env: &TestEnv, name: &str) -> Option<String> {
    // The keyring crate stores the account in the `username` attribute.
    let out = secret_tool(&["lookup", "service", "cred", "username", &account(env, name)]);
    // Not found: exit 1 and silence. Anything on stderr means the lookup
    // itself failed, which must not pass for "nothing stored".
    assert!(
        out.stderr.is_empty(),
        "secret-tool lookup failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let value = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.success() && !value.is_empty()).then_some(value)
}

/// Deletes the keychain entry of credential `name` behind `cred`'s back.
pub fn keychain_clear(env: &TestEnv, name: &str) {
    let out = secret_tool(&["clear", "service", "cred", "username", &account(env, name)]);
    assert!(out.status.success(), "secret-tool clear failed: {out:?}");
}

/// `cred ARGS` with extra environment variables.
pub fn run_env(env: &TestEnv, args: &[&str], extra: &[(&str, String)]) -> Run {
    env.run_with(args, |c| {
        for (k, v) in extra {
            c.env(k, v);
        }
    })
}

/// Parses stdout as JSON, failing with the whole run on error.
pub fn json(run: &Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("stdout is not JSON ({e})\n{run}"))
}

/// Exactly one `cred: error:` line, and it starts with `message`; progress
/// lines (a check's "Checking…", warnings) may come before it.
pub fn assert_error_line(run: &Run, message: &str) {
    let errors: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("cred: error:"))
        .collect();
    assert_eq!(errors.len(), 1, "exactly one error line expected\n{run}");
    assert!(
        errors[0].starts_with(&format!("cred: error: {message}")),
        "the error line should start with `cred: error: {message}`\n{run}"
    );
}

/// stderr starts with `cred: error: {starts_with}`, and has no other error
/// line (bad input is refused before anything else is printed).
pub fn assert_one_error(run: &Run, starts_with: &str) {
    assert!(
        run.stderr
            .starts_with(&format!("cred: error: {starts_with}")),
        "stderr should start with `cred: error: {starts_with}`\n{run}"
    );
    assert_eq!(
        run.stderr.matches("cred: error:").count(),
        1,
        "exactly one error line expected\n{run}"
    );
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
