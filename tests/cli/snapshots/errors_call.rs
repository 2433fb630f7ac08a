//! `cred call`: the errors with a hint, from a request cred refuses to
//! build to the API's refusals, failed transfers and answers cred cannot
//! print.

use std::io::Read as _;
use std::time::Duration;

use crate::common::*;

/// A loopback API with one path per failure, and a generic credential
/// `api` (base URL SERVER/v1) and a Paymo credential `paymo` for it.
fn api() -> (TestEnv, Server) {
    let server = Server::start(|seen| {
        let path = seen.path().to_string();
        match path.as_str() {
            "/v1/ok" => Reply::json(200, r#"{"items":[1,2]}"#),
            "/v1/unauthorized" => Reply::json(401, r#"{"error":"bad key"}"#),
            "/v1/forbidden" => Reply::json(403, r#"{"error":"not allowed"}"#),
            "/v1/limited" => {
                Reply::json(429, r#"{"error":"slow down"}"#).header("Retry-After", "3600")
            }
            "/v1/offsite" => Reply::new(302, "").header("Location", "https://cdn.example.com/file"),
            "/v1/loop" => Reply::new(302, "").header("Location", "/v1/loop"),
            "/v1/encoded" => Reply::new(200, "xxxx")
                .header("Content-Type", "application/json")
                .header("Content-Encoding", "x-unknown"),
            "/v1/corrupt" => Reply::new(200, "not gzip at all")
                .header("Content-Type", "application/json")
                .header("Content-Encoding", "gzip"),
            "/v1/text" => Reply::new(200, "plain words").header("Content-Type", "text/plain"),
            "/v1/object" => Reply::json(200, r#"{"not":"a list"}"#),
            "/v1/endless" => {
                // Page N links to page N+1, for ever.
                let n: u64 = seen
                    .query()
                    .trim_start_matches("page=")
                    .parse()
                    .unwrap_or(1);
                let next = format!("</v1/endless?page={}>; rel=\"next\"", n + 1);
                Reply::json(200, "[1]").header("Link", &next)
            }
            // 1 MiB of JSON: more than --jq holds (768 KiB).
            "/v1/big" => Reply::json(200, &format!("[\"{}\"]", "x".repeat(1024 * 1024))),
            // Two pages of 500 KiB each: together more than --jq holds.
            "/v1/halves" => {
                let page = format!("[\"{}\"]", "x".repeat(500 * 1024));
                if seen.query().is_empty() {
                    Reply::json(200, &page).header("Link", "</v1/halves?page=2>; rel=\"next\"")
                } else {
                    Reply::json(200, &page)
                }
            }
            // A page of 33 MiB: more than --paginate joins.
            "/v1/huge" => {
                let len = 33 * 1024 * 1024;
                Reply::stream(200, std::io::repeat(b' ').take(len as u64), len)
                    .header("Content-Type", "application/json")
            }
            // The body stops after its first byte (and the server holds
            // the connection: behaviour under test, not a wait).
            "/v1/stalled" => Reply::stream(200, Stall(false), 100),
            "/v1/slow" => Reply::json(200, "{}").delay(Duration::from_secs(5)),
            _ => Reply::json(404, r#"{"error":"no such path"}"#),
        }
    });
    let env = TestEnv::new();
    add_generic(
        &env,
        "api",
        &format!("{}/v1", server.url()),
        &secret("api"),
        &["--no-verify"],
    )
    .ok();
    add_paymo_unchecked(&env, &server);
    (env, server)
}

#[test]
fn call_refuses_a_request_it_cannot_build() {
    let (env, _server) = api();
    snap!("method_without_path", &env, &["call", "api", "GET"]);
    snap!("not_a_method", &env, &["call", "api", "GET IT", "/ok"]);
    snap!(
        "absolute_url",
        &env,
        &["call", "api", "https://elsewhere.example.com/x"]
    );
    snap!(
        "query_without_equals",
        &env,
        &["call", "api", "/ok", "-q", "per_page"]
    );
    snap!(
        "header_without_colon",
        &env,
        &["call", "api", "/ok", "-H", "Accept"]
    );
    snap!(
        "header_replaces_the_key",
        &env,
        &["call", "api", "/ok", "-H", "Authorization: Bearer mine"]
    );
    snap!(
        "form_without_equals",
        &env,
        &["call", "api", "POST", "/ok", "--form", "name"]
    );
    std::fs::write(env.dir.path().join("report.txt"), "words").unwrap();
    snap!(
        "content_type_with_form_file",
        &env,
        &[
            "call",
            "api",
            "POST",
            "/ok",
            "--form",
            "file=@report.txt",
            "-H",
            "Content-Type: text/plain"
        ]
    );
    snap!(
        "field_not_json",
        &env,
        &["call", "api", "POST", "/ok", "-f", "count:=abc"]
    );
    snap!(
        "field_without_equals",
        &env,
        &["call", "api", "POST", "/ok", "-f", "name"]
    );
    snap!(
        "field_given_twice",
        &env,
        &["call", "api", "POST", "/ok", "-f", "tag=a", "-f", "tag=b"]
    );
    snap!(
        "field_two_shapes",
        &env,
        &["call", "api", "POST", "/ok", "-f", "a[]=1", "-f", "a[b]=2"]
    );
    snap!(
        "jq_invalid",
        &env,
        &["call", "api", "/ok", "--jq", ".items[["]
    );
    snap!(
        "paginate_not_supported",
        &env,
        &["call", "paymo", "/ok", "--paginate"]
    );
    snap!(
        "unknown_credential_close_name",
        &env,
        &["call", "apj", "/ok"]
    );
    snap!("unknown_credential", &env, &["call", "zzzzzz", "/ok"]);
}

#[test]
fn call_reports_the_apis_refusals() {
    let (env, _server) = api();
    snap!("http_401", &env, &["call", "api", "/unauthorized"]);
    snap!(
        "http_401_key_from_variable",
        &env,
        &["call", "api", "/unauthorized"],
        &[("CRED_SECRET_API", "from-ci".to_string())]
    );
    snap!("http_403", &env, &["call", "api", "/forbidden"]);
    snap!(
        "http_429",
        &env,
        &["call", "api", "/limited", "--max-wait", "1"]
    );
    snap!("redirect_offsite", &env, &["call", "api", "/offsite"]);
    snap!("redirect_loop", &env, &["call", "api", "/loop"]);
}

#[test]
fn call_reports_answers_it_cannot_print() {
    let (env, _server) = api();
    snap!(
        "content_encoding_unknown",
        &env,
        &["call", "api", "/encoded"]
    );
    snap!(
        "content_encoding_corrupt",
        &env,
        &["call", "api", "/corrupt"]
    );
    snap!("jq_on_text", &env, &["call", "api", "/text", "--jq", "."]);
    snap!(
        "jq_answer_too_large",
        &env,
        &["call", "api", "/big", "--jq", "."]
    );
    snap!(
        "jq_pages_too_large",
        &env,
        &["call", "api", "/halves", "--paginate", "--jq", "."]
    );
    snap!(
        "paginate_page_too_large",
        &env,
        &["call", "api", "/huge", "--paginate"]
    );
    snap!(
        "paginate_an_object",
        &env,
        &["call", "api", "/object", "--paginate"]
    );
    snap!(
        "paginate_past_max_pages",
        &env,
        &["call", "api", "/endless", "--paginate", "--max-pages", "3"]
    );
}

#[test]
fn call_reports_failed_transfers() {
    let (env, server) = api();
    snap!("timeout", &env, &["call", "api", "/slow", "--timeout", "1"]);
    snap!(
        "max_time",
        &env,
        &["call", "api", "/slow", "--max-time", "1"]
    );
    snap!(
        "body_stalled",
        &env,
        &["call", "api", "/stalled", "--timeout", "1"]
    );
    let key = secret("unsendable");
    let closed = format!("http://127.0.0.1:{}/v1", closed_port());
    add_generic(&env, "closed", &closed, &key, &["--no-verify"]).ok();
    snap!("connection_refused", &env, &["call", "closed", "/ok"]);
    let tls = format!("https://{}/v1", server.url().trim_start_matches("http://"));
    add_generic(&env, "tls", &tls, &key, &["--no-verify"]).ok();
    snap!("tls_to_a_plain_server", &env, &["call", "tls", "/ok"]);
    snap!(
        "base_url_override_over_http",
        &env,
        &["call", "paymo", "/me"],
        &[("CRED_PAYMO_URL", "http://paymo.example.com/api".to_string())]
    );
}

/// A body that sends one byte, then nothing for 5 s.
struct Stall(bool);

impl std::io::Read for Stall {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.0 {
            std::thread::sleep(Duration::from_secs(5));
            return Ok(0);
        }
        self.0 = true;
        buf[0] = b'[';
        Ok(1)
    }
}
