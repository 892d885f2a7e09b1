//! Apply findings' actions to a parsed Dockerfile. Fixes are splices at byte spans of the
//! commands the shell reads (see `shell`); a build toolchain that compiled something is moved
//! into a builder stage, which rewrites the final stage from its instructions' own text.
//! Every change is tied to its finding, and a change whose edits collide with another's is
//! taken back whole and reported as not applied: what the report lists is what was written.

use super::shell::{Cmd, Word, word_removal};
use super::{Form, Parsed, Step, parse};
use crate::facts::Analyzed;
use crate::model::analysis::{Action, Finding};
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::{Path, PathBuf};

/// What happened to one finding.
#[derive(Debug, Clone)]
pub struct Change {
    /// Index into `analysis.findings`.
    pub finding: usize,
    pub applied: bool,
    /// What was changed, or why not.
    pub what: String,
    /// Dockerfile lines touched (of the original).
    pub lines: Vec<usize>,
    /// The edits made, for a reviewer and for the check that each is in the output.
    pub records: Vec<Record>,
    /// Layers of the steps this change edited: the only layers whose bytes it may save.
    pub layers: Vec<u64>,
    /// Layers whose step the output's final stage no longer has and whose files nothing copies
    /// in: every byte of them goes (a toolchain's apt RUN moved into a builder stage).
    pub dropped: Vec<u64>,
}

/// One edit as written: which output file, what text went in, what text went out.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// `Dockerfile`, `.dockerignore`, or the path of a rewritten requirements file.
    pub file: String,
    pub removed: String,
    pub inserted: String,
}

#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub dockerfile: String,
    /// The new .dockerignore, when patterns were added.
    pub dockerignore: Option<String>,
    /// Rewritten requirements files: (path in the build context, content).
    pub requirements: Vec<(PathBuf, String)>,
    /// Edited project files to write beside the output (`pyproject.slim.toml`): their lock
    /// must be regenerated before they can build.
    pub projects: Vec<(String, String)>,
    pub changes: Vec<Change>,
}

/// What the rewrite may do besides editing the Dockerfile.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// A .dockerignore will be written (changes that need one are applied only then).
    pub dockerignore: bool,
    /// Where rewritten requirements files go, inside the build context (default: beside the
    /// file they replace).
    pub requirements_dir: Option<PathBuf>,
}

#[derive(Debug, Clone)]
struct Edit {
    span: Range<usize>,
    text: String,
    finding: usize,
}

/// An installer command, read from its words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tool {
    /// pip / pip3 / python -m pip install, and `uv pip install`.
    Pip { uv: bool },
    /// `uv add`, `poetry add`, `pipx install`: named packages, no requirements files.
    Add,
    /// `uv sync`, `poetry install`, `pdm install`: everything comes from a lockfile.
    Lock,
    Apt,
}

#[derive(Debug, Clone)]
struct Install {
    tool: Tool,
    /// Index of the subcommand word (`install`, `sync`, `add`).
    verb: usize,
    /// Positional package arguments (word indices).
    pkgs: Vec<usize>,
    /// `-r FILE` values (word indices).
    reqfiles: Vec<usize>,
    /// `-e`/local-path targets and other inputs that keep the command meaningful.
    others: usize,
}

/// pip options that take a value (the next word, unless written `--opt=value`).
const PIP_VALUE_OPTS: &[&str] = &[
    "-r", "--requirement", "-c", "--constraint", "-e", "--editable", "-i", "--index-url", "--extra-index-url", "-f", "--find-links", "-t", "--target",
    "--prefix", "--root", "--trusted-host", "--platform", "--python-version", "--implementation", "--abi", "--src", "--upgrade-strategy", "--progress-bar",
    "--log", "--cache-dir", "--proxy", "--retries", "--timeout", "--exists-action", "--cert", "--client-cert", "--global-option", "--config-settings", "-C",
    "--no-binary", "--only-binary", "--python", "-p", "--index-strategy", "--extra", "--group", "--keyring-provider", "--resolution", "--prerelease",
    "--link-mode", "--index", "--default-index", "--torch-backend", "--exclude-newer", "--report", "--root-user-action", "--build-constraint",
    "--override", "--overrides", "--refresh-package", "--reinstall-package", "--upgrade-package", "-P", "--with", "--python-platform", "--pip-args",
];
const APT_VALUE_OPTS: &[&str] = &["-o", "--option", "-t", "--target-release", "-c", "--config-file"];

/// Words after wrappers (`sudo`, `env A=b`, `exec`, `time`).
fn skip_wrappers(c: &Cmd) -> usize {
    let mut i = 0;
    while let Some(w) = c.words.get(i) {
        match w.text() {
            "sudo" | "exec" | "time" | "nice" | "command" => i += 1,
            "env" => {
                i += 1;
                while c.words.get(i).is_some_and(|w| w.text().contains('=') || w.text().starts_with('-')) {
                    i += 1;
                }
            }
            _ => break,
        }
    }
    i
}

fn base_name(w: &Word) -> &str {
    w.text().rsplit('/').next().unwrap_or("")
}

fn is_python(s: &str) -> bool {
    s == "python" || s.strip_prefix("python").is_some_and(|v| v.chars().all(|c| c.is_ascii_digit() || c == '.'))
}

fn is_pip(s: &str) -> bool {
    s == "pip" || s.strip_prefix("pip").is_some_and(|v| v.chars().all(|c| c.is_ascii_digit() || c == '.'))
}

/// Read an installer command.
fn install_of(c: &Cmd) -> Option<Install> {
    let w = &c.words;
    let mut i = skip_wrappers(c);
    let first = base_name(w.get(i)?).to_string();
    // python -m pip|uv ...
    if is_python(&first) && w.get(i + 1).is_some_and(|x| x.is("-m")) {
        i += 2;
    }
    let head = w.get(i).map(base_name).unwrap_or("").to_string();
    let (tool, verb) = if is_pip(&head) && w.get(i + 1).is_some_and(|x| x.is("install")) {
        (Tool::Pip { uv: false }, i + 1)
    } else if head == "uv" && w.get(i + 1).is_some_and(|x| x.is("pip")) && w.get(i + 2).is_some_and(|x| x.is("install")) {
        (Tool::Pip { uv: true }, i + 2)
    } else if (head == "uv" || head == "poetry" || head == "pdm") && w.get(i + 1).is_some_and(|x| x.is("add")) {
        (Tool::Add, i + 1)
    } else if head == "pipx" && w.get(i + 1).is_some_and(|x| x.is("install")) {
        (Tool::Add, i + 1)
    } else if (head == "uv" && w.get(i + 1).is_some_and(|x| x.is("sync"))) || ((head == "poetry" || head == "pdm") && w.get(i + 1).is_some_and(|x| x.is("install") || x.is("sync"))) {
        (Tool::Lock, i + 1)
    } else if matches!(head.as_str(), "apt-get" | "apt") {
        // apt-get [-y -q ...] install
        let k = (i + 1..w.len()).take(4).find(|&k| w[k].is("install"))?;
        if w[i + 1..k].iter().any(|x| !x.text().starts_with('-')) {
            return None;
        }
        (Tool::Apt, k)
    } else {
        return None;
    };
    let opts = if tool == Tool::Apt { APT_VALUE_OPTS } else { PIP_VALUE_OPTS };
    let mut inst = Install { tool, verb, pkgs: vec![], reqfiles: vec![], others: 0 };
    let mut k = verb + 1;
    while k < w.len() {
        let t = w[k].text();
        if t.starts_with('-') {
            let (name, inline) = match t.split_once('=') {
                Some((n, _)) => (n, true),
                None => (t, false),
            };
            if opts.contains(&name) {
                let takes = !inline;
                if matches!(name, "-r" | "--requirement") {
                    if takes {
                        inst.reqfiles.push(k + 1);
                    } else {
                        inst.reqfiles.push(k);
                    }
                }
                if matches!(name, "-e" | "--editable") {
                    inst.others += 1;
                }
                k += if takes { 2 } else { 1 };
                continue;
            }
            k += 1;
            continue;
        }
        if tool != Tool::Apt && (t.starts_with('.') || t.starts_with('/') || t.contains("://") || t.ends_with(".whl") || t.ends_with(".tar.gz")) {
            // A local project, a wheel file or a URL: kept as it is.
            inst.others += 1;
        } else {
            inst.pkgs.push(k);
        }
        k += 1;
    }
    Some(inst)
}

/// Requirement name of a pip argument (`torch==2.5.1`, `opencv-python[extra]>=4`).
fn req_name(word: &str) -> String {
    let n: String = word.trim().chars().take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')).collect();
    crate::attribute::python::normalize_name(&n)
}

fn name_len(word: &str) -> usize {
    word.chars().take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')).count()
}

fn line_start(text: &str, off: usize) -> usize {
    text[..off].rfind('\n').map_or(0, |i| i + 1)
}

/// The whole instruction with its line ending, for removing a step.
fn step_removal(text: &str, s: &Step) -> Range<usize> {
    let start = line_start(text, s.span.start);
    let end = text[s.span.end..].find('\n').map_or(text.len(), |i| s.span.end + i + 1);
    start..end
}

fn cmds(s: &Step) -> &[Cmd] {
    match s.script.as_ref().map(|x| &x.cmds) {
        Some(Ok(c)) => c,
        _ => &[],
    }
}

/// Commands that only refresh or clean apt's state: a RUN left with nothing else does nothing.
fn idle(c: &Cmd) -> bool {
    let t: Vec<&str> = c.words.iter().map(|w| w.text()).collect();
    matches!(t.as_slice(), ["apt-get" | "apt", "update", ..] | ["apt-get" | "apt", "clean", ..] | ["apt-get" | "apt", "autoremove", ..])
        || (t.first() == Some(&"rm") && t[1..].iter().all(|w| w.starts_with('-') || w.starts_with("/var/lib/apt/lists") || w.starts_with("/var/cache/apt")))
}

/// Edits that take `gone` commands out of step `s`: the whole step when nothing useful stays.
fn remove_cmds(text: &str, s: &Step, gone: &BTreeSet<usize>, finding: usize, edits: &mut Vec<Edit>) -> Result<(), String> {
    let all = cmds(s);
    let rest: Vec<&Cmd> = all.iter().enumerate().filter(|(k, _)| !gone.contains(k)).map(|(_, c)| c).collect();
    if rest.iter().all(|c| idle(c)) {
        edits.push(Edit { span: step_removal(text, s), text: String::new(), finding });
        return Ok(());
    }
    for &k in gone {
        let c = &all[k];
        let Some(r) = c.removal.clone() else {
            return Err(format!("`{}` is inside a pipeline or a compound command", c.words.iter().map(|w| w.raw.as_str()).collect::<Vec<_>>().join(" ")));
        };
        edits.push(Edit { span: r, text: String::new(), finding });
    }
    Ok(())
}

/// Normalise an absolute path: no `.`, no `..`, no trailing slash.
fn norm(p: &str) -> String {
    super::parse::normalise_path(p)
}

fn abs_at(wd: &str, p: &str) -> String {
    super::parse::resolve(wd, p)
}

/// Absolute destination of a COPY.
fn dest_abs(wd: &str, c: &super::CopyArgs) -> String {
    abs_at(wd, &c.dest)
}

/// The build-context path a COPY brought to image path `abs`, when one can tell.
fn context_path(ctx: &Path, c: &super::CopyArgs, dest: &str, abs: &str) -> Option<String> {
    for src in &c.sources {
        let src = src.trim_end_matches('/').trim_start_matches("./");
        let src = if src == "." { "" } else { src };
        if src.contains(['*', '?', '[']) || src.starts_with("<<") {
            continue;
        }
        if !src.is_empty() && ctx.join(src).is_file() {
            let name = src.rsplit('/').next().unwrap_or(src);
            if abs == dest || abs == format!("{}/{name}", dest.trim_end_matches('/')) {
                return Some(src.to_string());
            }
            continue;
        }
        let rest = if abs == dest { "" } else { abs.strip_prefix(dest).and_then(|r| r.strip_prefix('/')).or_else(|| (dest == "/").then(|| abs.trim_start_matches('/')))? };
        return Some(match (src.is_empty(), rest.is_empty()) {
            (true, _) => rest.to_string(),
            (false, true) => src.to_string(),
            (false, false) => format!("{src}/{rest}"),
        })
        .filter(|s| !s.is_empty());
    }
    None
}

/// The COPY from the build context (its step index) that put `abs` in the image last before
/// step `before`, in the stage of step `si`, with the context path it came from.
fn copied_from_context<'p>(p: &'p Parsed, ctx: &Path, abs: &str, si: usize, before: usize) -> Option<(usize, &'p super::CopyArgs, String)> {
    let start = p.stages[p.steps[si].stage].steps.start;
    (start..before).rev().find_map(|k| {
        let c = p.steps[k].copy.as_ref().filter(|c| !c.from_stage)?;
        let rel = context_path(ctx, c, &dest_abs(&p.steps[k].workdir, c), abs)?;
        Some((k, c, rel))
    })
}

/// Commands the `steps` run by name: the first word of every RUN command, CMD and ENTRYPOINT.
fn commands_run(p: &Parsed, steps: &[usize]) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    for s in steps.iter().map(|&k| &p.steps[k]) {
        for c in cmds(s) {
            let i = skip_wrappers(c);
            if let Some(w) = c.words.get(i) {
                out.push((base_name(w).to_string(), s.line));
                // `python -m NAME` runs a module of that name.
                if is_python(base_name(w)) && c.words.get(i + 1).is_some_and(|x| x.is("-m")) {
                    if let Some(m) = c.words.get(i + 2) {
                        out.push((m.text().to_string(), s.line));
                    }
                }
            }
        }
        if matches!(s.keyword.as_str(), "CMD" | "ENTRYPOINT") {
            let body = p.text[s.span.clone()][s.keyword.len()..].trim();
            let first = if body.starts_with('[') {
                serde_json::from_str::<Vec<String>>(body).ok().and_then(|v| v.into_iter().next())
            } else {
                body.split_whitespace().next().map(str::to_string)
            };
            if let Some(f) = first {
                out.push((f.rsplit('/').next().unwrap_or(&f).to_string(), s.line));
            }
        }
    }
    out
}

/// Commands a distribution installs: console scripts and files in a `bin/` directory.
fn commands_of(a: &Analyzed, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for d in a.attribution.dists.iter().filter(|d| d.name == name) {
        let mut in_scripts = false;
        for l in d.entry_points.lines() {
            let l = l.trim();
            if l.starts_with('[') {
                in_scripts = l == "[console_scripts]" || l == "[gui_scripts]";
            } else if in_scripts {
                if let Some((n, _)) = l.split_once('=') {
                    out.push(n.trim().to_string());
                }
            }
        }
        for &f in &d.files {
            let path = a.tree.path(f);
            let path = String::from_utf8_lossy(&path);
            if let Some((dir, file)) = path.rsplit_once('/') {
                if dir.ends_with("/bin") {
                    out.push(file.to_string());
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// One finding's part of the rewrite before the edits are spliced.
#[derive(Default)]
struct Planned {
    edits: Vec<Edit>,
    ignore: Vec<String>,
    /// Requirements files: context path → (line index → replacement, `None` to drop it).
    req_lines: BTreeMap<String, BTreeMap<usize, Option<String>>>,
    what: Vec<String>,
    lines: Vec<usize>,
    steps: BTreeSet<usize>,
    not: Option<String>,
    multi_stage: Option<Vec<String>>,
    /// A project file to write beside the output.
    project: Option<(String, String)>,
}

impl Planned {
    fn no(why: impl Into<String>) -> Self {
        Planned { not: Some(why.into()), ..Planned::default() }
    }
}

struct Cx<'a> {
    p: &'a Parsed,
    a: &'a Analyzed,
    text: &'a str,
    context: &'a Path,
    opts: &'a Options,
    /// The final stage's steps.
    fin: Range<usize>,
    /// The final stage's steps and those of the stages it copies from or builds on: where what
    /// ships was installed.
    reach: Vec<usize>,
}

impl Cx<'_> {
    /// Steps of the final stage that made the finding's layers (all RUN steps if none).
    fn steps_for(&self, f: &Finding) -> Vec<usize> {
        let mine: Vec<usize> = f.evidence.layers.iter().filter_map(|l| self.p.step_of_layer(l.index)).collect();
        if !mine.is_empty() {
            return mine;
        }
        self.fin.clone().filter(|&i| self.p.steps[i].keyword == "RUN").collect()
    }

    fn installs(&self, steps: &[usize]) -> Vec<(usize, usize, Install)> {
        let mut out = Vec::new();
        for &si in steps {
            for (ci, c) in cmds(&self.p.steps[si]).iter().enumerate() {
                if let Some(i) = install_of(c) {
                    out.push((si, ci, i));
                }
            }
        }
        out
    }

    /// What to delete to take argument `k` out of a command: in exec form, with its comma.
    fn arg_removal(&self, si: usize, c: &Cmd, k: usize) -> Range<usize> {
        let exec = self.p.steps[si].script.as_ref().is_some_and(|s| s.form == Form::Exec);
        if exec && k > 0 {
            return c.words[k - 1].span.end..c.words[k].span.end;
        }
        word_removal(self.text, &c.words[k].span)
    }

    fn all_steps(&self) -> Vec<usize> {
        self.fin.clone().collect()
    }

    fn line(&self, si: usize) -> usize {
        self.p.steps[si].line
    }

    /// Why a RUN's commands cannot be edited, if they cannot.
    fn unreadable(&self, si: usize) -> Option<String> {
        match self.p.steps[si].script.as_ref().map(|s| &s.cmds) {
            Some(Err(e)) => Some(format!("line {}: {e}", self.line(si))),
            _ => None,
        }
    }

    /// Requirements files of the installs in `steps`: (context path, its lines) for each `-r`
    /// whose file the final stage copied from the context.
    fn reqfiles(&self, steps: &[usize]) -> Vec<(usize, String, Vec<String>)> {
        let mut out = Vec::new();
        for (si, ci, inst) in self.installs(steps) {
            let c = &cmds(&self.p.steps[si])[ci];
            for &k in &inst.reqfiles {
                let Some(w) = c.words.get(k) else { continue };
                let v = w.text();
                let v = v.split_once('=').filter(|_| v.starts_with('-')).map_or(v, |(_, x)| x);
                let abs = abs_at(&self.p.steps[si].workdir, v);
                let Some((_, _, rel)) = copied_from_context(self.p, self.context, &abs, si, si) else { continue };
                let Ok(body) = std::fs::read_to_string(self.context.join(&rel)) else { continue };
                if !out.iter().any(|(_, r, _): &(usize, String, Vec<String>)| *r == rel) {
                    out.push((si, rel, body.lines().map(str::to_string).collect()));
                }
            }
        }
        out
    }

    fn plan(&self, fi: usize, f: &Finding) -> Planned {
        match &f.fix.action {
            Action::AdviceOnly => Planned::no("advice only: no change to the Dockerfile can make it"),
            Action::PipNoCacheDir => self.no_cache(fi, f),
            Action::AptCleanup => self.apt_cleanup(fi, f),
            Action::NoBytecode => self.no_bytecode(fi, f),
            Action::PipIndexUrl { packages, index_url } => self.index_url(fi, packages, index_url),
            Action::PackageSwap { from, to } => self.swap(fi, from, to),
            Action::DropPackage { name } => self.drop_package(fi, name),
            Action::MergeRuns { create_layer, delete_layer } => self.merge_runs(fi, f, *create_layer, *delete_layer),
            Action::CopyChown { layer } => self.copy_chown(fi, *layer),
            Action::DropToolchain { packages, multi_stage } => {
                if *multi_stage {
                    Planned { multi_stage: Some(packages.clone()), ..Planned::default() }
                } else {
                    self.drop_toolchain(fi, packages)
                }
            }
            Action::Dockerignore { patterns } => {
                if !self.opts.dockerignore {
                    return Planned::no("needs a .dockerignore, and none is written (give -o or --dockerignore FILE)");
                }
                let copies_context = self.p.steps[self.fin.clone()].iter().any(|s| s.copy.as_ref().is_some_and(|c| !c.from_stage));
                if !copies_context {
                    return Planned::no("the final stage copies nothing from the build context");
                }
                // What the patterns keep out came in through the COPY steps from the context.
                let steps = self.fin.clone().filter(|&k| self.p.steps[k].copy.as_ref().is_some_and(|c| !c.from_stage)).collect();
                Planned { ignore: patterns.clone(), steps, what: vec![format!(".dockerignore: {}", patterns.join(", "))], ..Planned::default() }
            }
            Action::DropModel { model, layer, paths, step_brings_only_it, wanted } => self.drop_model(fi, model, *layer, paths, *step_brings_only_it, wanted),
        }
    }

    /// A baked model nothing names: the step that brings only it goes; otherwise a COPY's
    /// source goes to the .dockerignore, or a RUN loses the command that downloads it.
    fn drop_model(&self, fi: usize, model: &str, layer: u64, paths: &[String], only: bool, wanted: &str) -> Planned {
        let p = self.p;
        let Some(si) = p.step_of_layer(layer) else {
            return Planned::no("the layer that bakes it is not a step of this Dockerfile's final stage");
        };
        let s = &p.steps[si];
        let bring = format!("the app loads {wanted}: download it when the container starts into a cache on a volume, or mount it");
        let mut pl = Planned::default();
        pl.steps.insert(si);
        pl.lines.push(s.line);
        if only {
            pl.edits.push(Edit { span: step_removal(self.text, s), text: String::new(), finding: fi });
            pl.what.push(format!("removed the step that bakes {model} ({bring})"));
            return pl;
        }
        match (s.keyword.as_str(), s.copy.as_ref()) {
            (_, Some(c)) if !c.from_stage => {
                if !self.opts.dockerignore {
                    return Planned::no("needs a .dockerignore, and none is written (give -o or --dockerignore FILE)");
                }
                let rels: Option<Vec<String>> = paths.iter().map(|a| copied_from_context(p, self.context, &norm(a), si, si + 1).filter(|(k, _, _)| *k == si).map(|(_, _, r)| r)).collect();
                let Some(rels) = rels.filter(|r| !r.is_empty()) else {
                    return Planned::no(format!("line {}: the model's files cannot be traced to paths of the build context", s.line));
                };
                pl.ignore = rels;
                pl.what.push(format!("{model} kept out of the build context (.dockerignore) ({bring})"));
                pl
            }
            ("RUN", _) => {
                if let Some(e) = self.unreadable(si) {
                    return Planned::no(e);
                }
                let gone: BTreeSet<usize> = cmds(s).iter().enumerate().filter(|(_, c)| c.words.iter().any(|w| w.text().contains(model))).map(|(k, _)| k).collect();
                if gone.is_empty() {
                    return Planned::no(format!("line {}: no command of the step names {model}", s.line));
                }
                if let Err(e) = remove_cmds(self.text, s, &gone, fi, &mut pl.edits) {
                    return Planned::no(format!("line {}: {e}", s.line));
                }
                pl.what.push(format!("removed the download of {model} ({bring})"));
                pl
            }
            _ => Planned::no(format!("line {}: a COPY from another stage brings more than the model", s.line)),
        }
    }

    fn no_cache(&self, fi: usize, f: &Finding) -> Planned {
        let mut pl = Planned::default();
        let uv_cache = f.evidence.paths.iter().any(|p| p.contains("/.cache/uv"));
        for (si, ci, inst) in self.installs(&self.steps_for(f)) {
            let c = &cmds(&self.p.steps[si])[ci];
            let flag = match inst.tool {
                Tool::Pip { uv: false } => "--no-cache-dir",
                Tool::Pip { uv: true } | Tool::Lock | Tool::Add if uv_cache && self.p.text[c.span.clone()].contains("uv") => "--no-cache",
                _ => continue,
            };
            if c.words.iter().any(|w| w.is(flag)) {
                continue;
            }
            let at = c.words[inst.verb].span.end;
            pl.edits.push(Edit { span: at..at, text: format!(" {flag}"), finding: fi });
            pl.steps.insert(si);
            pl.lines.push(self.line(si));
            if !pl.what.iter().any(|w| w.ends_with(flag)) {
                pl.what.push(format!("install with {flag}"));
            }
        }
        if pl.edits.is_empty() {
            pl.not = Some("no pip or uv install in the steps that wrote the cache lacks the flag".into());
        }
        pl
    }

    fn apt_cleanup(&self, fi: usize, f: &Finding) -> Planned {
        let mut pl = Planned::default();
        for si in self.steps_for(f) {
            let s = &self.p.steps[si];
            if !cmds(s).iter().any(|c| install_of(c).is_some_and(|i| i.tool == Tool::Apt) || c.words.iter().take(2).any(|w| w.is("update"))) {
                continue;
            }
            if let Some(e) = self.unreadable(si) {
                pl.not = Some(e);
                continue;
            }
            let script = s.script.as_ref().unwrap();
            let t = &self.p.text[s.span.clone()];
            if t.contains("/var/lib/apt/lists/*") && cmds(s).iter().any(|c| c.name() == "rm") {
                continue;
            }
            let Some(at) = script.append_at else {
                pl.not = Some(format!("line {}: an exec-form RUN has no shell to clean up in", s.line));
                continue;
            };
            let add = match script.form {
                Form::Heredoc => "\napt-get clean && rm -rf /var/lib/apt/lists/*".to_string(),
                _ => " \\\n && apt-get clean && rm -rf /var/lib/apt/lists/*".to_string(),
            };
            pl.edits.push(Edit { span: at..at, text: add, finding: fi });
            pl.steps.insert(si);
            pl.lines.push(s.line);
        }
        if pl.edits.is_empty() && pl.not.is_none() {
            pl.not = Some("no RUN with apt-get among the steps that left the lists".into());
        } else if !pl.edits.is_empty() {
            pl.not = None;
            pl.what.push("apt-get clean and rm -rf /var/lib/apt/lists/* at the end of the RUN that installs (--no-install-recommends is not added: it would change which packages are installed)".into());
        }
        pl
    }

    fn no_bytecode(&self, fi: usize, f: &Finding) -> Planned {
        let text = self.text;
        if text.contains("PYTHONDONTWRITEBYTECODE") {
            return Planned::no("PYTHONDONTWRITEBYTECODE is already set");
        }
        let p = self.p;
        let from = &p.last().from;
        let at = text[from.end..].find('\n').map_or(text.len(), |i| from.end + i + 1);
        let mut pl = Planned::default();
        pl.edits.push(Edit { span: at..at, text: format!("# slim: {} {}\nENV PYTHONDONTWRITEBYTECODE=1\n", f.id, f.rule), finding: fi });
        pl.lines.push(super::line_of(text, from.start));
        pl.steps.extend(self.all_steps());
        pl.what.push("ENV PYTHONDONTWRITEBYTECODE=1".into());
        pl
    }

    fn index_url(&self, fi: usize, packages: &[String], index_url: &str) -> Planned {
        let a = self.a;
        let pins: Vec<String> = packages
            .iter()
            .map(|n| match a.attribution.dists.iter().find(|d| &d.name == n) {
                Some(d) => format!("{n}=={}", d.version.split('+').next().unwrap_or(&d.version)),
                None => n.clone(),
            })
            .collect();
        let all = self.installs(&self.all_steps());
        // A lockfile install decides the environment: a pip install of CPU torch beside it
        // (into the system, or before `uv sync` replaces it) would not change what ships.
        let pip = all.iter().find(|(_, _, i)| matches!(i.tool, Tool::Pip { .. })).cloned().filter(|_| !all.iter().any(|(_, _, i)| i.tool == Tool::Lock));
        let Some((si, ci, inst)) = pip else {
            if let Some((si, ci, _)) = all.iter().find(|(_, _, i)| i.tool == Tool::Lock) {
                let c = &cmds(&self.p.steps[*si])[*ci];
                let poetry = c.words.iter().any(|w| base_name(w) == "poetry");
                let lock = if poetry { "poetry lock" } else { "uv lock" };
                let mut pl = Planned::no(format!("line {}: the packages come from a lockfile, which pins the CUDA build", self.line(*si)));
                match self.pyproject_for_cpu(&pins, index_url, poetry) {
                    Ok(body) => {
                        pl.not = Some(format!(
                            "line {}: the packages come from a lockfile, which pins the CUDA build: wrote pyproject.slim.toml beside the output, with {} from {index_url}; copy it over pyproject.toml and run `{lock}` to regenerate the lock before building (the Dockerfile is unchanged)",
                            self.line(*si),
                            pins.join(" ")
                        ));
                        pl.project = Some(("pyproject.slim.toml".into(), body));
                    }
                    Err(e) => pl.not = Some(format!("line {}: the packages come from a lockfile, and pyproject.toml could not be edited: {e}", self.line(*si))),
                }
                return pl;
            }
            return Planned::no("no pip install in the final stage");
        };
        let c = &cmds(&self.p.steps[si])[ci];
        let start = c.words[skip_wrappers(c)].span.start;
        let pip: Vec<&str> = c.words[skip_wrappers(c)..inst.verb].iter().map(|w| w.raw.as_str()).collect();
        let mut pl = Planned::default();
        let cache = if matches!(inst.tool, Tool::Pip { uv: true }) { "--no-cache" } else { "--no-cache-dir" };
        let text = format!("{} install {cache} {} --index-url {index_url} \\\n && ", pip.join(" "), pins.join(" "));
        pl.edits.push(Edit { span: start..start, text, finding: fi });
        // The CUDA build may have come in through any of the installs.
        pl.steps.extend(all.iter().map(|(s, _, _)| *s));
        pl.lines.push(self.line(si));
        pl.what.push(format!("install {} from {index_url} first", pins.join(" ")));
        pl
    }

    /// The project's pyproject.toml with the CPU wheels' index for `pins` (uv: an explicit
    /// `[[tool.uv.index]]` and `[tool.uv.sources]`; poetry: an explicit source).
    fn pyproject_for_cpu(&self, pins: &[String], index_url: &str, poetry: bool) -> Result<String, String> {
        let rel = self
            .fin
            .clone()
            .find_map(|k| {
                let c = self.p.steps[k].copy.as_ref().filter(|c| !c.from_stage)?;
                c.sources.iter().find(|s| s.trim_end_matches('/').rsplit('/').next() == Some("pyproject.toml")).map(|s| s.trim_start_matches("./").to_string()).or_else(|| {
                    let wd = &self.p.steps[k].workdir;
                    context_path(self.context, c, &dest_abs(wd, c), &abs_at(wd, "pyproject.toml"))
                })
            })
            .unwrap_or_else(|| "pyproject.toml".into());
        let text = std::fs::read_to_string(self.context.join(&rel)).map_err(|e| format!("{rel}: {e}"))?;
        let mut doc: toml_edit::DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| format!("{rel}: {}", e.to_string().lines().next().unwrap_or("")))?;
        let name = "pytorch-cpu";
        let mut index = toml_edit::Table::new();
        index["name"] = toml_edit::value(name);
        index["url"] = toml_edit::value(index_url);
        let tool = doc.entry("tool").or_insert(toml_edit::table()).as_table_mut().ok_or("[tool] is not a table")?;
        tool.set_implicit(true);
        if poetry {
            index["priority"] = toml_edit::value("explicit");
            let p = tool.entry("poetry").or_insert(toml_edit::table()).as_table_mut().ok_or("[tool.poetry] is not a table")?;
            let sources = p.entry("source").or_insert(toml_edit::Item::ArrayOfTables(toml_edit::ArrayOfTables::new()));
            sources.as_array_of_tables_mut().ok_or("tool.poetry.source is not an array of tables")?.push(index);
            let deps = p.entry("dependencies").or_insert(toml_edit::table()).as_table_mut().ok_or("[tool.poetry.dependencies] is not a table")?;
            for pin in pins {
                let (n, v) = pin.split_once("==").unwrap_or((pin, "*"));
                let mut t = toml_edit::InlineTable::new();
                t.insert("version", v.into());
                t.insert("source", name.into());
                deps[n] = toml_edit::value(t);
            }
        } else {
            index["explicit"] = toml_edit::value(true);
            let uv = tool.entry("uv").or_insert(toml_edit::table()).as_table_mut().ok_or("[tool.uv] is not a table")?;
            uv.set_implicit(true);
            let idx = uv.entry("index").or_insert(toml_edit::Item::ArrayOfTables(toml_edit::ArrayOfTables::new()));
            idx.as_array_of_tables_mut().ok_or("tool.uv.index is not an array of tables")?.push(index);
            let sources = uv.entry("sources").or_insert(toml_edit::table()).as_table_mut().ok_or("[tool.uv.sources] is not a table")?;
            for pin in pins {
                let n = pin.split_once("==").map_or(pin.as_str(), |(n, _)| n);
                let mut t = toml_edit::InlineTable::new();
                t.insert("index", name.into());
                let mut arr = toml_edit::Array::new();
                arr.push(t);
                sources[n] = toml_edit::value(arr);
            }
        }
        Ok(doc.to_string())
    }

    /// Requirement arguments naming `name` in installs of the final stage.
    fn args_naming(&self, name: &str) -> Vec<(usize, usize, Install, usize)> {
        let mut out = Vec::new();
        for (si, ci, inst) in self.installs(&self.all_steps()) {
            let c = &cmds(&self.p.steps[si])[ci];
            for &k in &inst.pkgs {
                if req_name(c.words[k].text()) == name {
                    out.push((si, ci, inst.clone(), k));
                }
            }
        }
        out
    }

    fn swap(&self, fi: usize, from: &str, to: &str) -> Planned {
        let from_n = req_name(from);
        let mut pl = Planned::default();
        for (si, ci, _, k) in self.args_naming(&from_n) {
            let w = &cmds(&self.p.steps[si])[ci].words[k];
            let n = name_len(&w.raw.trim_start_matches(['"', '\'']));
            let start = w.span.start + (w.raw.len() - w.raw.trim_start_matches(['"', '\'']).len());
            pl.edits.push(Edit { span: start..start + n, text: to.to_string(), finding: fi });
            pl.steps.insert(si);
            pl.lines.push(self.line(si));
        }
        for (si, rel, lines) in self.reqfiles(&self.all_steps()) {
            for (i, l) in lines.iter().enumerate() {
                let t = l.trim();
                if !t.starts_with('#') && !t.starts_with('-') && !t.is_empty() && req_name(t) == from_n {
                    let n = name_len(t);
                    pl.req_lines.entry(rel.clone()).or_default().insert(i, Some(format!("{to}{}", &t[n..])));
                    pl.steps.insert(si);
                    pl.lines.push(self.line(si));
                }
            }
        }
        if pl.edits.is_empty() && pl.req_lines.is_empty() {
            return Planned::no(format!("{from} is not named in an install command or a requirements file the final stage copies"));
        }
        pl.what.push(format!("{from} → {to}"));
        pl
    }

    fn drop_package(&self, fi: usize, name: &str) -> Planned {
        let n = req_name(name);
        let provided = commands_of(self.a, &n);
        if let Some((cmd, line)) = commands_run(self.p, &self.reach).into_iter().find(|(c, _)| provided.contains(c)) {
            return Planned::no(format!("{name} provides `{cmd}`, which line {line} runs"));
        }
        let mut pl = Planned::default();
        // Per command: the package words to drop.
        // What only it pulls in goes with it: an install line that names those too loses them.
        let mut names = vec![n.clone()];
        if let Some(row) = self.a.analysis.unused_packages.iter().find(|u| req_name(&u.name) == n) {
            names.extend(row.pulls_in.iter().map(|x| req_name(x)));
        }
        let mut per_cmd: BTreeMap<(usize, usize), (Install, Vec<usize>)> = BTreeMap::new();
        for nm in &names {
            for (si, ci, inst, k) in self.args_naming(nm) {
                per_cmd.entry((si, ci)).or_insert_with(|| (inst, vec![])).1.push(k);
            }
        }
        let mut emptied: BTreeMap<usize, BTreeSet<usize>> = BTreeMap::new();
        for ((si, ci), (inst, ks)) in &per_cmd {
            let c = &cmds(&self.p.steps[*si])[*ci];
            pl.steps.insert(*si);
            pl.lines.push(self.line(*si));
            if ks.len() == inst.pkgs.len() && inst.reqfiles.is_empty() && inst.others == 0 {
                emptied.entry(*si).or_default().insert(*ci);
            } else {
                for &k in ks {
                    pl.edits.push(Edit { span: self.arg_removal(*si, c, k), text: String::new(), finding: fi });
                }
            }
        }
        for (si, gone) in &emptied {
            if let Err(e) = remove_cmds(self.text, &self.p.steps[*si], gone, fi, &mut pl.edits) {
                return Planned::no(format!("line {}: {e}", self.line(*si)));
            }
        }
        for (si, rel, lines) in self.reqfiles(&self.all_steps()) {
            for (i, l) in lines.iter().enumerate() {
                let t = l.trim();
                if !t.starts_with('#') && !t.starts_with('-') && !t.is_empty() && names.contains(&req_name(t)) {
                    pl.req_lines.entry(rel.clone()).or_default().insert(i, None);
                    pl.steps.insert(si);
                    pl.lines.push(self.line(si));
                }
            }
        }
        if pl.edits.is_empty() && pl.req_lines.is_empty() {
            let locked = self.installs(&self.all_steps()).into_iter().find(|(_, _, i)| i.tool == Tool::Lock);
            return Planned::no(match locked {
                Some((si, _, _)) => format!("line {}: {name} comes from a lockfile; remove it from pyproject.toml's dependencies and regenerate the lock (uv lock / poetry lock)", self.line(si)),
                None => format!("{name} is not named in an install command or a requirements file the final stage copies (another package pulls it in)"),
            });
        }
        pl.what.push(if emptied.is_empty() { format!("removed {name} from the install") } else { format!("removed {name}; an install left with nothing to install goes") });
        pl
    }

    fn merge_runs(&self, fi: usize, _f: &Finding, create_layer: u64, delete_layer: u64) -> Planned {
        let p = self.p;
        let (Some(ci), Some(di)) = (p.step_of_layer(create_layer), p.step_of_layer(delete_layer)) else {
            return Planned::no("the layers are not steps of this Dockerfile's final stage");
        };
        if let Some(e) = self.unreadable(di) {
            return Planned::no(e);
        }
        let ds = &p.steps[di];
        let rms: Vec<(usize, &Cmd)> = cmds(ds).iter().enumerate().filter(|(_, c)| c.name() == "rm").collect();
        if rms.is_empty() {
            return Planned::no(format!("line {}: no rm command in the deleting step", ds.line));
        }
        let targets = |c: &Cmd| -> Option<Vec<String>> { c.words[1..].iter().filter(|w| !w.text().starts_with('-')).map(|w| w.value.clone().map(|v| abs_at(&self.p.steps[di].workdir, &v))).collect() };
        let mut pl = Planned::default();
        let cs = &p.steps[ci];
        let mut gone = BTreeSet::new();
        let mut moved = Vec::new();
        match (&cs.keyword[..], cs.copy.as_ref()) {
            ("RUN", _) => {
                let Some(at) = cs.script.as_ref().and_then(|s| s.append_at).filter(|_| self.unreadable(ci).is_none()) else {
                    return Planned::no(format!("line {}: the creating RUN cannot take another command", cs.line));
                };
                for (k, c) in &rms {
                    gone.insert(*k);
                    moved.push(self.text[c.span.clone()].to_string());
                }
                let sep = if cs.script.as_ref().unwrap().form == Form::Heredoc { "\n" } else { " \\\n && " };
                pl.edits.push(Edit { span: at..at, text: format!("{sep}{}", moved.join(" && ")), finding: fi });
                pl.what.push(format!("moved `{}` into the RUN that creates the files", moved.join(" && ")));
            }
            (_, Some(c)) if !c.from_stage => {
                if !self.opts.dockerignore {
                    return Planned::no("the files come from the build context: this needs a .dockerignore, and none is written (give -o or --dockerignore FILE)");
                }
                for (k, rc) in &rms {
                    let Some(ts) = targets(rc) else { continue };
                    let rels: Option<Vec<String>> = ts.iter().map(|t| copied_from_context(p, self.context, t, di, di).filter(|(k, _, _)| *k == ci).map(|(_, _, r)| r)).collect();
                    let Some(rels) = rels else { continue };
                    gone.insert(*k);
                    moved.push(self.text[rc.span.clone()].to_string());
                    pl.ignore.extend(rels);
                }
                if gone.is_empty() {
                    return Planned::no(format!("line {}: what the rm deletes cannot be traced to paths of the build context", ds.line));
                }
                pl.what.push(format!("keep what `{}` deletes out of the build context (.dockerignore) and drop the rm", moved.join(" && ")));
            }
            _ => return Planned::no(format!("line {}: the creating step is neither a RUN nor a COPY from the build context", cs.line)),
        }
        if let Err(e) = remove_cmds(self.text, ds, &gone, fi, &mut pl.edits) {
            return Planned::no(format!("line {}: {e}", ds.line));
        }
        pl.steps.extend([ci, di]);
        pl.lines.extend([cs.line, ds.line]);
        pl
    }

    /// `chown -R U P`, `chmod -R 755 P`, `find P -exec chown U {} +`: (command, argument, paths).
    fn recursive_owner_change(c: &Cmd) -> Option<(&'static str, String, Vec<Option<String>>)> {
        let w: Vec<&Word> = c.words[skip_wrappers(c)..].iter().collect();
        let name = base_name(w.first()?);
        if name == "find" {
            let path = w.get(1)?;
            let ex = w.iter().position(|x| x.is("-exec") || x.is("-execdir"))?;
            if ex != 2 {
                return None; // tests like -type f: not what a COPY flag does
            }
            let inner = Cmd { span: c.span.clone(), words: w[ex + 1..].iter().map(|x| (*x).clone()).filter(|x| !x.is("{}") && !x.is(";") && !x.is("+") && !x.is("\\;")).collect(), removal: None, alone: false };
            let (k, arg, _) = Self::owner_change_args(&inner, true)?;
            return Some((k, arg, vec![path.value.clone()]));
        }
        Self::owner_change_args(c, false)
    }

    fn owner_change_args(c: &Cmd, recursive: bool) -> Option<(&'static str, String, Vec<Option<String>>)> {
        let w: Vec<&Word> = c.words[skip_wrappers(c)..].iter().collect();
        let kind = match base_name(w.first()?) {
            "chown" => "chown",
            "chgrp" => "chgrp",
            "chmod" => "chmod",
            _ => return None,
        };
        let mut rec = recursive;
        let mut rest = Vec::new();
        let mut k = 1;
        while k < w.len() {
            let t = w[k].text();
            if t == "-R" || t == "--recursive" {
                rec = true;
            } else if t.starts_with("--from=") || t == "-h" || t == "-v" || t == "-f" || t == "-c" || t == "--no-dereference" || t == "--verbose" || t == "--silent" {
            } else if t == "--from" {
                k += 1;
            } else if t.starts_with('-') && t.len() > 1 && t[1..].chars().all(|c| "Rhvfc".contains(c)) && kind != "chmod" {
                rec |= t.contains('R');
            } else if t.starts_with('-') && kind == "chmod" && t[1..].chars().all(|c| "Rvfc".contains(c)) {
                rec |= t.contains('R');
            } else {
                rest.push(w[k]);
            }
            k += 1;
        }
        if !rec || rest.len() < 2 {
            return None;
        }
        let arg = rest[0].value.clone()?;
        if kind == "chmod" && !(arg.len() <= 4 && arg.chars().all(|c| ('0'..='7').contains(&c))) {
            return None; // symbolic modes have no COPY equivalent
        }
        let (kind, arg) = if kind == "chgrp" { ("chown", format!(":{arg}")) } else { (kind, arg) };
        Some((kind, arg, rest[1..].iter().map(|x| x.value.clone()).collect()))
    }

    fn copy_chown(&self, fi: usize, layer: u64) -> Planned {
        let p = self.p;
        let Some(si) = p.step_of_layer(layer) else {
            return Planned::no("the layer is not a step of this Dockerfile's final stage");
        };
        if let Some(e) = self.unreadable(si) {
            return Planned::no(e);
        }
        let s = &p.steps[si];
        // Where the copies this step made live, and the layers that first wrote them.
        let t = &self.a.tree;
        let hidden: Vec<(String, u16)> = t.waste.iter().filter(|w| u64::from(w.hidden_in) == layer).map(|w| (norm(&String::from_utf8_lossy(&t.path(w.node))), w.added_in)).collect();
        let mut pl = Planned::default();
        let mut gone = BTreeSet::new();
        let mut flagged: BTreeMap<usize, Vec<(String, String)>> = BTreeMap::new();
        let mut covered: BTreeSet<usize> = BTreeSet::new();
        for (k, c) in cmds(s).iter().enumerate() {
            let Some((kind, arg, paths)) = Self::recursive_owner_change(c) else {
                if matches!(c.name(), "chown" | "chmod" | "chgrp") || (c.name() == "find" && c.words.iter().any(|w| w.is("chown") || w.is("chmod"))) {
                    if hidden.iter().any(|(h, _)| c.words.iter().filter_map(|w| w.value.as_deref()).filter(|v| v.starts_with('/')).any(|v| h.starts_with(v))) {
                        return Planned::no(format!("line {}: `{}` has no COPY flag that does the same (symbolic mode, tests, or not recursive)", s.line, self.text[c.span.clone()].trim()));
                    }
                }
                continue;
            };
            let Some(paths) = paths.into_iter().map(|x| x.map(|v| abs_at(&self.p.steps[si].workdir, &v))).collect::<Option<Vec<String>>>() else {
                return Planned::no(format!("line {}: `{}` names paths that depend on the shell", s.line, self.text[c.span.clone()].trim()));
            };
            // The COPY steps whose destination lies in these paths.
            let copies: Vec<usize> = (self.fin.start..si)
                .filter(|&k| p.steps[k].copy.as_ref().is_some_and(|cp| {
                    let d = dest_abs(&p.steps[k].workdir, cp);
                    paths.iter().any(|t| d == *t || d.starts_with(&format!("{}/", t.trim_end_matches('/'))))
                }))
                .collect();
            if copies.is_empty() {
                if let Some((h, _)) = hidden.iter().find(|(h, _)| paths.iter().any(|t| h == t || h.starts_with(&format!("{}/", t.trim_end_matches('/'))))) {
                    return Planned::no(format!(
                        "line {}: `{}` also writes {} again, and no COPY puts files exactly there for a flag to replace it",
                        s.line,
                        self.text[c.span.clone()].trim(),
                        h.escape_debug()
                    ));
                }
                continue;
            }
            if kind == "chown" {
                let user = arg.split(':').next().unwrap_or("");
                let made_later = (copies[0]..self.fin.end).find(|&k| {
                    cmds(&p.steps[k]).iter().any(|c| matches!(c.name(), "useradd" | "adduser" | "groupadd" | "addgroup") && c.words.iter().any(|w| w.is(user) || arg.split(':').nth(1).is_some_and(|g| w.is(g))))
                });
                if let Some(k) = made_later.filter(|_| !user.chars().all(|c| c.is_ascii_digit())) {
                    return Planned::no(format!("line {}: the owner in `{}` is created at line {}, after the COPY at line {}; create it before the COPY first", s.line, self.text[c.span.clone()].trim(), p.steps[k].line, p.steps[copies[0]].line));
                }
            }
            for &k in &copies {
                flagged.entry(k).or_default().push((kind.to_string(), arg.clone()));
                covered.insert(k);
            }
            gone.insert(k);
        }
        if gone.is_empty() {
            return Planned::no(format!("line {}: no recursive chown/chgrp/chmod (octal mode) of a copied directory", s.line));
        }
        // Every copy this step made must have come from a COPY that now gets the flag.
        let layers_of_copies: BTreeSet<u64> = covered.iter().filter_map(|&k| p.steps[k].layer).collect();
        if let Some((h, added)) = hidden.iter().find(|(_, added)| !layers_of_copies.contains(&u64::from(*added))) {
            return Planned::no(format!("line {}: it also changes {} (written by layer {added}, not by a COPY): the files would still be copied again", s.line, h.escape_debug()));
        }
        for (k, changes) in &flagged {
            let cp = p.steps[*k].copy.as_ref().unwrap();
            let mut chown: Option<String> = None;
            let mut chmod: Option<String> = None;
            for (kind, arg) in changes {
                let slot = if kind == "chown" { &mut chown } else { &mut chmod };
                if kind == "chown" && arg.starts_with(':') {
                    // chgrp: keep the owner a chown gave, if any.
                    *slot = Some(match slot.take() {
                        Some(prev) => format!("{}{arg}", prev.split(':').next().unwrap_or("")),
                        None => format!("0{arg}"),
                    });
                } else {
                    *slot = Some(arg.clone());
                }
            }
            for (opt, val) in [("--chown", chown), ("--chmod", chmod)] {
                let Some(val) = val else { continue };
                if let Some(have) = cp.flags.iter().find(|f| f.starts_with(opt)) {
                    if *have != format!("{opt}={val}") {
                        return Planned::no(format!("line {}: the COPY already has {have}", p.steps[*k].line));
                    }
                    continue;
                }
                pl.edits.push(Edit { span: cp.flag_at..cp.flag_at, text: format!(" {opt}={val}"), finding: fi });
                pl.lines.push(p.steps[*k].line);
                pl.steps.insert(*k);
            }
        }
        let moved: Vec<String> = gone.iter().map(|&k| self.text[cmds(s)[k].span.clone()].trim().to_string()).collect();
        if let Err(e) = remove_cmds(self.text, s, &gone, fi, &mut pl.edits) {
            return Planned::no(format!("line {}: {e}", s.line));
        }
        pl.steps.insert(si);
        pl.lines.push(s.line);
        pl.what.push(format!("`{}` done by COPY flags instead", moved.join(" && ")));
        pl
    }

    fn drop_toolchain(&self, fi: usize, packages: &[String]) -> Planned {
        let mut pl = Planned::default();
        let mut dropped = Vec::new();
        for si in self.all_steps() {
            let s = &self.p.steps[si];
            let mut emptied = BTreeSet::new();
            let mut words = Vec::new();
            for (ci, c) in cmds(s).iter().enumerate() {
                let Some(inst) = install_of(c).filter(|i| i.tool == Tool::Apt) else { continue };
                let tools: Vec<usize> = inst.pkgs.iter().copied().filter(|&k| is_toolchain_word(c.words[k].text(), packages)).collect();
                if tools.is_empty() {
                    continue;
                }
                dropped.extend(tools.iter().map(|&k| c.words[k].text().to_string()));
                if tools.len() == inst.pkgs.len() {
                    emptied.insert(ci);
                } else {
                    words.extend(tools.iter().map(|&k| (ci, k)));
                }
            }
            if emptied.is_empty() && words.is_empty() {
                continue;
            }
            pl.steps.insert(si);
            pl.lines.push(s.line);
            for (ci, k) in words {
                pl.edits.push(Edit { span: self.arg_removal(si, &cmds(s)[ci], k), text: String::new(), finding: fi });
            }
            if !emptied.is_empty() {
                if let Err(e) = remove_cmds(self.text, s, &emptied, fi, &mut pl.edits) {
                    return Planned::no(format!("line {}: {e}", s.line));
                }
            }
        }
        if dropped.is_empty() {
            return Planned::no("none of the toolchain packages is named in an apt-get install of the final stage");
        }
        dropped.sort();
        dropped.dedup();
        pl.what.push(format!("dropped {} from apt-get install (nothing was compiled in the image)", dropped.join(", ")));
        pl
    }
}

/// Steps of the final stage and of the stages it copies from (`COPY --from`) or builds on
/// (`FROM stage`), through any number of stages.
fn reach(p: &Parsed) -> Vec<usize> {
    let mut want = vec![false; p.stages.len()];
    let mut todo = vec![p.stages.len() - 1];
    while let Some(st) = todo.pop() {
        if std::mem::replace(&mut want[st], true) {
            continue;
        }
        let from = p.steps[p.stages[st].steps.clone()].iter().filter_map(|s| s.copy.as_ref()?.from.as_deref());
        for name in from.chain(std::iter::once(p.stages[st].base.as_str())) {
            todo.extend(p.stage_named(name, st));
        }
    }
    (0..p.steps.len()).filter(|&k| want[p.steps[k].stage]).collect()
}

fn is_toolchain_word(w: &str, packages: &[String]) -> bool {
    packages.iter().any(|p| p == w) || w == "build-essential"
}

/// Rewrite `p` for the findings of `a`. `context` is the build context (for requirements
/// files and an existing .dockerignore).
pub fn rewrite(p: &Parsed, a: &Analyzed, context: &Path, opts: &Options) -> Result<Outcome, String> {
    let findings = &a.analysis.findings;
    let cx = Cx { p, a, text: &p.text, context, opts, fin: p.final_steps(), reach: reach(p) };
    let text = &p.text;
    let mut planned: Vec<Planned> = findings.iter().enumerate().map(|(fi, f)| cx.plan(fi, f)).collect();
    // Splice; a finding whose edit collides with an earlier (larger) finding's is taken back
    // whole, and the rest spliced again.
    let (out, made) = loop {
        let edits: Vec<Edit> = planned.iter().flat_map(|pl| pl.edits.iter().cloned()).collect();
        match splice(text, edits) {
            Ok(done) => break done,
            Err((later, earlier, at)) => {
                let why = format!("its edit on line {} collides with {}'s; apply it after building this one", super::line_of(text, at), findings[earlier].id);
                planned[later] = Planned::no(why);
            }
        }
    };
    let mut out = out;
    // Records: the original lines each made edit touched, and what they became.
    let mut changes = Vec::new();
    let mut ignore: Vec<(String, String)> = Vec::new();
    let mut req_files: BTreeMap<String, BTreeMap<usize, Option<String>>> = BTreeMap::new();
    let mut multi_stage = None;
    let projects: Vec<(String, String)> = planned.iter().filter_map(|pl| pl.project.clone()).collect();
    for (fi, pl) in planned.iter().enumerate() {
        let f = &findings[fi];
        if let Some(pk) = &pl.multi_stage {
            multi_stage = Some((fi, pk.clone()));
            continue;
        }
        let mut records = Vec::new();
        for e in made.iter().filter(|m| m.edit.finding == fi) {
            let (b, af) = (line_start(text, e.edit.span.start), line_end(text, e.edit.span.end));
            let (nb, na) = (Made::map(b, &made), Made::map_end(af, &made));
            records.push(Record { file: "Dockerfile".into(), removed: text[b..af].to_string(), inserted: out[nb..na].to_string() });
        }
        for pat in &pl.ignore {
            ignore.push((pat.clone(), format!("{} {}", f.id, f.rule)));
            records.push(Record { file: ".dockerignore".into(), removed: String::new(), inserted: pat.clone() });
        }
        for (file, ls) in &pl.req_lines {
            let e = req_files.entry(file.clone()).or_default();
            for (i, l) in ls {
                e.entry(*i).or_insert_with(|| l.clone());
            }
        }
        let swallowed = !pl.edits.is_empty() && records.is_empty() && pl.req_lines.is_empty();
        let applied = pl.not.is_none() && (!pl.edits.is_empty() || !pl.ignore.is_empty() || !pl.req_lines.is_empty());
        let what = if swallowed {
            "nothing left to change: the step is removed by another change".to_string()
        } else if applied {
            pl.what.join("; ")
        } else {
            pl.not.clone().unwrap_or_else(|| "nothing in this Dockerfile to change".into())
        };
        let mut lines = pl.lines.clone();
        lines.sort();
        lines.dedup();
        let layers = pl.steps.iter().filter_map(|&s| p.steps[s].layer).collect();
        changes.push(Change { finding: fi, applied, what, lines, records, layers, dropped: vec![] });
    }

    // Requirements files: the rewritten file goes beside the one it replaces, and the
    // Dockerfile is pointed at it.
    let mut requirements = Vec::new();
    let mut repoint: Vec<Edit> = Vec::new();
    for (rel, ls) in &req_files {
        let body = std::fs::read_to_string(context.join(rel)).map_err(|e| format!("{rel}: {e}"))?;
        let mut new = String::new();
        for (i, l) in body.lines().enumerate() {
            match ls.get(&i) {
                Some(Some(r)) => new.push_str(r),
                Some(None) => continue,
                None => new.push_str(l),
            }
            new.push('\n');
        }
        let (stem, ext) = rel.rsplit_once('.').filter(|(s, _)| !s.ends_with('/')).unwrap_or((rel, "txt"));
        let new_rel = format!("{stem}.slim.{ext}");
        let name = rel.rsplit('/').next().unwrap_or(rel);
        let new_name = new_rel.rsplit('/').next().unwrap_or(&new_rel);
        // COPY sources naming the file, and `-r` arguments naming it where it landed under its own name.
        for (k, s) in p.steps.iter().enumerate() {
            if let Some(c) = s.copy.as_ref().filter(|c| !c.from_stage) {
                let src_text = &text[s.span.clone()];
                if c.sources.iter().any(|x| x.trim_start_matches("./") == rel) {
                    if let Some(off) = src_text.find(rel.as_str()) {
                        let at = s.span.start + off;
                        repoint.push(Edit { span: at..at + rel.len(), text: new_rel.clone(), finding: usize::MAX });
                    }
                }
            }
            for c in cmds(s) {
                let Some(inst) = install_of(c) else { continue };
                for &w in &inst.reqfiles {
                    let Some(word) = c.words.get(w) else { continue };
                    let v = word.text();
                    let abs = abs_at(&s.workdir, v);
                    let via = copied_from_context(p, context, &abs, k, k);
                    if via.as_ref().is_some_and(|(_, _, r)| r == rel) && v.rsplit('/').next() == Some(name) {
                        // The file lands under its own name unless the COPY named the destination file.
                        let (ck, cp, _) = via.unwrap();
                        let exact = dest_abs(&p.steps[ck].workdir, cp) == abs && !cp.dest.ends_with('/') && cp.dest != ".";
                        if !exact && word.raw == v {
                            let at = word.span.end - name.len();
                            repoint.push(Edit { span: at..word.span.end, text: new_name.to_string(), finding: usize::MAX });
                        }
                    }
                }
            }
        }
        requirements.push((PathBuf::from(&new_rel), new));
        for ch in changes.iter_mut().filter(|c| planned[c.finding].req_lines.contains_key(rel)) {
            ch.what.push_str(&format!(" ({rel} rewritten as {new_rel}, which the Dockerfile now uses)"));
            for (i, l) in &planned[ch.finding].req_lines[rel] {
                ch.records.push(Record { file: new_rel.clone(), removed: body.lines().nth(*i).unwrap_or("").to_string(), inserted: l.clone().unwrap_or_default() });
            }
        }
    }

    // Comments naming the findings above each changed step (none above a removed one).
    let mut notes: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for m in &made {
        if let Some(s) = p.steps.iter().find(|s| s.span.start <= m.edit.span.start && m.edit.span.start <= s.span.end) {
            let at = line_start(text, s.span.start);
            if made.iter().any(|x| x.edit.text.is_empty() && x.edit.span.start <= at && x.edit.span.end >= s.span.end) {
                continue;
            }
            let v = notes.entry(at).or_default();
            if !v.contains(&m.edit.finding) {
                v.push(m.edit.finding);
            }
        }
    }
    let mut extra: Vec<Edit> = Vec::new();
    for (at, fs) in notes {
        let ids: Vec<String> = fs.iter().map(|&i| format!("{} {}", findings[i].id, findings[i].rule)).collect();
        extra.push(Edit { span: at..at, text: format!("# slim: {}\n", ids.join(", ")), finding: usize::MAX });
    }
    extra.extend(repoint);
    if !extra.is_empty() {
        // Notes and re-pointed file names, on top of the findings' edits (mapped to the new text).
        let mapped: Vec<Edit> = extra
            .into_iter()
            .map(|e| {
                let s = Made::map(e.span.start, &made);
                Edit { span: s..s + e.span.len(), text: e.text, finding: e.finding }
            })
            .collect();
        out = splice(&out, mapped).map_err(|_| "internal: notes collide with edits".to_string())?.0;
    }

    if let Some((fi, packages)) = multi_stage {
        let f = &findings[fi];
        match to_multi_stage(&out, &packages, f) {
            Ok((ms, gone, edited_steps)) => {
                out = ms;
                // The steps of the edited text are the original's less those an edit removed whole:
                // map the steps left behind in the builder back to their layers.
                let removed_whole = |st: &Step| made.iter().any(|m| m.edit.text.is_empty() && m.edit.span.start <= st.span.start && m.edit.span.end >= st.span.end);
                let kept: Vec<&Step> = p.steps[p.final_steps()].iter().filter(|st| !removed_whole(st)).collect();
                let dropped: Vec<u64> = if kept.len() == edited_steps { gone.iter().filter_map(|&k| kept.get(k).and_then(|st| st.layer)).collect() } else { vec![] };
                let records = vec![Record { file: "Dockerfile".into(), removed: String::new(), inserted: "COPY --from=slim-builder /opt/venv /opt/venv".into() }];
                let layers = p.steps.iter().filter_map(|s| s.layer).collect();
                changes.push(Change { finding: fi, applied: true, what: "the build moves to a builder stage that makes a venv; the runtime stage copies the venv and the app, without the toolchain".into(), lines: p.steps[p.final_steps()].iter().filter(|s| s.keyword == "RUN").map(|s| s.line).collect(), records, layers, dropped });
            }
            Err(why) => changes.push(Change { finding: fi, applied: false, what: why, lines: vec![], records: vec![], layers: vec![], dropped: vec![] }),
        }
    }
    changes.sort_by_key(|c| c.finding);

    let dockerignore = if ignore.is_empty() {
        None
    } else {
        let mut body = std::fs::read_to_string(context.join(".dockerignore")).unwrap_or_default();
        if !body.is_empty() && !body.ends_with('\n') {
            body.push('\n');
        }
        for (pat, why) in ignore {
            if !body.lines().any(|l| l.trim() == pat) {
                body.push_str(&format!("# slim: {why}\n{pat}\n"));
            }
        }
        Some(body)
    };
    Ok(Outcome { dockerfile: out, dockerignore, requirements, projects, changes })
}

fn line_end(text: &str, off: usize) -> usize {
    if off > 0 && text.as_bytes().get(off - 1) == Some(&b'\n') {
        return off;
    }
    text[off..].find('\n').map_or(text.len(), |i| off + i)
}

/// An edit that was made, and where the text after it moved.
#[derive(Debug, Clone)]
struct Made {
    edit: Edit,
}

impl Made {
    fn delta(&self) -> isize {
        self.edit.text.len() as isize - self.edit.span.len() as isize
    }

    /// Where original offset `off` is in the output (offsets inside a replaced range go to its
    /// start; an insertion at `off` counts as after it).
    fn map(off: usize, made: &[Made]) -> usize {
        let mut d: isize = 0;
        for m in made {
            if m.edit.span.end <= off && !(m.edit.span.is_empty() && m.edit.span.start == off) {
                d += m.delta();
            } else if m.edit.span.start < off && off < m.edit.span.end {
                d += m.edit.span.start as isize - off as isize;
            }
        }
        (off as isize + d) as usize
    }

    /// Like `map`, but insertions at `off` count as before it.
    fn map_end(off: usize, made: &[Made]) -> usize {
        let extra: isize = made.iter().filter(|m| m.edit.span.is_empty() && m.edit.span.start == off).map(|m| m.delta()).sum();
        (Self::map(off, made) as isize + extra) as usize
    }
}

/// Make `edits` on `text`. The same edit asked for twice is made once; an edit inside a range
/// another deletes goes with it. Two edits that overlap otherwise are a collision: `Err((later
/// finding, earlier finding, offset))`.
fn splice(text: &str, edits: Vec<Edit>) -> Result<(String, Vec<Made>), (usize, usize, usize)> {
    let mut uniq: Vec<Edit> = Vec::new();
    for e in edits {
        if !uniq.iter().any(|u| u.span == e.span && u.text == e.text) {
            uniq.push(e);
        }
    }
    let deletions: Vec<Edit> = uniq.iter().filter(|e| !e.span.is_empty() && e.text.is_empty()).cloned().collect();
    // An edit inside a range another deletes goes with it (an insertion at either end of it stays).
    let swallowed = |e: &Edit, d: &Edit| d.span != e.span && d.span.start <= e.span.start && e.span.end <= d.span.end && !(e.span.is_empty() && (e.span.start == d.span.start || e.span.start == d.span.end));
    let mut kept: Vec<Edit> = uniq.into_iter().filter(|e| !deletions.iter().any(|d| swallowed(e, d))).collect();
    kept.sort_by(|a, b| a.span.start.cmp(&b.span.start).then(a.span.end.cmp(&b.span.end)));
    for w in kept.windows(2) {
        let (x, y) = (&w[0], &w[1]);
        if y.span.start < x.span.end {
            let (later, earlier) = if x.finding > y.finding { (x.finding, y.finding) } else { (y.finding, x.finding) };
            if later == earlier {
                continue;
            }
            return Err((later, earlier, y.span.start));
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    let mut made = Vec::new();
    for e in kept {
        if e.span.start < at {
            continue; // overlaps an edit of the same finding already made
        }
        out.push_str(&text[at..e.span.start]);
        out.push_str(&e.text);
        at = e.span.end;
        made.push(Made { edit: e });
    }
    out.push_str(&text[at..]);
    Ok((out, made))
}

/// Move the build into a builder stage: it keeps the final stage's steps up to the last
/// install, installing into a venv; the runtime stage keeps the rest and copies the venv.
/// Runtime apt packages stay; toolchain packages do not.
/// The Dockerfile with its build moved into a builder stage, the indices (into `text`'s steps)
/// of the RUN steps left behind in the builder whose files the runtime stage does not copy, and
/// how many steps `text`'s final stage has (for mapping those indices back).
pub fn to_multi_stage(text: &str, toolchain: &[String], f: &Finding) -> Result<(String, Vec<usize>, usize), String> {
    let parsed = parse("Dockerfile", text)?;
    let p = parsed.last();
    let steps = &parsed.steps[parsed.final_steps()];
    let is_py = |s: &Step| cmds(s).iter().any(|c| install_of(c).is_some_and(|i| matches!(i.tool, Tool::Pip { .. } | Tool::Add | Tool::Lock)));
    let last = steps.iter().rposition(is_py).ok_or("no pip install to move into a builder stage")?;
    let first = steps.iter().position(is_py).unwrap();
    if steps.iter().any(|s| cmds(s).iter().any(|c| install_of(c).is_some_and(|i| matches!(i.tool, Tool::Lock | Tool::Add)))) {
        return Err("the packages are installed by uv or poetry, which manage their own environment: a builder stage for them is not written yet; drop the toolchain by hand after checking what needs it".into());
    }
    // A step's text, with the `# slim:` notes written above it.
    let body = |s: &Step| {
        let mut start = line_start(text, s.span.start);
        while start > 0 {
            let prev = line_start(text, start - 1);
            if text[prev..start].starts_with("# slim:") {
                start = prev;
            } else {
                break;
            }
        }
        &text[start..s.span.end]
    };
    let head_end = line_start(text, p.from.start);
    let from_line_end = text[p.from.end..].find('\n').map_or(text.len(), |i| p.from.end + i);
    let from_line = &text[head_end..from_line_end];
    let mut out = String::new();
    out.push_str(&text[..head_end]);
    out.push_str(&format!("# slim: {} {}: build in a stage of its own, ship only the venv\n", f.id, f.rule));
    out.push_str(&format!("FROM {} AS slim-builder\n", p.base));
    for (k, s) in steps[..=last].iter().enumerate() {
        if k == first {
            out.push_str("RUN python3 -m venv --without-pip /opt/venv\nENV PATH=/opt/venv/bin:$PATH PIP_PYTHON=/opt/venv/bin/python\n");
        }
        let b = body(s).replace("python3 -m pip install", "pip install").replace("python -m pip install", "pip install");
        out.push_str(&b);
        out.push('\n');
    }
    out.push('\n');
    // The runtime stage.
    out.push_str(from_line);
    out.push('\n');
    let pip_text: String = steps[..=last].iter().filter(|x| is_py(x)).map(|x| &text[x.span.clone()]).collect::<Vec<_>>().join(" ");
    let copied_by_pip = |s: &Step| {
        let c = s.copy.as_ref().unwrap();
        c.sources.iter().all(|src| {
            let name = src.rsplit('/').find(|x| !x.is_empty()).unwrap_or(src);
            name.starts_with("requirements") || name.starts_with("constraints") || matches!(name, "pyproject.toml" | "setup.py" | "setup.cfg" | "poetry.lock" | "uv.lock")
        }) || pip_text.contains(c.dest.trim_end_matches('/'))
    };
    let mut gone = Vec::new();
    for (k, s) in steps[..=last].iter().enumerate() {
        match s.keyword.as_str() {
            "WORKDIR" | "ENV" | "ARG" | "USER" | "LABEL" | "EXPOSE" | "SHELL" => {
                out.push_str(body(s));
                out.push('\n');
            }
            "COPY" | "ADD" if !copied_by_pip(s) => {
                out.push_str(body(s));
                out.push('\n');
            }
            "RUN" if !is_py(s) => {
                // Keep runtime apt packages; leave the toolchain behind.
                let Some(Ok(cs)) = s.script.as_ref().map(|x| &x.cmds) else {
                    out.push_str(body(s));
                    out.push('\n');
                    continue;
                };
                let mut keep = Vec::new();
                let mut any_apt = false;
                let mut runtime_pkgs = false;
                for c in cs {
                    let seg = &text[c.span.clone()];
                    match install_of(c).filter(|i| i.tool == Tool::Apt) {
                        Some(inst) => {
                            any_apt = true;
                            let tools: Vec<usize> = inst.pkgs.iter().copied().filter(|&k| is_toolchain_word(c.words[k].text(), toolchain)).collect();
                            if tools.len() < inst.pkgs.len() {
                                runtime_pkgs = true;
                                let mut t = seg.to_string();
                                for &k in tools.iter().rev() {
                                    let r = word_removal(text, &c.words[k].span);
                                    t.replace_range(r.start - c.span.start..r.end - c.span.start, "");
                                }
                                keep.push(t);
                            }
                        }
                        None => keep.push(seg.to_string()),
                    }
                }
                if any_apt && !runtime_pkgs {
                    gone.push(k);
                    continue;
                }
                out.push_str(&format!("RUN {}\n", keep.join(" \\\n && ")));
            }
            _ => {}
        }
    }
    out.push_str("COPY --from=slim-builder /opt/venv /opt/venv\nENV PATH=/opt/venv/bin:$PATH\n");
    for s in &steps[last + 1..] {
        out.push_str(body(s));
        out.push('\n');
    }
    // What followed the last step (trailing comments) stays.
    if let Some(s) = steps.last() {
        let rest = text[s.span.end..].trim_start_matches('\n');
        out.push_str(rest);
    }
    Ok((out, gone, steps.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(s: &str) -> Cmd {
        super::super::shell::commands(s, 0, &Default::default()).unwrap().remove(0)
    }

    #[test]
    fn installers_are_read_with_their_options() {
        let i = install_of(&cmd("pip install --no-cache-dir -r req.txt -i https://x torch==2.5.1 ./local -e .")).unwrap();
        assert_eq!(i.tool, Tool::Pip { uv: false });
        assert_eq!(i.pkgs, [7]);
        assert_eq!(i.reqfiles, [4]);
        assert_eq!(i.others, 2);
        let i = install_of(&cmd("uv pip install -e .")).unwrap();
        assert_eq!(i.tool, Tool::Pip { uv: true });
        assert!(i.pkgs.is_empty(), "`uv` and `pip` are not packages");
        assert_eq!(install_of(&cmd("python3 -m pip install x")).unwrap().pkgs, [4]);
        assert_eq!(install_of(&cmd("uv sync --frozen")).unwrap().tool, Tool::Lock);
        assert_eq!(install_of(&cmd("poetry install --no-root")).unwrap().tool, Tool::Lock);
        assert_eq!(install_of(&cmd("pipx install poetry")).unwrap().tool, Tool::Add);
        let i = install_of(&cmd("apt-get -y install -o Dpkg::Options::=x gcc curl")).unwrap();
        assert_eq!((i.tool, i.pkgs), (Tool::Apt, vec![5, 6]));
        assert!(install_of(&cmd("apt-get update")).is_none());
        assert!(install_of(&cmd("pipx run x")).is_none());
    }

    #[test]
    fn context_paths_follow_the_copy() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("requirements.txt"), "x\n").unwrap();
        let c = |src: &str, dest: &str| super::super::CopyArgs { sources: vec![src.into()], dest: dest.into(), flags: vec![], flag_at: 0, from: None, from_stage: false };
        assert_eq!(context_path(dir.path(), &c("app/", "/app/"), "/app", "/app/obsolete.py").as_deref(), Some("app/obsolete.py"));
        assert_eq!(context_path(dir.path(), &c(".", "."), "/srv", "/srv/venv").as_deref(), Some("venv"));
        assert_eq!(context_path(dir.path(), &c("requirements.txt", "."), "/app", "/app/requirements.txt").as_deref(), Some("requirements.txt"));
        assert_eq!(context_path(dir.path(), &c("requirements.txt", "."), "/app", "/app/other.txt"), None);
    }

    #[test]
    fn colliding_edits_are_refused_and_nested_ones_go_with_their_deletion() {
        let e = |r: Range<usize>, t: &str, f: usize| Edit { span: r, text: t.into(), finding: f };
        let text = "0123456789";
        // A word deleted inside a whole-step deletion: swallowed; an insertion at the end stays.
        let (out, made) = splice(text, vec![e(2..8, "", 0), e(3..4, "", 1), e(8..8, "X", 2)]).unwrap();
        assert_eq!(out, "01X89");
        assert_eq!(made.len(), 2);
        // Overlapping replacements of two findings: the later one is named.
        assert_eq!(splice(text, vec![e(2..5, "a", 0), e(4..6, "b", 1)]).unwrap_err().0, 1);
    }
}
