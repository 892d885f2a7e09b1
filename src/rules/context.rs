//! context-leak: files COPY/ADD brought in from the build context that a .dockerignore keeps
//! out (.git, node_modules, a workstation's venv, caches, secrets).

use super::view::View;
use super::{Draft, step};
use crate::attribute::OwnerKind;
use crate::model::analysis::Action;
use crate::show::human;
use hashbrown::{HashMap, HashSet};

pub(super) fn context_leak(v: &View, out: &mut Vec<Draft>) {
    let t = &v.a.tree;
    let copied = |layer: u16| {
        v.a.analysis.layers.get(layer as usize).and_then(|l| l.created_by.as_deref()).is_some_and(|c| {
            let c = c.trim_start_matches("/bin/sh -c #(nop) ").trim_start();
            c.starts_with("COPY") || c.starts_with("ADD")
        })
    };
    // Paths a COPY/ADD wrote, even if a later layer (chmod -R) wrote them again.
    let mut from_context: HashSet<u32> = t.waste.iter().filter(|w| copied(w.added_in)).map(|w| w.node).collect();
    for n in t.final_files() {
        if copied(t.nodes[n as usize].layer) {
            from_context.insert(n);
        }
    }
    // (pattern for .dockerignore, what it is, is it a secret)
    let mut hits: HashMap<&'static str, (Vec<u32>, bool, HashSet<u16>)> = HashMap::new();
    for n in t.final_files() {
        let node = &t.nodes[n as usize];
        if !from_context.contains(&n) {
            continue;
        }
        let ino = node.inode;
        if v.a.attribution.owners[v.a.attribution.by_inode[ino as usize] as usize].kind != OwnerKind::Category {
            continue;
        }
        let path = t.path(n);
        let p = String::from_utf8_lossy(&path);
        let comps: Vec<&str> = p.split('/').collect();
        let name = comps.last().copied().unwrap_or("");
        let hit: Option<(&'static str, bool)> = if comps.contains(&".git") {
            Some(("**/.git", false))
        } else if comps.contains(&"node_modules") {
            Some(("**/node_modules", false))
        } else if let Some(i) = comps.iter().position(|c| *c == ".venv" || *c == "venv") {
            // A venv made in the image (or copied from a builder stage) points at an
            // interpreter the image has; one copied from a workstation does not.
            foreign_venv(v, &comps[..=i]).then_some(("**/.venv", false))
        } else if comps.contains(&"__pycache__") || name.ends_with(".pyc") {
            Some(("**/__pycache__", false))
        } else if comps.iter().any(|c| matches!(*c, ".pytest_cache" | ".mypy_cache" | ".ruff_cache" | ".tox" | ".ipynb_checkpoints")) {
            Some(("**/.*_cache", false))
        } else if name == ".env" || name.starts_with(".env.") {
            Some(("**/.env*", true))
        } else if name.ends_with(".key")
            || name.starts_with("id_rsa")
            || name.starts_with("id_ed25519")
            || (name.ends_with(".pem") && (name.contains("key") || name.contains("private")))
        {
            Some(("**/*.key", true))
        } else {
            None
        };
        if let Some((pat, secret)) = hit {
            let e = hits.entry(pat).or_insert((Vec::new(), secret, HashSet::new()));
            e.0.push(ino);
            e.2.insert(node.layer);
        }
    }
    let mut pats: Vec<&'static str> = hits.keys().copied().collect();
    pats.sort();
    for pat in pats {
        let (inos, secret, layers) = &hits[pat];
        let mut ls: Vec<u16> = layers.iter().copied().collect();
        ls.sort();
        let mut d = Draft::new(
            "context-leak",
            if *secret {
                format!("secrets copied from the build context ({}): {}", pat, v.path(inos[0]))
            } else {
                format!("{pat} copied from the build context: {} in {} files", human(v.bytes(inos)), inos.len())
            },
            inos.clone(),
            0,
            "Files that COPY/ADD brought in from the build context and nothing at run time needs; a .dockerignore keeps them out.".into(),
            v.evidence(
                inos,
                vec![],
                ls.iter().map(|&l| step(v.a, u64::from(l))).collect(),
                if *secret { vec!["a secret in an image is readable by anyone who can pull it: rotate it".into()] } else { vec![] },
            ),
            format!("Add {pat} to .dockerignore."),
            Action::Dockerignore { patterns: vec![pat.to_string()] },
        );
        if *secret {
            d.severity = Some("high");
        }
        out.push(d);
    }
}

/// Is the venv at `comps` one whose interpreter is not in the image (or has no pyvenv.cfg)?
fn foreign_venv(v: &View, comps: &[&str]) -> bool {
    let dir = comps.join("/");
    let Some(cfg) = v.a.tree.get(format!("{dir}/pyvenv.cfg").as_bytes()) else { return true };
    let Some(text) = v.a.tree.contents.get(&cfg) else { return true };
    let text = String::from_utf8_lossy(text);
    let home = text.lines().find_map(|l| l.split_once('=').filter(|(k, _)| k.trim() == "home").map(|(_, h)| h.trim().trim_start_matches('/').to_string()));
    match home {
        Some(h) => v.a.tree.get(h.as_bytes()).is_none(),
        None => true,
    }
}
