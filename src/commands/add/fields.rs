//! The flags that answer a catalog provider's fields: `--field ID=VALUE`
//! (any field, repeatable) and `--instance` / `--username` (fields of those
//! names). A flag for a field the provider does not have, or one of the
//! generic provider's flags given to another, is a usage error naming the
//! provider's fields.

use super::AddArgs;
use crate::error::{Error, Exit, Result};
use crate::providers::ProviderKind;

/// The value `--field ID=VALUE` gives field `id` (the last one wins).
pub fn value(args: &AddArgs, id: &str) -> Option<String> {
    args.field.iter().rev().find_map(|f| {
        let (k, v) = f.split_once('=')?;
        (k.trim() == id).then(|| v.to_string())
    })
}

/// How a hint writes `flag` with `example`: `--field team=blue`,
/// `--instance mycompany`.
pub fn example(flag: &str, example: &str) -> String {
    match flag.strip_prefix("--field ") {
        Some(id) => format!("--field {id}={example}"),
        None => format!("{flag} {example}"),
    }
}

/// Every field flag given is one of the provider's fields.
pub fn check_flags(args: &AddArgs) -> Result<()> {
    let kind = args.provider;
    let generic_flags = [
        ("--base-url", args.base_url.is_some()),
        ("--placement", args.placement.is_some()),
        ("--key-name", args.key_name.is_some()),
        ("--template", args.template.is_some()),
        ("--label", args.label.is_some()),
        ("--check-path", args.check_path.is_some()),
        ("--allow-http", args.allow_http),
    ];
    let named = [
        ("instance", args.instance.is_some()),
        ("username", args.username.is_some()),
    ];
    let def = match kind {
        ProviderKind::Catalog(d) => d,
        _ => {
            let given = named
                .iter()
                .find(|(_, g)| *g)
                .map(|(id, _)| format!("--{id}"))
                .or_else(|| (!args.field.is_empty()).then(|| "--field".to_string()));
            return match given {
                Some(flag) => Err(usage(format!(
                    "{flag} is not a flag of the generic provider"
                ))
                .hint("generic takes --base-url, --placement, --key-name, --template, --label, --check-path and --allow-http")),
                None => Ok(()),
            };
        }
    };
    let fields: Vec<&str> = def.fields.iter().map(|f| f.id.as_str()).collect();
    let listed = if fields.is_empty() {
        format!("{}'s fields: none (it needs only the key)", def.name)
    } else {
        format!(
            "{}'s fields: {} (`cred providers show {}`)",
            def.name,
            fields.join(", "),
            def.id
        )
    };
    for f in &args.field {
        let Some((id, _)) = f.split_once('=') else {
            return Err(usage(format!(
                "invalid --field `{}`: it takes ID=VALUE",
                crate::escape::visible(f)
            ))
            .hint(listed));
        };
        if !fields.contains(&id.trim()) {
            return Err(usage(format!(
                "{} has no field `{}`",
                def.name,
                crate::escape::visible(id)
            ))
            .hint(listed));
        }
    }
    for (id, given) in named {
        if given && !fields.contains(&id) {
            return Err(usage(format!("{} has no field `{id}` (--{id})", def.name)).hint(listed));
        }
    }
    if let Some((flag, _)) = generic_flags.iter().find(|(_, g)| *g) {
        return Err(usage(format!(
            "{flag} is a flag of the generic provider, not of {}",
            def.name
        ))
        .hint(listed));
    }
    Ok(())
}

fn usage(message: String) -> Error {
    Error::new(Exit::Usage, message)
}
