//! Package edits: an unused package dropped, a package swapped for a lighter one, CPU wheels
//! installed first, in install commands or in the requirements files the build copies (and, for
//! a lockfile project, in what the lock is made from).

use super::context::{abs_at, context_path, dest_abs};
use super::install::{Install, Tool, base_name, commands_of, commands_run, name_len, req_name, skip_wrappers};
use super::plan::{Cx, Planned};
use super::splice::{Edit, cmds, remove_cmds};
use std::collections::{BTreeMap, BTreeSet};

impl Cx<'_> {
    pub(super) fn index_url(&self, fi: usize, packages: &[String], index_url: &str) -> Planned {
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
    pub(super) fn pyproject_for_cpu(&self, pins: &[String], index_url: &str, poetry: bool) -> Result<String, String> {
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
    pub(super) fn args_naming(&self, name: &str) -> Vec<(usize, usize, Install, usize)> {
        let mut out = Vec::new();
        for (si, ci, inst) in self.installs(&self.reach) {
            let c = &cmds(&self.p.steps[si])[ci];
            for &k in &inst.pkgs {
                if req_name(c.words[k].text()) == name {
                    out.push((si, ci, inst.clone(), k));
                }
            }
        }
        out
    }

    pub(super) fn swap(&self, fi: usize, from: &str, to: &str) -> Planned {
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
        for (si, rel, lines) in self.reqfiles(&self.reach) {
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
            return Planned::no(format!("{from} is not named in an install command or a requirements file of the stages the image is built from"));
        }
        pl.what.push(format!("{from} → {to}"));
        pl
    }

    pub(super) fn drop_package(&self, fi: usize, name: &str) -> Planned {
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
        for (si, rel, lines) in self.reqfiles(&self.reach) {
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
            let locked = self.installs(&self.reach).into_iter().find(|(_, _, i)| i.tool == Tool::Lock);
            return Planned::no(match locked {
                Some((si, _, _)) => {
                    format!("line {}: {name} comes from a lockfile; remove it from pyproject.toml's dependencies and regenerate the lock (uv lock / poetry lock)", self.line(si))
                }
                None => format!("{name} is not named in an install command or a requirements file of the stages the image is built from (another package pulls it in)"),
            });
        }
        pl.what.push(if emptied.is_empty() { format!("removed {name} from the install") } else { format!("removed {name}; an install left with nothing to install goes") });
        pl
    }
}
