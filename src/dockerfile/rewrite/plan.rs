//! One finding's part of the rewrite, planned before anything is spliced: the edits, the
//! .dockerignore patterns and requirements lines it needs, the steps (and so the layers) it
//! touches, or why it cannot be made. The rules' families plan in packages.rs, cleanup.rs and
//! waste.rs.

use super::Options;
use super::context::{abs_at, copied_from_context};
use super::install::{Install, install_of};
use super::splice::{Edit, cmds};
use crate::dockerfile::shell::{Cmd, word_removal};
use crate::dockerfile::{Form, Parsed};
use crate::facts::Analyzed;
use crate::model::analysis::{Action, Finding};
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::path::Path;

/// One finding's part of the rewrite before the edits are spliced.
#[derive(Default)]
pub(super) struct Planned {
    pub(super) edits: Vec<Edit>,
    pub(super) ignore: Vec<String>,
    /// Requirements files: context path → (line index → replacement, `None` to drop it).
    pub(super) req_lines: BTreeMap<String, BTreeMap<usize, Option<String>>>,
    pub(super) what: Vec<String>,
    pub(super) lines: Vec<usize>,
    pub(super) steps: BTreeSet<usize>,
    pub(super) not: Option<String>,
    pub(super) multi_stage: Option<Vec<String>>,
    /// A project file to write beside the output.
    pub(super) project: Option<(String, String)>,
}

impl Planned {
    pub(super) fn no(why: impl Into<String>) -> Self {
        Planned { not: Some(why.into()), ..Planned::default() }
    }
}

pub(super) struct Cx<'a> {
    pub(super) p: &'a Parsed,
    pub(super) a: &'a Analyzed,
    pub(super) text: &'a str,
    pub(super) context: &'a Path,
    pub(super) opts: &'a Options,
    /// The final stage's steps.
    pub(super) fin: Range<usize>,
    /// The final stage's steps and those of the stages it copies from or builds on: where what
    /// ships was installed.
    pub(super) reach: Vec<usize>,
}

impl Cx<'_> {
    /// Steps of the final stage that made the finding's layers (all RUN steps if none).
    pub(super) fn steps_for(&self, f: &Finding) -> Vec<usize> {
        let mine: Vec<usize> = f.evidence.layers.iter().filter_map(|l| self.p.step_of_layer(l.index)).collect();
        if !mine.is_empty() {
            return mine;
        }
        self.fin.clone().filter(|&i| self.p.steps[i].keyword == "RUN").collect()
    }

    pub(super) fn installs(&self, steps: &[usize]) -> Vec<(usize, usize, Install)> {
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
    pub(super) fn arg_removal(&self, si: usize, c: &Cmd, k: usize) -> Range<usize> {
        let exec = self.p.steps[si].script.as_ref().is_some_and(|s| s.form == Form::Exec);
        if exec && k > 0 {
            return c.words[k - 1].span.end..c.words[k].span.end;
        }
        word_removal(self.text, &c.words[k].span)
    }

    pub(super) fn all_steps(&self) -> Vec<usize> {
        self.fin.clone().collect()
    }

    pub(super) fn line(&self, si: usize) -> usize {
        self.p.steps[si].line
    }

    /// Why a RUN's commands cannot be edited, if they cannot.
    pub(super) fn unreadable(&self, si: usize) -> Option<String> {
        match self.p.steps[si].script.as_ref().map(|s| &s.cmds) {
            Some(Err(e)) => Some(format!("line {}: {e}", self.line(si))),
            _ => None,
        }
    }

    /// Requirements files of the installs in `steps`: (context path, its lines) for each `-r`
    /// whose file the final stage copied from the context.
    pub(super) fn reqfiles(&self, steps: &[usize]) -> Vec<(usize, String, Vec<String>)> {
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

    pub(super) fn plan(&self, fi: usize, f: &Finding) -> Planned {
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
}

/// The stages `stage` is made of: itself and the stages it copies from (`COPY --from`) or
/// builds on (`FROM stage`), through any number of stages.
fn feeding(p: &Parsed, stage: usize) -> Vec<bool> {
    let mut want = vec![false; p.stages.len()];
    let mut todo = vec![stage];
    while let Some(st) = todo.pop() {
        if std::mem::replace(&mut want[st], true) {
            continue;
        }
        let from = p.steps[p.stages[st].steps.clone()].iter().filter_map(|s| s.copy.as_ref()?.from.as_deref());
        for name in from.chain(std::iter::once(p.stages[st].base.as_str())) {
            todo.extend(p.stage_named(name, st));
        }
    }
    want
}

/// Steps of the final stage and of the stages it is made of: where what ships was installed.
pub(super) fn reach(p: &Parsed) -> Vec<usize> {
    let want = feeding(p, p.stages.len() - 1);
    (0..p.steps.len()).filter(|&k| want[p.steps[k].stage]).collect()
}

/// The image layers an edit of step `si` changes: its own layer for a final-stage step; for a
/// step of an earlier stage, the layers of the final stage's `COPY --from` steps that copy from
/// that stage or from a stage made of it.
pub(super) fn layers_of(p: &Parsed, si: usize) -> Vec<u64> {
    let last = p.stages.len() - 1;
    let st = p.steps[si].stage;
    if st == last {
        return p.steps[si].layer.into_iter().collect();
    }
    p.steps[p.final_steps()]
        .iter()
        .filter(|s| s.copy.as_ref().and_then(|c| c.from.as_deref()).and_then(|f| p.stage_named(f, last)).is_some_and(|from| feeding(p, from)[st]))
        .filter_map(|s| s.layer)
        .collect()
}
