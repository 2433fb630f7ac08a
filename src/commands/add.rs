//! `cred add PROVIDER`: the wizard. Guide text, prompts with inline
//! validation (or the flags that answer them), the live check, then the
//! store: secret into the keychain first, then the config; if the config
//! write fails the keychain is put back as it was.

use std::collections::HashMap;

use secrecy::SecretString;

use super::{Ctx, KeySource, validate_name};
use crate::check::{self, Outcome};
use crate::error::{Error, Exit, Result};
use crate::providers::{
    GenericConfig, PaligoConfig, PaymoConfig, Placement, ProviderConfig, ProviderKind, generic,
    paligo, paymo,
};
use crate::store::Credential;
use crate::ui::{Prompter, Ui, Validator};

const PROVIDERS_HELP: &str = "\
Providers:
  paligo   Paligo CCMS. Needs --instance (the NAME in NAME.paligoapp.com),
           --username (your email) and an API key. Admin users only.
  paymo    Paymo. Needs an API key.
  generic  Any API-key HTTP API. Needs --base-url; optional --placement,
           --key-name, --template (e.g. 'Bearer ${apiKey}'), --label,
           --check-path, --allow-http.

The API key is never a flag value: type it at the hidden prompt, pipe it with
--api-key-stdin, or set CRED_API_KEY.

Examples:
  cred add paligo
  printf %s \"$KEY\" | cred add paligo --instance acme --username me@acme.com --api-key-stdin
  CRED_API_KEY=... cred add generic --name gh --base-url https://api.github.com \\
      --template 'Bearer ${apiKey}' --check-path /user";

/// Set up a credential: guide, prompts, live check, store in the keychain
#[derive(Debug, clap::Args)]
#[command(after_help = PROVIDERS_HELP)]
pub struct AddArgs {
    /// Which API the key is for
    #[arg(value_enum)]
    pub provider: ProviderKind,

    /// Name to store it under [default: the provider's name]
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// A note shown by `cred list` (e.g. what the key is for)
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,

    /// Paligo instance: NAME, NAME.paligoapp.com or a pasted Paligo address
    #[arg(long, value_name = "NAME", help_heading = "Paligo")]
    pub instance: Option<String>,

    /// Paligo username: the email address you sign in with
    #[arg(long, value_name = "EMAIL", help_heading = "Paligo")]
    pub username: Option<String>,

    /// The API's base URL (https://; http:// only for loopback or with --allow-http)
    #[arg(long, value_name = "URL", help_heading = "Generic", value_hint = clap::ValueHint::Url)]
    pub base_url: Option<String>,

    /// Where the key goes
    #[arg(long, value_enum, help_heading = "Generic")]
    pub placement: Option<Placement>,

    /// Header or query parameter name [default: Authorization / api_key]
    #[arg(long, value_name = "NAME", help_heading = "Generic")]
    pub key_name: Option<String>,

    /// How the key is written, with ${apiKey} once [default: ${apiKey}]
    #[arg(long, value_name = "TEMPLATE", help_heading = "Generic")]
    pub template: Option<String>,

    /// What prompts call the key [default: API Key]
    #[arg(long, value_name = "TEXT", help_heading = "Generic")]
    pub label: Option<String>,

    /// Path that `verify` requests to check the key [default: the base URL]
    #[arg(long, value_name = "PATH", help_heading = "Generic")]
    pub check_path: Option<String>,

    /// Accept a plain http:// base URL that is not loopback
    #[arg(long, help_heading = "Generic")]
    pub allow_http: bool,

    #[command(flatten)]
    pub key: KeySource,

    /// Store without checking the key against the live API
    #[arg(long)]
    pub no_verify: bool,

    /// Replace an existing credential of the same name
    #[arg(long)]
    pub force: bool,
}

pub fn run(ctx: &Ctx, args: AddArgs) -> Result<Exit> {
    let name = args
        .name
        .clone()
        .unwrap_or_else(|| args.provider.id().to_string());
    validate_name(&name)?;
    let ui = ctx.ui;
    let mut prompter = ui.prompter();
    let p = prompter.as_mut();

    let mut replace = args.force;
    if !replace && ctx.store.load()?.credentials.contains_key(&name) {
        if !p.can_prompt() {
            return Err(already_exists(&name));
        }
        if !p.confirm(
            &format!("A credential named `{name}` exists. Replace it?"),
            false,
        )? {
            return Err(
                Error::user(format!("kept the existing `{name}`; nothing was stored"))
                    .hint("pick another name with --name"),
            );
        }
        replace = true;
    }

    p.say(match args.provider {
        ProviderKind::Paligo => paligo::GUIDE,
        ProviderKind::Paymo => paymo::GUIDE,
        ProviderKind::Generic => generic::GUIDE,
    });

    let client = if args.no_verify {
        None
    } else {
        Some(crate::http::client(check::TIMEOUT)?)
    };
    let mut answers = Answers::default();
    // The key is typed at the prompt (not piped in or taken from the
    // environment), so a rejected one can be typed again.
    let key_is_typed =
        p.can_prompt() && !args.key.api_key_stdin && std::env::var_os(super::API_KEY_ENV).is_none();
    let mut provider = collect(&args, p, ui, &mut answers)?;
    let (secret, last_check) = loop {
        let label = match &provider {
            ProviderConfig::Generic(g) => g.label.clone(),
            _ => "API key".to_string(),
        };
        let secret = args.key.read(ui, &label)?;
        let Some(client) = &client else {
            break (secret, None);
        };
        let outcome = run_check(ui, client, &provider, &secret);
        if outcome.is_valid() {
            break (secret, Some(outcome.record()));
        }
        let wrong_place = matches!(outcome, Outcome::NotFound(_));
        let err = outcome.into_error(provider.provider());
        if !key_is_typed {
            return Err(err.cause("nothing was stored"));
        }
        ui.error(&err);
        const KEY: &str = "Enter the key again";
        const ALL: &str = "Change the other answers, then the key";
        const QUIT: &str = "Quit without storing anything";
        let (items, default) = match provider {
            ProviderConfig::Paymo(_) => (vec![KEY, QUIT], 0),
            _ => (vec![KEY, ALL, QUIT], usize::from(wrong_place)),
        };
        match items[p.select("What now?", &items, default)?] {
            KEY => {}
            ALL => provider = collect(&args, p, ui, &mut answers)?,
            _ => return Err(Error::new(err.exit, "nothing was stored")),
        }
    };

    let description = match &args.description {
        Some(d) => Some(d.clone()),
        None if p.can_prompt() => {
            let d = p.input("Description (optional)", None, &|s: &str| {
                Ok(s.trim().to_string())
            })?;
            Some(d).filter(|d| !d.is_empty())
        }
        None => None,
    };
    let credential = Credential {
        provider,
        description,
        created: Some(crate::store::config::now_rfc3339()),
        last_check,
    };
    store(ctx, &name, credential.clone(), &secret, replace)?;
    ui.success(&format!(
        "Stored `{name}` ({}, {}); the key is in the OS keychain.",
        credential.provider.provider().kind().id(),
        credential.provider.provider().target()
    ));
    let example = match credential.provider {
        ProviderConfig::Paligo(_) => "/folders",
        ProviderConfig::Paymo(_) => "/projects",
        ProviderConfig::Generic(_) => "/…",
    };
    ui.status(&format!("Try it: cred call {name} GET {example}"));
    Ok(Exit::Success)
}

fn already_exists(name: &str) -> Error {
    Error::user(format!("a credential named `{name}` already exists"))
        .hint("pass --force to replace it, or --name to store this one under another name")
}

/// Runs the live check with a spinner and reports the result.
pub fn run_check(
    ui: &Ui,
    client: &reqwest::blocking::Client,
    provider: &ProviderConfig,
    secret: &SecretString,
) -> Outcome {
    let who = provider.provider().display_name();
    let spinner = ui.spinner(&format!("Checking the key with {who}…"));
    let checked = check::check(client, provider, secret, &|wait| {
        let msg = format!("{who} is rate limiting; waiting {} s…", wait.as_secs());
        spinner.set_message(&msg);
        if !ui.stderr_is_terminal() {
            ui.status(&msg);
        }
    });
    spinner.finish();
    if let Outcome::Valid(_) = &checked.outcome {
        ui.success(&format!(
            "✓ {who} accepted the key: {}",
            checked.outcome.message()
        ));
    }
    checked.outcome
}

/// Writes the secret, then the config; undoes the secret if the config
/// cannot be written.
fn store(
    ctx: &Ctx,
    name: &str,
    credential: Credential,
    secret: &SecretString,
    replace: bool,
) -> Result<()> {
    let mut locked = ctx.store.lock()?;
    if !replace && locked.config.credentials.contains_key(name) {
        return Err(already_exists(name));
    }
    let keychain = ctx.keychain();
    let previous = if replace {
        keychain.get_optional(name)?
    } else {
        None
    };
    keychain.set(name, secret)?;
    locked
        .config
        .credentials
        .insert(name.to_string(), credential);
    if let Err(err) = locked.save() {
        let undo = match &previous {
            Some(old) => keychain.set(name, old),
            None => keychain.delete(name),
        };
        return Err(match undo {
            Ok(()) => err.cause("the keychain was restored; nothing was stored"),
            Err(e) => err.cause(format!(
                "the new secret could not be taken out of the keychain again: {}",
                e.message
            )),
        });
    }
    Ok(())
}

/// Answers given in an earlier round of the wizard, offered as defaults
/// when the values are entered again.
#[derive(Default)]
struct Answers(HashMap<&'static str, String>);

/// Asks for one value: the flag's value if given (validated), else a prompt
/// if there is a terminal, else the default, else an error naming the flag.
#[allow(clippy::too_many_arguments)]
fn ask(
    p: &mut dyn Prompter,
    answers: &mut Answers,
    flag_value: Option<&str>,
    flag: &'static str,
    prompt: &str,
    default: Option<&str>,
    example: &str,
    validate: Validator<'_>,
) -> Result<String> {
    if let Some(v) = flag_value {
        return validate(v).map_err(|why| {
            Error::user(format!("invalid {flag}: {why}"))
                .hint(format!("for example: {flag} {example}"))
        });
    }
    if p.can_prompt() {
        let previous = answers.0.get(flag).cloned();
        let v = p.input(prompt, previous.as_deref().or(default), validate)?;
        answers.0.insert(flag, v.clone());
        return Ok(v);
    }
    match default {
        Some(d) => validate(d).map_err(Error::user),
        None => Err(Error::user(format!(
            "missing {flag}, and there is no terminal to ask for it"
        ))
        .hint(format!("pass {flag} {example}"))),
    }
}

fn collect(
    args: &AddArgs,
    p: &mut dyn Prompter,
    ui: &Ui,
    answers: &mut Answers,
) -> Result<ProviderConfig> {
    Ok(match args.provider {
        ProviderKind::Paligo => ProviderConfig::Paligo(PaligoConfig {
            instance: ask(
                p,
                answers,
                args.instance.as_deref(),
                "--instance",
                "Paligo instance (mycompany, or paste your Paligo address)",
                None,
                "mycompany",
                &paligo::normalize_instance,
            )?,
            username: ask(
                p,
                answers,
                args.username.as_deref(),
                "--username",
                "Username (the email you sign in with)",
                None,
                "me@example.com",
                &paligo::validate_email,
            )?,
        }),
        ProviderKind::Paymo => ProviderConfig::Paymo(PaymoConfig {}),
        ProviderKind::Generic => ProviderConfig::Generic(collect_generic(args, p, ui, answers)?),
    })
}

fn collect_generic(
    args: &AddArgs,
    p: &mut dyn Prompter,
    ui: &Ui,
    answers: &mut Answers,
) -> Result<GenericConfig> {
    let allow_http = args.allow_http;
    let base_url = ask(
        p,
        answers,
        args.base_url.as_deref(),
        "--base-url",
        "API base URL",
        None,
        "https://api.example.com/v1",
        &|s: &str| generic::validate_base_url(s, allow_http).map(|(u, _)| u),
    )?;
    if let Ok((_, Some(note))) = generic::validate_base_url(&base_url, allow_http) {
        ui.warn(&note);
    }
    let placement = match args.placement {
        Some(pl) => pl,
        None if p.can_prompt() => {
            let items = [
                "header: in a request header (usual)",
                "query: in a query parameter (ends up in logs)",
            ];
            let choices = [Placement::Header, Placement::Query];
            let previous = answers.0.get("--placement").map(String::as_str);
            let default = choices
                .iter()
                .position(|c| Some(c.id()) == previous)
                .unwrap_or(0);
            let chosen = choices[p.select("Where does the key go?", &items, default)?];
            answers.0.insert("--placement", chosen.id().to_string());
            chosen
        }
        None => Placement::Header,
    };
    if placement == Placement::Query {
        ui.warn(generic::QUERY_WARNING);
    }
    let (key_prompt, key_flag_example) = match placement {
        Placement::Header => ("Header name", "X-Api-Key"),
        Placement::Query => ("Query parameter name", "api_key"),
    };
    let key_name = ask(
        p,
        answers,
        args.key_name.as_deref(),
        "--key-name",
        key_prompt,
        Some(placement.default_key_name()),
        key_flag_example,
        &|s: &str| generic::validate_key_name(s, placement),
    )?;
    let template = ask(
        p,
        answers,
        args.template.as_deref(),
        "--template",
        "How the key is written, with ${apiKey} standing for it (e.g. Bearer ${apiKey})",
        Some(generic::PLACEHOLDER),
        "'Bearer ${apiKey}'",
        &generic::validate_template,
    )?;
    let label = ask(
        p,
        answers,
        args.label.as_deref(),
        "--label",
        "What the API calls the key (shown when asking for it)",
        Some("API Key"),
        "'Access token'",
        &|s: &str| {
            let s = s.trim();
            if s.is_empty() || s.chars().any(char::is_control) {
                Err("the label must be a non-empty line".to_string())
            } else {
                Ok(s.to_string())
            }
        },
    )?;
    let check_path = match &args.check_path {
        Some(c) => Some(generic::validate_check_path(c).map_err(|why| {
            Error::user(format!("invalid --check-path: {why}"))
                .hint("for example: --check-path /me")
        })?),
        None if p.can_prompt() => {
            let c = p.input(
                "Path to check the key with (empty: the base URL itself)",
                answers.0.get("--check-path").map(String::as_str),
                &generic::validate_check_path,
            )?;
            answers.0.insert("--check-path", c.clone());
            Some(c)
        }
        None => None,
    }
    .filter(|c| !c.is_empty());
    Ok(GenericConfig {
        base_url,
        placement,
        key_name,
        template,
        label,
        check_path,
        allow_http,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::ScriptedPrompter;
    use clap::Parser;

    fn args(line: &[&str]) -> AddArgs {
        let mut argv = vec!["cred", "add"];
        argv.extend_from_slice(line);
        match crate::cli::Cli::parse_from(argv).command {
            crate::cli::Command::Add(a) => a,
            _ => unreachable!(),
        }
    }

    #[test]
    fn paligo_wizard_normalises_and_reasks() {
        let mut p = ScriptedPrompter::new(&[
            "https://acme.paligoapp.com/document/edit/12",
            "not-an-email",
            "me@acme.com",
        ]);
        let c = collect(
            &args(&["paligo"]),
            &mut p,
            &Ui::new(),
            &mut Answers::default(),
        )
        .unwrap();
        assert_eq!(
            c,
            ProviderConfig::Paligo(PaligoConfig {
                instance: "acme".into(),
                username: "me@acme.com".into()
            })
        );
        assert!(
            p.transcript
                .iter()
                .any(|l| l.starts_with("invalid: `not-an-email`"))
        );
    }

    #[test]
    fn generic_wizard_defaults() {
        let mut p =
            ScriptedPrompter::new(&["https://api.example.com/v1/", "query", "", "", "", ""]);
        let c = collect(
            &args(&["generic"]),
            &mut p,
            &Ui::new(),
            &mut Answers::default(),
        )
        .unwrap();
        let ProviderConfig::Generic(g) = c else {
            panic!()
        };
        assert_eq!(g.base_url, "https://api.example.com/v1");
        assert_eq!(g.placement, Placement::Query);
        assert_eq!(g.key_name, "api_key");
        assert_eq!(g.template, "${apiKey}");
        assert_eq!(g.label, "API Key");
        assert_eq!(g.check_path, None);
    }

    #[test]
    fn flags_skip_prompts_and_are_validated() {
        let mut p = crate::ui::NoPrompter;
        let err = collect(
            &args(&[
                "generic",
                "--base-url",
                "https://x.test",
                "--template",
                "Bearer",
            ]),
            &mut p,
            &Ui::new(),
            &mut Answers::default(),
        )
        .unwrap_err();
        assert!(
            err.message.starts_with("invalid --template"),
            "{}",
            err.message
        );
        let err = collect(
            &args(&["paligo"]),
            &mut p,
            &Ui::new(),
            &mut Answers::default(),
        )
        .unwrap_err();
        assert!(
            err.message.starts_with("missing --instance"),
            "{}",
            err.message
        );
    }
}
