//! Providers as data (issue 27): `cred providers list|show|search`, the
//! user's own definitions in the config directory (end to end: add, verify,
//! call, exec, proxy), a broken or foreign file, an override of a
//! built-in, `CRED_PROVIDER_URL_<ID>`, and a catalog key that goes only to
//! its origin; and every built-in's check against a loopback server that
//! answers as that API's docs show (`catalog.rs`).

mod catalog;
mod commands;
mod headers;
mod pages;
mod user;

use std::path::PathBuf;

use crate::common::*;

/// A user provider `acme`: a header token, a check that names the caller,
/// a `team` field, Link-header pagination.
pub const ACME: &str = r#"id = "acme"
name = "Acme"
summary = "Acme widgets API: a team token"
docs = "https://acme.example/docs"
keywords = ["widgets"]
base_url = "https://api.acme.example/{team}/v1"
secret_label = "team token"
example_path = "/things"
pagination = "link-header"
guide = """Acme: make a team token at acme.example > Settings > Tokens."""

[[fields]]
id = "team"
prompt = "Team"
example = "blue"
pattern = "^[a-z]+$"

[auth]
scheme = "header"
header = "X-Acme-Key"
value = "Token {key}"

[check]
path = "/whoami"
rejected = [401]
forbidden = [403]
identity = "Authenticated as {/login} <{/email}>"
rejected_message = "Acme rejected the token"
forbidden_message = "Acme accepted the token, but team {team} may not use the API"
"#;

/// Writes `CONFIG_DIR/providers/FILE` (0600, the folders 0700).
pub fn write_provider(env: &TestEnv, file: &str, text: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = env.config_dir().join("providers");
    std::fs::create_dir_all(&dir).unwrap();
    for d in [env.config_dir(), dir.clone()] {
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let path = dir.join(file);
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

/// `CRED_PROVIDER_URL_ACME` pointing at `server`, with the team in the path.
pub fn acme_env(server: &Server) -> (&'static str, String) {
    (
        "CRED_PROVIDER_URL_ACME",
        format!("{}/{{team}}/v1", server.url()),
    )
}

/// The X-Acme-Key header a request carried.
pub fn acme_key(seen: &Seen) -> Option<String> {
    seen.header("x-acme-key").map(str::to_string)
}
