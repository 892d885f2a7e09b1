//! Markdown for a pull-request comment or a GitHub job summary: the `slim check` verdict
//! and the `slim diff` tables.

use super::diff_text::{signed, total_cells, total_rows, versions};
use super::human;
use crate::check::Report;
use crate::diff::Diff;
use crate::report::text::short_step;
use std::fmt::Write;

/// A table cell: pipes escaped, one line.
fn cell(s: &str) -> String {
    s.replace('\\', "\\\\").replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// Inline code that survives backticks in the text.
fn code(s: &str) -> String {
    let s = cell(s);
    if s.contains('`') { format!("`` {s} ``") } else { format!("`{s}`") }
}

pub fn check(r: &Report) -> String {
    let mut out = String::new();
    let failed = r.failed();
    let n = r.checks.len();
    let verdict = if failed == 0 {
        format!("✅ slim check passed: {n} of {n} checks")
    } else {
        format!("❌ slim check failed: {failed} of {n} checks")
    };
    let _ = writeln!(out, "### {verdict}\n");
    let _ = writeln!(
        out,
        "{} ({}, {})\n",
        code(&r.image.source),
        cell(r.image.reference.as_deref().unwrap_or("untagged")),
        cell(&r.image.platform)
    );
    out.push_str("| | check | limit | measured | |\n|---|---|--:|--:|---|\n");
    for c in &r.checks {
        let mark = if c.passed { "✅" } else { "❌" };
        let _ = writeln!(out, "| {mark} | {} | {} | {} | {} |", cell(&c.name()), cell(&c.limit_text), cell(&c.measured_text), cell(&c.message));
    }
    for c in r.checks.iter().filter(|c| !c.passed && !c.contributors.is_empty()) {
        let _ = writeln!(out, "\n<details><summary>Where to look: {}</summary>\n", cell(&c.name()));
        out.push_str("| size | what | |\n|--:|---|---|\n");
        for k in &c.contributors {
            let _ = writeln!(out, "| {} | {} | {} |", c.human(k.bytes), code(&k.label()), cell(k.note.as_deref().unwrap_or("")));
        }
        out.push_str("\n</details>\n");
    }
    if !r.findings.is_empty() {
        out.push_str("\n<details><summary>Findings</summary>\n\n| could save | rule | finding | fix |\n|--:|---|---|---|\n");
        for f in &r.findings {
            let _ = writeln!(out, "| {} | {} {} | {} | {} |", human(f.bytes_saved), f.id, cell(&f.rule), cell(&f.title), cell(&f.fix.text));
        }
        out.push_str("\n</details>\n");
    }
    out
}

pub fn diff(d: &Diff, top: usize) -> String {
    let mut out = String::new();
    let side = |s: &crate::diff::Side| format!("{} ({})", code(&s.image.source), cell(s.image.reference.as_deref().unwrap_or("untagged")));
    let _ = writeln!(out, "### slim diff: {} → {}\n", side(&d.before), side(&d.after));
    out.push_str("| | before | after | change |\n|---|--:|--:|--:|\n");
    for (label, b, a, bytes) in total_rows(&d.before.totals, &d.after.totals) {
        let [b, a, c] = total_cells(b, a, bytes);
        let _ = writeln!(out, "| {label} | {b} | {a} | {c} |");
    }
    out.push_str("\n#### Layers (file bytes)\n\n| change | before | after | created by | before | after | delta |\n|---|--:|--:|---|--:|--:|--:|\n");
    let idx = |i: Option<u64>| i.map_or_else(|| "-".into(), |i| i.to_string());
    let opt = |b: Option<u64>| b.map_or_else(|| "-".into(), human);
    for l in &d.layers {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            l.change.name(),
            idx(l.before_index),
            idx(l.after_index),
            code(&short_step(l.created_by.as_deref(), 60)),
            opt(l.before_bytes),
            opt(l.after_bytes),
            signed(l.delta)
        );
    }
    let _ = writeln!(out, "\n#### Owners: {} changed, {} unchanged\n", d.owners.len(), d.unchanged_owners);
    if !d.owners.is_empty() {
        out.push_str("| change | owner | version | before | after | delta |\n|---|---|---|--:|--:|--:|\n");
        for o in d.owners.iter().take(top) {
            let _ = writeln!(
                out,
                "| {} | {} {} | {} | {} | {} | {} |",
                o.change.name(),
                o.kind,
                code(&o.name),
                cell(&versions(o.version_before.as_deref(), o.version_after.as_deref())),
                opt(o.before_bytes),
                opt(o.after_bytes),
                signed(o.delta)
            );
        }
        if d.owners.len() > top {
            let rest: i64 = d.owners[top..].iter().map(|o| o.delta).sum();
            let _ = writeln!(out, "| | and {} more changed owners | | | | {} |", d.owners.len() - top, signed(rest));
        }
        let _ = writeln!(out, "| | **total** | | | | **{}** |", signed(d.owners.iter().map(|o| o.delta).sum()));
    }
    if !d.groups.is_empty() {
        let _ = writeln!(out, "\n#### Groups: {} changed, {} unchanged\n", d.groups.len(), d.unchanged_groups);
        out.push_str("| change | group | before | after | delta |\n|---|---|--:|--:|--:|\n");
        for g in d.groups.iter().take(top) {
            let _ = writeln!(out, "| {} | {} | {} | {} | {} |", g.change.name(), cell(&g.name), opt(g.before_bytes), opt(g.after_bytes), signed(g.delta));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_stay_in_their_column() {
        assert_eq!(cell("a|b\nc"), "a\\|b c");
        assert_eq!(code("x`y"), "`` x`y ``");
    }
}
