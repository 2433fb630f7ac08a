//! `cred call --paginate`: follows Paligo's `next_page` or RFC 8288
//! `Link: rel="next"` through the pipeline, only to pages under the
//! credential's base URL, and prints the items of every page as one JSON
//! array, streamed page by page (each item's text as it came: numbers keep
//! their digits). The caller's query parameters are carried to a next page
//! that omits them. A page that is not a list is an error naming its shape.

use std::collections::HashSet;
use std::io::Read;

use super::Caller;
use super::jq::MAX_INPUT;
use super::output::Sink;
use crate::error::{Error, Exit, Result};
use crate::http::pages::{keep_query, link_next, parse_page};
use crate::http::{self, Request};
use crate::providers::Pagination;

/// The most bytes one page may have (it is parsed whole).
const MAX_PAGE: u64 = 32 * 1024 * 1024;

impl Caller<'_> {
    /// Follows the pages and prints all items as one JSON array.
    pub(super) fn paginate(&self, first: Request, kind: Pagination) -> Result<Exit> {
        let mut plan = first;
        let asked: Vec<(String, String)> = plan
            .url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let mut visited = HashSet::new();
        let mut pages = 0;
        // With --jq the array is gathered (bounded) and filtered at the end.
        let mut gathered: Option<Vec<u8>> = self.jq.as_ref().map(|_| Vec::new());
        let mut sink = match self.jq {
            Some(_) => None,
            None => Some(self.sink(true)?),
        };
        let mut first_item = true;
        loop {
            visited.insert(plan.url.clone());
            let sent = self.send(&plan)?;
            if let Some(offsite) = sent.offsite {
                return Err(self.refused_redirect(offsite));
            }
            if !sent.response.status().is_success() {
                if let Some(mut sink) = sink.take().filter(|_| pages > 0) {
                    // Close the list printed so far: it stays valid JSON.
                    sink.write(b"]\n")?;
                    sink.finish()?;
                }
                if pages > 0 {
                    self.ui.warn(&format!(
                        "page {} failed, so the list printed before it is incomplete",
                        pages + 1
                    ));
                }
                return self.output(sent);
            }
            let response = sent.response;
            let link_next = link_next(response.headers());
            let page_url = response.url().clone();
            let mut body = Vec::new();
            let read = response
                .take(MAX_PAGE + 1)
                .read_to_end(&mut body)
                .map_err(|e| self.body_error(e))?;
            if read as u64 > MAX_PAGE {
                return Err(Error::user(format!(
                    "page {} is larger than {} MiB; cred does not join pages that large",
                    pages + 1,
                    MAX_PAGE / (1024 * 1024)
                ))
                .hint("ask for smaller pages (per_page), or drop --paginate"));
            }
            pages += 1;
            let page = parse_page(&body).map_err(|why| {
                // The reason quotes the page's keys (a server's words): `Ui`
                // masks it with every error.
                Error::user(format!("page {pages} cannot be joined: {why}"))
                    .hint("--paginate joins lists; drop it to see the raw answer")
            })?;
            if pages == 1 {
                // Only now: a first page that is not a list prints nothing.
                put(&mut gathered, &mut sink, b"[")?;
            }
            for item in &page.items {
                if !first_item {
                    put(&mut gathered, &mut sink, b",")?;
                }
                first_item = false;
                put(&mut gathered, &mut sink, item.get().as_bytes())?;
            }
            let next = match kind {
                Pagination::NextPageField => page.next,
                Pagination::LinkHeader => link_next,
                Pagination::None => None,
            };
            let Some(next) = next else { break };
            let mut next_url = match page_url.join(&next) {
                Ok(u) => u,
                Err(_) => {
                    self.ui.warn(&format!(
                        "page {pages} links to a next page that is not a URL; stopping there"
                    ));
                    break;
                }
            };
            keep_query(&mut next_url, &asked);
            if !http::is_under(&self.base, &next_url) {
                self.ui.warn(&format!(
                    "not following the next page at {}: it is not under the credential's base URL",
                    http::display_url(&next_url)
                ));
                break;
            }
            if visited.contains(&next_url) {
                self.ui.warn(&format!(
                    "page {pages} links back to a page already fetched; stopping there"
                ));
                break;
            }
            plan.url = next_url;
            if pages >= self.args.max_pages {
                return Err(Error::user(format!(
                    "the answer goes on past {pages} pages (--max-pages {pages})"
                ))
                .cause("what was printed so far is incomplete")
                .hint("raise --max-pages, ask for larger pages (per_page), or narrow the query"));
            }
        }
        put(&mut gathered, &mut sink, b"]\n")?;
        let hits = match (gathered, &self.jq) {
            (Some(array), Some(jq)) => self.jq_out(jq, &array)?,
            _ => match sink {
                Some(sink) => sink.finish()?,
                None => 0,
            },
        };
        self.report_scrubbed(hits);
        Ok(Exit::Success)
    }
}

/// Writes to the sink, or gathers for `--jq` (bounded by [`MAX_INPUT`]).
fn put(gathered: &mut Option<Vec<u8>>, sink: &mut Option<Sink<'_>>, bytes: &[u8]) -> Result<()> {
    if let Some(buf) = gathered.as_mut() {
        if buf.len() + bytes.len() > MAX_INPUT {
            return Err(Error::user(format!(
                "the pages hold more than {} KiB of JSON, more than --jq holds in memory",
                MAX_INPUT / 1024
            ))
            .hint("narrow the request with -q, or drop --jq and pipe the array to jq"));
        }
        buf.extend_from_slice(bytes);
        return Ok(());
    }
    match sink {
        Some(sink) => sink.write(bytes),
        None => Ok(()),
    }
}
