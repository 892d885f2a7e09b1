//! What `slim check` found, as data (`slim check --format json`): every check with its limit,
//! measured value and verdict, and where to look when one failed.

use super::analysis::{Finding, ImageInfo, LayerStep};
use serde::{Deserialize, Serialize};

/// What `slim check` found: every check with its limit, measured value and verdict.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Report {
    pub schema_version: u32,
    pub image: ImageInfo,
    /// True when every check passed.
    pub passed: bool,
    pub checks: Vec<CheckResult>,
    /// Every finding of the analysis, denied or not.
    pub findings: Vec<Finding>,
    /// Each layer's Dockerfile step, by index, for renderers that point at Dockerfile lines.
    pub layers: Vec<LayerStep>,
}

impl Report {
    pub fn failed(&self) -> usize {
        self.checks.iter().filter(|c| !c.passed).count()
    }
}

/// A number in a check: bytes and counts are integers, ratios fractions.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Number {
    Int(u64),
    Float(f64),
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CheckResult {
    /// The key, as in flags and `slim.toml`: budget, max-wasted, max-layer, min-efficiency,
    /// max-owner, deny-rule, max-growth.
    pub key: String,
    /// The owner or group (max-owner), the rule (deny-rule).
    pub subject: Option<String>,
    /// bytes, ratio or findings.
    pub unit: String,
    pub limit: Number,
    /// The limit for people, in the unit family it was given in (`1.5 GB`, `1.4 GiB`, `5%`).
    pub limit_text: String,
    pub measured: Number,
    /// The measured value in the limit's units (`1.6 GB`, `7.2%`).
    pub measured_text: String,
    pub passed: bool,
    /// One line for people: the measured value against the limit.
    pub message: String,
    /// When the check failed: where the bytes are, largest first.
    pub contributors: Vec<Contributor>,
    /// Layers the check is about (the oversized layers, the denied findings' layers), so
    /// renderers can point at the Dockerfile steps that made them.
    pub layers: Vec<u64>,
}

impl CheckResult {
    /// Bytes of a contributor: IEC, like every other size slim prints. Only the limit, the
    /// measured value and the message echo the unit family the limit was given in.
    pub fn human(&self, bytes: u64) -> String {
        crate::show::human(bytes)
    }

    /// `budget`, `max-owner torch`.
    pub fn name(&self) -> String {
        match &self.subject {
            Some(s) => format!("{} {s}", self.key),
            None => self.key.clone(),
        }
    }
}

impl Contributor {
    /// For people: `layer 3: RUN pip install…`, `owner python torch 2.3.0`, `file /app/x`.
    pub fn label(&self) -> String {
        if self.kind == "layer" { self.name.clone() } else { format!("{} {}", self.kind, self.name) }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Contributor {
    /// layer, owner, group, file or finding.
    pub kind: String,
    pub name: String,
    pub bytes: u64,
    /// What the bytes are: `surviving bytes`, `wasted`, `grew from 1.0 GB`...
    pub note: Option<String>,
    /// The layer it came from, when one did.
    pub layer: Option<u64>,
}
