//! `slim rewrite`'s report as data (`--format json`): each change, applied or not, the lines
//! it edited, the files written, and the predicted size after.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RewriteReport {
    pub schema_version: u32,
    pub image: String,
    /// The Dockerfile rewritten, or null when it was reconstructed from the history.
    pub dockerfile: Option<String>,
    pub reconstructed: bool,
    /// Measured: the bytes the image's layers hold (final filesystem plus hidden copies).
    pub before_bytes: u64,
    /// The file model after the applied fixes: what they remove goes, estimated
    /// replacements are added (never a sum of estimates).
    pub predicted_after_bytes: u64,
    pub changes: Vec<ChangeRow>,
    /// Where the outputs were written (null: stdout).
    pub outputs: Outputs,
    /// Unified diff of the Dockerfile, with --diff.
    pub diff: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ChangeRow {
    pub finding_id: String,
    pub rule: String,
    pub title: String,
    pub bytes_saved: u64,
    pub applied: bool,
    /// What was changed, or why not (advice-only findings say so).
    pub what: String,
    pub lines: Vec<usize>,
    /// The edits made: in which output file, the original lines they touched and what those
    /// lines became (a .dockerignore or requirements line: `removed` empty or the old line).
    #[serde(default)]
    pub records: Vec<EditRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EditRecord {
    pub file: String,
    pub removed: String,
    pub inserted: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Outputs {
    pub dockerfile: Option<String>,
    pub dockerignore: Option<String>,
    pub requirements: Vec<String>,
    /// Edited project files whose lock must be regenerated before building.
    #[serde(default)]
    pub projects: Vec<String>,
}
