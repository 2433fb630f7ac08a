//! A minimal blocking D-Bus client on one Unix socket, for the keychain
//! read: connect to the session bus, authenticate (EXTERNAL), send method
//! calls (several at once, so one round trip serves them all) and read their
//! replies. Messages are built by zbus's `Message` builder and read with
//! zvariant; no runtime, no thread, no reader task.
//!
//! It speaks only what the read needs: `unix:path=` and `unix:abstract=`
//! addresses, no file descriptors, no incoming calls (signals and calls to
//! us are skipped). Every message read is bounded ([`MAX_MESSAGE`]).

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::num::NonZeroU32;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;

use zbus::Message;
use zbus::zvariant::serialized::{Context, Data};
use zbus::zvariant::{DynamicDeserialize, DynamicType, Endian, OwnedValue, Signature, Value};

/// The largest message read: far above any API key, far below what a
/// hostile service could make cred hold (D-Bus allows 128 MiB).
pub const MAX_MESSAGE: usize = 1 << 20;
/// The primary header: endianness, type, flags, version, body length,
/// serial, header-fields length.
const FIXED_HEADER: usize = 16;

const METHOD_RETURN: u8 = 2;
const ERROR: u8 = 3;
const FIELD_ERROR_NAME: u8 = 4;
const FIELD_REPLY_SERIAL: u8 = 5;
const FIELD_SIGNATURE: u8 = 8;

/// Why a call did not give an answer.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// No session bus address this client can use (unset, or a transport
    /// other than a Unix socket).
    #[error("no usable session bus address")]
    NoAddress,
    #[error("the session bus refused authentication")]
    Auth,
    #[error("reading from or writing to the session bus failed: {0}")]
    Io(#[from] io::Error),
    /// The peer answered with a D-Bus error.
    #[error("{name}: {message}")]
    Failed { name: String, message: String },
    /// Something that is not the D-Bus protocol, or not the answer's
    /// documented type.
    #[error("{0}")]
    Protocol(String),
}

impl BusError {
    fn protocol(what: impl std::fmt::Display) -> BusError {
        BusError::Protocol(what.to_string())
    }
}

/// A method reply: its body, to read as the type the call returns.
pub struct Reply {
    bytes: Vec<u8>,
    body_start: usize,
    endian: Endian,
    signature: Signature,
}

impl Reply {
    /// The body as `T` (an owned type); a body of another type is an error.
    pub fn body<T>(&self) -> Result<T, BusError>
    where
        T: for<'d> DynamicDeserialize<'d>,
    {
        let data = Data::new(
            &self.bytes[self.body_start..],
            Context::new_dbus(self.endian, 0),
        );
        data.deserialize_for_dynamic_signature::<_, T>(&self.signature)
            .map(|(value, _)| value)
            .map_err(|e| {
                BusError::protocol(format_args!(
                    "an answer of type `{}` that cannot be read: {e}",
                    self.signature
                ))
            })
    }
}

/// One connection to the session bus.
pub struct Bus {
    stream: UnixStream,
    /// Bytes read but not yet used.
    pending: Vec<u8>,
    /// Replies read while waiting for another, by the serial they answer.
    early: HashMap<u32, Result<Reply, BusError>>,
    /// `Hello`, until its answer is read.
    hello: Option<NonZeroU32>,
}

impl Bus {
    /// Connects to the session bus and authenticates. The bus's `Hello` is
    /// sent with the first batch of calls ([`Bus::send`]) and its answer
    /// read with theirs: the first call costs no round trip of its own.
    pub fn session() -> Result<Bus, BusError> {
        let stream = connect_session()?;
        let hello = method_call(
            "org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus",
            "Hello",
            &(),
        )?;
        let mut bus = Bus {
            stream,
            pending: Vec::new(),
            early: HashMap::new(),
            hello: Some(hello.primary_header().serial_num()),
        };
        bus.authenticate()?;
        bus.stream.write_all(b"BEGIN\r\n")?;
        bus.stream.write_all(hello.data())?;
        Ok(bus)
    }

    fn authenticate(&mut self) -> Result<(), BusError> {
        let uid = rustix::process::getuid().as_raw().to_string();
        let hex: String = uid.bytes().map(|b| format!("{b:02x}")).collect();
        self.stream
            .write_all(format!("\0AUTH EXTERNAL {hex}\r\n").as_bytes())?;
        let line = self.read_line()?;
        if line.starts_with(b"OK ") {
            Ok(())
        } else {
            Err(BusError::Auth)
        }
    }

    /// One line of the authentication exchange (the server says nothing
    /// else before `BEGIN`).
    fn read_line(&mut self) -> Result<Vec<u8>, BusError> {
        loop {
            if let Some(end) = self.pending.windows(2).position(|w| w == b"\r\n") {
                let line = self.pending[..end].to_vec();
                self.pending.drain(..end + 2);
                return Ok(line);
            }
            if self.pending.len() > 4096 {
                return Err(BusError::Auth);
            }
            self.fill()?;
        }
    }

    fn fill(&mut self) -> Result<(), BusError> {
        let mut chunk = [0u8; 8192];
        let n = self.stream.read(&mut chunk)?;
        if n == 0 {
            return Err(BusError::Io(io::ErrorKind::UnexpectedEof.into()));
        }
        self.pending.extend_from_slice(&chunk[..n]);
        Ok(())
    }

    /// Sends calls in one write; returns their serials, to wait on.
    pub fn send(&mut self, calls: &[&Message]) -> Result<Vec<NonZeroU32>, BusError> {
        let mut out = Vec::new();
        for call in calls {
            out.extend_from_slice(call.data());
        }
        self.stream.write_all(&out)?;
        Ok(calls
            .iter()
            .map(|c| c.primary_header().serial_num())
            .collect())
    }

    /// The answer to the call with serial `serial` (after the bus's own
    /// answer to `Hello`, which must be a success).
    pub fn reply(&mut self, serial: NonZeroU32) -> Result<Reply, BusError> {
        if let Some(hello) = self.hello.take() {
            // The bus refusing `Hello` is the bus refusing us.
            self.wait(hello.get()).map_err(|e| match e {
                BusError::Failed { .. } => BusError::Auth,
                e => e,
            })?;
        }
        self.wait(serial.get())
    }

    fn wait(&mut self, serial: u32) -> Result<Reply, BusError> {
        loop {
            if let Some(answer) = self.early.remove(&serial) {
                return answer;
            }
            let Some((reply_to, answer)) = self.read_message()? else {
                continue;
            };
            if reply_to == serial {
                return answer;
            }
            self.early.insert(reply_to, answer);
        }
    }

    /// The next message: `Some((serial it answers, answer))` for a reply or
    /// an error, `None` for anything else (signals, calls to us).
    #[allow(clippy::type_complexity)]
    fn read_message(&mut self) -> Result<Option<(u32, Result<Reply, BusError>)>, BusError> {
        while self.pending.len() < FIXED_HEADER {
            self.fill()?;
        }
        let endian = match self.pending[0] {
            b'l' => Endian::Little,
            b'B' => Endian::Big,
            other => {
                return Err(BusError::protocol(format_args!(
                    "a message with byte order {other:#04x}"
                )));
            }
        };
        let u32_at = |b: &[u8], at: usize| {
            let raw: [u8; 4] = b[at..at + 4].try_into().expect("4 bytes");
            match endian {
                Endian::Little => u32::from_le_bytes(raw),
                Endian::Big => u32::from_be_bytes(raw),
            }
        };
        let kind = self.pending[1];
        let body_len = u32_at(&self.pending, 4) as usize;
        let fields_len = u32_at(&self.pending, 12) as usize;
        let header_end = FIXED_HEADER
            .checked_add(fields_len)
            .ok_or_else(|| BusError::protocol("a message header too large"))?;
        let body_start = header_end.next_multiple_of(8);
        let total = body_start
            .checked_add(body_len)
            .filter(|&n| n <= MAX_MESSAGE)
            .ok_or_else(|| {
                BusError::protocol(format_args!(
                    "a message of more than {} KiB (header {fields_len} bytes, body {body_len} bytes)",
                    MAX_MESSAGE >> 10
                ))
            })?;
        while self.pending.len() < total {
            self.fill()?;
        }
        let rest = self.pending.split_off(total);
        let bytes = std::mem::replace(&mut self.pending, rest);

        if kind != METHOD_RETURN && kind != ERROR {
            return Ok(None);
        }
        let fields = Data::new(&bytes[12..header_end], Context::new_dbus(endian, 12));
        let (fields, _): (Vec<(u8, OwnedValue)>, _) = fields
            .deserialize()
            .map_err(|e| BusError::protocol(format_args!("an unreadable message header: {e}")))?;
        let mut reply_to = None;
        let mut signature = Signature::Unit;
        let mut error_name = None;
        for (code, value) in fields {
            match (code, &*value) {
                (FIELD_REPLY_SERIAL, Value::U32(n)) => reply_to = Some(*n),
                (FIELD_SIGNATURE, Value::Signature(s)) => signature = s.clone(),
                (FIELD_ERROR_NAME, Value::Str(s)) => error_name = Some(s.to_string()),
                _ => {}
            }
        }
        let reply_to =
            reply_to.ok_or_else(|| BusError::protocol("a reply without a reply serial"))?;
        let reply = Reply {
            bytes,
            body_start,
            endian,
            signature,
        };
        if kind == ERROR {
            // The error's text is its first argument when it is a string.
            let message = if reply.signature.to_string().starts_with('s') {
                let data = Data::new(
                    &reply.bytes[reply.body_start..],
                    Context::new_dbus(endian, 0),
                );
                data.deserialize_for_signature::<_, String>("s")
                    .map(|(s, _)| s)
                    .unwrap_or_default()
            } else {
                String::new()
            };
            let name = error_name.unwrap_or_else(|| "(an unnamed error)".into());
            return Ok(Some((reply_to, Err(BusError::Failed { name, message }))));
        }
        Ok(Some((reply_to, Ok(reply))))
    }
}

/// A method call to `destination`, ready to send.
pub fn method_call<B>(
    destination: &str,
    path: &str,
    interface: &str,
    member: &str,
    body: &B,
) -> Result<Message, BusError>
where
    B: serde::Serialize + DynamicType,
{
    Message::method_call(path, member)
        .and_then(|m| m.destination(destination))
        .and_then(|m| m.interface(interface))
        .and_then(|m| m.build(body))
        .map_err(|e| BusError::protocol(format_args!("cannot build a call to {member}: {e}")))
}

/// Where the session bus is, as this client can reach it.
enum Address {
    Path(PathBuf),
    #[cfg(any(target_os = "linux", target_os = "android"))]
    Abstract(Vec<u8>),
}

fn connect_session() -> Result<UnixStream, BusError> {
    // Unset: the keyring crate's path knows the platform's default.
    let addresses = std::env::var("DBUS_SESSION_BUS_ADDRESS")
        .map(|list| parse_addresses(&list))
        .unwrap_or_default();
    let mut last = BusError::NoAddress;
    for address in addresses {
        let connected = match address {
            Address::Path(path) => UnixStream::connect(path),
            #[cfg(any(target_os = "linux", target_os = "android"))]
            Address::Abstract(name) => {
                use std::os::linux::net::SocketAddrExt;
                std::os::unix::net::SocketAddr::from_abstract_name(&name)
                    .and_then(|a| UnixStream::connect_addr(&a))
            }
        };
        match connected {
            Ok(stream) => return Ok(stream),
            Err(e) => last = BusError::Io(e),
        }
    }
    Err(last)
}

/// The `unix:path=` and `unix:abstract=` entries of a D-Bus address list,
/// in order; other transports are left to the keyring crate.
fn parse_addresses(list: &str) -> Vec<Address> {
    let mut out = Vec::new();
    for entry in list.split(';') {
        let Some(params) = entry.strip_prefix("unix:") else {
            continue;
        };
        for param in params.split(',') {
            let Some((key, value)) = param.split_once('=') else {
                continue;
            };
            let Some(value) = unescape(value) else {
                continue;
            };
            match key {
                "path" => {
                    use std::os::unix::ffi::OsStringExt;
                    out.push(Address::Path(std::ffi::OsString::from_vec(value).into()));
                }
                #[cfg(any(target_os = "linux", target_os = "android"))]
                "abstract" => out.push(Address::Abstract(value)),
                _ => {}
            }
        }
    }
    out
}

/// A D-Bus address value with its `%XX` escapes decoded.
fn unescape(value: &str) -> Option<Vec<u8>> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_read_as_libdbus_writes_them() {
        let list =
            "tcp:host=localhost,port=1;unix:path=/tmp/a%20b,guid=00ff;unix:abstract=/tmp/dbus-X";
        let found = parse_addresses(list);
        assert_eq!(found.len(), 2);
        assert!(matches!(&found[0], Address::Path(p) if p == std::path::Path::new("/tmp/a b")));
        #[cfg(target_os = "linux")]
        assert!(matches!(&found[1], Address::Abstract(n) if n == b"/tmp/dbus-X"));
        assert!(parse_addresses("unix:path=/x%zz").is_empty());
        assert!(parse_addresses("launchd:env=X").is_empty());
    }
}
