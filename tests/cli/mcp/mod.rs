//! `cred mcp`: driven by the real MCP client (PyPI `mcp`, the official
//! Python SDK, installed by scripts/test.sh into its own venv and found
//! through `CRED_TEST_MCP_PYTHON`) through [`client::SCRIPT`], against the
//! loopback test servers; raw JSON-RPC lines where a real client would
//! never send them (malformed messages).

mod client;
mod injection;
mod protocol;
mod requests;

use std::process::Stdio;

use serde_json::{Value, json};

use crate::common::*;

/// The Python of the venv that holds the `mcp` SDK.
pub fn mcp_python() -> String {
    std::env::var("CRED_TEST_MCP_PYTHON").unwrap_or_else(|_| {
        panic!(
            "CRED_TEST_MCP_PYTHON is not set: these tests need the MCP Python SDK, which scripts/test.sh installs into a venv and exports"
        )
    })
}

/// What one session of the real client saw.
pub struct Session {
    pub init: Value,
    pub results: Vec<Value>,
    /// The client's and the server's standard error (the audit log).
    pub stderr: String,
    /// Everything printed, for leak checks.
    pub all: String,
}

impl Session {
    /// The text the agent reads of result `i` (text and structured content).
    pub fn text(&self, i: usize) -> String {
        let r = &self.results[i];
        format!("{}\n{}", r["text"].as_str().unwrap_or(""), r["structured"])
    }

    pub fn is_error(&self, i: usize) -> bool {
        self.results[i]["is_error"]
            .as_bool()
            .unwrap_or_else(|| panic!("result {i} is no tool result: {}", self.results[i]))
    }

    /// Result `i`'s structured content (the call's answer).
    pub fn answer(&self, i: usize) -> &Value {
        &self.results[i]["structured"]
    }
}

/// A `call` step.
pub fn call(arguments: Value) -> Value {
    json!({"op": "call", "name": "call", "arguments": arguments})
}

/// A step calling tool `name`.
pub fn tool(name: &str, arguments: Value) -> Value {
    json!({"op": "call", "name": name, "arguments": arguments})
}

/// Runs `cred mcp ARGS` under the real MCP client with the sealed
/// environment plus `vars`, initializes, and runs `steps`.
pub fn drive(env: &TestEnv, vars: &[(&str, String)], args: &[&str], steps: Vec<Value>) -> Session {
    let mut full = vec!["mcp"];
    full.extend_from_slice(args);
    let plan = json!({
        "command": env!("CARGO_BIN_EXE_cred"),
        "args": full,
        "steps": steps,
    });
    let mut cmd = std::process::Command::new(mcp_python());
    cmd.args(["-c", client::SCRIPT])
        .env_clear()
        .envs(env.sealed_env())
        .current_dir(env.dir.path());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    let child = spawn_with_stdin(&mut cmd, &plan.to_string());
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "the MCP client failed ({})\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
        out.status
    );
    let report: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("the client's report is not JSON ({e}): {stdout}\n{stderr}"));
    Session {
        init: report["init"].clone(),
        results: report["results"].as_array().cloned().unwrap_or_default(),
        all: format!("{stdout}{stderr}"),
        stderr,
    }
}

/// A generic credential `api` at `server`/v1 with the key in
/// `Authorization: Bearer KEY`; returns the key.
pub fn add_api(env: &TestEnv, server: &Server) -> String {
    add_generic_unchecked(env, &server.url(), &["--template", "Bearer ${apiKey}"])
}

/// Every form of a Bearer key the tests look for: raw, URL-encoded, base64,
/// base64url, JSON-escaped (none differ for these keys but the encodings).
pub fn forms(key: &str) -> Vec<String> {
    use base64::Engine as _;
    vec![
        key.to_string(),
        urlencoded(key),
        b64(key),
        base64::engine::general_purpose::URL_SAFE.encode(key),
        b64(&format!("Bearer {key}")),
    ]
}

/// `cred mcp ARGS` as a child with piped stdin and stdout, for raw lines.
pub fn spawn_raw(env: &TestEnv, args: &[&str]) -> std::process::Child {
    let mut full = vec!["mcp"];
    full.extend_from_slice(args);
    std_cmd(env)
        .args(&full)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}
