//! Content-equal files for the `duplicate-files` rule: only files of at least 1 MiB whose
//! sizes collide are hashed, reading just their byte ranges again (xxh3-128).

use super::Draft;
use super::view::{MAX_PATHS, View};
use crate::image::resolve::Image;
use crate::image::store::Source;
use crate::layers::tree::Tree;
use crate::model::analysis::Action;
use crate::show::human;
use hashbrown::HashMap;

pub const MIN_SIZE: u64 = 1 << 20;

/// Groups of live inodes with equal content (each group has at least two).
#[derive(Debug, Default)]
pub struct Duplicates {
    pub groups: Vec<Vec<u32>>,
    /// Bytes read again to hash.
    pub bytes_hashed: u64,
}

pub fn find(src: &Source, image: &Image, tree: &Tree) -> Result<Option<Duplicates>, String> {
    let mut by_size: HashMap<u64, Vec<u32>> = HashMap::new();
    for (ino, i) in tree.inodes.iter().enumerate() {
        if i.links > 0 && i.size >= MIN_SIZE && !i.sparse {
            by_size.entry(i.size).or_default().push(ino as u32);
        }
    }
    let candidates: Vec<u32> = by_size.into_values().filter(|v| v.len() > 1).flatten().collect();
    let mut per_layer: HashMap<u16, Vec<u32>> = HashMap::new();
    for &ino in &candidates {
        per_layer.entry(tree.inodes[ino as usize].layer).or_default().push(ino);
    }
    let mut hashes: HashMap<u32, u128> = HashMap::new();
    let mut bytes_hashed = 0;
    for (layer, mut inos) in per_layer {
        inos.sort_by_key(|&i| tree.inodes[i as usize].offset);
        let ranges: Vec<(u64, u64)> = inos.iter().map(|&i| (tree.inodes[i as usize].offset, tree.inodes[i as usize].size)).collect();
        let name = &image.layers[layer as usize].name;
        match src.hash_ranges(name, &ranges) {
            None => return Ok(None),
            Some(r) => {
                for (ino, h) in inos.iter().zip(r?) {
                    hashes.insert(*ino, h);
                }
            }
        }
        bytes_hashed += ranges.iter().map(|r| r.1).sum::<u64>();
    }
    let mut by_hash: HashMap<(u64, u128), Vec<u32>> = HashMap::new();
    for (ino, h) in hashes {
        by_hash.entry((tree.inodes[ino as usize].size, h)).or_default().push(ino);
    }
    let mut groups: Vec<Vec<u32>> = by_hash.into_values().filter(|g| g.len() > 1).collect();
    for g in &mut groups {
        g.sort_unstable();
    }
    groups.sort();
    Ok(Some(Duplicates { groups, bytes_hashed }))
}

/// The duplicate-files rule: every copy but one of each group could go.
pub fn rule(v: &View, d: &Duplicates, out: &mut Vec<Draft>) {
    if d.groups.is_empty() {
        return;
    }
    let mut removed = Vec::new();
    let mut notes = Vec::new();
    let mut groups = d.groups.clone();
    groups.sort_by_key(|g| std::cmp::Reverse(v.size(g[0]) * (g.len() as u64 - 1)));
    for g in &groups {
        removed.extend(&g[1..]);
        if notes.len() < MAX_PATHS {
            notes.push(format!("{} × {}: {}", g.len(), human(v.size(g[0])), g.iter().map(|&i| v.path(i)).collect::<Vec<_>>().join(", ")));
        }
    }
    if groups.len() > MAX_PATHS {
        notes.push(format!("and {} more groups", groups.len() - MAX_PATHS));
    }
    out.push(Draft::new(
        "duplicate-files",
        format!("{} files of 1 MiB or more are copies of another file ({})", removed.len(), human(v.bytes(&removed))),
        removed.clone(),
        0,
        format!("Content compared by xxh3-128 over files whose sizes collide ({} read to hash); every copy but one could go or become a hard link.", human(d.bytes_hashed)),
        v.evidence(&removed, vec![], vec![], notes),
        "Keep one copy: delete the others in the step that creates them, or hard-link them.".into(),
        Action::AdviceOnly,
    ));
}
