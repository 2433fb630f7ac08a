//! `cred exec NAME[,NAME…] [--env VAR=FIELD]… [--no-masking] -- COMMAND
//! [ARGS…]`: runs COMMAND (no shell) with credentials in its environment.
//!
//! Every secret is fetched (through the resolver, so `CRED_SECRET_<NAME>`
//! and the binding check apply) before the child starts; any failure exits
//! with cred's own code and the child never runs. The child's environment
//! is the caller's without cred's own secret carriers (`CRED_SECRET_*`,
//! `CRED_IDENTITY`, `CRED_IDENTITY_FILE`), plus the variables asked for. Its output goes through
//! the one scrubber (`scrub`) with the set installed in `Ui` (so cred's own
//! messages mask them too), each secret and the auth header value shown
//! as `<concealed by cred>` in every encoding `Secrets` knows; on a
//! terminal the child gets a pseudo-terminal of its own ([`pty`]) so that
//! colours, progress bars and prompts keep working, and Ctrl-Z suspends
//! it as a shell job. Off a terminal, a stdout and stderr that are the
//! same file share one pipe, so the child's lines keep their order.
//! SIGINT, SIGTERM, SIGHUP and SIGQUIT are forwarded and cred exits with
//! the child's status (128+N after signal N); a program not found is 127,
//! one that cannot be run 126.

#[cfg(unix)]
mod pty;

use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::process::{Command, ExitStatus, Stdio};

use secrecy::{ExposeSecret, SecretString};

use super::Ctx;
use crate::error::{Error, Exit, Result};
use crate::scrub::Secrets;
use crate::secrets::env::{PREFIX as SECRET_ENV_PREFIX, upper_name};

/// What exec shows in place of a secret in the child's output.
pub const CONCEALED: &str = "<concealed by cred>";

/// Run a program with credentials in its environment, their secrets masked in its output
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Variables: NAME_API_KEY, NAME_BASE_URL, and for Paligo NAME_USERNAME and
NAME_INSTANCE (NAME upper-cased, `-` and `.` as `_`). With --env, only the
variables named there are set. FIELD is api_key, base_url, auth_header (the
header value cred would send, e.g. `Basic ...`), username or instance;
with several credentials write NAME:FIELD.

Exit status: the program's (128+N after signal N); 127 when it is not
found, 126 when it cannot be run.

Examples:
  cred exec paligo -- python3 export.py
  cred exec paligo,paymo -- ./sync.sh
  cred exec api --env TOKEN=api_key --env API_URL=base_url -- terraform plan")]
pub struct ExecArgs {
    /// The credentials, separated by commas
    #[arg(value_name = "NAME[,NAME...]", add = crate::complete::names())]
    pub names: String,

    /// Set VAR to a field of a credential instead of the default variables (repeatable)
    #[arg(long = "env", value_name = "VAR=FIELD")]
    pub env: Vec<String>,

    /// Hand the child the real terminal and its output unmasked
    #[arg(long)]
    pub no_masking: bool,

    /// The program and its arguments (no shell)
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<OsString>,
}

/// One credential, ready to hand over.
struct Ready {
    name: String,
    secret: SecretString,
    base_url: String,
    auth_header: Option<SecretString>,
    fields: Vec<(&'static str, String)>,
}

impl Ready {
    fn field(&self, field: &str) -> Result<SecretString> {
        let plain = |v: &str| SecretString::from(v.to_string());
        match field {
            "api_key" => Ok(self.secret.clone()),
            "base_url" => Ok(plain(&self.base_url)),
            "auth_header" => self.auth_header.clone().ok_or_else(|| {
                Error::user(format!(
                    "`{}` sends its key in a query parameter, so it has no auth_header",
                    self.name
                ))
                .hint("use api_key")
            }),
            other => {
                self.fields
                    .iter()
                    .find(|(k, _)| *k == other)
                    .map(|(_, v)| plain(v))
                    .ok_or_else(|| {
                        let mut known = vec!["api_key", "base_url", "auth_header"];
                        known.extend(self.fields.iter().map(|(k, _)| *k));
                        Error::user(format!("`{}` has no field `{other}`", self.name))
                            .hint(format!("fields of `{}`: {}", self.name, known.join(", ")))
                    })
            }
        }
    }
}

pub fn run(ctx: &Ctx, args: ExecArgs) -> Result<Exit> {
    let names: Vec<&str> = args.names.split(',').map(str::trim).collect();
    if names.iter().any(|n| n.is_empty()) {
        return Err(
            Error::user(format!("`{}` names an empty credential", args.names))
                .hint("separate names with commas and nothing else: cred exec a,b -- CMD"),
        );
    }
    // Every secret first: the child never starts when one is missing.
    let secrets = ctx.secrets();
    let mut ready = Vec::new();
    for name in &names {
        let credential = ctx.config.get(name)?;
        let provider = credential.provider.provider();
        let secret = secrets.get(name, &credential)?;
        let auth = provider.auth(&secret);
        // Masked in cred's own messages from now on.
        ctx.ui.hide(&secret, Some(&auth));
        ready.push(Ready {
            name: name.to_string(),
            base_url: provider
                .base_url()?
                .as_str()
                .trim_end_matches('/')
                .to_string(),
            auth_header: auth.header().map(|(_, v)| v),
            fields: provider
                .exec_fields()
                .into_iter()
                .map(|f| (f.key, f.value))
                .collect(),
            secret,
        });
    }
    let vars = variables(&ready, &args.env)?;
    // The child's output is masked with the same set, shown as CONCEALED.
    let mask = Secrets::clone(&ctx.ui.secrets()).with_mask(CONCEALED);

    let mut cmd = Command::new(&args.command[0]);
    cmd.args(&args.command[1..]).env_clear();
    for (k, v) in std::env::vars_os() {
        let key = k.to_string_lossy();
        // cred's own secret carriers and ways into its stores: the CI
        // override, an identity (its text or its file, which opens every
        // secret of the file store), and the key that `add` and `rotate` read.
        if key.starts_with(SECRET_ENV_PREFIX)
            || key == crate::secrets::file::identity::TEXT_ENV
            || key == crate::secrets::file::identity::FILE_ENV
            || key == super::API_KEY_ENV
        {
            continue;
        }
        cmd.env(&k, &v);
    }
    for (k, v) in &vars {
        cmd.env(k, v.expose_secret());
    }

    let status = if args.no_masking {
        run_plain(cmd, &args)?
    } else {
        #[cfg(unix)]
        if ctx.ui.stdout_is_terminal() {
            let status = pty::run(cmd, &args, &mask)?;
            return Ok(exit_of(status));
        }
        run_masked(cmd, &args, &mask)?
    };
    Ok(exit_of(status))
}

/// The variables to set: the defaults, or exactly those of `--env`.
fn variables(ready: &[Ready], env: &[String]) -> Result<Vec<(String, SecretString)>> {
    let mut vars = Vec::new();
    if env.is_empty() {
        for r in ready {
            let p = upper_name(&r.name);
            vars.push((format!("{p}_API_KEY"), r.secret.clone()));
            vars.push((
                format!("{p}_BASE_URL"),
                SecretString::from(r.base_url.clone()),
            ));
            for (k, v) in &r.fields {
                vars.push((
                    format!("{p}_{}", k.to_ascii_uppercase()),
                    SecretString::from(v.clone()),
                ));
            }
        }
        return Ok(vars);
    }
    for spec in env {
        let (var, what) = spec.split_once('=').ok_or_else(|| {
            Error::user(format!("invalid --env `{spec}`: expected VAR=FIELD"))
                .hint("for example: --env TOKEN=api_key")
        })?;
        if var.is_empty() || var.contains('\0') {
            return Err(Error::user(format!(
                "invalid --env `{spec}`: no variable name"
            )));
        }
        let (credential, field) = match what.split_once(':') {
            Some((n, f)) => (
                ready.iter().find(|r| r.name == n).ok_or_else(|| {
                    Error::user(format!(
                        "--env `{spec}` names `{n}`, which this exec does not load"
                    ))
                })?,
                f,
            ),
            None if ready.len() == 1 => (&ready[0], what),
            None => {
                return Err(Error::user(format!(
                    "--env `{spec}`: with several credentials, say whose field: VAR=NAME:FIELD"
                )));
            }
        };
        vars.push((var.to_string(), credential.field(field)?));
    }
    Ok(vars)
}

/// The child with the real terminal and nothing masked.
fn run_plain(mut cmd: Command, args: &ExecArgs) -> Result<ExitStatus> {
    let mut child = spawn(&mut cmd, args)?;
    crate::signals::forward_to(child.id());
    let status = child.wait();
    crate::signals::stop_forwarding();
    status.map_err(|e| Error::user("could not wait for the program").with_source(e))
}

/// The child's stdout and stderr through the scrubber (pipes), stdin
/// passed through. When our stdout and stderr are the same file (`> f
/// 2>&1`, or one pipe both go to), the child gets one pipe for both, so
/// that its lines keep the order a direct run gives them.
fn run_masked(mut cmd: Command, args: &ExecArgs, mask: &Secrets) -> Result<ExitStatus> {
    let shared = if same_file(&io::stdout(), &io::stderr()) {
        let io_err =
            |e: io::Error| Error::user("could not set up the program's output").with_source(e);
        let (reader, writer) = io::pipe().map_err(io_err)?;
        cmd.stdout(writer.try_clone().map_err(io_err)?)
            .stderr(writer);
        Some(reader)
    } else {
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        None
    };
    let mut child = spawn(&mut cmd, args)?;
    // Our copies of the shared pipe's writing end must go, or its end
    // would never be seen.
    drop(cmd);
    crate::signals::forward_to(child.id());
    let out = child.stdout.take();
    let err = child.stderr.take();
    std::thread::scope(|s| {
        if let Some(both) = shared {
            s.spawn(move || pump(both, io::stdout(), mask));
        }
        if let Some(out) = out {
            s.spawn(move || pump(out, io::stdout(), mask));
        }
        if let Some(err) = err {
            s.spawn(move || pump(err, io::stderr(), mask));
        }
    });
    let status = child.wait();
    crate::signals::stop_forwarding();
    status.map_err(|e| Error::user("could not wait for the program").with_source(e))
}

/// Whether two descriptors are the same file (same device and inode).
#[cfg(unix)]
fn same_file(a: &impl std::os::fd::AsFd, b: &impl std::os::fd::AsFd) -> bool {
    match (rustix::fs::fstat(a), rustix::fs::fstat(b)) {
        (Ok(a), Ok(b)) => a.st_dev == b.st_dev && a.st_ino == b.st_ino,
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file<A, B>(_: &A, _: &B) -> bool {
    false
}

/// Starts the program. One that is not found is exit 127, one that cannot
/// be run (no execute permission, a directory, not a program) 126, as
/// `env`, `timeout` and shells report them.
fn spawn(cmd: &mut Command, args: &ExecArgs) -> Result<std::process::Child> {
    cmd.spawn().map_err(|e| spawn_error(&args.command[0], e))
}

fn spawn_error(program: &std::ffi::OsStr, e: io::Error) -> Error {
    let path = std::path::Path::new(program);
    let program = program.to_string_lossy();
    let has_slash = program.contains('/');
    if e.kind() == io::ErrorKind::NotFound {
        let err = Error::new(
            Exit::Child(127),
            format!("could not run `{program}`: command not found"),
        );
        return if has_slash {
            err.hint("check the path to the program")
        } else {
            err.hint(
                "check the command's name and that it is on PATH; cred runs it directly, without a shell",
            )
        };
    }
    let (why, hint) = if has_slash && path.is_dir() {
        ("it is a directory", None)
    } else if e.kind() == io::ErrorKind::PermissionDenied {
        (
            "it is not executable",
            Some(format!(
                "give it execute permission (chmod +x {program}), or run it through its interpreter"
            )),
        )
    } else {
        ("it cannot be executed", None)
    };
    let err = Error::new(
        Exit::Child(126),
        format!("could not run `{program}`: {why}"),
    )
    .with_source(e);
    match hint {
        Some(h) => err.hint(h),
        None => err,
    }
}

/// Copies `from` to `to` through the scrubber, flushing after every read
/// so that progress output is not held back (only a possible start of a
/// secret is).
pub fn pump(mut from: impl Read, to: impl Write, mask: &Secrets) {
    let mut w = mask.writer(to);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if w.write_all(&buf[..n]).and_then(|_| w.flush()).is_err() {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    let _ = w.finish();
}

/// The child's status as cred's: its code, or 128+N after signal N.
fn exit_of(status: ExitStatus) -> Exit {
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return Exit::Child(u8::try_from(128 + sig).unwrap_or(255));
        }
    }
    Exit::Child(
        status
            .code()
            .and_then(|c| u8::try_from(c).ok())
            .unwrap_or(1),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        assert_eq!(upper_name("acme-docs.v2"), "ACME_DOCS_V2");
    }
}
