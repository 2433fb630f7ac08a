//! The wizard on a pseudo-terminal: each provider's guide text up to its
//! first question, and the menus (where the key goes, a name in use, what
//! now after a rejected key, a new file store). Each snapshot is what cred
//! printed until it sat waiting for the person's answer, so no prompt text
//! is written into the test itself: a changed sentence shows as a snapshot
//! diff.

use std::time::{Duration, Instant};

use rexpect::session::{Options, PtySession, spawn_with_options};

use crate::common::*;

const ENTER: &str = "\r";

/// `cred` on a pseudo-terminal, read screen by screen.
pub(super) struct Screen {
    session: PtySession,
    /// The command line, for the snapshot.
    args: Vec<String>,
}

impl Screen {
    pub(super) fn start(env: &TestEnv, args: &[&str], extra: &[(&str, String)]) -> Screen {
        let mut cmd = std_cmd(env);
        cmd.args(args).env("TERM", "xterm");
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let options = Options::new()
            .timeout_ms(Some(20_000))
            .strip_ansi_escape_codes(true);
        Screen {
            session: spawn_with_options(cmd, options).expect("spawn cred on a pty"),
            args: args.iter().map(|a| a.to_string()).collect(),
        }
    }

    /// Everything cred printed until it waits in read(0, …) for an
    /// answer, with line ends as `\n`.
    pub(super) fn until_asked(&mut self) -> String {
        let pty = self.session.process().get_file_handle().unwrap();
        // read(0, …), or poll/ppoll (a prompt waiting for a key).
        let (read, poll): (&str, &[&str]) = if cfg!(target_arch = "aarch64") {
            ("63", &["73"])
        } else {
            ("0", &["7", "271"])
        };
        let start = Instant::now();
        // The same wait seen ten times over 45 ms: a passing poll (std's
        // check of fds 0-2 at start-up) is not cred waiting for an answer.
        let mut seen = 0;
        loop {
            // cred leads the terminal's foreground process group (once it
            // has the terminal: none right after the spawn).
            let syscall = rustix::termios::tcgetpgrp(&pty)
                .ok()
                .and_then(|pid| {
                    std::fs::read_to_string(format!("/proc/{}/syscall", pid.as_raw_nonzero())).ok()
                })
                .unwrap_or_default();
            let mut fields = syscall.split_whitespace();
            let (call, first) = (fields.next(), fields.next());
            if (call == Some(read) && first == Some("0x0")) || poll.contains(&call.unwrap_or("")) {
                seen += 1;
                if seen == 10 {
                    break;
                }
            } else {
                seen = 0;
            }
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "cred never read its terminal: {syscall}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        // cred has written all it will before this read; take it all: the
        // kernel holds none of it any more, and nothing more arrives.
        // (rexpect hands over each byte as a char.)
        let mut bytes = Vec::new();
        let mut quiet = 0;
        while quiet < 5 {
            let pending = rustix::io::ioctl_fionread(&pty).unwrap_or(0);
            match self.session.try_read() {
                Some(c) => {
                    bytes.push(c as u32 as u8);
                    quiet = 0;
                }
                None if pending == 0 => {
                    quiet += 1;
                    std::thread::sleep(Duration::from_millis(10));
                }
                None => std::thread::sleep(Duration::from_millis(5)),
            }
        }
        let text = String::from_utf8_lossy(&bytes).replace("\r\n", "\n");
        // A spinner's frames depend on time: each frame becomes one line
        // (its glyph shown as ⠿), and repeats collapse.
        let mut lines: Vec<String> = Vec::new();
        for line in text.replace('\r', "\n").lines() {
            let line: String = line
                .trim_end()
                .chars()
                .map(|c| {
                    if ('\u{2800}'..='\u{28ff}').contains(&c) {
                        '⠿'
                    } else {
                        c
                    }
                })
                .collect();
            if lines.last() != Some(&line) {
                lines.push(line);
            }
        }
        lines.join("\n")
    }

    /// Snapshots what cred printed until its next question as `name`.
    pub(super) fn snapshot(&mut self, name: &str) {
        let text = self.until_asked();
        let shown = format!(
            "$ cred {} (on a terminal)\n{}",
            self.args.join(" "),
            text.trim_end()
        );
        super::settings().bind(|| insta::assert_snapshot!(name, shown));
    }

    pub(super) fn send(&mut self, keys: &str) {
        self.session.send(keys).unwrap();
        self.session.flush().unwrap();
    }

    /// Waits for the end; returns the exit code.
    pub(super) fn finish(mut self) -> i32 {
        let _ = self.session.exp_eof();
        match self.session.process().wait().unwrap() {
            rexpect::process::WaitStatus::Exited(_, code) => code,
            other => panic!("cred ended with {other:?}"),
        }
    }

    /// Ctrl-C, then the end.
    pub(super) fn cancel(mut self) {
        self.send("\x03");
        let _ = self.session.exp_eof();
        let _ = self.session.process().wait();
    }
}

#[test]
fn guide_paligo() {
    let env = TestEnv::new();
    let mut s = Screen::start(&env, &["add", "paligo"], &[]);
    s.snapshot("guide_paligo");
    s.cancel();
}

#[test]
fn guide_paymo() {
    let env = TestEnv::new();
    let mut s = Screen::start(&env, &["add", "paymo"], &[]);
    s.snapshot("guide_paymo");
    s.cancel();
}

#[test]
fn guide_generic_and_where_the_key_goes() {
    let env = TestEnv::new();
    let mut s = Screen::start(&env, &["add", "generic"], &[]);
    s.snapshot("guide_generic");
    s.cancel();
    let mut s = Screen::start(
        &env,
        &[
            "add",
            "generic",
            "--name",
            "api",
            "--base-url",
            "https://api.example.com/v1",
        ],
        &[],
    );
    s.snapshot("menu_where_the_key_goes");
    s.cancel();
}

#[test]
fn menu_a_name_in_use() {
    let env = TestEnv::new();
    env.add(&["paymo", "--no-verify"], &secret("old"), &[]).ok();
    let mut s = Screen::start(
        &env,
        &["add", "paymo", "--no-verify", "--name", "paymo"],
        &[],
    );
    s.snapshot("menu_name_in_use");
    s.cancel();
}

#[test]
fn menu_after_a_rejected_key() {
    let server = Server::start(|_| Reply::json(401, r#"{"error":"invalid key"}"#));
    let env = TestEnv::new();
    let mut s = Screen::start(
        &env,
        &["add", "paymo", "--name", "paymo"],
        &[paymo_env(&server)],
    );
    s.snapshot("key_prompt_paymo");
    s.send(&format!("{}{ENTER}", secret("rejected")));
    s.snapshot("menu_after_a_rejected_key");
    s.cancel();
}

#[test]
fn a_new_file_store() {
    let env = TestEnv::new();
    let mut s = Screen::start(
        &env,
        &[
            "add",
            "paymo",
            "--no-verify",
            "--name",
            "paymo",
            "--description",
            "d",
            "--store",
            "file",
        ],
        &[
            (
                "DBUS_SESSION_BUS_ADDRESS",
                "unix:path=/nonexistent/bus".to_string(),
            ),
            ("CRED_API_KEY", secret("file")),
        ],
    );
    s.snapshot("new_file_store_passphrase");
    s.cancel();
}
