//! SARIF 2.1.0 for code-scanning panes: every finding is a result, and so is every failed
//! check. With `--dockerfile`, a result about a layer points at the Dockerfile step that made
//! it (see `dockerfile::steps`); a result about the whole image points at the final `FROM`.

use crate::dockerfile::steps::StepLines;
use crate::model::analysis::Finding;
use crate::model::verdict::Report;
use serde_json::{Value, json};

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level_of(f: &Finding, denied: bool) -> &'static str {
    if denied {
        return "error";
    }
    match f.severity.as_str() {
        "high" => "error",
        "medium" => "warning",
        _ => "note",
    }
}

/// Where a result points: the first of `layers` a Dockerfile step made, else the `FROM` line.
fn locations(steps: Option<&StepLines>, layers: &[u64]) -> Value {
    let Some(s) = steps else { return json!([]) };
    let (start, end) = layers.iter().find_map(|&l| s.of(l)).unwrap_or((s.from_line, s.from_line));
    let uri = s.path.replace('\\', "/");
    let uri = uri.strip_prefix("./").unwrap_or(&uri);
    json!([{
        "physicalLocation": {
            "artifactLocation": {"uri": uri},
            "region": {"startLine": start, "endLine": end}
        }
    }])
}

pub fn render(r: &Report, steps: Option<&StepLines>) -> String {
    let mut rules: Vec<Value> = Vec::new();
    let mut rule_ids: Vec<String> = Vec::new();
    let mut rule_index = |id: &str, rule: Value| -> usize {
        if let Some(i) = rule_ids.iter().position(|r| r == id) {
            return i;
        }
        rule_ids.push(id.to_string());
        rules.push(rule);
        rule_ids.len() - 1
    };
    let denied: Vec<&str> = r.checks.iter().filter(|c| c.key == "deny-rule").filter_map(|c| c.subject.as_deref()).collect();
    let mut results = Vec::new();
    for f in &r.findings {
        let is_denied = denied.iter().any(|d| *d == f.rule || d.eq_ignore_ascii_case(&f.id));
        let level = level_of(f, is_denied);
        let i = rule_index(
            &f.id,
            json!({
                "id": f.id,
                "name": f.rule,
                "shortDescription": {"text": f.title},
                "defaultConfiguration": {"level": level_of(f, false)},
            }),
        );
        let layers: Vec<u64> = f.evidence.layers.iter().map(|l| l.index).collect();
        let saves = crate::show::human(f.bytes_saved);
        results.push(json!({
            "ruleId": f.id,
            "ruleIndex": i,
            "level": level,
            "message": {"text": if f.basis.is_empty() {
                format!("{} (could save {saves}). Fix: {}", f.title, f.fix.text)
            } else {
                format!("{} (could save {saves}; {}). Fix: {}", f.title, f.basis, f.fix.text)
            }},
            "locations": locations(steps, &layers),
            "properties": {
                "rule": f.rule,
                "bytesSaved": f.bytes_saved,
                "paths": f.evidence.paths,
                "owners": f.evidence.owners,
                "layers": layers,
            },
        }));
    }
    for c in r.checks.iter().filter(|c| !c.passed) {
        let id = format!("check/{}", c.key);
        let i = rule_index(
            &id,
            json!({
                "id": id,
                "name": c.key,
                "shortDescription": {"text": format!("slim check: {}", c.key)},
                "defaultConfiguration": {"level": "error"},
            }),
        );
        let mut text = c.message.clone();
        let look: Vec<String> = c.contributors.iter().take(5).map(|k| format!("{} ({})", k.label(), c.human(k.bytes))).collect();
        if !look.is_empty() {
            text.push_str(&format!(". Where to look: {}", look.join("; ")));
        }
        results.push(json!({
            "ruleId": id,
            "ruleIndex": i,
            "level": "error",
            "message": {"text": text},
            "locations": locations(steps, &c.layers),
            "properties": {
                "check": c.name(),
                "limit": c.limit,
                "measured": c.measured,
            },
        }));
    }
    let doc = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "slim",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": results,
            "properties": {"image": r.image.source, "reference": r.image.reference, "passed": r.passed},
        }],
    });
    super::json(&doc)
}
