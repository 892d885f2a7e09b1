//! `slim rewrite IMAGE [--dockerfile FILE]`.

use crate::cli::RewriteArgs;
use crate::dockerfile::{self, reconstruct, rewrite};
use crate::error::{Error, Result};
use crate::model::rewrite::{ChangeRow, EditRecord, Outputs, RewriteReport};
use crate::report::Doc;
use crate::{analyze, output, rules};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub fn run(a: RewriteArgs) -> Result<ExitCode> {
    // Outputs are opened first: a bad path fails before any work.
    let mut inputs = super::inputs(&a.image);
    if let Some(f) = &a.dockerfile {
        inputs.add(f);
    }
    let out = output::Sink::open(a.output.as_deref(), &inputs)?;
    let ignore_path: Option<PathBuf> = a.dockerignore.clone().or_else(|| a.output.as_ref().map(|o| PathBuf::from(format!("{}.dockerignore", o.display()))));
    if let Some(p) = &ignore_path {
        // Refused now, not after the analysis: it is written beside the image more often.
        inputs.check(p)?;
    }
    let (name, text, context) = match &a.dockerfile {
        Some(f) => {
            let t = std::fs::read_to_string(f).map_err(|e| Error::input(f.display(), e))?;
            let ctx = a.context.clone().unwrap_or_else(|| f.parent().map(Path::to_path_buf).filter(|p| !p.as_os_str().is_empty()).unwrap_or_else(|| ".".into()));
            (f.display().to_string(), Some(t), ctx)
        }
        None => ("(reconstructed)".to_string(), None, a.context.clone().unwrap_or_else(|| ".".into())),
    };
    if let Some(t) = &text {
        // Parse before the (long) analysis: a broken Dockerfile is a usage error.
        dockerfile::parse(&name, t).map_err(|e| Error::input(&name, e.trim_start_matches(&format!("{name}: "))))?;
    }
    let opts = super::options(&a.image, 10)?;
    let done = analyze::run(&a.image.image, &opts)?;
    let reconstructed = text.is_none();
    if reconstructed {
        eprintln!("slim: WARNING: no --dockerfile given; rewriting a Dockerfile RECONSTRUCTED from the image history (check its FROM line and COPY sources)");
    }
    let text = text.unwrap_or_else(|| reconstruct::from_history(&done.image));
    let mut build_args = dockerfile::shell::Vars::new();
    for b in &a.build_args {
        let (k, v) = b.split_once('=').ok_or_else(|| Error::Usage(format!("--build-arg {b}: expected NAME=VALUE")))?;
        build_args.insert(k.to_string(), v.to_string());
    }
    let mut parsed = dockerfile::parse_with(&name, &text, &build_args).map_err(|e| Error::input(&name, e))?;
    let layers: Vec<(u64, Option<&str>)> = done.analysis.layers.iter().map(|l| (l.index, l.created_by.as_deref())).collect();
    let unmatched = parsed.match_layers(&name, &layers).map_err(|e| Error::input(&name, e))?;
    if !unmatched.is_empty() && !a.force && !reconstructed {
        let first = &parsed.steps[unmatched[0]];
        let made = parsed.steps.iter().filter(|s| dockerfile::Parsed::makes_layer(s)).count();
        return Err(Error::Usage(format!(
            "{name} does not match {}: {} of its {made} layer-making steps match no layer of the image (first: line {}: {}); pass --force to rewrite anyway",
            a.image.image,
            unmatched.len(),
            first.line,
            parsed.text[first.span.clone()].lines().next().unwrap_or("")
        )));
    }
    let opts = rewrite::Options { dockerignore: ignore_path.is_some(), requirements_dir: None };
    let outcome = rewrite::rewrite(&parsed, &done, &context, &opts).map_err(|e| Error::input(&name, e))?;
    let applied: Vec<usize> = outcome.changes.iter().filter(|c| c.applied).map(|c| c.finding).collect();
    // Bytes go only from the layers of steps the output edits: never from the base image or from
    // a step no change touched. Edits compose, so a file one change removes from a layer another
    // change rewrites goes too (the copy `chmod -R` made of a .git the .dockerignore now keeps
    // out: the chmod's layer is gone, and the .git is never copied).
    let edited: std::collections::HashSet<u16> =
        outcome.changes.iter().filter(|c| c.applied).flat_map(|c| c.layers.iter().map(|&l| l as u16)).collect();
    let dropped: Vec<u16> = outcome.changes.iter().filter(|c| c.applied).flat_map(|c| c.dropped.iter().map(|&l| l as u16)).collect();
    let predicted = rules::predict_after(&done, &applied, &|_, l| edited.contains(&l), &dropped);

    // Write the .dockerignore and requirements files beside the output.
    let mut outputs = Outputs { dockerfile: a.output.as_ref().map(|p| p.display().to_string()), ..Outputs::default() };
    if let (Some(body), Some(path)) = (&outcome.dockerignore, &ignore_path) {
        output::Sink::open(Some(path), &inputs)?.finish(body.as_bytes())?;
        outputs.dockerignore = Some(path.display().to_string());
    }
    // Rewritten requirements files go into the build context, beside the files they replace,
    // so that the emitted Dockerfile builds as it is.
    for (file, body) in &outcome.requirements {
        let p = context.join(file);
        output::Sink::open(Some(&p), &inputs)?.finish(body.as_bytes())?;
        outputs.requirements.push(p.display().to_string());
    }
    // Edited project files (their lock must be regenerated) go beside the output.
    let out_dir = a.output.as_ref().and_then(|o| o.parent().map(Path::to_path_buf)).unwrap_or_else(|| ".".into());
    for (file, body) in &outcome.projects {
        let p = out_dir.join(file);
        output::Sink::open(Some(&p), &inputs)?.finish(body.as_bytes())?;
        outputs.projects.push(p.display().to_string());
    }
    let diff = a.diff.then(|| {
        similar::TextDiff::from_lines(&text, &outcome.dockerfile)
            .unified_diff()
            .header(&name, &a.output.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "slimmed".into()))
            .to_string()
    });
    let f = &done.analysis.findings;
    let report = RewriteReport {
        schema_version: crate::model::REWRITE_SCHEMA,
        image: a.image.image.clone(),
        dockerfile: (!reconstructed).then(|| name.clone()),
        reconstructed,
        before_bytes: done.analysis.totals.layer_file_bytes,
        predicted_after_bytes: predicted,
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
        outputs,
        diff,
    };
    let body = super::render(&Doc::Rewrite(&report), a.format)?;
    match a.output {
        Some(_) => {
            out.finish(outcome.dockerfile.as_bytes())?;
            output::Sink::open(None, &inputs)?.finish(body.as_bytes())?;
        }
        None => {
            out.finish(outcome.dockerfile.as_bytes())?;
            eprint!("{body}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
