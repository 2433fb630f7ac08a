//! Pages of a list: Paligo's `next_page` field, RFC 8288 `Link:
//! rel="next"` headers and page numbers (`?page=2`), read the same way by `cred call --paginate` and
//! `cred mcp`'s `call` with `paginate`. Each item keeps its text as it came
//! (numbers keep their digits); a page that is not a list is named by its
//! shape.

use std::collections::HashSet;
use std::fmt;

use reqwest::header::HeaderMap;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

/// Adds the caller's query parameters that a next-page URL left out
/// (Paligo's `next_page` drops `per_page` and filters).
pub fn keep_query(url: &mut url::Url, asked: &[(String, String)]) {
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

/// Page numbers (`?page=N&per_page=M`): the page parameter, and the
/// page-size parameter with the size to ask for, where the provider says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageNumbers {
    pub param: &'static str,
    pub per_page_param: Option<&'static str>,
    pub per_page: Option<u32>,
}

impl PageNumbers {
    /// The first page's URL: the page size asked for, unless the caller
    /// gave one.
    pub fn first(&self, url: &mut url::Url) {
        if let (Some(p), Some(n)) = (self.per_page_param, self.per_page)
            && !url.query_pairs().any(|(k, _)| k == p)
        {
            url.query_pairs_mut().append_pair(p, &n.to_string());
        }
    }

    /// The next page after `url`, which answered `items` items: `None`
    /// when that page was empty or shorter than the page size asked for.
    pub fn next(&self, url: &url::Url, items: usize) -> Option<String> {
        if items == 0 {
            return None;
        }
        let size = self.per_page_param.and_then(|p| {
            url.query_pairs()
                .find(|(k, _)| k == p)
                .and_then(|(_, v)| v.parse::<usize>().ok())
        });
        if size.is_some_and(|size| items < size) {
            return None;
        }
        let current = url
            .query_pairs()
            .find(|(k, _)| k == self.param)
            .and_then(|(_, v)| v.parse::<u64>().ok())
            .unwrap_or(1);
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| k != self.param)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let mut next = url.clone();
        next.set_query(None);
        {
            let mut q = next.query_pairs_mut();
            for (k, v) in &pairs {
                q.append_pair(k, v);
            }
            q.append_pair(self.param, &(current + 1).to_string());
        }
        Some(next.to_string())
    }
}

/// One page: its items (as they came) and Paligo's `next_page`.
pub struct Page {
    pub items: Vec<Box<RawValue>>,
    pub next: Option<String>,
}

/// A page's items: a bare array, or the first array-valued field of an
/// object; anything else is named in the error.
pub fn parse_page(body: &[u8]) -> std::result::Result<Page, String> {
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
pub fn link_next(headers: &HeaderMap) -> Option<String> {
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
    fn page_numbers_go_on_until_a_short_or_empty_page() {
        let pages = PageNumbers {
            param: "page",
            per_page_param: Some("per_page"),
            per_page: Some(3),
        };
        let mut url = url::Url::parse("https://api.example.com/v2/things?q=a").unwrap();
        pages.first(&mut url);
        assert_eq!(
            url.as_str(),
            "https://api.example.com/v2/things?q=a&per_page=3"
        );
        let next = pages.next(&url, 3).unwrap();
        assert_eq!(
            next,
            "https://api.example.com/v2/things?q=a&per_page=3&page=2"
        );
        let url = url::Url::parse(&next).unwrap();
        assert_eq!(
            pages.next(&url, 3).as_deref(),
            Some("https://api.example.com/v2/things?q=a&per_page=3&page=3")
        );
        assert_eq!(pages.next(&url, 2), None);
        assert_eq!(pages.next(&url, 0), None);
        // Without a known size, only an empty page ends the walk.
        let bare = PageNumbers {
            param: "page",
            per_page_param: None,
            per_page: None,
        };
        let url = url::Url::parse("https://api.example.com/things?page=7").unwrap();
        assert_eq!(
            bare.next(&url, 1).as_deref(),
            Some("https://api.example.com/things?page=8")
        );
    }

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
