//! Python distributions to drop or replace: heavy-dependency (a package that alone pulls in a
//! heavy stack, read from the one dependency graph in `Usage`), package-swap (a lighter
//! drop-in exists) and unused-package (nothing in the app reaches it).

use super::view::View;
use super::{Draft, RuleSet, step};
use crate::model::analysis::Action;
use crate::show::human;
use hashbrown::HashSet;

pub(super) fn heavy_dependency(set: &RuleSet, v: &View, out: &mut Vec<Draft>) {
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

pub(super) fn package_swap(set: &RuleSet, v: &View, out: &mut Vec<Draft>) {
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

/// Distributions nothing in the app reaches (see `deps::unused`); none when no app was found.
pub(super) fn unused_package(set: &RuleSet, v: &View, out: &mut Vec<Draft>) {
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
