//! Requests have one way out: this module.
//!
//! - [`client`]: the one reqwest client (TLS always verified, user agent
//!   `cred/VERSION`, bounded timeouts, reqwest's own redirect handling off);
//! - [`url`]: the origin rules (a key goes only under the base URL it was
//!   stored for);
//! - [`pipeline`]: [`Pipeline::send`], which puts the auth on every hop,
//!   follows same-origin redirects in its own loop, waits out rate limits by
//!   a [`RetryPolicy`], and reports a typed [`SendError`]. `cred call` and
//!   the live checks both send through it.
//!
//! The pipeline is blocking (`reqwest::blocking`, whose runtime runs on a
//! thread of its own), for every caller. `cred proxy` serves with hyper on
//! tokio and hands each request to tokio's blocking pool
//! (`spawn_blocking`), which calls the same pipeline; nothing may call it
//! from inside an async task.

pub mod allow;
pub mod body;
pub mod error;
pub mod pages;
pub mod pipeline;
pub mod retry;
pub mod url;

use std::time::Duration;

use reqwest::blocking::Client;

pub use body::{Body, Part};
pub use error::SendError;
pub use pipeline::{Observer, Offsite, Pipeline, Request, Sent};
pub use retry::{Limited, RetryPolicy, Retryable};
pub use url::{display_url, is_loopback, is_under, resolve};

use crate::error::{Error, Result};

pub const USER_AGENT: &str = concat!("cred/", env!("CARGO_PKG_VERSION"));

/// Builds the client. `timeout` bounds connecting and each wait for data
/// (headers or the next chunk of a body), so a long download that keeps
/// flowing is not cut off, but a server that stops answering is.
pub fn client(timeout: Duration) -> Result<Client> {
    builder(timeout)
        .build()
        .map_err(|e| Error::user("could not set up the HTTP client").with_source(e))
}

/// The client for requests that stay on `base`'s origin: for a plain
/// http:// base (loopback, or --allow-http) the system's CA roots are not
/// loaded, since redirects never leave the origin with the key.
pub fn client_for(timeout: Duration, base: &::url::Url) -> Result<Client> {
    builder(timeout)
        .tls_built_in_root_certs(base.scheme() == "https")
        .build()
        .map_err(|e| Error::user("could not set up the HTTP client").with_source(e))
}

/// Proxies from the environment are used for https:// requests only (the
/// proxy sees a CONNECT tunnel, never the key): a plain-http request, which
/// carries the key in clear text, never goes through a proxy.
fn https_proxy() -> Option<reqwest::Proxy> {
    let url = ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.trim().is_empty()))?;
    let proxy = reqwest::Proxy::https(url.trim()).ok()?;
    Some(proxy.no_proxy(reqwest::NoProxy::from_env()))
}

pub fn builder(timeout: Duration) -> reqwest::blocking::ClientBuilder {
    let builder = Client::builder().no_proxy();
    let builder = match https_proxy() {
        Some(proxy) => builder.proxy(proxy),
        None => builder,
    };
    builder
        .user_agent(USER_AGENT)
        .connect_timeout(timeout.min(Duration::from_secs(15)))
        // Blocking client: the answer's head within `timeout`, then each
        // read of the body within `timeout`.
        .timeout(timeout)
        .https_only(false)
        // Redirects are followed by the pipeline, which re-applies the
        // auth on each same-origin hop and stops at another origin.
        .redirect(reqwest::redirect::Policy::none())
        .referer(false)
}
