//! `slim check`: the budgets an image must stay within, from flags or `slim.toml`, judged
//! against an analysis. Pure: the command reads the inputs, this decides what passes and says
//! where to look when something does not.

pub mod limits;

pub use limits::{CONFIG_FILE, Limits, OwnerLimit, Ratio, Size, load_config, parse_size};

use crate::attribute::python::normalize_name;
use crate::model::analysis::{Analysis, Finding, LayerStep};
use crate::model::diff::{self, Change};
use crate::model::verdict::{CheckResult, Contributor, Number, Report};
use crate::show::{human, short_step};

/// How many contributors a failed check lists per kind (layers, owners, files...).
const CONTRIBUTORS: usize = 5;

/// A percentage for display, to one decimal place.
fn pct(v: f64) -> String {
    format!("{:.1}%", v * 100.0)
}
/// Judge an analysis (and the baseline, for growth) against the limits.
pub fn evaluate(a: &Analysis, baseline: Option<&Analysis>, limits: &Limits) -> Report {
    let mut checks = Vec::new();
    let t = &a.totals;
    if let Some(l) = limits.budget {
        let mut c = bytes_check("budget", None, "final filesystem", t.final_bytes, l);
        if !c.passed {
            c.contributors = where_bytes_are(a);
            c.layers = layers_of(&c.contributors);
        }
        checks.push(c);
    }
    if let Some(l) = limits.max_wasted {
        let mut c = bytes_check("max-wasted", None, "wasted bytes", t.wasted_bytes, l);
        if !c.passed {
            c.contributors = where_waste_is(a);
            c.layers = layers_of(&c.contributors);
        }
        checks.push(c);
    }
    if let Some(l) = limits.max_layer {
        let largest = a.layers.iter().max_by(|x, y| x.file_bytes.cmp(&y.file_bytes).then(y.index.cmp(&x.index)));
        let measure = match largest {
            Some(x) => format!("largest layer (layer {})", x.index),
            None => "largest layer".into(),
        };
        let mut c = bytes_check("max-layer", None, &measure, largest.map_or(0, |x| x.file_bytes), l);
        let mut over: Vec<_> = a.layers.iter().filter(|x| x.file_bytes > l.bytes).collect();
        over.sort_by(|x, y| y.file_bytes.cmp(&x.file_bytes).then(x.index.cmp(&y.index)));
        c.layers = over.iter().map(|x| x.index).collect();
        for x in &over {
            c.contributors.push(Contributor {
                kind: "layer".into(),
                name: layer_name(x.index, x.created_by.as_deref()),
                bytes: x.file_bytes,
                note: Some("file bytes".into()),
                layer: Some(x.index),
            });
        }
        for f in a.largest_files.iter().filter(|f| c.layers.contains(&f.layer)).take(CONTRIBUTORS) {
            c.contributors.push(Contributor { kind: "file".into(), name: f.path.clone(), bytes: f.bytes, note: None, layer: Some(f.layer) });
        }
        checks.push(c);
    }
    if let Some(l) = limits.min_efficiency {
        let passed = t.efficiency >= l.value();
        let contributors = if passed { Vec::new() } else { where_waste_is(a) };
        let message =
            if passed { format!("efficiency {} meets the minimum of {l}", pct(t.efficiency)) } else { format!("efficiency {} is below the minimum of {l}", pct(t.efficiency)) };
        checks.push(CheckResult {
            key: "min-efficiency".into(),
            subject: None,
            unit: "ratio".into(),
            limit: Number::Float(l.value()),
            limit_text: l.to_string(),
            measured: Number::Float(t.efficiency),
            measured_text: pct(t.efficiency),
            passed,
            message,
            layers: layers_of(&contributors),
            contributors,
        });
    }
    for o in &limits.max_owner {
        checks.push(owner_check(a, o));
    }
    for r in &limits.deny_rule {
        checks.push(rule_check(a, r));
    }
    if let (Some(base), Some(l)) = (baseline, limits.max_growth) {
        checks.push(growth_check(base, a, l));
    }
    Report {
        schema_version: crate::model::VERDICT_SCHEMA,
        image: a.image.clone(),
        passed: checks.iter().all(|c| c.passed),
        checks,
        findings: a.findings.clone(),
        layers: a.layers.iter().map(|l| LayerStep { index: l.index, created_by: l.created_by.clone() }).collect(),
    }
}

/// `measured ≤ limit`; exactly at the limit passes.
fn bytes_check(key: &str, subject: Option<&str>, measure: &str, measured: u64, limit: Size) -> CheckResult {
    let passed = measured <= limit.bytes;
    let (m, l) = two_sizes(measured, limit);
    let message =
        if passed { format!("{measure} {m} is within the limit of {l}") } else { format!("{measure} {m} is over the limit of {l} by {}", limit.show(measured - limit.bytes)) };
    CheckResult {
        key: key.into(),
        subject: subject.map(str::to_string),
        unit: "bytes".into(),
        limit: Number::Int(limit.bytes),
        limit_text: l,
        measured: Number::Int(measured),
        measured_text: m,
        passed,
        message,
        contributors: Vec::new(),
        layers: Vec::new(),
    }
}

/// A measured size and a limit in the limit's units, in exact bytes when rounding would make
/// them look equal.
fn two_sizes(measured: u64, limit: Size) -> (String, String) {
    let (m, l) = (limit.show(measured), limit.show(limit.bytes));
    if m == l && measured != limit.bytes { (format!("{measured} B"), format!("{} B", limit.bytes)) } else { (m, l) }
}

/// The layers among contributors, in their order (largest first).
fn layers_of(contributors: &[Contributor]) -> Vec<u64> {
    contributors.iter().filter(|c| c.kind == "layer").filter_map(|c| c.layer).collect()
}

pub fn layer_name(index: u64, created_by: Option<&str>) -> String {
    format!("layer {index}: {}", short_step(created_by, 60))
}

fn owner_label(kind: &str, name: &str, version: Option<&str>, location: Option<&str>) -> String {
    let mut s = format!("{kind} {name}");
    if let Some(v) = version {
        s.push_str(&format!(" {v}"));
    }
    if let Some(l) = location {
        s.push_str(&format!(" ({l})"));
    }
    s
}

/// The layers whose bytes survive, the biggest owners and groups.
fn where_bytes_are(a: &Analysis) -> Vec<Contributor> {
    let mut out = Vec::new();
    let mut layers: Vec<_> = a.layers.iter().map(|l| (l.file_bytes.saturating_sub(l.wasted_bytes), l)).collect();
    layers.sort_by(|x, y| y.0.cmp(&x.0).then(x.1.index.cmp(&y.1.index)));
    for (bytes, l) in layers.into_iter().take(CONTRIBUTORS).filter(|(b, _)| *b > 0) {
        out.push(Contributor {
            kind: "layer".into(),
            name: layer_name(l.index, l.created_by.as_deref()),
            bytes,
            note: Some("bytes in the final filesystem".into()),
            layer: Some(l.index),
        });
    }
    for g in a.groups.iter().take(3) {
        out.push(Contributor { kind: "group".into(), name: g.name.clone(), bytes: g.bytes, note: None, layer: None });
    }
    for o in a.owners.iter().take(CONTRIBUTORS) {
        out.push(Contributor { kind: "owner".into(), name: owner_label(&o.kind, &o.name, o.version.as_deref(), o.location.as_deref()), bytes: o.bytes, note: None, layer: None });
    }
    out
}

/// The layers that ship hidden bytes and the largest hidden files.
fn where_waste_is(a: &Analysis) -> Vec<Contributor> {
    let mut out = Vec::new();
    let mut layers: Vec<_> = a.layers.iter().filter(|l| l.wasted_bytes > 0).collect();
    layers.sort_by(|x, y| y.wasted_bytes.cmp(&x.wasted_bytes).then(x.index.cmp(&y.index)));
    for l in layers.into_iter().take(CONTRIBUTORS) {
        out.push(Contributor {
            kind: "layer".into(),
            name: layer_name(l.index, l.created_by.as_deref()),
            bytes: l.wasted_bytes,
            note: Some("written here, hidden by a later layer".into()),
            layer: Some(l.index),
        });
    }
    for w in a.wasted_files.iter().take(CONTRIBUTORS) {
        out.push(Contributor {
            kind: "file".into(),
            name: w.path.clone(),
            bytes: w.bytes,
            note: Some(format!("added in layer {}, hidden by layer {}", w.added_in, w.hidden_in)),
            layer: Some(w.added_in),
        });
    }
    out
}

/// `--max-owner NAME=SIZE`: NAME is a group when a group has that name, else every owner row
/// with that name (any kind or location); `KIND:NAME` picks one kind.
fn owner_check(a: &Analysis, o: &OwnerLimit) -> CheckResult {
    let (kind, name) = match o.name.split_once(':') {
        Some((k, n)) => (Some(k), n),
        None => (None, o.name.as_str()),
    };
    let group = if kind.is_none() { a.groups.iter().find(|g| g.name == name) } else { None };
    let wanted = normalize_name(name);
    let rows: Vec<_> = match group {
        Some(g) => a.owners.iter().filter(|r| r.group.as_deref() == Some(g.name.as_str())).collect(),
        None => a.owners.iter().filter(|r| kind.is_none_or(|k| k == r.kind) && normalize_name(&r.name) == wanted).collect(),
    };
    let measured = match group {
        Some(g) => g.bytes,
        None => rows.iter().map(|r| r.bytes).sum(),
    };
    let measure = match (group, rows.is_empty()) {
        (Some(_), _) => format!("group {name}"),
        (None, false) => format!("owner {}", o.name),
        (None, true) => format!("owner {} (not in the image)", o.name),
    };
    let mut c = bytes_check("max-owner", Some(&o.name), &measure, measured, o.limit);
    if !c.passed {
        for r in rows.iter().take(CONTRIBUTORS * 2) {
            let name = if r.unrecorded { format!("{} (unrecorded files)", r.name) } else { r.name.clone() };
            c.contributors.push(Contributor {
                kind: "owner".into(),
                name: owner_label(&r.kind, &name, r.version.as_deref(), r.location.as_deref()),
                bytes: r.bytes,
                note: None,
                layer: None,
            });
        }
    }
    c
}

/// `--deny-rule NAME`: fails when any finding of that rule (by name or id) is present.
fn rule_check(a: &Analysis, rule: &str) -> CheckResult {
    let hits: Vec<&Finding> = a.findings.iter().filter(|f| f.rule == rule || f.id.eq_ignore_ascii_case(rule)).collect();
    let passed = hits.is_empty();
    let saved: u64 = hits.iter().map(|f| f.bytes_saved).sum();
    let message = if passed {
        format!("no {rule} finding")
    } else {
        let s = if hits.len() == 1 { "" } else { "s" };
        format!("{} {rule} finding{s} (could save {})", hits.len(), human(saved))
    };
    let mut layers: Vec<u64> = hits.iter().flat_map(|f| f.evidence.layers.iter().map(|l| l.index)).collect();
    layers.sort_unstable();
    layers.dedup();
    CheckResult {
        key: "deny-rule".into(),
        subject: Some(rule.into()),
        unit: "findings".into(),
        limit: Number::Int(0),
        limit_text: "0".into(),
        measured: Number::Int(hits.len() as u64),
        measured_text: hits.len().to_string(),
        passed,
        message,
        contributors: hits
            .iter()
            .map(|f| Contributor {
                kind: "finding".into(),
                name: format!("{} {}: {}", f.id, f.rule, f.title),
                bytes: f.bytes_saved,
                note: Some(f.fix.text.clone()),
                layer: f.evidence.layers.first().map(|l| l.index),
            })
            .collect(),
        layers,
    }
}

/// `--max-growth`: final bytes against the baseline's. Exactly at the limit passes.
fn growth_check(base: &Analysis, a: &Analysis, l: Ratio) -> CheckResult {
    let (before, after) = (base.totals.final_bytes, a.totals.final_bytes);
    // after ≤ before × (1 + l), in integers.
    let passed = u128::from(after) * l.den <= u128::from(before) * (l.den + l.num);
    let growth = if before == 0 { if after == 0 { 0.0 } else { f64::INFINITY } } else { (after as f64 - before as f64) / before as f64 };
    let change = if after >= before { format!("+{}", human(after - before)) } else { format!("-{}", human(before - after)) };
    let shown = if growth.is_finite() { format!("{}{}", if growth > 0.0 { "+" } else { "" }, pct(growth)) } else { "from nothing".into() };
    let verdict = if passed { "within" } else { "over" };
    let message = format!("final filesystem {} against the baseline's {}: {change} ({shown}), {verdict} the allowed growth of {l}", human(after), human(before));
    let mut contributors = Vec::new();
    if !passed {
        let d = diff::diff(base, a);
        let mut owners: Vec<_> = d.owners.iter().filter(|o| o.delta > 0).collect();
        owners.sort_by_key(|o| std::cmp::Reverse(o.delta));
        for o in owners.into_iter().take(CONTRIBUTORS) {
            contributors.push(Contributor {
                kind: "owner".into(),
                name: owner_label(&o.kind, &o.name, o.version_after.as_deref(), o.location.as_deref()),
                bytes: o.delta as u64,
                note: Some(growth_note(o.change, o.before_bytes)),
                layer: None,
            });
        }
        let mut layers: Vec<_> = d.layers.iter().filter(|x| x.delta > 0).collect();
        layers.sort_by_key(|x| std::cmp::Reverse(x.delta));
        for x in layers.into_iter().take(CONTRIBUTORS) {
            contributors.push(Contributor {
                kind: "layer".into(),
                name: layer_name(x.after_index.unwrap_or_default(), x.created_by.as_deref()),
                bytes: x.delta as u64,
                note: Some(growth_note(x.change, x.before_bytes)),
                layer: x.after_index,
            });
        }
    }
    CheckResult {
        key: "max-growth".into(),
        subject: None,
        unit: "ratio".into(),
        limit: Number::Float(l.value()),
        limit_text: l.to_string(),
        measured: Number::Float(growth),
        measured_text: shown,
        passed,
        message,
        contributors,
        layers: Vec::new(),
    }
}

fn growth_note(change: Change, before: Option<u64>) -> String {
    match (change, before) {
        (Change::Appeared, _) | (_, None) => "new".into(),
        (_, Some(b)) => format!("grew from {}", human(b)),
    }
}
