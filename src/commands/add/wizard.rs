//! The wizard's side of the questions a provider asks ([`Asker`]): a flag
//! answers its question (validated); otherwise a prompt asks on a terminal
//! (with the answer of an earlier round as its default); otherwise the
//! default is taken, or the error names the flag that supplies the value.
//! `cred` never waits on a prompt nobody can answer.

use std::collections::HashMap;

use super::AddArgs;
use crate::commands::name_problem;
use crate::error::{Error, Result};
use crate::providers::{Asker, Question};
use crate::ui::{Prompter, Ui};

/// The credential's name, and whether it replaces one of that name:
/// `--name`, else asked on a terminal (default: the provider's name, or the
/// next free `NAME-2`), else the provider's name. A name in use is replaced
/// with `--force`; on a terminal the person chooses to replace it or to
/// pick another; otherwise it is an error.
pub fn name(
    args: &AddArgs,
    p: &mut dyn Prompter,
    taken: &dyn Fn(&str) -> bool,
) -> Result<(String, bool)> {
    let base = args.provider.id();
    let mut name = match &args.name {
        Some(n) => n.clone(),
        None if p.can_prompt() => ask_name(p, base, taken)?,
        None => base.to_string(),
    };
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
}

impl<'a> Wizard<'a> {
    pub fn new(args: &'a AddArgs, p: &'a mut dyn Prompter, ui: &'a Ui) -> Self {
        Wizard {
            args,
            p,
            ui,
            answers: HashMap::new(),
        }
    }

    pub fn prompter(&mut self) -> &mut dyn Prompter {
        self.p
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
        if let Some(v) = self.flag_value(q.flag) {
            return (q.validate)(&v).map_err(|why| Self::invalid_flag(q.flag, q.example, why));
        }
        if self.p.can_prompt() {
            let previous = self.answers.get(q.flag).cloned();
            let v = self
                .p
                .input(q.prompt, previous.as_deref().or(q.default), q.validate)?;
            self.answers.insert(q.flag, v.clone());
            return Ok(v);
        }
        match q.default {
            Some(d) => (q.validate)(d).map_err(Error::user),
            None => Err(Error::user(format!(
                "missing {}, and there is no terminal to ask for it",
                q.flag
            ))
            .hint(format!(
                "pass {}",
                super::fields::example(q.flag, q.example)
            ))),
        }
    }

    fn optional(&mut self, q: Question<'_>) -> Result<Option<String>> {
        let validate = plain_text(q.validate);
        let q = Question {
            validate: &validate,
            ..q
        };
        if let Some(v) = self.flag_value(q.flag) {
            return (q.validate)(&v)
                .map(Some)
                .map_err(|why| Self::invalid_flag(q.flag, q.example, why));
        }
        if !self.p.can_prompt() {
            return Ok(None);
        }
        let previous = self.answers.get(q.flag).cloned();
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
        if let Some(v) = self.flag_value(flag)
            && let Some((id, _)) = choices.iter().find(|(id, _)| *id == v)
        {
            return Ok(id);
        }
        if !self.p.can_prompt() {
            return Ok(choices[0].0);
        }
        let items: Vec<&str> = choices.iter().map(|(_, d)| *d).collect();
        let previous = self.answers.get(flag).map(String::as_str);
        let default = choices
            .iter()
            .position(|(id, _)| Some(*id) == previous)
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

    fn warn(&mut self, text: &str) {
        self.ui.warn(text);
    }
}
