//! Renderers: every format draws the same typed model (`model::Analysis`).

pub mod check_text;
pub mod diff_text;
pub mod github;
pub mod html;
pub mod junit;
pub mod markdown;
pub mod model;
pub mod sarif;
pub mod rewrite;
pub mod text;
pub mod why;

/// A path for people and JSON: `/`-rooted, valid UTF-8 kept as is, any other byte, and any
/// control character (a newline, ESC), written as `\xNN`: nothing is lost or merged, and a
/// name from the image reads the same in every format and cannot start a line of its own.
pub fn display_path(p: &[u8]) -> String {
    let mut out = String::with_capacity(p.len() + 1);
    out.push('/');
    for chunk in p.utf8_chunks() {
        crate::escape::escape_into(&mut out, chunk.valid(), false);
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

pub use crate::escape::{error_line, escape, terminal_safe};

/// Bytes in IEC units (KiB, MiB, GiB), one style everywhere in text output.
pub fn human(bytes: u64) -> String {
    bytesize::ByteSize::b(bytes).display().iec().to_string()
}

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
