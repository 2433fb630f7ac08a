//! `cred call --paginate`: follows Paligo's `next_page` or RFC 8288
//! `Link: rel="next"` through the pipeline, only to pages under the
//! credential's base URL, and prints the items of every page as one JSON
//! array.

use std::collections::HashSet;
use std::io::Read;

use reqwest::header::HeaderMap;

use super::Caller;
use crate::error::{Error, Exit, Result};
use crate::http::{self, Request};
use crate::providers::Pagination;

impl Caller<'_> {
    /// Follows the pages and prints all items as one JSON array.
    pub(super) fn paginate(&self, first: Request, kind: Pagination) -> Result<Exit> {
        let mut items: Vec<serde_json::Value> = Vec::new();
        let mut plan = first;
        let mut visited = HashSet::new();
        let mut pages = 0;
        loop {
            visited.insert(plan.url.clone());
            let sent = self.send(&plan)?;
            if let Some(offsite) = sent.offsite {
                return Err(self.refused_redirect(offsite));
            }
            if !sent.response.status().is_success() {
                return self.output(sent);
            }
            let response = sent.response;
            let link_next = link_next(response.headers());
            let page_url = response.url().clone();
            let mut body = Vec::new();
            let mut response = response;
            response
                .read_to_end(&mut body)
                .map_err(|e| self.body_error(e))?;
            let value: serde_json::Value = serde_json::from_slice(&body).map_err(|e| {
                Error::user(format!(
                    "page {} is not JSON, so it cannot be joined",
                    pages + 1
                ))
                .cause(e)
                .hint("drop --paginate to see the raw answer")
            })?;
            pages += 1;
            let (page_items, next_field) = split_page(value);
            items.extend(page_items);
            let next = match kind {
                Pagination::NextPageField => next_field,
                Pagination::LinkHeader => link_next,
                Pagination::None => None,
            };
            let Some(next) = next else { break };
            let next_url = match page_url.join(&next) {
                Ok(u) => u,
                Err(_) => {
                    self.ui.warn(&format!(
                        "page {pages} links to a next page that is not a URL; stopping there"
                    ));
                    break;
                }
            };
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
            if pages >= 10_000 {
                self.ui.warn("stopped after 10000 pages");
                break;
            }
        }
        let text = if self.ui.stdout_is_terminal() && self.args.output.is_none() {
            crate::ui::json_pretty(&serde_json::Value::Array(items), self.ui.color_stdout())
        } else {
            serde_json::to_string(&items).unwrap_or_default()
        };
        let (mut bytes, hits) = self.secrets.scrub_bytes(text.as_bytes());
        bytes.push(b'\n');
        match &self.args.output {
            Some(path) => std::fs::write(path, &bytes).map_err(|e| Error::io("write", path, e))?,
            None => self.ui.out_bytes(&bytes)?,
        }
        self.report_scrubbed(hits);
        Ok(Exit::Success)
    }
}

/// The items of a page, and Paligo's `next_page` if present: a bare array,
/// or the first array-valued field of an object.
fn split_page(value: serde_json::Value) -> (Vec<serde_json::Value>, Option<String>) {
    match value {
        serde_json::Value::Array(items) => (items, None),
        serde_json::Value::Object(mut map) => {
            let next = map
                .get("next_page")
                .and_then(|v| v.as_str())
                .filter(|s| !s.is_empty())
                .map(str::to_string);
            let key = map
                .iter()
                .find(|(_, v)| v.is_array())
                .map(|(k, _)| k.clone());
            let items = key
                .and_then(|k| map.remove(&k))
                .and_then(|v| match v {
                    serde_json::Value::Array(a) => Some(a),
                    _ => None,
                })
                .unwrap_or_default();
            (items, next)
        }
        other => (vec![other], None),
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
        let (items, next) = split_page(serde_json::json!({
            "page": 1, "next_page": "https://a/folders?page=2", "total_pages": 3,
            "folders": [{"id": 1}, {"id": 2}]
        }));
        assert_eq!(items.len(), 2);
        assert_eq!(next.as_deref(), Some("https://a/folders?page=2"));
        let (items, next) = split_page(serde_json::json!([1, 2, 3]));
        assert_eq!((items.len(), next), (3, None));
        let (_, next) = split_page(serde_json::json!({"next_page": "", "folders": []}));
        assert_eq!(next, None);
    }
}
