//! `cred call`: `-f` on GET, HEAD and DELETE as query parameters (gh's
//! rule), `--form K=V` urlencoded, `--form K=@FILE` multipart with the file
//! streamed (and sent again whole after a same-origin 307), and `-q` or a
//! query in PATH naming a query-placed key's own parameter refused.

use super::call;
use crate::common::*;

#[test]
fn fields_on_get_head_and_delete_become_query_parameters() {
    let server = Server::start(|_| Reply::new(200, ""));
    let env = TestEnv::new();
    add_generic_unchecked(&env, &server.url(), &[]);
    for method in ["GET", "HEAD", "DELETE", "get"] {
        call(
            &env,
            &[],
            &[
                "api",
                method,
                "/items?x=1",
                "-f",
                "name=a b",
                "-f",
                "n:=3",
                "-f",
                "s:=\"q\"",
            ],
        )
        .ok();
        let seen = server.requests().pop().unwrap();
        assert_eq!(seen.method, method.to_ascii_uppercase());
        assert_eq!(seen.query(), "x=1&name=a+b&n=3&s=q", "{method}");
        assert!(seen.body.is_empty(), "{method}: {:?}", seen.body);
        assert_eq!(seen.header("content-type"), None);
    }
    // Without a method, fields still make a POST with a JSON body.
    call(&env, &[], &["api", "/items", "-f", "name=a"]).ok();
    let seen = server.requests().pop().unwrap();
    assert_eq!((seen.method.as_str(), seen.query()), ("POST", ""));
    assert_eq!(seen.body, br#"{"name":"a"}"#);
}

#[test]
fn form_fields_are_sent_urlencoded() {
    let server = Server::start(|_| Reply::new(201, ""));
    let env = TestEnv::new();
    add_paymo_unchecked(&env, &server);
    let p = [paymo_env(&server)];
    call(
        &env,
        &p,
        &[
            "paymo",
            "/tasks",
            "--form",
            "name=Write docs & test",
            "--form",
            "project_id=42",
        ],
    )
    .ok();
    let seen = server.only();
    assert_eq!(seen.method, "POST");
    assert_eq!(
        seen.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(seen.body, b"name=Write+docs+%26+test&project_id=42");
    // --form and -d or -f together are usage errors.
    call(&env, &p, &["paymo", "/tasks", "--form", "a=1", "-d", "x"]).code(2);
    call(&env, &p, &["paymo", "/tasks", "--form", "a=1", "-f", "b=2"]).code(2);
    // A --form without `=` says what it expects.
    let run = call(&env, &p, &["paymo", "/tasks", "--form", "oops"]);
    run.code(1);
    assert!(run.stderr.contains("expected K=V or K=@FILE"), "{run}");
}

#[test]
fn a_form_file_is_uploaded_as_multipart_and_resent_whole_after_a_307() {
    let server = Server::start(|s| match s.path() {
        "/v1/upload" => Reply::new(307, "").header("Location", "/v1/upload2"),
        _ => Reply::json(201, r#"{"ok":true}"#),
    });
    let env = TestEnv::new();
    let key = add_generic_unchecked(&env, &server.url(), &[]);
    // A 1 MiB binary file, every byte value.
    let data: Vec<u8> = (0..1024 * 1024).map(|i| (i * 7 % 256) as u8).collect();
    let file = env.config_dir().join("report.pdf");
    std::fs::write(&file, &data).unwrap();
    let arg = format!("file=@{}", file.display());
    let run = call(
        &env,
        &[],
        &[
            "api",
            "/upload",
            "--form",
            "title=Q3 report",
            "--form",
            &arg,
        ],
    );
    run.ok();
    let seen = server.requests();
    assert_eq!(seen.len(), 2, "{run}");
    for s in &seen {
        assert_eq!(s.method, "POST");
        assert_eq!(s.header("authorization"), Some(key.as_str()));
        let ct = s.header("content-type").unwrap();
        let boundary = ct
            .strip_prefix("multipart/form-data; boundary=")
            .unwrap_or_else(|| panic!("{ct}"));
        let body = &s.body;
        let text = String::from_utf8_lossy(body);
        assert!(
            text.contains("name=\"title\"\r\n\r\nQ3 report\r\n"),
            "{text:.300}"
        );
        assert!(
            text.contains(
                "name=\"file\"; filename=\"report.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
            ),
            "{text:.400}"
        );
        // The file's bytes, whole, between its part head and the closing boundary.
        let head = b"Content-Type: application/pdf\r\n\r\n";
        let start = body.windows(head.len()).position(|w| w == head).unwrap() + head.len();
        let end = format!("\r\n--{boundary}--\r\n");
        assert!(body.ends_with(end.as_bytes()));
        assert_eq!(&body[start..body.len() - end.len()], &data[..]);
    }
    // A missing file is a clear error before anything is sent.
    let run = call(
        &env,
        &[],
        &["api", "/upload", "--form", "file=@/nonexistent/x.bin"],
    );
    run.code(1);
    assert!(run.stderr.contains("/nonexistent/x.bin"), "{run}");
    assert_eq!(server.count(), 2);
}

#[test]
fn query_of_the_keys_own_parameter_is_refused() {
    let server = Server::start(|_| Reply::new(200, ""));
    let env = TestEnv::new();
    let key = add_generic_unchecked(
        &env,
        &server.url(),
        &["--placement", "query", "--key-name", "token"],
    );
    for args in [
        vec!["api", "/items", "-q", "token=mine"],
        vec!["api", "/items?token=mine"],
        vec!["api", "GET", "/items", "-f", "token=mine"],
        vec!["api", "/items", "-q", "token=mine", "--dry-run"],
    ] {
        let run = call(&env, &[], &args);
        run.code(1);
        assert!(
            run.stderr
                .contains("would replace the credential's own `token` query parameter"),
            "{args:?}: {run}"
        );
        assert_no_leak(&run, &[key.clone(), urlencoded(&key)]);
    }
    assert_eq!(server.count(), 0);
    // Another parameter is fine.
    call(&env, &[], &["api", "/items", "-q", "tokens=2"]).ok();
    assert_eq!(
        server.only().query(),
        format!("tokens=2&token={}", urlencoded(&key))
    );
}

/// `--form` under `--dry-run`: curl's --form-string and -F name=@FILE, and
/// the command uploads the same parts.
#[test]
fn a_form_upload_dry_run_is_a_working_curl_command() {
    require_command("curl");
    let server = Server::start(|_| Reply::new(201, ""));
    let env = TestEnv::new();
    let key = add_generic_unchecked(&env, &server.url(), &[]);
    let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let file = env.config_dir().join("logo.png");
    std::fs::write(&file, &data).unwrap();
    let arg = format!("file=@{}", file.display());
    let dry = call(
        &env,
        &[],
        &[
            "api",
            "POST",
            "/up",
            "--form",
            "title=Q3 <report>; x",
            "--form",
            &arg,
            "--dry-run",
        ],
    );
    dry.ok();
    assert!(
        dry.stdout.contains("--form-string 'title=Q3 <report>; x'"),
        "{dry}"
    );
    assert!(
        dry.stdout
            .contains(&format!("-F 'file=@{}'", file.display())),
        "{dry}"
    );
    assert_eq!(server.count(), 0);
    let script = env.dir.path().join("up.sh");
    std::fs::write(&script, format!("{} -sS\n", dry.stdout.trim_end())).unwrap();
    let out = std::process::Command::new("bash")
        .arg(&script)
        .env_clear()
        .env("PATH", path_with_cred())
        .env("HOME", env.home())
        .env("CRED_CONFIG_DIR", env.config_dir())
        .env("DBUS_SESSION_BUS_ADDRESS", bus_address())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen = server.only();
    assert_eq!(seen.header("authorization"), Some(key.as_str()));
    assert!(
        seen.header("content-type")
            .unwrap()
            .starts_with("multipart/form-data; boundary=")
    );
    let text = String::from_utf8_lossy(&seen.body);
    assert!(
        text.contains("name=\"title\"\r\n\r\nQ3 <report>; x\r\n"),
        "{text:.300}"
    );
    assert!(text.contains("filename=\"logo.png\""), "{text:.300}");
    assert!(seen.body.windows(data.len()).any(|w| w == &data[..]));
}
