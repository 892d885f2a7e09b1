//! The final filesystem as a tree small enough to draw: owner kind → group → owner →
//! directories → files, where everything smaller than a fixed share of the image is folded into
//! one "N smaller files" node per parent. A 500k-file image keeps a few thousand nodes, so the
//! HTML report stays light while every node's bytes still add up to its parent's.

use crate::attribute::{Attribution, groups::GroupTable};
use crate::layers::tree::{Kind, Tree};
use crate::model::analysis::MapNode;
use crate::show::display_path;
use std::collections::{BTreeMap, HashMap};

/// A node smaller than this share of the image is folded into its parent's `rest`.
const SHARE: u64 = 1500;
/// At most this many children per node; the rest are folded.
const CHILDREN: usize = 40;

/// Bytes per layer of a subtree, to colour it by the layer that wrote most of it.
type ByLayer = BTreeMap<u16, u64>;

fn merge(into: &mut ByLayer, from: &ByLayer) {
    for (&l, &b) in from {
        *into.entry(l).or_default() += b;
    }
}

fn top_layer(by: &ByLayer) -> u64 {
    // Largest bytes; the later layer on a tie (max_by keeps the last maximum).
    by.iter().max_by_key(|(_, b)| **b).map_or(0, |(l, _)| u64::from(*l))
}

/// One owner's part of the filesystem: tree node → its bytes, files and children there.
#[derive(Default)]
struct Entry {
    bytes: u64,
    files: u64,
    children: Vec<u32>,
}

struct Owned<'t> {
    tree: &'t Tree,
    entries: HashMap<u32, Entry>,
    floor: u64,
}

impl Owned<'_> {
    fn by_layer(&self, n: u32) -> ByLayer {
        let mut by = ByLayer::new();
        let mut stack = vec![n];
        while let Some(n) = stack.pop() {
            let node = &self.tree.nodes[n as usize];
            if node.kind == Kind::File {
                let ino = &self.tree.inodes[node.inode as usize];
                *by.entry(ino.layer).or_default() += ino.size;
            } else {
                stack.extend(&self.entries[&n].children);
            }
        }
        by
    }

    /// The node for tree node `n` (a file, or a directory with the chain of directories that
    /// hold only one directory each followed down), named relative to `parent`.
    fn emit(&self, mut n: u32, parent: &str) -> (MapNode, ByLayer) {
        let tree = self.tree;
        if tree.nodes[n as usize].kind == Kind::File {
            let e = &self.entries[&n];
            let ino = &tree.inodes[tree.nodes[n as usize].inode as usize];
            let path = display_path(&tree.path(n));
            let node =
                MapNode { level: "file".into(), name: relative(&path, parent), path: Some(path), bytes: e.bytes, files: 1, layer: u64::from(ino.layer), children: Vec::new() };
            return (node, ByLayer::from([(ino.layer, e.bytes)]));
        }
        loop {
            let kids = &self.entries[&n].children;
            if kids.len() == 1 && tree.nodes[kids[0] as usize].kind != Kind::File {
                n = kids[0];
            } else {
                break;
            }
        }
        let path = if n == 0 { "/".to_string() } else { display_path(&tree.path(n)) };
        let e = &self.entries[&n];
        let (children, by) = self.fold(&e.children, &path);
        let node = MapNode { level: "dir".into(), name: relative(&path, parent), path: Some(path), bytes: e.bytes, files: e.files, layer: top_layer(&by), children };
        (node, by)
    }

    /// The children worth a rectangle, largest first, then one `rest` for the others.
    fn fold(&self, kids: &[u32], path: &str) -> (Vec<MapNode>, ByLayer) {
        let mut kids = kids.to_vec();
        kids.sort_unstable_by(|a, b| self.entries[b].bytes.cmp(&self.entries[a].bytes).then(a.cmp(b)));
        let mut out = Vec::new();
        let mut by = ByLayer::new();
        let mut rest = (0u64, 0u64, ByLayer::new());
        for (i, &k) in kids.iter().enumerate() {
            let e = &self.entries[&k];
            if i < CHILDREN && e.bytes >= self.floor {
                let (node, b) = self.emit(k, path);
                merge(&mut by, &b);
                out.push(node);
            } else {
                rest.0 += e.bytes;
                rest.1 += e.files;
                merge(&mut rest.2, &self.by_layer(k));
            }
        }
        if rest.1 > 0 {
            merge(&mut by, &rest.2);
            out.push(rest_node(rest.1, rest.0, top_layer(&rest.2), "files"));
        }
        (out, by)
    }
}

fn rest_node(count: u64, bytes: u64, layer: u64, what: &str) -> MapNode {
    MapNode { level: "rest".into(), name: format!("{count} smaller {what}"), path: None, bytes, files: 0, layer, children: Vec::new() }
}

/// `path` below `parent`: `/usr/lib/x` under `/usr` is `lib/x`.
fn relative(path: &str, parent: &str) -> String {
    let p = parent.trim_end_matches('/');
    match path.strip_prefix(p).and_then(|r| r.strip_prefix('/')) {
        Some(r) if !p.is_empty() && !r.is_empty() => r.to_string(),
        _ => path.to_string(),
    }
}

/// Children of a named level (kinds, groups, owners) with bytes, files and layers, folded the
/// same way as directories.
struct Named {
    node: MapNode,
    by: ByLayer,
    files: u64,
}

fn fold_named(mut items: Vec<Named>, floor: u64, what: &str) -> (Vec<MapNode>, ByLayer) {
    items.sort_by(|a, b| b.node.bytes.cmp(&a.node.bytes).then_with(|| a.node.name.cmp(&b.node.name)));
    let mut out = Vec::new();
    let mut by = ByLayer::new();
    let (mut n, mut bytes, mut rest_by, mut files) = (0u64, 0u64, ByLayer::new(), 0u64);
    for (i, it) in items.into_iter().enumerate() {
        merge(&mut by, &it.by);
        if i < CHILDREN && it.node.bytes >= floor {
            out.push(it.node);
        } else {
            n += 1;
            bytes += it.node.bytes;
            files += it.files;
            merge(&mut rest_by, &it.by);
        }
    }
    if n > 0 {
        let mut r = rest_node(n, bytes, top_layer(&rest_by), what);
        r.files = files;
        out.push(r);
    }
    (out, by)
}

fn named(level: &str, name: String, children: Vec<MapNode>, by: ByLayer) -> Named {
    let bytes = children.iter().map(|c| c.bytes).sum();
    let files = children.iter().map(|c| c.files).sum();
    Named { node: MapNode { level: level.into(), name, path: None, bytes, files, layer: top_layer(&by), children }, by, files }
}

/// The treemap of the final filesystem as attributed.
pub fn build(tree: &Tree, a: &Attribution, table: &GroupTable) -> MapNode {
    let (total, _) = tree.final_totals();
    let floor = (total / SHARE).max(1);
    let mut per_owner: Vec<Vec<u32>> = vec![Vec::new(); a.owners.len()];
    for n in tree.final_files() {
        per_owner[a.by_inode[tree.nodes[n as usize].inode as usize] as usize].push(n);
    }
    // kind → group ("" for none) → owners.
    let mut kinds: BTreeMap<&str, BTreeMap<String, Vec<Named>>> = BTreeMap::new();
    for (o, files) in per_owner.iter().enumerate() {
        if files.is_empty() {
            continue;
        }
        let info = &a.owners[o];
        let mut entries: HashMap<u32, Entry> = HashMap::new();
        for &f in files {
            let size = tree.inodes[tree.nodes[f as usize].inode as usize].size;
            let mut n = f;
            loop {
                let e = entries.entry(n).or_default();
                let fresh = e.files == 0;
                e.bytes += size;
                e.files += 1;
                if n == 0 {
                    break;
                }
                let p = tree.nodes[n as usize].parent;
                if fresh {
                    entries.entry(p).or_default().children.push(n);
                }
                n = p;
            }
        }
        let owned = Owned { tree, entries, floor };
        let (dir, by) = owned.emit(0, "");
        let mut name = info.name.clone();
        if info.unrecorded {
            name.push_str(" (unrecorded files)");
        }
        let files_n = dir.files;
        // The owner takes the place of the directory all its files are under.
        let node = MapNode {
            level: "owner".into(),
            name,
            path: dir.path.clone(),
            bytes: dir.bytes,
            files: dir.files,
            layer: dir.layer,
            children: if dir.children.is_empty() { vec![dir] } else { dir.children },
        };
        let group = table.group_of(info.kind, &info.name).unwrap_or("").to_string();
        kinds.entry(info.kind.name()).or_default().entry(group).or_default().push(Named { node, by, files: files_n });
    }
    let mut kind_nodes = Vec::new();
    for (kind, groups) in kinds {
        let mut items = Vec::new();
        for (group, owners) in groups {
            if group.is_empty() {
                items.extend(owners);
            } else {
                let (children, by) = fold_named(owners, floor, "owners");
                items.push(named("group", group, children, by));
            }
        }
        let (children, by) = fold_named(items, floor, "owners");
        kind_nodes.push(named("kind", kind.to_string(), children, by));
    }
    // Every kind keeps its own rectangle, however small: the colours' legend.
    kind_nodes.sort_by(|a, b| b.node.bytes.cmp(&a.node.bytes).then_with(|| a.node.name.cmp(&b.node.name)));
    let by = kind_nodes.iter().fold(ByLayer::new(), |mut acc, k| {
        merge(&mut acc, &k.by);
        acc
    });
    let root = named("image", "/".into(), kind_nodes.into_iter().map(|k| k.node).collect(), by);
    root.node
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths() {
        assert_eq!(relative("/usr/lib/x", "/usr"), "lib/x");
        assert_eq!(relative("/usr/lib/x", "/"), "/usr/lib/x");
        assert_eq!(relative("/usr", ""), "/usr");
        assert_eq!(relative("/usrx", "/usr"), "/usrx");
    }

    #[test]
    fn the_layer_with_most_bytes_colours() {
        assert_eq!(top_layer(&ByLayer::from([(1, 5), (3, 9), (4, 2)])), 3);
        assert_eq!(top_layer(&ByLayer::new()), 0);
    }
}
