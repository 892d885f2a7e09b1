//! A whole rewrite, from a Dockerfile's text and an analysed image to the rewrite model: parse
//! with the build arguments, tie the final stage's steps to the layers (refusing a Dockerfile
//! that does not match), apply the findings, and predict the size the output builds to.

use super::{Options, Outcome, rewrite};
use crate::dockerfile::{Parsed, shell};
use crate::error::{Error, Result};
use crate::facts::Analyzed;
use crate::model::rewrite::{ChangeRow, EditRecord, Outputs, RewriteReport};
use std::collections::HashSet;
use std::path::Path;

/// What the user asked to rewrite.
pub struct Request<'a> {
    /// The image as named on the command line.
    pub image: &'a str,
    /// The Dockerfile as named on the command line (or `(reconstructed)`).
    pub name: &'a str,
    pub text: &'a str,
    pub reconstructed: bool,
    pub build_args: &'a shell::Vars,
    /// The build context.
    pub context: &'a Path,
    /// Rewrite even when steps match no layer.
    pub force: bool,
    pub options: Options,
}

/// Rewrite the Dockerfile for the image's findings: the emitted files and the report (its
/// `outputs` and `diff` left for the caller, who writes the files).
pub fn plan(req: &Request, done: &Analyzed) -> Result<(Outcome, RewriteReport)> {
    let name = req.name;
    let mut parsed = Parsed::read(req.text, req.build_args).map_err(|e| Error::input(name, e))?;
    let layers: Vec<(u64, Option<&str>)> = done.analysis.layers.iter().map(|l| (l.index, l.created_by.as_deref())).collect();
    let unmatched = parsed.match_layers(name, &layers).map_err(|e| Error::input(name, e))?;
    if !unmatched.is_empty() && !req.force && !req.reconstructed {
        let first = &parsed.steps[unmatched[0]];
        let made = parsed.steps[parsed.final_steps()].iter().filter(|s| Parsed::makes_layer(s)).count();
        return Err(Error::Usage(format!(
            "{name} does not match {}: {} of its {made} layer-making steps match no layer of the image (first: line {}: {}); pass --force to rewrite anyway",
            req.image,
            unmatched.len(),
            first.line,
            parsed.text[first.span.clone()].lines().next().unwrap_or("")
        )));
    }
    let outcome = rewrite(&parsed, done, req.context, &req.options).map_err(|e| Error::input(name, e))?;
    let f = &done.analysis.findings;
    let report = RewriteReport {
        schema_version: crate::model::REWRITE_SCHEMA,
        image: req.image.to_string(),
        dockerfile: (!req.reconstructed).then(|| name.to_string()),
        reconstructed: req.reconstructed,
        before_bytes: done.analysis.totals.layer_file_bytes,
        predicted_after_bytes: predict(done, &outcome),
        changes: outcome
            .changes
            .iter()
            .map(|c| ChangeRow {
                finding_id: f[c.finding].id.clone(),
                rule: f[c.finding].rule.clone(),
                title: f[c.finding].title.clone(),
                bytes_saved: f[c.finding].bytes_saved,
                applied: c.applied,
                what: c.what.clone(),
                lines: c.lines.clone(),
                records: c.records.iter().map(|r| EditRecord { file: r.file.clone(), removed: r.removed.clone(), inserted: r.inserted.clone() }).collect(),
            })
            .collect(),
        outputs: Outputs::default(),
        diff: None,
    };
    Ok((outcome, report))
}

/// The layer bytes the output builds to. Bytes go only from the layers of steps the output
/// edits: never from the base image or from a step no change touched. Edits compose, so a file
/// one change removes from a layer another change rewrites goes too (the copy `chmod -R` made
/// of a .git the .dockerignore now keeps out: the chmod's layer is gone, and the .git is never
/// copied).
fn predict(done: &Analyzed, outcome: &Outcome) -> u64 {
    let applied: Vec<usize> = outcome.changes.iter().filter(|c| c.applied).map(|c| c.finding).collect();
    let edited: HashSet<u16> = outcome.changes.iter().filter(|c| c.applied).flat_map(|c| c.layers.iter().map(|&l| l as u16)).collect();
    let dropped: Vec<u16> = outcome.changes.iter().filter(|c| c.applied).flat_map(|c| c.dropped.iter().map(|&l| l as u16)).collect();
    let files: Vec<u32> = outcome.changes.iter().filter(|c| c.applied).flat_map(|c| c.dropped_files.iter().copied()).collect();
    crate::rules::predict_after(done, &applied, &|_, l| edited.contains(&l), &dropped, &files)
}
