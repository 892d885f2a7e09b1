//! slim: where the bytes of a container image go, and how to get them back.

pub mod analyze;
pub mod attribute;
pub mod cache;
pub mod check;
pub mod cli;
pub mod commands;
pub mod deps;
pub mod dockerfile;
pub mod error;
pub mod escape;
pub mod facts;
pub mod image;
pub mod io;
pub mod layers;
pub mod model;
pub mod output;
pub mod report;
pub mod rules;
pub mod saved;
pub mod show;
pub mod source;
pub mod treemap;

use cli::{Cli, Command};
use error::Result;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::process::ExitCode;

/// A progress bar on stderr, or a hidden one when stderr is not a terminal or `--quiet`.
pub fn progress(quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(0);
    pb.set_style(ProgressStyle::with_template("{spinner} reading layers {bar:30} {bytes}/{total_bytes} ({eta})").expect("static template"));
    pb
}

/// Run one command line; the exit code is 0 ok, 1 a check failed, 2 usage or input error.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Analyze(a) => commands::analyze::run(a),
        Command::Check(a) => commands::check::run(a),
        Command::Diff(a) => commands::diff::run(a),
        Command::Why(a) => commands::why::run(a),
        Command::Rewrite(a) => commands::rewrite::run(a),
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut <Cli as clap::CommandFactory>::command(), "slim", &mut out);
            output::Sink::open(None, &output::Inputs::default())?.finish(&out)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Man => {
            let mut out = Vec::new();
            clap_mangen::Man::new(<Cli as clap::CommandFactory>::command()).render(&mut out).map_err(|e| error::Error::Output { file: "stdout".into(), what: e.to_string() })?;
            output::Sink::open(None, &output::Inputs::default())?.finish(&out)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}
