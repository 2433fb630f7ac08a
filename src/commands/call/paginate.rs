//! `cred call --paginate`: follows Paligo's `next_page` or RFC 8288
//! `Link: rel="next"` through the pipeline, only to pages under the
//! credential's base URL, and prints the items of every page as one JSON
//! array, streamed page by page (each item's text as it came: numbers keep
//! their digits). The caller's query parameters are carried to a next page
//! that omits them. A page that is not a list is an error naming its shape.

use std::collections::HashSet;
use std::io::Read;

use reqwest::blocking::Response;
use serde_json::value::RawValue;
use url::Url;

use super::Caller;
use super::jq::MAX_INPUT;
use super::output::Sink;
use crate::error::{Error, Exit, Result};
use crate::http::pages::{keep_query, link_next, parse_page};
use crate::http::{self, Request, Sent};
use crate::providers::Pagination;

/// The most bytes one page may have (it is parsed whole).
const MAX_PAGE: u64 = 32 * 1024 * 1024;

impl Caller<'_> {
    /// Follows the pages and prints all items as one JSON array.
    pub(super) fn paginate(&self, mut first: Request, kind: Pagination) -> Result<Exit> {
        if let Pagination::PageParam(p) = kind {
            p.first(&mut first.url);
        }
        let asked: Vec<(String, String)> = first
            .url
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let mut plan = first;
        let mut visited = HashSet::new();
        let mut out = Joined::new(self)?;
        let mut pages = 0;
        loop {
            visited.insert(plan.url.clone());
            let sent = self.send(&plan)?;
            if let Some(offsite) = sent.offsite {
                return Err(self.refused_redirect(offsite));
            }
            if !sent.response.status().is_success() {
                return self.page_failed(sent, out, pages);
            }
            let page = self.read_page(sent.response, pages + 1, kind)?;
            pages += 1;
            out.items(&page.items)?;
            let Some(next) = page.next else { break };
            let Some(next_url) = self.next_page(&page.url, &next, &asked, &visited, pages) else {
                break;
            };
            plan.url = next_url;
            if pages >= self.args.max_pages {
                return Err(Error::user(format!(
                    "the answer goes on past {pages} pages (--max-pages {pages})"
                ))
                .cause("what was printed so far is incomplete")
                .hint("raise --max-pages, ask for larger pages (per_page), or narrow the query"));
            }
        }
        let hits = out.finish(self)?;
        self.report_scrubbed(hits);
        Ok(Exit::Success)
    }

    /// A page answered with an error status: the list printed so far is
    /// closed (it stays valid JSON) and said to be incomplete, then the
    /// answer is printed as `cred call` prints any.
    fn page_failed(&self, sent: Sent, out: Joined<'_>, pages: u64) -> Result<Exit> {
        if pages > 0 {
            if let Some(mut sink) = out.sink {
                sink.write(b"]\n")?;
                sink.finish()?;
            }
            self.ui.warn(&format!(
                "page {} failed, so the list printed before it is incomplete",
                pages + 1
            ));
        }
        self.output(sent)
    }

    /// Reads page `number` (at most [`MAX_PAGE`] bytes): its items, where
    /// it came from, and the next page it names (in its body or its
    /// `Link` header, as the provider paginates).
    fn read_page(&self, response: Response, number: u64, kind: Pagination) -> Result<Page> {
        let link_next = link_next(response.headers());
        let url = response.url().clone();
        let mut body = Vec::new();
        let read = response
            .take(MAX_PAGE + 1)
            .read_to_end(&mut body)
            .map_err(|e| self.body_error(e))?;
        if read as u64 > MAX_PAGE {
            return Err(Error::user(format!(
                "page {number} is larger than {} MiB; cred does not join pages that large",
                MAX_PAGE / (1024 * 1024)
            ))
            .hint("ask for smaller pages (per_page), or drop --paginate"));
        }
        // The reason quotes the page's keys (a server's words): `Ui` masks
        // it with every error.
        let page = parse_page(&body).map_err(|why| {
            Error::user(format!("page {number} cannot be joined: {why}"))
                .hint("--paginate joins lists; drop it to see the raw answer")
        })?;
        let next = match kind {
            Pagination::NextPageField => page.next,
            Pagination::LinkHeader => link_next,
            Pagination::PageParam(p) => p.next(&url, page.items.len()),
            Pagination::None => None,
        };
        Ok(Page {
            items: page.items,
            url,
            next,
        })
    }

    /// The next page's URL (with the caller's query parameters), or `None`
    /// with a warning when it is not followed: not a URL, not under the
    /// credential's base URL, or a page already fetched.
    fn next_page(
        &self,
        page_url: &Url,
        next: &str,
        asked: &[(String, String)],
        visited: &HashSet<Url>,
        pages: u64,
    ) -> Option<Url> {
        let Ok(mut next_url) = page_url.join(next) else {
            self.ui.warn(&format!(
                "page {pages} links to a next page that is not a URL; stopping there"
            ));
            return None;
        };
        keep_query(&mut next_url, asked);
        if !http::is_under(&self.base, &next_url) {
            self.ui.warn(&format!(
                "not following the next page at {}: it is not under the credential's base URL",
                http::display_url(&next_url)
            ));
            return None;
        }
        if visited.contains(&next_url) {
            self.ui.warn(&format!(
                "page {pages} links back to a page already fetched; stopping there"
            ));
            return None;
        }
        Some(next_url)
    }
}

/// One page read: its items as they came, its URL, the next page named.
struct Page {
    items: Vec<Box<RawValue>>,
    url: Url,
    next: Option<String>,
}

/// The joined array: streamed to the sink, or gathered (bounded by
/// [`MAX_INPUT`]) for `--jq`, which filters it at the end.
struct Joined<'a> {
    gathered: Option<Vec<u8>>,
    sink: Option<Sink<'a>>,
    /// Items written so far (the `[` goes out with the first page).
    started: bool,
    first_item: bool,
}

impl<'a> Joined<'a> {
    fn new(caller: &'a Caller<'_>) -> Result<Self> {
        Ok(Joined {
            gathered: caller.jq.as_ref().map(|_| Vec::new()),
            sink: match caller.jq {
                Some(_) => None,
                None => Some(caller.sink(true)?),
            },
            started: false,
            first_item: true,
        })
    }

    /// A page's items; the first page opens the array (only then: a first
    /// page that is not a list prints nothing).
    fn items(&mut self, items: &[Box<RawValue>]) -> Result<()> {
        if !self.started {
            self.started = true;
            put(&mut self.gathered, &mut self.sink, b"[")?;
        }
        for item in items {
            if !self.first_item {
                put(&mut self.gathered, &mut self.sink, b",")?;
            }
            self.first_item = false;
            put(&mut self.gathered, &mut self.sink, item.get().as_bytes())?;
        }
        Ok(())
    }

    /// Closes the array and prints it (through `--jq` if given); returns
    /// how many secrets were masked.
    fn finish(mut self, caller: &Caller<'_>) -> Result<usize> {
        put(&mut self.gathered, &mut self.sink, b"]\n")?;
        match (self.gathered, &caller.jq) {
            (Some(array), Some(jq)) => caller.jq_out(jq, &array),
            _ => match self.sink {
                Some(sink) => sink.finish(),
                None => Ok(0),
            },
        }
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
