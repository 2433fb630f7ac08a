//! `cred call --paginate`: follows Paligo's `next_page` or RFC 8288
//! `Link: rel="next"` through the pipeline, only to pages under the
//! credential's base URL, and prints the items of every page as one JSON
//! array, streamed page by page (each item's text as it came: numbers keep
//! their digits). The caller's query parameters are carried to a next page
//! that omits them. A page that is not a list is an error naming its shape.

use std::collections::HashSet;
use std::fmt;
use std::io::Read;

use reqwest::header::HeaderMap;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use super::Caller;
use super::jq::MAX_INPUT;
use super::output::Sink;
use crate::error::{Error, Exit, Result};
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
                // The reason quotes the page's keys: a server's words.
                let why = self.secrets.scrub_str(&why);
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
                    self.secrets.scrub_str(&http::display_url(&next_url))
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

/// Adds the caller's query parameters that a next-page URL left out
/// (Paligo's `next_page` drops `per_page` and filters).
fn keep_query(url: &mut url::Url, asked: &[(String, String)]) {
    let present: HashSet<String> = url.query_pairs().map(|(k, _)| k.into_owned()).collect();
    let missing: Vec<&(String, String)> =
        asked.iter().filter(|(k, _)| !present.contains(k)).collect();
    if missing.is_empty() {
        return;
    }
    let mut q = url.query_pairs_mut();
    for (k, v) in missing {
        q.append_pair(k, v);
    }
}

/// One page: its items (as they came) and Paligo's `next_page`.
struct Page {
    items: Vec<Box<RawValue>>,
    next: Option<String>,
}

/// A page's items: a bare array, or the first array-valued field of an
/// object; anything else is named in the error.
fn parse_page(body: &[u8]) -> std::result::Result<Page, String> {
    let raw: Box<RawValue> =
        serde_json::from_slice(body).map_err(|e| format!("it is not JSON ({e})"))?;
    let text = raw.get().trim_start();
    match text.as_bytes().first() {
        Some(b'[') => {
            let items: Vec<Box<RawValue>> =
                serde_json::from_str(text).map_err(|e| e.to_string())?;
            Ok(Page { items, next: None })
        }
        Some(b'{') => {
            let Members(members) = serde_json::from_str(text).map_err(|e| e.to_string())?;
            let next = members
                .iter()
                .find(|(k, _)| k == "next_page")
                .and_then(|(_, v)| serde_json::from_str::<Option<String>>(v.get()).ok())
                .flatten()
                .filter(|s| !s.is_empty());
            let list = members
                .iter()
                .find(|(_, v)| v.get().trim_start().starts_with('['));
            match list {
                Some((_, v)) => Ok(Page {
                    items: serde_json::from_str(v.get()).map_err(|e| e.to_string())?,
                    next,
                }),
                None => {
                    let keys: Vec<&str> = members.iter().take(8).map(|(k, _)| k.as_str()).collect();
                    Err(if keys.is_empty() {
                        "the answer is an empty JSON object, not a list".to_string()
                    } else {
                        format!(
                            "the answer is a JSON object with no list in it (keys: {}{})",
                            keys.join(", "),
                            if members.len() > keys.len() {
                                ", …"
                            } else {
                                ""
                            }
                        )
                    })
                }
            }
        }
        Some(b'"') => Err("the answer is a JSON string, not a list".into()),
        Some(b't' | b'f') => Err("the answer is a JSON boolean, not a list".into()),
        Some(b'n') => Err("the answer is JSON null, not a list".into()),
        _ => Err("the answer is a JSON number, not a list".into()),
    }
}

/// An object's members in order, duplicates kept, values as they came.
struct Members(Vec<(String, Box<RawValue>)>);

impl<'de> Deserialize<'de> for Members {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(
                self,
                mut map: A,
            ) -> std::result::Result<Members, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, Box<RawValue>>()? {
                    out.push((k, v));
                }
                Ok(Members(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// The `rel="next"` target of RFC 8288 `Link` headers.
fn link_next(headers: &HeaderMap) -> Option<String> {
    for value in headers.get_all(reqwest::header::LINK) {
        let text = value.to_str().ok()?;
        for link in text.split(',') {
            let mut parts = link.split(';');
            let target = parts.next()?.trim();
            let is_next = parts.any(|p| {
                let p = p.trim();
                p.strip_prefix("rel=")
                    .map(|r| {
                        r.trim_matches('"')
                            .split_whitespace()
                            .any(|r| r.eq_ignore_ascii_case("next"))
                    })
                    .unwrap_or(false)
            });
            if is_next {
                return Some(
                    target
                        .trim_start_matches('<')
                        .trim_end_matches('>')
                        .to_string(),
                );
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn link_header_next() {
        let mut h = HeaderMap::new();
        h.insert(
            "link",
            HeaderValue::from_static(
                "<https://a/x?page=1>; rel=\"prev\", <https://a/x?page=3>; rel=\"next\"",
            ),
        );
        assert_eq!(link_next(&h).as_deref(), Some("https://a/x?page=3"));
        assert_eq!(link_next(&HeaderMap::new()), None);
    }

    #[test]
    fn pages_of_both_shapes() {
        let page = parse_page(
            br#"{"page": 1, "next_page": "https://a/folders?page=2", "total_pages": 3,
            "folders": [{"id": 1}, {"id": 2.50}]}"#,
        )
        .unwrap();
        assert_eq!(page.items.len(), 2);
        assert_eq!(page.items[1].get(), r#"{"id": 2.50}"#);
        assert_eq!(page.next.as_deref(), Some("https://a/folders?page=2"));
        let page = parse_page(b"[1, 2, 3]").unwrap();
        assert_eq!((page.items.len(), page.next), (3, None));
        let page = parse_page(br#"{"next_page": "", "folders": []}"#).unwrap();
        assert_eq!(page.next, None);
    }

    #[test]
    fn a_page_that_is_not_a_list_is_named() {
        let why = parse_page(br#"{"id": 1, "name": "x"}"#).err().unwrap();
        assert!(
            why.contains("object with no list in it (keys: id, name)"),
            "{why}"
        );
        assert!(parse_page(b"42").err().unwrap().contains("number"));
        assert!(
            parse_page(b"{}")
                .err()
                .unwrap()
                .contains("empty JSON object")
        );
    }

    #[test]
    fn the_callers_query_is_kept() {
        let mut u = url::Url::parse("https://a/f?page=2").unwrap();
        keep_query(
            &mut u,
            &[("per_page".into(), "5".into()), ("page".into(), "1".into())],
        );
        assert_eq!(u.query(), Some("page=2&per_page=5"));
    }
}
