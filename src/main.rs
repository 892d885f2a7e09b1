//! The slim binary: parse arguments, run, print one line on error, exit with the right code.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match slim::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { ExitCode::from(2) } else { ExitCode::SUCCESS };
        }
    };
    match slim::run(cli) {
        Ok(code) => code,
        Err(e) => {
            // The error and its causes on one line, as `{:#}` prints an error chain.
            let mut line = e.to_string();
            let mut cause = std::error::Error::source(&e);
            while let Some(c) = cause {
                line.push_str(&format!(": {c}"));
                cause = c.source();
            }
            eprintln!("slim: error: {}", slim::report::error_line(&line));
            ExitCode::from(2)
        }
    }
}
