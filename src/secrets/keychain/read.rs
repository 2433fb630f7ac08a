//! The quick way to read one secret from the Secret Service (Linux, the
//! BSDs): one connection, the service's properties (which gnome-keyring
//! needs to have seen the caller first), an encrypted session, one search,
//! then the secret and the item's attributes, in four round trips on the
//! bus and no runtime. What the keyring crate does for a read costs a tokio runtime,
//! a slower key exchange and two searches.
//!
//! It reads only the plain case: exactly one unlocked item. Anything else
//! (no usable bus, a service without the encrypted algorithm, a locked
//! item, several items, a secret that is not UTF-8) is handed back as
//! [`Found::Ask`], and the keyring crate's path answers as it always did
//! (it unlocks, prompts, names the ambiguity). An answer the service should
//! never give (a secret for another session, one that does not decrypt, a
//! message over [`dbus::MAX_MESSAGE`]) is an error.

use std::collections::HashMap;
use std::num::NonZeroU32;

use secrecy::SecretString;
use zbus::zvariant::{OwnedObjectPath, OwnedValue, Value};
use zeroize::Zeroizing;

use super::dbus::{self, Bus, BusError};
use super::session::{self, Keypair};

const DEST: &str = "org.freedesktop.secrets";
const SERVICE_PATH: &str = "/org/freedesktop/secrets";
const SERVICE_IFACE: &str = "org.freedesktop.Secret.Service";
const ITEM_IFACE: &str = "org.freedesktop.Secret.Item";
const PROPERTIES_IFACE: &str = "org.freedesktop.DBus.Properties";

/// What the quick read found.
#[derive(Debug)]
pub enum Found {
    /// The secret and the item's attributes.
    Secret {
        secret: SecretString,
        attributes: HashMap<String, String>,
    },
    /// No item has these attributes (none locked either).
    Nothing,
    /// Not a case this reader handles: ask the keyring crate. The reason is
    /// for `-v`-style diagnostics and tests, never shown with a secret.
    Ask(String),
}

/// The service answered something it should not have.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Unreadable(pub String);

/// The secret of the one item with these attributes.
pub fn lookup(attributes: &HashMap<&str, &str>) -> Result<Found, Unreadable> {
    let mut bus = match Bus::session() {
        Ok(bus) => bus,
        Err(e) => return Ok(Found::Ask(e.to_string())),
    };
    let warm = match warm_up(&mut bus) {
        Ok(serial) => serial,
        Err(e) => return Ok(Found::Ask(e.to_string())),
    };
    // Made while the service answers: the key pair needs nothing from it.
    let keypair = match Keypair::generate() {
        Ok(k) => k,
        Err(e) => return Ok(Found::Ask(e.to_string())),
    };
    match read(&mut bus, warm, &keypair, attributes) {
        Ok(found) => Ok(found),
        // The bus or the service would not talk to us, or a call failed:
        // the keyring crate's path says why, in its words.
        Err(Step::Ask(e)) => Ok(Found::Ask(e.to_string())),
        Err(Step::Unreadable(what)) => Err(Unreadable(what)),
    }
}

/// Asks the service's properties, a call that needs no caller record;
/// [`read`] waits for the answer before anything else is sent, as
/// libsecret's proxy does. gnome-keyring 42 sets up a new caller
/// asynchronously, and an OpenSession that overtakes that set-up crashes
/// the daemon (`gkd_secret_service_get_pkcs11_session: assertion 'client'
/// failed`). Without this call a loop of `cred secret` took the daemon down
/// in 5 of 9 runs of 1,500 reads; with it, in none of 16 (24,000 reads).
fn warm_up(bus: &mut Bus) -> Result<NonZeroU32, BusError> {
    let warm = dbus::method_call(
        DEST,
        SERVICE_PATH,
        PROPERTIES_IFACE,
        "GetAll",
        &(SERVICE_IFACE,),
    )?;
    Ok(bus.send(&[&warm])?[0])
}

enum Step {
    Ask(BusError),
    Unreadable(String),
}

impl From<BusError> for Step {
    fn from(e: BusError) -> Step {
        match e {
            // Garbage from a peer is not something to retry elsewhere.
            BusError::Protocol(what) => Step::Unreadable(what),
            e => Step::Ask(e),
        }
    }
}

fn read(
    bus: &mut Bus,
    warm: NonZeroU32,
    keypair: &Keypair,
    attributes: &HashMap<&str, &str>,
) -> Result<Found, Step> {
    // The service knows this caller once its properties are answered.
    bus.reply(warm)?;
    let open = dbus::method_call(
        DEST,
        SERVICE_PATH,
        SERVICE_IFACE,
        "OpenSession",
        &(session::ALGORITHM, Value::from(keypair.public().to_vec())),
    )?;
    let serials = bus.send(&[&open])?;
    let opened = bus.reply(serials[0])?;
    let (output, session_path): (OwnedValue, OwnedObjectPath) = opened.body()?;
    let server_public: Vec<u8> = Vec::try_from(output)
        .map_err(|_| Step::Unreadable("the service's session key is not a byte array".into()))?;
    let key = keypair
        .session_key(&server_public)
        .map_err(|e| Step::Unreadable(e.to_string()))?;

    let search = dbus::method_call(DEST, SERVICE_PATH, SERVICE_IFACE, "SearchItems", attributes)?;
    let serials = bus.send(&[&search])?;
    let found = bus.reply(serials[0])?;
    let (unlocked, locked): (Vec<OwnedObjectPath>, Vec<OwnedObjectPath>) = found.body()?;
    // The session ends with the connection (the service drops a caller's
    // sessions when it leaves the bus): no Close is sent, so no call is
    // in flight when cred exits.
    let item = match (unlocked.as_slice(), locked.as_slice()) {
        ([], []) => return Ok(Found::Nothing),
        ([item], []) => item.clone(),
        _ => {
            return Ok(Found::Ask(format!(
                "{} unlocked and {} locked items match",
                unlocked.len(),
                locked.len()
            )));
        }
    };

    // The secret and the item's attributes, together: the service knows
    // this caller by now.
    let get = dbus::method_call(DEST, item.as_str(), ITEM_IFACE, "GetSecret", &session_path)?;
    let props = dbus::method_call(
        DEST,
        item.as_str(),
        PROPERTIES_IFACE,
        "Get",
        &(ITEM_IFACE, "Attributes"),
    )?;
    let serials = bus.send(&[&get, &props])?;

    let secret = bus.reply(serials[0])?;
    let (for_session, iv, value, _content_type): (OwnedObjectPath, Vec<u8>, Vec<u8>, String) =
        secret.body()?;
    if for_session != session_path {
        return Err(Step::Unreadable(format!(
            "the secret came for session {} instead of {}",
            for_session.as_str(),
            session_path.as_str()
        )));
    }
    let plain = key
        .decrypt(&iv, &value)
        .map_err(|e| Step::Unreadable(e.to_string()))?;
    let Some(secret) = utf8_secret(plain) else {
        // The keyring crate reports a secret that is not text in its words.
        return Ok(Found::Ask("the secret is not UTF-8".into()));
    };

    let props = bus.reply(serials[1])?;
    let attributes: OwnedValue = props.body()?;
    let attributes: HashMap<String, String> = HashMap::try_from(attributes).map_err(|_| {
        Step::Unreadable("the item's attributes are not a string dictionary".into())
    })?;
    Ok(Found::Secret { secret, attributes })
}

/// The plaintext as a secret string, copied once into an allocation of its
/// exact size (so no spare capacity keeps a copy); the plaintext buffer is
/// wiped when dropped.
fn utf8_secret(plain: Zeroizing<Vec<u8>>) -> Option<SecretString> {
    let text = std::str::from_utf8(&plain).ok()?;
    Some(SecretString::from(Box::<str>::from(text)))
}
