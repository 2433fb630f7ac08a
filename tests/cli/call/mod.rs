//! `cred call` (SPEC §2 "cred call", §3, §5): authenticated requests for
//! scripts, checked on what a real loopback server received (method, path,
//! query, headers, body bytes, the exact auth bytes per provider) and on
//! what `cred` printed and exited with. Covers every option, every exit code
//! `call` can give (0–6), streaming of large bodies, rate-limit retries,
//! pagination, redirects and absolute URLs that must not carry the key to
//! another origin, and that nothing `cred` prints reveals the secret.
//!
//! One module per concern; this file holds what they share.

mod auth;
mod compression;
mod dry_run;
mod errors;
mod exact;
mod forms;
mod jq;
mod origins;
mod output;
mod paginate;
mod request;
mod retries;
mod streaming;
mod terminal;

use crate::common::*;

/// Runs `cred call ARGS` with the given environment (the provider URL).
fn call(env: &TestEnv, vars: &[(&str, String)], args: &[&str]) -> Run {
    let mut full = vec!["call"];
    full.extend_from_slice(args);
    run_env(env, &full, vars)
}

/// Echoes every request header back as `x-echo-NAME` headers and as a JSON
/// body (with the URL), like httpbin's /anything.
fn echo(s: &Seen) -> Reply {
    let mut body = serde_json::Map::new();
    body.insert("url".into(), s.url.clone().into());
    let mut reply_headers = Vec::new();
    for (k, v) in &s.headers {
        body.insert(k.to_ascii_lowercase(), v.clone().into());
        reply_headers.push((format!("x-echo-{k}"), v.clone()));
    }
    reply_headers.push(("x-echo-url".into(), s.url.clone()));
    let mut reply = Reply::json(200, &serde_json::Value::Object(body).to_string());
    for (k, v) in reply_headers {
        reply = reply.header(&k, &v);
    }
    reply
}
