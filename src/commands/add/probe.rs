//! Before the key is asked: one request to the check path without any key,
//! to learn whether the address the answers point at exists. A provider
//! that calls the answer "not found" ([`Verdict::NotFound`], an unknown
//! Paligo instance) or names a host that does not resolve
//! ([`Provider::dns_failure`]) stops the wizard before the key prompt; an
//! API that answers 401 to a request without a key (most do) lets it go
//! on. A TLS or DNS failure is remembered, so that the menu after a failed
//! check offers to change the address first.

use std::time::Duration;

use reqwest::blocking::Client;

use crate::error::{Error, Exit};
use crate::http::{self, SendError};
use crate::providers::{ProviderConfig, Verdict};
use crate::ui::Ui;

/// The probe waits at most this long (or the check's limit, if shorter):
/// a slow API is the check's business.
const MAX_WAIT: Duration = Duration::from_secs(10);

/// What the request without a key says about the address.
pub enum Probe {
    /// It answered (or failed in a way the check reports better).
    Fine,
    /// The host did not resolve, or did not speak TLS as asked: the
    /// address is the likely fault, but the provider cannot say more.
    WrongAddress,
    /// The provider says no such instance or API exists there.
    Missing(Error),
}

/// Sends the check request without the key and reads the answer.
pub fn probe(ui: &Ui, client: &Client, config: &ProviderConfig, limit: Duration) -> Probe {
    let provider = config.provider();
    // A base URL or check path that cannot be used is the check's to report.
    let Ok(base) = provider.base_url() else {
        return Probe::Fine;
    };
    let Ok(url) = http::resolve(&base, &provider.check_path()) else {
        return Probe::Fine;
    };
    let host = url.host_str().unwrap_or("the server").to_string();
    let wait = limit.min(MAX_WAIT);
    let mut request = client.get(url).timeout(wait);
    for (name, value) in provider.check_headers() {
        request = request.header(name, value);
    }
    let spinner = ui
        .stderr_is_terminal()
        .then(|| ui.spinner(&format!("Looking up {}…", provider.display_name())));
    let answer = request.send();
    drop(spinner);
    let response = match answer {
        Ok(r) => r,
        Err(e) => {
            return match SendError::from_reqwest(e, &host, wait) {
                SendError::Dns { host, .. } => match provider.dns_failure(&host) {
                    Some(message) => Probe::Missing(
                        Error::new(Exit::Network, message)
                            .hint("check the instance or base URL, and your network connection"),
                    ),
                    None => Probe::WrongAddress,
                },
                SendError::Tls { .. } | SendError::NotTls { .. } => Probe::WrongAddress,
                _ => Probe::Fine,
            };
        }
    };
    let status = response.status().as_u16();
    let body = read_prefix(response);
    match provider.judge(status, &body) {
        Verdict::NotFound(message) => Probe::Missing(
            Error::user(crate::escape::visible(&message).into_owned())
                .hint("check the instance or base URL"),
        ),
        _ => Probe::Fine,
    }
}

/// The first 64 KiB of a body: enough for a provider to judge.
fn read_prefix(response: reqwest::blocking::Response) -> Vec<u8> {
    use std::io::Read;
    let mut body = Vec::new();
    let _ = response.take(64 * 1024).read_to_end(&mut body);
    body
}
