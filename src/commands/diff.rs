//! `slim diff BEFORE AFTER`.

use crate::cli::{DiffArgs, DiffFormat};
use crate::error::{Error, Result};
use crate::{analyze, attribute, diff, output, report, saved};
use std::process::ExitCode;

pub fn run(a: DiffArgs) -> Result<ExitCode> {
    if a.before == "-" && a.after == "-" {
        return Err(Error::Usage("only one side of a diff can be read from stdin".into()));
    }
    let local = |s: &String| crate::source::local_path(s).unwrap_or_else(|| s.into());
    let mut inputs = output::Inputs::of([local(&a.before), local(&a.after)].iter().map(|p| p.as_path()));
    if let Some(g) = &a.groups {
        inputs.add(g);
    }
    let sink = output::Sink::open(a.output.as_deref(), &inputs)?;
    let options = || -> Result<analyze::Options<'static>> {
        let mut o = analyze::Options::new(10);
        o.selector = crate::image::resolve::Selector { image: a.select.clone(), platform: a.platform.clone() };
        o.progress = crate::progress(a.quiet);
        o.remote = a.remote.settings();
        if let Some(f) = &a.groups {
            o.groups = attribute::groups::GroupTable::with_file(f)?;
        }
        Ok(o)
    };
    let before = saved::load(&a.before, &options()?)?;
    let after = saved::load(&a.after, &options()?)?;
    let d = diff::diff(&before, &after);
    let body = match a.format {
        DiffFormat::Text => report::terminal_safe(report::diff_text::render(&d, a.top)),
        DiffFormat::Json => {
            let mut s = serde_json::to_string_pretty(&d).expect("the diff serialises");
            s.push('\n');
            s
        }
        DiffFormat::Markdown => report::terminal_safe(report::markdown::diff(&d, a.top)),
        DiffFormat::Html => report::html::render(
            &format!("slim diff: {} → {}", d.before.image.source, d.after.image.source),
            &report::html::Page::Diff { diff: &d },
        ),
    };
    sink.finish(body.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
