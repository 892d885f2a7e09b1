//! The analysis as data: the one model every output format renders. Bytes are raw u64.
//! Its `schema_version` is `model::ANALYSIS_SCHEMA`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Analysis {
    pub schema_version: u32,
    pub image: ImageInfo,
    pub totals: Totals,
    pub layers: Vec<Layer>,
    /// The largest regular files of the final filesystem (hard links once), largest first.
    pub largest_files: Vec<FileBytes>,
    /// The largest directories of the final filesystem (cumulative), largest first.
    pub largest_dirs: Vec<DirBytes>,
    /// The largest files hidden by a later layer, largest first.
    pub wasted_files: Vec<WastedFile>,
    /// Who owns the final bytes: every final file has exactly one owner, so `bytes` adds
    /// up to `totals.final_bytes`. Largest first.
    pub owners: Vec<Owner>,
    pub groups: Vec<Group>,
    pub models: Vec<Model>,
    /// What could be reclaimed and how, largest saving first.
    #[serde(default)]
    pub findings: Vec<Finding>,
    /// Where the application was found and what it reaches (null in analyses saved before).
    #[serde(default)]
    pub app: Option<AppCode>,
    /// Distributions nothing in the app reaches, largest first (empty when no app was found).
    #[serde(default)]
    pub unused_packages: Vec<UnusedPackage>,
    /// Entries a runtime would refuse that slim went past.
    pub warnings: Vec<String>,
    /// The final filesystem as a bounded tree for the HTML treemap; only present when a
    /// report asks for it (`--format html`), so the JSON stays as it was for everyone else.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub treemap: Option<MapNode>,
}

/// One rectangle of the treemap: owner kind, group, owner, directory, file, or the smaller
/// items of its parent folded into one (`rest`). `bytes` and `files` of the children add up
/// to the node's own.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MapNode {
    /// image, kind, group, owner, dir, file or rest.
    pub level: String,
    /// What the rectangle is labelled with: for a directory its path below its parent's.
    pub name: String,
    /// `/`-rooted path of a directory or file (for an owner: the directory all its files are under).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub bytes: u64,
    pub files: u64,
    /// The layer that wrote most of its bytes.
    pub layer: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<MapNode>,
}

/// The application slim found in the image, which `slim why` and unused packages start from.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct AppCode {
    /// False when no application was found: then no package is called unused.
    pub found: bool,
    /// Directories holding its Python source.
    pub roots: Vec<String>,
    pub files: u64,
    /// Import statements and literal `importlib.import_module`/`__import__` calls in them.
    pub imports: u64,
    /// Distributions the app imports or its command line runs directly.
    pub direct: Vec<String>,
    /// What the command line names that maps to a distribution: `uvicorn (CMD)`.
    pub command: Vec<String>,
    /// Imports by computed name (`file:line`), which no static reading can follow.
    pub dynamic_imports: Vec<String>,
    pub note: Option<String>,
}

/// A distribution nothing in the app reaches.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UnusedPackage {
    pub kind: String,
    pub name: String,
    pub version: Option<String>,
    pub location: Option<String>,
    /// `high` when nothing references it at all; `medium` when something could load it by
    /// name (`reasons` says what).
    pub confidence: String,
    pub reasons: Vec<String>,
    /// Reasons on packages only it pulls in (`name: reason`): they go with it, though something
    /// may load them; they do not lower its own confidence.
    #[serde(default)]
    pub pulls_in_reasons: Vec<String>,
    /// Its own files (its unrecorded ones included).
    pub bytes: u64,
    /// With the unused distributions only it pulls in.
    pub total_bytes: u64,
    pub pulls_in: Vec<String>,
    /// Unused distributions that require it; empty when it was installed for its own sake.
    pub required_by: Vec<String>,
    /// The layer that installed it.
    pub layer: u64,
    pub created_by: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Owner {
    /// python, dpkg, conda, npm or category.
    pub kind: String,
    /// PEP 503-normalised for Python distributions; the category name for categories.
    pub name: String,
    pub version: Option<String>,
    pub bytes: u64,
    pub files: u64,
    /// The environment (site-packages, conda prefix, node_modules) or dpkg database.
    pub location: Option<String>,
    pub group: Option<String>,
    /// Files under the distribution's directories that its RECORD does not list.
    #[serde(default)]
    pub unrecorded: bool,
    #[serde(default)]
    pub editable: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Group {
    pub name: String,
    pub bytes: u64,
    pub files: u64,
    pub members: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Model {
    /// `ORG/NAME` for Hugging Face caches; the directory holding the weights otherwise.
    pub name: String,
    pub format: String,
    pub bytes: u64,
    pub files: u64,
    /// Largest files first, at most 20.
    pub paths: Vec<String>,
    /// The layer that wrote most of its bytes.
    pub layer: u64,
    /// `kind:name` of the owner of its largest file.
    pub owner: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ImageInfo {
    /// The input as named on the command line (`-` for stdin).
    pub source: String,
    /// docker-archive, docker-archive-oci, oci-archive or oci-dir.
    pub format: String,
    /// Compression of the archive as a whole: none, gzip or zstd.
    pub compression: String,
    pub reference: Option<String>,
    pub platform: String,
    pub config_digest: String,
    /// What was checked against a digest (absent in analyses saved before slim reported it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<Verified>,
}

/// What slim checked against a digest. Everything listed matched (a mismatch is an error,
/// and nothing is reported from data that failed a check).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Verified {
    /// The config was checked: see `config_by`.
    pub config: bool,
    /// How: `digest` (it matched the digest its descriptor or docker save file name states),
    /// `diff_ids` (a docker save config not named by its digest: every layer was hashed and
    /// matched the diff_id the config lists for it), or absent (not checked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_by: Option<String>,
    /// Layers (by index) whose stored blob matched its digest.
    pub layer_blobs: Vec<u64>,
    /// Layers whose uncompressed tar stream matched the config's diff_id.
    pub diff_ids: Vec<u64>,
    /// Layers whose file data was not hashed: uncompressed layers of a seekable input read by
    /// their headers only (pass `--verify` to hash them).
    pub not_verified: Vec<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Totals {
    pub layers: u64,
    pub compressed_bytes: u64,
    pub tar_bytes: u64,
    pub layer_file_bytes: u64,
    pub final_bytes: u64,
    pub final_files: u64,
    pub final_dirs: u64,
    pub wasted_bytes: u64,
    pub wasted_files: u64,
    pub efficiency: f64,
    /// Bytes all findings together would save, overlaps counted once.
    #[serde(default)]
    pub reclaimable_bytes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Layer {
    pub index: u64,
    /// The layer's diff_id (sha256 of its uncompressed tar) from the config; the blob digest
    /// when the config does not say.
    pub digest: String,
    /// Digest of the blob as stored, when known.
    pub blob_digest: Option<String>,
    pub created_by: Option<String>,
    /// Compression of the blob, as its bytes tell: none, gzip or zstd.
    pub compression: String,
    pub compressed_bytes: u64,
    pub tar_bytes: u64,
    pub file_bytes: u64,
    pub files_added: u64,
    pub files_changed: u64,
    pub files_removed: u64,
    pub wasted_bytes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FileBytes {
    pub path: String,
    pub bytes: u64,
    pub layer: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct DirBytes {
    pub path: String,
    pub bytes: u64,
    pub files: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WastedFile {
    pub path: String,
    pub bytes: u64,
    pub added_in: u64,
    pub hidden_in: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Finding {
    /// Stable per rule: `SLIM001`...
    pub id: String,
    /// Stable kebab-case rule name (`cuda-on-cpu`, `cache-left`...).
    pub rule: String,
    /// high, medium, low or info.
    pub severity: String,
    pub title: String,
    /// An estimate; `basis` states the assumption.
    pub bytes_saved: u64,
    pub basis: String,
    pub evidence: Evidence,
    pub fix: Fix,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Evidence {
    /// Largest first, capped; `more_paths` says how many were left out.
    pub paths: Vec<String>,
    #[serde(default)]
    pub more_paths: u64,
    /// `kind:name` of the owners involved.
    pub owners: Vec<String>,
    pub layers: Vec<LayerStep>,
    /// Free-form facts (dependency chains, versions) that back the finding.
    #[serde(default)]
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LayerStep {
    pub index: u64,
    pub created_by: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Fix {
    /// For a person.
    pub text: String,
    /// For the Dockerfile rewriter.
    pub action: Action,
}

/// A machine-applicable change, or advice only.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Action {
    AdviceOnly,
    /// Install these distributions from another index (CPU wheels of torch).
    PipIndexUrl {
        packages: Vec<String>,
        index_url: String,
    },
    /// Replace a requirement with a lighter drop-in.
    PackageSwap {
        from: String,
        to: String,
    },
    /// Add `--no-cache-dir` to pip installs.
    PipNoCacheDir,
    /// `rm -rf /var/lib/apt/lists/*` (and `--no-install-recommends`) in the installing RUN.
    AptCleanup,
    /// `ENV PYTHONDONTWRITEBYTECODE=1`.
    NoBytecode,
    /// Delete the paths in the RUN that created them (merge the creating and deleting RUNs).
    MergeRuns {
        create_layer: u64,
        delete_layer: u64,
    },
    /// `COPY --chown` instead of a later `chown -R`/`chmod -R`.
    CopyChown {
        layer: u64,
    },
    /// Drop build toolchain packages; `multi_stage` when something was compiled.
    DropToolchain {
        packages: Vec<String>,
        multi_stage: bool,
    },
    /// Add patterns to `.dockerignore`.
    Dockerignore {
        patterns: Vec<String>,
    },
    /// Remove a distribution from the pip install line / requirements.
    DropPackage {
        name: String,
    },
    /// Stop baking a model the app does not load (wrong-model). `paths` are the model's
    /// directories in the image; the step at `layer` brought them. When `step_brings_only_it`,
    /// that whole step (RUN or COPY) goes; else a COPY gets a .dockerignore entry for the
    /// source of `paths`, a RUN loses the command that downloads `model`. `wanted` is the model
    /// the app names, to fetch at start or mount (said in the fix text, not built in).
    DropModel {
        model: String,
        layer: u64,
        paths: Vec<String>,
        step_brings_only_it: bool,
        wanted: String,
    },
}
