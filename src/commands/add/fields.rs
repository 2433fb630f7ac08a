//! The flags that answer a catalog provider's fields: `--field ID=VALUE`
//! (any field, repeatable) and `--instance` / `--username` (fields of those
//! names). A flag for a field the provider does not have, or one of the
//! generic provider's flags given to another, is a usage error naming the
//! provider's fields.

use super::AddArgs;
use crate::error::{Error, Exit, Result};

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
    let def = match kind.definition() {
        Some(d) => d,
        None => {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::definition::NAMED_FLAGS;
    use crate::providers::{ProviderConfig, catalog};
    use crate::ui::{NoPrompter, Ui};
    use clap::Parser;

    fn args(line: &[String]) -> AddArgs {
        let mut argv = vec!["cred".to_string(), "add".to_string()];
        argv.extend_from_slice(line);
        match crate::cli::Cli::parse_from(argv).command {
            crate::cli::Command::Add(a) => AddArgs {
                provider: a.provider.resolved().unwrap(),
                ..a
            },
            _ => unreachable!(),
        }
    }

    fn collected(a: &AddArgs) -> ProviderConfig {
        let ui = Ui::new();
        check_flags(a).unwrap_or_else(|e| panic!("{}", e.message));
        a.provider
            .collect(&mut super::super::Wizard::new(a, &mut NoPrompter, &ui))
            .unwrap_or_else(|e| panic!("{}", e.message))
    }

    /// Issue 29: every field of every built-in can be given by a flag
    /// (`--field ID=VALUE`, and its named flag where it has one), without
    /// a terminal.
    #[test]
    fn every_field_of_every_built_in_has_a_flag() {
        for def in catalog::built_in().unwrap() {
            let mut by_field = vec![def.id.clone()];
            let mut by_name = vec![def.id.clone()];
            for f in &def.fields {
                by_field.push(format!("--field={}={}", f.id, f.example));
                if NAMED_FLAGS.contains(&f.id.as_str()) {
                    by_name.push(format!("--{}={}", f.id, f.example));
                } else {
                    by_name.push(format!("--field={}={}", f.id, f.example));
                }
            }
            for line in [by_field, by_name] {
                let ProviderConfig::Catalog(c) = collected(&args(&line)) else {
                    panic!("{} is a catalog provider", def.id)
                };
                for f in &def.fields {
                    let want =
                        crate::providers::definition::normalize(f, &def.name, &f.example).unwrap();
                    assert_eq!(c.values.get(&f.id), Some(&want), "{}: {line:?}", def.id);
                }
            }
        }
    }

    /// Issue 29: every per-provider flag (`--instance`, `--username`)
    /// answers a field of some built-in, and is refused for a provider
    /// without that field.
    #[test]
    fn every_named_flag_maps_to_a_field() {
        let defs = catalog::built_in().unwrap();
        for id in NAMED_FLAGS {
            assert!(
                defs.iter().any(|d| d.fields.iter().any(|f| f.id == id)),
                "--{id} answers no built-in's field"
            );
            for d in defs.iter().filter(|d| !d.fields.iter().any(|f| f.id == id)) {
                let a = args(&[d.id.clone(), format!("--{id}=x")]);
                let err = check_flags(&a).unwrap_err();
                assert_eq!(err.exit(), Exit::Usage);
                assert!(err.message.contains("has no field"), "{}", err.message);
            }
        }
        // And a --field the provider lacks.
        let a = args(&["paymo".into(), "--field=instance=x".into()]);
        assert!(check_flags(&a).is_err());
    }
}
