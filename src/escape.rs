//! Names and bytes from an image made safe to print: an archive can put escape sequences,
//! carriage returns and lines of its own in any name, and a terminal or a CI log acts on them.

/// Characters a terminal or a log reader acts on: C0 and C1 controls, DEL, and the Unicode
/// marks that reorder text (bidirectional overrides and isolates).
fn is_hostile(c: char) -> bool {
    c.is_control() || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

pub(crate) fn escape_into(out: &mut String, s: &str, keep_lines: bool) {
    for c in s.chars() {
        if !is_hostile(c) || (keep_lines && (c == '\n' || c == '\t')) {
            out.push(c);
        } else if (c as u32) < 0x100 {
            out.push_str(&format!("\\x{:02x}", c as u32));
        } else {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        }
    }
}

/// A name from the image (a package, a reference), made safe to print on one line.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escape_into(&mut out, s, false);
    out
}

/// A whole rendered report for a terminal or a log: control characters other than the
/// report's own newlines and tabs are escaped (ESC sequences, carriage returns, bidi marks).
pub fn terminal_safe(body: String) -> String {
    if !body.chars().any(|c| is_hostile(c) && c != '\n' && c != '\t') {
        return body;
    }
    let mut out = String::with_capacity(body.len() + 16);
    escape_into(&mut out, &body, true);
    out
}

/// An error for one line of stderr: every control character escaped, and at most
/// `ERROR_MAX` bytes (a message quoting a huge or hostile field is cut, not printed whole).
pub fn error_line(msg: &str) -> String {
    const ERROR_MAX: usize = 400;
    let mut out = escape(msg);
    if out.len() > ERROR_MAX {
        let mut cut = ERROR_MAX;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push_str("…");
    }
    out
}
