//! From `cred call`'s arguments to a [`Request`]: the method, the URL under
//! the credential's base (origin rules in `http::url`), `-q`, `-H`, and the
//! body from `-d`, `-f` (query parameters on GET, HEAD and DELETE, as
//! `gh api` does) or `--form`. Flags that would replace the key's own
//! header or query parameter are refused.

use std::io::{self, Read};

use reqwest::Method;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use secrecy::SecretString;

use super::CallArgs;
use crate::error::{Error, Result};
use crate::http::{self, Body, Part, Request};
use crate::providers::Provider;

/// What `-d`, `-f` or `--form` make of the request.
enum Payload {
    /// Bytes, and their content type when cred chooses it.
    Bytes(Vec<u8>, &'static str),
    /// `-f` on a method without a body: query parameters.
    Query(Vec<(String, String)>),
    Multipart(Vec<Part>),
}

/// Methods a bare word names: `cred call NAME DELETE` without a path is a
/// slip, not a call of `/DELETE`.
const METHODS: [&str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

pub fn plan(args: &CallArgs, provider: &dyn Provider) -> Result<Request> {
    let (method, path) = method_and_path(args)?;
    let fields_as_query = matches!(
        method,
        Some(Method::GET) | Some(Method::HEAD) | Some(Method::DELETE)
    );
    let payload = payload(args, fields_as_query)?;
    let method = match method {
        Some(m) => m,
        None if payload.is_some() => Method::POST,
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
    if let Some(Payload::Query(pairs)) = &payload {
        for (k, v) in pairs {
            url.query_pairs_mut().append_pair(k, v);
        }
    }
    let mut headers = request_headers(args)?;
    refuse_key_overrides(provider, &url, &headers)?;
    let body = match payload {
        Some(Payload::Bytes(bytes, ct)) => {
            if !headers.contains_key(CONTENT_TYPE) {
                headers.insert(CONTENT_TYPE, HeaderValue::from_static(ct));
            }
            Some(Body::Bytes(bytes))
        }
        Some(Payload::Multipart(parts)) => {
            // reqwest writes the content type with its boundary.
            if headers.contains_key(CONTENT_TYPE) {
                return Err(Error::user(
                    "-H Content-Type cannot be combined with a --form file upload",
                )
                .hint("cred sets multipart/form-data with its boundary; drop that -H"));
            }
            Some(Body::Multipart(parts))
        }
        Some(Payload::Query(_)) | None => None,
    };
    // The provider's own headers (Anthropic's version), where -H does
    // not name them; then cred's default Accept.
    crate::providers::add_default_headers(&mut headers, &provider.headers());
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
        body,
    })
}

/// The method given (`None`: GET, or POST with a body) and the path; a
/// method with no path after it is a usage error.
fn method_and_path(args: &CallArgs) -> Result<(Option<Method>, &str)> {
    let (method, path) = match &args.path {
        Some(p) => (Some(args.method_or_path.as_str()), p.as_str()),
        None => (None, args.method_or_path.as_str()),
    };
    if method.is_none() && METHODS.contains(&path) {
        return Err(Error::new(
            crate::error::Exit::Usage,
            format!("`{path}` is an HTTP method, but no path follows it"),
        )
        .hint(format!(
            "give the path: cred call {} {path} /items/7 (a path of that name is written /{path})",
            args.name
        )));
    }
    let method = method
        .map(|m| {
            Method::from_bytes(m.to_ascii_uppercase().as_bytes()).map_err(|_| {
                Error::user(format!("`{m}` is not an HTTP method"))
                    .hint("use GET, POST, PUT, PATCH, DELETE, HEAD or OPTIONS")
            })
        })
        .transpose()?;
    Ok((method, path))
}

/// The `-H 'Name: value'` headers.
fn request_headers(args: &CallArgs) -> Result<HeaderMap> {
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
    Ok(headers)
}

/// A note when a `-d` body goes as `application/octet-stream` though it
/// starts like JSON (`{` or `[`) and does not parse: most likely a typo
/// the API will reject without saying why.
pub fn json_lookalike(request: &Request) -> Option<String> {
    let bytes = request.body.as_ref()?.bytes()?;
    let octet = request
        .headers
        .get(CONTENT_TYPE)
        .is_some_and(|v| v == "application/octet-stream");
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace())?;
    if !octet || !matches!(first, b'{' | b'[') {
        return None;
    }
    let e = serde_json::from_slice::<serde::de::IgnoredAny>(bytes).err()?;
    Some(format!(
        "the -d body starts like JSON but does not parse ({e}); it is sent as it is, as application/octet-stream"
    ))
}

/// Refuses `-H` of the key's own header and `-q` (or a query in PATH) of
/// the key's own query parameter: cred sets those from the stored key.
fn refuse_key_overrides(
    provider: &dyn Provider,
    url: &url::Url,
    headers: &HeaderMap,
) -> Result<()> {
    // Only the names matter here: an empty secret gives the same shape.
    let auth = provider.auth(&SecretString::from(String::new()));
    if let Some((name, _)) = auth.header()
        && headers.contains_key(name)
    {
        return Err(Error::user(format!(
            "-H {name} would replace the credential's own {name} header"
        ))
        .hint("drop that -H; cred sets it from the stored key"));
    }
    if let Some((name, _)) = auth.query()
        && url.query_pairs().any(|(k, _)| k == name)
    {
        return Err(Error::user(format!(
            "-q {name} would replace the credential's own `{name}` query parameter"
        ))
        .hint(format!(
            "drop `{name}` from -q and the path; cred sets it from the stored key"
        )));
    }
    Ok(())
}

/// What the body flags ask for (`-d`, `-f`, `--form`); `-f` becomes query
/// parameters when `fields_as_query`.
fn payload(args: &CallArgs, fields_as_query: bool) -> Result<Option<Payload>> {
    if !args.form.is_empty() {
        return form(&args.form).map(Some);
    }
    if !args.field.is_empty() && fields_as_query {
        let pairs = fields(&args.field)?
            .into_iter()
            .map(|(k, v)| (k, v.map(Value::query_text).unwrap_or_default()))
            .collect();
        return Ok(Some(Payload::Query(pairs)));
    }
    Ok(body(args)?.map(|(bytes, json)| {
        let ct = if json {
            "application/json"
        } else {
            "application/octet-stream"
        };
        Payload::Bytes(bytes, ct)
    }))
}

/// `--form K=V…` urlencoded, or multipart as soon as one is `K=@FILE`.
fn form(items: &[String]) -> Result<Payload> {
    let mut parts = Vec::new();
    let mut multipart = false;
    for item in items {
        let (k, v) = item.split_once('=').ok_or_else(|| {
            Error::user(format!("invalid --form `{item}`: expected K=V or K=@FILE"))
                .hint("for example: --form name=Docs --form file=@report.pdf")
        })?;
        if let Some(path) = v.strip_prefix('@') {
            let meta = std::fs::metadata(path)
                .map_err(|e| Error::io("read the --form file", path.as_ref(), e))?;
            if !meta.is_file() {
                return Err(Error::user(format!(
                    "--form {k}=@{path}: not a regular file"
                )));
            }
            multipart = true;
            parts.push(Part::File {
                name: k.to_string(),
                path: path.into(),
            });
        } else {
            parts.push(Part::Text {
                name: k.to_string(),
                value: v.to_string(),
            });
        }
    }
    if multipart {
        return Ok(Payload::Multipart(parts));
    }
    let mut encoded = url::form_urlencoded::Serializer::new(String::new());
    for part in &parts {
        if let Part::Text { name, value } = part {
            encoded.append_pair(name, value);
        }
    }
    Ok(Payload::Bytes(
        encoded.finish().into_bytes(),
        "application/x-www-form-urlencoded",
    ))
}

/// A `-f` value: text, or JSON kept as typed (validated, never re-written:
/// `123456789012345678901234567890`, `1E2` and `-0` go as they are).
enum Value {
    Text(String),
    Json(Box<serde_json::value::RawValue>),
}

impl Value {
    /// As a query parameter: a JSON string's text, any other JSON as typed.
    fn query_text(self) -> String {
        match self {
            Value::Text(s) => s,
            Value::Json(raw) => {
                serde_json::from_str::<String>(raw.get()).unwrap_or_else(|_| raw.get().to_string())
            }
        }
    }
}

/// `-f` fields in order: `K=string`, `K:=json`, or `K[]` alone (an empty
/// array); `None` for the last.
fn fields(items: &[String]) -> Result<Vec<(String, Option<Value>)>> {
    let mut out = Vec::new();
    for f in items {
        // The first `=` splits; `:=` there makes the value JSON, so
        // `note=a:=b` is the string "a:=b".
        let (key, value) = match f.split_once('=') {
            Some((k, v)) if k.ends_with(':') => {
                let raw = serde_json::value::RawValue::from_string(v.trim().to_string())
                    .map_err(|e| {
                        Error::user(format!("invalid -f `{f}`: the value after := is not JSON"))
                            .cause(e)
                            .hint("strings need JSON quotes after := (-f 'k:=\"text\"'), or use k=text")
                    })?;
                (&k[..k.len() - 1], Some(Value::Json(raw)))
            }
            Some((k, v)) => (k, Some(Value::Text(v.to_string()))),
            None if f.ends_with("[]") => (f.as_str(), None),
            None => {
                return Err(
                    Error::user(format!("invalid -f `{f}`: expected K=V or K:=JSON"))
                        .hint("for example: -f name=Docs -f count:=3"),
                );
            }
        };
        out.push((key.to_string(), value));
    }
    Ok(out)
}

/// One step of a `-f` key: `name`, `[sub]` or `[]` (append to an array).
#[derive(Debug, PartialEq)]
enum Step {
    Key(String),
    Push,
}

/// `tags[]`, `a[b][c]`, `items[][name]` as steps, as `gh api` reads them;
/// a key that is not of that shape is one name as it is.
fn steps(key: &str) -> Vec<Step> {
    let literal = || vec![Step::Key(key.to_string())];
    let Some(open) = key.find('[').filter(|at| *at > 0) else {
        return literal();
    };
    let mut steps = vec![Step::Key(key[..open].to_string())];
    let mut rest = &key[open..];
    while !rest.is_empty() {
        let Some(inner) = rest.strip_prefix('[') else {
            return literal();
        };
        let Some(close) = inner.find(']') else {
            return literal();
        };
        let name = &inner[..close];
        if name.contains('[') {
            return literal();
        }
        steps.push(if name.is_empty() {
            Step::Push
        } else {
            Step::Key(name.to_string())
        });
        rest = &inner[close + 1..];
    }
    steps
}

/// A JSON body built from `-f` fields.
enum Node {
    Leaf(Value),
    Object(Vec<(String, Node)>),
    Array(Vec<Node>),
}

impl Node {
    /// An empty container for what `next` steps into.
    fn for_step(next: &Step) -> Node {
        match next {
            Step::Key(_) => Node::Object(Vec::new()),
            Step::Push => Node::Array(Vec::new()),
        }
    }

    /// Puts `value` at `steps` under this node (an object or an array, as
    /// `steps[0]` asks). `Err` names the clash.
    fn insert(&mut self, steps: &[Step], value: Option<Value>) -> std::result::Result<(), String> {
        let (first, rest) = steps.split_first().expect("a key has at least one step");
        match (self, first) {
            (Node::Object(entries), Step::Key(k)) => {
                let at = entries.iter().position(|(name, _)| name == k);
                match (rest.first(), at) {
                    (None, Some(_)) => Err(format!("`{k}` is given twice")),
                    (None, None) => {
                        let leaf = match value {
                            Some(v) => Node::Leaf(v),
                            None => Node::Array(Vec::new()),
                        };
                        entries.push((k.clone(), leaf));
                        Ok(())
                    }
                    (Some(next), None) => {
                        let mut child = Node::for_step(next);
                        child.insert(rest, value)?;
                        entries.push((k.clone(), child));
                        Ok(())
                    }
                    (Some(_), Some(i)) => entries[i].1.insert(rest, value),
                }
            }
            (Node::Array(items), Step::Push) => match rest.first() {
                None => {
                    if let Some(v) = value {
                        items.push(Node::Leaf(v));
                    }
                    Ok(())
                }
                Some(next) => {
                    // `items[][name]=a -f items[][id]=1`: fields go into
                    // the last object until one repeats, as `gh api` does.
                    if let (Some(last @ Node::Object(_)), Step::Key(k)) = (items.last_mut(), next)
                        && !matches!(last, Node::Object(e) if e.iter().any(|(n, _)| n == k) && rest.len() == 1)
                    {
                        return last.insert(rest, value);
                    }
                    let mut child = Node::for_step(next);
                    child.insert(rest, value)?;
                    items.push(child);
                    Ok(())
                }
            },
            (Node::Leaf(_), _) => Err("a value is also used as an object or an array".into()),
            (Node::Object(_), Step::Push) => {
                Err("an object is also used as an array (`[]`)".into())
            }
            (Node::Array(_), Step::Key(k)) => {
                Err(format!("an array is also used as an object (`[{k}]`)"))
            }
        }
    }

    /// The JSON text: strings escaped, JSON values as typed.
    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Node::Leaf(Value::Text(s)) => {
                out.extend_from_slice(serde_json::to_string(s).unwrap_or_default().as_bytes())
            }
            Node::Leaf(Value::Json(raw)) => out.extend_from_slice(raw.get().as_bytes()),
            Node::Object(entries) => {
                out.push(b'{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(serde_json::to_string(k).unwrap_or_default().as_bytes());
                    out.push(b':');
                    v.write(out);
                }
                out.push(b'}');
            }
            Node::Array(items) => {
                out.push(b'[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    v.write(out);
                }
                out.push(b']');
            }
        }
    }
}

/// The JSON object `-f` fields make.
fn json_object(items: &[String]) -> Result<Vec<u8>> {
    let mut root = Node::Object(Vec::new());
    for (key, value) in fields(items)? {
        let steps = steps(&key);
        let plain_repeat = steps.len() == 1;
        root.insert(&steps, value).map_err(|why| {
            let e = Error::user(format!("-f `{key}`: {why}"));
            if plain_repeat {
                e.hint(format!(
                    "cred does not keep only the last value: for an array write -f '{key}[]=a' -f '{key}[]=b'"
                ))
            } else {
                e.hint("use `k[]=v` for arrays and `k[sub]=v` for objects, each key one shape")
            }
        })?;
    }
    let mut out = Vec::new();
    root.write(&mut out);
    Ok(out)
}

/// The raw body and whether it is JSON.
fn body(args: &CallArgs) -> Result<Option<(Vec<u8>, bool)>> {
    if !args.field.is_empty() {
        return Ok(Some((json_object(&args.field)?, true)));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn body(fields: &[&str]) -> std::result::Result<String, String> {
        let items: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
        json_object(&items)
            .map(|b| String::from_utf8(b).unwrap())
            .map_err(|e| e.message)
    }

    #[test]
    fn json_values_go_as_typed() {
        assert_eq!(
            body(&[
                "big:=123456789012345678901234567890",
                "e:=1E2",
                "z:=-0",
                "s=1E2"
            ])
            .unwrap(),
            r#"{"big":123456789012345678901234567890,"e":1E2,"z":-0,"s":"1E2"}"#
        );
        assert!(body(&["bad:={"]).is_err());
    }

    #[test]
    fn arrays_and_objects_as_gh_api_builds_them() {
        assert_eq!(
            body(&["tags[]=a", "tags[]=b", "a[b]=c", "a[d][]:=1", "none[]"]).unwrap(),
            r#"{"tags":["a","b"],"a":{"b":"c","d":[1]},"none":[]}"#
        );
        assert_eq!(
            body(&["l[][name]=x", "l[][id]:=1", "l[][name]=y"]).unwrap(),
            r#"{"l":[{"name":"x","id":1},{"name":"y"}]}"#
        );
        assert_eq!(body(&["odd[=1"]).unwrap(), r#"{"odd[":"1"}"#);
    }

    #[test]
    fn a_plain_repeated_key_or_a_clash_is_refused() {
        assert!(body(&["k=a", "k=b"]).unwrap_err().contains("given twice"));
        assert!(body(&["k=a", "k[]=b"]).is_err());
        assert!(body(&["k[]=a", "k[x]=b"]).is_err());
    }
}
