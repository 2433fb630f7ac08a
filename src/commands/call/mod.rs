//! `cred call NAME [METHOD] PATH`: an authenticated request for scripts.
//!
//! The key is fetched once from the credential's store (or its
//! `CRED_SECRET_<NAME>` variable) and handed to the request pipeline
//! (`http::Pipeline`), which attaches it only to URLs under the
//! credential's base URL, never carries it across a redirect to another
//! origin, and waits out 429/503 with `Retry-After` for idempotent methods.
//! The key is installed in `Ui` as soon as it is read, so every message,
//! warning, error and `-v` line is masked by construction, and the body is
//! streamed through a `ScrubWriter` with the same set. The parts:
//! [`plan`] builds the request, [`output`] prints the answer, [`paginate`]
//! joins pages, [`jq`] filters the JSON, [`dry_run`] prints a curl command
//! instead.

mod dry_run;
mod jq;
mod output;
mod paginate;
mod plan;

use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use reqwest::blocking::{Client, Response};
use url::Url;

use super::Ctx;
use crate::error::{Error, Exit, Result};
use crate::http::pipeline::Redirects;
use crate::http::{self, Pipeline, Request, RetryPolicy, SendError, Sent};
use crate::providers::{Auth, Pagination};
use crate::scrub::Secrets;
use crate::ui::{Spinner, Ui};

/// Make an authenticated request with a stored credential
#[derive(Debug, clap::Args)]
#[command(
    override_usage = "cred call [OPTIONS] <NAME> [METHOD] <PATH>",
    after_help = "\
Examples:
  cred call paligo /documents
  cred call paligo GET 'folders?per_page=5' --paginate
  cred call paymo /projects -q 'where=active=true'
  cred call paymo POST /tasks -f name='Write docs' -f project_id:=42
  cred call paligo folders --paginate --jq '.[].name'
  cred call api POST /upload --form title=Report --form file=@report.pdf
  cred call api /exports/7/download --follow-offsite -o export.tar.gz
  cred call api DELETE /items/7 -v
  cred call paligo /documents --dry-run"
)]
pub struct CallArgs {
    /// The credential's name
    #[arg(add = crate::complete::names())]
    pub name: String,

    /// HTTP method (default GET, or POST with a body); the PATH if no method is given
    #[arg(value_name = "METHOD|PATH", add = crate::complete::methods())]
    pub method_or_path: String,

    /// Path relative to the credential's base URL, or a URL under it
    #[arg(value_name = "PATH")]
    pub path: Option<String>,

    /// Add a query parameter (repeatable)
    #[arg(short, long = "query", value_name = "K=V")]
    pub query: Vec<String>,

    /// Add a request header (repeatable)
    #[arg(short = 'H', long = "header", value_name = "'K: V'")]
    pub header: Vec<String>,

    /// Request body: text, @FILE, or @- for standard input
    #[arg(short, long, value_name = "BODY", conflicts_with_all = ["field", "form"])]
    pub data: Option<String>,

    /// Add a field to a JSON object body (K=string, K:=json; repeatable);
    /// query parameters on GET, HEAD and DELETE
    #[arg(short, long, value_name = "K=V", conflicts_with = "form")]
    pub field: Vec<String>,

    /// Send a form: K=V (urlencoded), K=@FILE (multipart, the file streamed)
    #[arg(long, value_name = "K=V|K=@FILE")]
    pub form: Vec<String>,

    /// Filter the JSON answer with a jq expression; strings are printed raw
    #[arg(long, value_name = "EXPR")]
    pub jq: Option<String>,

    /// Print the status line and response headers before the body
    #[arg(short, long)]
    pub include: bool,

    /// Write the body to FILE instead of standard output
    #[arg(short, long, value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
    pub output: Option<PathBuf>,

    /// Print request and response headers to stderr (the secret redacted)
    #[arg(short, long)]
    pub verbose: bool,

    /// Follow the provider's pagination and print every page's items as one JSON array
    #[arg(long, conflicts_with = "include")]
    pub paginate: bool,

    /// Follow a redirect to another origin, without the key (presigned or CDN downloads)
    #[arg(long)]
    pub follow_offsite: bool,

    /// How often to retry after 429, or a transient failure (reset, 502, 503, 504)
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub retries: u32,

    /// The longest total wait for rate limits, in seconds
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub max_wait: u64,

    /// Also retry POST and PATCH
    #[arg(long)]
    pub retry_unsafe: bool,

    /// Give up when the server is silent this long, in seconds (at most a day)
    #[arg(long, value_name = "SECONDS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(0..=86_400))]
    pub timeout: u64,

    /// Give up when the whole call takes longer, in seconds, like curl's --max-time
    #[arg(long, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub max_time: Option<u64>,

    /// With --paginate, the most pages followed; more is an error
    #[arg(long, value_name = "N", default_value_t = 1000,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub max_pages: u64,

    /// Print the request as a curl command instead of sending it
    #[arg(long)]
    pub dry_run: bool,
}

pub fn run(ctx: &Ctx, args: CallArgs) -> Result<Exit> {
    let credential = ctx.config.get(&args.name)?;
    let provider = credential.provider.provider();
    let plan = plan::plan(&args, provider)?;
    let jq = args.jq.as_deref().map(jq::Jq::compile).transpose()?;
    if args.paginate && provider.pagination() == Pagination::None {
        return Err(Error::user(format!(
            "{} does not paginate its lists; every answer is complete",
            provider.display_name()
        ))
        .hint("drop --paginate"));
    }
    if args.paginate && plan.method != Method::GET {
        return Err(Error::user("--paginate works with GET requests only"));
    }
    if args.dry_run {
        let secret_command = dry_run::secret_command(ctx, &args.name);
        let dry = dry_run::dry_run(&secret_command, &credential.provider, &plan, &args)?;
        ctx.ui.out(&dry.command)?;
        if let Some(note) = dry.note {
            ctx.ui.warn(&note);
        }
        return Ok(Exit::Success);
    }

    // --max-time bounds everything from here: the store, the requests,
    // retries and waits, the body.
    if let Some(secs) = args.max_time {
        crate::signals::exit_after(
            Duration::from_secs(secs),
            Error::new(
                Exit::Network,
                format!("the call took longer than --max-time {secs} s"),
            )
            .hint("allow more time with --max-time SECONDS, or ask for less"),
        );
    }
    // The store round trip and the client set-up (CA roots) are
    // independent: do them at once.
    let base = provider.base_url()?;
    let timeout = Duration::from_secs(args.timeout.max(1));
    let (secret, client) = std::thread::scope(|s| {
        let client = s.spawn(|| http::client_for(timeout, &base));
        let secret = ctx.secrets().get(&args.name, &credential);
        (
            secret,
            client.join().expect("the client set-up does not panic"),
        )
    });
    let (secret, client) = (secret?, client?);
    let auth = provider.auth(&secret);
    ctx.ui.hide(&secret, Some(&auth));
    if let Some(note) = plan::json_lookalike(&plan) {
        ctx.ui.warn(&note);
    }
    let caller = Caller {
        ui: ctx.ui,
        method: plan.method.clone(),
        args: &args,
        client,
        secrets: ctx.ui.secrets(),
        auth,
        base,
        forbidden_reason: provider.forbidden_reason(),
        rate_limit_wait: provider.rate_limit_wait(),
        jq,
    };
    if args.paginate {
        return caller.paginate(plan, provider.pagination());
    }
    let sent = caller.send(&plan)?;
    caller.output(sent)
}

/// One call's state: what it sends with and what it hides.
struct Caller<'a> {
    ui: &'a Ui,
    /// The request's method (a HEAD answer has no body).
    method: Method,
    args: &'a CallArgs,
    client: Client,
    auth: Auth,
    /// Every revealing form of the key (`Ui`'s set), for the body's stream.
    secrets: Arc<Secrets>,
    base: Url,
    forbidden_reason: &'static str,
    rate_limit_wait: Option<fn(&reqwest::header::HeaderMap) -> Option<Duration>>,
    /// `--jq`, compiled.
    jq: Option<jq::Jq>,
}

impl Caller<'_> {
    fn timeout(&self) -> Duration {
        Duration::from_secs(self.args.timeout)
    }

    fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            retries: self.args.retries,
            max_wait: Duration::from_secs(self.args.max_wait),
            default_wait: Duration::from_secs(1),
            unsafe_methods: self.args.retry_unsafe,
            backoff: Duration::from_millis(500),
            provider_wait: self.rate_limit_wait,
        }
    }

    /// Sends the request through the pipeline, with `-v` output and a
    /// spinner while a rate limit is waited out.
    fn send(&self, plan: &Request) -> Result<Sent> {
        let observer = CallObserver {
            ui: self.ui,
            verbose: self.args.verbose,
            spinner: RefCell::new(None),
        };
        Pipeline::new(&self.client, &self.auth, &self.base, self.timeout())
            .retry(self.retry_policy())
            .observer(&observer)
            .redirects(if self.args.follow_offsite {
                Redirects::FollowOffsite
            } else {
                Redirects::SameOrigin
            })
            .send(plan)
            .map_err(Error::from)
    }

    /// A failure while reading the body (exit 5).
    fn body_error(&self, e: std::io::Error) -> Error {
        SendError::from_body(e, self.timeout()).into()
    }
}

/// What `cred call` shows of the pipeline's work: `-v` heads, and a
/// spinner during rate-limit waits.
struct CallObserver<'a> {
    ui: &'a Ui,
    verbose: bool,
    spinner: RefCell<Option<Spinner>>,
}

impl http::Observer for CallObserver<'_> {
    fn request(&self, request: &reqwest::blocking::Request) {
        if self.verbose {
            self.ui.status(&output::request_head(request));
        }
    }

    fn response(&self, response: &Response) {
        if self.verbose {
            self.ui
                .status(&format!("{}<", output::head_text(response, "< ")));
        }
    }

    fn waiting(&self, why: http::Retryable, wait: Duration, attempt: u32, retries: u32) {
        let message = format!(
            "{why}: waiting {} s before retry {attempt} of {retries}…",
            wait.as_secs_f64().ceil(),
        );
        *self.spinner.borrow_mut() = Some(self.ui.spinner(&message));
    }

    fn waited(&self) {
        if let Some(s) = self.spinner.borrow_mut().take() {
            s.finish();
        }
    }

    fn offsite(&self, status: u16, target: &Url) {
        self.ui.status(&format!(
            "HTTP {status}: following the redirect to {} without the key (--follow-offsite)",
            http::display_url(target)
        ));
    }
}
