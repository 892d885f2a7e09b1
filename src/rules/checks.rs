//! The rules that need code: each reads the analysed image (tree, owners, models, history)
//! and drafts findings with the files a fix would remove.

use super::dupes::Duplicates;
use super::{CpuTorch, Draft, RuleSet, step};
use crate::facts::Analyzed;
use crate::attribute::OwnerKind;
use crate::attribute::python::Dist;
use crate::layers::tree::Kind;
use crate::show::human;
use crate::model::analysis::{Action, Evidence, LayerStep};
use hashbrown::{HashMap, HashSet};

const NONE: u32 = u32::MAX;
const MAX_PATHS: usize = 10;

/// Indexes over the analysis the rules share.
pub struct View<'a> {
    pub a: &'a Analyzed,
    /// owner index → its live inodes.
    owner_inodes: Vec<Vec<u32>>,
    /// inode → one node that names it (NONE when hidden).
    rep: Vec<u32>,
}

impl<'a> View<'a> {
    pub(super) fn new(a: &'a Analyzed) -> Self {
        let t = &a.tree;
        let mut rep = vec![NONE; t.inodes.len()];
        for n in t.final_files() {
            rep[t.nodes[n as usize].inode as usize] = n;
        }
        for w in &t.waste {
            if rep[w.inode as usize] == NONE {
                rep[w.inode as usize] = w.node;
            }
        }
        let mut owner_inodes = vec![Vec::new(); a.attribution.owners.len()];
        for (ino, i) in t.inodes.iter().enumerate() {
            if i.links > 0 {
                owner_inodes[a.attribution.by_inode[ino] as usize].push(ino as u32);
            }
        }
        View { a, owner_inodes, rep }
    }

    pub(super) fn size(&self, ino: u32) -> u64 {
        self.a.tree.inodes[ino as usize].size
    }

    pub(super) fn bytes(&self, inos: &[u32]) -> u64 {
        inos.iter().map(|&i| self.size(i)).sum()
    }

    pub(super) fn path(&self, ino: u32) -> String {
        match self.rep[ino as usize] {
            NONE => "(unknown)".into(),
            n => crate::attribute::shown(&self.a.tree, n),
        }
    }

    /// Evidence paths: the largest first, capped.
    pub(super) fn evidence(&self, inos: &[u32], owners: Vec<String>, layers: Vec<LayerStep>, notes: Vec<String>) -> Evidence {
        let mut v: Vec<u32> = inos.to_vec();
        v.sort_by(|&x, &y| self.size(y).cmp(&self.size(x)).then(x.cmp(&y)));
        Evidence {
            paths: v.iter().take(MAX_PATHS).map(|&i| self.path(i)).collect(),
            more_paths: v.len().saturating_sub(MAX_PATHS) as u64,
            owners,
            layers,
            notes,
        }
    }

    /// Live inodes of a distribution, its unrecorded files included.
    pub(super) fn dist_inodes(&self, d: &Dist) -> Vec<u32> {
        let base = &self.a.attribution.owners[d.owner as usize];
        let mut out = Vec::new();
        for (i, o) in self.a.attribution.owners.iter().enumerate() {
            if o.kind == OwnerKind::Python && o.name == base.name && o.location == base.location {
                out.extend(&self.owner_inodes[i]);
            }
        }
        out
    }

    fn dists(&self) -> &[Dist] {
        &self.a.attribution.dists
    }

    fn owner_ids(&self, kind: OwnerKind, name: &str) -> Vec<usize> {
        self.a.attribution.owners.iter().enumerate().filter(|(_, o)| o.kind == kind && o.name == name).map(|(i, _)| i).collect()
    }

    /// Names of the distributions that require distribution `i` (the active edges of the one
    /// dependency graph, `Usage::graph`), sorted.
    fn required_by(&self, i: usize) -> Vec<String> {
        let mut v: Vec<String> = self.a.usage.graph.dependents(i).iter().map(|(f, _)| self.dists()[*f].name.clone()).collect();
        v.sort();
        v.dedup();
        v
    }

    fn layer_of_dist(&self, d: &Dist) -> u64 {
        u64::from(self.a.attribution.owners[d.owner as usize].layer)
    }
}

pub fn all(set: &RuleSet, a: &Analyzed, dupes: Option<&Duplicates>) -> Vec<Draft> {
    let v = View::new(a);
    let mut out = Vec::new();
    cuda_on_cpu(set, &v, &mut out);
    heavy_dependency(set, &v, &mut out);
    package_swap(set, &v, &mut out);
    baked_model(&v, &mut out);
    if let Some(d) = dupes {
        duplicate_files(&v, d, &mut out);
    }
    layer_waste(&v, &mut out);
    cache_left(&v, &mut out);
    build_toolchain(&v, &mut out);
    context_leak(&v, &mut out);
    multiple_environments(&v, &mut out);
    unused_package(set, &v, &mut out);
    out
}

fn gpu_hints(v: &View) -> Vec<String> {
    let mut hints = Vec::new();
    let cfg = v.a.image.config.config.clone().unwrap_or_default();
    for e in cfg.env.iter().flatten() {
        let k = e.split('=').next().unwrap_or("");
        if matches!(k, "NVIDIA_VISIBLE_DEVICES" | "NVIDIA_DRIVER_CAPABILITIES" | "CUDA_VERSION" | "NV_CUDA_LIB_VERSION" | "NVIDIA_REQUIRE_CUDA") {
            hints.push(format!("ENV {k}"));
        }
    }
    for k in cfg.labels.iter().flatten().map(|(k, _)| k) {
        if k.starts_with("com.nvidia.") {
            hints.push(format!("LABEL {k}"));
        }
    }
    for h in v.a.image.config.history.iter().flatten() {
        let c = h.created_by.as_deref().unwrap_or("");
        if c.contains("--gpus") || c.contains("nvidia/cuda") {
            hints.push("a build step mentions a GPU".into());
        }
    }
    if v.a.tree.get(b"usr/local/cuda").is_some() {
        hints.push("/usr/local/cuda exists (a CUDA base image)".into());
    }
    hints
}

/// Files of the CUDA torch wheel that its CPU wheel does not have.
fn cuda_only(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["cuda", "cudnn", "nccl", "nvrtc", "cublas", "cusparse", "cufft", "curand", "cusolver", "nvtoolsext", "cupti", "nvjitlink"].iter().any(|k| n.contains(k))
}

/// The CPU-wheel row for a torch release: its own, else the nearest earlier release in the table,
/// else the nearest later one. The bool is true for an exact match.
fn cpu_torch_row<'a>(rows: &'a [CpuTorch], release: &[u64]) -> Option<(&'a CpuTorch, bool)> {
    let parsed: Vec<(Vec<u64>, &CpuTorch)> =
        rows.iter().filter_map(|r| r.version.parse::<pep440_rs::Version>().ok().map(|v| (v.release().to_vec(), r))).collect();
    if let Some((_, r)) = parsed.iter().find(|(v, _)| v.as_slice() == release) {
        return Some((r, true));
    }
    let below = parsed.iter().filter(|(v, _)| v.as_slice() < release).max_by(|a, b| a.0.cmp(&b.0));
    let above = parsed.iter().filter(|(v, _)| v.as_slice() > release).min_by(|a, b| a.0.cmp(&b.0));
    below.or(above).map(|(_, r)| (*r, false))
}

fn cuda_on_cpu(set: &RuleSet, v: &View, out: &mut Vec<Draft>) {
    for (ti, torch) in v.dists().iter().enumerate().filter(|(_, d)| d.name == "torch") {
        // A local version label tells the build: 2.5.1+cpu, 2.5.1+cu124.
        let local: Vec<String> = torch.parsed.as_ref().map(|v| v.local().iter().map(|l| l.to_string()).collect()).unwrap_or_default();
        if local.iter().any(|l| l == "cpu") {
            continue;
        }
        let env_dists: Vec<&Dist> = v.dists().iter().filter(|d| d.env == torch.env).collect();
        let nvidia: Vec<&Dist> = env_dists.iter().copied().filter(|d| d.name.starts_with("nvidia-")).collect();
        let triton: Vec<&Dist> = env_dists.iter().copied().filter(|d| d.name == "triton" || d.name == "pytorch-triton").collect();
        let torch_all = v.dist_inodes(torch);
        let torch_cuda: Vec<u32> = torch_all
            .iter()
            .copied()
            .filter(|&i| {
                let p = v.path(i);
                p.contains("/torch/lib/") && cuda_only(p.rsplit('/').next().unwrap_or(""))
            })
            .collect();
        if nvidia.is_empty() && torch_cuda.is_empty() {
            continue;
        }
        let hints = gpu_hints(v);
        if !hints.is_empty() {
            continue;
        }
        let mut stack = Vec::new();
        let mut owners = vec![format!("python:torch {}", torch.version)];
        for d in nvidia.iter().chain(&triton) {
            stack.extend(v.dist_inodes(d));
            owners.push(format!("python:{} {}", d.name, d.version));
        }
        // The table is of Linux x86_64 wheels; an image of another architecture, or a torch
        // version that does not parse, is estimated from its own files instead.
        let platform = &v.a.analysis.image.platform;
        let x86 = platform.ends_with("/amd64") || !platform.contains('/') || platform.ends_with("/unknown");
        let row = torch.parsed.as_ref().filter(|_| x86).and_then(|p| cpu_torch_row(&set.cpu_torch, p.release()));
        let own_estimate = v.bytes(&torch_all) - v.bytes(&torch_cuda);
        let (removed, added, how) = match row {
            Some((r, exact)) => {
                // Bytecode pip compiled at install is not in a wheel; the CPU wheel's .py files
                // are the same, so this image's torch bytecode is added back as it is.
                let bytecode: u64 = torch_all.iter().filter(|&&i| v.path(i).contains("/__pycache__/")).map(|&i| v.size(i)).sum();
                let which = if exact {
                    String::new()
                } else {
                    format!(", from its nearest row ({}): no public size of torch {}'s CPU wheel was found", r.version, torch.version)
                };
                // The saving is the same either way (torch, nvidia-*, triton, less the CPU
                // wheel); the files listed as going are the CUDA ones unless the CPU wheel is
                // smaller than what would stay of this one, so that a finding taking torch
                // whole (heavy-dependency) still counts the rest of torch in the totals.
                let cpu = r.installed + bytecode;
                let (mut removed, added) = if cpu >= own_estimate { (torch_cuda.clone(), cpu - own_estimate) } else { (torch_all.clone(), cpu) };
                removed.extend(&stack);
                let how = format!(
                    "The CPU wheel replaces torch and takes no nvidia-* wheels and no triton. Its installed size comes from the cpu_torch table (docs/cpu-torch/){which}. torch {}'s CPU wheel (Linux x86_64, {}) downloads at {} MB as pip printed it in {}; × {:.4}, the ratio of installed to zipped bytes of the files a CPU wheel also has in PyPI's {}, gives {} installed, plus this image's torch bytecode ({}). For comparison, this image's torch without its CUDA libraries is {}.",
                    r.version,
                    r.wheel_tag,
                    r.wheel_mb,
                    r.source,
                    r.expansion,
                    r.pypi_wheel,
                    human(r.installed),
                    human(bytecode),
                    human(own_estimate)
                );
                (removed, added, how)
            }
            None => {
                let mut removed = torch_cuda.clone();
                removed.extend(&stack);
                let why = if !x86 {
                    "the cpu_torch table is of Linux x86_64 wheels and this image is another platform"
                } else if torch.parsed.is_none() {
                    "torch's version is not a PEP 440 version to look up in the cpu_torch table"
                } else {
                    "the cpu_torch table has no rows"
                };
                let how = format!(
                    "Estimated from the image's own files ({why}): the CPU wheel of torch taken as this wheel without its CUDA libraries (torch/lib/*cuda*, *cudnn*, *nccl*, *nvrtc*, *cublas*...), and no nvidia-* wheels or triton. On x86_64 this undercounts the CPU wheel by 72-138 MB across the torch versions measured (docs/cpu-torch/)."
                );
                (removed, 0, how)
            }
        };
        let mut notes = Vec::new();
        for d in v.required_by(ti) {
            notes.push(format!("torch ← {d}"));
        }
        notes.push(format!("{} nvidia-* wheels, {} of CUDA libraries inside torch/lib", nvidia.len(), human(v.bytes(&torch_cuda))));
        let mut packages = vec!["torch".to_string()];
        for extra in ["torchvision", "torchaudio"] {
            if env_dists.iter().any(|d| d.name == extra) {
                packages.push(extra.into());
            }
        }
        let saved = v.bytes(&removed).saturating_sub(added);
        let cuda_bytes = v.bytes(&stack) + v.bytes(&torch_cuda);
        out.push(Draft::new(
            "cuda-on-cpu",
            format!("torch {} is the CUDA build ({} of CUDA libraries) but nothing in the image targets a GPU", torch.version, human(cuda_bytes)),
            removed.clone(),
            added,
            format!("{how} No GPU hint was found (CUDA base image, NVIDIA_* variables, com.nvidia labels, --gpus). Estimated saving {}.", human(saved)),
            v.evidence(&removed, owners, vec![step(v.a, v.layer_of_dist(torch))], notes),
            format!("Install the CPU wheels: pip install {} --index-url https://download.pytorch.org/whl/cpu (before the packages that depend on torch, so pip keeps them).", packages.join(" ")),
            Action::PipIndexUrl { packages, index_url: "https://download.pytorch.org/whl/cpu".into() },
        ));
    }
}

fn heavy_dependency(set: &RuleSet, v: &View, out: &mut Vec<Draft>) {
    let g = &v.a.usage.graph;
    let dists = v.dists();
    let envs: HashSet<String> = dists.iter().map(|d| d.env.clone()).collect();
    let mut envs: Vec<String> = envs.into_iter().collect();
    envs.sort();
    for env in envs {
        let members: Vec<usize> = (0..dists.len()).filter(|&i| dists[i].env == env).collect();
        let find = |name: &str| members.iter().copied().find(|&i| dists[i].name == name);
        // Roots: what nothing in the environment requires (installed by name).
        let mut required = vec![false; dists.len()];
        for &m in &members {
            for e in &g.edges[m] {
                required[e.to] = true;
            }
        }
        for h in &set.heavies {
            let pkg = crate::attribute::python::normalize_name(&h.package);
            let Some(p) = find(&pkg) else { continue };
            let Some((stack, s)) = h.stack.iter().map(|s| crate::attribute::python::normalize_name(s)).find_map(|s| find(&s).map(|i| (s, i))) else { continue };
            let Some(path) = g.chain(p, s) else { continue };
            // What only this package pulls in: reachable from it, not from any other root.
            let mine = g.reach([p], None);
            let others = g.reach(members.iter().copied().filter(|&m| !required[m] && m != p), Some(p));
            let exclusive: Vec<usize> = members.iter().copied().filter(|&m| mine[m] && !others[m]).collect();
            if !exclusive.contains(&s) {
                continue;
            }
            let mut names: Vec<&String> = exclusive.iter().map(|&m| &dists[m].name).collect();
            names.sort();
            let path: Vec<&str> = path.iter().rev().map(|&m| dists[m].name.as_str()).collect();
            let mut removed = Vec::new();
            let mut owners = Vec::new();
            for n in &names {
                if let Some(d) = v.dists().iter().find(|d| &d.name == *n && d.env == env) {
                    removed.extend(v.dist_inodes(d));
                    owners.push(format!("python:{}", d.name));
                }
            }
            let who = v.required_by(p);
            let mut notes = vec![path.join(" ← ")];
            if who.is_empty() {
                notes.push(format!("{pkg} is installed directly (nothing else requires it)"));
            } else {
                notes.push(format!("{pkg} is required by {}", who.join(", ")));
            }
            let d = &dists[p];
            out.push(Draft::new(
                "heavy-dependency",
                format!("{} pulls in {} ({}, {} distributions only it needs)", pkg, stack, human(v.bytes(&removed)), names.len()),
                removed.clone(),
                h.replacement_bytes,
                format!("Dropping {pkg} removes every distribution only it requires ({}); {}.", names.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "), h.basis),
                v.evidence(&removed, owners, vec![step(v.a, v.layer_of_dist(d))], notes),
                format!("Replace {pkg} with {}.", h.alternative),
                Action::AdviceOnly,
            ));
        }
    }
}

fn package_swap(set: &RuleSet, v: &View, out: &mut Vec<Draft>) {
    for s in &set.swaps {
        let from = crate::attribute::python::normalize_name(&s.from);
        for d in v.dists().iter().filter(|d| d.name == from) {
            let inos = v.dist_inodes(d);
            let bytes = v.bytes(&inos);
            let keeps = (bytes as f64 * s.keeps.clamp(0.0, 1.0)) as u64;
            out.push(Draft::new(
                "package-swap",
                format!("{} {} has a lighter drop-in: {}", d.name, d.version, s.to),
                inos.clone(),
                keeps,
                format!("{} (estimate: the replacement keeps {:.0}% of {}).", s.basis, s.keeps * 100.0, human(bytes)),
                v.evidence(&inos, vec![format!("python:{}", d.name)], vec![step(v.a, v.layer_of_dist(d))], vec![]),
                format!("Install {} instead of {}.", s.to, s.from),
                Action::PackageSwap { from: s.from.clone(), to: s.to.clone() },
            ));
        }
    }
}

/// A model's family: its name with size tokens (4B, 0.6B, 350M) and size words removed.
pub(super) fn family(name: &str) -> String {
    let base = name.rsplit('/').next().unwrap_or(name).to_ascii_lowercase();
    base.split(['-', '_', '.'])
        .filter(|t| {
            let num = t.trim_end_matches(['b', 'm', 'k']);
            let sized = !num.is_empty() && num.len() < t.len() && num.chars().all(|c| c.is_ascii_digit() || c == '.');
            !(sized || ["tiny", "mini", "small", "base", "medium", "large", "xl", "xxl"].contains(t) || t.chars().all(|c| c.is_ascii_digit()))
        })
        .collect::<Vec<_>>()
        .join("-")
}

fn baked_model(v: &View, out: &mut Vec<Draft>) {
    let models = &v.a.analysis.models;
    let mut families: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, m) in models.iter().enumerate() {
        families.entry(family(&m.name)).or_default().push(i);
    }
    for (i, m) in models.iter().enumerate() {
        let inos: Vec<u32> = m.paths.iter().filter_map(|p| v.a.tree.get(p.trim_start_matches('/').as_bytes())).filter(|&n| v.a.tree.nodes[n as usize].kind == Kind::File).map(|n| v.a.tree.nodes[n as usize].inode).collect();
        let mut notes = Vec::new();
        let kin: Vec<&str> = families[&family(&m.name)].iter().filter(|&&j| j != i).map(|&j| models[j].name.as_str()).collect();
        if !kin.is_empty() {
            notes.push(format!("same family as {}: keep exactly one size", kin.join(", ")));
        }
        let twins: Vec<&str> = models.iter().filter(|o| o.name != m.name && o.name.rsplit('/').next() == m.name.rsplit('/').next()).map(|o| o.name.as_str()).collect();
        if !twins.is_empty() {
            notes.push(format!("the same model is also at {}", twins.join(", ")));
        }
        let mut title = format!("{} ({} {}) baked into layer {}", m.name, human(m.bytes), m.format, m.layer);
        if !kin.is_empty() {
            title.push_str(&format!(", next to {} of the same family", kin.join(", ")));
        }
        out.push(Draft::new(
            "baked-model",
            title,
            if inos.len() as u64 == m.files { inos.clone() } else { all_model_inodes(v, m) },
            0,
            "The weights leave the image if they are mounted as a volume or fetched at start; the saving is the model's bytes.".into(),
            Evidence {
                paths: m.paths.iter().take(MAX_PATHS).cloned().collect(),
                more_paths: m.files.saturating_sub(MAX_PATHS as u64),
                owners: m.owner.iter().cloned().collect(),
                layers: vec![step(v.a, m.layer)],
                notes,
            },
            "Mount the model as a volume or download it when the container starts; if it must be baked in, keep exactly one copy of one size.".into(),
            Action::AdviceOnly,
        ));
    }
}

/// Every live inode under a model's directories (for models with more files than listed).
fn all_model_inodes(v: &View, m: &crate::model::analysis::Model) -> Vec<u32> {
    let dirs: HashSet<String> = m.paths.iter().map(|p| p.rsplit_once('/').map(|(d, _)| d.to_string()).unwrap_or_default()).collect();
    let mut out = Vec::new();
    for n in v.a.tree.final_files() {
        let p = crate::attribute::shown(&v.a.tree, n);
        if dirs.iter().any(|d| p.starts_with(&format!("{d}/"))) {
            out.push(v.a.tree.nodes[n as usize].inode);
        }
    }
    out
}

fn duplicate_files(v: &View, d: &Duplicates, out: &mut Vec<Draft>) {
    if d.groups.is_empty() {
        return;
    }
    let mut removed = Vec::new();
    let mut notes = Vec::new();
    let mut groups = d.groups.clone();
    groups.sort_by_key(|g| std::cmp::Reverse(v.size(g[0]) * (g.len() as u64 - 1)));
    for g in &groups {
        removed.extend(&g[1..]);
        if notes.len() < MAX_PATHS {
            notes.push(format!("{} × {}: {}", g.len(), human(v.size(g[0])), g.iter().map(|&i| v.path(i)).collect::<Vec<_>>().join(", ")));
        }
    }
    if groups.len() > MAX_PATHS {
        notes.push(format!("and {} more groups", groups.len() - MAX_PATHS));
    }
    out.push(Draft::new(
        "duplicate-files",
        format!("{} files of 1 MiB or more are copies of another file ({})", removed.len(), human(v.bytes(&removed))),
        removed.clone(),
        0,
        format!("Content compared by xxh3-128 over files whose sizes collide ({} read to hash); every copy but one could go or become a hard link.", human(d.bytes_hashed)),
        v.evidence(&removed, vec![], vec![], notes),
        "Keep one copy: delete the others in the step that creates them, or hard-link them.".into(),
        Action::AdviceOnly,
    ));
}

fn layer_waste(v: &View, out: &mut Vec<Draft>) {
    let t = &v.a.tree;
    let mut pairs: HashMap<(u16, u16), Vec<u32>> = HashMap::new();
    // For each hidden inode, the path it was first seen at; for each path, the first layer
    // that wrote it. Looked up per pair below, so the rule stays linear in the waste list.
    let mut node_of: HashMap<u32, _> = HashMap::new();
    let mut first_write: HashMap<_, u16> = HashMap::new();
    for w in &t.waste {
        pairs.entry((w.added_in, w.hidden_in)).or_default().push(w.inode);
        node_of.entry(w.inode).or_insert(w.node);
        let f = first_write.entry(w.node).or_insert(w.added_in);
        *f = (*f).min(w.added_in);
    }
    let mut keys: Vec<(u16, u16)> = pairs.keys().copied().collect();
    keys.sort();
    for (added, hidden) in keys {
        let inos = &pairs[&(added, hidden)];
        let step_h = step(v.a, u64::from(hidden));
        let how = step_h.created_by.clone().unwrap_or_default();
        // The step that first wrote these paths (a later chmod -R may have written them again).
        let first = inos
            .iter()
            .filter_map(|i| node_of.get(i))
            .filter_map(|n| first_write.get(n).copied())
            .min()
            .unwrap_or(added)
            .min(added);
        let (text, action) = if how.contains("chmod -R") || how.contains("chown -R") || how.contains("chgrp -R") {
            ("Set ownership and modes when the files are copied (COPY --chown=… --chmod=…) instead of a later chown -R/chmod -R, which copies every file again.".to_string(), Action::CopyChown { layer: u64::from(hidden) })
        } else if how.contains("rm ") {
            ("Delete the files in the same RUN that creates them, or build them in another stage.".to_string(), Action::MergeRuns { create_layer: u64::from(first), delete_layer: u64::from(hidden) })
        } else {
            ("Write these files once: build in another stage and copy only the result, or make the step that creates them final.".to_string(), Action::AdviceOnly)
        };
        let mut seen = HashSet::new();
        let inos: Vec<u32> = inos.iter().copied().filter(|i| seen.insert(*i)).collect();
        out.push(Draft::new(
            "layer-waste",
            format!("layer {hidden} hides {} that layer {added} wrote ({} file{}): both still ship", human(v.bytes(&inos)), inos.len(), if inos.len() == 1 { "" } else { "s" }),
            inos.clone(),
            0,
            "Hidden bytes are still in the lower layer: every pull downloads and every node stores them.".into(),
            v.evidence(&inos, vec![], vec![step(v.a, u64::from(added)), step_h], vec![]),
            text,
            action,
        ));
    }
}

fn cache_left(v: &View, out: &mut Vec<Draft>) {
    let model_files: HashSet<String> = v.a.analysis.models.iter().flat_map(|m| m.paths.iter().cloned()).collect();
    let model_dirs: Vec<String> = v.a.analysis.models.iter().flat_map(|m| m.paths.iter().filter_map(|p| p.rsplit_once('/').map(|(d, _)| format!("{d}/")))).collect();
    for (cat, text, action) in [
        ("pip-cache", "pip's cache: install with --no-cache-dir (or a cache mount) so it never lands in a layer.", Action::PipNoCacheDir),
        ("uv-cache", "uv's cache: install with --no-cache (or UV_NO_CACHE=1, or a cache mount) so it never lands in a layer.", Action::PipNoCacheDir),
        ("apt-lists", "apt lists: remove /var/lib/apt/lists/* in the same RUN as apt-get install.", Action::AptCleanup),
        ("apt-archives", "downloaded .deb archives: apt-get clean in the same RUN as apt-get install.", Action::AptCleanup),
        ("other-cache", "caches under ~/.cache: clear them in the step that fills them, or use a cache mount.", Action::AdviceOnly),
        ("pycache", "bytecode written at build time outside the interpreter's own library: set PYTHONDONTWRITEBYTECODE=1.", Action::NoBytecode),
        ("site-packages-tests", "test suites inside site-packages no package owns: delete them in the installing step.", Action::AdviceOnly),
        ("static-libs", "static libraries (.a) are only needed to link: drop them from the final image.", Action::AdviceOnly),
    ] {
        let mut inos = Vec::new();
        let mut layers: HashMap<u16, u64> = HashMap::new();
        for i in v.owner_ids(OwnerKind::Category, cat) {
            for &ino in &v.owner_inodes[i] {
                let p = v.path(ino);
                if model_files.contains(&p) || model_dirs.iter().any(|d| p.starts_with(d)) {
                    continue;
                }
                // The interpreter's own library, and Debian's py3compile output for its python3
                // packages (/usr/lib/python3/dist-packages, /usr/share/python3), which
                // PYTHONDONTWRITEBYTECODE does not prevent.
                if cat == "pycache" && (p.starts_with("/usr/lib/python3") || p.starts_with("/usr/share/python3/") || p.starts_with("/usr/local/lib/python3.") && !p.contains("-packages/")) {
                    continue;
                }
                *layers.entry(v.a.tree.inodes[ino as usize].layer).or_default() += v.size(ino);
                inos.push(ino);
            }
        }
        if inos.is_empty() {
            continue;
        }
        let mut ls: Vec<(u16, u64)> = layers.into_iter().collect();
        ls.sort_by(|a, b| b.1.cmp(&a.1));
        out.push(Draft::new(
            "cache-left",
            format!("{cat}: {} in {} files left in the image", human(v.bytes(&inos)), inos.len()),
            inos.clone(),
            0,
            "Nothing at run time reads these files; the saving is their bytes.".into(),
            v.evidence(&inos, vec![format!("category:{cat}")], ls.iter().take(3).map(|(l, _)| step(v.a, u64::from(*l))).collect(), vec![]),
            text.into(),
            action,
        ));
    }
}

/// dpkg packages that only building needs.
fn is_toolchain(name: &str) -> bool {
    let versioned = |base: &str| name == base || name.strip_prefix(base).and_then(|r| r.strip_prefix('-')).is_some_and(|r| r.chars().all(|c| c.is_ascii_digit() || c == '.'));
    ["gcc", "g++", "cpp", "gfortran"].iter().any(|b| versioned(b))
        || matches!(name, "build-essential" | "make" | "cmake" | "cmake-data" | "rustc" | "cargo" | "libtool" | "autoconf" | "automake" | "pkg-config" | "pkgconf" | "dpkg-dev" | "libc-dev-bin" | "binutils")
        || name.starts_with("binutils-")
        || name.starts_with("libbinutils")
        || name.ends_with("-dev")
}

/// Installed dpkg packages only the toolchain needs: what `apt-get autoremove` would take
/// once the toolchain goes (kept: everything reachable by Depends, Pre-Depends or Recommends,
/// virtual names through `Provides`, from a package installed by name). Walks the dpkg graph
/// in `Analyzed.usage`.
fn toolchain_closure(v: &View) -> (Vec<String>, Vec<String>) {
    let g = &v.a.usage.dpkg;
    let tools: Vec<usize> = (0..g.packages.len()).filter(|&i| is_toolchain(&g.packages[i].name)).collect();
    if tools.is_empty() {
        return (Vec::new(), Vec::new());
    }
    // Installed by name or as a dependency: apt's extended_states, which attribution read.
    let auto: HashSet<&str> = v.a.attribution.dpkg.iter().filter(|p| p.auto).map(|p| p.name.as_str()).collect();
    let mut keep = vec![false; g.packages.len()];
    let mut stack: Vec<usize> = (0..g.packages.len()).filter(|&i| !auto.contains(g.packages[i].name.as_str()) && !tools.contains(&i)).collect();
    while let Some(i) = stack.pop() {
        if tools.contains(&i) || keep[i] {
            continue;
        }
        keep[i] = true;
        stack.extend(&g.depends[i]);
        stack.extend(&g.recommends[i]);
    }
    let names = |f: &dyn Fn(usize) -> bool| (0..g.packages.len()).filter(|&i| f(i)).map(|i| g.packages[i].name.clone()).collect::<Vec<_>>();
    (names(&|i| tools.contains(&i)), names(&|i| !keep[i]))
}

fn build_toolchain(v: &View, out: &mut Vec<Draft>) {
    let mut inos = Vec::new();
    let mut layers: HashSet<u16> = HashSet::new();
    let (mut pkgs, gone) = toolchain_closure(v);
    for (i, o) in v.a.attribution.owners.iter().enumerate() {
        let tool = (o.kind == OwnerKind::Dpkg && gone.contains(&o.name)) || (o.kind == OwnerKind::Category && o.name == "build-toolchain");
        if tool && !v.owner_inodes[i].is_empty() {
            inos.extend(&v.owner_inodes[i]);
            if o.kind == OwnerKind::Dpkg {
                layers.insert(o.layer);
            }
        }
    }
    if pkgs.is_empty() && inos.is_empty() {
        return;
    }
    let pulled: Vec<&String> = gone.iter().filter(|g| !pkgs.contains(g)).collect();
    pkgs.sort();
    // A plain linux_* tag alone is no evidence: PyPI's torch wheels say exactly that inside.
    // Something was built here when direct_url.json says so, when pip's wheel cache holds the
    // wheel it built, or when the step that installed it asked for a source build.
    let cached_builds = pip_built_wheels(v);
    let compiled: Vec<(String, String)> = v
        .dists()
        .iter()
        .filter(|d| d.wheel_tags.iter().any(|t| t.ends_with("-linux_x86_64") || t.ends_with("-linux_aarch64") || t.ends_with("-linux_armv7l")))
        .filter_map(|d| {
            let how = step(v.a, v.layer_of_dist(d)).created_by.unwrap_or_default();
            let why = d
                .built_from
                .as_ref()
                .map(|b| format!("installed from {b}"))
                .or_else(|| cached_builds.contains(&d.name).then(|| "pip's wheel cache holds the wheel it built".to_string()))
                .or_else(|| (how.contains("--no-binary") || how.contains("setup.py")).then(|| "its step builds from source".to_string()))?;
            Some((format!("{} {}", d.name, d.version), why))
        })
        .collect();
    let multi_stage = !compiled.is_empty();
    let (text, note) = if multi_stage {
        let list: Vec<String> = compiled.iter().map(|(n, _)| n.clone()).collect();
        (
            format!("Something was compiled in the image ({}): build in a builder stage that makes a venv, and copy only the venv and the app into a runtime stage without the toolchain.", list.join(", ")),
            format!("built here: {}", compiled.iter().map(|(n, w)| format!("{n} ({w})")).collect::<Vec<_>>().join(", ")),
        )
    } else {
        (
            "Nothing was compiled in the image (no wheel was built from source here): drop the toolchain packages.".to_string(),
            "no installed wheel shows a build in the image (direct_url.json, pip's wheel cache, a source-build step)".to_string(),
        )
    };
    let mut ls: Vec<u16> = layers.into_iter().collect();
    ls.sort();
    out.push(Draft::new(
        "build-toolchain",
        format!("a build toolchain ships in the final image: {} ({} packages)", human(v.bytes(&inos)), pkgs.len()),
        inos.clone(),
        0,
        format!("The toolchain's packages go with what only they pulled in ({} more packages, as apt-get autoremove would take them); the saving is their files' bytes.", pulled.len()),
        v.evidence(&inos, pkgs.iter().take(MAX_PATHS).map(|p| format!("dpkg:{p}")).collect(), ls.iter().map(|&l| step(v.a, u64::from(l))).collect(), vec![note]),
        text,
        Action::DropToolchain { packages: pkgs, multi_stage },
    ));
}

/// Normalised names of the wheels pip built and kept in its cache (`.cache/pip/wheels/`).
fn pip_built_wheels(v: &View) -> HashSet<String> {
    let t = &v.a.tree;
    let mut out = HashSet::new();
    for (n, node) in t.nodes.iter().enumerate() {
        if !node.name.ends_with(b".whl") || !t.is_live(n as u32) {
            continue;
        }
        let path = t.path(n as u32);
        if path.windows(18).any(|w| w == b".cache/pip/wheels/") {
            let name = String::from_utf8_lossy(&node.name);
            if let Some(dist) = name.split('-').next() {
                out.insert(crate::attribute::python::normalize_name(dist));
            }
        }
    }
    out
}

fn context_leak(v: &View, out: &mut Vec<Draft>) {
    let t = &v.a.tree;
    let copied = |layer: u16| {
        v.a.analysis.layers.get(layer as usize).and_then(|l| l.created_by.as_deref()).is_some_and(|c| {
            let c = c.trim_start_matches("/bin/sh -c #(nop) ").trim_start();
            c.starts_with("COPY") || c.starts_with("ADD")
        })
    };
    // Paths a COPY/ADD wrote, even if a later layer (chmod -R) wrote them again.
    let mut from_context: HashSet<u32> = t.waste.iter().filter(|w| copied(w.added_in)).map(|w| w.node).collect();
    for n in t.final_files() {
        if copied(t.nodes[n as usize].layer) {
            from_context.insert(n);
        }
    }
    // (pattern for .dockerignore, what it is, is it a secret)
    let mut hits: HashMap<&'static str, (Vec<u32>, bool, HashSet<u16>)> = HashMap::new();
    for n in t.final_files() {
        let node = &t.nodes[n as usize];
        if !from_context.contains(&n) {
            continue;
        }
        let ino = node.inode;
        if v.a.attribution.owners[v.a.attribution.by_inode[ino as usize] as usize].kind != OwnerKind::Category {
            continue;
        }
        let path = t.path(n);
        let p = String::from_utf8_lossy(&path);
        let comps: Vec<&str> = p.split('/').collect();
        let name = comps.last().copied().unwrap_or("");
        let hit: Option<(&'static str, bool)> = if comps.contains(&".git") {
            Some(("**/.git", false))
        } else if comps.contains(&"node_modules") {
            Some(("**/node_modules", false))
        } else if let Some(i) = comps.iter().position(|c| *c == ".venv" || *c == "venv") {
            // A venv made in the image (or copied from a builder stage) points at an
            // interpreter the image has; one copied from a workstation does not.
            foreign_venv(v, &comps[..=i]).then_some(("**/.venv", false))
        } else if comps.contains(&"__pycache__") || name.ends_with(".pyc") {
            Some(("**/__pycache__", false))
        } else if comps.iter().any(|c| matches!(*c, ".pytest_cache" | ".mypy_cache" | ".ruff_cache" | ".tox" | ".ipynb_checkpoints")) {
            Some(("**/.*_cache", false))
        } else if name == ".env" || name.starts_with(".env.") {
            Some(("**/.env*", true))
        } else if name.ends_with(".key") || name.starts_with("id_rsa") || name.starts_with("id_ed25519") || (name.ends_with(".pem") && (name.contains("key") || name.contains("private"))) {
            Some(("**/*.key", true))
        } else {
            None
        };
        if let Some((pat, secret)) = hit {
            let e = hits.entry(pat).or_insert((Vec::new(), secret, HashSet::new()));
            e.0.push(ino);
            e.2.insert(node.layer);
        }
    }
    let mut pats: Vec<&'static str> = hits.keys().copied().collect();
    pats.sort();
    for pat in pats {
        let (inos, secret, layers) = &hits[pat];
        let mut ls: Vec<u16> = layers.iter().copied().collect();
        ls.sort();
        let mut d = Draft::new(
            "context-leak",
            if *secret {
                format!("secrets copied from the build context ({}): {}", pat, v.path(inos[0]))
            } else {
                format!("{pat} copied from the build context: {} in {} files", human(v.bytes(inos)), inos.len())
            },
            inos.clone(),
            0,
            "Files that COPY/ADD brought in from the build context and nothing at run time needs; a .dockerignore keeps them out.".into(),
            v.evidence(inos, vec![], ls.iter().map(|&l| step(v.a, u64::from(l))).collect(), if *secret { vec!["a secret in an image is readable by anyone who can pull it: rotate it".into()] } else { vec![] }),
            format!("Add {pat} to .dockerignore."),
            Action::Dockerignore { patterns: vec![pat.to_string()] },
        );
        if *secret {
            d.severity = Some("high");
        }
        out.push(d);
    }
}

/// Is the venv at `comps` one whose interpreter is not in the image (or has no pyvenv.cfg)?
fn foreign_venv(v: &View, comps: &[&str]) -> bool {
    let dir = comps.join("/");
    let Some(cfg) = v.a.tree.get(format!("{dir}/pyvenv.cfg").as_bytes()) else { return true };
    let Some(text) = v.a.tree.contents.get(&cfg) else { return true };
    let text = String::from_utf8_lossy(text);
    let home = text.lines().find_map(|l| l.split_once('=').filter(|(k, _)| k.trim() == "home").map(|(_, h)| h.trim().trim_start_matches('/').to_string()));
    match home {
        Some(h) => v.a.tree.get(h.as_bytes()).is_none(),
        None => true,
    }
}

fn multiple_environments(v: &View, out: &mut Vec<Draft>) {
    // Interpreters: real python3.X binaries in different places.
    let mut interpreters: Vec<String> = Vec::new();
    for n in v.a.tree.final_files() {
        let name = String::from_utf8_lossy(&v.a.tree.nodes[n as usize].name).into_owned();
        let is_py = name.strip_prefix("python3.").is_some_and(|r| !r.is_empty() && r.chars().all(|c| c.is_ascii_digit()));
        if is_py && v.size(v.a.tree.nodes[n as usize].inode) > 100_000 {
            interpreters.push(crate::attribute::shown(&v.a.tree, n));
        }
    }
    interpreters.sort();
    // Distributions installed in more than one environment: keep the biggest environment's.
    let mut env_size: HashMap<&str, usize> = HashMap::new();
    for d in v.dists() {
        *env_size.entry(d.env.as_str()).or_default() += 1;
    }
    let mut by_name: HashMap<&str, Vec<&Dist>> = HashMap::new();
    for d in v.dists() {
        by_name.entry(d.name.as_str()).or_default().push(d);
    }
    let mut removed = Vec::new();
    let mut notes = Vec::new();
    let mut names: Vec<&&str> = by_name.keys().collect();
    names.sort();
    for name in names {
        let copies = &by_name[*name];
        if copies.len() < 2 {
            continue;
        }
        let keep = copies.iter().max_by_key(|d| (env_size[d.env.as_str()], std::cmp::Reverse(d.env.clone()))).unwrap();
        for d in copies.iter().filter(|d| d.env != keep.env) {
            removed.extend(v.dist_inodes(d));
        }
        if notes.len() < MAX_PATHS {
            notes.push(format!("{name} in {}", copies.iter().map(|d| format!("{} ({})", d.env, d.version)).collect::<Vec<_>>().join(" and ")));
        }
    }
    if removed.is_empty() && interpreters.len() < 2 {
        return;
    }
    if interpreters.len() >= 2 {
        notes.insert(0, format!("interpreters: {}", interpreters.join(", ")));
    }
    out.push(Draft::new(
        "multiple-environments",
        format!("several Python environments: {} of distributions installed twice{}", human(v.bytes(&removed)), if interpreters.len() >= 2 { format!(", {} interpreters", interpreters.len()) } else { String::new() }),
        removed.clone(),
        0,
        "Keeping one environment (the one with most distributions) removes the other copies.".into(),
        v.evidence(&removed, vec![], vec![], notes),
        "Install everything into one environment (one venv copied from a builder stage), with one interpreter.".into(),
        Action::AdviceOnly,
    ));
}

/// Distributions nothing in the app reaches (see `deps::unused`); none when no app was found.
fn unused_package(set: &RuleSet, v: &View, out: &mut Vec<Draft>) {
    let u = &v.a.usage;
    for (e, row) in u.unused.iter().zip(&v.a.analysis.unused_packages) {
        // Development tools have a rule of their own (dev-tools).
        if set.dev_tools.contains(&row.name) {
            continue;
        }
        let mut removed = u.inodes[e.dist].clone();
        let mut owners = vec![format!("python:{}", row.name)];
        for &p in &e.pulls_in {
            removed.extend(&u.inodes[p]);
            owners.push(format!("python:{}", v.dists()[p].name));
        }
        let ver = row.version.as_deref().unwrap_or("");
        let mut notes = vec![if row.confidence == "high" {
            "confidence: high — nothing in the app's code, command line or environment names it".to_string()
        } else {
            "confidence: medium — something could still load it by name:".to_string()
        }];
        notes.extend(row.reasons.iter().cloned());
        if !row.pulls_in.is_empty() {
            notes.push(format!("only it pulls in: {}", row.pulls_in.join(", ")));
        }
        if !row.pulls_in_reasons.is_empty() {
            notes.push("these go with it, though something may load them (install them by name if the app needs them):".into());
            notes.extend(row.pulls_in_reasons.iter().cloned());
        }
        if !row.required_by.is_empty() {
            notes.push(format!("required only by unused {}", row.required_by.join(", ")));
        }
        let with = if row.pulls_in.is_empty() { String::new() } else { format!(" ({} with the {} packages only it pulls in)", human(row.total_bytes), row.pulls_in.len()) };
        let title = format!("{} {ver} is installed but nothing in the app imports it{with}", row.name);
        let (text, action) = if !row.required_by.is_empty() {
            (format!("It goes once {} go(es): nothing else requires it.", row.required_by.join(" and ")), Action::AdviceOnly)
        } else if row.confidence == "high" {
            (format!("Remove {} from the pip install line or requirements file (check `slim why {}`).", row.name, row.name), Action::DropPackage { name: row.name.clone() })
        } else {
            (format!("Check whether {} is loaded as the notes say before removing it from the requirements.", row.name), Action::AdviceOnly)
        };
        out.push(Draft::new(
            "unused-package",
            title,
            removed.clone(),
            0,
            "Nothing in the app's imports, command line or their requirements (markers evaluated for this interpreter and platform) reaches it or what only it pulls in; the saving is those distributions' files.".into(),
            v.evidence(&removed, owners, vec![step(v.a, row.layer)], notes),
            text,
            action,
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_ignore_sizes() {
        assert_eq!(family("Qwen/Qwen3-Reranker-4B"), family("Qwen/Qwen3-Reranker-0.6B"));
        assert_ne!(family("Qwen/Qwen3-Reranker-4B"), family("Qwen/Qwen3-Embedding-4B"));
        assert_eq!(family("openai/whisper-large"), family("openai/whisper-base"));
    }

    #[test]
    fn toolchain_packages() {
        for p in ["gcc", "gcc-12", "g++-12", "cpp-12", "build-essential", "zlib1g-dev", "libc6-dev", "binutils-x86-64-linux-gnu", "make"] {
            assert!(is_toolchain(p), "{p}");
        }
        for p in ["libgcc-s1", "gcc-12-base", "libc6", "zlib1g", "python3"] {
            assert!(!is_toolchain(p), "{p}");
        }
    }
}
