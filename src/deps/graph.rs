//! The dependency graph of every Python environment, from METADATA `Requires-Dist` with the
//! markers evaluated for the interpreter and platform the image runs (python version from the
//! environment's path, machine from the image config), and the graph of dpkg `Depends`.
//!
//! Extras are honoured: `uvicorn[standard]` asked for by another distribution activates
//! uvicorn's `standard` requirements; an extra nobody asks for counts as installed when
//! everything it needs is there (pip was told `pip install uvicorn[standard]`). Requirements
//! of extras that stay inactive are kept apart as optional edges: the package may import
//! them when present.

use crate::attribute::dpkg::Package;
use crate::attribute::python::{Dist, normalize_name};
use crate::layers::tree::{Kind, Tree};
use hashbrown::{HashMap, HashSet};
use pep508_rs::{ExtraName, MarkerEnvironment, MarkerEnvironmentBuilder, MarkerExpression, MarkerValueExtra, Requirement, VerbatimUrl};
use std::str::FromStr;

/// A requirement one distribution has on another installed one.
#[derive(Debug, Clone)]
pub struct Edge {
    pub to: usize,
    /// The `Requires-Dist` value as written.
    pub requirement: String,
    /// The extra of the requiring distribution that brings it, if any.
    pub extra: Option<String>,
    /// That extra is active only because everything it needs is installed.
    pub inferred: bool,
}

/// What the markers were evaluated for, per environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub python: String,
    /// Where the python version came from (`path`, `interpreter`, `wheel tags`, `assumed`).
    pub python_from: &'static str,
    pub machine: String,
}

pub struct PyGraph {
    /// Active requirements, by distribution index (`Attribution::dists`).
    pub edges: Vec<Vec<Edge>>,
    /// Requirements of extras that are not active, to installed distributions.
    pub optional: Vec<Vec<Edge>>,
    /// The evaluation target of each environment (by env node).
    pub targets: HashMap<u32, Target>,
}

/// `platform_machine` for an OCI architecture.
pub fn machine(arch: &str, variant: Option<&str>) -> String {
    match arch {
        "amd64" => "x86_64".into(),
        "arm64" => "aarch64".into(),
        "386" => "i686".into(),
        "arm" => {
            if variant == Some("v6") {
                "armv6l".into()
            } else {
                "armv7l".into()
            }
        }
        "ppc64le" | "s390x" | "riscv64" => arch.into(),
        other => other.into(),
    }
}

/// `X.Y` from a path like `…/lib/python3.11/site-packages`.
fn version_in_path(path: &str) -> Option<String> {
    path.split('/').find_map(|c| {
        let v = c.strip_prefix("python")?;
        let (maj, min) = v.split_once('.')?;
        (maj.chars().all(|c| c.is_ascii_digit()) && !maj.is_empty() && min.chars().all(|c| c.is_ascii_digit()) && !min.is_empty()).then(|| format!("{maj}.{min}"))
    })
}

/// The python version an environment runs: from its path, else from the interpreter the image
/// has (`/usr/lib/python3.X`, `/usr/local/lib/python3.X`), else from the distributions' wheel
/// tags (`cp311`), else 3.12.
fn python_of(tree: &Tree, env: &str, dists: &[&Dist]) -> (String, &'static str) {
    if let Some(v) = version_in_path(env) {
        return (v, "path");
    }
    let mut best: Option<(u32, u32)> = None;
    for lib in [&b"usr/local/lib"[..], b"usr/lib"] {
        let Some(d) = tree.get(lib) else { continue };
        for c in tree.children(d) {
            let node = &tree.nodes[c as usize];
            if node.kind != Kind::Dir {
                continue;
            }
            if let Some(v) = version_in_path(&String::from_utf8_lossy(&node.name)) {
                let (a, b) = v.split_once('.').unwrap();
                let k = (a.parse().unwrap_or(0), b.parse().unwrap_or(0));
                if best.is_none_or(|bst| k > bst) {
                    best = Some(k);
                }
            }
        }
        if best.is_some() {
            break;
        }
    }
    if let Some((a, b)) = best {
        return (format!("{a}.{b}"), "interpreter");
    }
    for d in dists {
        for t in &d.wheel_tags {
            if let Some(v) = t.split('-').next().and_then(|p| p.strip_prefix("cp")) {
                if v.len() >= 2 && v.chars().all(|c| c.is_ascii_digit()) {
                    return (format!("{}.{}", &v[..1], &v[1..]), "wheel tags");
                }
            }
        }
    }
    ("3.12".into(), "assumed")
}

fn marker_env(python: &str, full: &str, machine: &str) -> Option<MarkerEnvironment> {
    MarkerEnvironment::try_from(MarkerEnvironmentBuilder {
        implementation_name: "cpython",
        implementation_version: full,
        os_name: "posix",
        platform_machine: machine,
        platform_python_implementation: "CPython",
        platform_release: "",
        platform_system: "Linux",
        platform_version: "",
        python_full_version: full,
        python_version: python,
        sys_platform: "linux",
    })
    .ok()
}

/// A requirement as far as the graph needs it.
struct Req {
    name: String,
    extras: Vec<String>,
    /// Active with no extra.
    base: bool,
    /// Extras of the requiring distribution under which it is active.
    under: Vec<String>,
    /// The versions it accepts (None: any).
    spec: Option<pep508_rs::pep440_rs::VersionSpecifiers>,
}

impl Req {
    /// Does the installed `d` meet the version range? (A version that does not parse is
    /// given the benefit of the doubt.)
    fn met_by(&self, d: &Dist) -> bool {
        match (&self.spec, &d.parsed) {
            (Some(s), Some(v)) => s.contains(v),
            _ => true,
        }
    }
}

fn parse_req(raw: &str, env: Option<&MarkerEnvironment>) -> Option<Req> {
    match Requirement::<VerbatimUrl>::from_str(raw) {
        Ok(r) => {
            let mut names: Vec<String> = Vec::new();
            for conj in r.marker.to_dnf() {
                for e in conj {
                    if let MarkerExpression::Extra { name: MarkerValueExtra::Extra(x), operator: pep508_rs::ExtraOperator::Equal } = e {
                        names.push(x.to_string());
                    }
                }
            }
            names.sort();
            names.dedup();
            let eval = |extras: &[ExtraName]| env.map(|e| r.marker.evaluate(e, extras)).unwrap_or(true);
            let base = eval(&[]);
            let under = if base { Vec::new() } else { names.iter().filter(|x| ExtraName::from_str(x).is_ok_and(|x| eval(&[x]))).cloned().collect() };
            let spec = match &r.version_or_url {
                Some(pep508_rs::VersionOrUrl::VersionSpecifier(s)) => Some(s.clone()),
                _ => None,
            };
            Some(Req { name: normalize_name(r.name.as_ref()), extras: r.extras.iter().map(|x| x.to_string()).collect(), base, under, spec })
        }
        Err(_) => {
            // Not PEP 508 (legacy metadata): take the name; an `extra` in the marker makes it
            // optional under no extra in particular.
            let (spec, marker) = raw.split_once(';').unwrap_or((raw, ""));
            let name: String = spec.trim().chars().take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')).collect();
            (!name.is_empty()).then(|| Req { name: normalize_name(&name), extras: vec![], base: !marker.contains("extra"), under: vec![], spec: None })
        }
    }
}

/// The full python version when the image says it (`PYTHON_VERSION=3.11.9`, set by the
/// official images) and it agrees with `python`.
fn full_version(python: &str, env_vars: &[String]) -> String {
    env_vars
        .iter()
        .find_map(|e| e.strip_prefix("PYTHON_VERSION="))
        .filter(|v| v.starts_with(&format!("{python}.")) && v.chars().all(|c| c.is_ascii_digit() || c == '.'))
        .map(str::to_string)
        .unwrap_or_else(|| format!("{python}.0"))
}

impl PyGraph {
    pub fn build(tree: &Tree, dists: &[Dist], machine: &str, env_vars: &[String]) -> Self {
        let mut by_env: HashMap<u32, Vec<usize>> = HashMap::new();
        for (i, d) in dists.iter().enumerate() {
            by_env.entry(d.env_node).or_default().push(i);
        }
        let mut edges: Vec<Vec<Edge>> = vec![Vec::new(); dists.len()];
        let mut optional: Vec<Vec<Edge>> = vec![Vec::new(); dists.len()];
        let mut targets = HashMap::new();
        for (&env, members) in &by_env {
            let ds: Vec<&Dist> = members.iter().map(|&i| &dists[i]).collect();
            let (python, from) = python_of(tree, &ds[0].env, &ds);
            let menv = marker_env(&python, &full_version(&python, env_vars), machine);
            targets.insert(env, Target { python, python_from: from, machine: machine.to_string() });
            let index: HashMap<&str, usize> = members.iter().map(|&i| (dists[i].name.as_str(), i)).collect();
            // (from, req) for every requirement on an installed distribution.
            let mut reqs: Vec<(usize, String, Req)> = Vec::new();
            for &i in members {
                for raw in &dists[i].requires {
                    if let Some(r) = parse_req(raw, menv.as_ref()) {
                        if index.contains_key(r.name.as_str()) && r.name != dists[i].name {
                            reqs.push((i, raw.clone(), r));
                        }
                    }
                }
            }
            // Extras asked for by other distributions, then extras whose every requirement
            // (for this platform) is installed in a version it accepts: markdown-it-py's
            // `code-style` extra (`pre-commit~=3.0`) is not active because pre-commit 4 is.
            let mut requested: HashSet<(usize, String)> = HashSet::new();
            for (_, _, r) in reqs.iter().filter(|(_, _, r)| r.base) {
                let to = index[r.name.as_str()];
                for x in &r.extras {
                    requested.insert((to, normalize_name(x)));
                }
            }
            let mut extra_needs: HashMap<(usize, String), (usize, usize)> = HashMap::new();
            for &i in members {
                for raw in &dists[i].requires {
                    let Some(r) = parse_req(raw, menv.as_ref()) else { continue };
                    for x in &r.under {
                        let e = extra_needs.entry((i, normalize_name(x))).or_default();
                        e.0 += 1;
                        if index.get(r.name.as_str()).is_some_and(|&to| r.met_by(&dists[to])) {
                            e.1 += 1;
                        }
                    }
                }
            }
            let inferred: HashSet<(usize, String)> =
                extra_needs.iter().filter(|(k, (all, there))| all == there && *all > 0 && !requested.contains(*k)).map(|(k, _)| k.clone()).collect();
            for (from, raw, r) in reqs {
                let to = index[r.name.as_str()];
                if r.base {
                    edges[from].push(Edge { to, requirement: raw, extra: None, inferred: false });
                    continue;
                }
                let active = r.under.iter().find(|x| {
                    let k = (from, normalize_name(x));
                    requested.contains(&k) || inferred.contains(&k)
                });
                match active {
                    Some(x) => {
                        let k = (from, normalize_name(x));
                        edges[from].push(Edge { to, requirement: raw, extra: Some(x.clone()), inferred: !requested.contains(&k) });
                    }
                    // Inactive extras only: a marker false for this platform makes no edge.
                    None if !r.under.is_empty() => optional[from].push(Edge { to, requirement: raw, extra: r.under.first().cloned(), inferred: false }),
                    None => {}
                }
            }
        }
        for v in edges.iter_mut().chain(optional.iter_mut()) {
            v.sort_by(|a, b| a.to.cmp(&b.to));
            v.dedup_by(|a, b| a.to == b.to);
        }
        PyGraph { edges, optional, targets }
    }

    /// Distributions reachable from `roots` over active requirements, `blocked` left out.
    pub fn reach(&self, roots: impl IntoIterator<Item = usize>, blocked: Option<usize>) -> Vec<bool> {
        let mut seen = vec![false; self.edges.len()];
        let mut stack: Vec<usize> = roots.into_iter().filter(|&r| Some(r) != blocked).collect();
        while let Some(n) = stack.pop() {
            if std::mem::replace(&mut seen[n], true) {
                continue;
            }
            for e in &self.edges[n] {
                if !seen[e.to] && Some(e.to) != blocked {
                    stack.push(e.to);
                }
            }
        }
        seen
    }

    /// A shortest chain of active requirements `from → … → to` (both ends included).
    pub fn chain(&self, from: usize, to: usize) -> Option<Vec<usize>> {
        let mut prev = vec![usize::MAX; self.edges.len()];
        prev[from] = from;
        let mut queue = std::collections::VecDeque::from([from]);
        while let Some(n) = queue.pop_front() {
            if n == to {
                let mut path = vec![n];
                while *path.last().unwrap() != from {
                    path.push(prev[*path.last().unwrap()]);
                }
                path.reverse();
                return Some(path);
            }
            for e in &self.edges[n] {
                if prev[e.to] == usize::MAX {
                    prev[e.to] = n;
                    queue.push_back(e.to);
                }
            }
        }
        None
    }

    /// Who requires `n` (active edges), as (requirer, edge).
    pub fn dependents(&self, n: usize) -> Vec<(usize, &Edge)> {
        let mut v = Vec::new();
        for (from, es) in self.edges.iter().enumerate() {
            for e in es.iter().filter(|e| e.to == n) {
                v.push((from, e));
            }
        }
        v
    }
}

/// The dpkg graph: installed packages and, for each, the installed packages it depends on
/// (every installed alternative of `a | b`; virtual packages through `Provides`).
pub struct DpkgGraph {
    pub packages: Vec<Package>,
    pub depends: Vec<Vec<usize>>,
    /// The same for `Recommends` (what apt keeps installed beside a package).
    pub recommends: Vec<Vec<usize>>,
}

impl DpkgGraph {
    pub fn build(tree: &Tree) -> Self {
        let text = tree.get(b"var/lib/dpkg/status").and_then(|n| tree.contents.get(&n)).map(|s| String::from_utf8_lossy(s).into_owned()).unwrap_or_default();
        let packages: Vec<Package> = crate::attribute::dpkg::parse_status(&text).into_iter().filter(|p| p.is_installed()).collect();
        let provides = provides(&text);
        let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, p) in packages.iter().enumerate() {
            by_name.entry(p.name.clone()).or_default().push(i);
            for v in provides.get(p.name.as_str()).into_iter().flatten() {
                by_name.entry(v.clone()).or_default().push(i);
            }
        }
        let edges = |field: fn(&Package) -> &str| -> Vec<Vec<usize>> {
            packages
                .iter()
                .enumerate()
                .map(|(me, p)| {
                    let mut out: Vec<usize> = Vec::new();
                    for clause in field(p).split(',') {
                        for alt in clause.split('|') {
                            let name = alt.split(['(', '[']).next().unwrap_or("").trim();
                            let name = name.split(':').next().unwrap_or("");
                            for &t in by_name.get(name).into_iter().flatten() {
                                if t != me && !out.contains(&t) {
                                    out.push(t);
                                }
                            }
                        }
                    }
                    out
                })
                .collect()
        };
        let depends = edges(|p| &p.depends);
        let recommends = edges(|p| &p.recommends);
        DpkgGraph { packages, depends, recommends }
    }

    pub fn dependents(&self, n: usize) -> Vec<usize> {
        (0..self.packages.len()).filter(|&i| self.depends[i].contains(&n)).collect()
    }
}

/// `Provides:` of each package in a status file: package → virtual names.
fn provides(status: &str) -> HashMap<String, Vec<String>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for stanza in status.split("\n\n") {
        let field = |k: &str| stanza.lines().find_map(|l| l.strip_prefix(k).and_then(|r| r.strip_prefix(':')).map(str::trim));
        if let (Some(name), Some(p)) = (field("Package"), field("Provides")) {
            let names = p.split(',').map(|v| v.split('(').next().unwrap_or("").trim().to_string()).filter(|v| !v.is_empty()).collect();
            out.insert(name.to_string(), names);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machines_and_versions() {
        assert_eq!(machine("amd64", None), "x86_64");
        assert_eq!(machine("arm64", Some("v8")), "aarch64");
        assert_eq!(version_in_path("/opt/venv/lib/python3.11/site-packages").as_deref(), Some("3.11"));
        assert_eq!(version_in_path("/usr/lib/python3/dist-packages"), None);
    }

    #[test]
    fn markers_are_evaluated_for_the_image() {
        let env = marker_env("3.11", "3.11.9", "x86_64").unwrap();
        let r = parse_req("triton==3.1.0; platform_system == \"Linux\" and platform_machine == \"x86_64\"", Some(&env)).unwrap();
        assert!(r.base && r.name == "triton");
        let r = parse_req("tomli>=1.1.0; python_version < \"3.11\"", Some(&env)).unwrap();
        assert!(!r.base && r.under.is_empty());
        let arm = marker_env("3.11", "3.11.9", "aarch64").unwrap();
        assert!(!parse_req("nvidia-cublas-cu12; platform_machine == \"x86_64\"", Some(&arm)).unwrap().base);
        let r = parse_req("uvloop>=0.14; (sys_platform != \"win32\" and sys_platform != \"cygwin\") and extra == \"standard\"", Some(&env)).unwrap();
        assert!(!r.base && r.under == ["standard"]);
        let r = parse_req("huggingface_hub[torch] (>=0.20)", Some(&env)).unwrap();
        assert_eq!((r.name.as_str(), r.extras.as_slice()), ("huggingface-hub", &["torch".to_string()][..]));
    }

    #[test]
    fn chains_are_shortest_and_follow_edges() {
        let e = |to| Edge { to, requirement: String::new(), extra: None, inferred: false };
        // 0 → 1 → 2 → 3, 0 → 3 directly, 4 alone.
        let g = PyGraph { edges: vec![vec![e(1), e(3)], vec![e(2)], vec![e(3)], vec![], vec![]], optional: vec![vec![]; 5], targets: HashMap::new() };
        assert_eq!(g.chain(0, 3), Some(vec![0, 3]));
        assert_eq!(g.chain(1, 3), Some(vec![1, 2, 3]));
        assert_eq!(g.chain(2, 2), Some(vec![2]));
        assert_eq!(g.chain(3, 0), None);
        assert_eq!(g.chain(4, 0), None);
        assert_eq!(g.reach([1], Some(2)), vec![false, true, false, false, false]);
    }
}
