//! Property tests of the masker: a random key, printed in any of the forms
//! programs print keys in, split at any points across writes, never comes
//! out readable, and the text around it comes out as it was. The check
//! reads the output with decoders of its own, not the masker's view.

use std::io::Write;

use base64::Engine as _;
use proptest::prelude::*;
use secrecy::SecretString;

use super::Secrets;
use crate::providers::Auth;

const MASK: &str = "<concealed by cred>";
const KEY_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/+=-_.~";
/// Text around the key: no escape can begin in it, and it is kept apart
/// from the key by a space.
const TEXT_CHARS: &[u8] = b"abcdefghij klmnopqrstuvwxyz,.:;!?()[]{}";

/// How the key is printed.
#[derive(Debug, Clone)]
enum Form {
    Raw,
    /// Percent-encoded, each character in `keep` left plain (Python's
    /// `quote` keeps `/`), hex in upper or lower case, or every character.
    Percent {
        keep: &'static str,
        lower: bool,
        all: bool,
    },
    /// JSON-escaped, each character chosen to be escaped or not: 0 plain,
    /// 1 `\/` (slashes only), 2 `\u00XX`, 3 `\u00xx`.
    Json(Vec<u8>),
    /// In a base64 block after `prefix` bytes, wrapped at `width` columns
    /// with `\n` or `\r\n`.
    Base64 {
        prefix: usize,
        width: usize,
        crlf: bool,
        url: bool,
    },
    /// Colour codes before the characters at these offsets (not the first).
    Coloured(Vec<usize>),
}

fn form() -> impl Strategy<Value = Form> {
    prop_oneof![
        Just(Form::Raw),
        (
            prop::sample::select(vec!["", "/", "/+=", "-_.~"]),
            any::<bool>(),
            any::<bool>()
        )
            .prop_map(|(keep, lower, all)| Form::Percent { keep, lower, all }),
        prop::collection::vec(0u8..4, 64).prop_map(Form::Json),
        (
            0usize..120,
            prop::sample::select(vec![76usize, 64, 60]),
            any::<bool>(),
            any::<bool>()
        )
            .prop_map(|(prefix, width, crlf, url)| Form::Base64 {
                prefix,
                width,
                crlf,
                url
            }),
        prop::collection::vec(1usize..64, 1..4).prop_map(Form::Coloured),
    ]
}

const COLOURS: [&str; 4] = [
    "\x1b[01;31m\x1b[K",
    "\x1b[m\x1b[K",
    "\x1b[1m",
    "\x1b[38;5;208m",
];

/// The key printed in `form`, and for base64 the whole block.
fn print(key: &str, form: &Form) -> String {
    match form {
        Form::Raw => key.to_string(),
        Form::Percent { keep, lower, all } => key
            .bytes()
            .map(|b| {
                let plain = !all && (b.is_ascii_alphanumeric() || keep.contains(b as char));
                match (plain, lower) {
                    (true, _) => (b as char).to_string(),
                    (false, false) => format!("%{b:02X}"),
                    (false, true) => format!("%{b:02x}"),
                }
            })
            .collect(),
        Form::Json(choice) => key
            .chars()
            .enumerate()
            .map(|(i, c)| match choice[i % choice.len()] {
                1 if c == '/' => "\\/".to_string(),
                2 if !c.is_ascii_alphanumeric() => format!("\\u{:04X}", c as u32),
                3 => format!("\\u{:04x}", c as u32),
                _ => c.to_string(),
            })
            .collect(),
        Form::Base64 {
            prefix,
            width,
            crlf,
            url,
        } => {
            let data = [vec![b'x'; *prefix], key.as_bytes().to_vec(), vec![b'y'; 40]].concat();
            let encoded = if *url {
                base64::engine::general_purpose::URL_SAFE.encode(data)
            } else {
                base64::engine::general_purpose::STANDARD.encode(data)
            };
            let brk = if *crlf { "\r\n" } else { "\n" };
            let mut out = String::new();
            for line in encoded.as_bytes().chunks(*width) {
                out.push_str(std::str::from_utf8(line).unwrap());
                out.push_str(brk);
            }
            out
        }
        Form::Coloured(at) => {
            let mut out = String::new();
            for (i, c) in key.chars().enumerate() {
                if let Some(n) = at.iter().position(|&a| a % key.len() == i && i > 0) {
                    out.push_str(COLOURS[n % COLOURS.len()]);
                }
                out.push(c);
            }
            out
        }
    }
}

/// Reads `%XX` (either case), JSON escapes and colour codes, as a person
/// or the next program would.
fn read(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let hex = |s: &[u8]| {
            std::str::from_utf8(s)
                .ok()
                .and_then(|h| u32::from_str_radix(h, 16).ok())
        };
        if b[i] == b'%' && i + 3 <= b.len() && hex(&b[i + 1..i + 3]).is_some() {
            out.push(hex(&b[i + 1..i + 3]).unwrap() as u8);
            i += 3;
        } else if b[i] == b'\\' && b.get(i + 1) == Some(&b'/') {
            out.push(b'/');
            i += 2;
        } else if b[i] == b'\\'
            && b.get(i + 1) == Some(&b'u')
            && i + 6 <= b.len()
            && hex(&b[i + 2..i + 6]).is_some()
        {
            let c = char::from_u32(hex(&b[i + 2..i + 6]).unwrap()).unwrap_or('?');
            out.extend_from_slice(c.to_string().as_bytes());
            i += 6;
        } else if b[i] == 0x1b && b.get(i + 1) == Some(&b'[') {
            i += 2;
            while i < b.len() && !(0x40..=0x7e).contains(&b[i]) {
                i += 1;
            }
            i += 1;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Writes `text` through the masker in pieces cut at `cuts`.
fn masked(secrets: &Secrets, text: &[u8], cuts: &[usize]) -> (String, usize) {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (text.len() + 1)).collect();
    cuts.sort_unstable();
    let mut w = secrets.writer(Vec::new());
    let mut from = 0;
    for c in cuts.into_iter().chain([text.len()]) {
        w.write_all(&text[from..c]).unwrap();
        w.flush().unwrap();
        from = c;
    }
    let (out, hits) = w.finish().unwrap();
    (String::from_utf8(out).unwrap(), hits)
}

fn bearer(key: &str) -> Auth {
    Auth::Header {
        name: "Authorization".into(),
        value: SecretString::from(format!("Bearer {key}")),
    }
}

/// The colour codes [`print`] puts into `key`, in order.
fn colours(key: &str, at: &[usize]) -> String {
    (0..key.len())
        .filter_map(|i| at.iter().position(|&a| a % key.len() == i && i > 0))
        .map(|n| COLOURS[n % COLOURS.len()])
        .collect()
}

fn key() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(KEY_CHARS), 12..40)
        .prop_map(|k| String::from_utf8(k).unwrap())
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(TEXT_CHARS), 0..60)
        .prop_map(|t| String::from_utf8(t).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn a_printed_key_never_comes_out_readable(
        key in key(),
        form in form(),
        before in text(),
        after in text(),
        cuts in prop::collection::vec(any::<usize>(), 0..5),
    ) {
        let secret = SecretString::from(key.clone());
        let secrets = Secrets::new(&secret, &bearer(&key)).with_mask(MASK);
        let printed = print(&key, &form);
        let text = format!("{before} {printed} {after}");
        let (out, hits) = masked(&secrets, text.as_bytes(), &cuts);
        prop_assert!(!read(&out).contains(&key), "{form:?}: {out:?}");
        match &form {
            Form::Base64 { prefix, url, .. } => {
                // The characters that encode the key alone are gone, with
                // the line breaks taken out.
                let engine = if *url {
                    &base64::engine::general_purpose::URL_SAFE
                } else {
                    &base64::engine::general_purpose::STANDARD
                };
                let data = [vec![b'x'; *prefix], key.as_bytes().to_vec(), vec![b'y'; 40]].concat();
                let encoded = engine.encode(data);
                let first = (prefix * 8).div_ceil(6);
                let end = (prefix + key.len()) * 8 / 6;
                let unwrapped = out.replace(['\r', '\n'], "");
                for w in encoded.as_bytes()[first..end].windows(8) {
                    let w = std::str::from_utf8(w).unwrap();
                    prop_assert!(!unwrapped.contains(w), "{form:?}: {w} in {out:?}");
                }
                prop_assert!(out.starts_with(&format!("{before} ")), "{out:?}");
                prop_assert!(out.ends_with(&format!(" {after}")), "{out:?}");
                prop_assert!(hits >= 1);
            }
            Form::Coloured(at) => {
                // The colours are put back after the mask.
                let colours = colours(&key, at);
                prop_assert_eq!(&out, &format!("{before} {MASK}{colours} {after}"));
                prop_assert_eq!(hits, 1);
            }
            _ => {
                prop_assert_eq!(&out, &format!("{before} {MASK} {after}"));
                prop_assert_eq!(hits, 1);
            }
        }
    }

    #[test]
    fn text_without_the_key_comes_out_as_it_went_in(
        key in key(),
        text in prop::collection::vec(
            prop::sample::select(b"abcXYZ019 %\\/u\"+=\x1b[;m\r\n".to_vec()), 0..400),
        cuts in prop::collection::vec(any::<usize>(), 0..5),
    ) {
        let secret = SecretString::from(key.clone());
        let secrets = Secrets::new(&secret, &bearer(&key));
        let (out, hits) = masked(&secrets, &text, &cuts);
        prop_assert_eq!(out.as_bytes(), text.as_slice());
        prop_assert_eq!(hits, 0);
    }
}
