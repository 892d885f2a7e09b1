//! The HTML report: one self-contained file that draws the same model as the JSON. The data is
//! embedded as JSON and the page's own small script and stylesheet are inlined; a
//! Content-Security-Policy that allows only those two (by hash) keeps every request off the
//! network, so the file can be opened from a CI artifact or a mail offline.

use base64::Engine;
use serde::Serialize;
use sha2::{Digest, Sha256};

const SCRIPT: &str = include_str!("html/report.js");
const STYLE: &str = include_str!("html/report.css");

/// What a report shows; `kind` tells the script which page to draw.
#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Page<'a> {
    Analyze { analysis: &'a crate::model::analysis::Analysis },
    Check { check: &'a crate::model::verdict::Report, analysis: &'a crate::model::analysis::Analysis },
    Diff { diff: &'a crate::model::diff::Diff },
    Rewrite { rewrite: &'a crate::model::rewrite::RewriteReport },
}

fn hash(text: &str) -> String {
    format!("'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(Sha256::digest(text.as_bytes())))
}

/// Text for an HTML element or attribute.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// JSON that can sit inside a `<script>` element: no `<` at all (it only occurs in strings,
/// where `\u003c` means the same), so no `</script>` or `<!--` from an image path ends it.
fn embeddable_json(page: &Page) -> String {
    serde_json::to_string(page).expect("the model serialises").replace('<', "\\u003c")
}

pub fn render(title: &str, page: &Page) -> String {
    let csp = format!("default-src 'none'; script-src {}; style-src {}; img-src 'none'; base-uri 'none'; form-action 'none'", hash(SCRIPT), hash(STYLE));
    let mut out = String::with_capacity(SCRIPT.len() + STYLE.len() + 4096);
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str(&format!("<meta http-equiv=\"Content-Security-Policy\" content=\"{csp}\">\n"));
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str(&format!("<title>{}</title>\n", escape(title)));
    out.push_str(&format!("<style>{STYLE}</style>\n</head>\n<body>\n"));
    out.push_str(
        "<noscript><p>This report draws itself with JavaScript; the same numbers are in <code>slim analyze --format text</code> and <code>--format json</code>.</p></noscript>\n",
    );
    out.push_str("<main id=\"app\"></main>\n");
    out.push_str(&format!("<script type=\"application/json\" id=\"slim-data\">{}</script>\n", embeddable_json(page)));
    out.push_str(&format!("<script>{SCRIPT}</script>\n</body>\n</html>\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_from_the_image_ends_the_data_element() {
        let mut r = crate::model::rewrite::RewriteReport::default();
        r.image = "</script><script>alert(1)</script><!--".into();
        let html = render("t", &Page::Rewrite { rewrite: &r });
        let data = html.split("id=\"slim-data\">").nth(1).unwrap().split("</script>").next().unwrap();
        assert!(!data.contains('<'), "{data}");
        let back: serde_json::Value = serde_json::from_str(data).unwrap();
        assert_eq!(back["rewrite"]["image"], r.image);
        assert_eq!(escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
    }

    #[test]
    fn the_policy_allows_exactly_the_inlined_script_and_style() {
        let html = render("t", &Page::Rewrite { rewrite: &Default::default() });
        let script = html.rsplit("<script>").next().unwrap().split("</script>").next().unwrap();
        let style = html.split("<style>").nth(1).unwrap().split("</style>").next().unwrap();
        assert!(html.contains(&format!("script-src {};", hash(script))));
        assert!(html.contains(&format!("style-src {};", hash(style))));
        assert!(html.contains("default-src 'none'"));
        assert!(!html.contains("http://") && !html.contains("https://"), "no address to fetch");
    }
}
