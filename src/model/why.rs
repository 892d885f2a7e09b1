//! `slim why PACKAGE` as data (`--format json`): every path from the app to a package, with
//! the bytes each step pulls in, or where an unused package came from.

use super::analysis::{AppCode, LayerStep, UnusedPackage};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Why {
    pub schema_version: u32,
    /// The package asked about, as given.
    pub package: String,
    pub image: String,
    pub app: AppCode,
    /// Every installed package of that name: a Python distribution per environment, a dpkg
    /// package.
    pub matches: Vec<WhyMatch>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WhyMatch {
    /// `python` or `dpkg`.
    pub kind: String,
    pub name: String,
    pub version: Option<String>,
    pub location: Option<String>,
    /// Its own files.
    pub bytes: u64,
    /// What would go with it: itself and every distribution only it pulls in.
    pub alone_bytes: u64,
    /// Reached from the app; null when no app was found, and for dpkg packages.
    pub used: Option<bool>,
    /// Python: from the package up to the app (`steps[0]` is the package); dpkg: reverse
    /// Depends up to a package installed by name. Shortest first.
    pub paths: Vec<WhyPath>,
    pub more_paths: u64,
    /// What requires it directly (active requirements; dpkg Depends).
    pub required_by: Vec<String>,
    pub installed_by: LayerStep,
    /// Its unused-packages row (or the row of the unused package it comes with).
    pub unused: Option<UnusedPackage>,
    /// One line that answers the question.
    pub note: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WhyPath {
    /// `torch ← sentence-transformers ← /app/src/…/vector_store.py:57`.
    pub text: String,
    pub steps: Vec<WhyStep>,
    /// Where the app reaches the last step (at most 5; `more_sites` counts the rest).
    pub sites: Vec<WhySite>,
    pub more_sites: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WhyStep {
    pub name: String,
    pub version: String,
    pub bytes: u64,
    /// What would go if this step went: itself and what only it pulls in.
    pub alone_bytes: u64,
    /// The requirement by which the next step requires it (`torch>=1.11.0`); null for the last.
    pub required_as: Option<String>,
    /// The extra of the next step that brings it, when one does.
    pub extra: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WhySite {
    /// The source file, or `CMD`/`ENTRYPOINT`/a shell script line for the command line.
    pub file: String,
    pub line: Option<u32>,
    pub text: String,
    /// `import`, `from`, `importlib`, `__import__`, `command`, `console-script`, `editable`.
    pub how: String,
    /// Blocks around the import, innermost last (`function load`, `try`).
    pub context: Vec<String>,
}
