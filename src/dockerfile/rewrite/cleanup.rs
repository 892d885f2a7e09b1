//! Caches, lists, bytecode and toolchains: flags and cleanups added to the commands that leave
//! them, and toolchain packages dropped from apt-get install when nothing was compiled.

use super::context::dest_abs;
use super::install::{Tool, install_of};
use super::plan::{Cx, Planned};
use super::splice::{Edit, cmds, remove_cmds, step_removal};
use super::stage::is_toolchain_word;
use crate::dockerfile::Form;
use crate::model::analysis::Finding;
use std::collections::BTreeSet;

/// Where pip, uv and apt keep what only an install reads: nothing at run time needs them.
const PIP_CACHES: &[&str] = &["/.cache/pip", "/.cache/uv"];
const APT_STATE: &[&str] = &["/var/lib/apt/lists", "/var/cache/apt"];

impl Cx<'_> {
    /// `COPY --from=STAGE` steps among those that wrote the finding's files whose destination
    /// lies in one of the `caches`: the step goes whole (what it copies is only a cache).
    fn cache_copies(&self, fi: usize, f: &Finding, caches: &[&str], what: &str, pl: &mut Planned) {
        for si in self.steps_for(f) {
            let s = &self.p.steps[si];
            let Some(c) = s.copy.as_ref().filter(|c| c.from_stage) else { continue };
            let dest = dest_abs(&s.workdir, c);
            if !caches.iter().any(|k| dest.ends_with(k) || dest.contains(&format!("{k}/"))) {
                continue;
            }
            pl.edits.push(Edit { span: step_removal(self.text, s), text: String::new(), finding: fi });
            pl.steps.insert(si);
            pl.lines.push(s.line);
            pl.what.push(format!("removed `{}` ({what}: read by installs only, never at run time)", self.text[s.span.clone()].trim()));
        }
    }

    pub(super) fn no_cache(&self, fi: usize, f: &Finding) -> Planned {
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
        self.cache_copies(fi, f, PIP_CACHES, "a package cache", &mut pl);
        if pl.edits.is_empty() {
            pl.not = Some("no pip or uv install in the steps that wrote the cache lacks the flag".into());
        }
        pl
    }

    pub(super) fn apt_cleanup(&self, fi: usize, f: &Finding) -> Planned {
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
        let cleaned = !pl.edits.is_empty();
        self.cache_copies(fi, f, APT_STATE, "apt's package lists", &mut pl);
        if pl.edits.is_empty() && pl.not.is_none() {
            pl.not = Some("no RUN with apt-get among the steps that left the lists".into());
        } else if !pl.edits.is_empty() {
            pl.not = None;
        }
        if cleaned {
            pl.what.push("apt-get clean and rm -rf /var/lib/apt/lists/* at the end of the RUN that installs (--no-install-recommends is not added: it would change which packages are installed)".into());
        }
        pl
    }

    pub(super) fn no_bytecode(&self, fi: usize, f: &Finding) -> Planned {
        let text = self.text;
        if text.contains("PYTHONDONTWRITEBYTECODE") {
            return Planned::no("PYTHONDONTWRITEBYTECODE is already set");
        }
        let p = self.p;
        let from = &p.last().from;
        let at = text[from.end..].find('\n').map_or(text.len(), |i| from.end + i + 1);
        let mut pl = Planned::default();
        pl.edits.push(Edit { span: at..at, text: format!("# slim: {} {}\nENV PYTHONDONTWRITEBYTECODE=1\n", f.id, f.rule), finding: fi });
        pl.lines.push(crate::dockerfile::line_of(text, from.start));
        pl.steps.extend(self.all_steps());
        pl.what.push("ENV PYTHONDONTWRITEBYTECODE=1".into());
        pl
    }

    pub(super) fn drop_toolchain(&self, fi: usize, packages: &[String]) -> Planned {
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
