//! Who needs what: the application's code and command line, the modules it imports, the
//! distributions those modules belong to, and the dependency graph from there. From this come
//! `slim why PACKAGE` (every path from a line of app code to a package) and the packages
//! nothing reaches (`unused_packages`, the `unused-package` rule).
//!
//! Everything is read from the one pass over the layers: source files are captured on the way
//! (`attribute::app_files::is_app_source`), like the metadata attribution reads.

pub mod app;
pub mod graph;
pub mod imports;
pub mod modules;
pub mod unused;
pub mod why;

use crate::attribute::{Attribution, OwnerKind};
use crate::image::resolve::Image;
use crate::layers::tree::Tree;
use crate::model::analysis::AppCode;
use app::{App, Named};
use graph::{DpkgGraph, PyGraph};
use hashbrown::{HashMap, HashSet};
use modules::ModuleMap;

/// Where the app reaches a distribution directly.
#[derive(Debug, Clone, PartialEq)]
pub struct Site {
    /// The source file (`/app/main.py`), or where the command line said it (`CMD`).
    pub file: String,
    /// 0 for the command line.
    pub line: u32,
    /// The source line, or the command words.
    pub text: String,
    /// `import`, `from`, `importlib`, `__import__`, `command` (a module the command names),
    /// `console-script`, `editable` (the app installed in editable mode).
    pub how: &'static str,
    pub context: Vec<String>,
    /// The module imported.
    pub module: String,
}

impl Site {
    pub fn place(&self) -> String {
        if self.line == 0 { self.file.clone() } else { format!("{}:{}", self.file, self.line) }
    }
}

/// A name the app's strings, environment or command mention, and where.
pub type Mentions = HashMap<String, String>;

/// Where a used distribution's own code imports another distribution (which it does not
/// require: a lazy import in a function, an optional one in a `try:` block).
#[derive(Debug, Clone)]
pub struct LibSite {
    /// The distribution whose code imports it.
    pub importer: usize,
    pub site: Site,
}

/// Sites kept per imported distribution.
const MAX_LIB_SITES: usize = 3;

pub struct Usage {
    pub app: App,
    /// Was any application found (source files, or a command naming an installed package)?
    pub found: bool,
    pub graph: PyGraph,
    pub dpkg: DpkgGraph,
    pub modules: ModuleMap,
    /// Per distribution (`Attribution::dists` index): where the app reaches it directly.
    pub sites: Vec<Vec<Site>>,
    /// Per distribution: reachable from the app.
    pub used: Vec<bool>,
    /// Per distribution: its live inodes (its unrecorded files included).
    pub inodes: Vec<Vec<u32>>,
    pub bytes: Vec<u64>,
    /// Imports by computed name: (`file:line`, literal prefix).
    pub dynamic: Vec<(String, Option<String>)>,
    /// Entry-point groups the app loads: group → `file:line`.
    pub group_loads: HashMap<String, String>,
    /// Words of the app's strings (module-like tokens) and environment → where first seen.
    pub mentions: Mentions,
    /// Imports that reach no installed distribution and no app module (the standard library,
    /// or something missing).
    pub unresolved: Vec<String>,
    pub imports: u64,
    pub unused: Vec<unused::Entry>,
    /// Per distribution: where used distributions' own code imports it (when not used).
    pub lib_sites: Vec<Vec<LibSite>>,
    /// Per distribution: some of its own code was read (its imports are known).
    pub scanned: Vec<bool>,
    /// Modules of used distributions read, and the imports in them.
    pub lib_files: u64,
    pub lib_imports: u64,
    /// Where the app loads a model with `trust_remote_code=True` (`file:line`).
    pub remote_code: Vec<String>,
    /// Per distribution: an editable install of the app's own project (its code is the app).
    pub app_dists: Vec<bool>,
}

/// Console scripts of every distribution: script name → distributions.
fn console_scripts(tree: &Tree, attribution: &Attribution) -> HashMap<String, Vec<usize>> {
    let mut out: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, d) in attribution.dists.iter().enumerate() {
        let mut section = "";
        for line in d.entry_points.lines().map(str::trim) {
            if line.starts_with('[') && line.ends_with(']') {
                section = &line[1..line.len() - 1];
                continue;
            }
            if matches!(section.trim(), "console_scripts" | "gui_scripts") {
                if let Some((name, _)) = line.split_once('=') {
                    out.entry(name.trim().to_string()).or_default().push(i);
                }
            }
        }
        // Scripts a wheel installs as files (`…/bin/NAME` in its RECORD).
        for &f in &d.files {
            let p = tree.nodes[f as usize].parent;
            if &*tree.nodes[p as usize].name == b"bin" {
                out.entry(String::from_utf8_lossy(&tree.nodes[f as usize].name).into_owned()).or_default().push(i);
            }
        }
    }
    for v in out.values_mut() {
        v.sort();
        v.dedup();
    }
    out
}

/// The module-like words of a string: `postgresql+psycopg2://…` → `postgresql`, `psycopg2`, …
pub fn words(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-'))
        .map(|w| w.split('.').next().unwrap_or(""))
        .filter(|w| w.len() >= 2 && w.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_'))
}

fn line_text(src: &[u8], line: u32) -> String {
    let l = src.split(|&b| b == b'\n').nth(line.saturating_sub(1) as usize).unwrap_or_default();
    let t = String::from_utf8_lossy(l).trim().to_string();
    if t.chars().count() > 160 { format!("{}…", t.chars().take(160).collect::<String>()) } else { t }
}

impl Usage {
    pub fn compute(tree: &mut Tree, attribution: &Attribution, image: &Image) -> Usage {
        let app = App::find(tree, attribution, &image.config);
        let cfg = &image.config;
        let env_vars = cfg.config.as_ref().and_then(|c| c.env.clone()).unwrap_or_default();
        let machine = graph::machine(cfg.architecture.as_deref().unwrap_or("amd64"), cfg.variant.as_deref());
        let dists = &attribution.dists;
        let graph = PyGraph::build(tree, dists, &machine, &env_vars);
        let dpkg = DpkgGraph::build(tree);
        let modules = ModuleMap::build(tree, dists);
        let mut envs: Vec<u32> = dists.iter().map(|d| d.env_node).collect();
        envs.sort();
        envs.dedup();

        let mut sites: Vec<Vec<Site>> = vec![Vec::new(); dists.len()];
        let mut unresolved: Vec<String> = Vec::new();
        let mut dynamic = Vec::new();
        let mut group_loads: HashMap<String, String> = HashMap::new();
        let mut mentions: Mentions = HashMap::new();
        let mut imports = 0u64;
        let reach_module = |module: &str, site: Site, sites: &mut Vec<Vec<Site>>| -> bool {
            let mut any = false;
            for &env in &envs {
                for &d in modules.lookup(env, module) {
                    any = true;
                    if !sites[d].iter().any(|s| s.file == site.file && s.line == site.line) {
                        sites[d].push(site.clone());
                    }
                }
            }
            any
        };
        for f in &app.files {
            let src = &tree.contents[&f.node];
            for i in &f.scan.imports {
                imports += 1;
                if i.level > 0 {
                    continue; // relative: always the app's own
                }
                let top = i.module.split('.').next().unwrap_or("");
                if top.is_empty() || app.is_local(top) {
                    continue;
                }
                let mut candidates: Vec<String> = i.names.iter().filter(|n| *n != "*").map(|n| format!("{}.{n}", i.module)).collect();
                if candidates.is_empty() {
                    candidates.push(i.module.clone());
                }
                let site = Site { file: f.shown.clone(), line: i.line, text: line_text(src, i.line), how: i.how, context: i.context.clone(), module: i.module.clone() };
                let mut any = false;
                for c in &candidates {
                    any |= reach_module(c, Site { module: c.clone(), ..site.clone() }, &mut sites);
                }
                if !any && !unresolved.contains(&i.module) {
                    unresolved.push(i.module.clone());
                }
            }
            for d in &f.scan.dynamic {
                dynamic.push((format!("{}:{}", f.shown, d.line), d.prefix.clone()));
            }
            for g in &f.scan.groups {
                group_loads.entry(g.group.clone()).or_insert_with(|| format!("{}:{}", f.shown, g.line));
            }
            for (s, line) in &f.scan.strings {
                for w in words(s) {
                    mentions.entry(w.to_string()).or_insert_with(|| format!("a string at {}:{line}", f.shown));
                }
            }
        }
        for e in &env_vars {
            if let Some((k, v)) = e.split_once('=') {
                // Search paths and toolchain settings name directories, not modules to load.
                let system = k.contains("PATH") || ["NVIDIA_", "NV_", "CUDA_", "LD_", "PIP_", "LC_", "PYTHON_"].iter().any(|p| k.starts_with(p));
                if system || matches!(k, "HOME" | "LANG" | "GPG_KEY" | "TERM" | "SHELL" | "TZ" | "HOSTNAME") {
                    continue;
                }
                for w in words(v) {
                    mentions.entry(w.to_string()).or_insert_with(|| format!("ENV {k}"));
                }
            }
        }
        for w in app.argv.iter().flat_map(|a| words(a)) {
            mentions.entry(w.to_string()).or_insert_with(|| "the command line".into());
        }

        // The command line: modules it names, console scripts it runs.
        let scripts = console_scripts(tree, attribution);
        let mut command_hit = false;
        for c in &app.command {
            match &c.named {
                Named::Module(m) => {
                    let top = m.split('.').next().unwrap_or("");
                    if app.is_local(top) {
                        continue;
                    }
                    let site = Site { file: c.origin.clone(), line: 0, text: c.text.clone(), how: "command", context: vec![], module: m.clone() };
                    command_hit |= reach_module(m, site, &mut sites);
                }
                Named::Script(s) => {
                    for &d in scripts.get(s).into_iter().flatten() {
                        command_hit = true;
                        let site = Site { file: c.origin.clone(), line: 0, text: c.text.clone(), how: "console-script", context: vec![], module: s.clone() };
                        if !sites[d].contains(&site) {
                            sites[d].push(site);
                        }
                    }
                }
            }
        }
        // An editable install is the app itself. When its project's code is among the app's
        // files, that code was read above and its declared dependencies are candidates like
        // any other; else (code not found) everything it declares counts as used.
        let mut app_dists = vec![false; dists.len()];
        for (i, d) in dists.iter().enumerate() {
            if !attribution.owners[d.owner as usize].editable {
                continue;
            }
            match editable_project(tree, d).filter(|dir| app.files.iter().any(|f| f.path.starts_with(dir) && f.path.get(dir.len()) == Some(&b'/'))) {
                Some(_) => app_dists[i] = true,
                None => sites[i].push(Site {
                    file: d.env.clone(),
                    line: 0,
                    text: format!("{} is installed in editable mode: the app itself", d.name),
                    how: "editable",
                    context: vec![],
                    module: d.name.clone(),
                }),
            }
        }
        let found = !app.files.is_empty() || command_hit;
        let roots: Vec<usize> = (0..dists.len()).filter(|&i| !sites[i].is_empty() && !app_dists[i]).collect();
        let used = graph.reach(roots, None);

        // What used distributions' own code imports (captured as digests of their modules):
        // a package they import lazily is not required, but may well be loaded.
        let mut lib_sites: Vec<Vec<LibSite>> = vec![Vec::new(); dists.len()];
        let mut scanned = vec![false; dists.len()];
        let (mut lib_files, mut lib_imports) = (0u64, 0u64);
        for (d, dist) in dists.iter().enumerate() {
            if !used[d] {
                continue;
            }
            for &f in &dist.files {
                let Some(scan) = tree.contents.get(&f).and_then(|c| imports::read_digest(c)) else { continue };
                scanned[d] = true;
                lib_files += 1;
                let shown = crate::show::display_path(&tree.path(f));
                for g in &scan.groups {
                    group_loads.entry(g.group.clone()).or_insert_with(|| format!("{shown}:{} ({}, used)", g.line, dist.name));
                }
                for i in &scan.imports {
                    lib_imports += 1;
                    if i.level > 0 {
                        continue;
                    }
                    let mut candidates: Vec<String> = i.names.iter().filter(|n| *n != "*").map(|n| format!("{}.{n}", i.module)).collect();
                    candidates.push(i.module.clone());
                    let mut hit: Vec<usize> = Vec::new();
                    for c in &candidates {
                        for &t in modules.lookup(dist.env_node, c) {
                            if t != d && !used[t] && !hit.contains(&t) {
                                hit.push(t);
                            }
                        }
                    }
                    for t in hit {
                        if lib_sites[t].len() < MAX_LIB_SITES && !lib_sites[t].iter().any(|s| s.site.file == shown) {
                            let site = Site { file: shown.clone(), line: i.line, text: String::new(), how: i.how, context: i.context.clone(), module: i.module.clone() };
                            lib_sites[t].push(LibSite { importer: d, site });
                        }
                    }
                }
            }
        }
        let mut remote_code: Vec<String> = Vec::new();
        for f in &app.files {
            for l in &f.scan.remote_code {
                remote_code.push(format!("{}:{l}", f.shown));
            }
        }

        // Live inodes per distribution, its unrecorded row included.
        let mut owner_dist: HashMap<u32, usize> = HashMap::new();
        let key: HashMap<(&str, Option<&str>), usize> = dists.iter().enumerate().map(|(i, d)| ((d.name.as_str(), Some(d.env.as_str())), i)).collect();
        for (o, info) in attribution.owners.iter().enumerate() {
            if info.kind == OwnerKind::Python {
                if let Some(&d) = key.get(&(info.name.as_str(), info.location.as_deref())) {
                    owner_dist.insert(o as u32, d);
                }
            }
        }
        let mut inodes: Vec<Vec<u32>> = vec![Vec::new(); dists.len()];
        for (ino, i) in tree.inodes.iter().enumerate() {
            if i.links > 0 {
                if let Some(&d) = owner_dist.get(&attribution.by_inode[ino]) {
                    inodes[d].push(ino as u32);
                }
            }
        }
        let bytes: Vec<u64> = inodes.iter().map(|v| v.iter().map(|&i| tree.inodes[i as usize].size).sum()).collect();

        let mut u = Usage {
            app,
            found,
            graph,
            dpkg,
            modules,
            sites,
            used,
            inodes,
            bytes,
            dynamic,
            group_loads,
            mentions,
            unresolved,
            imports,
            unused: Vec::new(),
            lib_sites,
            scanned,
            lib_files,
            lib_imports,
            remote_code,
            app_dists,
        };
        if u.found {
            u.unused = unused::compute(&u, attribution);
        }
        u
    }

    /// Distributions the app reaches directly (its own editable project aside).
    pub fn direct(&self) -> Vec<usize> {
        (0..self.sites.len()).filter(|&i| !self.sites[i].is_empty() && !self.app_dists[i]).collect()
    }

    /// What was read to decide that nothing needs a package, for `slim why`.
    pub fn checked(&self) -> String {
        let used = self.used.iter().filter(|&&u| u).count();
        let scanned = self.scanned.iter().filter(|&&s| s).count();
        let editable = if self.app_dists.iter().any(|&a| a) { " (an editable install's project among them)" } else { "" };
        format!(
            "checked: {} app source files{editable} with {} imports, the command line and ENV, the requirements of {used} used packages (markers and extras for this image), {} modules of {scanned} used packages with {} imports, {} plugin groups loaded",
            self.app.files.len(),
            self.imports,
            self.lib_files,
            self.lib_imports,
            self.group_loads.len()
        )
    }

    /// What goes if `d` goes: distributions reachable from the app only through it (itself
    /// included), when it is used; itself and what only it pulls in among unused ones else.
    pub fn alone(&self, d: usize) -> Vec<usize> {
        let roots = self.direct();
        let with = self.graph.reach(roots.iter().copied(), None);
        let without = self.graph.reach(roots.iter().copied(), Some(d));
        if !with[d] {
            let mine = self.graph.reach([d], None);
            return (0..mine.len()).filter(|&i| mine[i] && !with[i]).collect();
        }
        (0..with.len()).filter(|&i| with[i] && !without[i]).collect()
    }

    pub fn bytes_of(&self, ds: &[usize]) -> u64 {
        ds.iter().map(|&d| self.bytes[d]).sum()
    }

    /// The summary the analysis reports.
    pub fn summary(&self, attribution: &Attribution) -> AppCode {
        let mut direct: Vec<String> = self.direct().iter().map(|&d| attribution.dists[d].name.clone()).collect();
        direct.sort();
        direct.dedup();
        let mut command: Vec<String> = Vec::new();
        for s in self.sites.iter().flatten().filter(|s| matches!(s.how, "command" | "console-script")) {
            let t = format!("{} ({})", s.module, s.file);
            if !command.contains(&t) {
                command.push(t);
            }
        }
        command.sort();
        let note = if !self.found {
            Some("no application code found (looked at WORKDIR, CMD/ENTRYPOINT, PYTHONPATH and .py files outside environments such as /app, /src, /srv); no package is called unused".into())
        } else if self.app.files.is_empty() {
            Some("no application source outside the environments: the distributions the command line runs are taken as the app, and their requirements as what it imports".into())
        } else {
            None
        };
        AppCode {
            found: self.found,
            roots: self.app.roots.clone(),
            files: self.app.files.len() as u64,
            imports: self.imports,
            direct,
            command,
            dynamic_imports: self.dynamic.iter().map(|(p, _)| p.clone()).collect(),
            note,
        }
    }

    /// Distributions called `name` (PEP 503-normalised), in every environment.
    pub fn find(attribution: &Attribution, name: &str) -> Vec<usize> {
        let n = crate::attribute::python::normalize_name(name);
        (0..attribution.dists.len()).filter(|&i| attribution.dists[i].name == n).collect()
    }
}

/// The directory of an editable install's project (tree path), from its direct_url.json
/// (`file:///app`).
fn editable_project(tree: &Tree, d: &crate::attribute::python::Dist) -> Option<Vec<u8>> {
    let du = tree.children(d.meta_dir).into_iter().find(|&c| &*tree.nodes[c as usize].name == b"direct_url.json")?;
    let v: serde_json::Value = serde_json::from_slice(tree.contents.get(&du)?).ok()?;
    let url = v["url"].as_str()?.strip_prefix("file://")?;
    let dir = crate::layers::tree::lexical(url.as_bytes());
    (!dir.is_empty()).then_some(dir)
}

/// Names to look for when deciding whether anything mentions a distribution: its top-level
/// modules and its name (both spellings).
pub fn names_of(attribution: &Attribution, d: usize, tops: &HashMap<usize, Vec<String>>) -> Vec<String> {
    let mut v: Vec<String> = tops.get(&d).cloned().unwrap_or_default();
    let n = &attribution.dists[d].name;
    v.push(n.clone());
    v.push(n.replace('-', "_"));
    let mut seen = HashSet::new();
    v.retain(|x| seen.insert(x.clone()));
    v
}
