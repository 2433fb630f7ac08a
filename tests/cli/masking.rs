//! `cred exec`'s masker sees what programs really print (SPEC §2, §7): the
//! key `Ab3/xY+z=Q9/kLmN+pQ7==`, printed by real programs the ways they
//! print keys (Python's `urllib.parse.quote`, lower-case `%2f`, every
//! character percent-encoded, mixed JSON escapes, base64 wrapped at 76
//! columns, `grep --color` highlighting part of it), in one write and a
//! byte at a time, never comes out readable, and the text around it comes
//! out as it was.

use base64::Engine as _;

use crate::common::*;

const KEY: &str = "Ab3/xY+z=Q9/kLmN+pQ7==";
const CONCEALED: &str = "<concealed by cred>";

/// A generic credential `masked` holding [`KEY`].
fn env_with_key() -> TestEnv {
    let env = TestEnv::new();
    env.add(
        &[
            "generic",
            "--name",
            "masked",
            "--base-url",
            "https://api.example.com",
            "--no-verify",
        ],
        KEY,
        &[],
    )
    .ok();
    env
}

/// Runs a Python program under `cred exec masked`; its `out(s)` prints `s`
/// once in one write and once a character at a time (each flushed), each
/// on a line of its own between `<` and `>`. Returns what came out.
fn python(env: &TestEnv, body: &str) -> Run {
    let program = format!(
        r#"
import base64, json, os, re, sys, urllib.parse
k = os.environ["MASKED_API_KEY"]
def out(s):
    sys.stdout.write("whole:<" + s + ">\n"); sys.stdout.flush()
    for c in "bytes:<" + s + ">\n":
        sys.stdout.write(c); sys.stdout.flush()
{body}
"#
    );
    let run = run_env(
        env,
        &["exec", "masked", "--", "python3", "-c", &program],
        &[],
    );
    run.ok();
    run
}

/// `%XX` escapes read, in either case.
fn percent_decoded(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(Ok(v)) = s.get(i + 1..i + 3).map(|h| u8::from_str_radix(h, 16))
        {
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Both lines (whole and byte by byte) are `<`, the mask, `>`, and the key
/// is in neither, read as `decode` reads it.
fn assert_concealed(run: &Run, decode: impl Fn(&str) -> String) {
    let all = run.all();
    for label in ["whole:", "bytes:"] {
        let line = all
            .lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("no {label} line:\n{all}"));
        assert_eq!(line, format!("{label}<{CONCEALED}>"), "\n{all}");
    }
    let read = decode(&all);
    for part in [KEY, "Ab3/", "xY+z", "Q9/k", "pQ7="] {
        assert!(!read.contains(part), "`{part}` can be read:\n{read}");
    }
}

#[test]
fn python_quote_leaving_slashes_plain_is_concealed() {
    let env = env_with_key();
    let run = python(&env, "out(urllib.parse.quote(k))");
    assert_concealed(&run, percent_decoded);
}

#[test]
fn lower_case_percent_escapes_are_concealed() {
    let env = env_with_key();
    let run = python(
        &env,
        r#"out(re.sub("%[0-9A-F]{2}", lambda m: m.group(0).lower(), urllib.parse.quote(k, safe="")))"#,
    );
    assert_concealed(&run, percent_decoded);
}

#[test]
fn every_character_percent_encoded_is_concealed() {
    let env = env_with_key();
    let run = python(&env, r#"out("".join("%%%02X" % b for b in k.encode()))"#);
    assert_concealed(&run, percent_decoded);
}

#[test]
fn mixed_json_escapes_are_concealed() {
    let env = env_with_key();
    // `\/` for the slashes and `\u002b` for the plus signs, in one string.
    let run = python(
        &env,
        r#"out(json.dumps(k)[1:-1].replace("/", "\\/").replace("+", "\\u002b"))"#,
    );
    assert_concealed(&run, |s| {
        s.replace("\\/", "/")
            .replace("\\u002b", "+")
            .replace("\\u002B", "+")
    });
}

#[test]
fn grep_color_inside_the_key_is_concealed_and_the_colours_kept() {
    let env = env_with_key();
    // grep highlights a part of the key: its colour codes sit inside it.
    let script =
        r#"printf 'before %s after\n' "$MASKED_API_KEY" | grep -F --color=always 'Q9/kLm'"#;
    let run = run_env(&env, &["exec", "masked", "--", "sh", "-c", script], &[]);
    run.ok();
    let plain = strip_csi(&run.stdout);
    assert_eq!(plain, format!("before {CONCEALED} after\n"), "{run}");
    // The colour is switched on and off as grep meant it.
    assert!(run.stdout.contains("\x1b[m"), "{:?}", run.stdout);
    for part in ["Ab3/", "Q9/k", "pQ7="] {
        assert!(!run.stdout.contains(part), "{:?}", run.stdout);
    }
}

fn strip_csi(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' && chars.peek() == Some(&'[') {
            chars.next();
            for d in chars.by_ref() {
                if ('\x40'..='\x7e').contains(&d) {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn base64_wrapped_at_76_columns_is_concealed() {
    let env = env_with_key();
    // 50 bytes before the key put a line break inside its encoding.
    let run = run_env(
        &env,
        &[
            "exec",
            "masked",
            "--",
            "python3",
            "-c",
            r#"
import base64, os, sys
k = os.environ["MASKED_API_KEY"].encode()
block = base64.encodebytes(b"x" * 50 + k + b"y" * 40).decode()
sys.stdout.write("block:\n" + block + "end\n"); sys.stdout.flush()
for c in "bytes:\n" + block + "end\n":
    sys.stdout.write(c); sys.stdout.flush()
"#,
        ],
        &[],
    );
    run.ok();
    let data = [b"x".repeat(50), KEY.as_bytes().to_vec(), b"y".repeat(40)].concat();
    let encoded = base64::engine::general_purpose::STANDARD.encode(&data);
    // The characters that encode the key alone, whatever surrounds it.
    let first = (50 * 8usize).div_ceil(6);
    let end = (50 + KEY.len()) * 8 / 6;
    assert!(first < 76 && end > 76, "the break falls inside the key");
    let key_chars = &encoded[first..end];
    let unwrapped = run.stdout.replace('\n', "");
    for w in key_chars.as_bytes().windows(6) {
        let w = std::str::from_utf8(w).unwrap();
        assert!(
            !unwrapped.contains(w),
            "`{w}` of the key's base64 came out:\n{run}"
        );
    }
    assert_eq!(run.stdout.matches(CONCEALED).count(), 2, "{run}");
    // What is not the key comes out as it was.
    assert!(
        run.stdout
            .starts_with(&format!("block:\n{}", &encoded[..first - 2])),
        "{run}"
    );
    assert!(
        run.stdout
            .contains(&format!("{}\nend\nbytes:", &encoded[encoded.len() - 20..])),
        "{run}"
    );
}
