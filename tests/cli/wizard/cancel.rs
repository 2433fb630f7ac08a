//! The wizard interrupted: Ctrl-C at the hidden key prompt, at a menu and
//! during the check's spinner puts the terminal back (echo, canonical
//! mode, the cursor) and stores nothing (exit 130); without a session bus
//! the wizard stops before its first question when the keychain was
//! asked for by name.

use std::time::Duration;

use super::*;

#[test]
fn ctrl_c_during_the_check_spinner_stores_nothing_and_exits_130() {
    let env = TestEnv::new();
    let server = Server::start(|_| Reply::json(200, "{}").delay(Duration::from_secs(20)));
    let key = secret("spinner");
    let mut w = Wizard::start_echoing(
        &env,
        &["add", "paymo", "--name", "paymo"],
        &[paymo_env(&server)],
    );
    w.answer_hidden("API key", &key);
    w.expect("Checking the key with Paymo");
    let seen = w.ctrl_c_restores_echo();
    assert!(seen.contains("cancelled: nothing stored"), "{seen}");
    assert_nothing_stored(&env, "paymo", Some(&key));
}

#[test]
fn ctrl_c_at_the_key_prompt_restores_echo_and_exits_130() {
    let env = TestEnv::new();
    // Echo on before cred starts, as a shell leaves the terminal.
    let mut w = Wizard::start_echoing(
        &env,
        &["add", "paymo", "--no-verify", "--name", "paymo"],
        &[],
    );
    w.wait_reading("API key");
    let hidden = w.termios();
    assert!(
        !hidden
            .local_modes
            .contains(rustix::termios::LocalModes::ECHO),
        "the key prompt did not hide the input"
    );
    let seen = w.ctrl_c_restores_echo();
    assert!(seen.contains("cancelled: nothing stored"), "{seen}");
    assert_nothing_stored(&env, "paymo", None);
}

#[test]
fn without_a_session_bus_the_wizard_stops_before_its_first_question() {
    let env = TestEnv::new();
    // The keychain asked for by name: the file store is not offered
    // (wizard/headless.rs), the wizard stops at once.
    let w = Wizard::start(
        &env,
        &["add", "paligo", "--store", "keychain"],
        &[(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/cred-test-bus".to_string(),
        )],
    );
    let (code, seen) = w.finish();
    assert_eq!(code, 7, "{seen}");
    assert!(
        seen.contains("cannot reach the OS keychain: no D-Bus session bus"),
        "{seen}"
    );
    assert!(seen.contains("CRED_SECRET_<NAME>"), "{seen}");
    assert!(!seen.contains("? "), "a question was asked:\n{seen}");
    assert!(!seen.contains("Paligo: you need"), "{seen}");
    assert!(!env.config_path().exists());
}

#[test]
fn ctrl_c_at_a_menu_shows_the_cursor_again() {
    let env = TestEnv::new();
    let server = Server::start(|_| Reply::json(401, "{}"));
    let mut w = Wizard::start_with(
        &env,
        &["add", "paymo", "--name", "paymo"],
        &[paymo_env(&server)],
        false,
    );
    w.expect("API key");
    w.until_reading();
    w.send(&format!("{}{ENTER}", secret("menu")));
    w.expect("Quit without storing anything");
    w.send("\x03");
    let (code, seen) = w.finish();
    assert_eq!(code, 130, "{seen}");
    let hidden = seen.rfind("\x1b[?25l").expect("the menu hid the cursor");
    let shown = seen.rfind("\x1b[?25h").unwrap_or(0);
    assert!(shown > hidden, "the cursor is still hidden:\n{seen:?}");
    // The menu reads the ^C and the terminal also sends SIGINT: said once.
    assert_eq!(
        seen.matches("cancelled: nothing stored").count(),
        1,
        "{seen}"
    );
    assert_nothing_stored(&env, "paymo", None);
}
