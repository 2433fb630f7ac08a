//! A field's value as the wizard stores it: a subdomain cut from a pasted
//! address, an email address, a number, or text, then the definition's
//! pattern.

use super::{FieldDef, FieldKind};

/// Checks a field's answer and returns the value to store, or why not:
/// trimmed; a subdomain from a pasted address; an email; a number; then
/// the pattern, if any.
pub fn normalize(f: &FieldDef, provider: &str, input: &str) -> Result<String, String> {
    let s = input.trim();
    let value = match f.kind {
        FieldKind::Subdomain => subdomain(
            s,
            f.domain.as_deref().unwrap_or(""),
            provider,
            &f.id.replace('_', " "),
        )?,
        FieldKind::Email => email(s, provider)?,
        FieldKind::Number => {
            if s.is_empty() || !s.chars().all(|c| c.is_ascii_digit()) {
                return Err(format!("`{s}` is not a number"));
            }
            s.to_string()
        }
        FieldKind::Text => {
            if s.is_empty() {
                return Err(format!("the {} is empty", f.id.replace('_', " ")));
            }
            s.to_string()
        }
    };
    if let Some(re) = &f.regex
        && !re.is_match(&value)
    {
        return Err(format!("`{value}` does not look like {}", f.example));
    }
    Ok(value)
}

/// Accepts `acme`, `acme.DOMAIN` or a pasted address such as
/// `https://acme.DOMAIN/document/edit/12`; returns `acme`.
pub fn subdomain(input: &str, domain: &str, provider: &str, noun: &str) -> Result<String, String> {
    let mut s = input.trim();
    if s.is_empty() {
        return Err(format!("the {noun} name is empty"));
    }
    if let Some(rest) = s.split_once("://").map(|(_, rest)| rest) {
        s = rest;
    }
    let host = s.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit('@').next().unwrap_or(host);
    let host = host.split(':').next().unwrap_or(host).to_ascii_lowercase();
    let label = match host.strip_suffix(&format!(".{domain}")) {
        Some(l) => l.to_string(),
        None if host.contains('.') => {
            return Err(format!(
                "`{host}` is not a {provider} address: expected NAME or NAME.{domain}"
            ));
        }
        None => host,
    };
    dns_label(&label, noun)?;
    Ok(label)
}

fn dns_label(label: &str, noun: &str) -> Result<(), String> {
    if label.is_empty() {
        return Err(format!("the {noun} name is empty"));
    }
    if label.len() > 63 {
        return Err(format!(
            "`{label}` is {} characters long; {} name has at most 63",
            label.len(),
            article(noun)
        ));
    }
    if let Some(c) = label
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
    {
        return Err(format!(
            "`{label}` contains `{c}`; {} name has only letters, digits and hyphens",
            article(noun)
        ));
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Err(format!(
            "`{label}` starts or ends with a hyphen, which {} name cannot",
            article(noun)
        ));
    }
    Ok(())
}

/// "an instance", "a subdomain".
fn article(noun: &str) -> String {
    if noun.starts_with(['a', 'e', 'i', 'o', 'u']) {
        format!("an {noun}")
    } else {
        format!("a {noun}")
    }
}

/// An email address (a user name that is one).
pub fn email(input: &str, provider: &str) -> Result<String, String> {
    let s = input.trim();
    let refuse = || {
        Err(format!(
            "`{s}` is not an email address: {provider} usernames are the email you sign in with"
        ))
    };
    let Some((local, domain)) = s.split_once('@') else {
        return refuse();
    };
    let bad_domain = domain.is_empty()
        || !domain.contains('.')
        || domain.starts_with('.')
        || domain.ends_with('.')
        || domain.contains('@');
    if local.is_empty()
        || bad_domain
        || s.chars().any(|c| {
            c.is_whitespace() || c.is_control() || c == ':' || ('\u{80}'..='\u{9f}').contains(&c)
        })
    {
        return refuse();
    }
    Ok(s.to_string())
}
