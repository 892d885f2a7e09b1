//! The text report of `slim diff`: totals before and after, then layers, owners and groups
//! that changed. The owner table adds up: its total is the change of the final filesystem.

use super::table;
use crate::model::analysis::Totals;
use crate::model::diff::{Change, Diff};
use crate::show::human;
use crate::show::short_step;
use std::fmt::Write;

/// `+1.5 MiB`, `-300 B`, `0 B`.
pub fn signed(d: i64) -> String {
    match d {
        0 => "0 B".into(),
        d if d > 0 => format!("+{}", human(d as u64)),
        d => format!("-{}", human(d.unsigned_abs())),
    }
}

fn opt(b: Option<u64>) -> String {
    b.map_or_else(|| "-".into(), human)
}

/// `+8.3%` of `before`, or empty when before is 0.
fn rel(before: u64, after: u64) -> String {
    if before == 0 {
        return String::new();
    }
    format!(" ({:+.1}%)", (after as f64 - before as f64) * 100.0 / before as f64)
}

/// Rows of the totals table: (label, before, after) in bytes, then counts.
pub fn total_rows(b: &Totals, a: &Totals) -> Vec<(&'static str, u64, u64, bool)> {
    vec![
        ("final filesystem", b.final_bytes, a.final_bytes, true),
        ("in layers", b.layer_file_bytes, a.layer_file_bytes, true),
        ("wasted", b.wasted_bytes, a.wasted_bytes, true),
        ("compressed", b.compressed_bytes, a.compressed_bytes, true),
        ("layers", b.layers, a.layers, false),
        ("final files", b.final_files, a.final_files, false),
    ]
}

pub fn total_cells(before: u64, after: u64, bytes: bool) -> [String; 3] {
    if bytes {
        [human(before), human(after), format!("{}{}", signed(after as i64 - before as i64), rel(before, after))]
    } else {
        [before.to_string(), after.to_string(), format!("{:+}", after as i64 - before as i64)]
    }
}

/// `2.1.0 → 2.3.0`, or the one version there is.
pub fn versions(before: Option<&str>, after: Option<&str>) -> String {
    match (before, after) {
        (Some(b), Some(a)) if a != b => format!("{b} → {a}"),
        (b, a) => a.or(b).unwrap_or("").to_string(),
    }
}

fn idx(i: Option<u64>) -> String {
    i.map_or_else(|| "-".into(), |i| i.to_string())
}

pub fn render(d: &Diff, top: usize) -> String {
    let mut out = String::new();
    let side = |s: &crate::model::diff::Side| format!("{} ({})", s.image.source, s.image.reference.as_deref().unwrap_or("untagged"));
    let _ = writeln!(out, "slim diff: {} → {}\n", side(&d.before), side(&d.after));

    let mut t = table(&["", "before", "after", "change"], &[1, 2, 3]);
    for (label, b, a, bytes) in total_rows(&d.before.totals, &d.after.totals) {
        let [b, a, c] = total_cells(b, a, bytes);
        t.add_row(vec![label.to_string(), b, a, c]);
    }
    let _ = writeln!(out, "{t}");

    out.push_str("\nLayers (file bytes)\n");
    let mut t = table(&["change", "before", "after", "matched by", "created by", "before", "after", "delta"], &[1, 2, 5, 6, 7]);
    for l in &d.layers {
        t.add_row(vec![
            l.change.name().to_string(),
            idx(l.before_index),
            idx(l.after_index),
            l.matched_by.clone().unwrap_or_else(|| "-".into()),
            short_step(l.created_by.as_deref(), 50),
            opt(l.before_bytes),
            opt(l.after_bytes),
            signed(l.delta),
        ]);
    }
    let _ = writeln!(out, "{t}");

    let _ = writeln!(out, "\nOwners: {} changed, {} unchanged", d.owners.len(), d.unchanged_owners);
    if !d.owners.is_empty() {
        let mut t = table(&["change", "kind", "name", "version", "location", "before", "after", "delta"], &[5, 6, 7]);
        for o in d.owners.iter().take(top) {
            t.add_row(vec![
                o.change.name().to_string(),
                o.kind.clone(),
                o.name.clone(),
                versions(o.version_before.as_deref(), o.version_after.as_deref()),
                o.location.clone().unwrap_or_default(),
                opt(o.before_bytes),
                opt(o.after_bytes),
                signed(o.delta),
            ]);
        }
        if d.owners.len() > top {
            let rest: i64 = d.owners[top..].iter().map(|o| o.delta).sum();
            let mut row = vec![String::new(); 8];
            row[2] = format!("and {} more changed owners", d.owners.len() - top);
            row[7] = signed(rest);
            t.add_row(row);
        }
        let mut row = vec![String::new(); 8];
        row[2] = "total".into();
        row[7] = signed(d.owners.iter().map(|o| o.delta).sum());
        t.add_row(row);
        let _ = writeln!(out, "{t}");
    }

    if !d.groups.is_empty() || d.unchanged_groups > 0 {
        let _ = writeln!(out, "\nGroups: {} changed, {} unchanged", d.groups.len(), d.unchanged_groups);
        if !d.groups.is_empty() {
            let mut t = table(&["change", "group", "before", "after", "delta"], &[2, 3, 4]);
            for g in d.groups.iter().take(top) {
                t.add_row(vec![g.change.name().to_string(), g.name.clone(), opt(g.before_bytes), opt(g.after_bytes), signed(g.delta)]);
            }
            if d.groups.len() > top {
                t.add_row(vec![String::new(), format!("and {} more changed groups", d.groups.len() - top), String::new(), String::new(), String::new()]);
            }
            let _ = writeln!(out, "{t}");
        }
    }
    let counts = |c: Change| d.owners.iter().filter(|o| o.change == c).count();
    let _ =
        writeln!(out, "\nowners: {} grew, {} shrank, {} appeared, {} vanished", counts(Change::Grew), counts(Change::Shrank), counts(Change::Appeared), counts(Change::Vanished));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_sizes() {
        assert_eq!(signed(0), "0 B");
        assert_eq!(signed(2048), "+2.0 KiB");
        assert_eq!(signed(-10), "-10 B");
        assert_eq!(versions(Some("1"), Some("2")), "1 → 2");
        assert_eq!(versions(None, Some("2")), "2");
    }
}
