//! How a provider asks for its fields without knowing who answers: the
//! [`Asker`] trait. The wizard of `cred add` implements it with flag values
//! and prompts (a flag answers its question; a terminal asks; otherwise a
//! default, or an error naming the flag); unit tests implement it with a
//! script. Each provider's questions live in its own file.

use crate::error::Result;
use crate::ui::Validator;

/// One question: the flag that answers it, the prompt that asks it.
pub struct Question<'a> {
    /// The flag that answers it, e.g. `--instance`.
    pub flag: &'static str,
    pub prompt: &'a str,
    /// The answer when none is given (and the prompt's default).
    pub default: Option<&'a str>,
    /// An example value for hints: `--instance mycompany`.
    pub example: &'a str,
    /// Checks an answer and returns the value to store, or why not.
    pub validate: Validator<'a>,
}

/// Answers a provider's questions.
pub trait Asker {
    /// A required value.
    fn text(&mut self, q: Question<'_>) -> Result<String>;
    /// A value that may be left out (empty at the prompt, no flag without
    /// a terminal).
    fn optional(&mut self, q: Question<'_>) -> Result<Option<String>>;
    /// One of `choices` (`(id, description)`): the flag's value, a menu on
    /// a terminal, else the first.
    fn choose(
        &mut self,
        flag: &'static str,
        prompt: &str,
        choices: &[(&'static str, &str)],
    ) -> Result<&'static str>;
    /// Whether a switch such as `--allow-http` was given.
    fn switch(&self, flag: &'static str) -> bool;
    /// Whether to ask the questions past the essential ones: yes when one
    /// of `flags` answers one of them; else asked (`prompt`, yes or no) on
    /// a terminal; else no (their defaults hold).
    fn more(&mut self, flags: &[&'static str], prompt: &str) -> Result<bool>;
    /// Whether a person answers (a terminal): a choice a flag would make
    /// can then be offered as a menu instead of an error naming the flag.
    fn interactive(&self) -> bool;
    /// The answer to `flag` was not accepted after all (on a terminal):
    /// its question is asked again, a flag's value only as the default.
    fn reask(&mut self, flag: &'static str);
    /// A note for the person (a plain-http base URL, a key in the query).
    fn warn(&mut self, text: &str);
}
