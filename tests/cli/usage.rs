//! A usage error (exit 2) ends with a hint naming the help of the
//! subcommand that was given, aliases resolved: `cred call --help`, not
//! only `cred --help`.

use crate::common::*;

#[test]
fn usage_errors_point_at_the_subcommands_help() {
    let env = TestEnv::new();
    for (args, help) in [
        (&["call", "x", "--bogus"][..], "cred call --help"),
        (&["add", "paligo", "--instance"][..], "cred add --help"),
        (&["ls", "--jsn"][..], "cred list --help"),
        (&["--bogus"][..], "cred --help"),
    ] {
        let run = env.run(args);
        run.code(2);
        assert!(run.stderr.starts_with("cred: error: "), "{run}");
        assert!(
            run.stderr.ends_with(&format!("hint: see `{help}`\n")),
            "{args:?}: {run}"
        );
    }
}
