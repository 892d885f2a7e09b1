//! Requirements files the build copies, rewritten: the new file goes beside the one it replaces
//! (`NAME.slim.txt`), and the Dockerfile's COPY sources and `-r` arguments are pointed at it, so
//! the output builds as it is.

use super::context::{abs_at, copied_from_context, dest_abs};
use super::install::install_of;
use super::splice::{Edit, cmds};
use crate::dockerfile::Parsed;
use std::collections::BTreeMap;
use std::path::Path;

/// The new file's context path and text: `lines` (line index → replacement, `None` to drop it)
/// applied to `body`, the file at `rel`.
pub(super) fn rewritten(rel: &str, body: &str, lines: &BTreeMap<usize, Option<String>>) -> (String, String) {
    let mut new = String::new();
    for (i, l) in body.lines().enumerate() {
        match lines.get(&i) {
            Some(Some(r)) => new.push_str(r),
            Some(None) => continue,
            None => new.push_str(l),
        }
        new.push('\n');
    }
    let (stem, ext) = rel.rsplit_once('.').filter(|(s, _)| !s.ends_with('/')).unwrap_or((rel, "txt"));
    (format!("{stem}.slim.{ext}"), new)
}

/// Edits that point the Dockerfile at `new_rel` instead of `rel`: COPY sources naming the file,
/// and `-r` arguments naming it where it landed under its own name.
pub(super) fn repoint(p: &Parsed, context: &Path, rel: &str, new_rel: &str) -> Vec<Edit> {
    let text = &p.text;
    let name = rel.rsplit('/').next().unwrap_or(rel);
    let new_name = new_rel.rsplit('/').next().unwrap_or(new_rel);
    let mut repoint = Vec::new();
    for (k, s) in p.steps.iter().enumerate() {
        if let Some(c) = s.copy.as_ref().filter(|c| !c.from_stage) {
            let src_text = &text[s.span.clone()];
            if c.sources.iter().any(|x| x.trim_start_matches("./") == rel) {
                if let Some(off) = src_text.find(rel) {
                    let at = s.span.start + off;
                    repoint.push(Edit { span: at..at + rel.len(), text: new_rel.to_string(), finding: usize::MAX });
                }
            }
        }
        for c in cmds(s) {
            let Some(inst) = install_of(c) else { continue };
            for &w in &inst.reqfiles {
                let Some(word) = c.words.get(w) else { continue };
                let v = word.text();
                let abs = abs_at(&s.workdir, v);
                let via = copied_from_context(p, context, &abs, k, k);
                if via.as_ref().is_some_and(|(_, _, r)| r == rel) && v.rsplit('/').next() == Some(name) {
                    // The file lands under its own name unless the COPY named the destination file.
                    let (ck, cp, _) = via.unwrap();
                    let exact = dest_abs(&p.steps[ck].workdir, cp) == abs && !cp.dest.ends_with('/') && cp.dest != ".";
                    if !exact && word.raw == v {
                        let at = word.span.end - name.len();
                        repoint.push(Edit { span: at..word.span.end, text: new_name.to_string(), finding: usize::MAX });
                    }
                }
            }
        }
    }
    repoint
}
