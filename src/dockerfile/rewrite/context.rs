//! Image paths traced back to the build context: which COPY brought a file, and from where, so
//! an edit can go to the .dockerignore or to a requirements file the build copies.

use crate::dockerfile::{CopyArgs, Parsed};
use std::path::Path;

/// Normalise an absolute path: no `.`, no `..`, no trailing slash.
pub(super) fn norm(p: &str) -> String {
    crate::dockerfile::parse::normalise_path(p)
}

pub(super) fn abs_at(wd: &str, p: &str) -> String {
    crate::dockerfile::parse::resolve(wd, p)
}

/// Absolute destination of a COPY.
pub(super) fn dest_abs(wd: &str, c: &CopyArgs) -> String {
    abs_at(wd, &c.dest)
}

/// The build-context path a COPY brought to image path `abs`, when one can tell.
pub(super) fn context_path(ctx: &Path, c: &CopyArgs, dest: &str, abs: &str) -> Option<String> {
    for src in &c.sources {
        let src = src.trim_end_matches('/').trim_start_matches("./");
        let src = if src == "." { "" } else { src };
        if src.contains(['*', '?', '[']) || src.starts_with("<<") {
            continue;
        }
        if !src.is_empty() && ctx.join(src).is_file() {
            let name = src.rsplit('/').next().unwrap_or(src);
            if abs == dest || abs == format!("{}/{name}", dest.trim_end_matches('/')) {
                return Some(src.to_string());
            }
            continue;
        }
        let rest = if abs == dest { "" } else { abs.strip_prefix(dest).and_then(|r| r.strip_prefix('/')).or_else(|| (dest == "/").then(|| abs.trim_start_matches('/')))? };
        return Some(match (src.is_empty(), rest.is_empty()) {
            (true, _) => rest.to_string(),
            (false, true) => src.to_string(),
            (false, false) => format!("{src}/{rest}"),
        })
        .filter(|s| !s.is_empty());
    }
    None
}

/// The COPY from the build context (its step index) that put `abs` in the image last before
/// step `before`, in the stage of step `si`, with the context path it came from.
pub(super) fn copied_from_context<'p>(p: &'p Parsed, ctx: &Path, abs: &str, si: usize, before: usize) -> Option<(usize, &'p CopyArgs, String)> {
    let start = p.stages[p.steps[si].stage].steps.start;
    (start..before).rev().find_map(|k| {
        let c = p.steps[k].copy.as_ref().filter(|c| !c.from_stage)?;
        let rel = context_path(ctx, c, &dest_abs(&p.steps[k].workdir, c), abs)?;
        Some((k, c, rel))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_paths_follow_the_copy() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("requirements.txt"), "x\n").unwrap();
        let c = |src: &str, dest: &str| CopyArgs { sources: vec![src.into()], dest: dest.into(), flags: vec![], flag_at: 0, from: None, from_stage: false };
        assert_eq!(context_path(dir.path(), &c("app/", "/app/"), "/app", "/app/obsolete.py").as_deref(), Some("app/obsolete.py"));
        assert_eq!(context_path(dir.path(), &c(".", "."), "/srv", "/srv/venv").as_deref(), Some("venv"));
        assert_eq!(context_path(dir.path(), &c("requirements.txt", "."), "/app", "/app/requirements.txt").as_deref(), Some("requirements.txt"));
        assert_eq!(context_path(dir.path(), &c("requirements.txt", "."), "/app", "/app/other.txt"), None);
    }
}
