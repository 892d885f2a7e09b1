//! `slim check IMAGE`: limits from flags over `slim.toml`, one verdict, exit 0 or 1.

use crate::check::{self, Limits, steps};
use crate::cli::{CheckArgs, CheckFormat};
use crate::error::{Error, Result};
use crate::{analyze, attribute, output, report, rules, saved};
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
    let rule_set = match &a.image.rules {
        Some(f) => rules::RuleSet::with_file(f)?,
        None => rules::RuleSet::builtin(),
    };
    if let Some(p) = limits.problem(&rule_set) {
        return Err(Error::Usage(p));
    }
    let mut inputs = super::inputs(&a.image);
    for p in [&a.config, &a.baseline, &a.dockerfile].into_iter().flatten() {
        inputs.add(p);
    }
    if a.config.is_none() {
        inputs.add(Path::new(check::CONFIG_FILE));
    }
    let sink = output::Sink::open(a.output.as_deref(), &inputs)?;
    let dockerfile = match &a.dockerfile {
        Some(p) => {
            let text = std::fs::read_to_string(p).map_err(|e| Error::input(p.display(), e))?;
            // Parse it now so a broken Dockerfile fails before the image is read.
            steps::map(&p.to_string_lossy(), &text, &[]).map_err(|e| Error::input(p.display(), e))?;
            Some((p, text))
        }
        None => None,
    };

    let mut opts = analyze::Options::new(10);
    opts.selector = crate::image::resolve::Selector { image: a.image.select.clone(), platform: a.image.platform.clone() };
    opts.progress = crate::progress(a.image.quiet);
    opts.remote = a.image.remote.settings();
    if let Some(f) = &a.image.groups {
        opts.groups = attribute::groups::GroupTable::with_file(f)?;
    }
    opts.rules = rule_set;
    opts.treemap = a.format == CheckFormat::Html;
    let baseline = match &limits.baseline {
        Some(b) => Some(saved::load(&b.to_string_lossy(), &analyze::Options::new(10))?),
        None => None,
    };
    let analysis = saved::load(&a.image.image, &opts)?;
    let verdict = check::evaluate(&analysis, baseline.as_ref(), &limits);

    let steps = match &dockerfile {
        Some((p, text)) => {
            let layers: Vec<(u64, Option<&str>)> = verdict.layers.iter().map(|l| (l.index, l.created_by.as_deref())).collect();
            Some(steps::map(&p.to_string_lossy(), text, &layers).map_err(|e| Error::input(p.display(), e))?)
        }
        None => None,
    };
    let body = match a.format {
        CheckFormat::Text => report::terminal_safe(report::check_text::render(&verdict)),
        CheckFormat::Json => {
            let mut s = serde_json::to_string_pretty(&verdict).expect("the verdict serialises");
            s.push('\n');
            s
        }
        CheckFormat::Junit => report::terminal_safe(report::junit::render(&verdict)),
        CheckFormat::Sarif => report::sarif::render(&verdict, steps.as_ref()),
        CheckFormat::Github => {
            if let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|s| !s.is_empty()) {
                append(Path::new(&summary), &report::terminal_safe(report::markdown::check(&verdict)))?;
            }
            report::terminal_safe(report::github::render(&verdict, steps.as_ref()))
        }
        CheckFormat::Markdown => report::terminal_safe(report::markdown::check(&verdict)),
        CheckFormat::Html => report::html::render(
            &format!("slim check: {}", verdict.image.source),
            &report::html::Page::Check { check: &verdict, analysis: &analysis },
        ),
    };
    sink.finish(body.as_bytes())?;
    Ok(if verdict.passed { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// Append to the job summary file GitHub Actions gives each step.
fn append(path: &Path, text: &str) -> Result<()> {
    let fail = |e: std::io::Error| Error::Output { file: path.display().to_string(), what: e.to_string() };
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path).map_err(fail)?;
    f.write_all(text.as_bytes()).and_then(|_| f.write_all(b"\n")).map_err(fail)
}
