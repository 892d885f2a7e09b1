//! Renderers: every format draws one of the typed models in model/. `render(doc, format)` is
//! the one entry point; nothing here computes a fact of its own.

pub mod check_text;
pub mod diff_text;
pub mod github;
pub mod html;
pub mod junit;
pub mod markdown;
pub mod rewrite;
pub mod sarif;
pub mod text;
pub mod why;

pub use crate::escape::{error_line, terminal_safe};

use crate::dockerfile::steps::StepLines;
use crate::model::{analysis::Analysis, diff::Diff, rewrite::RewriteReport, verdict::Report, why::Why};

/// A model to draw, with what its renderers read beside it.
pub enum Doc<'a> {
    /// `slim analyze`: the tables keep `top` rows.
    Analysis {
        analysis: &'a Analysis,
        top: usize,
    },
    /// `slim check`: the analysis it judged (for HTML) and the Dockerfile lines of each layer
    /// (for annotations that point at them).
    Verdict {
        verdict: &'a Report,
        analysis: &'a Analysis,
        steps: Option<&'a StepLines>,
    },
    Diff {
        diff: &'a Diff,
        top: usize,
    },
    Why(&'a Why),
    Rewrite(&'a RewriteReport),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Markdown,
    Html,
    Sarif,
    Junit,
    Github,
}

/// Draw `doc` in `format`; None when that model has no such rendering. What reaches a
/// terminal is made safe there; JSON, SARIF and HTML escape by themselves.
pub fn render(doc: &Doc, format: Format) -> Option<String> {
    use Format::*;
    let safe = terminal_safe;
    Some(match (doc, format) {
        (Doc::Analysis { analysis, .. }, Json) => json(analysis),
        (Doc::Verdict { verdict, .. }, Json) => json(verdict),
        (Doc::Diff { diff, .. }, Json) => json(diff),
        (Doc::Why(w), Json) => json(w),
        (Doc::Rewrite(r), Json) => json(r),

        (Doc::Analysis { analysis, top }, Text) => safe(text::render(analysis, *top)),
        (Doc::Analysis { analysis, top }, Markdown) => safe(markdown::analysis(analysis, *top)),
        (Doc::Analysis { analysis, .. }, Html) => html::render(&format!("slim analyze: {}", analysis.image.source), &html::Page::Analyze { analysis }),

        (Doc::Verdict { verdict, .. }, Text) => safe(check_text::render(verdict)),
        (Doc::Verdict { verdict, .. }, Junit) => safe(junit::render(verdict)),
        (Doc::Verdict { verdict, steps, .. }, Sarif) => sarif::render(verdict, *steps),
        (Doc::Verdict { verdict, steps, .. }, Github) => safe(github::render(verdict, *steps)),
        (Doc::Verdict { verdict, .. }, Markdown) => safe(markdown::check(verdict)),
        (Doc::Verdict { verdict, analysis, .. }, Html) => html::render(&format!("slim check: {}", verdict.image.source), &html::Page::Check { check: verdict, analysis }),

        (Doc::Diff { diff, top }, Text) => safe(diff_text::render(diff, *top)),
        (Doc::Diff { diff, top }, Markdown) => safe(markdown::diff(diff, *top)),
        (Doc::Diff { diff, .. }, Html) => html::render(&format!("slim diff: {} → {}", diff.before.image.source, diff.after.image.source), &html::Page::Diff { diff }),

        (Doc::Why(w), Text) => safe(why::render(w)),

        (Doc::Rewrite(r), Text) => safe(rewrite::text(r, false)),
        (Doc::Rewrite(r), Markdown) => safe(rewrite::text(r, true)),
        (Doc::Rewrite(r), Html) => html::render(&format!("slim rewrite: {}", r.image), &html::Page::Rewrite { rewrite: r }),

        _ => return None,
    })
}

/// Pretty JSON with a final newline: every JSON document slim writes.
pub(crate) fn json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    let mut s = serde_json::to_string_pretty(value).expect("the models serialise");
    s.push('\n');
    s
}

/// A plain table (no borders, no wrapping, no terminal codes) with `right` columns
/// right-aligned: what every text report draws.
pub(crate) fn table(header: &[&str], right: &[usize]) -> comfy_table::Table {
    use comfy_table::{CellAlignment, ContentArrangement, Table, presets};
    let mut t = Table::new();
    t.load_style(presets::NOTHING).set_content_arrangement(ContentArrangement::Disabled).force_no_tty().set_header(header.to_vec());
    for &c in right {
        if let Some(col) = t.column_mut(c) {
            col.set_cell_alignment(CellAlignment::Right);
        }
    }
    t
}
