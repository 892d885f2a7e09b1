//! The before/after report of `slim rewrite` as text or markdown.

use crate::model::rewrite::{ChangeRow, RewriteReport};
use crate::show::human;
use std::fmt::Write;

fn pct(a: u64, b: u64) -> String {
    if b == 0 { "0%".into() } else { format!("{:.1}%", a as f64 * 100.0 / b as f64) }
}

pub fn text(r: &RewriteReport, markdown: bool) -> String {
    let mut out = String::new();
    let h = |s: &str| if markdown { format!("## {s}\n\n") } else { format!("{s}\n") };
    if r.reconstructed {
        out.push_str(if markdown { "> **Reconstructed Dockerfile.** " } else { "!! RECONSTRUCTED DOCKERFILE: " });
        out.push_str("no Dockerfile was given; this one was rebuilt from the image history. Check the FROM line and COPY sources before building.\n\n");
    }
    out.push_str(&h("slim rewrite"));
    let saved = r.before_bytes.saturating_sub(r.predicted_after_bytes);
    let _ = writeln!(
        out,
        "{}before {} (measured), predicted after {} (saves {}, {})\n",
        if markdown { "" } else { "  " },
        human(r.before_bytes),
        human(r.predicted_after_bytes),
        human(saved),
        pct(saved, r.before_bytes)
    );
    for (title, applied) in [("Applied", true), ("Not applied (advice or nothing to change)", false)] {
        let rows: Vec<&ChangeRow> = r.changes.iter().filter(|c| c.applied == applied).collect();
        if rows.is_empty() {
            continue;
        }
        out.push_str(&h(title));
        if markdown {
            out.push_str("| finding | rule | saves | lines | change |\n| --- | --- | ---: | --- | --- |\n");
        }
        for c in rows {
            let lines = c.lines.iter().map(|l| l.to_string()).collect::<Vec<_>>().join(",");
            if markdown {
                let _ = writeln!(out, "| {} | `{}` | {} | {} | {} |", c.finding_id, c.rule, human(c.bytes_saved), lines, c.what.replace('|', "\\|"));
            } else {
                let _ = writeln!(out, "  {} {:<22} {:>10}  {}", c.finding_id, c.rule, human(c.bytes_saved), c.title);
                let _ = writeln!(out, "      {}{}", c.what, if lines.is_empty() { String::new() } else { format!(" (line {lines})") });
            }
        }
        out.push('\n');
    }
    let o = &r.outputs;
    if let Some(d) = &o.dockerfile {
        let _ = writeln!(out, "{}wrote {d}", if markdown { "- " } else { "  " });
    }
    if let Some(d) = &o.dockerignore {
        let _ = writeln!(out, "{}wrote {d}", if markdown { "- " } else { "  " });
    }
    for q in &o.requirements {
        let _ = writeln!(out, "{}wrote {q}", if markdown { "- " } else { "  " });
    }
    for q in &o.projects {
        let _ = writeln!(out, "{}wrote {q}: its lock must be regenerated (uv lock / poetry lock) before building", if markdown { "- " } else { "  " });
    }
    if let Some(d) = &r.diff {
        out.push('\n');
        if markdown {
            let _ = write!(out, "```diff\n{d}```\n");
        } else {
            out.push_str(d);
        }
    }
    out
}
