//! `cred mcp NAME… [--allow 'NAME METHOD GLOB']… [--read-only] [--log FILE]
//! [--max-body BYTES]`: a Model Context Protocol server on stdio, so that an
//! AI agent (Claude Code, Codex, any MCP client) calls a credential's API
//! without ever holding the key.
//!
//! Only the credentials named on the command line are exposed. Three tools
//! ([`tools`]): `list_credentials` (names, providers, base URLs, what is
//! allowed, the last check; never a secret), `call` ([`call`]: one request
//! through the one pipeline, `http::Pipeline`, with the same origin rules,
//! retries and scrubbing as `cred call`) and `describe` (the provider's
//! docs link and notes). No tool returns a secret, and none takes one:
//! a request that would set the key's own header or query parameter is
//! refused, as is every request `--read-only` or `--allow` does not let
//! through, with nothing sent.
//!
//! Why no MCP SDK crate: the official Rust SDK (`rmcp`) is async on tokio,
//! pulls in schemars, its macros, uuid, futures, tokio-util and a second
//! base64; the protocol cred needs (initialize, ping, tools/list,
//! tools/call over newline-delimited JSON-RPC) is a few typed messages over
//! serde, which [`rpc`] reads with a cap on each line. The server answers
//! one request at a time on the main thread, calling the blocking pipeline
//! directly: memory stays bounded (a line, one answer's body capped at
//! `--max-body`).
//!
//! Each tool call writes one audit line (time, tool, credential, method,
//! path with a query-placed key masked, status, bytes, milliseconds) to
//! standard error or `--log FILE` (0600). Standard output carries the
//! protocol only. Closing standard input ends the server (exit 0).

mod call;
mod rpc;
mod tools;

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use reqwest::blocking::Client;
use url::Url;

use super::Ctx;
use crate::config::Credential;
use crate::error::{Error, Exit, Result};
use crate::http::{self, allow::Allow, allow::Rule};
use crate::providers::Auth;
use crate::scrub::Secrets;

/// The largest `--max-body`: what one answer may hold in memory.
const LARGEST_MAX_BODY: usize = 16 * 1024 * 1024;

/// How long the API may stay silent before a call gives up.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Serve credentials' APIs to an AI agent over the Model Context Protocol (stdio)
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Speaks MCP (JSON-RPC 2.0, one message per line) on standard input and
output; start it from the agent's MCP configuration, not by hand. Tools:
list_credentials, call (a request under a credential's base URL; cred adds
the key, answers are scrubbed of it and cut at --max-body) and describe.
Only the credentials named here are exposed; no tool returns a secret.
Each tool call logs one line (time, tool, credential, method, path,
status, bytes, milliseconds) to standard error or --log.

Examples:
  cred mcp paligo
  cred mcp paligo paymo --read-only
  cred mcp api --allow 'api GET /documents*' --allow 'api POST /documents/*/comments'
  claude mcp add cred -- cred mcp paligo --read-only")]
pub struct McpArgs {
    /// The credentials the agent may use (at least one)
    #[arg(value_name = "NAME", add = crate::complete::names())]
    pub names: Vec<String>,

    /// Let only matching requests of credential NAME through, e.g. 'paligo GET /documents*' (NAME may be *; repeatable)
    #[arg(long, value_name = "'NAME METHOD GLOB'", value_parser = parse_allow)]
    pub allow: Vec<NamedRule>,

    /// Allow GET and HEAD requests only
    #[arg(long)]
    pub read_only: bool,

    /// Append the audit log to FILE (created 0600) instead of standard error
    #[arg(long, value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
    pub log: Option<PathBuf>,

    /// The most bytes of an answer's body shown to the agent (K and M suffixes; at most 16M)
    #[arg(long, value_name = "BYTES", default_value = "1M", value_parser = parse_size)]
    pub max_body: usize,
}

/// One `--allow 'NAME METHOD GLOB'`: a `cred proxy` rule for one credential
/// (or every one, `*`).
#[derive(Debug, Clone)]
pub struct NamedRule {
    name: String,
    rule: Rule,
}

fn parse_allow(text: &str) -> std::result::Result<NamedRule, String> {
    let example = "e.g. --allow 'paligo GET /documents*' or --allow '* GET *'";
    let text = text.trim();
    let Some((name, rest)) = text.split_once(char::is_whitespace) else {
        return Err(format!("expected 'NAME METHOD GLOB', {example}"));
    };
    if name != "*"
        && let Some(why) = crate::config::name_problem(name)
    {
        return Err(format!(
            "`{name}` is not a credential name ({why}), {example}"
        ));
    }
    let rule = http::allow::parse_rule(rest)
        .map_err(|why| format!("{}, {example}", why.split(", e.g.").next().unwrap_or(&why)))?;
    Ok(NamedRule {
        name: name.to_string(),
        rule,
    })
}

/// `--max-body`: bytes, or with a K or M suffix (KiB, MiB).
fn parse_size(text: &str) -> std::result::Result<usize, String> {
    let t = text.trim();
    let (digits, unit) = match t.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => t.split_at(i),
        None => (t, ""),
    };
    let scale: usize = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1024,
        "m" | "mb" | "mib" => 1024 * 1024,
        _ => return Err(format!("`{text}` is not a size such as 65536, 512K or 4M")),
    };
    let n: usize = digits
        .parse()
        .map_err(|_| format!("`{text}` is not a size such as 65536, 512K or 4M"))?;
    let bytes = n.saturating_mul(scale);
    if bytes == 0 || bytes > LARGEST_MAX_BODY {
        return Err(format!(
            "--max-body must be between 1 byte and 16M (what one answer may hold in memory), not {text}"
        ));
    }
    Ok(bytes)
}

/// A credential the agent may use, ready to send with.
pub struct Exposed {
    pub name: String,
    pub credential: Credential,
    pub base: Url,
    pub auth: Auth,
    pub client: Client,
    /// Its `--allow` rules (those naming it and those naming `*`).
    pub allow: Allow,
}

/// What the server knows while it runs.
pub struct Server {
    pub exposed: Vec<Exposed>,
    /// Every form of every exposed key (`Ui`'s set): masked in every tool
    /// result ([`tools`]' `shape`), every error and every body read.
    pub secrets: Arc<Secrets>,
    pub read_only: bool,
    pub max_body: usize,
    /// The audit log, masked and escaped line by line.
    pub log: crate::ui::log::Log,
    /// The protocol version agreed at `initialize`.
    pub protocol: Option<&'static str>,
}

pub fn run(ctx: &Ctx, args: McpArgs) -> Result<Exit> {
    let mut names: Vec<String> = Vec::new();
    for n in &args.names {
        if !names.contains(n) {
            names.push(n.clone());
        }
    }
    if names.is_empty() {
        return Err(Error::new(
            Exit::Usage,
            "cred mcp exposes only the credentials named on its command line, and none was named",
        )
        .hint("name the credentials the agent may use, e.g. `cred mcp paligo` (`cred list` shows them)"));
    }
    for r in &args.allow {
        if r.name != "*" && !names.contains(&r.name) {
            return Err(Error::new(
                Exit::Usage,
                format!(
                    "--allow '{} {}' names `{}`, which is not exposed",
                    r.name, r.rule, r.name
                ),
            )
            .hint(format!(
                "add `{}` to the names, or use `*` for every exposed credential",
                r.name
            )));
        }
    }
    let log_to = crate::ui::log::open(args.log.as_deref())?;
    let mut exposed = Vec::new();
    for name in names {
        let credential = ctx.config.get(&name)?;
        let provider = credential.provider.provider();
        let base = provider.base_url()?;
        // The store round trip and the client set-up (CA roots) at once.
        let (secret, client) = std::thread::scope(|s| {
            let client = s.spawn(|| http::client_for(TIMEOUT, &base));
            let secret = ctx.secrets().get(&name, &credential);
            (
                secret,
                client.join().expect("the client set-up does not panic"),
            )
        });
        let (secret, client) = (secret?, client?);
        let auth = provider.auth(&secret);
        ctx.ui.hide(&secret, Some(&auth));
        let rules = args
            .allow
            .iter()
            .filter(|r| r.name == "*" || r.name == name)
            .map(|r| r.rule.clone())
            .collect();
        exposed.push(Exposed {
            name,
            credential,
            base,
            auth,
            client,
            allow: Allow(rules),
        });
    }
    let mut server = Server {
        exposed,
        secrets: ctx.ui.secrets(),
        read_only: args.read_only,
        max_body: args.max_body,
        log: ctx.ui.log(log_to),
        protocol: None,
    };
    let shown: Vec<&str> = server.exposed.iter().map(|e| e.name.as_str()).collect();
    server.audit_line(&format!(
        "{} cred mcp: serving {}{} on stdio",
        now(),
        shown.join(", "),
        if server.read_only { " (read-only)" } else { "" }
    ));
    server.serve(std::io::stdin().lock(), std::io::stdout().lock())
}

impl Server {
    /// Answers every line until standard input ends.
    fn serve(&mut self, input: impl BufRead, mut out: impl Write) -> Result<Exit> {
        let mut lines = rpc::Lines::new(input, rpc::MAX_LINE);
        loop {
            let line = lines
                .next_line()
                .map_err(|e| Error::user("could not read standard input").cause(e))?;
            let written = match line {
                rpc::Line::End => break,
                rpc::Line::TooLong(n) => rpc::write_reply(
                    &mut out,
                    None,
                    Err(&rpc::RpcError::new(
                        rpc::INVALID_REQUEST,
                        format!(
                            "invalid request: a message of {n} bytes is longer than cred mcp reads ({} bytes)",
                            rpc::MAX_LINE
                        ),
                    )),
                ),
                rpc::Line::Message(m) if m.trim_ascii().is_empty() => Ok(()),
                rpc::Line::Message(m) => self.answer(&m, &mut out),
            };
            if written.is_err() {
                // The client closed its end: nobody is left to answer.
                break;
            }
        }
        Ok(Exit::Success)
    }

    /// Handles one message, writing its answer if it needs one.
    fn answer(&mut self, line: &[u8], out: &mut impl Write) -> std::io::Result<()> {
        match rpc::parse(line) {
            rpc::Message::Request { id, method, params } => {
                let outcome = self
                    .request(&method, params.as_deref())
                    .map_err(|e| self.masked(e));
                rpc::write_reply(out, Some(&id), outcome.as_ref())
            }
            rpc::Message::Invalid { id, error } => {
                rpc::write_reply(out, id.as_deref(), Err(&self.masked(error)))
            }
            rpc::Message::Notification | rpc::Message::Response => Ok(()),
        }
    }

    /// An error as the agent reads it: masked and escaped, as every tool
    /// result is (`tools`' `shape`).
    fn masked(&self, mut error: rpc::RpcError) -> rpc::RpcError {
        error.message = self.secrets.shown(&error.message);
        error
    }

    fn request(
        &mut self,
        method: &str,
        params: Option<&serde_json::value::RawValue>,
    ) -> std::result::Result<serde_json::Value, rpc::RpcError> {
        match method {
            "initialize" => Ok(self.initialize(params)),
            "ping" => Ok(serde_json::json!({})),
            "tools/list" => Ok(serde_json::json!({ "tools": tools::definitions() })),
            "tools/call" => self.tool_call(params),
            other => Err(rpc::RpcError::new(
                rpc::METHOD_NOT_FOUND,
                format!("method not found: `{other}` (cred mcp offers tools only)"),
            )),
        }
    }

    /// The protocol version: the client's when cred speaks it, else the
    /// newest cred speaks (the client then decides).
    fn initialize(&mut self, params: Option<&serde_json::value::RawValue>) -> serde_json::Value {
        #[derive(serde::Deserialize)]
        struct Init {
            #[serde(rename = "protocolVersion")]
            protocol_version: Option<String>,
        }
        let asked = params
            .and_then(|p| serde_json::from_str::<Init>(p.get()).ok())
            .and_then(|i| i.protocol_version);
        let version = PROTOCOL_VERSIONS
            .iter()
            .copied()
            .find(|v| Some(*v) == asked.as_deref())
            .unwrap_or(PROTOCOL_VERSIONS[0]);
        self.protocol = Some(version);
        serde_json::json!({
            "protocolVersion": version,
            "capabilities": { "tools": { "listChanged": false } },
            "serverInfo": {
                "name": "cred",
                "title": "cred: API credentials without the keys",
                "version": env!("CARGO_PKG_VERSION"),
            },
            "instructions": INSTRUCTIONS,
        })
    }

    /// Writes one line to the audit log (masked and escaped there).
    fn audit_line(&mut self, line: &str) {
        self.log.line(line);
    }

    /// The audit line of one tool call: every field one word (line breaks
    /// and tabs escaped, spaces as `%20`; the log masks the line and
    /// escapes control characters), so a hostile path cannot forge a line.
    fn audit(&mut self, entry: &Audit, started: Instant) {
        let field = |text: Option<&str>| -> String {
            text.unwrap_or("-")
                .replace('\n', "\\n")
                .replace('\t', "\\t")
                .replace(' ', "%20")
        };
        let line = format!(
            "{} {} {} {} {} {} {} B {} ms",
            now(),
            field(Some(&entry.tool)),
            field(entry.credential.as_deref()),
            field(entry.method.as_deref()),
            field(entry.path.as_deref()),
            field(Some(&entry.status)),
            entry.bytes,
            started.elapsed().as_millis()
        );
        self.audit_line(&line);
    }
}

/// What the audit log says of one tool call.
#[derive(Default)]
pub struct Audit {
    pub tool: String,
    pub credential: Option<String>,
    pub method: Option<String>,
    /// Path and query, a query-placed key's value masked.
    pub path: Option<String>,
    /// The HTTP status, or `refused`, `failed`, `ok`, `error`.
    pub status: String,
    /// Body bytes handed to the agent.
    pub bytes: usize,
}

/// The protocol versions cred speaks, the default first: 2025-06-18 (tool
/// results with `structuredContent`) and 2025-11-25. A client asking for
/// another gets 2025-06-18 and decides whether to go on.
pub const PROTOCOL_VERSIONS: [&str; 2] = ["2025-06-18", "2025-11-25"];

const INSTRUCTIONS: &str = "\
cred calls HTTP APIs for you with stored credentials: you never see or need \
the API key, and no tool reveals it. Use list_credentials to see what you may \
call, describe for an API's docs, and call with a path under the credential's \
base URL. cred adds the authentication itself; do not send Authorization or \
other auth headers, and do not put keys or placeholders such as ${apiKey} in \
requests. Answers are scrubbed of the key and cut at a size limit.";

/// Now, as the log shows it (RFC 3339, UTC, seconds).
fn now() -> String {
    humantime::format_rfc3339_seconds(SystemTime::now()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_rules_name_a_credential() {
        let r = parse_allow("paligo GET /documents*").unwrap();
        assert_eq!(
            (r.name.as_str(), r.rule.to_string()),
            ("paligo", "GET /documents*".into())
        );
        assert_eq!(parse_allow("* * *").unwrap().rule.to_string(), "* *");
        for bad in ["GET /x", "paligo", "Bad! GET /x", "a GET x", "a GET /x?q"] {
            assert!(parse_allow(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("1M").unwrap(), 1024 * 1024);
        assert_eq!(parse_size("512k").unwrap(), 512 * 1024);
        assert_eq!(parse_size("100").unwrap(), 100);
        for bad in ["0", "17M", "x", "1G", ""] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}
