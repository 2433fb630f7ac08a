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
