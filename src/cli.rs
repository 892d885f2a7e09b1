//! Command-line definitions (clap) and nothing else.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(name = "slim", version, about = "Where the bytes of a container image go, and how to get them back")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Account for every byte of an image: layers, final filesystem, waste.
    Analyze(AnalyzeArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct ImageArgs {
    /// The image: a docker save or OCI archive (optionally gzip/zstd-compressed as a whole),
    /// an OCI layout directory, or `-` for stdin.
    pub image: String,
    /// Which image, when the archive holds several (NAME:TAG).
    #[arg(long = "image", value_name = "NAME:TAG")]
    pub select: Option<String>,
    /// Which platform, when the image has several (os/arch[/variant]; default linux/amd64).
    #[arg(long)]
    pub platform: Option<String>,
    /// A TOML table of owner groups to use before the built-in one (see README).
    #[arg(long, value_name = "FILE")]
    pub groups: Option<PathBuf>,
    /// A TOML file of rules that overrides or extends the built-in rule set (see README).
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    #[command(flatten)]
    pub image: ImageArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write the report to FILE (atomically) instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Rows in each list (largest files, directories, waste).
    #[arg(long, default_value_t = 10)]
    pub top: usize,
}
