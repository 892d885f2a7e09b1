//! `slim diff BEFORE AFTER`.

use crate::cli::DiffArgs;
use crate::error::{Error, Result};
use crate::model::diff;
use crate::report::Doc;
use crate::{analyze, attribute, output, saved};
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
        o.cache = super::cache(&a.cache, &[&a.before, &a.after]);
        if let Some(f) = &a.groups {
            o.groups = attribute::groups::GroupTable::with_file(f)?;
        }
        Ok(o)
    };
    let before = saved::load(&a.before, &options()?)?;
    let after = saved::load(&a.after, &options()?)?;
    let d = diff::diff(&before, &after);
    let body = super::render(&Doc::Diff { diff: &d, top: a.top }, a.format)?;
    sink.finish(body.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
