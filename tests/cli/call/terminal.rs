//! `cred call` with stdout on a terminal (run under `script`, a real
//! pseudo-terminal): JSON pretty-printed token by token (numbers keep their
//! digits, duplicate keys and order stay), binary held back with a note,
//! and warnings starting on a line of their own.

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
