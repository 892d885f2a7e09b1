//! The indexes over the analysed image that the rules share: each owner's live inodes, a path
//! for every inode, evidence lists capped at the largest files.

use crate::attribute::OwnerKind;
use crate::attribute::python::Dist;
use crate::facts::Analyzed;
use crate::model::analysis::{Evidence, LayerStep};

const NONE: u32 = u32::MAX;
pub(super) const MAX_PATHS: usize = 10;

/// Indexes over the analysis the rules share.
pub struct View<'a> {
    pub a: &'a Analyzed,
    /// owner index → its live inodes.
    pub(super) owner_inodes: Vec<Vec<u32>>,
    /// inode → one node that names it (NONE when hidden).
    rep: Vec<u32>,
}

impl<'a> View<'a> {
    pub(super) fn new(a: &'a Analyzed) -> Self {
        let t = &a.tree;
        let mut rep = vec![NONE; t.inodes.len()];
        for n in t.final_files() {
            rep[t.nodes[n as usize].inode as usize] = n;
        }
        for w in &t.waste {
            if rep[w.inode as usize] == NONE {
                rep[w.inode as usize] = w.node;
            }
        }
        let mut owner_inodes = vec![Vec::new(); a.attribution.owners.len()];
        for (ino, i) in t.inodes.iter().enumerate() {
            if i.links > 0 {
                owner_inodes[a.attribution.by_inode[ino] as usize].push(ino as u32);
            }
        }
        View { a, owner_inodes, rep }
    }

    pub(super) fn size(&self, ino: u32) -> u64 {
        self.a.tree.inodes[ino as usize].size
    }

    pub(super) fn bytes(&self, inos: &[u32]) -> u64 {
        inos.iter().map(|&i| self.size(i)).sum()
    }

    pub(super) fn path(&self, ino: u32) -> String {
        match self.rep[ino as usize] {
            NONE => "(unknown)".into(),
            n => crate::attribute::shown(&self.a.tree, n),
        }
    }

    /// Evidence paths: the largest first, capped.
    pub(super) fn evidence(&self, inos: &[u32], owners: Vec<String>, layers: Vec<LayerStep>, notes: Vec<String>) -> Evidence {
        let mut v: Vec<u32> = inos.to_vec();
        v.sort_by(|&x, &y| self.size(y).cmp(&self.size(x)).then(x.cmp(&y)));
        Evidence { paths: v.iter().take(MAX_PATHS).map(|&i| self.path(i)).collect(), more_paths: v.len().saturating_sub(MAX_PATHS) as u64, owners, layers, notes }
    }

    /// Live inodes of a distribution, its unrecorded files included.
    pub(super) fn dist_inodes(&self, d: &Dist) -> Vec<u32> {
        let base = &self.a.attribution.owners[d.owner as usize];
        let mut out = Vec::new();
        for (i, o) in self.a.attribution.owners.iter().enumerate() {
            if o.kind == OwnerKind::Python && o.name == base.name && o.location == base.location {
                out.extend(&self.owner_inodes[i]);
            }
        }
        out
    }

    pub(super) fn dists(&self) -> &[Dist] {
        &self.a.attribution.dists
    }

    pub(super) fn owner_ids(&self, kind: OwnerKind, name: &str) -> Vec<usize> {
        self.a.attribution.owners.iter().enumerate().filter(|(_, o)| o.kind == kind && o.name == name).map(|(i, _)| i).collect()
    }

    /// Names of the distributions that require distribution `i` (the active edges of the one
    /// dependency graph, `Usage::graph`), sorted.
    pub(super) fn required_by(&self, i: usize) -> Vec<String> {
        let mut v: Vec<String> = self.a.usage.graph.dependents(i).iter().map(|(f, _)| self.dists()[*f].name.clone()).collect();
        v.sort();
        v.dedup();
        v
    }

    pub(super) fn layer_of_dist(&self, d: &Dist) -> u64 {
        u64::from(self.a.attribution.owners[d.owner as usize].layer)
    }
}
