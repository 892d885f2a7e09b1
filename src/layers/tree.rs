//! The merged filesystem: layers applied in order with the runtime's semantics (OCI image-spec
//! layer.md). An arena of nodes addressed by index; removed paths stay as `Gone` tombstones so
//! a path re-created later keeps its history (which dive's efficiency score needs).
//! Here: the arena, path resolution (symlinks followed within budgets) and what the merged
//! filesystem holds; how one layer changes it is `apply`.

use super::walk::quote;
use hashbrown::{DefaultHashBuilder, HashMap, HashTable};
use std::hash::BuildHasher;

pub const ROOT: u32 = 0;
const NONE: u32 = u32::MAX;
/// Symlinks followed while resolving one path, as Linux allows (MAXSYMLINKS).
const MAX_LINKS: u32 = 40;
/// Path components of symlink targets followed, in all, before any budget is earned: enough
/// for any image's lookups to start with.
const LINK_WORK_BASE: u64 = 1 << 20;
/// What each path resolution adds to that budget. Real images follow a few components per
/// lookup (`lib` → `usr/lib`); 40 links of 4 KiB targets are 80,000 per lookup, and 8,000
/// entries beneath such a chain would cost 10^9 steps. Bounding the average keeps the whole
/// merge linear in the number of entries, whatever the links.
const LINK_WORK_PER_LOOKUP: u64 = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Removed by a later layer (kept as a tombstone).
    Gone,
    Dir,
    File,
    Symlink,
    Other,
}

#[derive(Debug)]
pub struct Node {
    pub name: Box<[u8]>,
    pub parent: u32,
    pub kind: Kind,
    /// The layer that last wrote this path.
    pub layer: u16,
    /// Index into `dirs` once this path has been a directory.
    dir: u32,
    /// Index into `inodes` while a regular file.
    pub inode: u32,
    eff_cum: u64,
    eff_min: u64,
}

/// File content: several paths (hard links) may share one.
#[derive(Debug, Clone)]
pub struct Inode {
    pub size: u64,
    /// The layer whose regular-file entry wrote these bytes.
    pub layer: u16,
    /// Live paths that name it; 0 once hidden (then its bytes are waste).
    pub links: u32,
    /// Where its data starts in that layer's uncompressed tar stream.
    pub offset: u64,
    /// A sparse file: its bytes are not stored from `offset` as they are (not compared).
    pub sparse: bool,
    /// The path whose regular-file entry wrote these bytes (a hard link's own entry has none).
    pub origin: u32,
}

/// Per-layer counts, filled while the layer is applied and when later layers hide its files.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LayerStats {
    pub file_bytes: u64,
    pub files_added: u64,
    pub files_changed: u64,
    pub files_removed: u64,
    pub wasted_bytes: u64,
}

/// Bytes of one file a later layer hid (overwrote or deleted).
#[derive(Debug, Clone)]
pub struct Waste {
    /// The path whose entry wrote the bytes.
    pub node: u32,
    pub inode: u32,
    pub bytes: u64,
    pub added_in: u16,
    pub hidden_in: u16,
}

pub struct Tree {
    pub nodes: Vec<Node>,
    dirs: Vec<HashTable<u32>>,
    hasher: DefaultHashBuilder,
    pub inodes: Vec<Inode>,
    pub layers: Vec<LayerStats>,
    pub waste: Vec<Waste>,
    pub symlinks: HashMap<u32, Box<[u8]>>,
    /// Captured contents of live files (see `walk::Capture`).
    pub contents: HashMap<u32, Box<[u8]>>,
    /// Entries a runtime would refuse but slim could go past (reported, not fatal).
    pub warnings: Vec<String>,
    /// Path components of symlink targets followed so far, and what may be followed in all
    /// (see `LINK_WORK_PER_LOOKUP`).
    pub link_work: u64,
    link_budget: u64,
}

impl Default for Tree {
    fn default() -> Self {
        Self::new()
    }
}

/// Normalise a path by its text alone: drop empty and `.` parts, let `..` climb (never above
/// the root), no leading slash.
pub fn lexical(path: &[u8]) -> Vec<u8> {
    let mut parts: Vec<&[u8]> = Vec::new();
    for c in path.split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    parts.join(&b'/')
}

fn lossy(p: &[u8]) -> String {
    String::from_utf8_lossy(p).into_owned()
}

impl Tree {
    pub fn new() -> Self {
        let mut t = Tree {
            nodes: Vec::new(),
            dirs: Vec::new(),
            hasher: DefaultHashBuilder::default(),
            inodes: Vec::new(),
            layers: Vec::new(),
            waste: Vec::new(),
            symlinks: HashMap::new(),
            contents: HashMap::new(),
            warnings: Vec::new(),
            link_work: 0,
            link_budget: LINK_WORK_BASE,
        };
        t.nodes.push(Node { name: Box::new([]), parent: ROOT, kind: Kind::Dir, layer: 0, dir: 0, inode: NONE, eff_cum: 0, eff_min: u64::MAX });
        t.dirs.push(HashTable::new());
        t
    }

    fn child(&self, dir_node: u32, name: &[u8]) -> Option<u32> {
        let d = self.nodes[dir_node as usize].dir;
        if d == NONE {
            return None;
        }
        let h = self.hasher.hash_one(name);
        self.dirs[d as usize].find(h, |&i| &*self.nodes[i as usize].name == name).copied()
    }

    /// Children of a directory node, tombstones included.
    pub fn children(&self, n: u32) -> Vec<u32> {
        let d = self.nodes[n as usize].dir;
        if d == NONE {
            return Vec::new();
        }
        self.dirs[d as usize].iter().copied().collect()
    }

    fn new_child(&mut self, parent: u32, name: &[u8], kind: Kind, layer: u16) -> u32 {
        let idx = self.nodes.len() as u32;
        self.nodes.push(Node { name: name.into(), parent, kind, layer, dir: NONE, inode: NONE, eff_cum: 0, eff_min: u64::MAX });
        let d = self.dir_table(parent);
        let h = self.hasher.hash_one(name);
        let nodes = &self.nodes;
        let hasher = &self.hasher;
        self.dirs[d as usize].insert_unique(h, idx, |&i| hasher.hash_one(&*nodes[i as usize].name));
        idx
    }

    fn dir_table(&mut self, n: u32) -> u32 {
        let node = &mut self.nodes[n as usize];
        if node.dir == NONE {
            node.dir = self.dirs.len() as u32;
            self.dirs.push(HashTable::new());
        }
        node.dir
    }

    /// Make `n` a live node of `kind` written by `layer` (reviving a tombstone).
    fn set_kind(&mut self, n: u32, kind: Kind, layer: u16) {
        let node = &mut self.nodes[n as usize];
        node.kind = kind;
        node.layer = layer;
        if kind == Kind::Dir {
            self.dir_table(n);
        }
    }

    /// Step from directory `cur` into `comp`, following symlinks. With `create`, missing or
    /// removed directories are made (as a runtime's MkdirAll would) and a non-directory in the
    /// way is replaced (with a warning).
    fn step(&mut self, cur: u32, comp: &[u8], create: Option<u16>, links: &mut u32) -> Result<Option<u32>, String> {
        match comp {
            b"" | b"." => return Ok(Some(cur)),
            b".." => return Ok(Some(self.nodes[cur as usize].parent)),
            _ => {}
        }
        let found = self.child(cur, comp);
        let kind = found.map(|n| self.nodes[n as usize].kind);
        match (found, kind) {
            (Some(n), Some(Kind::Dir)) => Ok(Some(n)),
            (Some(n), Some(Kind::Symlink)) => {
                *links += 1;
                if *links > MAX_LINKS {
                    return Err(format!("too many levels of symbolic links at {} (a symlink loop or a hostile chain)", quote(&self.path(n))));
                }
                let target = self.symlinks.get(&n).cloned().unwrap_or_default();
                self.link_work += 1 + target.iter().filter(|&&b| b == b'/').count() as u64;
                if self.link_work > self.link_budget {
                    return Err(format!(
                        "symlinks cost more than {LINK_WORK_PER_LOOKUP} steps per path on average to resolve, at {} (a hostile chain of long links)",
                        quote(&self.path(n))
                    ));
                }
                let start = if target.starts_with(b"/") { ROOT } else { cur };
                self.resolve_from(start, &target, create, links)
            }
            (Some(n), Some(Kind::File | Kind::Other)) => match create {
                Some(layer) => {
                    self.warnings.push(format!("{:?} is not a directory but layer {layer} puts entries under it; replaced", lossy(&self.path(n))));
                    self.remove(n, layer, true);
                    self.set_kind(n, Kind::Dir, layer);
                    Ok(Some(n))
                }
                None => Ok(None),
            },
            (Some(n), _) => match create {
                Some(layer) => {
                    self.set_kind(n, Kind::Dir, layer);
                    Ok(Some(n))
                }
                None => Ok(None),
            },
            (None, _) => match create {
                Some(layer) => Ok(Some(self.new_child(cur, comp, Kind::Dir, layer))),
                None => Ok(None),
            },
        }
    }

    fn resolve_from(&mut self, start: u32, path: &[u8], create: Option<u16>, links: &mut u32) -> Result<Option<u32>, String> {
        let mut cur = start;
        for comp in path.split(|&b| b == b'/') {
            match self.step(cur, comp, create, links)? {
                Some(n) => cur = n,
                None => return Ok(None),
            }
        }
        Ok(Some(cur))
    }

    /// The directory that holds `path`'s last component, and that component.
    fn parent_of<'p>(&mut self, path: &'p [u8], create: Option<u16>) -> Result<Option<(u32, &'p [u8])>, String> {
        let (dir, name) = match path.iter().rposition(|&b| b == b'/') {
            Some(i) => (&path[..i], &path[i + 1..]),
            None => (&path[..0], path),
        };
        let mut links = 0;
        self.link_budget += LINK_WORK_PER_LOOKUP;
        Ok(self.resolve_from(ROOT, dir, create, &mut links)?.map(|p| (p, name)))
    }

    /// The live node at `path` (parents' symlinks followed, the last component not).
    pub fn lookup(&mut self, path: &[u8]) -> Result<Option<u32>, String> {
        if path.is_empty() {
            return Ok(Some(ROOT));
        }
        let Some((parent, name)) = self.parent_of(path, None)? else {
            return Ok(None);
        };
        Ok(self.child(parent, name).filter(|&n| self.nodes[n as usize].kind != Kind::Gone))
    }

    /// The live node `path` names once every symlink is followed, the last one too (as
    /// opening the file would); None when it dangles, loops or leaves nothing.
    pub fn resolve(&mut self, path: &[u8]) -> Option<u32> {
        let mut path = path.to_vec();
        for _ in 0..MAX_LINKS {
            let n = self.lookup(&path).ok()??;
            if self.nodes[n as usize].kind != Kind::Symlink {
                return Some(n);
            }
            let target = self.symlinks.get(&n)?.clone();
            let parent = self.path(self.nodes[n as usize].parent);
            path = if target.starts_with(b"/") {
                target.to_vec()
            } else {
                let mut p = parent;
                p.push(b'/');
                p.extend_from_slice(&target);
                p
            };
            path = lexical(&path);
        }
        None
    }

    /// Read-only lookup that does not follow symlinks at all.
    pub fn get(&self, path: &[u8]) -> Option<u32> {
        let mut cur = ROOT;
        for comp in path.split(|&b| b == b'/').filter(|c| !c.is_empty()) {
            cur = self.child(cur, comp)?;
            if self.nodes[cur as usize].kind == Kind::Gone {
                return None;
            }
        }
        Some(cur)
    }

    pub fn is_live(&self, n: u32) -> bool {
        self.nodes[n as usize].kind != Kind::Gone
    }

    /// Full path of a node, without a leading slash.
    pub fn path(&self, mut n: u32) -> Vec<u8> {
        let mut parts = Vec::new();
        while n != ROOT {
            let node = &self.nodes[n as usize];
            parts.push(&*node.name);
            n = node.parent;
        }
        let mut out = Vec::new();
        for (i, p) in parts.iter().rev().enumerate() {
            if i > 0 {
                out.push(b'/');
            }
            out.extend_from_slice(p);
        }
        out
    }

    /// (bytes, files) of the regular files of the merged filesystem, hard links once.
    pub fn final_totals(&self) -> (u64, u64) {
        self.inodes.iter().filter(|i| i.links > 0).fold((0, 0), |(b, f), i| (b + i.size, f + 1))
    }

    /// dive's efficiency score: Σ smallest size seen per path ÷ Σ all sizes seen per path.
    pub fn efficiency(&self) -> f64 {
        let (mut min, mut cum) = (0u128, 0u128);
        for n in &self.nodes {
            if n.eff_min != u64::MAX {
                min += u128::from(n.eff_min);
                cum += u128::from(n.eff_cum);
            }
        }
        if cum == 0 { 1.0 } else { min as f64 / cum as f64 }
    }

    /// Live regular-file nodes, each inode once (the first path met in creation order).
    pub fn final_files(&self) -> Vec<u32> {
        let mut seen = vec![false; self.inodes.len()];
        let mut out = Vec::new();
        for (i, n) in self.nodes.iter().enumerate() {
            if n.kind == Kind::File && !std::mem::replace(&mut seen[n.inode as usize], true) {
                out.push(i as u32);
            }
        }
        out
    }

    /// Bytes and file counts of every live directory (hard links once, charged to the path
    /// `final_files` picks).
    pub fn dir_sizes(&self) -> (Vec<u64>, Vec<u64>) {
        let mut bytes = vec![0u64; self.nodes.len()];
        let mut files = vec![0u64; self.nodes.len()];
        for n in self.final_files() {
            bytes[n as usize] = self.inodes[self.nodes[n as usize].inode as usize].size;
            files[n as usize] = 1;
        }
        // Parents are always created before their children: one backward pass sums up.
        for i in (1..self.nodes.len()).rev() {
            if self.nodes[i].kind == Kind::Gone {
                continue;
            }
            let p = self.nodes[i].parent as usize;
            bytes[p] += bytes[i];
            files[p] += files[i];
        }
        (bytes, files)
    }
}

mod apply;

#[cfg(test)]
mod tests;
