//! JUnit XML for test-report panes (GitLab, Jenkins, GitHub test reporters): one testcase per
//! check, a `<failure>` with the measured value and where the bytes are when it failed.

use crate::model::verdict::Report;
use std::fmt::Write;

/// Text made safe for XML 1.0 attributes and character data: markup escaped, and characters
/// XML cannot carry at all replaced by U+FFFD.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

pub fn render(r: &Report) -> String {
    let tests = r.checks.len();
    let failures = r.failed();
    let suite = escape(&format!("slim check {}", super::check_text::image_line(r)));
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(out, "<testsuites name=\"slim check\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\">");
    let _ = writeln!(out, "  <testsuite name=\"{suite}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\">");
    for c in &r.checks {
        let name = escape(&c.name());
        let _ = write!(out, "    <testcase classname=\"slim.check\" name=\"{name}\"");
        if c.passed {
            let _ = writeln!(out, ">\n      <system-out>{}</system-out>\n    </testcase>", escape(&c.message));
            continue;
        }
        let mut body = format!("{}\nlimit: {}\nmeasured: {}\n", c.message, c.limit_text, c.measured_text);
        if !c.contributors.is_empty() {
            body.push_str("where to look:\n");
            super::check_text::contributors(&mut body, c, "  ");
        }
        let _ = writeln!(out, ">\n      <failure message=\"{}\" type=\"{}\">{}</failure>\n    </testcase>", escape(&c.message), escape(&c.key), escape(&body));
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_characters_xml_cannot_hold() {
        assert_eq!(escape("a<b & \"c\" 'd'>"), "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;");
        assert_eq!(escape("x\u{1}y\tz"), "x\u{FFFD}y\tz");
    }
}
