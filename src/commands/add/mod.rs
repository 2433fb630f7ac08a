//! `cred add PROVIDER`: guide text, the questions (flags or prompts, see
//! [`wizard`]), the live check, then the store: secret into its store (the
//! keychain, the file store or Vault) first, then the config; if the config
//! write fails the store is put back as it was (`secrets::txn`).

mod fields;
mod headless;
mod probe;
mod wizard;

use super::{Ctx, KeySource, StoreArgs, validate_name};
use crate::check;
use crate::config::Credential;
use crate::error::{Error, Exit, Result};
use crate::providers::{Placement, ProviderConfig, ProviderKind};
use crate::secrets::Binding;
use crate::secrets::txn::{self, SecretChange, Undo};
use probe::Probe;
use wizard::Wizard;
use wizard::already_exists;

const PROVIDERS_HELP: &str = "\
Providers: `cred providers` lists them (built in, and your own in the config
directory's providers/); `cred providers show ID` shows a provider's fields,
each answered by --field ID=VALUE.
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

/// Set up a credential: guide, prompts, live check, then store the secret (keychain, file or Vault)
#[derive(Debug, clap::Args)]
#[command(after_help = PROVIDERS_HELP)]
pub struct AddArgs {
    /// Which API the key is for: a provider id (`cred providers list`), or generic
    #[arg(value_name = "PROVIDER", value_parser = crate::providers::parse_id, add = crate::complete::providers())]
    pub provider: ProviderKind,

    /// Name to store it under [default: the provider's name]
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,

    /// A note shown by `cred list` (e.g. what the key is for)
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,

    /// A field of the provider (repeatable): `--field team=blue`; `cred providers show ID` lists them
    #[arg(long, value_name = "ID=VALUE")]
    pub field: Vec<String>,

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

    #[command(flatten)]
    pub store: StoreArgs,

    /// Replace an existing credential of the same name
    #[arg(long)]
    pub force: bool,
}

pub fn run(ctx: &Ctx, args: AddArgs) -> Result<Exit> {
    let args = AddArgs {
        provider: args.provider.resolved()?,
        ..args
    };
    fields::check_flags(&args)?;
    if let Some(name) = &args.name {
        validate_name(name)?;
    }
    let description = description(&args)?;
    let ui = ctx.ui;
    let existing = ctx.config.load()?;
    // The store must work before anyone answers a question for it.
    let (kind, vault_mount) = args.store.resolve(existing.default_store)?;
    let store = ctx.secrets().open(kind, vault_mount.as_deref())?;
    // No keychain on a headless box: the file store is offered instead.
    let (kind, store) = headless::usable(ctx, &args, kind, store)?;
    // A passphrase (the file store) is asked now, before the questions.
    store.open()?;
    let mut prompter = ui.prompter();
    let p = prompter.as_mut();

    p.say(args.provider.guide());
    let taken = |n: &str| existing.credentials.contains_key(n);
    let (name, replace) = wizard::name(&args, p, &taken)?;
    // Replacing a local credential kept at the same Vault path replaces its entry too.
    let same_entry = |c: &Credential| c.store == kind && c.vault_mount == vault_mount;
    let replace_entry =
        args.force || (replace && existing.credentials.get(&name).is_some_and(same_entry));
    // HOOK(check_writable): may this token write it, and is the name free in Vault (unless replaced)?
    crate::secrets::vault::check_writable(kind, vault_mount.as_deref(), &name, replace_entry)?;

    // A bad CRED_CHECK_TIMEOUT stops here, before any question.
    let limit = if args.no_verify {
        None
    } else {
        Some(check::timeout()?)
    };
    let client = limit.map(crate::http::client).transpose()?;
    let checking = client.as_ref().zip(limit);
    let mut wizard = Wizard::new(&args, p, ui);
    let (provider, secret, last_check) = ask_and_check(&args, &mut wizard, ui, checking)?;
    let credential = Credential {
        provider,
        store: kind,
        vault_mount,
        description,
        created: Some(crate::config::now_rfc3339()),
        last_check,
    };
    let target = Target {
        store: &store,
        name,
        replace,
    };
    store_and_say(ctx, &args, &mut wizard, target, credential, &secret)
}

/// The provider's answers and the key, checked (unless `checking` is
/// `None`), with the recovery menu after a failed check on a terminal:
/// the provider's fields, the key and the check's record.
fn ask_and_check(
    args: &AddArgs,
    wizard: &mut Wizard<'_>,
    ui: &crate::ui::Ui,
    checking: Option<(&reqwest::blocking::Client, std::time::Duration)>,
) -> Result<(
    crate::providers::ProviderConfig,
    secrecy::SecretString,
    Option<crate::config::CheckRecord>,
)> {
    let p = wizard.prompter();
    // The key is typed at the prompt (not piped in or taken from the
    // environment), so a rejected one can be typed again.
    let key_is_typed =
        p.can_prompt() && !args.key.api_key_stdin && std::env::var_os(super::API_KEY_ENV).is_none();
    // Nothing can supply the key: named with any missing flag.
    let key_missing = !p.can_prompt()
        && !args.key.api_key_stdin
        && std::env::var_os(super::API_KEY_ENV).is_none();
    let (mut provider, mut wrong_address) = collect(args, wizard, ui, checking, key_missing)?;
    // A key kept in memory to be checked again (against another path, or
    // with other answers: Paligo shows a key only once).
    let mut kept: Option<secrecy::SecretString> = None;
    let (secret, last_check) = loop {
        let label = provider.provider().secret_label();
        let secret = match kept.take() {
            Some(s) => s,
            None => args.key.read(ui, &label, &wizard::command_line(args))?,
        };
        let Some((client, limit)) = checking else {
            break (secret, None);
        };
        let outcome = check::with_spinner(ui, client, &provider, &secret, limit);
        if outcome.is_valid() {
            break (secret, Some(outcome.record()));
        }
        let failure = Failure::of(outcome, &provider, wrong_address);
        if !key_is_typed {
            return Err(failure.err.cause("nothing was stored"));
        }
        match recovery_choice(args, wizard, ui, &provider, &failure)? {
            menu::KEY => {}
            menu::AGAIN => kept = Some(secret),
            menu::PATH => {
                provider = other_check_path(wizard, &provider)?;
                // The same key, against the new path.
                kept = Some(secret);
            }
            choice @ (menu::KEEP | menu::ALL) => {
                wizard.again();
                (provider, wrong_address) = collect(args, wizard, ui, checking, false)?;
                if choice == menu::KEEP {
                    kept = Some(secret);
                }
            }
            menu::UNCHECKED => break (secret, failure.unchecked),
            _ => return Err(Error::new(failure.err.exit(), "nothing was stored")),
        }
    };

    Ok((provider, secret, last_check))
}

/// The recovery menu's items.
mod menu {
    pub const KEY: &str = "Enter the key again";
    pub const KEEP: &str = "Change the other answers and keep the key you typed";
    pub const ALL: &str = "Change the other answers, then the key";
    pub const PATH: &str =
        "Check another path, one that needs the key (such as /user, /me or /account)";
    pub const AGAIN: &str = "Check again with the same key";
    pub const UNCHECKED: &str = "Store it unchecked (cred list shows it as unchecked)";
    pub const QUIT: &str = "Quit without storing anything";
}

/// A failed check, as the recovery menu sees it.
struct Failure {
    /// The check's error, as shown and returned.
    err: Error,
    /// The record to store the key unchecked with, when that is allowed.
    unchecked: Option<crate::config::CheckRecord>,
    /// The check wants another path (one that needs the key).
    other_path: bool,
    /// A wrong instance or address: the key may be right.
    address: bool,
    /// The user may not use the API: a new key cannot help.
    forbidden: bool,
    /// The API was too slow to answer.
    slow: bool,
    /// No answer at all (a timeout, a refused or dropped connection): the
    /// same key may pass a second try.
    unanswered: bool,
}

impl Failure {
    fn of(outcome: check::Outcome, provider: &ProviderConfig, wrong_address: bool) -> Failure {
        let other_path = outcome.needs_other_path();
        // Only a check that could not confirm (no answer, an unexpected
        // status) may end in storing the key anyway; a rejection may not.
        let unchecked = outcome.is_unconfirmed().then(|| outcome.unchecked_record());
        // What the answers can fix: a wrong instance or address (the key
        // may be right: keep it), a user who may not use the API (a new
        // key cannot help).
        let address = outcome.is_not_found()
            || (matches!(outcome, check::Outcome::Network { slow: false, .. }) && wrong_address);
        let forbidden = matches!(outcome, check::Outcome::Forbidden(_));
        let slow = matches!(outcome, check::Outcome::Network { slow: true, .. });
        let unanswered = matches!(outcome, check::Outcome::Network { .. });
        // A base URL that cannot be used (an override over http://) is the
        // check's error: its own words and hint, as `cred call` gives them.
        let err = match (&outcome, provider.provider().base_url()) {
            (check::Outcome::Error(_), Err(e)) => e,
            _ => outcome.into_error(provider.provider()),
        };
        Failure {
            err,
            unchecked,
            other_path,
            address,
            forbidden,
            slow,
            unanswered,
        }
    }
}

/// Shows the failed check's error and asks what now: one of the menu's
/// items (see [`menu`]).
fn recovery_choice(
    args: &AddArgs,
    wizard: &mut Wizard<'_>,
    ui: &crate::ui::Ui,
    provider: &ProviderConfig,
    failure: &Failure,
) -> Result<&'static str> {
    use menu::{AGAIN, ALL, KEEP, KEY, PATH, QUIT, UNCHECKED};
    let hint = if failure.forbidden {
        Some(provider.provider().forbidden_hint())
    } else if failure.slow {
        Some("the API is slow: CRED_CHECK_TIMEOUT=SECONDS allows more time")
    } else {
        None
    };
    ui.error(&menu_error(&failure.err, hint));
    let mut items = if failure.unanswered {
        vec![AGAIN]
    } else {
        vec![]
    };
    items.push(if failure.other_path { PATH } else { KEY });
    if args.provider.has_answers() {
        items.push(KEEP);
        items.push(ALL);
    }
    if failure.unchecked.is_some() {
        items.push(UNCHECKED);
    }
    items.push(QUIT);
    let preferred = if failure.address {
        KEEP
    } else if failure.unanswered {
        AGAIN
    } else if failure.forbidden {
        ALL
    } else {
        items[0]
    };
    let default = items.iter().position(|i| *i == preferred).unwrap_or(0);
    Ok(items[wizard.prompter().select("What now?", &items, default)?])
}

/// Asks for another check path: the provider with it.
fn other_check_path(wizard: &mut Wizard<'_>, provider: &ProviderConfig) -> Result<ProviderConfig> {
    let mut candidate = provider.clone();
    let path = wizard.prompter().input(
        "Check path (relative to the base URL, answered only with a valid key)",
        Some("/user"),
        &|s: &str| {
            let mut c = candidate.clone();
            c.set_check_path(s).map(|()| s.trim().to_string())
        },
    )?;
    candidate
        .set_check_path(&path)
        .map_err(|why| Error::user(format!("invalid check path: {why}")))?;
    Ok(candidate)
}

/// `--description`, checked; never asked: a note is rarely wanted, and
/// `gh auth login` does not ask one either.
fn description(args: &AddArgs) -> Result<Option<String>> {
    let Some(d) = &args.description else {
        return Ok(None);
    };
    if let Some(shown) = crate::escape::control_in(d) {
        return Err(Error::user(format!(
            "invalid --description: it holds a control character ({shown})"
        ))
        .hint("give a single line of plain text"));
    }
    Ok(Some(d.clone()))
}

/// Where the credential goes: the store, its name, whether it replaces one.
struct Target<'s> {
    store: &'s crate::secrets::Guarded<'s>,
    name: String,
    replace: bool,
}

/// Saves the credential (the name asked again on a terminal if another
/// `cred add` took it meanwhile) and says where it is and how to try it.
fn store_and_say(
    ctx: &Ctx,
    args: &AddArgs,
    wizard: &mut Wizard<'_>,
    target: Target<'_>,
    credential: Credential,
    secret: &secrecy::SecretString,
) -> Result<Exit> {
    let Target {
        store,
        mut name,
        mut replace,
    } = target;
    let (kind, ui) = (credential.store, ctx.ui);
    let provider_id = credential.provider.provider().kind().id();
    let target = credential.provider.provider().target();
    let example = credential.provider.provider().example_path();
    let name = loop {
        match save(ctx, store, &name, credential.clone(), secret, replace) {
            Err(Saved::Taken) if wizard.prompter().can_prompt() => {
                // Another `cred add` took the name meanwhile: the same
                // choice as at the start, against the config as it is now.
                let now = ctx.config.load()?;
                let taken = |n: &str| now.credentials.contains_key(n);
                (name, replace) = wizard::settle(args, wizard.prompter(), &taken, name)?;
                let replace_entry = replace
                    && now.credentials.get(&name).is_some_and(|c| {
                        c.store == kind && c.vault_mount == credential.vault_mount
                    });
                crate::secrets::vault::check_writable(
                    kind,
                    credential.vault_mount.as_deref(),
                    &name,
                    replace_entry,
                )?;
            }
            Err(Saved::Taken) => return Err(already_exists(&name)),
            Err(Saved::Failed(e)) => return Err(e),
            Ok(()) => break name,
        }
    };
    let place = match store.locate(&name) {
        Some(at) => format!("{} ({at})", kind.describe()),
        None => kind.describe().to_string(),
    };
    let done = if replace { "Replaced" } else { "Stored" };
    ui.success(&format!(
        "{done} `{name}` ({provider_id}, {target}); the key is in {place}."
    ));
    let example = crate::escape::shell_word(&example);
    ui.status(&format!("Try it: cred call {name} GET {example}"));
    Ok(Exit::Success)
}

fn collect(
    args: &AddArgs,
    wizard: &mut Wizard<'_>,
    ui: &crate::ui::Ui,
    checking: Option<(&reqwest::blocking::Client, std::time::Duration)>,
    key_missing: bool,
) -> Result<(ProviderConfig, bool)> {
    loop {
        let provider = args.provider.collect(wizard)?;
        wizard.missing(key_missing)?;
        // Nothing to ask again where there are no answers (Paymo), and no
        // request before an error for the key that nothing supplies.
        let probing = args.provider.has_answers() && !key_missing;
        let Some((client, limit)) = checking.filter(|_| probing) else {
            return Ok((provider, false));
        };
        match probe::probe(ui, client, &provider, limit) {
            Probe::Fine => return Ok((provider, false)),
            Probe::WrongAddress => return Ok((provider, true)),
            Probe::Missing(err) if wizard.prompter().can_prompt() => {
                ui.error(&err);
                ui.status("Enter the answers again (Enter keeps an answer).");
                wizard.again();
            }
            Probe::Missing(err) => return Err(err.cause("nothing was stored")),
        }
    }
}

/// A failed check's error as the wizard shows it, with its menu after it:
/// the choices stand for the flags its hints name (`--no-verify`), so only
/// `hint`, what no choice can do, is kept.
fn menu_error(err: &Error, hint: Option<&str>) -> Error {
    let mut shown = Error::new(err.exit(), err.message.clone());
    for cause in err.cause_lines() {
        shown = shown.cause(cause);
    }
    match hint {
        Some(h) => shown.hint(h),
        None => shown,
    }
}

/// Why [`save`] stored nothing.
enum Saved {
    /// The name was taken meanwhile, and is not to be replaced.
    Taken,
    Failed(Error),
}

impl From<Error> for Saved {
    fn from(e: Error) -> Self {
        Saved::Failed(e)
    }
}

/// Writes the secret, then the config; undoes the secret if the config
/// cannot be written. The name is checked again under the config's lock:
/// another `cred add` may have taken it since the questions began.
fn save(
    ctx: &Ctx,
    store: &crate::secrets::Guarded<'_>,
    name: &str,
    credential: Credential,
    secret: &secrecy::SecretString,
    replace: bool,
) -> Result<(), Saved> {
    let binding = Binding::of(&credential)?;
    let mut locked = ctx.config.lock()?;
    if !replace && locked.config.credentials.contains_key(name) {
        return Err(Saved::Taken);
    }
    locked
        .config
        .credentials
        .insert(name.to_string(), credential);
    Ok(txn::commit(
        &locked,
        store,
        name,
        SecretChange::Set(secret, &binding),
        Undo {
            restored: "the secret store was put back as it was; nothing was stored",
            not_restored: "the new secret could not be taken out of the secret store again",
        },
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::ProviderConfig;
    use crate::ui::{Prompter, ScriptedPrompter, Ui};
    use clap::Parser;

    fn collect(args: &AddArgs, p: &mut dyn Prompter) -> Result<ProviderConfig> {
        let ui = Ui::new();
        args.provider.collect(&mut Wizard::new(args, p, &ui))
    }

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
        let c = collect(&args(&["paligo"]), &mut p).unwrap();
        assert_eq!(
            c,
            ProviderConfig::catalog(
                "paligo",
                &[("instance", "acme"), ("username", "me@acme.com")]
            )
            .unwrap()
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
        let c = collect(&args(&["generic"]), &mut p).unwrap();
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
        )
        .unwrap_err();
        assert!(
            err.message.starts_with("invalid --template"),
            "{}",
            err.message
        );
        // Every missing flag is named at once, with a whole command line.
        let ui = Ui::new();
        let paligo = args(&["paligo"]);
        let mut w = Wizard::new(&paligo, &mut p, &ui);
        paligo.provider.collect(&mut w).unwrap();
        let err = w.missing(true).unwrap_err();
        assert_eq!(
            err.message,
            "missing --instance, --username and the API key (--api-key-stdin or CRED_API_KEY), and there is no terminal to ask for them"
        );
        assert_eq!(
            err.hints,
            [
                "pass every value, e.g. printf %s \"$KEY\" | cred add paligo --instance mycompany --username me@example.com --api-key-stdin"
            ]
        );
    }
}
