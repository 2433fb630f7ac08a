//! Live checks over TLS: a self-signed certificate is refused (exit 5,
//! nothing stored), against a real `openssl s_server`.

use std::time::{Duration, Instant};

use crate::common::*;

#[test]
fn tls_certificates_are_verified() {
    let tls = TlsServer::start();
    let env = TestEnv::new();
    let key = secret("tls");
    let base = format!("https://127.0.0.1:{}/api", tls.port);
    let out = add_generic(&env, "selfsigned", &base, &key, &[]);
    out.code(5);
    assert!(out.stderr.contains("TLS"), "{out}");
    assert!(out.stderr.contains("certificate"), "{out}");
    assert_nothing_stored(&env, "selfsigned", Some(&key));
}

/// `openssl s_server` with a fresh self-signed certificate for 127.0.0.1:
/// it answers any request (`-www`) once the handshake is done, so a client
/// that did not verify certificates would get a 200.
struct TlsServer {
    child: std::process::Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl TlsServer {
    fn start() -> TlsServer {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        let made = std::process::Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-days",
                "1",
            ])
            .args([
                "-subj",
                "/CN=127.0.0.1",
                "-addext",
                "subjectAltName=IP:127.0.0.1",
            ])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .expect("this test needs the `openssl` command");
        assert!(made.success(), "openssl could not make a certificate");
        for _ in 0..5 {
            let port = closed_port();
            let mut child = std::process::Command::new("openssl")
                .args(["s_server", "-www", "-quiet", "-accept"])
                .arg(format!("127.0.0.1:{port}"))
                .arg("-cert")
                .arg(&cert)
                .arg("-key")
                .arg(&key)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            // Polls until it listens; the 5 s bound only stops a hang.
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return TlsServer {
                        child,
                        port,
                        _dir: dir,
                    };
                }
                if child.try_wait().unwrap().is_some() {
                    break; // the port was taken meanwhile: try another
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("openssl s_server did not start");
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
