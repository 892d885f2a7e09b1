//! What `slim check` can be asked to enforce, as users type it: sizes (`1.5GB`), ratios
//! (`5%`), owner limits, and the `[check]` table of `slim.toml`.

use crate::error::{Error, Result};
use crate::rules::RuleSet;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The config file `slim check` reads from the working directory when `--config` is not given.
pub const CONFIG_FILE: &str = "slim.toml";

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
    pub(super) num: u128,
    pub(super) den: u128,
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
            return Some(format!("nothing to check: give a limit such as --budget 1.5GB (or a [check] table in {CONFIG_FILE}, see docs/GUIDE.md)"));
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
