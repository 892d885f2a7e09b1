//! The text verdict of `slim check`: every check with its limit, measured value and result,
//! then, for each failure, where the bytes are.

use super::table;
use crate::model::verdict::{CheckResult, Report};
use std::fmt::Write;

/// `img.tar (demo:1, linux/amd64)`.
pub fn image_line(r: &Report) -> String {
    format!("{} ({}, {})", r.image.source, r.image.reference.as_deref().unwrap_or("untagged"), r.image.platform)
}

/// The contributors of a failed check, one per line, indented.
pub fn contributors(out: &mut String, c: &CheckResult, indent: &str) {
    if c.contributors.is_empty() {
        return;
    }
    let mut t = table(&["size", "what", ""], &[0]);
    for k in &c.contributors {
        t.add_row(vec![c.human(k.bytes), k.label(), k.note.clone().unwrap_or_default()]);
    }
    for line in t.to_string().lines() {
        let _ = writeln!(out, "{indent}{}", line.trim_end());
    }
}

pub fn render(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "slim check: {}\n", image_line(r));
    let mut t = table(&["result", "check", "limit", "measured"], &[2, 3]);
    for c in &r.checks {
        t.add_row(vec![if c.passed { "PASS" } else { "FAIL" }.to_string(), c.name(), c.limit_text.clone(), c.measured_text.clone()]);
    }
    let _ = writeln!(out, "{t}");
    for c in r.checks.iter().filter(|c| !c.passed) {
        let _ = writeln!(out, "\nFAIL {}: {}", c.name(), c.message);
        if !c.contributors.is_empty() {
            let _ = writeln!(out, "  where to look:");
            contributors(&mut out, c, "  ");
        }
    }
    if !r.findings.is_empty() {
        let _ = writeln!(out, "\nFindings");
        let mut t = table(&["could save", "rule", "finding"], &[0]);
        for f in &r.findings {
            t.add_row(vec![crate::show::human(f.bytes_saved), format!("{} {}", f.id, f.rule), f.title.clone()]);
        }
        let _ = writeln!(out, "{t}");
    }
    let failed = r.failed();
    let n = r.checks.len();
    let checks = if n == 1 { "check" } else { "checks" };
    if failed == 0 {
        let _ = writeln!(out, "\npassed: {n} of {n} {checks}");
    } else {
        let _ = writeln!(out, "\nFAILED: {failed} of {n} {checks}");
    }
    out
}
