//! The wizard's side of the questions a provider asks ([`Asker`]): a flag
//! answers its question (validated); otherwise a prompt asks on a terminal
//! (with the answer of an earlier round as its default); otherwise the
//! default is taken, or the value is noted as missing, and
//! [`Wizard::missing`] names every missing flag at once. `cred` never waits
//! on a prompt nobody can answer. When the answers are asked again (a
//! failed check, an unknown instance), a flag's value is only the prompt's
//! default.

use std::collections::{HashMap, HashSet};

use super::AddArgs;
use crate::commands::name_problem;
use crate::error::{Error, Result};
use crate::providers::{Asker, Question};
use crate::ui::{Prompter, Ui};

/// The credential's name, and whether it replaces one of that name:
/// `--name`, else the provider's id (`cred add github` is `github`, as
/// `gh auth login` asks nothing about names). Only `generic`, whose id says
/// nothing about the API, asks for a name on a terminal (default: the next
/// free `generic`, `generic-2`, …). A name in use is replaced with
/// `--force`; on a terminal the person chooses to replace it or to pick
/// another; otherwise it is an error.
pub fn name(
    args: &AddArgs,
    p: &mut dyn Prompter,
    taken: &dyn Fn(&str) -> bool,
) -> Result<(String, bool)> {
    let base = args.provider.id();
    let name = match &args.name {
        Some(n) => n.clone(),
        None if p.can_prompt() && !args.provider.id_names_the_api() => ask_name(p, base, taken)?,
        None => base.to_string(),
    };
    settle(args, p, taken, name)
}

/// `name` if it is free; else replaced (`--force`, or chosen on a
/// terminal), or another name asked on a terminal; else an error. Asked
/// again when the name was taken meanwhile (another `cred add`).
pub fn settle(
    args: &AddArgs,
    p: &mut dyn Prompter,
    taken: &dyn Fn(&str) -> bool,
    mut name: String,
) -> Result<(String, bool)> {
    let base = args.provider.id();
    loop {
        if !taken(&name) {
            return Ok((name, false));
        }
        if args.force {
            return Ok((name, true));
        }
        if !p.can_prompt() {
            return Err(already_exists(&name));
        }
        let replace = format!("Replace `{name}`");
        let items = [replace.as_str(), "Store this one under another name"];
        let prompt = format!("A credential named `{name}` exists.");
        match p.select(&prompt, &items, 1)? {
            0 => return Ok((name, true)),
            _ => name = ask_name(p, base, taken)?,
        }
    }
}

fn ask_name(p: &mut dyn Prompter, base: &str, taken: &dyn Fn(&str) -> bool) -> Result<String> {
    let default = if taken(base) {
        (2..)
            .map(|i| format!("{base}-{i}"))
            .find(|n| !taken(n))
            .unwrap_or_else(|| base.to_string())
    } else {
        base.to_string()
    };
    p.input("Name for this credential", Some(&default), &|s: &str| {
        let s = s.trim();
        match name_problem(s) {
            Some(why) => Err(why),
            None => Ok(s.to_string()),
        }
    })
}

/// `cred add ID`, with `--name` when given: the start of an example.
pub fn command_line(args: &AddArgs) -> String {
    match &args.name {
        Some(name) => format!("cred add {} --name {name}", args.provider.id()),
        None => format!("cred add {}", args.provider.id()),
    }
}

pub fn already_exists(name: &str) -> Error {
    Error::user(format!("a credential named `{name}` already exists"))
        .hint("pass --force to replace it, or --name to store this one under another name")
}

/// Answers the provider's questions for `cred add`.
pub struct Wizard<'a> {
    args: &'a AddArgs,
    p: &'a mut dyn Prompter,
    ui: &'a Ui,
    /// Answers given in an earlier round, offered as defaults when the
    /// values are entered again.
    answers: HashMap<&'static str, String>,
    /// The answers are being asked again: a flag's value no longer
    /// answers its question, it is the prompt's default.
    again: bool,
    /// Flags whose value was refused on a terminal (a plain-http base URL
    /// not accepted): asked with the value as the default.
    reasked: HashSet<&'static str>,
    /// Required values with no flag, no terminal and no default: the flag
    /// and an example value.
    missing: Vec<(&'static str, String)>,
}

impl<'a> Wizard<'a> {
    pub fn new(args: &'a AddArgs, p: &'a mut dyn Prompter, ui: &'a Ui) -> Self {
        Wizard {
            args,
            p,
            ui,
            answers: HashMap::new(),
            again: false,
            reasked: HashSet::new(),
            missing: Vec::new(),
        }
    }

    pub fn prompter(&mut self) -> &mut dyn Prompter {
        self.p
    }

    /// The next questions ask the answers again (on a terminal): every
    /// earlier answer, a flag's value included, is the prompt's default.
    pub fn again(&mut self) {
        self.again = true;
    }

    /// Without a terminal: one error naming every required flag that was
    /// not given (and the key, when nothing supplies it), with a complete
    /// example command line.
    pub fn missing(&self, key_missing: bool) -> Result<()> {
        if self.missing.is_empty() {
            return Ok(());
        }
        let mut names: Vec<String> = self.missing.iter().map(|(f, _)| f.to_string()).collect();
        if key_missing {
            names.push("the API key (--api-key-stdin or CRED_API_KEY)".to_string());
        }
        let listed = match names.split_last() {
            Some((last, [])) => last.clone(),
            Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
            None => String::new(),
        };
        let them = if names.len() == 1 { "it" } else { "them" };
        let mut example = command_line(self.args);
        for (flag, value) in &self.missing {
            example.push_str(&format!(" {}", super::fields::example(flag, value)));
        }
        let example = if key_missing {
            format!("printf %s \"$KEY\" | {example} --api-key-stdin")
        } else {
            example
        };
        Err(Error::user(format!(
            "missing {listed}, and there is no terminal to ask for {them}"
        ))
        .hint(format!("pass every value, e.g. {example}")))
    }

    /// The value of `flag` that answers its question: the command line's,
    /// unless the question is being asked again on a terminal.
    fn answering_flag(&self, flag: &'static str) -> Option<String> {
        let asked_again = (self.again || self.reasked.contains(flag)) && self.p.can_prompt();
        if asked_again {
            None
        } else {
            self.flag_value(flag)
        }
    }

    /// The prompt's default: an earlier answer, else the flag's value.
    fn previous(&self, flag: &'static str) -> Option<String> {
        self.answers
            .get(flag)
            .cloned()
            .or_else(|| self.flag_value(flag))
    }

    /// The value given with `flag` on the command line.
    fn flag_value(&self, flag: &str) -> Option<String> {
        let a = self.args;
        match flag {
            "--instance" => a
                .instance
                .clone()
                .or_else(|| super::fields::value(a, "instance")),
            "--username" => a
                .username
                .clone()
                .or_else(|| super::fields::value(a, "username")),
            "--base-url" => a.base_url.clone(),
            "--placement" => a.placement.map(|p| p.id().to_string()),
            "--key-name" => a.key_name.clone(),
            "--template" => a.template.clone(),
            "--label" => a.label.clone(),
            "--check-path" => a.check_path.clone(),
            f => super::fields::value(a, f.strip_prefix("--field ")?),
        }
    }

    fn invalid_flag(flag: &str, example: &str, why: String) -> Error {
        Error::user(format!("invalid {flag}: {why}")).hint(format!(
            "for example: {}",
            super::fields::example(flag, example)
        ))
    }
}

/// Every answer is plain text first: no control character, no bidi
/// control or other format character (SPEC §7), whatever the question.
fn plain_text<'v>(
    validate: &'v (dyn Fn(&str) -> std::result::Result<String, String> + 'v),
) -> impl Fn(&str) -> std::result::Result<String, String> + 'v {
    move |s: &str| match crate::escape::control_in(s.trim()) {
        Some(shown) => Err(format!("it holds a control character ({shown})")),
        None => validate(s),
    }
}

impl Asker for Wizard<'_> {
    fn text(&mut self, q: Question<'_>) -> Result<String> {
        let validate = plain_text(q.validate);
        let q = Question {
            validate: &validate,
            ..q
        };
        if let Some(v) = self.answering_flag(q.flag) {
            let v = (q.validate)(&v).map_err(|why| Self::invalid_flag(q.flag, q.example, why))?;
            self.answers.insert(q.flag, v.clone());
            return Ok(v);
        }
        if self.p.can_prompt() {
            let previous = self.previous(q.flag);
            let v = self
                .p
                .input(q.prompt, previous.as_deref().or(q.default), q.validate)?;
            self.answers.insert(q.flag, v.clone());
            return Ok(v);
        }
        match q.default {
            Some(d) => (q.validate)(d).map_err(Error::user),
            None => {
                // Noted, so that one error names every missing flag; the
                // example stands in until then.
                self.missing.push((q.flag, q.example.to_string()));
                Ok((q.validate)(q.example).unwrap_or_else(|_| q.example.to_string()))
            }
        }
    }

    fn optional(&mut self, q: Question<'_>) -> Result<Option<String>> {
        let validate = plain_text(q.validate);
        let q = Question {
            validate: &validate,
            ..q
        };
        if let Some(v) = self.answering_flag(q.flag) {
            let v = (q.validate)(&v).map_err(|why| Self::invalid_flag(q.flag, q.example, why))?;
            self.answers.insert(q.flag, v.clone());
            return Ok(Some(v));
        }
        if !self.p.can_prompt() {
            return Ok(None);
        }
        let previous = self.previous(q.flag);
        let v = self
            .p
            .input(q.prompt, previous.as_deref().or(q.default), q.validate)?;
        self.answers.insert(q.flag, v.clone());
        Ok(Some(v))
    }

    fn choose(
        &mut self,
        flag: &'static str,
        prompt: &str,
        choices: &[(&'static str, &str)],
    ) -> Result<&'static str> {
        if let Some(v) = self.answering_flag(flag)
            && let Some((id, _)) = choices.iter().find(|(id, _)| *id == v)
        {
            self.answers.insert(flag, id.to_string());
            return Ok(id);
        }
        if !self.p.can_prompt() {
            return Ok(choices[0].0);
        }
        let items: Vec<&str> = choices.iter().map(|(_, d)| *d).collect();
        let previous = self.previous(flag);
        let default = choices
            .iter()
            .position(|(id, _)| Some(*id) == previous.as_deref())
            .unwrap_or(0);
        let chosen = choices[self.p.select(prompt, &items, default)?].0;
        self.answers.insert(flag, chosen.to_string());
        Ok(chosen)
    }

    fn switch(&self, flag: &'static str) -> bool {
        match flag {
            "--allow-http" => self.args.allow_http,
            _ => false,
        }
    }

    fn more(&mut self, flags: &[&'static str], prompt: &str) -> Result<bool> {
        if flags.iter().any(|f| self.answering_flag(f).is_some()) {
            return Ok(true);
        }
        if !self.p.can_prompt() {
            return Ok(false);
        }
        let previous = self.answers.get("more").is_some_and(|a| a == "yes")
            || flags.iter().any(|f| self.flag_value(f).is_some());
        let more = self.p.confirm(prompt, previous)?;
        self.answers
            .insert("more", if more { "yes" } else { "no" }.to_string());
        Ok(more)
    }

    fn interactive(&self) -> bool {
        self.p.can_prompt()
    }

    fn reask(&mut self, flag: &'static str) {
        self.reasked.insert(flag);
    }

    fn warn(&mut self, text: &str) {
        self.ui.warn(text);
    }
}
