//! `cred call`: compressed answers (gzip, deflate, br, zstd) are decoded
//! before anything is printed, so the key scrubber and the pretty-printer
//! see the real bytes: an echoed key is masked in every encoding.

use std::io::Write;

use super::call;
use crate::common::*;

fn compress(encoding: &str, data: &[u8]) -> Vec<u8> {
    match encoding {
        "gzip" => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        "deflate" => {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        "br" => {
            let mut out = Vec::new();
            {
                let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
                w.write_all(data).unwrap();
            }
            out
        }
        "zstd" => zstd::encode_all(data, 3).unwrap(),
        other => panic!("{other}"),
    }
}

#[test]
fn every_compressed_answer_is_decoded_and_scrubbed() {
    let server = Server::start(|s| {
        let encoding = s.path().rsplit('/').next().unwrap().to_string();
        let auth = s.header("x-api-key").unwrap_or("").to_string();
        let body = format!(r#"{{"you_sent":"{auth}","encoding":"{encoding}"}}"#);
        Reply::new(200, compress(&encoding, body.as_bytes()))
            .header("Content-Type", "application/json")
            .header("Content-Encoding", &encoding)
    });
    let env = TestEnv::new();
    let key = add_generic_unchecked(&env, &server.url(), &["--key-name", "X-Api-Key"]);
    for encoding in ["gzip", "deflate", "br", "zstd"] {
        let run = call(&env, &[], &["api", &format!("/{encoding}")]);
        run.ok();
        assert_eq!(
            run.stdout,
            format!(r#"{{"you_sent":"<redacted>","encoding":"{encoding}"}}"#),
            "{run}"
        );
        assert!(run.stderr.contains("contained the stored secret"), "{run}");
        assert_no_leak(&run, &key_forms(&key, None));
    }
    // cred said which encodings it takes.
    let accepted = server.requests()[0]
        .header("accept-encoding")
        .unwrap_or("")
        .to_string();
    for encoding in ["gzip", "deflate", "br", "zstd"] {
        assert!(accepted.contains(encoding), "{accepted}");
    }
}

/// `body` framed as HTTP/1.1 chunks (two chunks and the last one).
pub fn chunked(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let half = body.len() / 2;
    for part in [&body[..half], &body[half..]] {
        out.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
        out.extend_from_slice(part);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

/// An answer with `Transfer-Encoding: CODING, chunked` that echoes the
/// key: hyper undoes the chunks only, so the body is still compressed and
/// the scrubber could not see the key in it. cred never asks for a
/// transfer coding (it sends no `TE`), so such an answer is refused: exit
/// 1, the coding named, nothing printed.
#[test]
fn an_answer_in_a_transfer_coding_is_refused_with_the_coding_named() {
    let server = Server::start(|s| {
        let coding = s.path().rsplit('/').next().unwrap().to_string();
        let auth = s.header("x-api-key").unwrap_or("").to_string();
        let body = format!(r#"{{"you_sent":"{auth}"}}"#);
        let packed = match coding.as_str() {
            "x-gzip" => compress("gzip", body.as_bytes()),
            c => compress(c, body.as_bytes()),
        };
        let mut reply = Reply::new(200, chunked(&packed))
            .header("Content-Type", "application/json")
            .header("Transfer-Encoding", &format!("{coding}, chunked"));
        reply.length = None;
        reply
    });
    let env = TestEnv::new();
    let key = add_generic_unchecked(&env, &server.url(), &["--key-name", "X-Api-Key"]);
    for coding in ["gzip", "deflate", "x-gzip"] {
        let run = call(&env, &[], &["api", &format!("/{coding}")]);
        assert_eq!(run.code, 1, "{run}");
        assert!(run.stdout.is_empty(), "{run}");
        assert!(
            run.stderr
                .contains(&format!("Transfer-Encoding `{coding}, chunked`")),
            "{run}"
        );
        assert_no_leak(&run, &key_forms(&key, None));
        // Not with -o either: the file would hold the key, compressed.
        let out = env.home().join("raw.bin");
        let run = call(
            &env,
            &[],
            &["api", &format!("/{coding}"), "-o", out.to_str().unwrap()],
        );
        assert_eq!(run.code, 1, "{run}");
        assert!(!out.exists() || std::fs::read(&out).unwrap().is_empty());
    }
}
