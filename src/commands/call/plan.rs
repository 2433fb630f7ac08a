//! From `cred call`'s arguments to a [`Request`]: the method, the URL under
//! the credential's base (origin rules in `http::url`), `-q`, `-H`, and the
//! body from `-d` or `-f`.

use std::io::{self, Read};

use reqwest::Method;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};

use super::CallArgs;
use crate::error::{Error, Result};
use crate::http::{self, Request};
use crate::providers::Provider;

pub fn plan(args: &CallArgs, provider: &dyn Provider) -> Result<Request> {
    let (method, path) = match &args.path {
        Some(p) => (Some(args.method_or_path.as_str()), p.as_str()),
        None => (None, args.method_or_path.as_str()),
    };
    let body = body(args)?;
    let method = match method {
        Some(m) => Method::from_bytes(m.to_ascii_uppercase().as_bytes()).map_err(|_| {
            Error::user(format!("`{m}` is not an HTTP method"))
                .hint("use GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS")
        })?,
        None if body.is_some() => Method::POST,
        None => Method::GET,
    };
    let base = provider.base_url()?;
    let mut url = http::resolve(&base, path).map_err(|why| {
        Error::user(format!("refusing to call `{path}`"))
            .cause(why)
            .hint("give a path relative to the base URL, such as /documents")
    })?;
    for q in &args.query {
        let (k, v) = q.split_once('=').ok_or_else(|| {
            Error::user(format!("invalid -q `{q}`: expected K=V"))
                .hint("for example: -q per_page=5")
        })?;
        url.query_pairs_mut().append_pair(k, v);
    }
    let mut headers = HeaderMap::new();
    for h in &args.header {
        let (k, v) = h.split_once(':').ok_or_else(|| {
            Error::user(format!("invalid -H `{h}`: expected 'Name: value'"))
                .hint("for example: -H 'Accept: application/json'")
        })?;
        let name = HeaderName::from_bytes(k.trim().as_bytes())
            .map_err(|_| Error::user(format!("invalid -H: `{}` is not a header name", k.trim())))?;
        let value = HeaderValue::from_str(v.trim()).map_err(|_| {
            Error::user(format!(
                "invalid -H: the value of `{name}` has characters headers cannot carry"
            ))
        })?;
        headers.append(name, value);
    }
    if let Some((_, json)) = &body
        && !headers.contains_key(CONTENT_TYPE)
    {
        let ct = if *json {
            "application/json"
        } else {
            "application/octet-stream"
        };
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(ct));
    }
    if !headers.contains_key(ACCEPT) {
        headers.insert(
            ACCEPT,
            HeaderValue::from_static("application/json, */*;q=0.5"),
        );
    }
    Ok(Request {
        method,
        url,
        headers,
        body: body.map(|(b, _)| b),
    })
}

/// The body and whether it is JSON.
fn body(args: &CallArgs) -> Result<Option<(Vec<u8>, bool)>> {
    if !args.field.is_empty() {
        let mut object = serde_json::Map::new();
        for f in &args.field {
            // The first `=` splits; `:=` there makes the value JSON, so
            // `note=a:=b` is the string "a:=b".
            let (key, value) = match f.split_once('=') {
                Some((k, v)) if k.ends_with(':') => {
                    let v: serde_json::Value = serde_json::from_str(v).map_err(|e| {
                        Error::user(format!("invalid -f `{f}`: the value after := is not JSON"))
                            .cause(e)
                            .hint("strings need JSON quotes after := (-f 'k:=\"text\"'), or use k=text")
                    })?;
                    (&k[..k.len() - 1], v)
                }
                Some((k, v)) => (k, serde_json::Value::String(v.to_string())),
                None => {
                    return Err(
                        Error::user(format!("invalid -f `{f}`: expected K=V or K:=JSON"))
                            .hint("for example: -f name=Docs -f count:=3"),
                    );
                }
            };
            object.insert(key.to_string(), value);
        }
        let bytes = serde_json::to_vec(&serde_json::Value::Object(object)).unwrap_or_default();
        return Ok(Some((bytes, true)));
    }
    let Some(data) = &args.data else {
        return Ok(None);
    };
    let bytes = if data == "@-" {
        let mut b = Vec::new();
        io::stdin()
            .read_to_end(&mut b)
            .map_err(|e| Error::user("could not read the body from standard input").cause(e))?;
        b
    } else if let Some(path) = data.strip_prefix('@') {
        std::fs::read(path).map_err(|e| Error::io("read the body file", path.as_ref(), e))?
    } else {
        data.as_bytes().to_vec()
    };
    let json = serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).is_ok();
    Ok(Some((bytes, json)))
}
