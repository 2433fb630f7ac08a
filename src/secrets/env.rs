//! Secrets from the environment, for CI: `CRED_SECRET_<NAME>` (NAME
//! upper-cased, `-` and `.` turned into `_`) overrides every store for
//! `call`, `verify` and `secret`, so a committed config.toml plus one CI
//! secret is all a pipeline needs, and no store is opened at all.

use secrecy::SecretString;
use zeroize::Zeroizing;

use crate::error::{Error, Result};

pub const PREFIX: &str = "CRED_SECRET_";

/// `CRED_SECRET_ACME_DOCS` for `acme-docs`.
pub fn var_name(name: &str) -> String {
    format!("{PREFIX}{}", upper_name(name))
}

/// A credential name as it stands in variable names: upper-cased, `-` and
/// `.` turned into `_` (`acme-docs.v2` → `ACME_DOCS_V2`).
pub fn upper_name(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            '-' | '.' => '_',
            c => c.to_ascii_uppercase(),
        })
        .collect()
}

/// The variable's name when it is set.
pub fn var_name_if_set(name: &str) -> Option<String> {
    let var = var_name(name);
    std::env::var_os(&var).map(|_| var)
}

/// The secret from `CRED_SECRET_<NAME>`, if set. An empty or non-UTF-8
/// value is an error (a CI secret that did not arrive), never a silent
/// fall-back to a store.
pub fn lookup(name: &str) -> Result<Option<SecretString>> {
    let var = var_name(name);
    let Some(value) = std::env::var_os(&var) else {
        return Ok(None);
    };
    let value = Zeroizing::new(
        value
            .into_string()
            .map_err(|_| Error::user(format!("{var} is not valid UTF-8")))?,
    );
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(Error::user(format!("{var} is set but empty"))
            .cause("a CI secret that is not available to this job arrives as an empty variable")
            .hint(format!(
                "give {var} the key (e.g. from your CI's secrets), or unset it to use the stored secret"
            )));
    }
    Ok(Some(SecretString::from(trimmed.to_string())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(var_name("paligo"), "CRED_SECRET_PALIGO");
        assert_eq!(var_name("acme-docs.prod_2"), "CRED_SECRET_ACME_DOCS_PROD_2");
    }
}
