//! The wizard's recovery on a pseudo-terminal, word for word: the menu
//! after a 403 for a user who may not use the API (starting at other
//! answers), an unknown instance reported before the key, a plain-http
//! base URL offered as a choice, and the file store offered where there is
//! no OS keychain.

use super::wizard::Screen;
use crate::common::*;

const ENTER: &str = "\r";

#[test]
fn menu_after_a_forbidden_user() {
    let server = Server::start(|_| Reply::json(403, r#"{"message":"not an admin"}"#));
    let env = TestEnv::new();
    let mut s = Screen::start(
        &env,
        &[
            "add",
            "paligo",
            "--name",
            "paligo",
            "--instance",
            "acme",
            "--username",
            "me@acme.com",
        ],
        &[paligo_env(&server)],
    );
    s.until_asked();
    s.send(&format!("{}{ENTER}", secret("forbidden")));
    s.snapshot("menu_after_a_forbidden_user");
    s.cancel();
}

#[test]
fn an_unknown_instance_before_the_key() {
    let server = Server::open(|_| Reply::json(404, r#"{"message":"no such instance"}"#));
    let env = TestEnv::new();
    let mut s = Screen::start(
        &env,
        &[
            "add",
            "paligo",
            "--name",
            "paligo",
            "--instance",
            "acmee",
            "--username",
            "me@acme.com",
        ],
        &[paligo_env(&server)],
    );
    s.snapshot("unknown_instance_before_the_key");
    s.cancel();
}

#[test]
fn a_plain_http_base_url_is_a_choice() {
    let env = TestEnv::new();
    let mut s = Screen::start(
        &env,
        &[
            "add",
            "generic",
            "--name",
            "api",
            "--no-verify",
            "--base-url",
            "http://api.example.test/v1",
        ],
        &[],
    );
    s.snapshot("menu_plain_http_base_url");
    s.cancel();
}

#[test]
fn the_file_store_offered_without_a_keychain() {
    let env = TestEnv::new();
    let mut s = Screen::start(
        &env,
        &["add", "paymo", "--no-verify"],
        &[(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/bus".to_string(),
        )],
    );
    s.snapshot("file_store_offered_without_a_keychain");
    s.cancel();
}
