//! An analysis from either an image or a JSON file `slim analyze --format json` wrote, told
//! apart by content (a JSON object, not a tar), so `check` and `diff` run on saved analyses.

use crate::analyze::{self, Options};
use crate::error::{Error, Result};
use crate::image::store::Source;
use crate::model::analysis::Analysis;
use std::io::{Read, Seek};

/// The first byte that is not whitespace (or a UTF-8 byte-order mark) is `{`.
fn looks_like_json(head: &[u8]) -> bool {
    let head = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    head.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

/// Read an analysis JSON: it must be the model, with a `schema_version` this slim reads.
pub fn from_json(display: &str, bytes: &[u8]) -> Result<Analysis> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| Error::input(display, format!("malformed JSON: {e}")))?;
    match value.get("schema_version").and_then(|v| v.as_u64()) {
        None => {
            return Err(Error::input(display, "JSON without a schema_version: not an analysis written by slim analyze --format json"));
        }
        Some(v) if v > u64::from(crate::model::ANALYSIS_SCHEMA) => {
            return Err(Error::input(display, format!("schema_version {v} is newer than this slim reads ({})", crate::model::ANALYSIS_SCHEMA)));
        }
        Some(_) => {}
    }
    serde_json::from_value(value).map_err(|e| Error::input(display, format!("not a slim analysis: {e}")))
}

/// Analyse `input` (a path or `-`), or read it when it is a saved analysis.
pub fn load(input: &str, opts: &Options) -> Result<Analysis> {
    let mut head = Vec::with_capacity(512);
    if input == "-" {
        let mut stdin = std::io::stdin().lock();
        (&mut stdin).take(512).read_to_end(&mut head).map_err(|e| Error::input("-", e))?;
        if looks_like_json(&head) {
            stdin.read_to_end(&mut head).map_err(|e| Error::input("-", e))?;
            return from_json("-", &head);
        }
        let src = Source::open_stream("-".into(), std::io::Cursor::new(head).chain(stdin), opts.capture, &opts.progress)?;
        return Ok(analyze::run_source(src, opts)?.analysis);
    }
    let path = std::path::Path::new(input);
    if path.is_file() {
        let mut f = std::fs::File::open(path).map_err(|e| Error::input(input, e))?;
        (&mut f).take(512).read_to_end(&mut head).map_err(|e| Error::input(input, e))?;
        if looks_like_json(&head) {
            let mut all = Vec::new();
            f.rewind().map_err(|e| Error::input(input, e))?;
            f.read_to_end(&mut all).map_err(|e| Error::input(input, e))?;
            return from_json(input, &all);
        }
    }
    Ok(analyze::run(input, opts)?.analysis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_told_by_its_first_byte() {
        assert!(looks_like_json(b"  \n{\"schema_version\": 1}"));
        assert!(looks_like_json(b"\xef\xbb\xbf{"));
        assert!(!looks_like_json(b"manifest.json\0\0\0"));
        assert!(!looks_like_json(b""));
    }

    #[test]
    fn json_that_is_not_an_analysis() {
        let e = from_json("x.json", b"{\"a\": 1}").unwrap_err().to_string();
        assert!(e.contains("x.json") && e.contains("schema_version"), "{e}");
        let e = from_json("x.json", b"{\"schema_version\": 99}").unwrap_err().to_string();
        assert!(e.contains("newer"), "{e}");
        let e = from_json("x.json", b"{\"schema_version\": 1}").unwrap_err().to_string();
        assert!(e.contains("not a slim analysis"), "{e}");
        let e = from_json("x.json", b"{\"schema_version\": ").unwrap_err().to_string();
        assert!(e.contains("malformed JSON"), "{e}");
    }
}
