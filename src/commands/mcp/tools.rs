//! The three tools: their definitions (`tools/list`), and `tools/call` for
//! `list_credentials` and `describe`; `call` is in [`super::call`].
//!
//! A tool's failure (a refusal, bad arguments, an API that cannot be
//! reached) is a tool result with `isError`, so the agent sees why; only an
//! unknown tool or unreadable params are JSON-RPC errors. Arguments are
//! typed and unknown ones refused, so a misspelt field never goes unnoticed.

use std::time::Instant;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::rpc::{INVALID_PARAMS, RpcError};
use super::{Audit, Exposed, Server};
use crate::http;
use crate::providers::Pagination;

/// `tools/list`.
pub fn definitions() -> Value {
    json!([
        {
            "name": "list_credentials",
            "title": "List credentials",
            "description": "The credentials this server lets you use: name, provider, base URL, which methods and paths are allowed, and the last check. Never a secret.",
            "inputSchema": { "type": "object", "properties": {}, "additionalProperties": false },
            "annotations": { "readOnlyHint": true, "openWorldHint": false },
        },
        {
            "name": "call",
            "title": "Call an API",
            "description": "Send one HTTP request to a credential's API. cred adds the authentication itself (never send Authorization or other auth headers, and never put keys or placeholders such as ${apiKey} in a request). The path is relative to the credential's base URL. Answers: status, selected headers and the body as text, scrubbed of the key and cut at a size limit (with a note when cut).",
            "inputSchema": {
                "type": "object",
                "properties": {
                    "credential": { "type": "string", "description": "The credential's name (see list_credentials)" },
                    "method": { "type": "string", "description": "HTTP method; default GET" },
                    "path": { "type": "string", "description": "Path under the base URL, e.g. /documents or documents?page=2" },
                    "query": {
                        "type": "object",
                        "description": "Query parameters to add",
                        "additionalProperties": { "type": ["string", "number", "boolean"] }
                    },
                    "headers": {
                        "type": "object",
                        "description": "Request headers (auth headers are refused: cred adds the auth)",
                        "additionalProperties": { "type": "string" }
                    },
                    "body": { "description": "Request body: a JSON value (sent as application/json) or a string (sent as text)" },
                    "paginate": { "type": "boolean", "description": "Follow the API's pagination and join the items of every page into one JSON array (GET only)" },
                    "max_pages": { "type": "integer", "minimum": 1, "maximum": MAX_PAGES, "description": "With paginate: the most pages fetched (default 10)" }
                },
                "required": ["credential", "path"],
                "additionalProperties": false
            },
            "annotations": { "openWorldHint": true },
        },
        {
            "name": "describe",
            "title": "Describe an API",
            "description": "What cred knows of a credential's API: the provider, its documentation link, notes on its paths, lists and rate limits, and the base URL.",
            "inputSchema": {
                "type": "object",
                "properties": {
                    "credential": { "type": "string", "description": "The credential's name" }
                },
                "required": ["credential"],
                "additionalProperties": false
            },
            "annotations": { "readOnlyHint": true, "openWorldHint": false },
        }
    ])
}

/// The most pages one call may join.
pub const MAX_PAGES: u32 = 100;

/// A tool's answer: what the agent reads, and whether it is an error.
pub struct ToolResult {
    pub value: Value,
    pub is_error: bool,
    /// The text the agent reads, when not the value as JSON.
    pub text: Option<String>,
}

impl ToolResult {
    pub fn ok(value: Value) -> Self {
        ToolResult {
            value,
            is_error: false,
            text: None,
        }
    }

    /// A result whose text is written for reading (an HTTP answer), with
    /// the value as its structured content.
    pub fn with_text(value: Value, text: String) -> Self {
        ToolResult {
            value,
            is_error: false,
            text: Some(text),
        }
    }

    /// A failure the agent should read: one line of text.
    pub fn error(text: impl Into<String>) -> Self {
        ToolResult {
            value: Value::String(text.into()),
            is_error: true,
            text: None,
        }
    }
}

#[derive(Deserialize)]
struct CallParams {
    name: String,
    arguments: Option<Box<RawValue>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NoArgs {}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CredentialArg {
    credential: String,
}

impl Server {
    /// `tools/call`: runs the tool, logs one audit line, and shapes the
    /// result (text, and `structuredContent` for an object).
    pub fn tool_call(&mut self, params: Option<&RawValue>) -> Result<Value, RpcError> {
        let started = Instant::now();
        let params: CallParams = params
            .ok_or_else(|| RpcError::new(INVALID_PARAMS, "tools/call needs params"))
            .and_then(|p| {
                serde_json::from_str(p.get()).map_err(|e| {
                    RpcError::new(INVALID_PARAMS, format!("invalid tools/call params: {e}"))
                })
            })?;
        let args = params.arguments.as_deref().map_or("{}", |a| a.get());
        let mut audit = Audit {
            tool: params.name.clone(),
            ..Audit::default()
        };
        let result = match params.name.as_str() {
            "list_credentials" => match serde_json::from_str::<NoArgs>(args) {
                Ok(_) => Ok(ToolResult::ok(self.list_credentials())),
                Err(e) => Ok(bad_arguments("list_credentials", &e)),
            },
            "describe" => match serde_json::from_str::<CredentialArg>(args) {
                Ok(a) => {
                    audit.credential = Some(a.credential.clone());
                    Ok(self.describe(&a.credential))
                }
                Err(e) => Ok(bad_arguments("describe", &e)),
            },
            "call" => match serde_json::from_str::<super::call::CallInput>(args) {
                Ok(input) => Ok(self.call(input, &mut audit)),
                Err(e) => Ok(bad_arguments("call", &e)),
            },
            other => Err(RpcError::new(
                INVALID_PARAMS,
                format!(
                    "unknown tool `{other}`; the tools are list_credentials, call and describe"
                ),
            )),
        };
        if audit.status.is_empty() {
            audit.status = match &result {
                Ok(r) if !r.is_error => "ok",
                Ok(_) => "error",
                Err(_) => "unknown-tool",
            }
            .into();
        }
        audit.tool = clip_name(&audit.tool);
        audit.credential = audit.credential.as_deref().map(clip_name);
        self.audit(&audit, started);
        let result = result?;
        Ok(self.shape(result))
    }

    /// The MCP shape of a result: the text (JSON for an object), and the
    /// object again as `structuredContent`. Every tool result leaves here:
    /// the text and every string of the object are masked, then control
    /// characters escaped (`Secrets::shown`).
    fn shape(&self, result: ToolResult) -> Value {
        let text = match (&result.text, &result.value) {
            (Some(t), _) => t.clone(),
            (None, Value::String(s)) => s.clone(),
            (None, v) => serde_json::to_string_pretty(v).unwrap_or_default(),
        };
        let mut out = json!({
            "content": [{ "type": "text", "text": self.secrets.shown(&text) }],
            "isError": result.is_error,
        });
        if result.value.is_object() {
            out["structuredContent"] = self.secrets.shown_value(&result.value);
        }
        out
    }

    /// The exposed credential of that name, or the tool error naming those
    /// there are.
    pub fn exposed(&self, name: &str) -> Result<&Exposed, ToolResult> {
        self.exposed.iter().find(|e| e.name == name).ok_or_else(|| {
            let names: Vec<&str> = self.exposed.iter().map(|e| e.name.as_str()).collect();
            ToolResult::error(format!(
                "no credential `{}` is exposed by this server; the credentials are: {}",
                crate::escape::visible(name),
                names.join(", ")
            ))
        })
    }

    /// What the agent may do with a credential: methods and path rules.
    fn allowed(&self, e: &Exposed) -> Value {
        let methods = if self.read_only {
            json!(["GET", "HEAD"])
        } else {
            json!("any")
        };
        let paths = if e.allow.0.is_empty() {
            json!(["*"])
        } else {
            json!(e.allow.rules())
        };
        json!({ "methods": methods, "rules": paths, "read_only": self.read_only })
    }

    fn list_credentials(&self) -> Value {
        let list: Vec<Value> = self
            .exposed
            .iter()
            .map(|e| {
                let p = e.credential.provider.provider();
                json!({
                    "name": e.name,
                    "provider": p.kind().id(),
                    "base_url": http::display_url(&e.base),
                    "description": e.credential.description,
                    "allowed": self.allowed(e),
                    "last_check": e.credential.last_check.as_ref().map(|c| json!({
                        "result": c.result,
                        "at": c.at,
                        "message": c.message,
                    })),
                })
            })
            .collect();
        json!({ "credentials": list })
    }

    fn describe(&self, name: &str) -> ToolResult {
        let e = match self.exposed(name) {
            Ok(e) => e,
            Err(r) => return r,
        };
        let p = e.credential.provider.provider();
        let auth = match (e.auth.header(), e.auth.query()) {
            (Some((header, _)), _) => format!("cred sends the `{header}` header itself"),
            (_, Some((param, _))) => {
                format!("cred adds the `{param}` query parameter itself")
            }
            _ => "cred adds the authentication itself".into(),
        };
        ToolResult::ok(json!({
            "credential": e.name,
            "provider": p.kind().id(),
            "name": p.display_name(),
            "base_url": http::display_url(&e.base),
            "docs": p.docs_url(),
            "notes": p.api_notes(),
            "pagination": match p.pagination() {
                Pagination::NextPageField => "next_page field in the answer (call with paginate: true to join pages)",
                Pagination::LinkHeader => "Link: rel=\"next\" headers (call with paginate: true to join pages)",
                Pagination::PageParam(_) => "page numbers in the query (call with paginate: true to join pages)",
                Pagination::None => "none",
            },
            "example_path": p.example_path(),
            "auth": auth,
            "allowed": self.allowed(e),
            "setup": p.kind().guide(),
        }))
    }
}

/// A name the agent gave, for the log: at most 64 characters.
fn clip_name(name: &str) -> String {
    name.chars().take(64).collect()
}

/// Arguments that do not fit a tool's schema.
fn bad_arguments(tool: &str, e: &serde_json::Error) -> ToolResult {
    ToolResult::error(format!(
        "invalid arguments for {tool}: {e}; see the tool's input schema"
    ))
}
