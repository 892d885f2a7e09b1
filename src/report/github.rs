//! GitHub Actions: workflow-command annotations (`::error title=…::…`) for failed checks and
//! findings, pointing at Dockerfile lines when `--dockerfile` is given, then the text report
//! for the log. The markdown summary for `$GITHUB_STEP_SUMMARY` is `markdown::check`.

use crate::dockerfile::steps::StepLines;
use crate::model::verdict::Report;
use std::fmt::Write;

/// Escape the message of a workflow command.
fn data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// Escape a property value of a workflow command.
fn property(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

fn annotation(out: &mut String, level: &str, title: &str, steps: Option<&StepLines>, layers: &[u64], message: &str) {
    let mut props = Vec::new();
    if let Some(s) = steps {
        let (start, end) = layers.iter().find_map(|&l| s.of(l)).unwrap_or((s.from_line, s.from_line));
        props.push(format!("file={}", property(&s.path)));
        props.push(format!("line={start}"));
        if end != start {
            props.push(format!("endLine={end}"));
        }
    }
    props.push(format!("title={}", property(title)));
    let _ = writeln!(out, "::{level} {}::{}", props.join(","), data(message));
}

pub fn render(r: &Report, steps: Option<&StepLines>) -> String {
    let mut out = String::new();
    for c in r.checks.iter().filter(|c| !c.passed) {
        let mut msg = c.message.clone();
        let look: Vec<String> = c.contributors.iter().take(5).map(|k| format!("{} ({})", k.label(), c.human(k.bytes))).collect();
        if !look.is_empty() {
            msg.push_str(&format!("\nWhere to look:\n{}", look.join("\n")));
        }
        annotation(&mut out, "error", &format!("slim check failed: {}", c.name()), steps, &c.layers, &msg);
    }
    let denied: Vec<&str> = r.checks.iter().filter(|c| c.key == "deny-rule").filter_map(|c| c.subject.as_deref()).collect();
    for f in &r.findings {
        // Denied findings already fail their check above; the rest are advice.
        if denied.iter().any(|d| *d == f.rule || d.eq_ignore_ascii_case(&f.id)) {
            continue;
        }
        let level = if f.severity == "high" || f.severity == "medium" { "warning" } else { "notice" };
        let layers: Vec<u64> = f.evidence.layers.iter().map(|l| l.index).collect();
        let msg = format!("{} (could save {}). Fix: {}", f.title, crate::show::human(f.bytes_saved), f.fix.text);
        annotation(&mut out, level, &format!("slim {} {}", f.id, f.rule), steps, &layers, &msg);
    }
    out.push_str(&super::check_text::render(r));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_commands_are_escaped() {
        assert_eq!(data("50% of a\nb"), "50%25 of a%0Ab");
        assert_eq!(property("slim: a, b"), "slim%3A a%2C b");
    }
}
