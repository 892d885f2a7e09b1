//! Bytes that ship but serve nothing at run time: layer-waste (files a later layer hides) and
//! cache-left (caches, bytecode, static libraries and test suites left in a layer).

use super::view::View;
use super::{Draft, step};
use crate::attribute::OwnerKind;
use crate::model::analysis::Action;
use crate::show::human;
use hashbrown::{HashMap, HashSet};

pub(super) fn layer_waste(v: &View, out: &mut Vec<Draft>) {
    let t = &v.a.tree;
    let mut pairs: HashMap<(u16, u16), Vec<u32>> = HashMap::new();
    // For each hidden inode, the path it was first seen at; for each path, the first layer
    // that wrote it. Looked up per pair below, so the rule stays linear in the waste list.
    let mut node_of: HashMap<u32, _> = HashMap::new();
    let mut first_write: HashMap<_, u16> = HashMap::new();
    for w in &t.waste {
        pairs.entry((w.added_in, w.hidden_in)).or_default().push(w.inode);
        node_of.entry(w.inode).or_insert(w.node);
        let f = first_write.entry(w.node).or_insert(w.added_in);
        *f = (*f).min(w.added_in);
    }
    let mut keys: Vec<(u16, u16)> = pairs.keys().copied().collect();
    keys.sort();
    for (added, hidden) in keys {
        let inos = &pairs[&(added, hidden)];
        let step_h = step(v.a, u64::from(hidden));
        let how = step_h.created_by.clone().unwrap_or_default();
        // The step that first wrote these paths (a later chmod -R may have written them again).
        let first = inos.iter().filter_map(|i| node_of.get(i)).filter_map(|n| first_write.get(n).copied()).min().unwrap_or(added).min(added);
        let (text, action) = if how.contains("chmod -R") || how.contains("chown -R") || how.contains("chgrp -R") {
            (
                "Set ownership and modes when the files are copied (COPY --chown=… --chmod=…) instead of a later chown -R/chmod -R, which copies every file again.".to_string(),
                Action::CopyChown { layer: u64::from(hidden) },
            )
        } else if how.contains("rm ") {
            (
                "Delete the files in the same RUN that creates them, or build them in another stage.".to_string(),
                Action::MergeRuns { create_layer: u64::from(first), delete_layer: u64::from(hidden) },
            )
        } else {
            ("Write these files once: build in another stage and copy only the result, or make the step that creates them final.".to_string(), Action::AdviceOnly)
        };
        let mut seen = HashSet::new();
        let inos: Vec<u32> = inos.iter().copied().filter(|i| seen.insert(*i)).collect();
        out.push(Draft::new(
            "layer-waste",
            format!("layer {hidden} hides {} that layer {added} wrote ({} file{}): both still ship", human(v.bytes(&inos)), inos.len(), if inos.len() == 1 { "" } else { "s" }),
            inos.clone(),
            0,
            "Hidden bytes are still in the lower layer: every pull downloads and every node stores them.".into(),
            v.evidence(&inos, vec![], vec![step(v.a, u64::from(added)), step_h], vec![]),
            text,
            action,
        ));
    }
}

pub(super) fn cache_left(v: &View, out: &mut Vec<Draft>) {
    let model_files: HashSet<String> = v.a.analysis.models.iter().flat_map(|m| m.paths.iter().cloned()).collect();
    let model_dirs: Vec<String> = v.a.analysis.models.iter().flat_map(|m| m.paths.iter().filter_map(|p| p.rsplit_once('/').map(|(d, _)| format!("{d}/")))).collect();
    for (cat, text, action) in [
        ("pip-cache", "pip's cache: install with --no-cache-dir (or a cache mount) so it never lands in a layer.", Action::PipNoCacheDir),
        ("uv-cache", "uv's cache: install with --no-cache (or UV_NO_CACHE=1, or a cache mount) so it never lands in a layer.", Action::PipNoCacheDir),
        ("apt-lists", "apt lists: remove /var/lib/apt/lists/* in the same RUN as apt-get install.", Action::AptCleanup),
        ("apt-archives", "downloaded .deb archives: apt-get clean in the same RUN as apt-get install.", Action::AptCleanup),
        ("other-cache", "caches under ~/.cache: clear them in the step that fills them, or use a cache mount.", Action::AdviceOnly),
        ("pycache", "bytecode written at build time outside the interpreter's own library: set PYTHONDONTWRITEBYTECODE=1.", Action::NoBytecode),
        ("site-packages-tests", "test suites inside site-packages no package owns: delete them in the installing step.", Action::AdviceOnly),
        ("static-libs", "static libraries (.a) are only needed to link: drop them from the final image.", Action::AdviceOnly),
    ] {
        let mut inos = Vec::new();
        let mut layers: HashMap<u16, u64> = HashMap::new();
        for i in v.owner_ids(OwnerKind::Category, cat) {
            for &ino in &v.owner_inodes[i] {
                let p = v.path(ino);
                if model_files.contains(&p) || model_dirs.iter().any(|d| p.starts_with(d)) {
                    continue;
                }
                // The interpreter's own library, and Debian's py3compile output for its python3
                // packages (/usr/lib/python3/dist-packages, /usr/share/python3), which
                // PYTHONDONTWRITEBYTECODE does not prevent.
                if cat == "pycache"
                    && (p.starts_with("/usr/lib/python3") || p.starts_with("/usr/share/python3/") || p.starts_with("/usr/local/lib/python3.") && !p.contains("-packages/"))
                {
                    continue;
                }
                *layers.entry(v.a.tree.inodes[ino as usize].layer).or_default() += v.size(ino);
                inos.push(ino);
            }
        }
        if inos.is_empty() {
            continue;
        }
        let mut ls: Vec<(u16, u64)> = layers.into_iter().collect();
        ls.sort_by(|a, b| b.1.cmp(&a.1));
        out.push(Draft::new(
            "cache-left",
            format!("{cat}: {} in {} files left in the image", human(v.bytes(&inos)), inos.len()),
            inos.clone(),
            0,
            "Nothing at run time reads these files; the saving is their bytes.".into(),
            v.evidence(&inos, vec![format!("category:{cat}")], ls.iter().take(3).map(|(l, _)| step(v.a, u64::from(*l))).collect(), vec![]),
            text.into(),
            action,
        ));
    }
}
