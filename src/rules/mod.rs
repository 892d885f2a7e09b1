//! Findings: what could be reclaimed, why, and how. What the rules know about the world
//! (lighter packages, heavy stacks, thresholds) is data in `rules.toml`, which users extend or
//! override with `--rules FILE`; code only says what data cannot.
//!
//! Every finding names the files it would remove (inodes) and the bytes its replacement would
//! add, so savings come from the file model, and the total counts a file once however many
//! findings name it.

pub mod archives;
pub mod context;
pub mod cuda;
pub mod devtools;
pub mod dupes;
pub mod environments;
pub mod models;
pub mod packages;
pub mod toolchain;
pub mod view;
pub mod waste;
pub mod wrong_model;

use crate::error::{Error, Result};
use crate::facts::{Analyzed, Plan};
use crate::model::analysis::{Action, Evidence, Finding, Fix, LayerStep};
use serde::Deserialize;

const BUILTIN: &str = include_str!("rules.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDef {
    #[serde(default)]
    pub id: Option<String>,
    pub name: String,
    #[serde(default)]
    pub title: Option<String>,
    /// Findings saving less are not reported.
    #[serde(default)]
    pub min_bytes: Option<u64>,
    /// Fixed severity instead of one derived from the share of the image.
    #[serde(default)]
    pub severity: Option<String>,
    #[serde(default)]
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Swap {
    pub from: String,
    pub to: String,
    pub keeps: f64,
    pub basis: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Heavy {
    pub package: String,
    pub stack: Vec<String>,
    pub alternative: String,
    pub replacement_bytes: u64,
    pub basis: String,
}

/// One torch version's CPU wheel (Linux x86_64): its download size as pip printed it in a public
/// log, and the installed size derived from it (docs/cpu-torch/derive.py).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CpuTorch {
    pub version: String,
    /// pip's printed size, MB = 10^6 bytes.
    pub wheel_mb: f64,
    pub wheel_tag: String,
    /// Uncompressed over stored bytes of the members a CPU wheel also has, in the same
    /// version's PyPI (CUDA) wheel.
    pub expansion: f64,
    /// wheel_mb × 10^6 × expansion: the wheel's files once installed, without bytecode.
    pub installed: u64,
    pub pypi_wheel: String,
    /// The PyPI wheel's members other than its CUDA libraries, uncompressed.
    pub pypi_kept_uncompressed: u64,
    /// Where the download size was printed.
    pub source: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    rule: Vec<RuleDef>,
    #[serde(default)]
    swap: Vec<Swap>,
    #[serde(default)]
    heavy: Vec<Heavy>,
    #[serde(default)]
    cpu_torch: Vec<CpuTorch>,
    #[serde(default)]
    dev_tools: Vec<String>,
}

/// The rules in force.
#[derive(Debug, Clone)]
pub struct RuleSet {
    pub rules: Vec<RuleDef>,
    pub swaps: Vec<Swap>,
    pub heavies: Vec<Heavy>,
    pub cpu_torch: Vec<CpuTorch>,
    /// Distributions only development needs (dev-tools), PEP 503 names.
    pub dev_tools: Vec<String>,
}

fn parse(text: &str, origin: &str) -> Result<RuleFile> {
    toml::from_str(text).map_err(|e| Error::input(origin, format!("bad rules file: {}", e.message().trim())))
}

const SEVERITIES: &[&str] = &["high", "medium", "low", "info"];

impl RuleSet {
    pub fn builtin() -> Self {
        let f = parse(BUILTIN, "rules.toml").expect("the built-in rules parse");
        RuleSet { rules: f.rule, swaps: f.swap, heavies: f.heavy, cpu_torch: f.cpu_torch, dev_tools: f.dev_tools }
    }

    /// The built-in rules, overridden and extended by a user's file.
    pub fn with_file(path: &std::path::Path) -> Result<Self> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| Error::input(&origin, e))?;
        let user = parse(&text, &origin)?;
        let mut set = Self::builtin();
        for r in user.rule {
            let Some(known) = set.rules.iter_mut().find(|k| k.name == r.name) else {
                let names: Vec<&str> = set.rules.iter().map(|k| k.name.as_str()).collect();
                return Err(Error::input(&origin, format!("unknown rule {:?}; the rules are: {}", r.name, names.join(", "))));
            };
            if let Some(s) = &r.severity {
                if !SEVERITIES.contains(&s.as_str()) {
                    return Err(Error::input(&origin, format!("rule {}: severity {s:?} is not one of {}", r.name, SEVERITIES.join(", "))));
                }
            }
            known.title = r.title.or(known.title.take());
            known.min_bytes = r.min_bytes.or(known.min_bytes);
            known.severity = r.severity.or(known.severity.take());
            known.enabled = r.enabled.or(known.enabled);
        }
        let mut swaps = user.swap;
        swaps.extend(set.swaps);
        set.swaps = swaps;
        let mut heavies = user.heavy;
        heavies.extend(set.heavies);
        set.heavies = heavies;
        for row in &user.cpu_torch {
            if row.version.parse::<pep440_rs::Version>().is_err() || row.installed == 0 {
                return Err(Error::input(&origin, format!("cpu_torch: version {:?} needs a PEP 440 version and installed > 0", row.version)));
            }
        }
        // A user's row for a version replaces the built-in one.
        set.cpu_torch.retain(|b| !user.cpu_torch.iter().any(|u| u.version == b.version));
        set.cpu_torch.extend(user.cpu_torch);
        for t in user.dev_tools {
            let t = crate::attribute::python::normalize_name(&t);
            if !set.dev_tools.contains(&t) {
                set.dev_tools.push(t);
            }
        }
        Ok(set)
    }

    pub fn def(&self, name: &str) -> &RuleDef {
        self.rules.iter().find(|r| r.name == name).expect("every rule the code uses is in rules.toml")
    }
}

/// A finding before it is numbered and checked against thresholds.
pub struct Draft {
    pub rule: &'static str,
    pub title: String,
    /// Inodes the fix removes (live files, or hidden copies for layer waste).
    pub removed: Vec<u32>,
    /// Bytes the fix adds back (an estimated replacement).
    pub added: u64,
    pub basis: String,
    pub evidence: Evidence,
    pub fix: Fix,
    /// Severity the rule insists on (e.g. secrets), else derived from the saving.
    pub severity: Option<&'static str>,
}

impl Draft {
    pub fn new(rule: &'static str, title: String, removed: Vec<u32>, added: u64, basis: String, evidence: Evidence, text: String, action: Action) -> Self {
        Draft { rule, title, removed, added, basis, evidence, fix: Fix { text, action }, severity: None }
    }
}

pub fn step(a: &Analyzed, layer: u64) -> LayerStep {
    LayerStep { index: layer, created_by: a.analysis.layers.get(layer as usize).and_then(|l| l.created_by.clone()) }
}

fn severity_for(saved: u64, whole: u64) -> &'static str {
    let share = if whole == 0 { 0.0 } else { saved as f64 / whole as f64 };
    if share >= 0.10 || saved >= 1 << 30 {
        "high"
    } else if share >= 0.01 {
        "medium"
    } else {
        "low"
    }
}

/// Run every enabled rule. Returns the findings (largest saving first), the bytes all of them
/// together would save (each file counted once), and each finding's plan, in the same order.
pub fn evaluate(set: &RuleSet, a: &Analyzed, dupes: Option<&dupes::Duplicates>) -> (Vec<Finding>, u64, Vec<Plan>) {
    let v = view::View::new(a);
    let mut drafts = Vec::new();
    cuda::cuda_on_cpu(set, &v, &mut drafts);
    packages::heavy_dependency(set, &v, &mut drafts);
    packages::package_swap(set, &v, &mut drafts);
    models::baked_model(&v, &mut drafts);
    if let Some(d) = dupes {
        dupes::rule(&v, d, &mut drafts);
    }
    waste::layer_waste(&v, &mut drafts);
    waste::cache_left(&v, &mut drafts);
    toolchain::build_toolchain(&v, &mut drafts);
    context::context_leak(&v, &mut drafts);
    environments::multiple_environments(&v, &mut drafts);
    packages::unused_package(set, &v, &mut drafts);
    devtools::find(set, a, &mut drafts);
    wrong_model::find(a, &mut drafts);
    archives::find(a, &mut drafts);
    let sizes: Vec<u64> = a.tree.inodes.iter().map(|i| i.size).collect();
    let whole = a.analysis.totals.final_bytes.max(1);
    let mut scored: Vec<(u64, Draft)> = drafts
        .into_iter()
        .filter(|d| set.def(d.rule).enabled.unwrap_or(true))
        .map(|d| {
            let removed: u64 = d.removed.iter().map(|&i| sizes[i as usize]).sum();
            (removed.saturating_sub(d.added), d)
        })
        .filter(|(saved, d)| *saved >= set.def(d.rule).min_bytes.unwrap_or(0) || d.severity.is_some())
        .collect();
    scored.sort_by(|x, y| y.0.cmp(&x.0).then(x.1.rule.cmp(y.1.rule)).then(x.1.title.cmp(&y.1.title)));
    let mut taken = vec![false; sizes.len()];
    let mut total = 0u64;
    let mut out = Vec::new();
    let mut plans = Vec::new();
    for (saved, d) in scored {
        let mut fresh = 0u64;
        for &i in &d.removed {
            if !std::mem::replace(&mut taken[i as usize], true) {
                fresh += sizes[i as usize];
            }
        }
        total += fresh.saturating_sub(d.added);
        let def = set.def(d.rule);
        let severity = def.severity.clone().unwrap_or_else(|| d.severity.unwrap_or_else(|| severity_for(saved, whole)).to_string());
        plans.push(Plan { removed: d.removed.clone(), added: d.added });
        out.push(Finding {
            id: def.id.clone().unwrap_or_default(),
            rule: d.rule.to_string(),
            severity,
            title: d.title,
            bytes_saved: saved,
            basis: d.basis,
            evidence: d.evidence,
            fix: d.fix,
        });
    }
    (out, total, plans)
}

/// The layer bytes left after applying the plans of the chosen findings to the file model:
/// every file they remove goes once (hidden copies too), every replacement is added.
/// Only files written by `mutable` layers (those a Dockerfile step being rewritten made) can
/// go: a fix in our RUN does not take files out of the base image's layers. Every file of a
/// `dropped` layer goes (its step is no longer in the image and nothing copies its files), and
/// so does every inode of `dropped_files`.
pub fn predict_after(a: &Analyzed, chosen: &[usize], mutable: &dyn Fn(usize, u16) -> bool, dropped: &[u16], dropped_files: &[u32]) -> u64 {
    let mut gone = vec![false; a.tree.inodes.len()];
    let mut removed = 0u64;
    let mut added = 0u64;
    for (i, (g, ino)) in gone.iter_mut().zip(&a.tree.inodes).enumerate() {
        if dropped.contains(&ino.layer) || dropped_files.binary_search(&(i as u32)).is_ok() {
            *g = true;
            removed += ino.size;
        }
    }
    for &i in chosen {
        let p = &a.plans[i];
        for &ino in &p.removed {
            if !mutable(i, a.tree.inodes[ino as usize].layer) {
                continue;
            }
            if !std::mem::replace(&mut gone[ino as usize], true) {
                removed += a.tree.inodes[ino as usize].size;
            }
        }
        added += p.added;
    }
    (a.analysis.totals.layer_file_bytes - removed) + added
}
