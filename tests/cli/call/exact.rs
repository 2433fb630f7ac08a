//! `cred call` as exact as the tools it replaces (issue 25): what `-v`
//! shows is every header sent, a `..` that stays under the base URL is
//! resolved rather than refused, a bare method is a usage error, an
//! answer cred cannot decode is not printed, and a `-d` body that looks
//! like broken JSON gets a word.

use super::{call, echo};
use crate::common::*;

/// Every header the server received is among those `-v` showed, with the
/// same value (the key's own masked): `accept-encoding` and
/// `content-length`, which the client adds, included.
#[test]
fn verbose_shows_every_header_sent() {
    let server = Server::start(echo);
    let env = TestEnv::new();
    let key = add_generic_unchecked(&env, &server.url(), &["--key-name", "X-Api-Key"]);
    for args in [
        vec!["api", "/anything", "-v"],
        vec!["api", "POST", "/anything", "-d", r#"{"a":1}"#, "-v"],
        vec!["api", "PUT", "/anything", "-f", "n=1", "-v"],
    ] {
        let before = server.count();
        let run = call(&env, &[], &args);
        run.ok();
        let seen = &server.requests()[before];
        let shown: Vec<String> = run
            .stderr
            .lines()
            .filter_map(|l| l.strip_prefix("> "))
            .map(str::to_ascii_lowercase)
            .collect();
        for (k, v) in &seen.headers {
            let k = k.to_ascii_lowercase();
            let want = if k == "x-api-key" {
                format!("{k}: <redacted>")
            } else {
                format!("{k}: {}", v.to_ascii_lowercase())
            };
            assert!(shown.contains(&want), "{args:?}: `{want}` not shown\n{run}");
        }
        assert_no_leak(&run, &key_forms(&key, None));
    }
}

/// `/anything/a/b/../c` stays under the base URL: sent as
/// `/anything/a/c`, as curl does; only what leaves the base is refused.
#[test]
fn dot_segments_are_resolved_before_the_climb_check() {
    let server = Server::start(echo);
    let env = TestEnv::new();
    add_generic_unchecked(&env, &server.url(), &[]);
    call(&env, &[], &["api", "/anything/a/b/../c"]).ok();
    call(&env, &[], &["api", "anything/./x/.."]).ok();
    let urls: Vec<String> = server.requests().iter().map(|s| s.url.clone()).collect();
    assert_eq!(urls, ["/v1/anything/a/c", "/v1/anything/"]);
    // Side by side: curl sends the same path for the same URL.
    require_command("curl");
    let curled = std::process::Command::new("curl")
        .args(["-sS", "--noproxy", "*", "-o", "/dev/null"])
        .args(["-H", "Authorization: curl"])
        .arg(format!("{}/v1/anything/a/b/../c", server.url()))
        .status()
        .unwrap();
    assert!(curled.success());
    assert_eq!(server.requests()[2].url, "/v1/anything/a/c");
    let before = server.count();
    let run = call(&env, &[], &["api", "/anything/../../other"]);
    run.code(1);
    assert!(run.stderr.contains("climbs out"), "{run}");
    assert_eq!(server.count(), before);
}

#[test]
fn a_bare_method_without_a_path_is_a_usage_error() {
    let server = Server::start(echo);
    let env = TestEnv::new();
    add_generic_unchecked(&env, &server.url(), &[]);
    for method in ["DELETE", "GET", "POST"] {
        let run = call(&env, &[], &["api", method]);
        run.code(2);
        assert_one_error(&run, &format!("`{method}` is an HTTP method"));
    }
    assert_eq!(server.count(), 0);
    // A path of that name is still reachable.
    call(&env, &[], &["api", "/DELETE"]).ok();
    assert_eq!(server.only().url, "/v1/DELETE");
}

/// An answer in a `Content-Encoding` cred cannot decode could hold the key
/// where the scrubber cannot see it: not printed (exit 1, the encoding
/// named), as the proxy refuses it; with `-o` the raw bytes are written
/// with a warning that they could not be scanned.
#[test]
fn an_answer_in_an_unknown_encoding_is_refused_unless_written_to_a_file() {
    let key = secret("api");
    let echoed = key.clone();
    let server = Server::start(move |_| {
        Reply::new(200, format!("x-compress:{echoed}")).header("Content-Encoding", "x-compress")
    });
    let env = TestEnv::new();
    add_generic(
        &env,
        "api",
        &format!("{}/v1", server.url()),
        &key,
        &["--no-verify"],
    )
    .ok();
    let run = call(&env, &[], &["api", "/packed"]);
    run.code(1);
    assert!(run.stdout.is_empty(), "{run}");
    assert!(
        run.stderr.contains("Content-Encoding `x-compress`"),
        "{run}"
    );
    assert_no_leak(&run, &key_forms(&key, None));
    std::fs::create_dir_all(env.home()).unwrap();
    let out = env.home().join("raw.bin");
    let run = call(&env, &[], &["api", "/packed", "-o", out.to_str().unwrap()]);
    run.ok();
    assert!(run.stderr.contains("not scanned for it"), "{run}");
    // Written as it came (what cred can still see of the key is masked).
    assert!(std::fs::read(&out).unwrap().starts_with(b"x-compress:"));
}

/// `-d '{bad'` still goes as `application/octet-stream`, byte for byte,
/// but cred says once that it looks like JSON and does not parse.
#[test]
fn a_body_that_looks_like_broken_json_gets_a_warning() {
    let server = Server::start(echo);
    let env = TestEnv::new();
    add_generic_unchecked(&env, &server.url(), &[]);
    let run = call(&env, &[], &["api", "POST", "/anything", "-d", "{bad"]);
    run.ok();
    assert_eq!(
        run.stderr
            .matches("starts like JSON but does not parse")
            .count(),
        1,
        "{run}"
    );
    let seen = server.only();
    assert_eq!(seen.body, b"{bad");
    assert_eq!(
        seen.header("content-type"),
        Some("application/octet-stream")
    );
    for fine in [r#"{"ok":1}"#, "plain text"] {
        let run = call(&env, &[], &["api", "POST", "/anything", "-d", fine]);
        run.ok();
        assert!(!run.stderr.contains("starts like JSON"), "{run}");
    }
}

/// `-f k:=JSON` goes as typed (big numbers, exponents, `-0` never
/// re-written); `tags[]=` and `a[b]=` build arrays and objects as `gh api`
/// does; a plain key given twice is refused, naming the `[]` form.
#[test]
fn fields_keep_json_as_typed_and_build_arrays_and_objects() {
    let server = Server::start(echo);
    let env = TestEnv::new();
    add_generic_unchecked(&env, &server.url(), &[]);
    call(
        &env,
        &[],
        &[
            "api",
            "POST",
            "/anything",
            "-f",
            "big:=123456789012345678901234567890",
            "-f",
            "e:=1E2",
            "-f",
            "z:=-0",
            "-f",
            "tags[]=a",
            "-f",
            "tags[]=b",
            "-f",
            "owner[name]=Ada",
            "-f",
            "owner[roles][]=admin",
        ],
    )
    .ok();
    assert_eq!(
        String::from_utf8(server.only().body).unwrap(),
        r#"{"big":123456789012345678901234567890,"e":1E2,"z":-0,"tags":["a","b"],"owner":{"name":"Ada","roles":["admin"]}}"#
    );
    let run = call(
        &env,
        &[],
        &["api", "POST", "/anything", "-f", "k=a", "-f", "k=b"],
    );
    run.code(1);
    assert!(
        run.stderr.contains("given twice") && run.stderr.contains("k[]=a"),
        "{run}"
    );
    assert_eq!(server.count(), 1);
}

/// `--jq` on NDJSON (httpbin's `/stream/3`) filters each value in turn, as
/// jq reads a stream.
#[test]
fn jq_reads_ndjson_one_value_at_a_time() {
    let server = Server::start(|_| {
        let lines: String = (0..3)
            .map(|i| format!("{{\"id\":{i},\"url\":\"/stream/3\"}}\n"))
            .collect();
        Reply::new(200, lines).header("Content-Type", "application/x-ndjson")
    });
    let env = TestEnv::new();
    add_generic_unchecked(&env, &server.url(), &[]);
    let run = call(&env, &[], &["api", "/stream/3", "--jq", ".id"]);
    run.ok();
    assert_eq!(run.stdout, "0\n1\n2\n");
}
