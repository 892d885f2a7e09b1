//! `slim why` as text, and the app/unused-packages section of the analysis text report.

use crate::model::analysis::Analysis;
use crate::model::why::{Why, WhySite};
use crate::show::{human, short_step};
use std::fmt::Write;

fn place(s: &WhySite) -> String {
    match s.line {
        Some(l) => format!("{}:{l}", s.file),
        None => s.file.clone(),
    }
}

pub fn render(w: &Why) -> String {
    let mut out = String::new();
    for m in &w.matches {
        let ver = m.version.as_deref().map(|v| format!(" {v}")).unwrap_or_default();
        let loc = m.location.as_deref().map(|l| format!(" in {l}")).unwrap_or_default();
        let with = if m.alone_bytes > m.bytes { format!(", {} with what only it pulls in", human(m.alone_bytes)) } else { String::new() };
        let _ = writeln!(out, "{} {}{ver}{loc}: {}{with}", m.kind, m.name, human(m.bytes));
        let _ = writeln!(out, "  {}", m.note);
        for p in &m.paths {
            let _ = writeln!(out, "\n  {}", p.text);
            let width = p.steps.iter().map(|s| s.name.len()).max().unwrap_or(0);
            for (k, s) in p.steps.iter().enumerate() {
                if m.kind == "python" {
                    let up = p.steps.get(k + 1).map(|u| u.name.as_str()).unwrap_or("");
                    let how = match (&s.required_as, &s.extra) {
                        (Some(r), Some(x)) => format!("  ({up} requires {r}, extra {x})"),
                        (Some(r), None) => format!("  ({up} requires {r})"),
                        _ => String::new(),
                    };
                    let _ = writeln!(out, "    {:width$}  {:>10} own, {:>10} with what only it pulls in{how}", s.name, human(s.bytes), human(s.alone_bytes));
                }
            }
            for s in &p.sites {
                let ctx = if s.context.is_empty() { String::new() } else { format!("  [in {}]", s.context.join(" › ")) };
                let _ = writeln!(out, "    {}: {}{ctx}", place(s), s.text);
            }
            if p.more_sites > 0 {
                let _ = writeln!(out, "    and {} more places", p.more_sites);
            }
        }
        if m.more_paths > 0 {
            let _ = writeln!(out, "\n  and {} more paths", m.more_paths);
        }
        if let Some(u) = &m.unused {
            let _ = writeln!(out, "  unused ({} confidence): {} with what only it pulls in", u.confidence, human(u.total_bytes));
            for r in &u.reasons {
                let _ = writeln!(out, "    {r}");
            }
        }
        if m.used.is_none() && m.kind == "python" && !w.app.found {
            if !m.required_by.is_empty() {
                let _ = writeln!(out, "  required by {}", m.required_by.join(", "));
            }
        }
        out.push('\n');
    }
    out
}

/// The app section of `slim analyze`'s text report: where the app is, and what it never uses.
pub fn render_unused(out: &mut String, a: &Analysis, top: usize) {
    let Some(app) = &a.app else { return };
    out.push_str("\nApp code\n");
    if !app.found {
        let _ = writeln!(out, "  {}", app.note.as_deref().unwrap_or("no application code found"));
        return;
    }
    let roots = if app.roots.is_empty() { String::new() } else { format!(" in {}", app.roots.join(", ")) };
    let _ = writeln!(
        out,
        "  {} Python files{roots}, {} imports; imports directly: {}",
        app.files,
        app.imports,
        if app.direct.is_empty() { "nothing installed".to_string() } else { app.direct.join(", ") }
    );
    if !app.command.is_empty() {
        let _ = writeln!(out, "  command line runs: {}", app.command.join(", "));
    }
    if !app.dynamic_imports.is_empty() {
        let _ = writeln!(out, "  imports by computed name at: {}", app.dynamic_imports.iter().take(5).cloned().collect::<Vec<_>>().join(", "));
    }
    if let Some(n) = &app.note {
        let _ = writeln!(out, "  {n}");
    }
    out.push_str("\nUnused packages: nothing in the app reaches them\n");
    if a.unused_packages.is_empty() {
        out.push_str("  none\n");
        return;
    }
    for u in a.unused_packages.iter().take(top) {
        let with = if u.pulls_in.is_empty() {
            String::new()
        } else {
            format!(" (with {}: {})", u.pulls_in.iter().take(6).cloned().collect::<Vec<_>>().join(", ") + if u.pulls_in.len() > 6 { ", …" } else { "" }, human(u.total_bytes))
        };
        let _ = writeln!(out, "  {} {} [{}] {}{with}", u.name, u.version.as_deref().unwrap_or(""), u.confidence, human(u.bytes));
        if !u.required_by.is_empty() {
            let _ = writeln!(out, "      required only by unused {}", u.required_by.join(", "));
        }
        for r in u.reasons.iter().take(3) {
            let _ = writeln!(out, "      {r}");
        }
        let _ = writeln!(out, "      installed by layer {}: {}", u.layer, short_step(u.created_by.as_deref(), 70));
    }
    if a.unused_packages.len() > top {
        let _ = writeln!(out, "  and {} more", a.unused_packages.len() - top);
    }
    let total: u64 = a.unused_packages.iter().map(|u| u.total_bytes).sum();
    let _ = writeln!(out, "  total: {}", human(total));
}
