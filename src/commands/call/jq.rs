//! `cred call --jq EXPR`: the answer (or the `--paginate` array) filtered
//! by a jq program, run by jaq (a real jq implementation, not a subset).
//! As `gh api --jq` does, string results are printed raw and every other
//! result as compact JSON, one per line. An answer of several JSON values
//! (NDJSON) is filtered one value at a time, as jq reads it.
//!
//! The filter is compiled before any request is sent, so a typo costs no
//! API call. jq needs the whole value, and jaq's values take about 20-25
//! times the JSON text (measured: 2.0 MB of objects, 56 MiB peak RSS;
//! 7.9 MB, 181 MiB): the answer is read into memory up to [`MAX_INPUT`],
//! which keeps the peak under SPEC §5's 64 MiB, and a larger one stops with
//! an error that says to pipe the answer to jq instead.

use std::io::Write;

use jaq_core::load::{Arena, File, Loader};
use jaq_core::{Ctx, Vars, data, unwrap_valr};
use jaq_json::Val;

use crate::error::{Error, Result};

/// The largest answer `--jq` reads (an answer, or the joined pages): with
/// the densest shape measured (`{"a":1}` records, about 70 times the text
/// in jaq values) the peak stays under 64 MiB.
pub const MAX_INPUT: usize = 768 * 1024;

/// A compiled jq program.
pub struct Jq {
    filter: jaq_core::Filter<data::JustLut<Val>>,
}

impl Jq {
    /// Compiles `code`, or says what is wrong with it.
    pub fn compile(code: &str) -> Result<Jq> {
        let defs = jaq_core::defs()
            .chain(jaq_std::defs())
            .chain(jaq_json::defs());
        let funs = jaq_core::funs()
            .chain(jaq_std::funs())
            .chain(jaq_json::funs());
        let loader = Loader::new(defs);
        let arena = Arena::default();
        let invalid = |why: String| {
            Error::user(format!("invalid --jq expression `{code}`"))
                .cause(why)
                .hint("the expression is jq's language, e.g. --jq '.items[].name'")
        };
        let modules = loader
            .load(&arena, File { code, path: () })
            .map_err(|errors| invalid(load_errors(errors)))?;
        let filter = jaq_core::Compiler::default()
            .with_funs(funs)
            .compile(modules)
            .map_err(|errors| {
                let words: Vec<String> = errors
                    .into_iter()
                    .flat_map(|(_, es)| es)
                    .map(|(name, what)| format!("undefined {} `{name}`", what.as_str()))
                    .collect();
                invalid(words.join("; "))
            })?;
        Ok(Jq { filter })
    }

    /// Runs the program on each JSON value of `input` in turn (one value,
    /// or NDJSON and other streams of values, as jq reads them) and writes
    /// each result: strings raw, other values as compact JSON, one per line.
    pub fn run(&self, input: &[u8], out: &mut dyn Write) -> Result<()> {
        let not_json = |e: String| {
            Error::user("the answer is not JSON, so --jq cannot filter it")
                .cause(e)
                .hint("drop --jq to see the raw answer")
        };
        if input.iter().all(u8::is_ascii_whitespace) {
            return Err(not_json("the answer is empty".into()));
        }
        for value in jaq_json::read::parse_many(input) {
            let value = value.map_err(|e| not_json(e.to_string()))?;
            self.run_one(value, out)?;
        }
        Ok(())
    }

    /// Runs the program on one value.
    fn run_one(&self, value: Val, out: &mut dyn Write) -> Result<()> {
        let ctx = Ctx::<data::JustLut<Val>>::new(&self.filter.lut, Vars::new([]));
        let write_err = |e: std::io::Error| crate::error::stdout_error(e);
        for result in self.filter.id.run((ctx, value)).map(unwrap_valr) {
            let value = result.map_err(|e| {
                Error::user("the --jq expression failed on the answer").cause(e.to_string())
            })?;
            match &value {
                Val::TStr(s) => out.write_all(s).map_err(write_err)?,
                other => jaq_json::write::write(out, &jaq_json::write::Pp::default(), 0, other)
                    .map_err(write_err)?,
            }
            out.write_all(b"\n").map_err(write_err)?;
        }
        Ok(())
    }
}

/// The loader's complaints, in words.
fn load_errors<P>(errors: jaq_core::load::Errors<&str, P>) -> String {
    use jaq_core::load::Error as E;
    let mut words = Vec::new();
    for (_, error) in errors {
        match error {
            E::Io(es) => words.extend(es.into_iter().map(|(path, why)| format!("{path}: {why}"))),
            E::Lex(es) => words.extend(
                es.into_iter()
                    .map(|(expect, at)| format!("expected {} at `{}`", expect.as_str(), clip(at))),
            ),
            E::Parse(es) => words.extend(
                es.into_iter()
                    .map(|(expect, at)| format!("expected {} at `{}`", expect.as_str(), clip(at))),
            ),
        }
    }
    words.join("; ")
}

/// The start of the rest of the expression, for a message.
fn clip(rest: &str) -> &str {
    match rest.char_indices().nth(20) {
        Some((i, _)) => &rest[..i],
        None => rest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(code: &str, input: &str) -> String {
        let mut out = Vec::new();
        Jq::compile(code)
            .unwrap()
            .run(input.as_bytes(), &mut out)
            .unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn strings_raw_values_compact() {
        assert_eq!(run(".[].name", r#"[{"name":"a"},{"name":"b"}]"#), "a\nb\n");
        assert_eq!(run(".a", r#"{"a":{"b":[1, 2]}}"#), "{\"b\":[1,2]}\n");
        assert_eq!(run("length", "[1,2,3]"), "3\n");
        assert_eq!(run("map(select(.>1))", "[1,2,3]"), "[2,3]\n");
    }

    #[test]
    fn big_numbers_keep_their_digits() {
        assert_eq!(
            run(".", "123456789012345678901234567890"),
            "123456789012345678901234567890\n"
        );
    }

    #[test]
    fn each_value_of_a_stream_in_turn() {
        assert_eq!(
            run(".id", "{\"id\":0}\n{\"id\":1}\n{\"id\":2}\n"),
            "0\n1\n2\n"
        );
        assert!(
            Jq::compile(".")
                .unwrap()
                .run(b"{} nope", &mut Vec::new())
                .is_err()
        );
        assert!(
            Jq::compile(".")
                .unwrap()
                .run(b"  ", &mut Vec::new())
                .is_err()
        );
    }

    #[test]
    fn bad_expressions_are_user_errors() {
        assert!(Jq::compile(".[").is_err());
        assert!(Jq::compile("nosuchfunction").is_err());
    }
}
