//! Markdown for a pull-request comment or a GitHub job summary: the `slim check` verdict
//! and the `slim diff` tables.

use super::diff_text::{signed, total_cells, total_rows, versions};
use crate::model::analysis::Analysis;
use crate::model::diff::Diff;
use crate::model::verdict::Report;
use crate::show::human;
use crate::show::short_step;
use std::fmt::Write;

/// A table cell: pipes escaped, one line, no control characters (names come from the image).
fn cell(s: &str) -> String {
    let s = s.replace('\\', "\\\\").replace('|', "\\|").replace(['\n', '\r'], " ");
    if s.chars().any(char::is_control) { s.chars().map(|c| if c.is_control() { format!("\\u{{{:x}}}", c as u32) } else { c.to_string() }).collect() } else { s }
}

/// GitHub's limit for a comment body (and what a job summary shows comfortably).
pub const LIMIT: usize = 65_536;

fn pct(part: u64, whole: u64) -> String {
    if whole == 0 { "0.0%".into() } else { format!("{:.1}%", part as f64 * 100.0 / whole as f64) }
}

/// `slim analyze --format markdown`: the summary, top owners and groups, findings with their
/// savings. Rows are cut (largest kept) until the whole fits under `LIMIT` characters.
pub fn analysis(a: &Analysis, top: usize) -> String {
    let mut rows = top.max(1);
    loop {
        let out = analysis_rows(a, rows);
        if out.chars().count() < LIMIT {
            return out;
        }
        if rows == 1 {
            let cut: String = out.chars().take(LIMIT - 200).collect();
            return format!("{cut}\n\n_(cut to stay under GitHub's {LIMIT}-character limit)_\n");
        }
        rows /= 2;
    }
}

fn analysis_rows(a: &Analysis, top: usize) -> String {
    let mut out = String::new();
    let t = &a.totals;
    let i = &a.image;
    let _ = writeln!(out, "### slim analyze: {} ({}, {})\n", code(&i.source), cell(i.reference.as_deref().unwrap_or("untagged")), cell(&i.platform));
    let _ = writeln!(
        out,
        "**{}** in {} files · {} layers, {} compressed · hidden by later layers {} · reclaimable {} ({} of the bytes in layers)\n",
        human(t.final_bytes),
        t.final_files,
        t.layers,
        human(t.compressed_bytes),
        human(t.wasted_bytes),
        human(t.reclaimable_bytes),
        pct(t.reclaimable_bytes, t.layer_file_bytes)
    );
    out.push_str("#### Findings\n\n");
    if a.findings.is_empty() {
        out.push_str("None.\n");
    } else {
        out.push_str("| could save | rule | finding | fix |\n|--:|---|---|---|\n");
        for f in a.findings.iter().take(top) {
            let _ = writeln!(out, "| {} | {} {} | {} | {} |", human(f.bytes_saved), f.id, cell(&f.rule), cell(&f.title), cell(&f.fix.text));
        }
        if a.findings.len() > top {
            let rest: u64 = a.findings[top..].iter().map(|f| f.bytes_saved).sum();
            let _ = writeln!(out, "| {} | | and {} more findings | |", human(rest), a.findings.len() - top);
        }
    }
    out.push_str("\n#### Owners\n\n| kind | name | version | size | files | share |\n|---|---|---|--:|--:|--:|\n");
    for o in a.owners.iter().take(top) {
        let _ =
            writeln!(out, "| {} | {} | {} | {} | {} | {} |", o.kind, code(&o.name), cell(o.version.as_deref().unwrap_or("")), human(o.bytes), o.files, pct(o.bytes, t.final_bytes));
    }
    if a.owners.len() > top {
        let rest = &a.owners[top..];
        let bytes: u64 = rest.iter().map(|o| o.bytes).sum();
        let files: u64 = rest.iter().map(|o| o.files).sum();
        let _ = writeln!(out, "| | and {} more owners | | {} | {files} | {} |", rest.len(), human(bytes), pct(bytes, t.final_bytes));
    }
    let total: u64 = a.owners.iter().map(|o| o.bytes).sum();
    let _ = writeln!(out, "| | **total** | | **{}** | {} | {} |", human(total), a.owners.iter().map(|o| o.files).sum::<u64>(), pct(total, t.final_bytes));
    if !a.groups.is_empty() {
        out.push_str("\n#### Groups\n\n| group | size | share |\n|---|--:|--:|\n");
        for g in a.groups.iter().take(top) {
            let _ = writeln!(out, "| {} | {} | {} |", cell(&g.name), human(g.bytes), pct(g.bytes, t.final_bytes));
        }
    }
    out.push_str("\n<details><summary>Layers</summary>\n\n| # | created by | files | hidden later |\n|--:|---|--:|--:|\n");
    for l in &a.layers {
        let _ = writeln!(out, "| {} | {} | {} | {} |", l.index, code(&short_step(l.created_by.as_deref(), 80)), human(l.file_bytes), human(l.wasted_bytes));
    }
    out.push_str("\n</details>\n");
    out
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
    let verdict = if failed == 0 { format!("✅ slim check passed: {n} of {n} checks") } else { format!("❌ slim check failed: {failed} of {n} checks") };
    let _ = writeln!(out, "### {verdict}\n");
    let _ = writeln!(out, "{} ({}, {})\n", code(&r.image.source), cell(r.image.reference.as_deref().unwrap_or("untagged")), cell(&r.image.platform));
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
    let side = |s: &crate::model::diff::Side| format!("{} ({})", code(&s.image.source), cell(s.image.reference.as_deref().unwrap_or("untagged")));
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
        assert_eq!(cell("a\u{1b}[31mb"), "a\\u{1b}[31mb");
        assert_eq!(code("x`y"), "`` x`y ``");
    }
}
