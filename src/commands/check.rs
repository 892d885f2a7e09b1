//! `slim check IMAGE`: limits from flags over `slim.toml`, one verdict, exit 0 or 1.

use crate::check::{self, Limits};
use crate::cli::{CheckArgs, CheckFormat};
use crate::dockerfile::{Parsed, steps};
use crate::error::{Error, Result};
use crate::report::Doc;
use crate::{output, saved};
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

pub fn run(a: CheckArgs) -> Result<ExitCode> {
    let from_file = match &a.config {
        Some(f) => check::load_config(f)?,
        None if Path::new(check::CONFIG_FILE).is_file() => check::load_config(Path::new(check::CONFIG_FILE))?,
        None => Limits::default(),
    };
    let limits = from_file.overlay(Limits {
        budget: a.budget,
        max_wasted: a.max_wasted,
        max_layer: a.max_layer,
        min_efficiency: a.min_efficiency,
        max_owner: a.max_owner.clone(),
        deny_rule: a.deny_rule.clone(),
        baseline: a.baseline.clone(),
        max_growth: a.max_growth,
    });
    let mut opts = super::options(&a.image, 10)?;
    opts.treemap = a.format == CheckFormat::Html;
    if let Some(p) = limits.problem(&opts.rules) {
        return Err(Error::Usage(p));
    }
    let mut inputs = super::inputs(&a.image);
    for p in [&a.config, &a.baseline, &a.dockerfile].into_iter().flatten() {
        inputs.add(p);
    }
    if a.config.is_none() {
        inputs.add(Path::new(check::CONFIG_FILE));
    }
    if let Some(s) = &a.summary {
        inputs.check(s)?;
    }
    let sink = output::Sink::open(a.output.as_deref(), &inputs)?;
    let dockerfile = match &a.dockerfile {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| Error::input(p.display(), e))?;
            // Parse it now so a broken Dockerfile fails before the image is read.
            let parsed = Parsed::read(&text, &Default::default()).map_err(|e| Error::input(p.display(), e))?;
            Some((p, parsed))
        }
        None => None,
    };

    let baseline = match &limits.baseline {
        // A baseline image is read as the image is (platform, groups, rules, registry, cache,
        // --verify), but `--image NAME:TAG` names an image of the checked archive, not of it.
        Some(b) => {
            let mut o = super::options(&a.image, 10)?;
            o.selector.image = None;
            let b = b.to_string_lossy();
            o.cache = super::cache(&a.image.cache, &[&a.image.image, &b]);
            Some(saved::load(&b, &o)?)
        }
        None => None,
    };
    let analysis = saved::load(&a.image.image, &opts)?;
    let verdict = check::evaluate(&analysis, baseline.as_ref(), &limits);

    let steps = match &dockerfile {
        Some((p, parsed)) => {
            let layers: Vec<(u64, Option<&str>)> = verdict.layers.iter().map(|l| (l.index, l.created_by.as_deref())).collect();
            Some(steps::map(&p.to_string_lossy(), parsed, &layers))
        }
        None => None,
    };
    let doc = Doc::Verdict { verdict: &verdict, analysis: &analysis, steps: steps.as_ref() };
    if a.format == CheckFormat::Github {
        if let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|s| !s.is_empty()) {
            append(Path::new(&summary), &super::render(&doc, CheckFormat::Markdown)?)?;
        }
    }
    let body = super::render(&doc, a.format)?;
    sink.finish(body.as_bytes())?;
    if let Some(s) = &a.summary {
        append(s, &super::render(&doc, CheckFormat::Markdown)?)?;
    }
    Ok(if verdict.passed { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// Append to the job summary file GitHub Actions gives each step.
fn append(path: &Path, text: &str) -> Result<()> {
    let fail = |e: std::io::Error| Error::Output { file: path.display().to_string(), what: e.to_string() };
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path).map_err(fail)?;
    f.write_all(text.as_bytes()).and_then(|_| f.write_all(b"\n")).map_err(fail)
}
