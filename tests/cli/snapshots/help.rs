//! `--help` of `cred` and of every command and subcommand clap knows, one
//! snapshot each (`help`, `help_add`, `help_recipients_add`, …).

use crate::common::*;

/// The path of every command below `cmd`, `cmd` first (`help` excluded).
fn paths(cmd: &clap::Command, above: &[String], out: &mut Vec<Vec<String>>) {
    out.push(above.to_vec());
    for sub in cmd.get_subcommands() {
        if sub.get_name() == "help" {
            continue;
        }
        let mut path = above.to_vec();
        path.push(sub.get_name().to_string());
        paths(sub, &path, out);
    }
}

#[test]
fn help_of_every_command() {
    let env = TestEnv::new();
    let mut all = Vec::new();
    paths(&cred::command(), &[], &mut all);
    assert!(all.len() > 10, "{all:?}");
    for path in all {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let name = std::iter::once("help")
            .chain(path.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join("_");
        // As a person sees it: no CRED_CONFIG_DIR shown as the flag's value.
        let run = env.run_with(&args, |c| {
            c.env_remove("CRED_CONFIG_DIR");
        });
        assert_run!(name.as_str(), &args, run);
    }
}

#[test]
fn version() {
    let env = TestEnv::new();
    snap!("version", &env, &["--version"]);
}
