//! The generated files committed under `completions/` and `man/`, built
//! from the clap definition (clap_complete, clap_mangen). The tests in
//! `mod.rs` fail when the committed copies differ, and rewrite them with
//! `CRED_REGENERATE=1`. Only the tests need clap_mangen, so it is a
//! dev-dependency and the binary does not carry it.

use cred::{Shell, completion_script as script};

/// `(file name, contents)` of every completion script.
pub fn completion_files() -> Vec<(String, Vec<u8>)> {
    [
        Shell::Bash,
        Shell::Zsh,
        Shell::Fish,
        Shell::Powershell,
        Shell::Elvish,
    ]
    .into_iter()
    .map(|s| (s.file_name().to_string(), script(s)))
    .collect()
}

const EXIT_STATUS: &[(&str, &str)] = &[
    ("0", "Success."),
    (
        "1",
        "Error: bad input, unknown credential, file or I/O problem.",
    ),
    ("2", "Usage error: unknown command, flag or value."),
    (
        "3",
        "The API answered with status 400 or above (other than 401/403/429), or redirected to another origin; the body is still printed.",
    ),
    (
        "4",
        "The API rejected the credential (401/403) on add, verify, rotate or call.",
    ),
    ("5", "Network: DNS, connect, TLS or timeout."),
    (
        "6",
        "Rate limited, and the wait would pass \\-\\-max\\-wait or the retries ran out.",
    ),
    (
        "7",
        "The secret store (the OS keychain, the file store or Vault) is unavailable or locked.",
    ),
];

const ENVIRONMENT: &[(&str, &str)] = &[
    (
        "CRED_CONFIG_DIR",
        "The directory holding config.toml (same as \\-\\-config\\-dir).",
    ),
    (
        "CRED_SECRET_<NAME>",
        "The secret of credential NAME (upper\\-cased, \\- and . written as _: CRED_SECRET_ACME_DOCS for acme\\-docs). call, verify, exec and secret use it instead of the credential's store and open no store at all: for CI jobs and scripts. A key the API rejects is fixed by updating the variable (the CI secret), not with cred rotate.",
    ),
    (
        "CRED_API_KEY",
        "The API key for add and rotate, instead of the hidden prompt. Never pass a key as a flag value.",
    ),
    (
        "CRED_PROVIDER_URL_<ID>",
        "The API base of provider ID (upper\\-cased, \\- written as _: CRED_PROVIDER_URL_PALIGO), a template with the provider's {field} placeholders, for mirrors, proxies and tests: the key is sent there. https://, or http:// only to a loopback address. A secret stored while it was set is refused (naming the variable) when it is not.",
    ),
    (
        "CRED_PALIGO_URL",
        "The older name of CRED_PROVIDER_URL_PALIGO (read after it): the Paligo API base as a template with {instance}; default https://{instance}.paligoapp.com/api/v2.",
    ),
    (
        "CRED_PAYMO_URL",
        "The older name of CRED_PROVIDER_URL_PAYMO (read after it): the Paymo API base; default https://app.paymoapp.com/api.",
    ),
    (
        "CRED_CHECK_TIMEOUT",
        "Seconds a live check (add, verify, rotate) waits for an answer; default 20.",
    ),
    (
        "CRED_STORE",
        "The store add keeps a new secret in: keychain, file or vault (same as \\-\\-store); default: default_store in config.toml, else keychain.",
    ),
    (
        "CRED_STORE_TIMEOUT",
        "Seconds a secret store may take to answer without a terminal; default 10 (on a terminal cred waits up to 2 minutes, an unlock prompt may be open).",
    ),
    (
        "CRED_FILE_STORE",
        "The file store's path; default $XDG_DATA_HOME/cred/secrets.age, else ~/.local/share/cred/secrets.age.",
    ),
    (
        "CRED_IDENTITY_FILE",
        "A file holding the age identity that opens the file store (instead of identity.age and its passphrase).",
    ),
    (
        "CRED_IDENTITY",
        "The age identity that opens the file store, as text (AGE\\-SECRET\\-KEY\\-1...): for CI.",
    ),
    (
        "CRED_UNLOCK_TTL",
        "How long cred unlock keeps the file store's key in the kernel keyring; default 15m.",
    ),
    (
        "VAULT_ADDR, VAULT_TOKEN, VAULT_CACERT, VAULT_CAPATH, VAULT_NAMESPACE",
        "The Vault (or OpenBao) server, token, CA certificate or directory and namespace of the vault store, as Vault's own CLI reads them. BAO_ADDR, BAO_TOKEN, BAO_CACERT, BAO_CAPATH and BAO_NAMESPACE are read first.",
    ),
    (
        "VAULT_SKIP_VERIFY, BAO_SKIP_VERIFY",
        "Refused with a message when set to a true value: cred always verifies Vault's certificate (give its CA with VAULT_CACERT).",
    ),
    (
        "HTTPS_PROXY, ALL_PROXY, NO_PROXY",
        "A proxy for https requests (it sees a CONNECT tunnel, never the key); plain http requests never go through a proxy.",
    ),
    (
        "XDG_CONFIG_HOME, XDG_DATA_HOME, XDG_STATE_HOME",
        "Where config.toml (XDG_CONFIG_HOME/cred), the file store (XDG_DATA_HOME/cred) and state.toml with the last check of each credential (XDG_STATE_HOME/cred) live; defaults ~/.config, ~/.local/share, ~/.local/state. On Windows APPDATA and LOCALAPPDATA.",
    ),
    (
        "DBUS_SESSION_BUS_ADDRESS",
        "The session bus where the OS keychain (the Secret Service) is found on Linux and the BSDs, as every D\\-Bus client reads it.",
    ),
    ("NO_COLOR", "When set and not empty, no colour is used."),
    (
        "COMPLETE",
        "Set by the completion scripts when they ask cred for candidates.",
    ),
];

/// The date on the man pages: fixed, so regenerating is reproducible;
/// update it with the release.
const MAN_DATE: &str = "2026-11-22";

/// `(file name, contents)` of `cred.1` and one page per subcommand.
pub fn man_files() -> Vec<(String, Vec<u8>)> {
    let mut cmd = cred::command().disable_help_subcommand(true);
    cmd.build();
    let mut files = vec![("cred.1".to_string(), page(&cmd, true))];
    for sub in cmd.get_subcommands() {
        let name = format!("cred-{}", sub.get_name());
        let sub = sub.clone().display_name(name.clone());
        files.push((format!("{name}.1"), page(&sub, false)));
    }
    files
}

fn page(cmd: &clap::Command, root: bool) -> Vec<u8> {
    let man = clap_mangen::Man::new(cmd.clone())
        .manual("cred manual")
        .date(MAN_DATE)
        .source(format!("cred {}", env!("CARGO_PKG_VERSION")));
    let mut out = Vec::new();
    type Render = fn(&clap_mangen::Man, &mut dyn std::io::Write) -> std::io::Result<()>;
    let sections: [Render; 4] = [
        clap_mangen::Man::render_title,
        clap_mangen::Man::render_name_section,
        clap_mangen::Man::render_synopsis_section,
        clap_mangen::Man::render_description_section,
    ];
    for render in sections {
        render(&man, &mut out).expect("rendering to a Vec");
    }
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut out)
            .expect("rendering to a Vec");
    }
    if root {
        man.render_subcommands_section(&mut out)
            .expect("rendering to a Vec");
    }
    let mut roff = String::new();
    if let Some(after) = cmd.get_after_help().filter(|_| !root) {
        let text = after.to_string();
        let (heading, body) = text
            .split_once(":\n")
            .filter(|(h, _)| !h.contains('\n'))
            .unwrap_or(("NOTES", text.as_str()));
        roff.push_str(&format!(".SH {}\n.nf\n", heading.to_uppercase()));
        for line in body.lines() {
            roff.push_str(&escape_line(line));
            roff.push('\n');
        }
        roff.push_str(".fi\n");
    }
    roff.push_str(".SH \"EXIT STATUS\"\n");
    for (code, text) in EXIT_STATUS {
        roff.push_str(&format!(".TP\n{code}\n{text}\n"));
    }
    if root {
        roff.push_str(".SH ENVIRONMENT\n");
        for (var, text) in ENVIRONMENT {
            roff.push_str(&format!(".TP\n.B {var}\n{text}\n"));
        }
        roff.push_str(
            ".SH FILES\n.TP\n.I $CRED_CONFIG_DIR/config.toml\n\
             Non-secret fields of every credential (default directory: $XDG_CONFIG_HOME/cred, \
             else ~/.config/cred). Directory mode 0700, file mode 0600, written atomically under \
             the lock file .config.lock.\n\
             .TP\n.B OS keychain\nThe secrets, by default: service \\(lqcred\\(rq, account NAME@CONFIG_DIR \
             (macOS Keychain, Windows Credential Manager, the Secret Service on Linux, \
             where the account is the \\(lqusername\\(rq attribute).\n\
             .TP\n.I $XDG_DATA_HOME/cred/secrets.age\nThe file store (\\-\\-store file): \
             one age\\-encrypted file, opened by identity.age beside it (a passphrase) or \
             CRED_IDENTITY_FILE / CRED_IDENTITY.\n\
             .TP\n.B Vault\nThe vault store (\\-\\-store vault): KV version 2 at VAULT_ADDR, \
             path cred/NAME under the mount (default secret).\n\
             .TP\n.I $XDG_STATE_HOME/cred/state.toml\nThe last check of each credential \
             (cred verify never rewrites config.toml).\n",
        );
    }
    roff.push_str(".SH \"SEE ALSO\"\n");
    if root {
        let subs: Vec<String> = cmd
            .get_subcommands()
            .map(|s| format!(".BR cred\\-{} (1)", s.get_name()))
            .collect();
        roff.push_str(&subs.join(",\n"));
        roff.push('\n');
    } else {
        roff.push_str(".BR cred (1)\n");
    }
    out.extend_from_slice(roff.as_bytes());
    // clap_mangen puts an empty line (a paragraph break) between two `.br`
    // before a list of possible values; mandoc warns about it.
    String::from_utf8(out)
        .expect("roff is UTF-8")
        .replace("\n.br\n\n.br\n", "\n.br\n")
        .into_bytes()
}

/// A line of text inside `.nf`: backslashes escaped, no line read as a request.
fn escape_line(line: &str) -> String {
    let escaped = line.replace('\\', "\\e");
    if escaped.starts_with('.') || escaped.starts_with('\'') {
        format!("\\&{escaped}")
    } else if escaped.trim().is_empty() {
        String::new()
    } else {
        escaped
    }
}
