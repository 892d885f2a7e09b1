//! `slim analyze IMAGE`.

use crate::cli::{AnalyzeArgs, AnalyzeFormat};
use crate::error::Result;
use crate::report::Doc;
use crate::{analyze, output};
use std::process::ExitCode;

pub fn run(a: AnalyzeArgs) -> Result<ExitCode> {
    let sink = output::Sink::open(a.output.as_deref(), &super::inputs(&a.image))?;
    let mut opts = super::options(&a.image, a.top)?;
    opts.treemap = a.format == AnalyzeFormat::Html;
    let done = analyze::run(&a.image.image, &opts)?;
    let body = super::render(&Doc::Analysis { analysis: &done.analysis, top: a.top }, a.format)?;
    sink.finish(body.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
