//! `slim check`: the budgets an image must stay within, from flags or `slim.toml`, judged
//! against an analysis. Pure: the command reads the inputs, this decides what passes and says
//! where to look when something does not.

pub mod steps;

use crate::attribute::python::normalize_name;
use crate::diff::{self, Change};
use crate::error::{Error, Result};
use crate::report::model::{Analysis, Finding, ImageInfo, LayerStep};
use crate::report::text::short_step;
use crate::rules::RuleSet;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Version of the `slim check --format json` document.
pub const CHECK_SCHEMA_VERSION: u32 = 1;

/// The config file `slim check` reads from the working directory when `--config` is not given.
pub const CONFIG_FILE: &str = "slim.toml";

/// How many contributors a failed check lists per kind (layers, owners, files...).
const CONTRIBUTORS: usize = 5;

// ---------------------------------------------------------------------------------------------
// Sizes and ratios as users type them.

/// A byte count as typed: `1.5GB`, `1500MB`, `1.4GiB`, `500M`, `1500000000`. Decimal units
/// (kB, MB, GB, TB; also k, M, G, T) are powers of 1000, binary ones (KiB, MiB, GiB, TiB; also
/// Ki, Mi, Gi, Ti) powers of 1024; case does not matter. Fractions are exact decimal arithmetic
/// rounded down to a whole byte (bytesize's parser goes through f64 and reads `2.3MB` as
/// 2299999 bytes, which would fail an image of exactly 2.3 MB).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    pub bytes: u64,
    /// Typed with a decimal unit: show sizes next to it in SI units too.
    pub si: bool,
}

impl FromStr for Size {
    type Err = String;

    fn from_str(s: &str) -> Result<Size, String> {
        let t = s.trim();
        let bad = || format!("{s:?} is not a size (try 1.5GB, 500MiB or 1500000000)");
        let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let (factor, si): (u128, bool) = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => (1, false),
            "k" | "kb" => (1000, true),
            "m" | "mb" => (1000_u128.pow(2), true),
            "g" | "gb" => (1000_u128.pow(3), true),
            "t" | "tb" => (1000_u128.pow(4), true),
            "ki" | "kib" => (1 << 10, false),
            "mi" | "mib" => (1 << 20, false),
            "gi" | "gib" => (1 << 30, false),
            "ti" | "tib" => (1 << 40, false),
            _ => return Err(format!("{s:?}: unknown unit {:?} (use B, kB, MB, GB, TB, KiB, MiB, GiB or TiB)", unit.trim())),
        };
        let (num, den) = decimal(num).ok_or_else(bad)?;
        if factor == 1 && den != 1 {
            return Err(format!("{s:?}: a fraction of a byte; give a unit (1.5GB) or whole bytes"));
        }
        let bytes = num.checked_mul(factor).ok_or_else(|| format!("{s:?} is too large"))? / den;
        let bytes = u64::try_from(bytes).map_err(|_| format!("{s:?} is too large"))?;
        Ok(Size { bytes, si })
    }
}

impl Size {
    /// A size in the unit family the user typed it in (SI for `1.5GB`, IEC otherwise).
    pub fn show(&self, bytes: u64) -> String {
        show_bytes(bytes, self.si)
    }
}

fn show_bytes(bytes: u64, si: bool) -> String {
    let d = bytesize::ByteSize::b(bytes).display();
    if si { d.si().to_string() } else { d.iec().to_string() }
}

/// Parse bytes the way users type them (see [`Size`]).
pub fn parse_size(s: &str) -> Result<u64, String> {
    s.parse::<Size>().map(|s| s.bytes)
}

/// `123.45` as the exact fraction 12345/100; None unless it is digits with at most one dot.
fn decimal(s: &str) -> Option<(u128, u128)> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if (int.is_empty() && frac.is_empty()) || !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    if int.len() + frac.len() > 30 {
        return None;
    }
    let num: u128 = format!("{int}{frac}").parse().ok()?;
    Some((num, 10_u128.pow(frac.len() as u32)))
}

/// A share as typed: `5%` or `0.05` (a bare number above 1 is refused: write `150%`).
/// Kept as an exact decimal fraction so a value exactly at the limit passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ratio {
    num: u128,
    den: u128,
}

impl FromStr for Ratio {
    type Err = String;

    fn from_str(s: &str) -> Result<Ratio, String> {
        let t = s.trim();
        let bad = || format!("{s:?} is not a percentage (try 5% or 0.05)");
        let (num, den) = match t.strip_suffix('%') {
            Some(p) => {
                let (n, d) = decimal(p.trim()).ok_or_else(bad)?;
                (n, d * 100)
            }
            None => {
                let (n, d) = decimal(t).ok_or_else(bad)?;
                if n > d {
                    return Err(format!("{s:?} is ambiguous: write {t}% for a percentage, or a fraction up to 1 (0.05 = 5%)"));
                }
                (n, d)
            }
        };
        Ok(Ratio { num, den })
    }
}

impl Ratio {
    /// The nearest f64 to the decimal as typed (the denominator is a power of ten), as a JSON
    /// or YAML reader parses it: `0.9844212134184309` is exactly the score dive prints, so a
    /// limit copied from `.dive-ci` passes and fails where dive does. (`num as f64 / den as f64`
    /// rounds twice and can land one ulp off.)
    pub fn value(&self) -> f64 {
        format!("{}e-{}", self.num, self.den.ilog10()).parse().expect("digits and an exponent parse")
    }
}

impl fmt::Display for Ratio {
    /// As an exact percentage: `5%`, `12.5%`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scaled = self.num * 100;
        let (whole, rem) = (scaled / self.den, scaled % self.den);
        if rem == 0 {
            return write!(f, "{whole}%");
        }
        let digits = self.den.ilog10() as usize;
        let frac = format!("{rem:0digits$}");
        write!(f, "{whole}.{}%", frac.trim_end_matches('0'))
    }
}

/// A percentage for display, to one decimal place.
fn pct(v: f64) -> String {
    format!("{:.1}%", v * 100.0)
}

/// `--max-owner NAME=SIZE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerLimit {
    pub name: String,
    pub limit: Size,
}

impl FromStr for OwnerLimit {
    type Err = String;

    fn from_str(s: &str) -> Result<OwnerLimit, String> {
        let (name, size) = s.split_once('=').ok_or_else(|| format!("{s:?}: expected NAME=SIZE, e.g. torch=1GB"))?;
        let name = name.trim();
        if name.is_empty() {
            return Err(format!("{s:?}: no owner or group name before '='"));
        }
        Ok(OwnerLimit { name: name.into(), limit: size.parse()? })
    }
}

// ---------------------------------------------------------------------------------------------
// Limits, from the config file and the command line.

/// Everything `slim check` can be asked to enforce.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Limits {
    /// Bytes of the final filesystem.
    pub budget: Option<Size>,
    /// Bytes later layers hide (`totals.wasted_bytes`).
    pub max_wasted: Option<Size>,
    /// File bytes of the largest layer.
    pub max_layer: Option<Size>,
    pub min_efficiency: Option<Ratio>,
    pub max_owner: Vec<OwnerLimit>,
    pub deny_rule: Vec<String>,
    pub baseline: Option<PathBuf>,
    pub max_growth: Option<Ratio>,
}

impl Limits {
    /// Command-line values over the file's: a flag replaces the file's value for its key,
    /// owner limits merge by name (the flag wins), denied rules add up.
    pub fn overlay(self, cli: Limits) -> Limits {
        let mut max_owner = self.max_owner;
        for o in cli.max_owner {
            max_owner.retain(|m| m.name != o.name);
            max_owner.push(o);
        }
        let mut deny_rule = self.deny_rule;
        for r in cli.deny_rule {
            if !deny_rule.contains(&r) {
                deny_rule.push(r);
            }
        }
        Limits {
            budget: cli.budget.or(self.budget),
            max_wasted: cli.max_wasted.or(self.max_wasted),
            max_layer: cli.max_layer.or(self.max_layer),
            min_efficiency: cli.min_efficiency.or(self.min_efficiency),
            max_owner,
            deny_rule,
            baseline: cli.baseline.or(self.baseline),
            max_growth: cli.max_growth.or(self.max_growth),
        }
    }

    /// A usage problem with this set of limits, if any (a denied rule must be one of `rules`,
    /// so a typo cannot pass forever).
    pub fn problem(&self, rules: &RuleSet) -> Option<String> {
        let any = self.budget.is_some()
            || self.max_wasted.is_some()
            || self.max_layer.is_some()
            || self.min_efficiency.is_some()
            || !self.max_owner.is_empty()
            || !self.deny_rule.is_empty()
            || self.max_growth.is_some();
        if !any {
            return Some(format!(
                "nothing to check: give a limit such as --budget 1.5GB (or a [check] table in {CONFIG_FILE}, see docs/GUIDE.md)"
            ));
        }
        let known = |r: &str| rules.rules.iter().any(|d| d.name == r || d.id.as_deref().is_some_and(|id| id.eq_ignore_ascii_case(r)));
        if let Some(unknown) = self.deny_rule.iter().find(|r| !known(r)) {
            let names: Vec<&str> = rules.rules.iter().map(|d| d.name.as_str()).collect();
            return Some(format!("deny-rule {unknown:?}: no such rule; the rules are: {}", names.join(", ")));
        }
        match (&self.baseline, &self.max_growth) {
            (Some(_), None) => Some("--baseline needs --max-growth (how much growth is allowed, e.g. 5%)".into()),
            (None, Some(_)) => Some("--max-growth needs --baseline (an analysis JSON written by slim analyze --format json)".into()),
            _ => None,
        }
    }
}

/// The `[check]` table of `slim.toml`: the same keys as the flags.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Config {
    budget: Option<toml::Value>,
    max_wasted: Option<toml::Value>,
    max_layer: Option<toml::Value>,
    min_efficiency: Option<toml::Value>,
    #[serde(default)]
    max_owner: BTreeMap<String, toml::Value>,
    #[serde(default)]
    deny_rule: Vec<String>,
    baseline: Option<PathBuf>,
    max_growth: Option<toml::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    check: Config,
}

fn size_value(key: &str, v: &toml::Value) -> Result<Size, String> {
    match v {
        toml::Value::Integer(n) if *n >= 0 => Ok(Size { bytes: *n as u64, si: false }),
        toml::Value::String(s) => s.parse().map_err(|e| format!("check.{key}: {e}")),
        other => Err(format!("check.{key}: expected a size such as \"1.5GB\" or a number of bytes, not {other}")),
    }
}

fn ratio_value(key: &str, v: &toml::Value) -> Result<Ratio, String> {
    let text = match v {
        toml::Value::String(s) => s.clone(),
        // Through the shortest decimal text of the number, so 0.95 stays exactly 95/100.
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Integer(n) => n.to_string(),
        other => return Err(format!("check.{key}: expected a percentage such as \"5%\" or 0.05, not {other}")),
    };
    text.parse().map_err(|e| format!("check.{key}: {e}"))
}

/// Read the `[check]` table of a config file. Relative paths in it (`baseline`) are relative
/// to the file's directory.
pub fn load_config(path: &Path) -> Result<Limits> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).map_err(|e| Error::input(&shown, e))?;
    let file: ConfigFile = toml::from_str(&text).map_err(|e| Error::input(&shown, toml_error(&text, &e)))?;
    let c = file.check;
    let bad = |what: String| Error::input(&shown, what);
    let mut max_owner = Vec::new();
    for (name, v) in &c.max_owner {
        max_owner.push(OwnerLimit { name: name.clone(), limit: size_value(&format!("max-owner.{name}"), v).map_err(bad)? });
    }
    let dir = path.parent().unwrap_or(Path::new(""));
    Ok(Limits {
        budget: c.budget.as_ref().map(|v| size_value("budget", v)).transpose().map_err(bad)?,
        max_wasted: c.max_wasted.as_ref().map(|v| size_value("max-wasted", v)).transpose().map_err(bad)?,
        max_layer: c.max_layer.as_ref().map(|v| size_value("max-layer", v)).transpose().map_err(bad)?,
        min_efficiency: c.min_efficiency.as_ref().map(|v| ratio_value("min-efficiency", v)).transpose().map_err(bad)?,
        max_owner,
        deny_rule: c.deny_rule,
        baseline: c.baseline.map(|b| if b.is_relative() { dir.join(b) } else { b }),
        max_growth: c.max_growth.as_ref().map(|v| ratio_value("max-growth", v)).transpose().map_err(bad)?,
    })
}

/// One line: `line N: what`, for the binary's one-line errors.
fn toml_error(text: &str, e: &toml::de::Error) -> String {
    let msg = e.message().trim().replace('\n', " ");
    match e.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("line {line}: {msg}")
        }
        None => msg,
    }
}

// ---------------------------------------------------------------------------------------------
// The verdict, as data every format renders.

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
        show_bytes(bytes, false)
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

/// Judge an analysis (and the baseline, for growth) against the limits.
pub fn evaluate(a: &Analysis, baseline: Option<&Analysis>, limits: &Limits) -> Report {
    let mut checks = Vec::new();
    let t = &a.totals;
    if let Some(l) = limits.budget {
        let mut c = bytes_check("budget", None, "final filesystem", t.final_bytes, l);
        if !c.passed {
            c.contributors = where_bytes_are(a);
            c.layers = layers_of(&c.contributors);
        }
        checks.push(c);
    }
    if let Some(l) = limits.max_wasted {
        let mut c = bytes_check("max-wasted", None, "wasted bytes", t.wasted_bytes, l);
        if !c.passed {
            c.contributors = where_waste_is(a);
            c.layers = layers_of(&c.contributors);
        }
        checks.push(c);
    }
    if let Some(l) = limits.max_layer {
        let largest = a.layers.iter().max_by(|x, y| x.file_bytes.cmp(&y.file_bytes).then(y.index.cmp(&x.index)));
        let measure = match largest {
            Some(x) => format!("largest layer (layer {})", x.index),
            None => "largest layer".into(),
        };
        let mut c = bytes_check("max-layer", None, &measure, largest.map_or(0, |x| x.file_bytes), l);
        let mut over: Vec<_> = a.layers.iter().filter(|x| x.file_bytes > l.bytes).collect();
        over.sort_by(|x, y| y.file_bytes.cmp(&x.file_bytes).then(x.index.cmp(&y.index)));
        c.layers = over.iter().map(|x| x.index).collect();
        for x in &over {
            c.contributors.push(Contributor {
                kind: "layer".into(),
                name: layer_name(x.index, x.created_by.as_deref()),
                bytes: x.file_bytes,
                note: Some("file bytes".into()),
                layer: Some(x.index),
            });
        }
        for f in a.largest_files.iter().filter(|f| c.layers.contains(&f.layer)).take(CONTRIBUTORS) {
            c.contributors.push(Contributor {
                kind: "file".into(),
                name: f.path.clone(),
                bytes: f.bytes,
                note: None,
                layer: Some(f.layer),
            });
        }
        checks.push(c);
    }
    if let Some(l) = limits.min_efficiency {
        let passed = t.efficiency >= l.value();
        let contributors = if passed { Vec::new() } else { where_waste_is(a) };
        let message = if passed {
            format!("efficiency {} meets the minimum of {l}", pct(t.efficiency))
        } else {
            format!("efficiency {} is below the minimum of {l}", pct(t.efficiency))
        };
        checks.push(CheckResult {
            key: "min-efficiency".into(),
            subject: None,
            unit: "ratio".into(),
            limit: Number::Float(l.value()),
            limit_text: l.to_string(),
            measured: Number::Float(t.efficiency),
            measured_text: pct(t.efficiency),
            passed,
            message,
            layers: layers_of(&contributors),
            contributors,
        });
    }
    for o in &limits.max_owner {
        checks.push(owner_check(a, o));
    }
    for r in &limits.deny_rule {
        checks.push(rule_check(a, r));
    }
    if let (Some(base), Some(l)) = (baseline, limits.max_growth) {
        checks.push(growth_check(base, a, l));
    }
    Report {
        schema_version: CHECK_SCHEMA_VERSION,
        image: a.image.clone(),
        passed: checks.iter().all(|c| c.passed),
        checks,
        findings: a.findings.clone(),
        layers: a.layers.iter().map(|l| LayerStep { index: l.index, created_by: l.created_by.clone() }).collect(),
    }
}

/// `measured ≤ limit`; exactly at the limit passes.
fn bytes_check(key: &str, subject: Option<&str>, measure: &str, measured: u64, limit: Size) -> CheckResult {
    let passed = measured <= limit.bytes;
    let (m, l) = two_sizes(measured, limit);
    let message = if passed {
        format!("{measure} {m} is within the limit of {l}")
    } else {
        format!("{measure} {m} is over the limit of {l} by {}", limit.show(measured - limit.bytes))
    };
    CheckResult {
        key: key.into(),
        subject: subject.map(str::to_string),
        unit: "bytes".into(),
        limit: Number::Int(limit.bytes),
        limit_text: l,
        measured: Number::Int(measured),
        measured_text: m,
        passed,
        message,
        contributors: Vec::new(),
        layers: Vec::new(),
    }
}

/// A measured size and a limit in the limit's units, in exact bytes when rounding would make
/// them look equal.
fn two_sizes(measured: u64, limit: Size) -> (String, String) {
    let (m, l) = (limit.show(measured), limit.show(limit.bytes));
    if m == l && measured != limit.bytes { (format!("{measured} B"), format!("{} B", limit.bytes)) } else { (m, l) }
}

/// The layers among contributors, in their order (largest first).
fn layers_of(contributors: &[Contributor]) -> Vec<u64> {
    contributors.iter().filter(|c| c.kind == "layer").filter_map(|c| c.layer).collect()
}

pub fn layer_name(index: u64, created_by: Option<&str>) -> String {
    format!("layer {index}: {}", short_step(created_by, 60))
}

fn owner_label(kind: &str, name: &str, version: Option<&str>, location: Option<&str>) -> String {
    let mut s = format!("{kind} {name}");
    if let Some(v) = version {
        s.push_str(&format!(" {v}"));
    }
    if let Some(l) = location {
        s.push_str(&format!(" ({l})"));
    }
    s
}

/// The layers whose bytes survive, the biggest owners and groups.
fn where_bytes_are(a: &Analysis) -> Vec<Contributor> {
    let mut out = Vec::new();
    let mut layers: Vec<_> = a.layers.iter().map(|l| (l.file_bytes.saturating_sub(l.wasted_bytes), l)).collect();
    layers.sort_by(|x, y| y.0.cmp(&x.0).then(x.1.index.cmp(&y.1.index)));
    for (bytes, l) in layers.into_iter().take(CONTRIBUTORS).filter(|(b, _)| *b > 0) {
        out.push(Contributor {
            kind: "layer".into(),
            name: layer_name(l.index, l.created_by.as_deref()),
            bytes,
            note: Some("bytes in the final filesystem".into()),
            layer: Some(l.index),
        });
    }
    for g in a.groups.iter().take(3) {
        out.push(Contributor { kind: "group".into(), name: g.name.clone(), bytes: g.bytes, note: None, layer: None });
    }
    for o in a.owners.iter().take(CONTRIBUTORS) {
        out.push(Contributor {
            kind: "owner".into(),
            name: owner_label(&o.kind, &o.name, o.version.as_deref(), o.location.as_deref()),
            bytes: o.bytes,
            note: None,
            layer: None,
        });
    }
    out
}

/// The layers that ship hidden bytes and the largest hidden files.
fn where_waste_is(a: &Analysis) -> Vec<Contributor> {
    let mut out = Vec::new();
    let mut layers: Vec<_> = a.layers.iter().filter(|l| l.wasted_bytes > 0).collect();
    layers.sort_by(|x, y| y.wasted_bytes.cmp(&x.wasted_bytes).then(x.index.cmp(&y.index)));
    for l in layers.into_iter().take(CONTRIBUTORS) {
        out.push(Contributor {
            kind: "layer".into(),
            name: layer_name(l.index, l.created_by.as_deref()),
            bytes: l.wasted_bytes,
            note: Some("written here, hidden by a later layer".into()),
            layer: Some(l.index),
        });
    }
    for w in a.wasted_files.iter().take(CONTRIBUTORS) {
        out.push(Contributor {
            kind: "file".into(),
            name: w.path.clone(),
            bytes: w.bytes,
            note: Some(format!("added in layer {}, hidden by layer {}", w.added_in, w.hidden_in)),
            layer: Some(w.added_in),
        });
    }
    out
}

/// `--max-owner NAME=SIZE`: NAME is a group when a group has that name, else every owner row
/// with that name (any kind or location); `KIND:NAME` picks one kind.
fn owner_check(a: &Analysis, o: &OwnerLimit) -> CheckResult {
    let (kind, name) = match o.name.split_once(':') {
        Some((k, n)) => (Some(k), n),
        None => (None, o.name.as_str()),
    };
    let group = if kind.is_none() { a.groups.iter().find(|g| g.name == name) } else { None };
    let wanted = normalize_name(name);
    let rows: Vec<_> = match group {
        Some(g) => a.owners.iter().filter(|r| r.group.as_deref() == Some(g.name.as_str())).collect(),
        None => a
            .owners
            .iter()
            .filter(|r| kind.is_none_or(|k| k == r.kind) && normalize_name(&r.name) == wanted)
            .collect(),
    };
    let measured = match group {
        Some(g) => g.bytes,
        None => rows.iter().map(|r| r.bytes).sum(),
    };
    let measure = match (group, rows.is_empty()) {
        (Some(_), _) => format!("group {name}"),
        (None, false) => format!("owner {}", o.name),
        (None, true) => format!("owner {} (not in the image)", o.name),
    };
    let mut c = bytes_check("max-owner", Some(&o.name), &measure, measured, o.limit);
    if !c.passed {
        for r in rows.iter().take(CONTRIBUTORS * 2) {
            let name = if r.unrecorded { format!("{} (unrecorded files)", r.name) } else { r.name.clone() };
            c.contributors.push(Contributor {
                kind: "owner".into(),
                name: owner_label(&r.kind, &name, r.version.as_deref(), r.location.as_deref()),
                bytes: r.bytes,
                note: None,
                layer: None,
            });
        }
    }
    c
}

/// `--deny-rule NAME`: fails when any finding of that rule (by name or id) is present.
fn rule_check(a: &Analysis, rule: &str) -> CheckResult {
    let hits: Vec<&Finding> = a.findings.iter().filter(|f| f.rule == rule || f.id.eq_ignore_ascii_case(rule)).collect();
    let passed = hits.is_empty();
    let saved: u64 = hits.iter().map(|f| f.bytes_saved).sum();
    let message = if passed {
        format!("no {rule} finding")
    } else {
        let s = if hits.len() == 1 { "" } else { "s" };
        format!("{} {rule} finding{s} (could save {})", hits.len(), show_bytes(saved, false))
    };
    let mut layers: Vec<u64> = hits.iter().flat_map(|f| f.evidence.layers.iter().map(|l| l.index)).collect();
    layers.sort_unstable();
    layers.dedup();
    CheckResult {
        key: "deny-rule".into(),
        subject: Some(rule.into()),
        unit: "findings".into(),
        limit: Number::Int(0),
        limit_text: "0".into(),
        measured: Number::Int(hits.len() as u64),
        measured_text: hits.len().to_string(),
        passed,
        message,
        contributors: hits
            .iter()
            .map(|f| Contributor {
                kind: "finding".into(),
                name: format!("{} {}: {}", f.id, f.rule, f.title),
                bytes: f.bytes_saved,
                note: Some(f.fix.text.clone()),
                layer: f.evidence.layers.first().map(|l| l.index),
            })
            .collect(),
        layers,
    }
}

/// `--max-growth`: final bytes against the baseline's. Exactly at the limit passes.
fn growth_check(base: &Analysis, a: &Analysis, l: Ratio) -> CheckResult {
    let (before, after) = (base.totals.final_bytes, a.totals.final_bytes);
    // after ≤ before × (1 + l), in integers.
    let passed = u128::from(after) * l.den <= u128::from(before) * (l.den + l.num);
    let growth = if before == 0 {
        if after == 0 { 0.0 } else { f64::INFINITY }
    } else {
        (after as f64 - before as f64) / before as f64
    };
    let change = if after >= before { format!("+{}", show_bytes(after - before, false)) } else { format!("-{}", show_bytes(before - after, false)) };
    let shown = if growth.is_finite() { format!("{}{}", if growth > 0.0 { "+" } else { "" }, pct(growth)) } else { "from nothing".into() };
    let verdict = if passed { "within" } else { "over" };
    let message = format!(
        "final filesystem {} against the baseline's {}: {change} ({shown}), {verdict} the allowed growth of {l}",
        show_bytes(after, false),
        show_bytes(before, false)
    );
    let mut contributors = Vec::new();
    if !passed {
        let d = diff::diff(base, a);
        let mut owners: Vec<_> = d.owners.iter().filter(|o| o.delta > 0).collect();
        owners.sort_by_key(|o| std::cmp::Reverse(o.delta));
        for o in owners.into_iter().take(CONTRIBUTORS) {
            contributors.push(Contributor {
                kind: "owner".into(),
                name: owner_label(&o.kind, &o.name, o.version_after.as_deref(), o.location.as_deref()),
                bytes: o.delta as u64,
                note: Some(growth_note(o.change, o.before_bytes)),
                layer: None,
            });
        }
        let mut layers: Vec<_> = d.layers.iter().filter(|x| x.delta > 0).collect();
        layers.sort_by_key(|x| std::cmp::Reverse(x.delta));
        for x in layers.into_iter().take(CONTRIBUTORS) {
            contributors.push(Contributor {
                kind: "layer".into(),
                name: layer_name(x.after_index.unwrap_or_default(), x.created_by.as_deref()),
                bytes: x.delta as u64,
                note: Some(growth_note(x.change, x.before_bytes)),
                layer: x.after_index,
            });
        }
    }
    CheckResult {
        key: "max-growth".into(),
        subject: None,
        unit: "ratio".into(),
        limit: Number::Float(l.value()),
        limit_text: l.to_string(),
        measured: Number::Float(growth),
        measured_text: shown,
        passed,
        message,
        contributors,
        layers: Vec::new(),
    }
}

fn growth_note(change: Change, before: Option<u64>) -> String {
    match (change, before) {
        (Change::Appeared, _) | (_, None) => "new".into(),
        (_, Some(b)) => format!("grew from {}", show_bytes(b, false)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(s: &str) -> u64 {
        parse_size(s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn sizes_in_every_form_users_type() {
        assert_eq!(size("1.5GB"), 1_500_000_000);
        assert_eq!(size("1500MB"), 1_500_000_000);
        assert_eq!(size("1500000000"), 1_500_000_000);
        assert_eq!(size("1.4GiB"), 1_503_238_553); // 1.4 × 2^30 = 1503238553.6, rounded down
        assert_eq!(size("500M"), 500_000_000);
        assert_eq!(size("500MiB"), 500 << 20);
        assert_eq!(size("500Mi"), 500 << 20);
        assert_eq!(size("64kB"), 64_000);
        assert_eq!(size("64KiB"), 65_536);
        assert_eq!(size("2 GB"), 2_000_000_000);
        assert_eq!(size("1.5gb"), 1_500_000_000);
        assert_eq!(size("10B"), 10);
        assert_eq!(size(".5GB"), 500_000_000);
        assert_eq!(size("1TB"), 1_000_000_000_000);
        // f64 would read this as 2299999.
        assert_eq!(size("2.3MB"), 2_300_000);
        assert_eq!(size("18446744073709551615"), u64::MAX);
    }

    #[test]
    fn bad_sizes_say_why() {
        for bad in ["", "GB", "1.5XB", "1..5GB", "-1GB", "1.5", "abc", "99999999999TB", "1,5GB"] {
            assert!(parse_size(bad).is_err(), "{bad:?} parsed");
        }
        assert!(parse_size("1.5XB").unwrap_err().contains("unknown unit"));
    }

    #[test]
    fn sizes_remember_their_unit_family() {
        assert!("1.5GB".parse::<Size>().unwrap().si);
        assert!(!"1.5GiB".parse::<Size>().unwrap().si);
        let s: Size = "1.5GB".parse().unwrap();
        assert_eq!(s.show(1_600_000_000), "1.6 GB");
    }

    #[test]
    fn ratios_as_percent_or_fraction() {
        let r: Ratio = "5%".parse().unwrap();
        assert_eq!(r, "0.05".parse().unwrap());
        assert_eq!(r.to_string(), "5%");
        assert_eq!("0.95".parse::<Ratio>().unwrap().to_string(), "95%");
        assert_eq!("12.5%".parse::<Ratio>().unwrap().to_string(), "12.5%");
        assert_eq!("150%".parse::<Ratio>().unwrap().value(), 1.5);
        // Rounded once, as dive's strconv.ParseFloat reads `.dive-ci`'s lowestEfficiency.
        assert_eq!("0.9844212134184309".parse::<Ratio>().unwrap().value(), 0.9844212134184309);
        assert_eq!("98.44212134184309%".parse::<Ratio>().unwrap().value(), 0.9844212134184309);
        assert_eq!("1".parse::<Ratio>().unwrap().to_string(), "100%");
        assert!("5".parse::<Ratio>().unwrap_err().contains("ambiguous"));
        assert!("five".parse::<Ratio>().is_err());
        assert!("%".parse::<Ratio>().is_err());
    }

    #[test]
    fn owner_limits() {
        let o: OwnerLimit = "torch=1GB".parse().unwrap();
        assert_eq!(o.name, "torch");
        assert_eq!(o.limit.bytes, 1_000_000_000);
        assert!("torch".parse::<OwnerLimit>().is_err());
        assert!("=1GB".parse::<OwnerLimit>().is_err());
        assert!("torch=lots".parse::<OwnerLimit>().is_err());
    }

    #[test]
    fn flags_override_the_file() {
        let file = Limits {
            budget: Some("1GB".parse().unwrap()),
            max_wasted: Some("1MB".parse().unwrap()),
            max_owner: vec!["torch=1GB".parse().unwrap(), "cuda=2GB".parse().unwrap()],
            deny_rule: vec!["cuda-on-cpu".into()],
            ..Limits::default()
        };
        let cli = Limits {
            budget: Some("2GB".parse().unwrap()),
            max_owner: vec!["torch=3GB".parse().unwrap()],
            deny_rule: vec!["cache-left".into(), "cuda-on-cpu".into()],
            ..Limits::default()
        };
        let l = file.overlay(cli);
        assert_eq!(l.budget.unwrap().bytes, 2_000_000_000);
        assert_eq!(l.max_wasted.unwrap().bytes, 1_000_000);
        assert_eq!(l.max_owner.len(), 2);
        assert_eq!(l.max_owner.iter().find(|o| o.name == "torch").unwrap().limit.bytes, 3_000_000_000);
        assert_eq!(l.deny_rule, ["cuda-on-cpu", "cache-left"]);
    }

    #[test]
    fn limits_that_cannot_be_checked() {
        assert!(Limits::default().problem(&RuleSet::builtin()).unwrap().contains("nothing to check"));
        let l = Limits { max_growth: Some("5%".parse().unwrap()), ..Limits::default() };
        assert!(l.problem(&RuleSet::builtin()).unwrap().contains("--baseline"));
        let l = Limits { baseline: Some("b.json".into()), budget: Some("1GB".parse().unwrap()), ..Limits::default() };
        assert!(l.problem(&RuleSet::builtin()).unwrap().contains("--max-growth"));
        let l = Limits { deny_rule: vec!["cuda-on-cpu".into(), "SLIM007".into()], ..Limits::default() };
        assert_eq!(l.problem(&RuleSet::builtin()), None);
        let l = Limits { deny_rule: vec!["cuda-on-gpu".into()], ..Limits::default() };
        let p = l.problem(&RuleSet::builtin()).unwrap();
        assert!(p.contains("\"cuda-on-gpu\": no such rule") && p.contains("cuda-on-cpu"), "{p}");
    }

    #[test]
    fn config_file_keys() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("slim.toml");
        std::fs::write(
            &p,
            "[check]\nbudget = \"1.5GB\"\nmax-wasted = 1000\nmin-efficiency = 0.95\nmax-growth = \"5%\"\nbaseline = \"base.json\"\ndeny-rule = [\"cuda-on-cpu\"]\n\n[check.max-owner]\ntorch = \"1GiB\"\n",
        )
        .unwrap();
        let l = load_config(&p).unwrap();
        assert_eq!(l.budget.unwrap().bytes, 1_500_000_000);
        assert_eq!(l.max_wasted.unwrap().bytes, 1000);
        assert_eq!(l.min_efficiency.unwrap().to_string(), "95%");
        assert_eq!(l.max_growth.unwrap().to_string(), "5%");
        assert_eq!(l.baseline.unwrap(), dir.path().join("base.json"));
        assert_eq!(l.max_owner[0].limit.bytes, 1 << 30);

        std::fs::write(&p, "[check]\nbudget = \"1GB\"\nmax-wasterd = \"1MB\"\n").unwrap();
        let e = load_config(&p).unwrap_err().to_string();
        assert!(e.contains("slim.toml") && e.contains("max-wasterd") && e.contains("line 3"), "{e}");
        assert!(!e.contains('\n'), "{e}");

        std::fs::write(&p, "budget = \"1GB\"\n").unwrap();
        let e = load_config(&p).unwrap_err().to_string();
        assert!(e.contains("budget"), "{e}");

        std::fs::write(&p, "[check]\nbudget = \"1.5 parsecs\"\n").unwrap();
        let e = load_config(&p).unwrap_err().to_string();
        assert!(e.contains("check.budget") && e.contains("unknown unit"), "{e}");
    }
}
