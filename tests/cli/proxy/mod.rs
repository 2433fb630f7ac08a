//! `cred proxy`: real clients (curl, Python's `requests`, raw sockets)
//! through the real proxy to a loopback upstream that records what it
//! received. [`Proxy`] runs one and reads the lines it prints first.

mod access;
mod failures;
mod generic;
mod links;
mod load;
mod redirects;
mod stopping;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::common::*;

/// A running `cred proxy`: the lines it printed first, and what it writes
/// to stderr (drained all the time, so that logging never blocks it).
pub struct Proxy {
    child: Reap,
    /// The threads copying stdout and stderr: they end with the process.
    drains: Vec<std::thread::JoinHandle<()>>,
    pub pid: u32,
    /// `CRED_PROXY_URL`, `CRED_PROXY_TOKEN` (or `CRED_PROXY_SOCKET`), in order.
    pub lines: Vec<String>,
    stderr: Arc<Mutex<Vec<u8>>>,
    stdout: Arc<Mutex<Vec<u8>>>,
}

/// What a stopped proxy left behind.
pub struct Stopped {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Proxy {
    /// `cred proxy ARGS` with the sealed environment plus `vars`; returns
    /// once it printed its first two lines (it listens by then).
    pub fn start(env: &TestEnv, vars: &[(&str, String)], args: &[&str]) -> Proxy {
        let mut full = vec!["proxy"];
        full.extend_from_slice(args);
        let mut child = spawn_cred(env, vars, &full, Stdio::piped());
        let pid = child.id();
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let mut drains = vec![drain(child.stderr.take().unwrap(), stderr.clone())];
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let mut lines = Vec::new();
        for _ in 0..2 {
            let mut line = String::new();
            out.read_line(&mut line).unwrap();
            if line.is_empty() {
                let _ = child.wait();
                panic!(
                    "cred proxy ended before printing its address\n{}",
                    String::from_utf8_lossy(&stderr.lock().unwrap())
                );
            }
            lines.push(line.trim_end().to_string());
        }
        drains.push(drain(out, stdout.clone()));
        Proxy {
            child: Reap(Some(child)),
            drains,
            pid,
            lines,
            stderr,
            stdout,
        }
    }

    /// The value of `NAME=…` among the first lines.
    pub fn var(&self, name: &str) -> String {
        self.lines
            .iter()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap_or_else(|| panic!("no {name}= line in {:?}", self.lines))
            .to_string()
    }

    pub fn url(&self) -> String {
        self.var("CRED_PROXY_URL")
    }

    pub fn token(&self) -> String {
        self.var("CRED_PROXY_TOKEN")
    }

    pub fn port(&self) -> u16 {
        self.url().rsplit(':').next().unwrap().parse().unwrap()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }

    /// Waits (up to `within`) for the process to end by itself.
    pub fn wait_exit(&mut self, within: Duration) -> Option<i32> {
        let child = self.child.0.as_mut().unwrap();
        let start = Instant::now();
        while start.elapsed() < within {
            if let Some(status) = child.try_wait().unwrap() {
                return Some(status.code().unwrap_or(-1));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// SIGTERM, then what it printed.
    pub fn stop(mut self) -> Stopped {
        std::process::Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .unwrap();
        let code = self.wait_exit(Duration::from_secs(60));
        // Once it ended, the drain threads take the last bytes and end.
        if code.is_some() {
            for d in std::mem::take(&mut self.drains) {
                let _ = d.join();
            }
        }
        Stopped {
            code,
            stdout: format!(
                "{}\n{}",
                self.lines.join("\n"),
                String::from_utf8_lossy(&self.stdout.lock().unwrap())
            ),
            stderr: self.stderr(),
        }
    }
}

/// Copies `from` into `to` on a thread of its own until it ends.
fn drain(
    mut from: impl Read + Send + 'static,
    to: Arc<Mutex<Vec<u8>>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 {
                break;
            }
            to.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    })
}

/// A Paligo credential `paligo` whose API is `server`, and a proxy for it
/// with `args`; returns the key too.
pub fn paligo_proxy(env: &TestEnv, server: &Server, args: &[&str]) -> (Proxy, String) {
    let key = add_paligo_unchecked(env, server);
    let mut full = vec!["paligo"];
    full.extend_from_slice(args);
    (Proxy::start(env, &[paligo_env(server)], &full), key)
}

/// `curl -sS ARGS` (no proxy from the environment); fails the test unless
/// curl runs.
pub fn curl(args: &[&str]) -> Output {
    require_command("curl");
    std::process::Command::new("curl")
        .args(["-sS", "--noproxy", "*", "--max-time", "120"])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// The status code curl reports with `-w '%{http_code}'` after `-o FILE`.
pub fn status_of(args: &[&str]) -> u16 {
    let mut full = vec!["-o", "/dev/null", "-w", "%{http_code}"];
    full.extend_from_slice(args);
    let out = curl(&full);
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0)
}

/// `Authorization: Bearer TOKEN` as a curl `-H` value.
pub fn bearer(token: &str) -> String {
    format!("Authorization: Bearer {token}")
}

/// One HTTP/1.1 GET over a fresh connection, written by hand: the status,
/// or 0 when the connection gave none.
pub fn raw_get(port: u16, path: &str, token: &str) -> u16 {
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return 0;
    };
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    if s.write_all(request.as_bytes()).is_err() {
        return 0;
    }
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    parse_status(&answer)
}

/// The status code of an HTTP/1.1 answer's first line (0 if none).
pub fn parse_status(answer: &[u8]) -> u16 {
    String::from_utf8_lossy(answer)
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// Every form of the key and the token that must stay out of logs.
pub fn hidden_forms(key: &str, token: &str) -> Vec<String> {
    let mut forms = paligo_forms(key);
    forms.push(token.to_string());
    forms
}
