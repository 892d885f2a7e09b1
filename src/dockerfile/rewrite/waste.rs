//! Bytes a layer ships for nothing: files a later step deletes (the rm moves into the step that
//! makes them, or the files stay out of the build context), copies a recursive chown/chmod makes
//! (done by COPY flags instead), and baked models nothing loads.

use super::context::{abs_at, copied_from_context, dest_abs, norm};
use super::install::{base_name, skip_wrappers};
use super::plan::{Cx, Planned};
use super::splice::{Edit, cmds, remove_cmds, step_removal};
use crate::dockerfile::Form;
use crate::dockerfile::shell::{Cmd, Word};
use crate::model::analysis::Finding;
use std::collections::{BTreeMap, BTreeSet};

impl Cx<'_> {
    /// A baked model nothing names: the step that brings only it goes; otherwise a COPY's
    /// source goes to the .dockerignore, or a RUN loses the command that downloads it.
    pub(super) fn drop_model(&self, fi: usize, model: &str, layer: u64, paths: &[String], only: bool, wanted: &str) -> Planned {
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
                let rels: Option<Vec<String>> =
                    paths.iter().map(|a| copied_from_context(p, self.context, &norm(a), si, si + 1).filter(|(k, _, _)| *k == si).map(|(_, _, r)| r)).collect();
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

    pub(super) fn merge_runs(&self, fi: usize, _f: &Finding, create_layer: u64, delete_layer: u64) -> Planned {
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
        let targets = |c: &Cmd| -> Option<Vec<String>> {
            c.words[1..].iter().filter(|w| !w.text().starts_with('-')).map(|w| w.value.clone().map(|v| abs_at(&self.p.steps[di].workdir, &v))).collect()
        };
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
    pub(super) fn recursive_owner_change(c: &Cmd) -> Option<(&'static str, String, Vec<Option<String>>)> {
        let w: Vec<&Word> = c.words[skip_wrappers(c)..].iter().collect();
        let name = base_name(w.first()?);
        if name == "find" {
            let path = w.get(1)?;
            let ex = w.iter().position(|x| x.is("-exec") || x.is("-execdir"))?;
            if ex != 2 {
                return None; // tests like -type f: not what a COPY flag does
            }
            let inner = Cmd {
                span: c.span.clone(),
                words: w[ex + 1..].iter().map(|x| (*x).clone()).filter(|x| !x.is("{}") && !x.is(";") && !x.is("+") && !x.is("\\;")).collect(),
                removal: None,
                alone: false,
            };
            let (k, arg, _) = Self::owner_change_args(&inner, true)?;
            return Some((k, arg, vec![path.value.clone()]));
        }
        Self::owner_change_args(c, false)
    }

    pub(super) fn owner_change_args(c: &Cmd, recursive: bool) -> Option<(&'static str, String, Vec<Option<String>>)> {
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

    pub(super) fn copy_chown(&self, fi: usize, layer: u64) -> Planned {
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
        let hidden: Vec<(String, u16)> =
            t.waste.iter().filter(|w| u64::from(w.hidden_in) == layer).map(|w| (norm(&String::from_utf8_lossy(&t.path(w.node))), w.added_in)).collect();
        let mut pl = Planned::default();
        let mut gone = BTreeSet::new();
        let mut flagged: BTreeMap<usize, Vec<(String, String)>> = BTreeMap::new();
        let mut covered: BTreeSet<usize> = BTreeSet::new();
        for (k, c) in cmds(s).iter().enumerate() {
            let Some((kind, arg, paths)) = Self::recursive_owner_change(c) else {
                if matches!(c.name(), "chown" | "chmod" | "chgrp") || (c.name() == "find" && c.words.iter().any(|w| w.is("chown") || w.is("chmod"))) {
                    if hidden.iter().any(|(h, _)| c.words.iter().filter_map(|w| w.value.as_deref()).filter(|v| v.starts_with('/')).any(|v| h.starts_with(v))) {
                        return Planned::no(format!(
                            "line {}: `{}` has no COPY flag that does the same (symbolic mode, tests, or not recursive)",
                            s.line,
                            self.text[c.span.clone()].trim()
                        ));
                    }
                }
                continue;
            };
            let Some(paths) = paths.into_iter().map(|x| x.map(|v| abs_at(&self.p.steps[si].workdir, &v))).collect::<Option<Vec<String>>>() else {
                return Planned::no(format!("line {}: `{}` names paths that depend on the shell", s.line, self.text[c.span.clone()].trim()));
            };
            // The COPY steps whose destination lies in these paths.
            let copies: Vec<usize> = (self.fin.start..si)
                .filter(|&k| {
                    p.steps[k].copy.as_ref().is_some_and(|cp| {
                        let d = dest_abs(&p.steps[k].workdir, cp);
                        paths.iter().any(|t| d == *t || d.starts_with(&format!("{}/", t.trim_end_matches('/'))))
                    })
                })
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
                    cmds(&p.steps[k]).iter().any(|c| {
                        matches!(c.name(), "useradd" | "adduser" | "groupadd" | "addgroup") && c.words.iter().any(|w| w.is(user) || arg.split(':').nth(1).is_some_and(|g| w.is(g)))
                    })
                });
                if let Some(k) = made_later.filter(|_| !user.chars().all(|c| c.is_ascii_digit())) {
                    return Planned::no(format!(
                        "line {}: the owner in `{}` is created at line {}, after the COPY at line {}; create it before the COPY first",
                        s.line,
                        self.text[c.span.clone()].trim(),
                        p.steps[k].line,
                        p.steps[copies[0]].line
                    ));
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
}
