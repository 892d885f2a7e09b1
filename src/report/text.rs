//! The text report: what a person reads in ten seconds. Tables list the top rows, then
//! "and K more", then a total that equals the sum of all rows.

use super::table;
use crate::model::analysis::Analysis;
use crate::show::{human, short_step};
use std::fmt::Write;

fn pct(part: u64, whole: u64) -> String {
    if whole == 0 { "0.0%".into() } else { format!("{:.1}%", part as f64 * 100.0 / whole as f64) }
}

pub fn render(a: &Analysis, top: usize) -> String {
    let mut out = String::new();
    let t = &a.totals;
    let i = &a.image;
    let whole = if i.compression == "none" { String::new() } else { format!(", {}-compressed", i.compression) };
    let _ = writeln!(out, "{} ({}{whole}) {} {}", i.source, i.format, i.reference.as_deref().unwrap_or("(untagged)"), i.platform);
    let _ = writeln!(
        out,
        "{} layers, {} compressed, {} in layers; final filesystem {} in {} files; wasted {} ({}); efficiency {:.1}%",
        t.layers,
        human(t.compressed_bytes),
        human(t.layer_file_bytes),
        human(t.final_bytes),
        t.final_files,
        human(t.wasted_bytes),
        pct(t.wasted_bytes, t.layer_file_bytes),
        t.efficiency * 100.0
    );

    out.push_str("\nLayers\n");
    let mut lt = table(&["#", "created by", "compressed", "files", "+", "~", "-", "wasted"], &[0, 2, 3, 4, 5, 6, 7]);
    for l in &a.layers {
        lt.add_row(vec![
            l.index.to_string(),
            short_step(l.created_by.as_deref(), 60),
            human(l.compressed_bytes),
            human(l.file_bytes),
            l.files_added.to_string(),
            l.files_changed.to_string(),
            l.files_removed.to_string(),
            human(l.wasted_bytes),
        ]);
    }
    let sum = |f: fn(&crate::model::analysis::Layer) -> u64| a.layers.iter().map(f).sum::<u64>();
    lt.add_row(vec![
        String::new(),
        "total".into(),
        human(sum(|l| l.compressed_bytes)),
        human(sum(|l| l.file_bytes)),
        sum(|l| l.files_added).to_string(),
        sum(|l| l.files_changed).to_string(),
        sum(|l| l.files_removed).to_string(),
        human(sum(|l| l.wasted_bytes)),
    ]);
    let _ = writeln!(out, "{lt}");

    out.push_str("\nLargest files\n");
    let mut ft = table(&["size", "share", "layer", "path"], &[0, 1, 2]);
    for f in a.largest_files.iter().take(top) {
        ft.add_row(vec![human(f.bytes), pct(f.bytes, t.final_bytes), f.layer.to_string(), f.path.clone()]);
    }
    let shown = a.largest_files.len().min(top) as u64;
    let shown_bytes: u64 = a.largest_files.iter().take(top).map(|f| f.bytes).sum();
    if t.final_files > shown {
        ft.add_row(vec![human(t.final_bytes - shown_bytes), pct(t.final_bytes - shown_bytes, t.final_bytes), String::new(), format!("and {} more files", t.final_files - shown)]);
    }
    ft.add_row(vec![human(t.final_bytes), pct(t.final_bytes, t.final_bytes), String::new(), "total".into()]);
    let _ = writeln!(out, "{ft}");

    out.push_str("\nLargest directories (cumulative)\n");
    let mut dt = table(&["size", "share", "files", "path"], &[0, 1, 2]);
    for d in a.largest_dirs.iter().take(top) {
        dt.add_row(vec![human(d.bytes), pct(d.bytes, t.final_bytes), d.files.to_string(), d.path.clone()]);
    }
    let shown = a.largest_dirs.len().min(top) as u64;
    if t.final_dirs > shown {
        dt.add_row(vec![String::new(), String::new(), String::new(), format!("and {} more directories", t.final_dirs - shown)]);
    }
    let _ = writeln!(out, "{dt}");

    render_owners(&mut out, a, top);

    out.push_str("\nWaste: bytes a later layer overwrote or deleted\n");
    if a.wasted_files.is_empty() {
        out.push_str("  none\n");
    } else {
        let mut wt = table(&["size", "added in", "hidden by", "path"], &[0, 1, 2]);
        for w in a.wasted_files.iter().take(top) {
            wt.add_row(vec![human(w.bytes), format!("layer {}", w.added_in), format!("layer {}", w.hidden_in), w.path.clone()]);
        }
        let shown = a.wasted_files.len().min(top) as u64;
        let shown_bytes: u64 = a.wasted_files.iter().take(top).map(|w| w.bytes).sum();
        if t.wasted_files > shown {
            wt.add_row(vec![human(t.wasted_bytes - shown_bytes), String::new(), String::new(), format!("and {} more files", t.wasted_files - shown)]);
        }
        wt.add_row(vec![human(t.wasted_bytes), String::new(), String::new(), "total".into()]);
        let _ = writeln!(out, "{wt}");
    }
    super::why::render_unused(&mut out, a, top);
    render_findings(&mut out, a, top);

    if !a.warnings.is_empty() {
        out.push_str("\nWarnings\n");
        for w in &a.warnings {
            let _ = writeln!(out, "  {w}");
        }
    }
    out
}

fn render_findings(out: &mut String, a: &Analysis, top: usize) {
    out.push_str("\nFindings\n");
    if a.findings.is_empty() {
        out.push_str("  none\n");
        return;
    }
    for f in a.findings.iter().take(top) {
        let _ = writeln!(out, "  {} {} [{}] saves {}: {}", f.id, f.rule, f.severity, human(f.bytes_saved), f.title);
        for note in &f.evidence.notes {
            let _ = writeln!(out, "      {note}");
        }
        for l in &f.evidence.layers {
            let _ = writeln!(out, "      layer {}: {}", l.index, short_step(l.created_by.as_deref(), 70));
        }
        for p in f.evidence.paths.iter().take(3) {
            let _ = writeln!(out, "      {p}");
        }
        let more = f.evidence.paths.len().saturating_sub(3) as u64 + f.evidence.more_paths;
        if more > 0 {
            let _ = writeln!(out, "      and {more} more paths");
        }
        let _ = writeln!(out, "      fix: {}", f.fix.text);
    }
    if a.findings.len() > top {
        let _ = writeln!(out, "  and {} more findings", a.findings.len() - top);
    }
    let listed: u64 = a.findings.iter().map(|f| f.bytes_saved).sum();
    let _ = writeln!(
        out,
        "  total: {} reclaimable ({} of the {} in layers){}",
        human(a.totals.reclaimable_bytes),
        pct(a.totals.reclaimable_bytes, a.totals.layer_file_bytes),
        human(a.totals.layer_file_bytes),
        if listed > a.totals.reclaimable_bytes { " — findings overlap; each file counted once" } else { "" }
    );
}

fn render_owners(out: &mut String, a: &Analysis, top: usize) {
    let t = &a.totals;
    out.push_str("\nOwners: who the final bytes belong to\n");
    let mut ot = table(&["kind", "name", "version", "size", "files", "share", "group"], &[3, 4, 5]);
    for o in a.owners.iter().take(top) {
        let name = if o.unrecorded { format!("{} (unrecorded files)", o.name) } else { o.name.clone() };
        ot.add_row(vec![
            o.kind.clone(),
            name,
            o.version.clone().unwrap_or_default(),
            human(o.bytes),
            o.files.to_string(),
            pct(o.bytes, t.final_bytes),
            o.group.clone().unwrap_or_default(),
        ]);
    }
    if a.owners.len() > top {
        let rest = &a.owners[top..];
        let bytes: u64 = rest.iter().map(|o| o.bytes).sum();
        let files: u64 = rest.iter().map(|o| o.files).sum();
        ot.add_row(vec![String::new(), format!("and {} more owners", rest.len()), String::new(), human(bytes), files.to_string(), pct(bytes, t.final_bytes), String::new()]);
    }
    let total: u64 = a.owners.iter().map(|o| o.bytes).sum();
    let files: u64 = a.owners.iter().map(|o| o.files).sum();
    ot.add_row(vec![String::new(), "total".into(), String::new(), human(total), files.to_string(), pct(total, t.final_bytes), String::new()]);
    let _ = writeln!(out, "{ot}");

    if !a.groups.is_empty() {
        out.push_str("\nGroups\n");
        let mut gt = table(&["group", "size", "share", "members"], &[1, 2]);
        for g in a.groups.iter().take(top) {
            let mut members = g.members.iter().take(6).cloned().collect::<Vec<_>>().join(", ");
            if g.members.len() > 6 {
                members.push_str(&format!(" and {} more", g.members.len() - 6));
            }
            gt.add_row(vec![g.name.clone(), human(g.bytes), pct(g.bytes, t.final_bytes), members]);
        }
        let _ = writeln!(out, "{gt}");
    }

    if !a.models.is_empty() {
        out.push_str("\nModels\n");
        let mut mt = table(&["model", "format", "size", "files", "layer", "owner"], &[2, 3, 4]);
        for m in a.models.iter().take(top) {
            mt.add_row(vec![m.name.clone(), m.format.clone(), human(m.bytes), m.files.to_string(), m.layer.to_string(), m.owner.clone().unwrap_or_default()]);
        }
        if a.models.len() > top {
            mt.add_row(vec![format!("and {} more models", a.models.len() - top), String::new(), String::new(), String::new(), String::new(), String::new()]);
        }
        let _ = writeln!(out, "{mt}");
    }

    let cats: Vec<_> = a.owners.iter().filter(|o| o.kind == "category").collect();
    if !cats.is_empty() {
        out.push_str("\nFiles no package owns, by category\n");
        let mut ct = table(&["category", "size", "files", "share"], &[1, 2, 3]);
        for c in &cats {
            ct.add_row(vec![c.name.clone(), human(c.bytes), c.files.to_string(), pct(c.bytes, t.final_bytes)]);
        }
        let _ = writeln!(out, "{ct}");
    }
}
