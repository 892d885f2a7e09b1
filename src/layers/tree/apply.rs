//! One layer applied to the merged tree with the runtime's semantics (OCI image-spec layer.md):
//! whiteouts and opaque markers first, then the layer's own entries; the bytes each hidden file
//! leaves behind (waste), and the occurrences dive's efficiency score counts.

use super::{Inode, Kind, LayerStats, ROOT, Tree, Waste, lossy};
use crate::layers::walk::{EntryKind, LayerEntry, LayerScan, quote};
use hashbrown::HashSet;

impl Tree {
    fn visit(&mut self, n: u32, size: u64) {
        let node = &mut self.nodes[n as usize];
        node.eff_cum += size;
        node.eff_min = node.eff_min.min(size);
    }

    /// The sizes the live paths at or under `n` were written with: a regular file's own entry
    /// its size, a hard link's entry 0 (a tar carries no data for it), so content that several
    /// links share is counted once when all of them go.
    fn subtree_bytes(&self, n: u32) -> u64 {
        let mut total = 0;
        let mut stack = vec![n];
        while let Some(m) = stack.pop() {
            let node = &self.nodes[m as usize];
            match node.kind {
                Kind::File => {
                    let inode = &self.inodes[node.inode as usize];
                    if inode.origin == m {
                        total += inode.size;
                    }
                }
                Kind::Dir => stack.extend(self.children(m)),
                _ => {}
            }
        }
        total
    }

    /// Hide `n` and everything under it on behalf of layer `by`. `count` says whether the
    /// hidden non-directories count as removed by that layer (not when merely overwritten).
    pub(super) fn remove(&mut self, n: u32, by: u16, count: bool) {
        let mut stack = vec![n];
        while let Some(m) = stack.pop() {
            let kind = self.nodes[m as usize].kind;
            match kind {
                Kind::Gone => continue,
                Kind::Dir => stack.extend(self.children(m)),
                Kind::File => {
                    let ino = self.nodes[m as usize].inode as usize;
                    let inode = &mut self.inodes[ino];
                    inode.links -= 1;
                    if inode.links == 0 {
                        let (bytes, added_in) = (inode.size, inode.layer);
                        self.layers[added_in as usize].wasted_bytes += bytes;
                        if bytes > 0 {
                            // Named by the path that wrote the bytes: with several links going
                            // at once, whichever went last would depend on hash order.
                            self.waste.push(Waste { node: inode.origin, inode: ino as u32, bytes, added_in, hidden_in: by });
                        }
                    }
                    self.contents.remove(&m);
                }
                Kind::Symlink => {
                    self.symlinks.remove(&m);
                }
                Kind::Other => {}
            }
            if count && kind != Kind::Dir {
                self.layers[by as usize].files_removed += 1;
            }
            self.nodes[m as usize].kind = Kind::Gone;
        }
    }

    /// Apply one layer on top of what is there. Whiteouts and opaque markers take effect
    /// before the layer's own entries, so they only ever hide lower layers.
    ///
    /// On the way it records what dive's efficiency score sees of the layer: each leaf of the
    /// layer's own tree is one occurrence of its path. A deleted file is an occurrence of size 0;
    /// a deleted directory one of the sizes its paths held; a directory is a leaf only when the
    /// layer has nothing under it (a whiteout beneath it counts as something).
    pub fn apply(&mut self, scan: &LayerScan) -> Result<(), String> {
        let layer = u16::try_from(self.layers.len()).map_err(|_| "more than 65535 layers".to_string())?;
        self.layers.push(LayerStats::default());
        let mut dir_entries = Vec::new();
        for e in scan.entries.iter().filter(|e| e.kind == EntryKind::Whiteout) {
            if let Some(n) = self.lookup(&e.path)? {
                let bytes = if self.nodes[n as usize].kind == Kind::Dir { self.subtree_bytes(n) } else { 0 };
                self.visit(n, bytes);
                self.remove(n, layer, true);
            }
        }
        for e in scan.entries.iter().filter(|e| e.kind == EntryKind::Opaque) {
            // The marker's directory is the parent of an entry: a symlink there is followed,
            // as for any entry's parent (umoci and the runtimes clear the link's target).
            let mut links = 0;
            if let Some(n) = self.resolve_from(ROOT, &e.path, None, &mut links)? {
                if self.nodes[n as usize].kind == Kind::Dir {
                    for c in self.children(n) {
                        self.remove(c, layer, true);
                    }
                    // The marker itself is not a path of the layer's tree: a directory with
                    // nothing else in the layer is a leaf (as dive reads it).
                    dir_entries.push(n);
                }
            }
        }
        let mut touched: HashSet<u32> = HashSet::new();
        for e in &scan.entries {
            if matches!(e.kind, EntryKind::Whiteout | EntryKind::Opaque) {
                continue;
            }
            self.apply_entry(e, layer, &mut touched, &mut dir_entries).map_err(|what| format!("entry {}: {what}", quote(&e.path)))?;
        }
        // A whiteout is an entry under its directory: that directory is no leaf of this layer.
        for e in scan.entries.iter().filter(|e| e.kind == EntryKind::Whiteout) {
            if let Ok(Some((mut p, _))) = self.parent_of(&e.path, None) {
                while touched.insert(p) && p != ROOT {
                    p = self.nodes[p as usize].parent;
                }
            }
        }
        // dive visits only the leaves of each layer's own tree: directories with nothing
        // under them in this layer.
        for d in dir_entries {
            if !touched.contains(&d) && self.nodes[d as usize].kind == Kind::Dir {
                self.visit(d, 0);
            }
        }
        Ok(())
    }

    fn apply_entry(&mut self, e: &LayerEntry, layer: u16, touched: &mut HashSet<u32>, dirs: &mut Vec<u32>) -> Result<(), String> {
        let Some((parent, name)) = self.parent_of(&e.path, Some(layer))? else {
            unreachable!("parent_of creates what is missing");
        };
        let mut p = parent;
        while touched.insert(p) && p != ROOT {
            p = self.nodes[p as usize].parent;
        }
        let existing = self.child(parent, name).filter(|&n| self.is_live(n));
        let existing_kind = existing.map(|n| self.nodes[n as usize].kind);

        if e.kind == EntryKind::Dir {
            let n = match (existing, existing_kind) {
                (Some(n), Some(Kind::Dir)) => {
                    self.nodes[n as usize].layer = layer;
                    n
                }
                (Some(n), _) => {
                    self.remove(n, layer, true);
                    self.set_kind(n, Kind::Dir, layer);
                    n
                }
                (None, _) => match self.child(parent, name) {
                    Some(n) => {
                        self.set_kind(n, Kind::Dir, layer);
                        n
                    }
                    None => self.new_child(parent, name, Kind::Dir, layer),
                },
            };
            dirs.push(n);
            return Ok(());
        }

        // A hard link's target must be resolved before its own path is replaced.
        let link_inode = if e.kind == EntryKind::Hardlink {
            let target = e.link.as_deref().unwrap_or_default();
            let t = self.lookup(target)?;
            match t.map(|t| (t, self.nodes[t as usize].kind)) {
                Some((t, Kind::File)) if Some(t) == existing => return Ok(()),
                Some((t, Kind::File)) => Some((self.nodes[t as usize].inode, self.contents.get(&t).cloned())),
                _ => {
                    self.warnings.push(format!("layer {layer}: hard link {:?} points to {:?}, which is not a regular file; skipped", lossy(&e.path), lossy(target)));
                    return Ok(());
                }
            }
        } else {
            None
        };

        let stats = &mut self.layers[layer as usize];
        match existing_kind {
            None => stats.files_added += 1,
            Some(Kind::Dir) => stats.files_added += 1,
            Some(_) => stats.files_changed += 1,
        }
        let n = match existing {
            Some(n) => {
                let was_dir = existing_kind == Some(Kind::Dir);
                self.remove(n, layer, was_dir);
                n
            }
            None => match self.child(parent, name) {
                Some(n) => n,
                None => self.new_child(parent, name, Kind::Gone, layer),
            },
        };
        match e.kind {
            EntryKind::File => {
                let ino = self.inodes.len() as u32;
                self.inodes.push(Inode { size: e.size, layer, links: 1, offset: e.offset, sparse: e.sparse, origin: n });
                self.layers[layer as usize].file_bytes += e.size;
                self.set_kind(n, Kind::File, layer);
                self.nodes[n as usize].inode = ino;
                self.visit(n, e.size);
                if let Some(c) = &e.content {
                    self.contents.insert(n, c.clone());
                }
            }
            EntryKind::Hardlink => {
                let (ino, content) = link_inode.expect("resolved above");
                self.inodes[ino as usize].links += 1;
                self.set_kind(n, Kind::File, layer);
                self.nodes[n as usize].inode = ino;
                self.visit(n, 0);
                if let Some(c) = content {
                    self.contents.insert(n, c);
                }
            }
            EntryKind::Symlink => {
                self.set_kind(n, Kind::Symlink, layer);
                self.symlinks.insert(n, e.link.clone().unwrap_or_default());
                self.visit(n, 0);
            }
            EntryKind::Other => {
                self.set_kind(n, Kind::Other, layer);
                self.visit(n, 0);
            }
            EntryKind::Dir | EntryKind::Whiteout | EntryKind::Opaque => unreachable!(),
        }
        Ok(())
    }
}
