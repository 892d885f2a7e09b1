//! `slim why PACKAGE`: every path from a line of app code (or the command line) to a
//! package, through the requirements between, with what each step pulls in; or, when nothing
//! reaches it, who installed it and what still might load it.

use super::Usage;
use crate::attribute::{Attribution, OwnerKind};
use crate::layers::tree::Tree;
use crate::model::analysis::{Analysis, Layer, LayerStep, UnusedPackage};
use crate::model::why::{Why, WhyMatch, WhyPath, WhySite, WhyStep};

/// What a why-question reads: the pipeline's facts, borrowed (`Analyzed::ask`).
pub struct Ask<'a> {
    pub usage: &'a Usage,
    pub attribution: &'a Attribution,
    pub tree: &'a Tree,
    pub analysis: &'a Analysis,
}

/// Paths kept per package (shortest first); the rest are counted.
const MAX_PATHS: usize = 20;
/// Sites shown per path.
const MAX_SITES: usize = 5;
/// Bound on the search, for packages half the environment depends on.
const MAX_VISITS: usize = 100_000;

fn step_of(layers: &[Layer], layer: u64) -> LayerStep {
    LayerStep { index: layer, created_by: layers.get(layer as usize).and_then(|l| l.created_by.clone()) }
}

/// The unused distributions as report rows.
pub fn unused_rows(u: &Usage, a: &Attribution, layers: &[Layer]) -> Vec<UnusedPackage> {
    u.unused.iter().map(|e| row(u, a, layers, e)).collect()
}

fn row(_u: &Usage, a: &Attribution, layers: &[Layer], e: &super::unused::Entry) -> UnusedPackage {
    let d = &a.dists[e.dist];
    let layer = u64::from(a.owners[d.owner as usize].layer);
    UnusedPackage {
        kind: "python".into(),
        name: d.name.clone(),
        version: Some(d.version.clone()),
        location: Some(d.env.clone()),
        confidence: e.confidence.into(),
        reasons: e.reasons.clone(),
        pulls_in_reasons: e.pulls_in_reasons.clone(),
        bytes: e.bytes,
        total_bytes: e.total_bytes,
        pulls_in: e.pulls_in.iter().map(|&p| a.dists[p].name.clone()).collect(),
        required_by: e.required_by.iter().map(|&p| a.dists[p].name.clone()).collect(),
        layer,
        created_by: step_of(layers, layer).created_by,
    }
}

/// Every simple path from `target` up the requirement graph to a distribution the app reaches
/// directly: `[target, …, head]`.
fn paths(u: &Usage, target: usize) -> (Vec<Vec<usize>>, u64) {
    let n = u.graph.edges.len();
    let mut rev: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (from, es) in u.graph.edges.iter().enumerate() {
        for e in es {
            if !rev[e.to].contains(&from) {
                rev[e.to].push(from);
            }
        }
    }
    let mut found: Vec<Vec<usize>> = Vec::new();
    let mut total = 0u64;
    let mut visits = 0usize;
    let mut path = vec![target];
    let mut on = vec![false; n];
    on[target] = true;
    fn walk(u: &Usage, rev: &[Vec<usize>], path: &mut Vec<usize>, on: &mut [bool], found: &mut Vec<Vec<usize>>, total: &mut u64, visits: &mut usize) {
        *visits += 1;
        if *visits > MAX_VISITS {
            return;
        }
        let last = *path.last().unwrap();
        if !u.sites[last].is_empty() {
            *total += 1;
            if found.len() < 10 * MAX_PATHS {
                found.push(path.clone());
            }
        }
        for &p in &rev[last] {
            if on[p] || !u.used[p] {
                continue;
            }
            on[p] = true;
            path.push(p);
            walk(u, rev, path, on, found, total, visits);
            path.pop();
            on[p] = false;
        }
    }
    walk(u, &rev, &mut path, &mut on, &mut found, &mut total, &mut visits);
    found.sort_by(|x, y| x.len().cmp(&y.len()).then(x.cmp(y)));
    (found, total)
}

fn python_match(done: &Ask, d: usize) -> WhyMatch {
    let (u, a) = (&done.usage, &done.attribution);
    let dist = &a.dists[d];
    let layers = &done.analysis.layers;
    let alone = u.alone(d);
    let mut required_by: Vec<String> = u.graph.dependents(d).iter().map(|(f, _)| a.dists[*f].name.clone()).collect();
    required_by.sort();
    required_by.dedup();
    let installed_by = step_of(layers, u64::from(a.owners[dist.owner as usize].layer));
    let mut m = WhyMatch {
        kind: "python".into(),
        name: dist.name.clone(),
        version: Some(dist.version.clone()),
        location: Some(dist.env.clone()),
        bytes: u.bytes[d],
        alone_bytes: u.bytes_of(&alone),
        used: u.found.then_some(u.used[d]),
        paths: Vec::new(),
        more_paths: 0,
        required_by,
        installed_by: installed_by.clone(),
        unused: None,
        note: String::new(),
    };
    let step_text = crate::show::short_step(installed_by.created_by.as_deref(), 80);
    if !u.found {
        m.note = format!("no application code found in the image, so slim cannot say what imports it; installed by layer {} ({step_text})", installed_by.index);
        return m;
    }
    if u.app_dists[d] {
        m.note = format!("the app itself: an editable install of its project, whose code slim read as the app's; installed by layer {} ({step_text})", installed_by.index);
        return m;
    }
    if !u.used[d] {
        m.unused = u.unused.iter().find(|e| e.dist == d || e.pulls_in.contains(&d)).map(|e| row(u, a, layers, e));
        let own: Vec<String> = match u.unused.iter().find(|e| e.dist == d) {
            Some(e) => e.reasons.clone(),
            None => u.unused.iter().flat_map(|e| e.pulls_in_reasons.iter()).filter_map(|r| r.strip_prefix(&format!("{}: ", dist.name)).map(str::to_string)).collect(),
        };
        let confidence = if own.is_empty() { "high: nothing names it".to_string() } else { format!("medium: {}", own.join("; ")) };
        let via = match m.unused.as_ref() {
            Some(r) if r.name != dist.name => format!("; it comes with {}, which nothing in the app imports either", r.name),
            _ if !m.required_by.is_empty() => format!("; required only by {}, which nothing in the app imports either", m.required_by.join(", ")),
            _ => String::new(),
        };
        let tooling = if super::unused::TOOLING.contains(&dist.name.as_str()) { " (an installer environments come with; not reported as unused)" } else { "" };
        m.note = format!("nothing in the app imports it{via}; installed by layer {} ({step_text}){tooling}; confidence {confidence}; {}", installed_by.index, u.checked());
        return m;
    }
    let (found, total) = paths(u, d);
    for p in found.iter().take(MAX_PATHS) {
        let head = *p.last().unwrap();
        let sites = &u.sites[head];
        let mut steps = Vec::new();
        for (k, &s) in p.iter().enumerate() {
            // How the next one up requires this one.
            let edge = p.get(k + 1).and_then(|&up| u.graph.edges[up].iter().find(|e| e.to == s));
            let al = u.alone(s);
            steps.push(WhyStep {
                name: a.dists[s].name.clone(),
                version: a.dists[s].version.clone(),
                bytes: u.bytes[s],
                alone_bytes: u.bytes_of(&al),
                required_as: edge.map(|e| e.requirement.clone()),
                extra: edge.and_then(|e| e.extra.clone().map(|x| if e.inferred { format!("{x} (every requirement of it is installed)") } else { x })),
            });
        }
        let mut names: Vec<String> = p.iter().map(|&s| a.dists[s].name.clone()).collect();
        names.push(sites[0].place());
        let more = if sites.len() > 1 { format!(" (and {} more)", sites.len() - 1) } else { String::new() };
        m.paths.push(WhyPath {
            text: format!("{}{more}", names.join(" ← ")),
            steps,
            sites: sites
                .iter()
                .take(MAX_SITES)
                .map(|s| WhySite { file: s.file.clone(), line: (s.line > 0).then_some(s.line), text: s.text.clone(), how: s.how.into(), context: s.context.clone() })
                .collect(),
            more_sites: sites.len().saturating_sub(MAX_SITES) as u64,
        });
    }
    m.more_paths = total.saturating_sub(m.paths.len() as u64);
    m.note = format!("{} path{} from the app", total, if total == 1 { "" } else { "s" });
    m
}

fn dpkg_match(done: &Ask, p: usize) -> WhyMatch {
    let g = &done.usage.dpkg;
    let pkg = &g.packages[p];
    let a = &done.attribution;
    let owners: Vec<usize> = (0..a.owners.len()).filter(|&o| a.owners[o].kind == OwnerKind::Dpkg && a.owners[o].name == pkg.name).collect();
    let mut bytes = 0;
    for (ino, i) in done.tree.inodes.iter().enumerate() {
        if i.links > 0 && owners.contains(&(a.by_inode[ino] as usize)) {
            bytes += i.size;
        }
    }
    let layer = owners.first().map(|&o| u64::from(a.owners[o].layer)).unwrap_or(0);
    let installed_by = step_of(&done.analysis.layers, layer);
    // Reverse Depends up to packages nothing depends on (installed by name).
    let rev: Vec<Vec<usize>> = (0..g.packages.len()).map(|i| g.dependents(i)).collect();
    let mut chains: Vec<Vec<usize>> = Vec::new();
    let mut stack: Vec<Vec<usize>> = vec![vec![p]];
    let mut visits = 0;
    while let Some(path) = stack.pop() {
        visits += 1;
        if visits > MAX_VISITS || chains.len() >= 10 * MAX_PATHS {
            break;
        }
        let last = *path.last().unwrap();
        let up: Vec<usize> = rev[last].iter().copied().filter(|d| !path.contains(d)).collect();
        if up.is_empty() {
            if path.len() > 1 {
                chains.push(path);
            }
            continue;
        }
        for d in up {
            let mut next = path.clone();
            next.push(d);
            stack.push(next);
        }
    }
    chains.sort_by(|x, y| x.len().cmp(&y.len()).then(x.cmp(y)));
    let total = chains.len() as u64;
    let mut required_by: Vec<String> = rev[p].iter().map(|&d| g.packages[d].name.clone()).collect();
    required_by.sort();
    let step_text = crate::show::short_step(installed_by.created_by.as_deref(), 80);
    WhyMatch {
        kind: "dpkg".into(),
        name: pkg.name.clone(),
        version: Some(pkg.version.clone()),
        location: Some("/var/lib/dpkg".into()),
        bytes,
        alone_bytes: bytes,
        used: None,
        paths: chains
            .iter()
            .take(MAX_PATHS)
            .map(|c| WhyPath {
                text: c.iter().map(|&s| g.packages[s].name.as_str()).collect::<Vec<_>>().join(" ← "),
                steps: c
                    .iter()
                    .map(|&s| WhyStep { name: g.packages[s].name.clone(), version: g.packages[s].version.clone(), bytes: 0, alone_bytes: 0, required_as: None, extra: None })
                    .collect(),
                sites: Vec::new(),
                more_sites: 0,
            })
            .collect(),
        more_paths: total.saturating_sub(MAX_PATHS as u64),
        note: if required_by.is_empty() {
            format!("no installed package depends on it: installed by name, in layer {} ({step_text})", installed_by.index)
        } else {
            let more = if required_by.len() > 10 { format!(" and {} more", required_by.len() - 10) } else { String::new() };
            format!("depended on by {}{more}; installed by layer {} ({step_text})", required_by[..required_by.len().min(10)].join(", "), installed_by.index)
        },
        required_by,
        installed_by,
        unused: None,
    }
}

/// Explain why `package` is in the analysed image. None when no Python distribution or dpkg
/// package has that name.
pub fn why(done: &Ask, package: &str) -> Option<Why> {
    let u = &done.usage;
    let mut matches: Vec<WhyMatch> = Usage::find(&done.attribution, package).into_iter().map(|d| python_match(done, d)).collect();
    for (i, p) in u.dpkg.packages.iter().enumerate() {
        if p.name == package {
            matches.push(dpkg_match(done, i));
        }
    }
    if matches.is_empty() {
        return None;
    }
    Some(Why {
        schema_version: crate::model::WHY_SCHEMA,
        package: package.to_string(),
        image: done.analysis.image.source.clone(),
        app: done.analysis.app.clone().unwrap_or_default(),
        matches,
    })
}

/// Names close to `package`, for the error when nothing has it.
pub fn suggestions(done: &Ask, package: &str) -> Vec<String> {
    let want = crate::attribute::python::normalize_name(package);
    let mut v: Vec<String> = done
        .attribution
        .dists
        .iter()
        .map(|d| d.name.clone())
        .chain(done.usage.dpkg.packages.iter().map(|p| p.name.clone()))
        .filter(|n| n.contains(&want) || want.contains(n.as_str()) && n.len() >= 3)
        .collect();
    v.sort();
    v.dedup();
    v.truncate(8);
    v
}
