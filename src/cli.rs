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
    /// Fail (exit 1) when an image breaks a budget: size, waste, layers, owners, rules, growth.
    ///
    /// IMAGE may also be an analysis JSON written by `slim analyze --format json`. Limits come
    /// from the flags and from the [check] table of ./slim.toml (or --config FILE); a flag wins
    /// over the file. Exit codes: 0 every check passed, 1 one failed, 2 usage or input error.
    Check(CheckArgs),
    /// What changed between two images (or saved analyses): layers, owners, groups.
    Diff(DiffArgs),
    /// Why a package is in the image: every path from a line of app code to it.
    ///
    /// PACKAGE is a Python distribution (any spelling: sentence_transformers) or a dpkg
    /// package. Prints each chain of requirements from the app's imports or command line down
    /// to it, with the bytes each step pulls in; or that nothing in the app imports it, and
    /// which layer installed it.
    Why(WhyArgs),
    /// Write the slimmed Dockerfile (and .dockerignore) and a before/after report.
    ///
    /// Without --dockerfile, one is reconstructed from the image history (and the report says
    /// so). The slimmed Dockerfile goes to -o FILE, or to stdout with the report on stderr.
    Rewrite(RewriteArgs),
    /// Print a shell completion script: `slim completions bash > /etc/bash_completion.d/slim`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `slim man > ~/.local/share/man/man1/slim.1`.
    Man,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RewriteFormat {
    Text,
    Markdown,
    Json,
    /// One self-contained page: before and after, the changes and the Dockerfile diff.
    Html,
}

#[derive(Debug, Args)]
pub struct RewriteArgs {
    #[command(flatten)]
    pub image: ImageArgs,
    /// The Dockerfile the image was built from (its directory is taken as the build context).
    #[arg(long, value_name = "FILE")]
    pub dockerfile: Option<PathBuf>,
    /// The build context, when it is not the Dockerfile's directory.
    #[arg(long, value_name = "DIR")]
    pub context: Option<PathBuf>,
    /// Where to write the slimmed Dockerfile (default: stdout).
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Where to write the new .dockerignore (default: beside -o as <FILE>.dockerignore).
    #[arg(long, value_name = "FILE")]
    pub dockerignore: Option<PathBuf>,
    /// Include a unified diff of the Dockerfile in the report.
    #[arg(long)]
    pub diff: bool,
    /// Rewrite even when the Dockerfile does not match the image.
    #[arg(long)]
    pub force: bool,
    /// A build argument the image was built with (NAME=VALUE), substituted where RUN steps use it.
    #[arg(long = "build-arg", value_name = "NAME=VALUE")]
    pub build_args: Vec<String>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = RewriteFormat::Text)]
    pub format: RewriteFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AnalyzeFormat {
    Text,
    Json,
    /// One self-contained page (no network): a zoomable treemap, layers, findings.
    Html,
    /// For a pull-request comment or $GITHUB_STEP_SUMMARY: under 65,536 characters.
    Markdown,
}

/// How to reach a registry (for `registry:` and `docker://` images).
#[derive(Debug, Clone, Default, Args)]
pub struct RemoteArgs {
    /// A registry that may be reached over plain HTTP or with an unverified certificate
    /// (repeatable; loopback registries may always use plain HTTP).
    #[arg(long = "insecure-registry", value_name = "HOST")]
    pub insecure_registry: Vec<String>,
    /// A directory of extra CA certificates (`*.crt`) to trust for registries.
    #[arg(long, value_name = "DIR")]
    pub cert_dir: Option<PathBuf>,
    /// Seconds to wait for a registry to connect or send more bytes before retrying.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub registry_timeout: u64,
}

impl RemoteArgs {
    pub fn settings(&self) -> crate::source::Settings {
        crate::source::Settings {
            insecure: self.insecure_registry.clone(),
            cert_dir: self.cert_dir.clone(),
            timeout: Some(std::time::Duration::from_secs(self.registry_timeout.max(1))),
        }
    }
}

#[derive(Debug, Args)]
pub struct ImageArgs {
    /// The image: a docker save or OCI archive (optionally gzip/zstd-compressed as a whole),
    /// an OCI layout directory, `-` for stdin; or registry:HOST/REPO:TAG, docker://…,
    /// docker:NAME, podman:NAME, oci:DIR[:REF], oci-archive:FILE[:REF],
    /// docker-archive:FILE[:NAME:TAG].
    pub image: String,
    /// Which image, when the archive holds several (NAME:TAG).
    #[arg(long = "image", value_name = "NAME:TAG")]
    pub select: Option<String>,
    /// Which platform, when the image has several (os/arch[/variant]; default linux/amd64).
    #[arg(long)]
    pub platform: Option<String>,
    /// A TOML table of owner groups to use before the built-in one (see docs/GUIDE.md).
    #[arg(long, value_name = "FILE")]
    pub groups: Option<PathBuf>,
    /// A TOML file of rules that overrides or extends the built-in rule set (see docs/GUIDE.md).
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
    /// Check every layer against its diff_id: uncompressed layers are read in full (by default
    /// their headers are read and their data skipped), compressed ones the manifest names by
    /// digest have their decoded stream hashed too (by default the blob's digest alone is
    /// checked), and every layer blob the layer cache holds is hashed as well. See docs/input.md.
    #[arg(long)]
    pub verify: bool,
    #[command(flatten)]
    pub remote: RemoteArgs,
    #[command(flatten)]
    pub cache: CacheArgs,
}

/// Where layers already read are kept (see docs/input.md, "The layer cache").
#[derive(Debug, Clone, Args)]
pub struct CacheArgs {
    /// Keep each layer's scan in DIR (default $XDG_CACHE_HOME/slim, else ~/.cache/slim).
    #[arg(long, value_name = "DIR", env = "SLIM_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Neither read nor write the layer cache.
    #[arg(long, env = "SLIM_NO_CACHE", action = clap::ArgAction::SetTrue, value_parser = clap::builder::BoolishValueParser::new())]
    pub no_cache: bool,
    /// Most bytes the layer cache may hold; the least recently used entries go first.
    #[arg(long, value_name = "SIZE", env = "SLIM_CACHE_MAX", default_value = "2GiB")]
    pub cache_max: crate::check::Size,
}

#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    #[command(flatten)]
    pub image: ImageArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = AnalyzeFormat::Text)]
    pub format: AnalyzeFormat,
    /// Write the report to FILE (atomically) instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Rows in each list (largest files, directories, waste).
    #[arg(long, default_value_t = 10)]
    pub top: usize,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    #[default]
    Text,
    Json,
    Junit,
    Sarif,
    Github,
    Markdown,
    /// One self-contained page: the verdict first, then the analysis with its treemap.
    Html,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The image (as for analyze), or an analysis JSON written by `slim analyze --format json`.
    #[command(flatten)]
    pub image: ImageArgs,
    /// Most bytes the final filesystem may hold (1.5GB, 1500MB, 1.4GiB, 1500000000).
    #[arg(long, value_name = "SIZE")]
    pub budget: Option<crate::check::Size>,
    /// Most bytes later layers may hide (overwritten or deleted files).
    #[arg(long, value_name = "SIZE")]
    pub max_wasted: Option<crate::check::Size>,
    /// Most file bytes any one layer may hold.
    #[arg(long, value_name = "SIZE")]
    pub max_layer: Option<crate::check::Size>,
    /// Least efficiency (dive's score) allowed: 0.95 or 95%.
    #[arg(long, value_name = "RATIO")]
    pub min_efficiency: Option<crate::check::Ratio>,
    /// Most bytes an owner or group may hold (repeatable): torch=1GB, cuda=2GiB, dpkg:gcc-12=50MB.
    #[arg(long, value_name = "NAME=SIZE")]
    pub max_owner: Vec<crate::check::OwnerLimit>,
    /// Fail when any finding of this rule is present (repeatable): cuda-on-cpu, SLIM007.
    #[arg(long, value_name = "RULE")]
    pub deny_rule: Vec<String>,
    /// The analysis to compare against for --max-growth (a `slim analyze --format json` file).
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Most growth of the final filesystem over the baseline: 5% or 0.05.
    #[arg(long, value_name = "PERCENT")]
    pub max_growth: Option<crate::check::Ratio>,
    /// Read limits from this file's [check] table (default: ./slim.toml when it exists).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The Dockerfile that built the image, so SARIF and GitHub annotations point at its lines.
    #[arg(long, value_name = "FILE")]
    pub dockerfile: Option<PathBuf>,
    /// Also append the verdict in markdown to FILE (a CI job summary such as
    /// $GITHUB_STEP_SUMMARY), from the same analysis as the report.
    #[arg(long, value_name = "FILE")]
    pub summary: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: CheckFormat,
    /// Write the report to FILE (atomically) instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct WhyArgs {
    /// The package to explain (a Python distribution or a dpkg package).
    pub package: String,
    #[command(flatten)]
    pub image: ImageArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write the report to FILE (atomically) instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    #[default]
    Text,
    Json,
    Markdown,
    /// One self-contained page: the two images side by side per owner and per layer.
    Html,
}

#[derive(Debug, Args)]
#[command(mut_arg("image", |a| a.index(1).value_name("BEFORE").help("The image before (or its analysis JSON); `-` for stdin.")))]
pub struct DiffArgs {
    /// The image before (positional BEFORE) and the options both sides share.
    #[command(flatten)]
    pub image: ImageArgs,
    /// The image after (or its analysis JSON); `-` for stdin.
    #[arg(index = 2)]
    pub after: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t)]
    pub format: DiffFormat,
    /// Write the report to FILE (atomically) instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Rows in the owner and group tables.
    #[arg(long, default_value_t = 20)]
    pub top: usize,
}
