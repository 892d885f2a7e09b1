//! `slim why PACKAGE IMAGE`.

use crate::cli::WhyArgs;
use crate::error::{Error, Result};
use crate::report::Doc;
use crate::{analyze, deps, output};
use std::process::ExitCode;

pub fn run(a: WhyArgs) -> Result<ExitCode> {
    let sink = output::Sink::open(a.output.as_deref(), &super::inputs(&a.image))?;
    let opts = super::options(&a.image, 10)?;
    let done = analyze::run(&a.image.image, &opts)?;
    let Some(w) = deps::why::why(&done.ask(), &a.package) else {
        let near = deps::why::suggestions(&done.ask(), &a.package);
        let hint = if near.is_empty() { String::new() } else { format!(" (similar: {})", near.join(", ")) };
        return Err(Error::input(&done.analysis.image.source, format!("no Python distribution or dpkg package named {:?} is installed{hint}", a.package)));
    };
    let body = super::render(&Doc::Why(&w), a.format)?;
    sink.finish(body.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
