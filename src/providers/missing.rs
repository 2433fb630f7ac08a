//! A credential whose provider definition cannot be had: the user's
//! `providers/ID.toml` was deleted or is broken (or the id is unknown).
//! config.toml still loads: the credential keeps its fields as they are
//! (written back unchanged), `cred list` shows it as broken, `cred remove`
//! removes it, and every use of it fails with [`MissingProvider::error`].

use secrecy::SecretString;
use url::Url;

use super::{Auth, Field, Pagination, Provider, ProviderKind, Verdict};
use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq)]
pub struct MissingProvider {
    /// The id config.toml names.
    pub id: String,
    /// Why it cannot be used: `provider definition missing: PATH`, or the
    /// broken file's error.
    pub why: String,
    /// The credential's other fields, as config.toml holds them.
    pub values: toml::Table,
    pub keys: &'static [&'static str],
}

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_string().into_boxed_str())
}

impl MissingProvider {
    pub fn new(id: String, why: String, values: toml::Table) -> Self {
        let keys: Vec<&'static str> = values.keys().map(|k| leak(k)).collect();
        MissingProvider {
            id,
            why,
            values,
            keys: Box::leak(keys.into_boxed_slice()),
        }
    }

    /// The error of any use of credential `name`.
    pub fn error(&self, name: &str) -> Error {
        Error::user(format!(
            "cannot use `{name}`: {}",
            crate::escape::visible(&self.why)
        ))
        .hint(format!(
            "restore the provider file, or remove the credential: cred remove {name}"
        ))
    }
}

impl Provider for MissingProvider {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Named(leak(&self.id))
    }

    fn display_name(&self) -> &'static str {
        leak(&self.id)
    }

    fn target(&self) -> String {
        format!("broken: {}", self.why)
    }

    fn fields(&self) -> Vec<Field> {
        self.values
            .iter()
            .filter_map(|(k, v)| Some(Field::new(leak(k), leak(k), v.as_str()?)))
            .collect()
    }

    fn config_keys(&self) -> &'static [&'static str] {
        self.keys
    }

    fn example_path(&self) -> String {
        "/".into()
    }

    fn rejected_hint(&self) -> &'static str {
        "restore the provider file, or remove the credential with `cred remove NAME`"
    }

    fn base_url(&self) -> Result<Url> {
        Err(Error::user(self.why.clone()).hint(self.rejected_hint()))
    }

    fn auth(&self, _secret: &SecretString) -> Auth {
        // Never sent: every request needs the base URL, which fails first.
        Auth::Query {
            name: "cred-provider-missing".into(),
            value: SecretString::from(String::new()),
        }
    }

    fn check_path(&self) -> String {
        "/".into()
    }

    fn judge(&self, status: u16, _body: &[u8]) -> Verdict {
        Verdict::Unconfirmed(format!("{} (HTTP {status})", self.why))
    }

    fn pagination(&self) -> Pagination {
        Pagination::None
    }

    fn api_notes(&self) -> &'static str {
        leak(&self.why)
    }
}
