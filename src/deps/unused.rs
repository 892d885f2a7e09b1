//! Distributions nothing in the app reaches: not imported by its code, not run by its command
//! line, not required (for this interpreter and platform) by anything that is. Each comes with
//! what only it pulls in and a confidence of its own: `high` when nothing references it at all,
//! `medium` when something could still load it (a used package's code imports it, even lazily;
//! a plugin group something used loads; an optional dependency of a used package whose code
//! was not read; a string in the app or its environment; an import by computed name; a model
//! loaded with `trust_remote_code=True`). A reason on a package only an unused root pulls in is
//! that package's, not the root's.

use super::{Usage, names_of};
use crate::attribute::Attribution;
use crate::attribute::python::normalize_name;
use hashbrown::HashMap;

/// Installers every environment comes with: never reported (dropping pip is another advice).
pub const TOOLING: &[&str] = &["pip", "setuptools", "wheel", "distribute"];

/// Frameworks that load packages named only in their settings (a database `ENGINE`, a cache
/// `BACKEND`) and do not declare them as extras: consumer → what it may load.
const LOADED_BY_SETTINGS: &[(&str, &[&str])] = &[
    (
        "django",
        &[
            "psycopg2",
            "psycopg2-binary",
            "psycopg",
            "psycopg-binary",
            "psycopg-c",
            "mysqlclient",
            "pymysql",
            "oracledb",
            "cx-oracle",
            "mssql-django",
            "pyodbc",
            "redis",
            "hiredis",
            "pymemcache",
            "pylibmc",
            "django-redis",
            "channels-redis",
            "whitenoise",
        ],
    ),
    ("flask-sqlalchemy", &["psycopg2", "psycopg2-binary", "psycopg", "psycopg-binary", "pymysql", "mysqlclient", "oracledb", "pyodbc", "pg8000"]),
    ("celery", &["redis", "hiredis", "pymongo", "sqlalchemy", "boto3", "librabbitmq"]),
];

/// One unused distribution installed for its own sake, or one several of them share.
#[derive(Debug, Clone)]
pub struct Entry {
    pub dist: usize,
    /// Unused distributions only it requires, however indirectly.
    pub pulls_in: Vec<usize>,
    /// Unused distributions that require it (empty for one installed on its own).
    pub required_by: Vec<usize>,
    pub confidence: &'static str,
    /// Its own reasons (the root's, for a root).
    pub reasons: Vec<String>,
    /// Reasons on what it pulls in (`name: reason`): those go with it, but may be loaded.
    pub pulls_in_reasons: Vec<String>,
    pub bytes: u64,
    pub total_bytes: u64,
}

/// The groups a distribution declares entry points in, console scripts aside.
pub fn plugin_groups(entry_points: &str) -> Vec<String> {
    let mut v: Vec<String> = entry_points
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with('[') && l.ends_with(']'))
        .map(|l| l[1..l.len() - 1].trim().to_string())
        .filter(|g| !matches!(g.as_str(), "console_scripts" | "gui_scripts") && !g.is_empty())
        .collect();
    v.dedup();
    v
}

/// Why something could still load distribution `d` although no import reaches it.
fn reasons(u: &Usage, a: &Attribution, d: usize, tops: &HashMap<usize, Vec<String>>) -> Vec<String> {
    let dists = &a.dists;
    let me = &dists[d];
    let mut out = Vec::new();
    for ls in &u.lib_sites[d] {
        let s = &ls.site;
        let ctx = if s.context.is_empty() { String::new() } else { format!(" (in {})", s.context.join(" › ")) };
        out.push(format!("{} (used) imports it at {}{ctx}", dists[ls.importer].name, s.place()));
    }
    if let Some(at) = u.remote_code.first() {
        out.push(format!("the app loads a model with trust_remote_code=True at {at}: the model's own code may import any installed package"));
    }
    for (from, es) in u.graph.optional.iter().enumerate() {
        // A used package whose code was read imports it or not (the reason above); one whose
        // code was not read (compiled only) may.
        if !u.used[from] || u.scanned[from] {
            continue;
        }
        for e in es.iter().filter(|e| e.to == d) {
            let x = e.extra.as_deref().map(|x| format!(" (extra '{x}')")).unwrap_or_default();
            out.push(format!("an optional dependency of {}{x}, which the app uses and which may import it when it is installed", dists[from].name));
        }
    }
    for (consumer, loaded) in LOADED_BY_SETTINGS {
        if !loaded.contains(&me.name.as_str()) {
            continue;
        }
        if let Some(c) = (0..dists.len()).find(|&c| dists[c].name == *consumer && dists[c].env_node == me.env_node && u.used[c]) {
            out.push(format!("{} (used) loads it by name from its settings (a database engine, a cache or broker backend)", dists[c].name));
        }
    }
    for g in plugin_groups(&me.entry_points) {
        if let Some(at) = u.group_loads.get(&g) {
            out.push(format!("declares an entry point in group '{g}', which the app loads at {at}"));
            continue;
        }
        let head = g.split('.').next().unwrap_or(&g).trim_end_matches(|c: char| c.is_ascii_digit() || c == '_');
        let consumer = normalize_name(head);
        let consumers: Vec<usize> = (0..dists.len())
            .filter(|&c| c != d && dists[c].env_node == me.env_node && (dists[c].name == consumer || tops.get(&c).is_some_and(|t| t.iter().any(|t| t == head))))
            .collect();
        // A group counts only when something used loads it: the app's or a used package's
        // code (above), or a used package named for the group.
        if let Some(&c) = consumers.iter().find(|&&c| u.used[c]) {
            out.push(format!("declares entry points in group '{g}', which {} (used) loads as plugins", dists[c].name));
        }
    }
    for n in names_of(a, d, tops) {
        if let Some(w) = u.mentions.get(&n) {
            out.push(format!("'{n}' appears in {w}: something may load it by name (as Django's INSTALLED_APPS or a database URL's driver do)"));
            break;
        }
    }
    for (at, prefix) in &u.dynamic {
        let Some(p) = prefix else { continue };
        let head = p.split('.').next().unwrap_or("");
        if !head.is_empty() && tops.get(&d).is_some_and(|t| t.iter().any(|t| t == head)) {
            out.push(format!("the app imports '{p}…' by computed name at {at}"));
        }
    }
    out
}

pub fn compute(u: &Usage, a: &Attribution) -> Vec<Entry> {
    let dists = &a.dists;
    let n = dists.len();
    let cand: Vec<bool> = (0..n).map(|i| !u.used[i] && !u.app_dists[i] && !TOOLING.contains(&dists[i].name.as_str())).collect();
    // Required by another unused distribution?
    let mut required_by: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (from, es) in u.graph.edges.iter().enumerate() {
        if !cand[from] {
            continue;
        }
        for e in es {
            if cand[e.to] && e.to != from && !required_by[e.to].contains(&from) {
                required_by[e.to].push(from);
            }
        }
    }
    let roots: Vec<usize> = (0..n).filter(|&i| cand[i] && required_by[i].is_empty()).collect();
    let reach_of = |r: usize| -> Vec<bool> {
        let all = u.graph.reach([r], None);
        (0..n).map(|i| all[i] && cand[i]).collect()
    };
    let reaches: Vec<Vec<bool>> = roots.iter().map(|&r| reach_of(r)).collect();
    let mut count = vec![0u32; n];
    for r in &reaches {
        for i in 0..n {
            count[i] += u32::from(r[i]);
        }
    }
    let tops = u.modules.top_levels();
    let mut covered = vec![false; n];
    let mut out = Vec::new();
    let push = |d: usize, pulls_in: Vec<usize>, req: Vec<usize>, out: &mut Vec<Entry>| {
        let why = reasons(u, a, d, &tops);
        let mut theirs = Vec::new();
        for &p in &pulls_in {
            for r in reasons(u, a, p, &tops) {
                theirs.push(format!("{}: {r}", dists[p].name));
            }
        }
        let bytes = u.bytes[d];
        let total = bytes + pulls_in.iter().map(|&p| u.bytes[p]).sum::<u64>();
        if total == 0 {
            return;
        }
        out.push(Entry {
            dist: d,
            pulls_in,
            required_by: req,
            confidence: if why.is_empty() { "high" } else { "medium" },
            reasons: why,
            pulls_in_reasons: theirs,
            bytes,
            total_bytes: total,
        });
    };
    for (k, &r) in roots.iter().enumerate() {
        let mut mine: Vec<usize> = (0..n).filter(|&i| i != r && reaches[k][i] && count[i] == 1).collect();
        mine.sort_by(|&x, &y| u.bytes[y].cmp(&u.bytes[x]).then(dists[x].name.cmp(&dists[y].name)));
        covered[r] = true;
        for &m in &mine {
            covered[m] = true;
        }
        push(r, mine, Vec::new(), &mut out);
    }
    // Shared by several unused roots, or in a cycle of them: listed on their own.
    for i in 0..n {
        if cand[i] && !covered[i] {
            let mut req = required_by[i].clone();
            req.sort_by(|&x, &y| dists[x].name.cmp(&dists[y].name));
            push(i, Vec::new(), req, &mut out);
        }
    }
    out.sort_by(|x, y| y.total_bytes.cmp(&x.total_bytes).then(dists[x.dist].name.cmp(&dists[y.dist].name)).then(dists[x.dist].env.cmp(&dists[y.dist].env)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_groups_leave_scripts_out() {
        let ep = "[console_scripts]\nfoo = foo:main\n\n[pytest11]\ncov = pytest_cov.plugin\n[flask.commands]\nx = y\n";
        assert_eq!(plugin_groups(ep), ["pytest11", "flask.commands"]);
    }
}
