//! The .dockerignore a rewrite writes: the context's own, then each pattern a change needs with
//! a `# slim:` line naming the finding.

use std::path::Path;

/// The context's .dockerignore with `patterns` (pattern, why) added; `None` when there is none
/// to add.
pub(super) fn with(context: &Path, patterns: Vec<(String, String)>) -> Option<String> {
    if patterns.is_empty() {
        return None;
    }
    let mut body = std::fs::read_to_string(context.join(".dockerignore")).unwrap_or_default();
    if !body.is_empty() && !body.ends_with('\n') {
        body.push('\n');
    }
    for (pat, why) in patterns {
        if !body.lines().any(|l| l.trim() == pat) {
            body.push_str(&format!("# slim: {why}\n{pat}\n"));
        }
    }
    Some(body)
}
