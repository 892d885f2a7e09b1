//! Apply findings' actions to a parsed Dockerfile. Fixes are splices at byte spans of the
//! commands the shell reads (see `shell`); a build toolchain that compiled something is moved
//! into a builder stage, which rewrites the final stage from its instructions' own text.
//! Every change is tied to its finding, and a change whose edits collide with another's is
//! taken back whole and reported as not applied: what the report lists is what was written.

mod cleanup;
mod context;
mod ignore;
mod install;
mod packages;
mod plan;
mod report;
mod requirements;
mod splice;
mod stage;
mod waste;

pub use report::{Request, plan};
pub use stage::to_multi_stage;

use crate::dockerfile::{Parsed, Step};
use crate::facts::Analyzed;
use plan::{Cx, Planned, reach};
use splice::{Edit, Made, line_end, line_start, splice};
use std::collections::BTreeMap;
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
    /// Files (inodes) that go although their layer's step stays in some form: what an install
    /// moved into a builder stage wrote outside the Python environment the runtime copies
    /// (caches, configuration).
    pub dropped_files: Vec<u32>,
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
                let why = format!("its edit on line {} collides with {}'s; apply it after building this one", crate::dockerfile::line_of(text, at), findings[earlier].id);
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
        let layers = pl.steps.iter().flat_map(|&s| plan::layers_of(p, s)).collect();
        changes.push(Change { finding: fi, applied, what, lines, records, layers, dropped: vec![], dropped_files: vec![] });
    }

    // Requirements files: the rewritten file goes beside the one it replaces, and the
    // Dockerfile is pointed at it.
    let mut requirements = Vec::new();
    let mut repoint: Vec<Edit> = Vec::new();
    // Where a re-pointed name stands, with the findings that rewrote the file (for the notes).
    let mut repointed: Vec<(usize, Vec<usize>)> = Vec::new();
    for (rel, ls) in &req_files {
        let body = std::fs::read_to_string(context.join(rel)).map_err(|e| format!("{rel}: {e}"))?;
        let (new_rel, new) = requirements::rewritten(rel, &body, ls);
        let why: Vec<usize> = changes.iter().map(|c| c.finding).filter(|&f| planned[f].req_lines.contains_key(rel)).collect();
        let edits = requirements::repoint(p, context, rel, &new_rel);
        repointed.extend(edits.iter().map(|e| (e.span.start, why.clone())));
        repoint.extend(edits);
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
    let edited = made.iter().map(|m| (m.edit.span.start, vec![m.edit.finding])).chain(repointed);
    for (pos, fs) in edited {
        if let Some(s) = p.steps.iter().find(|s| s.span.start <= pos && pos <= s.span.end) {
            let at = line_start(text, s.span.start);
            if made.iter().any(|x| x.edit.text.is_empty() && x.edit.span.start <= at && x.edit.span.end >= s.span.end) {
                continue;
            }
            let v = notes.entry(at).or_default();
            for f in fs {
                if !v.contains(&f) {
                    v.push(f);
                }
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
            Ok(st) => {
                out = st.dockerfile;
                // The steps of the edited text are the original's less those an edit removed whole:
                // map the steps left behind in the builder back to their layers.
                let removed_whole = |s: &Step| made.iter().any(|m| m.edit.text.is_empty() && m.edit.span.start <= s.span.start && m.edit.span.end >= s.span.end);
                let kept: Vec<&Step> = p.steps[p.final_steps()].iter().filter(|s| !removed_whole(s)).collect();
                let layers_at = |ks: &[usize]| -> Vec<u64> { if kept.len() == st.steps { ks.iter().filter_map(|&k| kept.get(k).and_then(|s| s.layer)).collect() } else { vec![] } };
                let dropped = layers_at(&st.gone);
                let dropped_files = outside_envs(a, &layers_at(&st.moved));
                let copy = format!("COPY --from=slim-builder {} {}", st.env, st.env);
                let records = vec![Record { file: "Dockerfile".into(), removed: String::new(), inserted: copy }];
                let layers = p.steps.iter().filter_map(|s| s.layer).collect();
                let what =
                    format!("the build moves to a builder stage that installs into {}; the runtime stage copies that environment and the app, without the toolchain", st.env);
                changes.push(Change {
                    finding: fi,
                    applied: true,
                    what,
                    lines: p.steps[p.final_steps()].iter().filter(|s| s.keyword == "RUN").map(|s| s.line).collect(),
                    records,
                    layers,
                    dropped,
                    dropped_files,
                });
            }
            Err(why) => changes.push(Change { finding: fi, applied: false, what: why, lines: vec![], records: vec![], layers: vec![], dropped: vec![], dropped_files: vec![] }),
        }
    }
    changes.sort_by_key(|c| c.finding);

    let dockerignore = ignore::with(context, ignore);
    Ok(Outcome { dockerfile: out, dockerignore, requirements, projects, changes })
}

/// The files of `layers` outside every Python environment a distribution of those layers was
/// installed into (the prefix above `lib/pythonX.Y`, or the environment itself): what a
/// builder stage leaves behind when the runtime stage copies only the environment.
fn outside_envs(a: &Analyzed, layers: &[u64]) -> Vec<u32> {
    if layers.is_empty() {
        return vec![];
    }
    let owners = &a.attribution.owners;
    let roots: Vec<String> = a
        .attribution
        .dists
        .iter()
        .filter(|d| layers.contains(&u64::from(owners[d.owner as usize].layer)))
        .map(|d| {
            let env = d.env.trim_start_matches('/');
            let root = env.find("/lib/python").map_or(env, |i| &env[..i]);
            format!("{root}/")
        })
        .collect();
    let t = &a.tree;
    let mut out = Vec::new();
    for (n, node) in t.nodes.iter().enumerate() {
        if node.kind != crate::layers::tree::Kind::File || !layers.contains(&u64::from(t.inodes[node.inode as usize].layer)) {
            continue;
        }
        let path = String::from_utf8_lossy(&t.path(n as u32)).trim_start_matches('/').to_string();
        if !roots.iter().any(|r| path.starts_with(r.as_str())) {
            out.push(node.inode);
        }
    }
    out.sort();
    out.dedup();
    out
}
