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
            eprintln!("slim: error: {}", slim::report::error_line(&e.to_string()));
            ExitCode::from(2)
        }
    }
}
