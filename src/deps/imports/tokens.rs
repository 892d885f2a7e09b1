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

    /// Where the tokenizer stands: `reset` to it reads the same logical lines again.
    pub(super) fn mark(&self) -> Mark {
        Mark { i: self.i, line: self.line }
    }

    pub(super) fn reset(&mut self, m: Mark) {
        self.i = m.i;
        self.line = m.line;
    }

    /// Where the tokenizer stands: after the last line it read.
    pub(super) fn at(&self) -> usize {
        self.i
    }

    /// The first `limit` tokens of the logical line `skip_line` read last (fewer when it has
    /// fewer).
    pub(super) fn first_tokens(&self, shape: &Shape, toks: &mut Vec<Token<'a>>, limit: usize) {
        let end = self.i;
        let mut line = Tokenizer { src: &self.src[..end], text: self.text.and_then(|t| t.get(..end)), i: shape.begin, line: 0 };
        line.next_line_upto(toks, limit);
    }

    /// Fill `toks` with the next logical line (blank and comment-only lines make none) and
    /// return its indentation; None at the end of the source.
    pub(super) fn next_line(&mut self, toks: &mut Vec<Token<'a>>) -> Option<usize> {
        self.next_line_upto(toks, usize::MAX)
    }

    /// `next_line`, stopping after `limit` tokens (the tokenizer then stands inside the line).
    fn next_line_upto(&mut self, toks: &mut Vec<Token<'a>>, limit: usize) -> Option<usize> {
        toks.clear();
        let src = self.src;
        let n = src.len();
        let mut i = self.i;
        let mut line = self.line;
        let mut indent = 0usize;
        let mut depth = 0usize;
        let mut at_start = true;
        // A token of this line; once there are `limit` of them, the line is left there.
        macro_rules! push {
            ($tok:expr) => {{
                toks.push(Token { tok: $tok, line });
                if toks.len() >= limit {
                    self.i = i;
                    self.line = line;
                    return Some(indent);
                }
            }};
        }
        while i < n {
            if at_start {
                let Some(col) = first_token(src, &mut i, &mut line) else { break };
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
                b'\\' => continuation(src, &mut i, &mut line),
                b'\'' | b'"' => {
                    let (body, next, lines) = read_string(src, i, false);
                    push!(Tok::Str { text: self.text(body.0, body.1), f: false });
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
                            push!(Tok::Str { text: self.text(body.0, body.1), f });
                            line += lines;
                            i = next;
                            continue;
                        }
                    }
                    push!(Tok::Name(self.text(s, i)));
                }
                _ if b.is_ascii_digit() => {
                    while i < n && (is_ident(src[i]) || src[i] == b'.') {
                        i += 1;
                    }
                    push!(Tok::Other);
                }
                _ => {
                    match b {
                        b'(' | b'[' | b'{' => depth += 1,
                        b')' | b']' | b'}' => depth = depth.saturating_sub(1),
                        _ => {}
                    }
                    i += 1;
                    push!(Tok::Op(b as char));
                }
            }
        }
        self.i = n;
        self.line = line;
        (!toks.is_empty()).then_some(indent)
    }

    /// Read past the next logical line without cutting it into tokens: it ends where
    /// `next_line` would end it (strings, comments, brackets and continuations read the same
    /// way), and what is said of it is what `next_line`'s tokens would say. None at the end.
    pub(super) fn skip_line(&mut self) -> Option<Shape> {
        let src = self.src;
        let n = src.len();
        let mut i = self.i;
        let mut line = self.line;
        let mut shape = Shape { indent: 0, begin: 0, colons: 0, ends_with_colon: false };
        let mut depth = 0usize;
        let mut at_start = true;
        // Has the line a token yet?
        let mut any = false;
        while i < n {
            if at_start {
                let Some(col) = first_token(src, &mut i, &mut line) else { break };
                shape.indent = col;
                shape.begin = i;
                at_start = false;
            }
            match CLASS[src[i] as usize] {
                PLAIN => {
                    // Names, numbers and operators other than brackets and colons: only where
                    // they end matters, and spaces between them change nothing.
                    any = true;
                    shape.ends_with_colon = false;
                    i += 1;
                    while i < n && CLASS[src[i] as usize] <= SPACE {
                        i += 1;
                    }
                }
                SPACE => i += 1,
                NEWLINE => {
                    line += 1;
                    i += 1;
                    if depth == 0 {
                        if any {
                            self.i = i;
                            self.line = line;
                            return Some(shape);
                        }
                        at_start = true;
                    }
                }
                COMMENT => i += memchr_nl(&src[i..]),
                BACKSLASH => continuation(src, &mut i, &mut line),
                QUOTE => {
                    let (_, next, lines) = read_string(src, i, prefixed_f(&src[shape.begin..i]));
                    any = true;
                    shape.ends_with_colon = false;
                    line += lines;
                    i = next;
                }
                c => {
                    match c {
                        OPEN => depth += 1,
                        CLOSE => depth = depth.saturating_sub(1),
                        _ => {}
                    }
                    let top_colon = c == COLON && depth == 0;
                    shape.colons += usize::from(top_colon);
                    shape.ends_with_colon = top_colon;
                    any = true;
                    i += 1;
                }
            }
        }
        self.i = n;
        self.line = line;
        any.then_some(shape)
    }
}

/// What `Tokenizer::skip_line` tells of a logical line.
pub(super) struct Shape {
    pub(super) indent: usize,
    /// Where its first token starts.
    pub(super) begin: usize,
    /// Its colons outside brackets (`:=` counts), and whether its last token is one of them.
    pub(super) colons: usize,
    pub(super) ends_with_colon: bool,
}

/// Where a tokenizer stands between logical lines.
#[derive(Clone, Copy)]
pub(super) struct Mark {
    i: usize,
    line: u32,
}

/// The bytes `skip_line` treats alike.
const PLAIN: u8 = 0;
const SPACE: u8 = 1;
const NEWLINE: u8 = 2;
const COMMENT: u8 = 3;
const BACKSLASH: u8 = 4;
const QUOTE: u8 = 5;
const OPEN: u8 = 6;
const CLOSE: u8 = 7;
const COLON: u8 = 8;
static CLASS: [u8; 256] = {
    let classes: [(&[u8], u8); 8] = [(b" \t\r\x0c", SPACE), (b"\n", NEWLINE), (b"#", COMMENT), (b"\\", BACKSLASH), (b"'\"", QUOTE), (b"([{", OPEN), (b")]}", CLOSE), (b":", COLON)];
    let mut t = [PLAIN; 256];
    let mut k = 0;
    while k < classes.len() {
        let (bytes, class) = classes[k];
        let mut j = 0;
        while j < bytes.len() {
            t[bytes[j] as usize] = class;
            j += 1;
        }
        k += 1;
    }
    t
};

/// Is the string whose quote ends `before` (the line so far) an f- or t-string, as
/// `next_line` reads it? Its prefix is the name right before the quote, unless that name is
/// the tail of a number (`1.f"x"` is the number `1.f` and a plain string): the run of name
/// bytes and dots it ends is cut the way `next_line` cuts it, a number taking all the rest.
fn prefixed_f(before: &[u8]) -> bool {
    let name = before.iter().rev().take_while(|&&b| is_ident(b)).count();
    if name == 0 {
        return false;
    }
    let run = before.iter().rev().take_while(|&&b| is_ident(b) || b == b'.').count();
    let run = &before[before.len() - run..];
    // Where each token of the run starts: at its start and after each dot.
    let mut starts = std::iter::once(0).chain(run.iter().enumerate().filter(|(_, b)| **b == b'.').map(|(k, _)| k + 1));
    if starts.any(|k| run.get(k).is_some_and(u8::is_ascii_digit)) {
        return false;
    }
    string_prefix(&before[before.len() - name..]).unwrap_or(false)
}

/// From the start of a line (`i`, on `line`) past blank and comment-only lines, which make no
/// logical line, to the first token of the next one: its column (a tab to the next multiple of
/// 8); None at the end.
fn first_token(src: &[u8], i: &mut usize, line: &mut u32) -> Option<usize> {
    let n = src.len();
    loop {
        let mut col = 0;
        while *i < n && matches!(src[*i], b' ' | b'\t' | b'\x0c') {
            col = if src[*i] == b'\t' { (col / 8 + 1) * 8 } else { col + 1 };
            *i += 1;
        }
        if *i >= n {
            return None;
        }
        if !matches!(src[*i], b'\n' | b'\r' | b'#') {
            return Some(col);
        }
        *i += memchr_nl(&src[*i..]);
        if *i < n {
            *line += 1;
            *i += 1;
        }
    }
}

/// Past a backslash at `i` and the line end after it: the logical line goes on.
fn continuation(src: &[u8], i: &mut usize, line: &mut u32) {
    *i += 1;
    if src.get(*i) == Some(&b'\r') {
        *i += 1;
    }
    if src.get(*i) == Some(&b'\n') {
        *line += 1;
        *i += 1;
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
        if triple && !f {
            // A docstring, mostly: only its quote or a backslash can end or bend it.
            let k = memchr::memchr2(q, b'\\', &src[i..]).unwrap_or(n - i);
            lines += memchr::memchr_iter(b'\n', &src[i..i + k]).count() as u32;
            i += k;
            if i >= n {
                break;
            }
        }
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
