//! Python source cut into tokens, one logical line at a time: names, string literals (all
//! prefixes, triple-quoted, f-strings with nested quotes), operators, with comments, line
//! continuations and brackets handled exactly. Tokens borrow from the source; only a source
//! that is not UTF-8 has its tokens mended.

use std::borrow::Cow;

/// A token of Python source, as much as import finding needs. Text borrows from the source
/// (it is owned only where the source is not UTF-8 and had to be mended).
#[derive(Debug)]
pub(super) enum Tok<'a> {
    Name(Cow<'a, str>),
    /// A string literal's body (escapes left as written); `f` for f-strings.
    Str {
        text: Cow<'a, str>,
        f: bool,
    },
    Op(char),
    Other,
}

#[derive(Debug)]
pub(super) struct Token<'a> {
    pub(super) tok: Tok<'a>,
    pub(super) line: u32,
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

fn is_ident(b: u8) -> bool {
    is_ident_start(b) || b.is_ascii_digit()
}

/// Is `p` a string prefix (r, b, u, f, rb, br, fr, rf, t, in any case)?
fn string_prefix(p: &[u8]) -> Option<bool> {
    if p.len() > 2 {
        return None;
    }
    let mut lower = [0u8; 2];
    for (d, s) in lower.iter_mut().zip(p) {
        *d = s.to_ascii_lowercase();
    }
    let lower = &lower[..p.len()];
    let ok = matches!(lower, b"r" | b"b" | b"u" | b"f" | b"t" | b"rb" | b"br" | b"fr" | b"rf" | b"tr" | b"rt");
    ok.then(|| lower.contains(&b'f') || lower.contains(&b't'))
}

/// Cuts source into logical lines, one at a time, into a buffer the caller reuses.
pub(super) struct Tokenizer<'a> {
    src: &'a [u8],
    /// The source as text when all of it is UTF-8 (nearly always): every token then borrows.
    text: Option<&'a str>,
    i: usize,
    line: u32,
}

impl<'a> Tokenizer<'a> {
    pub(super) fn new(src: &'a [u8]) -> Self {
        Tokenizer { src, text: std::str::from_utf8(src).ok(), i: 0, line: 1 }
    }

    /// `src[a..b]` as text. Token bounds fall on ASCII bytes or the ends, so a UTF-8 source
    /// always slices; anything else is mended as `from_utf8_lossy` does.
    fn text(&self, a: usize, b: usize) -> Cow<'a, str> {
        match self.text.and_then(|t| t.get(a..b)) {
            Some(t) => Cow::Borrowed(t),
            None => String::from_utf8_lossy(&self.src[a..b]),
        }
    }

    /// Fill `toks` with the next logical line (blank and comment-only lines make none) and
    /// return its indentation; None at the end of the source.
    pub(super) fn next_line(&mut self, toks: &mut Vec<Token<'a>>) -> Option<usize> {
        toks.clear();
        let src = self.src;
        let n = src.len();
        let mut i = self.i;
        let mut line = self.line;
        let mut indent = 0usize;
        let mut depth = 0usize;
        let mut at_start = true;
        while i < n {
            if at_start {
                // Measure indentation; blank and comment-only lines make no logical line.
                let mut col = 0;
                while i < n && matches!(src[i], b' ' | b'\t' | b'\x0c') {
                    col = if src[i] == b'\t' { (col / 8 + 1) * 8 } else { col + 1 };
                    i += 1;
                }
                if i >= n {
                    break;
                }
                if matches!(src[i], b'\n' | b'\r' | b'#') {
                    i += memchr_nl(&src[i..]);
                    if i < n {
                        line += 1;
                        i += 1;
                    }
                    continue;
                }
                indent = col;
                at_start = false;
            }
            let b = src[i];
            match b {
                b'\n' => {
                    line += 1;
                    i += 1;
                    if depth == 0 {
                        if !toks.is_empty() {
                            self.i = i;
                            self.line = line;
                            return Some(indent);
                        }
                        at_start = true;
                    }
                }
                b' ' | b'\t' | b'\r' | b'\x0c' => i += 1,
                b'#' => i += memchr_nl(&src[i..]),
                b'\\' => {
                    // A line continuation: the logical line goes on.
                    i += 1;
                    if i < n && src[i] == b'\r' {
                        i += 1;
                    }
                    if i < n && src[i] == b'\n' {
                        line += 1;
                        i += 1;
                    }
                }
                b'\'' | b'"' => {
                    let (body, next, lines) = read_string(src, i, false);
                    toks.push(Token { tok: Tok::Str { text: self.text(body.0, body.1), f: false }, line });
                    line += lines;
                    i = next;
                }
                _ if is_ident_start(b) => {
                    let s = i;
                    while i < n && is_ident(src[i]) {
                        i += 1;
                    }
                    if i < n && matches!(src[i], b'\'' | b'"') {
                        if let Some(f) = string_prefix(&src[s..i]) {
                            let (body, next, lines) = read_string(src, i, f);
                            toks.push(Token { tok: Tok::Str { text: self.text(body.0, body.1), f }, line });
                            line += lines;
                            i = next;
                            continue;
                        }
                    }
                    toks.push(Token { tok: Tok::Name(self.text(s, i)), line });
                }
                _ if b.is_ascii_digit() => {
                    while i < n && (is_ident(src[i]) || src[i] == b'.') {
                        i += 1;
                    }
                    toks.push(Token { tok: Tok::Other, line });
                }
                _ => {
                    match b {
                        b'(' | b'[' | b'{' => depth += 1,
                        b')' | b']' | b'}' => depth = depth.saturating_sub(1),
                        _ => {}
                    }
                    toks.push(Token { tok: Tok::Op(b as char), line });
                    i += 1;
                }
            }
        }
        self.i = n;
        self.line = line;
        (!toks.is_empty()).then_some(indent)
    }
}

/// Bytes up to the next newline (or the end).
fn memchr_nl(s: &[u8]) -> usize {
    s.iter().position(|&b| b == b'\n').unwrap_or(s.len())
}

/// Read the string literal whose opening quote is at `at`. Returns the bounds of its body,
/// the index after it and the newlines it spans. A backslash always keeps the next character
/// in the string (in raw strings too, as Python's tokenizer does); a single-quoted string ends
/// at a newline. In an f-string, strings inside `{…}` may reuse the outer quote (Python 3.12).
fn read_string(src: &[u8], at: usize, f: bool) -> ((usize, usize), usize, u32) {
    let q = src[at];
    let triple = src.len() >= at + 3 && src[at + 1] == q && src[at + 2] == q;
    let mut i = at + if triple { 3 } else { 1 };
    let start = i;
    let mut lines = 0;
    let mut braces = 0usize;
    let n = src.len();
    while i < n {
        let c = src[i];
        if c == b'\\' {
            if i + 1 < n && src[i + 1] == b'\n' {
                lines += 1;
            }
            i += 2;
            continue;
        }
        if f && c == b'{' {
            if braces == 0 && src.get(i + 1) == Some(&b'{') {
                i += 2;
                continue;
            }
            braces += 1;
        } else if f && c == b'}' && braces > 0 {
            braces -= 1;
        } else if f && braces > 0 && matches!(c, b'\'' | b'"') {
            let (_, next, l) = read_string(src, i, false);
            lines += l;
            i = next;
            continue;
        }
        if c == b'\n' {
            if !triple {
                return ((start, i), i, lines);
            }
            lines += 1;
        }
        if c == q && braces == 0 {
            if !triple {
                return ((start, i), i + 1, lines);
            }
            if i + 2 < n && src[i + 1] == q && src[i + 2] == q {
                return ((start, i), i + 3, lines);
            }
        }
        i += 1;
    }
    ((start, n), n, lines)
}

pub(super) fn name<'t>(t: Option<&'t Token>) -> Option<&'t str> {
    match t.map(|t| &t.tok) {
        Some(Tok::Name(s)) => Some(s),
        _ => None,
    }
}

pub(super) fn is_op(t: Option<&Token>, c: char) -> bool {
    matches!(t.map(|t| &t.tok), Some(Tok::Op(o)) if *o == c)
}

/// A dotted name starting at `i`: (name, index after it).
pub(super) fn dotted(toks: &[Token], mut i: usize) -> (String, usize) {
    let mut s = String::new();
    while let Some(n) = name(toks.get(i)) {
        s.push_str(n);
        i += 1;
        if is_op(toks.get(i), '.') && name(toks.get(i + 1)).is_some() {
            s.push('.');
            i += 1;
        } else {
            break;
        }
    }
    (s, i)
}
