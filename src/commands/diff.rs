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
    let before = saved::load(&a.image.image, &super::options(&a.image, 10)?)?;
    let after = saved::load(&a.after, &super::options(&a.image, 10)?)?;
    let d = diff::diff(&before, &after);
    let body = super::render(&Doc::Diff { diff: &d, top: a.top }, a.format)?;
    sink.finish(body.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
