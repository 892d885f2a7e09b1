//! multiple-environments: several Python interpreters, or distributions installed in more than
//! one environment.

use super::Draft;
use super::view::{MAX_PATHS, View};
use crate::attribute::python::Dist;
use crate::model::analysis::Action;
use crate::show::human;
use hashbrown::HashMap;

pub(super) fn multiple_environments(v: &View, out: &mut Vec<Draft>) {
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
        format!(
            "several Python environments: {} of distributions installed twice{}",
            human(v.bytes(&removed)),
            if interpreters.len() >= 2 { format!(", {} interpreters", interpreters.len()) } else { String::new() }
        ),
        removed.clone(),
        0,
        "Keeping one environment (the one with most distributions) removes the other copies.".into(),
        v.evidence(&removed, vec![], vec![], notes),
        "Install everything into one environment (one venv copied from a builder stage), with one interpreter.".into(),
        Action::AdviceOnly,
    ));
}
