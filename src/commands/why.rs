//! `slim why PACKAGE IMAGE`.

use crate::cli::{Format, WhyArgs};
use crate::error::{Error, Result};
use crate::{analyze, deps, output, report};
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
    let body = match a.format {
        Format::Text => report::terminal_safe(report::why::render(&w)),
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&w).expect("the answer serialises");
            s.push('\n');
            s
        }
    };
    sink.finish(body.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}
