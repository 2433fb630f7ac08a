//! Hostile input never drives the terminal (SPEC §5): control characters
//! from a server (a user name, an error body, a header), from a flag or
//! from a hand-edited config.toml are shown escaped or refused, on every
//! path that prints or stores them.

use crate::common::*;

/// Sequences a terminal would obey: clipboard write (OSC 52), window title,
/// clear screen, and a C1 CSI.
const EVIL: &str = "Ada\u{1b}]52;c;ZXZpbA==\u{7}\u{1b}]0;pwned\u{7}\u{1b}[2J\u{9b}31m";

fn assert_inert(what: &str, text: &str) {
    for bad in ['\u{1b}', '\u{7}', '\u{9b}'] {
        assert!(
            !text.contains(bad),
            "{what} holds a raw {:?}:\n{text:?}",
            bad
        );
    }
}

#[test]
fn a_user_name_from_the_server_is_shown_and_stored_escaped() {
    let body = serde_json::json!({"users": [{"id": 1, "name": EVIL, "email": "ada@example.com"}]})
        .to_string();
    let server = Server::start(move |_| Reply::json(200, &body));
    let env = TestEnv::new();
    let key = secret("paymo");
    let run = env.add(&["paymo"], &key, &[paymo_env(&server)]);
    run.ok();
    assert_inert("add", &run.all());
    assert!(run.stderr.contains("Ada\\x1b]52;c;"), "{run}");
    let stored = last_check(&env, "paymo").expect("a check result");
    assert_inert("config.toml", &format!("{stored:?}"));
    for args in [
        vec!["show", "paymo"],
        vec!["show", "paymo", "--json"],
        vec!["list"],
        vec!["list", "--json"],
    ] {
        let run = run_env(&env, &args, &[paymo_env(&server)]);
        run.ok();
        assert_inert(&args.join(" "), &run.all());
    }
    let run = run_env(&env, &["verify", "paymo"], &[paymo_env(&server)]);
    run.ok();
    assert_inert("verify", &run.all());
    let run = run_env(&env, &["verify", "paymo", "--json"], &[paymo_env(&server)]);
    assert_inert("verify --json", &run.all());
    let v = json(&run);
    assert!(v[0]["message"].as_str().unwrap().contains("Ada"), "{run}");
}

#[test]
fn an_error_body_and_headers_are_shown_escaped() {
    let server =
        Server::start(|_| Reply::new(500, format!("{EVIL}\nmore")).header("x-evil", "a\u{9b}b"));
    let env = TestEnv::new();
    let run = env.add(
        &["generic", "--base-url", &format!("{}/v1", server.url())],
        &secret("api"),
        &[],
    );
    run.code(3);
    assert_inert("add", &run.all());
    assert!(run.stderr.contains("could not confirm the key"), "{run}");
    add_generic_unchecked(&env, &server.url(), &[]);
    let run = env.run(&["call", "api", "/x", "-v", "-o", "/dev/null"]);
    run.code(3);
    assert_inert("call -v", &run.stderr);
    assert!(run.stderr.contains("x-evil: a\\u{9b}b"), "{run}");
}

#[test]
fn flags_and_hand_edited_fields_with_control_characters_are_refused() {
    let env = TestEnv::new();
    let run = env.add(
        &["paymo", "--no-verify", "--description", "docs\u{1b}[2J"],
        &secret("p"),
        &[],
    );
    run.code(1);
    assert_one_error(
        &run,
        "invalid --description: it holds a control character (\\x1b)",
    );
    assert_nothing_stored(&env, "paymo", None);

    std::fs::create_dir_all(env.config_dir()).unwrap();
    std::fs::write(
        env.config_path(),
        "[credentials.paymo]\nprovider = \"paymo\"\ndescription = \"a\\u001b]0;title\\u0007\"\n",
    )
    .unwrap();
    for args in [vec!["list"], vec!["show", "paymo"]] {
        let run = env.run(&args);
        run.code(1);
        assert_inert("error", &run.all());
        assert!(
            run.stderr
                .contains("holds a control character (\\x1b) in credentials.paymo.description"),
            "{run}"
        );
    }
    std::fs::write(
        env.config_path(),
        "[credentials.Shouting]\nprovider = \"paymo\"\n",
    )
    .unwrap();
    let run = env.run(&["list"]);
    run.code(1);
    assert!(
        run.stderr
            .contains("credential name cred does not accept: `Shouting`"),
        "{run}"
    );
    // A check result quoting a server is shown escaped, not refused.
    std::fs::write(
        env.config_path(),
        "[credentials.paymo]\nprovider = \"paymo\"\n\n[credentials.paymo.last_check]\nat = \"2026-01-01T00:00:00Z\"\nresult = \"unconfirmed\"\nmessage = \"boom\\u001b[2J\"\n",
    )
    .unwrap();
    let run = env.run(&["show", "paymo"]);
    assert_inert("show", &run.all());
    assert!(run.stdout.contains("boom\\x1b[2J"), "{run}");
}

/// Runs `cred ARGS` under `/usr/bin/time`; returns the run and the peak
/// memory in MiB.
fn with_peak_rss(env: &TestEnv, args: &[&str]) -> (Run, f64) {
    let out = std::process::Command::new("/usr/bin/time")
        .args(["-f", "maxrss_kib=%M", env!("CARGO_BIN_EXE_cred")])
        .args(args)
        .env_clear()
        .envs(env.sealed_env())
        .current_dir(env.home().parent().unwrap())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("/usr/bin/time (installed by scripts/test.sh)");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let kib: f64 = stderr
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("maxrss_kib="))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no maxrss line:\n{stderr}"));
    let stderr = stderr
        .lines()
        .filter(|l| !l.starts_with("maxrss_kib="))
        .map(|l| format!("{l}\n"))
        .collect();
    let run = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr,
    };
    (run, kib / 1024.0)
}

/// A body of `len` bytes that is one long JSON array of small objects.
struct JsonItems {
    left: usize,
    started: bool,
}

impl std::io::Read for JsonItems {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let mut n = 0;
        if !self.started {
            buf[0] = b'[';
            self.started = true;
            n = 1;
            self.left -= 1;
        }
        let item = br#"{"id":1,"name":"x"},"#;
        while n + item.len() < buf.len() && self.left > item.len() + 1 {
            buf[n..n + item.len()].copy_from_slice(item);
            n += item.len();
            self.left -= item.len();
        }
        if self.left <= item.len() + 1 && n + self.left <= buf.len() {
            let tail = &br#"{"id":2}]"#[..];
            let pad = self.left.saturating_sub(tail.len());
            for b in &mut buf[n..n + pad] {
                *b = b' ';
            }
            n += pad;
            let t = tail.len().min(self.left - pad);
            buf[n..n + t].copy_from_slice(&tail[..t]);
            n += t;
            self.left = 0;
        }
        Ok(n)
    }
}

#[test]
fn a_64_mib_page_or_an_endless_page_chain_stops_with_a_clear_error_in_bounded_memory() {
    let size = 64 * 1024 * 1024;
    let server = Server::start(move |s| match s.path() {
        "/v1/huge" => Reply::stream(
            200,
            JsonItems {
                left: size,
                started: false,
            },
            size,
        )
        .header("Content-Type", "application/json"),
        // Every page links to the next, forever.
        _ => {
            let n: u64 = s
                .query()
                .strip_prefix("page=")
                .and_then(|n| n.parse().ok())
                .unwrap_or(1);
            Reply::json(200, "[1,2,3]")
                .header("Link", &format!("</v1/chain?page={}>; rel=\"next\"", n + 1))
        }
    });
    let env = TestEnv::new();
    add_generic_unchecked(&env, &server.url(), &[]);
    let (run, peak) = with_peak_rss(&env, &["call", "api", "/huge", "--paginate"]);
    run.code(1);
    assert!(run.stderr.contains("larger than 32 MiB"), "{run}");
    eprintln!("64 MiB page with --paginate: peak {peak:.1} MiB");
    assert!(peak < 64.0, "peak {peak:.1} MiB");
    // The same answer streamed to a pipe without --paginate: all of it.
    let (run, peak) = with_peak_rss(&env, &["call", "api", "/huge"]);
    run.ok();
    assert_eq!(run.stdout.len(), size);
    eprintln!("64 MiB JSON to a pipe: peak {peak:.1} MiB");
    assert!(peak < 64.0, "peak {peak:.1} MiB");

    let before = server.count();
    let (run, peak) = with_peak_rss(
        &env,
        &["call", "api", "/chain", "--paginate", "--max-pages", "50"],
    );
    run.code(1);
    assert_one_error(&run, "the answer goes on past 50 pages (--max-pages 50)");
    assert_eq!(server.count() - before, 50);
    eprintln!("endless page chain, 50 pages: peak {peak:.1} MiB");
    assert!(peak < 64.0, "peak {peak:.1} MiB");
}

/// A body that drips one byte a second, for ever (well: 10 minutes).
struct Drip(usize);

impl std::io::Read for Drip {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.0 == 0 {
            return Ok(0);
        }
        std::thread::sleep(std::time::Duration::from_secs(1));
        self.0 -= 1;
        buf[0] = b'.';
        Ok(1)
    }
}

#[test]
fn a_server_that_drips_is_cut_off_by_max_time() {
    let server = Server::start(|_| Reply::stream(200, Drip(600), 600));
    let env = TestEnv::new();
    add_generic_unchecked(&env, &server.url(), &[]);
    // Each byte comes within --timeout, so only --max-time can end it.
    let run = env.run_with(&["call", "api", "/drip", "--max-time", "3"], |c| {
        c.timeout(std::time::Duration::from_secs(60));
    });
    run.code(5);
    assert_one_error(&run, "the call took longer than --max-time 3 s");
    let run = env.run(&["call", "api", "/drip", "--max-time", "999999"]);
    run.code(2);
}

#[test]
fn headers_in_include_and_verbose_are_escaped_and_cookies_hidden() {
    let server = Server::start(|_| {
        Reply::new(200, "ok")
            // C0 bytes are not valid in a header (the HTTP library refuses
            // the answer); C1, sent as UTF-8, is.
            .header("x-evil", "a\u{9b}2Jb")
            .header("set-cookie", "session=s3cr3t-cookie; HttpOnly")
    });
    let env = TestEnv::new();
    add_generic_unchecked(&env, &server.url(), &[]);
    let run = env.run(&[
        "call",
        "api",
        "/x",
        "-i",
        "-v",
        "-H",
        "Cookie: mine=c00kie-value",
    ]);
    run.ok();
    assert_inert("-i and -v", &run.all());
    assert!(run.stdout.contains("x-evil: a\\u{9b}2Jb"), "{run}");
    assert!(!run.stderr.contains("s3cr3t-cookie"), "{run}");
    assert!(!run.stderr.contains("c00kie-value"), "{run}");
    assert!(run.stderr.contains("< set-cookie: <redacted>"), "{run}");
    assert!(run.stderr.contains("> cookie: <redacted>"), "{run}");
}

#[test]
fn a_key_echoed_with_json_unicode_escapes_is_masked() {
    let env = TestEnv::new();
    let key = format!("{}+&<x>", secret("esc"));
    let escaped: String = key
        .chars()
        .map(|c| match c {
            '+' | '&' | '<' | '>' => format!("\\u{:04X}", c as u32),
            c => c.to_string(),
        })
        .collect();
    let body = format!("{{\"echo\":\"{escaped}\"}}");
    let server = Server::start(move |_| Reply::json(200, &body));
    add_generic(
        &env,
        "api",
        &format!("{}/v1", server.url()),
        &key,
        &["--no-verify"],
    )
    .ok();
    let run = env.run(&["call", "api", "/echo"]);
    run.ok();
    assert!(run.stdout.contains("<redacted>"), "{run}");
    assert!(!run.stdout.contains(&escaped), "{run}");
}
