//! `cred proxy NAME [--listen 127.0.0.1:PORT | --socket PATH] [--allow
//! 'METHOD PATTERN']… [--ttl DURATION] [--log FILE]`: serves a credential's
//! API on loopback, so that any tool can use it without holding the key.
//!
//! A request to the proxy is forwarded to the credential's base URL
//! through the one request pipeline (`http::Pipeline`, the provider's
//! auth added on the way out, nothing followed to another origin),
//! and the answer comes back scrubbed of every form of the key and the
//! access token (`scrub::ScrubWriter`, with the set installed in `Ui`;
//! the proxy's own answers and its log are masked the same way), links to the API in JSON answers pointed at the
//! proxy ([`rewrite`]), bodies streamed both ways with bounded memory.
//!
//! Execution model (`docs/ARCHITECTURE.md`, "One execution model"): the
//! pipeline stays blocking. hyper's HTTP/1 server runs on a small tokio
//! runtime (two workers), each connection a task ([`serve`]); each admitted
//! request is handed to tokio's blocking pool (`spawn_blocking`, at most
//! [`MAX_FORWARDS`] at once, more wait their turn), which calls the
//! pipeline ([`forward`]) and never runs inside an async task. Bodies cross
//! between the two halves in bounded pieces: the request body is read by
//! the blocking side one hyper frame at a time, the answer is sent back
//! through a channel of [`forward::CHANNEL_CHUNKS`] chunks of 64 KiB.
//!
//! Access ([`access`]): `--listen` takes loopback addresses only; on TCP
//! every request must carry the random token printed at start, and the
//! header carrying it is never forwarded (connections that have not shown
//! it hold at most [`serve::MAX_UNPROVEN`] slots); `--socket` makes a 0600 Unix
//! socket, where the file mode keeps other users out and no token is
//! asked. `--allow` rules are checked on the path as it will be sent.
//!
//! Stopping: `--ttl`, Ctrl-C, SIGTERM or SIGHUP stop accepting, and a new
//! request on a connection kept alive gets 503; requests in flight get
//! [`GRACE`] to finish, then are cut, each with a log line.
//! A second signal ends the process at once.

mod access;
mod forward;
mod rewrite;
mod serve;

#[cfg(unix)]
use std::path::Path;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use secrecy::SecretString;
use tokio::sync::Notify;

use super::Ctx;
use crate::error::{Error, Exit, Result};
use crate::http;
use access::{Allow, Rule};
use forward::Upstream;
use serve::{InFlight, Log, State};

/// Requests forwarded at once (threads of the blocking pool).
pub const MAX_FORWARDS: usize = 64;

/// How long the API may take: to take the uploaded body and send the
/// answer's head, then for each read of the answer.
const TIMEOUT: Duration = Duration::from_secs(300);

/// How long requests in flight may go on once the proxy is stopping.
const GRACE: Duration = Duration::from_secs(5);

/// Serve a credential's API on loopback: any tool uses it without holding the key
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Prints CRED_PROXY_URL=http://127.0.0.1:PORT and CRED_PROXY_TOKEN=TOKEN
first (with --socket: CRED_PROXY_URL=http+unix://PATH-ENCODED and
CRED_PROXY_SOCKET=PATH, and no token). Every request over TCP must carry
`Authorization: Bearer TOKEN` (or Proxy-Authorization); that header is
never forwarded. Links to the API in JSON answers are pointed at the
proxy (--no-rewrite keeps them). Each request, and each refusal, logs one
line: time, method, path, status, bytes, milliseconds.

Examples:
  cred proxy paligo
  cred proxy paligo --allow 'GET /documents*' --allow 'GET /folders*' --ttl 15m
  cred proxy api --listen 127.0.0.1:8700 --log proxy.log
  cred proxy paymo --socket /run/user/1000/paymo.sock")]
pub struct ProxyArgs {
    /// The credential's name
    #[arg(add = crate::complete::names())]
    pub name: String,

    /// Listen on this loopback address: 127.0.0.1:PORT, [::1]:PORT, or an address alone for a free port [default: 127.0.0.1]
    #[arg(long, value_name = "ADDR", value_parser = access::parse_listen, conflicts_with = "socket")]
    pub listen: Option<std::net::SocketAddr>,

    /// Listen on a Unix socket at PATH (mode 0600, no token) instead
    #[arg(long, value_name = "PATH", value_hint = clap::ValueHint::FilePath)]
    pub socket: Option<PathBuf>,

    /// Let only matching requests through, e.g. 'GET /documents*' (METHOD may be *; repeatable)
    #[arg(long, value_name = "'METHOD PATTERN'", value_parser = access::parse_rule)]
    pub allow: Vec<Rule>,

    /// Stop after this long, e.g. 90s, 15m, 2h
    #[arg(long, value_name = "DURATION", value_parser = access::parse_ttl)]
    pub ttl: Option<Duration>,

    /// Leave links to the API in JSON answers as they are, instead of pointing them at the proxy
    #[arg(long)]
    pub no_rewrite: bool,

    /// Append the request log to FILE instead of standard error
    #[arg(long, value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
    pub log: Option<PathBuf>,
}

pub fn run(ctx: &Ctx, args: ProxyArgs) -> Result<Exit> {
    #[cfg(not(unix))]
    if args.socket.is_some() {
        return Err(Error::new(
            Exit::Usage,
            "--socket needs Unix domain sockets, which cred does not offer on this system",
        )
        .hint("use --listen 127.0.0.1:PORT (every request then needs the printed token)"));
    }
    let credential = ctx.config.get(&args.name)?;
    let provider = credential.provider.provider();
    let base = provider.base_url()?;
    let log_to = crate::ui::log::open(args.log.as_deref())?;
    let secret = ctx.secrets().get(&args.name, &credential)?;
    let auth = provider.auth(&secret);
    ctx.ui.hide(&secret, Some(&auth));
    let token = match args.socket {
        Some(_) => None,
        None => Some(access::new_token()?),
    };
    let client = http::client_for(TIMEOUT, &base)?;
    let runtime = start_runtime()?;
    let listener = {
        let _inside = runtime.enter();
        Listener::bind(&args)?
    };
    // The stop hook is in place before anyone can know the proxy is up: a
    // SIGTERM right after the first lines still stops it cleanly (and
    // removes a --socket file).
    let stop = Stop::on_signals();
    let public = listener.public();
    for line in listener.announce(token.as_deref()) {
        ctx.ui.out(&line)?;
    }
    // Printed once above for the client; masked everywhere from now on.
    if let Some(t) = &token {
        ctx.ui.hide(&SecretString::from(t.clone()), None);
    }
    let links =
        (!args.no_rewrite && !public.is_empty()).then(|| rewrite::Links::new(&base, &public));
    let state = Arc::new(State {
        up: Upstream {
            client,
            auth,
            base: base.clone(),
            headers: provider.headers(),
            secrets: ctx.ui.secrets(),
            timeout: TIMEOUT,
            links,
            public,
        },
        token,
        allow: Allow(args.allow),
        log: Log(ctx.ui.log(log_to)),
        inflight: InFlight::default(),
        stopping: std::sync::atomic::AtomicBool::new(false),
        unproven: serve::Unproven::default(),
    });
    ctx.ui.status(&format!(
        "cred proxy: forwarding to {} with the key of `{}`{}; Ctrl-C stops it",
        http::display_url(&base),
        args.name,
        args.ttl
            .map(|t| format!(" for {}", humantime::format_duration(t)))
            .unwrap_or_default()
    ));
    let why = serve_until_stopped(&runtime, listener, &state, &stop, args.ttl);
    state
        .inflight
        .cut_all(&state.log, &format!("the proxy stopped ({why})"));
    if let Some(path) = &args.socket {
        let _ = std::fs::remove_file(path);
    }
    ctx.ui.status(&format!("cred proxy: stopped ({why})"));
    // Forwarding threads still blocked on a silent client or API are not
    // waited for.
    runtime.shutdown_background();
    Ok(Exit::Success)
}

/// The proxy's runtime: two workers for the connections, at most
/// [`MAX_FORWARDS`] blocking threads for the forwarding.
fn start_runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(MAX_FORWARDS)
        .thread_name("cred-proxy")
        .enable_all()
        .build()
        .map_err(|e| Error::user("could not start the proxy's runtime").with_source(e))
}

/// Why and when the proxy stops: a signal or `--ttl` sets the reason and
/// wakes the server (`Notify` keeps the wake-up until awaited).
#[derive(Clone, Default)]
struct Stop {
    wake: Arc<Notify>,
    why: Arc<Mutex<String>>,
}

impl Stop {
    /// A stop that the first SIGINT, SIGTERM or SIGHUP triggers.
    fn on_signals() -> Stop {
        let stop = Stop::default();
        let hook = stop.clone();
        crate::signals::on_stop(move |signal| hook.trigger(signal.to_string()));
        stop
    }

    fn trigger(&self, why: String) {
        *self.why.lock().unwrap_or_else(|e| e.into_inner()) = why;
        self.wake.notify_one();
    }

    fn why(&self) -> String {
        self.why.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// Serves until `stop` (or `ttl`) comes; then refuses new requests, lets
/// those in flight finish within [`GRACE`], and returns why it stopped.
fn serve_until_stopped(
    runtime: &tokio::runtime::Runtime,
    listener: Listener,
    state: &Arc<State>,
    stop: &Stop,
    ttl: Option<Duration>,
) -> String {
    runtime.block_on(async {
        let accepting = listener.serve(state.clone());
        if let Some(ttl) = ttl {
            let stop = stop.clone();
            tokio::spawn(async move {
                tokio::time::sleep(ttl).await;
                stop.trigger(format!("--ttl {} passed", humantime::format_duration(ttl)));
            });
        }
        stop.wake.notified().await;
        // From now on, a request on a connection still open is refused:
        // only those in flight may finish.
        state
            .stopping
            .store(true, std::sync::atomic::Ordering::SeqCst);
        accepting.abort();
        let deadline = tokio::time::Instant::now() + GRACE;
        while !state.inflight.is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    stop.why()
}

/// Where the proxy listens.
enum Listener {
    Tcp(tokio::net::TcpListener),
    #[cfg(unix)]
    Unix(tokio::net::UnixListener, PathBuf),
}

impl Listener {
    /// Binds `--listen` (default 127.0.0.1, a free port) or `--socket`.
    /// Call inside the runtime.
    fn bind(args: &ProxyArgs) -> Result<Listener> {
        #[cfg(unix)]
        if let Some(path) = &args.socket {
            let std = bind_unix(path)?;
            let listener = tokio::net::UnixListener::from_std(std)
                .map_err(|e| Error::io("listen on", path, e))?;
            let path = std::path::absolute(path).unwrap_or_else(|_| path.clone());
            return Ok(Listener::Unix(listener, path));
        }
        let addr = args
            .listen
            .unwrap_or_else(|| std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
        let refused = |e: std::io::Error| {
            Error::user(format!("could not listen on {addr}"))
                .with_source(e)
                .hint("pick another port with --listen 127.0.0.1:PORT, or leave it out for a free one")
        };
        let std = std::net::TcpListener::bind(addr).map_err(refused)?;
        std.set_nonblocking(true).map_err(refused)?;
        tokio::net::TcpListener::from_std(std)
            .map(Listener::Tcp)
            .map_err(refused)
    }

    /// The proxy's address as a client's URLs start (`Location` rewrites):
    /// `http://127.0.0.1:PORT`, or nothing on a socket (a path alone).
    fn public(&self) -> String {
        match self {
            Listener::Tcp(l) => l
                .local_addr()
                .map(|a| format!("http://{a}"))
                .unwrap_or_default(),
            #[cfg(unix)]
            Listener::Unix(..) => String::new(),
        }
    }

    /// The first lines on stdout, for scripts to read while it runs.
    fn announce(&self, token: Option<&str>) -> Vec<String> {
        let mut lines = match self {
            Listener::Tcp(_) => vec![format!("CRED_PROXY_URL={}", self.public())],
            #[cfg(unix)]
            Listener::Unix(_, path) => {
                let text = path.to_string_lossy();
                let encoded: String =
                    url::form_urlencoded::byte_serialize(text.as_bytes()).collect();
                vec![
                    format!("CRED_PROXY_URL=http+unix://{encoded}"),
                    format!("CRED_PROXY_SOCKET={text}"),
                ]
            }
        };
        if let Some(t) = token {
            lines.push(format!("CRED_PROXY_TOKEN={t}"));
        }
        lines
    }

    /// Starts accepting connections; the handle stops it.
    fn serve(self, state: Arc<State>) -> tokio::task::JoinHandle<()> {
        match self {
            Listener::Tcp(l) => tokio::spawn(async move {
                let l = Arc::new(l);
                serve::accept_loop(state, move || {
                    let l = l.clone();
                    async move {
                        let (stream, _) = l.accept().await?;
                        let _ = stream.set_nodelay(true);
                        Ok(stream)
                    }
                })
                .await;
            }),
            #[cfg(unix)]
            Listener::Unix(l, _) => tokio::spawn(async move {
                let l = Arc::new(l);
                serve::accept_loop(state, move || {
                    let l = l.clone();
                    async move { l.accept().await.map(|(s, _)| s) }
                })
                .await;
            }),
        }
    }
}

/// A Unix socket at `path` that only this user can connect to: made with
/// a umask that leaves it 0600 from the start (no moment when others could
/// connect), then set to 0600 again. A stale socket (nothing listening) is
/// replaced; any other file there is an error.
#[cfg(unix)]
fn bind_unix(path: &Path) -> Result<std::os::unix::net::UnixListener> {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        let stale =
            meta.file_type().is_socket() && std::os::unix::net::UnixStream::connect(path).is_err();
        if !stale {
            return Err(Error::user(format!("{} exists already", path.display()))
                .hint("pick another path for --socket, or remove that file if nothing uses it"));
        }
        std::fs::remove_file(path).map_err(|e| Error::io("replace the stale socket", path, e))?;
    }
    let old = rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o177));
    let bound = std::os::unix::net::UnixListener::bind(path);
    rustix::process::umask(old);
    let listener = bound.map_err(|e| Error::io("listen on", path, e))?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| Error::io("make private", path, e))?;
    listener
        .set_nonblocking(true)
        .map_err(|e| Error::io("listen on", path, e))?;
    Ok(listener)
}
