//! `cred call` with stdout on a terminal (run under `script`, a real
//! pseudo-terminal): JSON pretty-printed token by token (numbers keep their
//! digits, duplicate keys and order stay), binary held back with a note,
//! and warnings starting on a line of their own.

use std::io::Read;
use std::process::Command;

use crate::common::*;

/// Runs `cred call ARGS` on a pseudo-terminal (stdout and stderr both on
/// it); returns the exit code and what the terminal showed.
fn call_on_terminal(env: &TestEnv, vars: &[(&str, String)], args: &[&str]) -> (i32, String) {
    require_command("script");
    let mut line = format!("'{}' call", env!("CARGO_BIN_EXE_cred"));
    for a in args {
        line.push_str(&format!(" '{}'", a.replace('\'', r"'\''")));
    }
    let out = Command::new("script")
        .args(["-qefc", &line, "/dev/null"])
        .env_clear()
        .envs(env.sealed_env())
        .env("TERM", "dumb")
        .env("NO_COLOR", "1")
        .envs(vars.iter().map(|(k, v)| (*k, v.clone())))
        .current_dir(env.config_dir())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run script");
    let text = String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n");
    (out.status.code().unwrap_or(-1), text)
}

#[test]
fn json_on_a_terminal_keeps_every_token_as_it_came() {
    let body = r#"{"b":123456789012345678.99,"a":1,"a":2,"big":1e400,"t":"x\u0007y","n":[]}"#;
    let server = Server::start(move |_| Reply::json(200, body));
    let env = TestEnv::new();
    add_generic_unchecked(&env, &server.url(), &[]);
    let (code, shown) = call_on_terminal(&env, &[], &["api", "/x"]);
    assert_eq!(code, 0, "{shown}");
    assert_eq!(
        shown,
        "{\n  \"b\": 123456789012345678.99,\n  \"a\": 1,\n  \"a\": 2,\n  \"big\": 1e400,\n  \"t\": \"x\\u0007y\",\n  \"n\": []\n}\n"
    );
}

#[test]
fn json_that_breaks_off_stops_with_a_clear_error() {
    let server = Server::start(|_| Reply::json(200, r#"{"a": [1, 2}"#));
    let env = TestEnv::new();
    add_generic_unchecked(&env, &server.url(), &[]);
    let (code, shown) = call_on_terminal(&env, &[], &["api", "/x"]);
    assert_eq!(code, 1, "{shown}");
    assert!(
        shown.contains("cred: error: the answer is not valid JSON"),
        "{shown}"
    );
    assert!(shown.contains("-o FILE or a pipe"), "{shown}");
}

#[test]
fn binary_is_not_written_to_a_terminal() {
    let png: Vec<u8> = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\x1b[2J".to_vec();
    let png2 = png.clone();
    let server = Server::start(move |s| match s.path() {
        "/v1/image" => Reply::new(200, png2.clone()).header("Content-Type", "image/png"),
        // Bytes that are not text, with no content type.
        _ => Reply::new(200, vec![0xff, 0xfe, 0x00, 0x01, 0x1b, b'[']),
    });
    let env = TestEnv::new();
    add_generic_unchecked(&env, &server.url(), &[]);
    for path in ["/image", "/raw"] {
        let (code, shown) = call_on_terminal(&env, &[], &["api", path]);
        assert_eq!(code, 0, "{shown}");
        assert!(
            !shown.contains("PNG") && !shown.contains('\u{1b}'),
            "{shown:?}"
        );
        assert!(
            shown.contains("cred does not write to a terminal"),
            "{shown}"
        );
        assert!(shown.contains("use -o FILE"), "{shown}");
    }
    assert!(
        call_on_terminal(&env, &[], &["api", "/image"])
            .1
            .contains("image/png"),
        "the note names the content type"
    );
    // -o still writes it, byte for byte.
    let file = env.config_dir().join("out.png");
    let (code, shown) =
        call_on_terminal(&env, &[], &["api", "/image", "-o", file.to_str().unwrap()]);
    assert_eq!(code, 0, "{shown}");
    assert_eq!(std::fs::read(&file).unwrap(), png);
}

#[test]
fn a_warning_after_a_body_without_a_newline_starts_on_its_own_line() {
    let server =
        Server::start(|_| Reply::new(404, "not here").header("Content-Type", "text/plain"));
    let env = TestEnv::new();
    add_generic_unchecked(&env, &server.url(), &[]);
    let (code, shown) = call_on_terminal(&env, &[], &["api", "/x"]);
    assert_eq!(code, 3, "{shown}");
    assert!(
        shown.starts_with("not here\ncred: error: HTTP 404"),
        "{shown:?}"
    );
}

/// `reps` copies of `chunk`, read lazily.
struct Cycle {
    chunk: Vec<u8>,
    pos: usize,
    left: usize,
}

impl std::io::Read for Cycle {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let n = buf.len().min(self.chunk.len() - self.pos);
        buf[..n].copy_from_slice(&self.chunk[self.pos..self.pos + n]);
        self.pos += n;
        if self.pos == self.chunk.len() {
            self.pos = 0;
            self.left -= 1;
        }
        Ok(n)
    }
}

/// SPEC §5: pretty-printing streams; peak RSS stays under 64 MiB for an
/// answer larger than that (80 MiB of JSON, printed on a terminal).
#[test]
fn pretty_printing_a_large_answer_keeps_memory_bounded() {
    require_command("script");
    let item =
        br#"{"id":123456789012345678901234567890,"name":"abcdefghijklmnop","tags":["x","y"]},"#;
    let per_chunk = 1024 * 1024 / item.len();
    let chunk: Vec<u8> = item.repeat(per_chunk);
    let reps = 80;
    let len = 1 + chunk.len() * reps + 3;
    let server = Server::start(move |_| {
        let body = std::io::Cursor::new(b"[".to_vec())
            .chain(Cycle {
                chunk: chunk.clone(),
                pos: 0,
                left: reps,
            })
            .chain(std::io::Cursor::new(b"{}]".to_vec()));
        Reply::stream(200, body, len).header("Content-Type", "application/json")
    });
    let env = TestEnv::new();
    add_generic_unchecked(&env, &server.url(), &[]);
    let rss_file = env.dir.path().join("rss");
    let line = format!(
        "/usr/bin/time -f %M -o '{}' '{}' call api /big",
        rss_file.display(),
        env!("CARGO_BIN_EXE_cred")
    );
    let status = Command::new("script")
        .args(["-qefc", &line, "/dev/null"])
        .env_clear()
        .envs(env.sealed_env())
        .env("TERM", "dumb")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run script");
    assert!(status.success());
    let kib: u64 = std::fs::read_to_string(&rss_file)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(kib < 64 * 1024, "peak RSS {kib} KiB");
}

/// `> log 2>&1`: stdout and stderr are one file; the error starts on its
/// own line although the body did not end one, and stdout's bytes are
/// not changed (the newline goes to stderr).
#[test]
fn a_message_after_a_body_in_the_same_file_starts_on_its_own_line() {
    let server =
        Server::start(|_| Reply::new(404, "not here").header("Content-Type", "text/plain"));
    let env = TestEnv::new();
    add_generic_unchecked(&env, &server.url(), &[]);
    let log = env.dir.path().join("log");
    let file = std::fs::File::create(&log).unwrap();
    let status = std_cmd(&env)
        .args(["call", "api", "/x"])
        .stdin(std::process::Stdio::null())
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(3));
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.starts_with("not here\ncred: error: HTTP 404"),
        "{text:?}"
    );
    // Separate pipes: stdout keeps its bytes exactly.
    let run = super::call(&env, &[], &["api", "/x"]);
    run.code(3);
    assert_eq!(run.stdout, "not here");
}

/// An answer labelled JSON that is not (an HTML error page) is printed as
/// it came, not cut off by the pretty-printer.
#[test]
fn a_json_label_on_html_prints_the_html() {
    let server = Server::start(|_| Reply::json(502, "<html>Bad gateway</html>"));
    let env = TestEnv::new();
    add_generic_unchecked(&env, &server.url(), &[]);
    let (code, shown) = call_on_terminal(&env, &[], &["api", "/x", "--retries", "0"]);
    assert_eq!(code, 3, "{shown}");
    assert!(
        shown.starts_with("<html>Bad gateway</html>\ncred: error: HTTP 502"),
        "{shown:?}"
    );
}

#[test]
fn text_on_a_terminal_never_drives_it() {
    let page = "<html>\u{1b}]52;c;ZXZpbA==\u{7}\u{1b}[2J oops \u{9b}31m</html>";
    let server = Server::start(move |_| {
        Reply::new(502, page).header("Content-Type", "text/html; charset=utf-8")
    });
    let env = TestEnv::new();
    add_generic_unchecked(&env, &server.url(), &[]);
    let (code, shown) = call_on_terminal(&env, &[], &["api", "/x", "--retries", "0"]);
    assert_eq!(code, 3, "{shown}");
    assert!(
        !shown.contains('\u{1b}') && !shown.contains('\u{9b}'),
        "{shown:?}"
    );
    assert!(
        shown.contains("<html>\\x1b]52;c;ZXZpbA==\\x07\\x1b[2J oops \\u{9b}31m</html>"),
        "{shown:?}"
    );
    // To a pipe the body is passed on as it came.
    let run = env.run(&["call", "api", "/x", "--retries", "0"]);
    run.code(3);
    assert_eq!(run.stdout, page);
}
