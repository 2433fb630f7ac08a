//! The `cred` binary: everything it does is [`cred::main`].

fn main() -> std::process::ExitCode {
    cred::main()
}
