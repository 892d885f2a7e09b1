//! npm packages: every `node_modules/NAME/package.json` (and `@scope/NAME`) owns the files
//! under its directory, except those of packages nested in its own node_modules.

use super::{Claims, OwnerInfo, OwnerKind};
use crate::layers::tree::{ROOT, Tree};
use crate::show::display_path;
use hashbrown::HashMap;

pub fn claim(tree: &Tree, claims: &mut Claims) {
    let mut roots: HashMap<u32, u32> = HashMap::new();
    let mut metas: Vec<(Vec<u8>, u32)> =
        tree.contents.keys().copied().filter(|&n| &*tree.nodes[n as usize].name == b"package.json" && tree.is_live(n)).map(|n| (tree.path(n), n)).collect();
    metas.sort();
    for (_, n) in metas {
        let pkg = tree.nodes[n as usize].parent;
        let up = tree.nodes[pkg as usize].parent;
        let up_name = &tree.nodes[up as usize].name;
        let nm = if &**up_name == b"node_modules" {
            up
        } else if up_name.starts_with(b"@") && &*tree.nodes[tree.nodes[up as usize].parent as usize].name == b"node_modules" {
            tree.nodes[up as usize].parent
        } else {
            continue;
        };
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(&tree.contents[&n]) else { continue };
        let name = v["name"].as_str().map(crate::escape::escape).unwrap_or_else(|| String::from_utf8_lossy(&tree.path(pkg)).rsplit('/').next().unwrap_or("").to_string());
        let owner = claims.add_owner(OwnerInfo {
            kind: OwnerKind::Npm,
            name,
            version: v["version"].as_str().map(str::to_string),
            location: Some(display_path(&tree.path(nm))),
            unrecorded: false,
            editable: false,
            layer: tree.nodes[n as usize].layer,
        });
        roots.insert(pkg, owner);
    }
    if roots.is_empty() {
        return;
    }
    for f in tree.final_files() {
        if claims.owner_of(tree, f).is_some() {
            continue;
        }
        let mut p = tree.nodes[f as usize].parent;
        while p != ROOT {
            if let Some(&o) = roots.get(&p) {
                claims.claim(tree, o, f);
                break;
            }
            p = tree.nodes[p as usize].parent;
        }
    }
}
