//! `cred proxy` when the API cannot be reached or the client asks for
//! something outside the base URL: the proxy answers itself, with JSON,
//! and says nothing of the key.

use super::*;

#[test]
fn an_unreachable_api_is_a_502_with_a_json_reason() {
    let env = TestEnv::new();
    // The credential is stored for a server that is gone when the proxy
    // forwards to it: nothing listens on its port any more.
    let gone = Server::start(|_| Reply::json(200, "{}"));
    let key = add_paligo_unchecked(&env, &gone);
    let api = paligo_env(&gone);
    drop(gone);
    let proxy = Proxy::start(&env, &[api], &["paligo"]);
    let out = curl(&[
        "-H",
        &bearer(&proxy.token()),
        "-w",
        "\n%{http_code}",
        &format!("{}/documents", proxy.url()),
    ]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap();
    assert_eq!(code, "502", "{text}");
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    assert!(v["reason"].as_str().unwrap().contains("refused"), "{v}");
    assert_hidden("the answer", text.as_bytes(), &paligo_forms(&key));
    let stopped = proxy.stop();
    assert!(
        stopped.stderr.contains(" GET /documents 502 "),
        "{}",
        stopped.stderr
    );
}

#[test]
fn a_path_that_climbs_out_of_the_base_url_is_refused_and_not_forwarded() {
    let server = Server::start(|_| Reply::json(200, "{}"));
    let env = TestEnv::new();
    let (proxy, _key) = paligo_proxy(&env, &server, &[]);
    let auth = bearer(&proxy.token());
    for path in ["/../../other", "/%2e%2e/%2e%2e/other"] {
        let code = status_of(&[
            "--path-as-is",
            "-H",
            &auth,
            &format!("{}{path}", proxy.url()),
        ]);
        assert_eq!(code, 400, "{path}");
    }
    assert_eq!(server.count(), 0);
    proxy.stop();
}

/// A `..` the URL parser leaves alone but the API may resolve (an encoded
/// `/`, dots encoded twice, a `;` parameter after them) is refused too:
/// nothing of it reaches the API with the key, and `--allow` cannot be
/// stepped out of that way.
#[test]
fn a_climb_hidden_by_encoding_or_a_path_parameter_is_refused_and_not_forwarded() {
    let server = Server::start(|_| Reply::json(200, "{}"));
    let env = TestEnv::new();
    let (proxy, _key) = paligo_proxy(&env, &server, &[]);
    let auth = bearer(&proxy.token());
    for path in [
        "/..%2f..%2fother",
        "/documents/..%5C..%5Cother",
        "/documents/..;/..;/other",
        "/%252e%252e%252f%252e%252e%252fother",
    ] {
        let url = format!("{}{path}", proxy.url());
        assert_eq!(
            status_of(&["--path-as-is", "-H", &auth, &url]),
            400,
            "{path}"
        );
    }
    // An encoded `/` inside a name still passes (GitLab-style ids).
    let url = format!("{}/projects/group%2Fname", proxy.url());
    assert_eq!(status_of(&["-H", &auth, &url]), 200);
    assert_eq!(server.count(), 1, "{:?}", server.requests());
    proxy.stop();

    let args = ["paligo", "--allow", "GET /documents*"];
    let proxy = Proxy::start(&env, &[paligo_env(&server)], &args);
    let url = format!("{}/documents/..;/users", proxy.url());
    let code = status_of(&["--path-as-is", "-H", &bearer(&proxy.token()), &url]);
    assert_eq!(code, 400);
    assert_eq!(server.count(), 1, "{:?}", server.requests());
    proxy.stop();
}

#[test]
fn an_answer_in_an_encoding_cred_cannot_read_is_not_passed_on() {
    // An API that echoes the key inside a body compressed in a way cred
    // does not decode: the scrubber could not see the key, so the proxy
    // answers 502 itself.
    let key = secret("enc");
    let echoed = key.clone();
    let server = Server::start(move |s| match s.path() {
        "/acme/api/v2/plain" => Reply::json(200, "{}").header("Content-Encoding", "identity"),
        _ => {
            Reply::new(200, format!("x-compress:{echoed}")).header("Content-Encoding", "x-compress")
        }
    });
    let env = TestEnv::new();
    add_paligo(&env, &server, &key, &["--no-verify"]).ok();
    let proxy = Proxy::start(&env, &[paligo_env(&server)], &["paligo"]);
    let auth = bearer(&proxy.token());
    let out = curl(&[
        "-H",
        &auth,
        "-w",
        "\n%{http_code}",
        &format!("{}/echo", proxy.url()),
    ]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap();
    assert_eq!(code, "502", "{text}");
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    assert!(v["reason"].as_str().unwrap().contains("x-compress"), "{v}");
    assert_hidden("the answer", text.as_bytes(), &paligo_forms(&key));
    // `identity` is no encoding at all: passed on.
    let out = curl(&[
        "-H",
        &auth,
        "-w",
        "\n%{http_code}",
        &format!("{}/plain", proxy.url()),
    ]);
    assert!(String::from_utf8_lossy(&out.stdout).ends_with("\n200"));
    let stopped = proxy.stop();
    assert!(
        stopped.stderr.contains(" GET /echo 502 "),
        "{}",
        stopped.stderr
    );
}

/// An answer in a transfer coding other than `chunked` (`gzip, chunked`,
/// `deflate, chunked`, `x-gzip, chunked`) that echoes the key: the bytes
/// that came through were still compressed, out of the scrubber's sight,
/// and a client that decompressed them had the key. The proxy answers 502
/// itself, naming the coding.
#[test]
fn an_answer_in_a_transfer_coding_is_not_passed_on() {
    use std::io::Write as _;
    let key = secret("te");
    let echoed = key.clone();
    let server = Server::start(move |s| {
        let coding = s.path().rsplit('/').next().unwrap().to_string();
        let body = format!(r#"{{"key":"{echoed}"}}"#);
        let packed = if coding == "deflate" {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(body.as_bytes()).unwrap();
            e.finish().unwrap()
        } else {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(body.as_bytes()).unwrap();
            e.finish().unwrap()
        };
        let mut framed = format!("{:x}\r\n", packed.len()).into_bytes();
        framed.extend_from_slice(&packed);
        framed.extend_from_slice(b"\r\n0\r\n\r\n");
        let mut reply = Reply::new(200, framed)
            .header("Content-Type", "application/json")
            .header("Transfer-Encoding", &format!("{coding}, chunked"));
        reply.length = None;
        reply
    });
    let env = TestEnv::new();
    add_paligo(&env, &server, &key, &["--no-verify"]).ok();
    let proxy = Proxy::start(&env, &[paligo_env(&server)], &["paligo"]);
    let auth = bearer(&proxy.token());
    for coding in ["gzip", "deflate", "x-gzip"] {
        let out = curl(&[
            "-H",
            &auth,
            "-w",
            "\n%{http_code}",
            &format!("{}/echo/{coding}", proxy.url()),
        ]);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, code) = text.rsplit_once('\n').unwrap();
        assert_eq!(code, "502", "{coding}: {text}");
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        let reason = v["reason"].as_str().unwrap();
        assert!(reason.contains(&format!("`{coding}, chunked`")), "{v}");
    }
    let stopped = proxy.stop();
    assert_eq!(
        stopped.stderr.matches(" 502 ").count(),
        3,
        "{}",
        stopped.stderr
    );
}
