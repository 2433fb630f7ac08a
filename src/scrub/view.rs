//! The normalised view the masker matches in: what a program's output
//! says once its escapes are read, the way a person (or the next program)
//! would read them.
//!
//! [`decode`] turns the original bytes into the view and records, for every
//! place the two differ, a [`Span`], so that a match in the view maps back
//! to the original bytes that spelled it:
//! - percent-escapes `%XX` (either case) become the byte;
//! - JSON string escapes (`\"` `\\` `\/` `\b` `\f` `\n` `\r` `\t` and
//!   `\uXXXX`, surrogate pairs too) become the character's UTF-8 bytes;
//! - terminal escape sequences (CSI such as the colours `grep --color`
//!   prints, and the two-byte `ESC X` ones such as an OSC's opening and
//!   closing) become nothing; an OSC's text stays, so a key inside a
//!   hyperlink is still seen;
//! - a line break after a run of at least [`WRAP_RUN`] base64 characters
//!   becomes nothing, so base64 wrapped at 76 or 64 columns (MIME, PEM,
//!   `base64.encodebytes`) reads as one string.
//!
//! Each escape is decoded once: `%255C` is `%5C` in the view, as one
//! decoder would leave it. An escape that the end of the data cuts short
//! is not decided (unless it is the last of the data): the caller keeps it
//! back until more comes.

/// A line break is read as a wrap of encoded text (and skipped) after at
/// least this many base64 characters in a row.
pub const WRAP_RUN: usize = 16;

/// A CSI sequence longer than this is not one (its ESC is a plain byte):
/// an unterminated one cannot hold output back for ever.
const MAX_CSI: usize = 64;

/// Where the view differs from the original: `orig_len` original bytes at
/// `orig` were read as the `view_len` view bytes at `view`.
#[derive(Clone, Copy, Debug)]
pub struct Span {
    pub orig: usize,
    pub orig_len: usize,
    pub view: usize,
    pub view_len: usize,
    /// A complete CSI sequence (colours and the like): put back after a
    /// mask that covers it, so the terminal's state stays as the program
    /// meant. Nothing of a key can be in it, as it is not in the view.
    pub csi: bool,
}

/// The view of some original bytes.
#[derive(Default)]
pub struct View {
    pub bytes: Vec<u8>,
    pub spans: Vec<Span>,
    /// How many original bytes are decided; the rest is an escape the end
    /// of the data cut short.
    pub decided: usize,
}

impl View {
    /// The original offset where the view byte at `v` begins (`v` may be
    /// the view's length: then the end of what is decided).
    pub fn orig_start(&self, v: usize) -> usize {
        if v >= self.bytes.len() {
            return self.decided;
        }
        let i = self.spans.partition_point(|s| s.view + s.view_len <= v);
        if let Some(s) = self.spans.get(i)
            && s.view <= v
        {
            return s.orig;
        }
        self.identity(i, v)
    }

    /// The original offset just past the view bytes before `v` (`v` > 0).
    pub fn orig_end(&self, v: usize) -> usize {
        let last = v - 1;
        let i = self.spans.partition_point(|s| s.view + s.view_len <= last);
        if let Some(s) = self.spans.get(i)
            && s.view <= last
        {
            return s.orig + s.orig_len;
        }
        self.identity(i, last) + 1
    }

    /// The original offset of view byte `v`, which no span covers, `i`
    /// being the first span after it.
    fn identity(&self, i: usize, v: usize) -> usize {
        match i.checked_sub(1).map(|j| self.spans[j]) {
            Some(s) => s.orig + s.orig_len + (v - (s.view + s.view_len)),
            None => v,
        }
    }

    /// The CSI sequences in the original range `from..to`.
    pub fn csi_within(&self, from: usize, to: usize) -> impl Iterator<Item = (usize, usize)> + '_ {
        let i = self.spans.partition_point(|s| s.orig < from);
        self.spans[i..]
            .iter()
            .take_while(move |s| s.orig + s.orig_len <= to)
            .filter(|s| s.csi)
            .map(|s| (s.orig, s.orig + s.orig_len))
    }
}

/// Whether `b` may begin something the view reads differently.
#[inline]
fn special(b: u8) -> bool {
    matches!(b, b'%' | b'\\' | 0x1b | b'\r' | b'\n')
}

/// The offset of the first byte that may begin an escape, if any. Looks at
/// 32 bytes at a time without branching, so that plain output (the common
/// case) is scanned at memory speed.
pub fn find_special(data: &[u8]) -> Option<usize> {
    let mut chunks = data.chunks_exact(32);
    let mut base = 0;
    for chunk in &mut chunks {
        let mut any = false;
        for &b in chunk {
            any |= (b == b'%') | (b == b'\\') | (b == 0x1b) | (b == b'\r') | (b == b'\n');
        }
        if any {
            return chunk.iter().position(|&b| special(b)).map(|i| base + i);
        }
        base += 32;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| special(b))
        .map(|i| base + i)
}

/// A character of the base64 and base64url alphabets, padding included.
#[inline]
pub fn is_base64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_')
}

/// What one escape at the start of some bytes is.
enum Escape {
    /// `len` original bytes read as `out[..n]`.
    Text { len: usize, out: [u8; 4], n: usize },
    /// `len` original bytes read as nothing (a terminal sequence).
    Nothing { len: usize, csi: bool },
    /// Cut short by the end of the data: it may still become one.
    Incomplete,
    /// Not an escape: the first byte is a plain byte.
    Plain,
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// `%XX`.
fn percent(s: &[u8]) -> Escape {
    match (s.get(1).copied(), s.get(2).copied()) {
        (Some(a), Some(b)) => match (hex(a), hex(b)) {
            (Some(a), Some(b)) => Escape::Text {
                len: 3,
                out: [a << 4 | b, 0, 0, 0],
                n: 1,
            },
            _ => Escape::Plain,
        },
        (Some(a), None) if hex(a).is_some() => Escape::Incomplete,
        (None, _) => Escape::Incomplete,
        _ => Escape::Plain,
    }
}

/// Four hex digits at `s[at..]`: the number, or whether more could come.
fn hex4(s: &[u8], at: usize) -> Result<u32, bool> {
    let mut v = 0u32;
    for k in 0..4 {
        match s.get(at + k) {
            Some(&b) => match hex(b) {
                Some(d) => v = v << 4 | u32::from(d),
                None => return Err(false),
            },
            None => return Err(true),
        }
    }
    Ok(v)
}

fn text_of(c: char, len: usize) -> Escape {
    let mut out = [0u8; 4];
    let n = c.encode_utf8(&mut out).len();
    Escape::Text { len, out, n }
}

/// A JSON string escape.
fn json(s: &[u8]) -> Escape {
    let Some(&e) = s.get(1) else {
        return Escape::Incomplete;
    };
    let simple = match e {
        b'"' => b'"',
        b'\\' => b'\\',
        b'/' => b'/',
        b'b' => 0x08,
        b'f' => 0x0c,
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        b'u' => 0,
        _ => return Escape::Plain,
    };
    if e != b'u' {
        return Escape::Text {
            len: 2,
            out: [simple, 0, 0, 0],
            n: 1,
        };
    }
    let hi = match hex4(s, 2) {
        Ok(v) => v,
        Err(true) => return Escape::Incomplete,
        Err(false) => return Escape::Plain,
    };
    if !(0xd800..0xe000).contains(&hi) {
        return char::from_u32(hi).map_or(Escape::Plain, |c| text_of(c, 6));
    }
    if hi >= 0xdc00 {
        return Escape::Plain;
    }
    // A high surrogate: a low one must follow.
    for (k, want) in [(6, b'\\'), (7, b'u')] {
        match s.get(k) {
            Some(&b) if b == want => {}
            Some(_) => return Escape::Plain,
            None => return Escape::Incomplete,
        }
    }
    match hex4(s, 8) {
        Ok(lo) if (0xdc00..0xe000).contains(&lo) => {
            let c = 0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00);
            char::from_u32(c).map_or(Escape::Plain, |c| text_of(c, 12))
        }
        Err(true) => Escape::Incomplete,
        _ => Escape::Plain,
    }
}

/// A terminal escape sequence: CSI (`ESC [` parameters, intermediates,
/// final byte), or `ESC` intermediates and a final byte.
fn terminal(s: &[u8]) -> Escape {
    let Some(&first) = s.get(1) else {
        return Escape::Incomplete;
    };
    if first == b'[' {
        let mut i = 2;
        while let Some(&b) = s.get(i) {
            if i >= MAX_CSI {
                return Escape::Plain;
            }
            match b {
                // Parameters (0x30-0x3f) and intermediates (0x20-0x2f).
                0x20..=0x3f => i += 1,
                0x40..=0x7e => {
                    return Escape::Nothing {
                        len: i + 1,
                        csi: true,
                    };
                }
                _ => return Escape::Plain,
            }
        }
        return Escape::Incomplete;
    }
    let mut i = 1;
    while let Some(&b) = s.get(i) {
        match b {
            0x20..=0x2f if i < 8 => i += 1,
            0x30..=0x7e => {
                return Escape::Nothing {
                    len: i + 1,
                    csi: false,
                };
            }
            _ => return Escape::Plain,
        }
    }
    Escape::Incomplete
}

/// How many base64 characters end the view so far (skipped line breaks
/// not counting as a break), `before` being the count before the view's
/// start; at most [`WRAP_RUN`].
fn run(view: &[u8], before: usize) -> usize {
    let n = view
        .iter()
        .rev()
        .take(WRAP_RUN)
        .take_while(|&&b| is_base64(b))
        .count();
    if n == view.len() {
        (n + before).min(WRAP_RUN)
    } else {
        n
    }
}

/// Reads `data` into `view` (cleared first). `run_before` is how many
/// base64 characters came just before `data`; `last` says that nothing
/// follows, so an escape cut short is plain bytes.
pub fn decode(data: &[u8], run_before: usize, last: bool, view: &mut View) {
    view.bytes.clear();
    view.spans.clear();
    view.bytes.reserve(data.len());
    let mut i = 0;
    while i < data.len() {
        let j = find_special(&data[i..]).map_or(data.len(), |k| i + k);
        view.bytes.extend_from_slice(&data[i..j]);
        i = j;
        let Some(&b) = data.get(i) else {
            break;
        };
        let escape = match b {
            b'%' => percent(&data[i..]),
            b'\\' => json(&data[i..]),
            0x1b => terminal(&data[i..]),
            // A line break inside wrapped base64 reads as nothing.
            _ if run(&view.bytes, run_before) >= WRAP_RUN => Escape::Nothing { len: 1, csi: false },
            _ => Escape::Plain,
        };
        let escape = match escape {
            // A JSON `\n` or `\r` may wrap encoded text too.
            Escape::Text { len, out, n: 1 }
                if matches!(out[0], b'\n' | b'\r') && run(&view.bytes, run_before) >= WRAP_RUN =>
            {
                Escape::Nothing { len, csi: false }
            }
            Escape::Incomplete if last => Escape::Plain,
            other => other,
        };
        match escape {
            Escape::Plain => {
                view.bytes.push(b);
                i += 1;
            }
            Escape::Incomplete => {
                view.decided = i;
                return;
            }
            Escape::Text { len, out, n } => {
                view.spans.push(Span {
                    orig: i,
                    orig_len: len,
                    view: view.bytes.len(),
                    view_len: n,
                    csi: false,
                });
                view.bytes.extend_from_slice(&out[..n]);
                i += len;
            }
            Escape::Nothing { len, csi } => {
                view.spans.push(Span {
                    orig: i,
                    orig_len: len,
                    view: view.bytes.len(),
                    view_len: 0,
                    csi,
                });
                i += len;
            }
        }
    }
    view.decided = data.len();
}

/// The view of a whole text (nothing follows it).
pub fn normalised(data: &[u8]) -> Vec<u8> {
    let mut v = View::default();
    decode(data, 0, true, &mut v);
    v.bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(s: &str) -> String {
        String::from_utf8(normalised(s.as_bytes())).unwrap()
    }

    #[test]
    fn escapes_are_read() {
        assert_eq!(view("Ab3%2fxY%2B%41"), "Ab3/xY+A");
        assert_eq!(view(r#"a\/b\u002bc\u002Bd\"\\e"#), "a/b+c+d\"\\e");
        assert_eq!(view(r"\ud83d\ude00 \ud83d x"), "\u{1f600} \\ud83d x");
        assert_eq!(view("\x1b[01;31m\x1b[KAb\x1b[m\x1b[K3"), "Ab3");
        assert_eq!(
            view("\x1b]8;;http://x/?k=a%2Fb\x1b\\link"),
            "8;;http://x/?k=a/blink"
        );
        // Not escapes.
        assert_eq!(view("100% \\q %zz %2"), "100% \\q %zz %2");
        // Decoded once.
        assert_eq!(view("%255C"), "%5C");
    }

    #[test]
    fn line_breaks_in_wrapped_base64_are_skipped() {
        let line = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo=";
        assert_eq!(
            view(&format!("{line}\n{line}\r\nxy")),
            format!("{line}{line}xy")
        );
        assert_eq!(view("short\nlines\n"), "short\nlines\n");
    }

    #[test]
    fn spans_map_back() {
        let data = b"x%41\x1b[1mB\\u0043d";
        let mut v = View::default();
        decode(data, 0, true, &mut v);
        assert_eq!(v.bytes, b"xABCd");
        assert_eq!(v.orig_start(1), 1);
        assert_eq!(v.orig_start(2), 8);
        assert_eq!(v.orig_end(2), 4);
        assert_eq!(v.orig_end(4), 15);
        assert_eq!(v.orig_end(5), 16);
        assert_eq!(v.csi_within(1, 15).collect::<Vec<_>>(), [(4, 8)]);
    }

    #[test]
    fn an_escape_cut_short_waits() {
        let mut v = View::default();
        for (data, decided) in [
            ("ab%4", 2),
            ("ab%", 2),
            ("ab\\u00", 2),
            ("ab\\ud83d\\u", 2),
            ("ab\x1b[01;3", 2),
            ("ab\x1b", 2),
            ("ab%zz", 5),
        ] {
            decode(data.as_bytes(), 0, false, &mut v);
            assert_eq!(v.decided, decided, "{data:?}");
            decode(data.as_bytes(), 0, true, &mut v);
            assert_eq!(v.decided, data.len(), "{data:?}");
        }
    }
}
