//! Renderers: every format draws the same typed model (`model::Analysis`).

pub mod check_text;
pub mod diff_text;
pub mod github;
pub mod html;
pub mod junit;
pub mod markdown;
pub mod sarif;
pub mod rewrite;
pub mod text;
pub mod why;

pub use crate::escape::{error_line, terminal_safe};

/// A plain table (no borders, no wrapping, no terminal codes) with `right` columns
/// right-aligned: what every text report draws.
pub(crate) fn table(header: &[&str], right: &[usize]) -> comfy_table::Table {
    use comfy_table::{CellAlignment, ContentArrangement, Table, presets};
    let mut t = Table::new();
    t.load_style(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .force_no_tty()
        .set_header(header.to_vec());
    for &c in right {
        if let Some(col) = t.column_mut(c) {
            col.set_cell_alignment(CellAlignment::Right);
        }
    }
    t
}
