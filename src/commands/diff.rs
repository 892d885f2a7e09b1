//! `slim diff BEFORE AFTER`: both sides analysed with the options built once from `ImageArgs`.

use crate::cli::DiffArgs;
use crate::error::{Error, Result};
use crate::model::diff;
use crate::report::Doc;
use crate::{output, saved};
use std::process::ExitCode;

pub fn run(a: DiffArgs) -> Result<ExitCode> {
    if a.image.image == "-" && a.after == "-" {
        return Err(Error::Usage("only one side of a diff can be read from stdin".into()));
    }
    let mut inputs = super::inputs(&a.image);
    inputs.add(&crate::source::local_path(&a.after).unwrap_or_else(|| a.after.clone().into()));
    let sink = output::Sink::open(a.output.as_deref(), &inputs)?;
    // One cache for both sides; a cache inside either input is refused.
    let options = || -> Result<crate::analyze::Options<'static>> {
        let mut o = super::options(&a.image, 10)?;
        o.cache = super::cache(&a.image.cache, &[&a.image.image, &a.after]);
        Ok(o)
    };
    let before = saved::load(&a.image.image, &options()?)?;
    let after = saved::load(&a.after, &options()?)?;
    let d = diff::diff(&before, &after);
    let body = super::render(&Doc::Diff { diff: &d, top: a.top }, a.format)?;
    sink.finish(body.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
