//! The merge on layers made of entries directly (no tar): each test says what a runtime's
//! merged filesystem holds and what the bytes left behind are, worked out by hand.

use super::*;
use crate::io::compress::Compression;
use crate::layers::walk::{EntryKind, LayerEntry, LayerScan};

fn entry(path: &str, kind: EntryKind, size: u64, link: Option<&str>) -> LayerEntry {
    LayerEntry { path: path.as_bytes().into(), kind, size, offset: 0, link: link.map(|l| l.as_bytes().into()), content: None, sparse: false }
}
fn file(path: &str, size: u64) -> LayerEntry {
    entry(path, EntryKind::File, size, None)
}
fn dir(path: &str) -> LayerEntry {
    entry(path, EntryKind::Dir, 0, None)
}
fn whiteout(path: &str) -> LayerEntry {
    entry(path, EntryKind::Whiteout, 0, None)
}
fn opaque(dir: &str) -> LayerEntry {
    entry(dir, EntryKind::Opaque, 0, None)
}
fn hardlink(path: &str, target: &str) -> LayerEntry {
    entry(path, EntryKind::Hardlink, 0, Some(target))
}

fn merge(layers: Vec<Vec<LayerEntry>>) -> Tree {
    let mut t = Tree::new();
    for entries in layers {
        t.apply(&LayerScan { entries, compression: Compression::None, blob_bytes: 0, tar_bytes: 0, digest: None, diff_digest: None, hashes: vec![] }).unwrap();
    }
    t
}

/// The live regular files as (path, size), sorted: what the container sees.
fn files(t: &Tree) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = (0..t.nodes.len() as u32)
        .filter(|&n| t.nodes[n as usize].kind == Kind::File)
        .map(|n| (String::from_utf8(t.path(n)).unwrap(), t.inodes[t.nodes[n as usize].inode as usize].size))
        .collect();
    v.sort();
    v
}

fn kind(t: &Tree, path: &str) -> Option<Kind> {
    t.get(path.as_bytes()).map(|n| t.nodes[n as usize].kind)
}

/// Every byte any layer wrote is either in the final filesystem or waste, exactly once.
fn adds_up(t: &Tree) {
    let written: u64 = t.layers.iter().map(|l| l.file_bytes).sum();
    let wasted: u64 = t.waste.iter().map(|w| w.bytes).sum();
    assert_eq!(written, t.final_totals().0 + wasted, "layer bytes = final + waste");
    assert_eq!(wasted, t.layers.iter().map(|l| l.wasted_bytes).sum::<u64>(), "waste list = per-layer waste");
}

#[test]
fn a_whiteout_hides_the_lower_file_and_its_bytes_become_waste_of_the_layer_that_wrote_them() {
    let t = merge(vec![vec![dir("etc"), file("etc/a", 100), file("etc/b", 7)], vec![whiteout("etc/a")]]);
    assert_eq!(files(&t), [("etc/b".to_string(), 7)]);
    assert_eq!(kind(&t, "etc/a"), None, "hidden paths are not found");
    assert_eq!(t.waste.len(), 1);
    let w = &t.waste[0];
    assert_eq!((w.bytes, w.added_in, w.hidden_in), (100, 0, 1));
    assert_eq!(t.layers[0].wasted_bytes, 100);
    assert_eq!(t.layers[1].files_removed, 1);
    assert_eq!(t.final_totals(), (7, 1));
    adds_up(&t);
}

#[test]
fn a_whiteout_does_not_hide_what_its_own_layer_writes() {
    let t = merge(vec![vec![file("x", 10)], vec![file("x", 20), whiteout("x")]]);
    assert_eq!(files(&t), [("x".to_string(), 20)]);
    assert_eq!(t.waste.iter().map(|w| w.bytes).sum::<u64>(), 10);
    adds_up(&t);
}

#[test]
fn a_whiteout_of_a_directory_hides_its_whole_subtree() {
    let t = merge(vec![vec![dir("d"), dir("d/e"), file("d/e/f", 30), file("d/g", 40), file("h", 1)], vec![whiteout("d")]]);
    assert_eq!(files(&t), [("h".to_string(), 1)]);
    assert_eq!(kind(&t, "d/e/f"), None);
    assert_eq!(t.waste.iter().map(|w| w.bytes).sum::<u64>(), 70);
    adds_up(&t);
}

#[test]
fn an_opaque_directory_drops_what_lower_layers_put_there_and_keeps_its_own_layers_files() {
    let t = merge(vec![vec![dir("app"), file("app/old", 50), dir("app/sub"), file("app/sub/deep", 5)], vec![opaque("app"), file("app/new", 8)]]);
    assert_eq!(files(&t), [("app/new".to_string(), 8)]);
    assert_eq!(kind(&t, "app"), Some(Kind::Dir), "the directory itself stays");
    assert_eq!(t.waste.iter().map(|w| w.bytes).sum::<u64>(), 55);
    adds_up(&t);
}

#[test]
fn a_hard_link_across_layers_shares_the_inode_and_its_bytes_count_once() {
    let t = merge(vec![vec![file("bin/tool", 1000)], vec![hardlink("usr/bin/tool", "bin/tool")]]);
    assert_eq!(files(&t), [("bin/tool".to_string(), 1000), ("usr/bin/tool".to_string(), 1000)]);
    assert_eq!(t.final_totals(), (1000, 1), "one inode, counted once");
    assert_eq!(t.final_files().len(), 1);
    let ino = t.nodes[t.get(b"usr/bin/tool").unwrap() as usize].inode;
    assert_eq!(t.inodes[ino as usize].links, 2);
    adds_up(&t);
}

#[test]
fn a_hard_linked_file_is_waste_only_once_its_last_name_goes() {
    let t = merge(vec![vec![file("a", 300), hardlink("b", "a")], vec![whiteout("a")]]);
    assert_eq!(files(&t), [("b".to_string(), 300)], "the other name keeps the bytes");
    assert!(t.waste.is_empty());
    let t = merge(vec![vec![file("a", 300), hardlink("b", "a")], vec![whiteout("a"), whiteout("b")]]);
    assert!(files(&t).is_empty());
    assert_eq!(t.waste.iter().map(|w| w.bytes).sum::<u64>(), 300, "one inode, wasted once");
    adds_up(&t);
}

#[test]
fn a_hard_link_to_something_that_is_not_a_file_is_skipped_with_a_warning() {
    let t = merge(vec![vec![dir("d"), hardlink("l", "d"), hardlink("m", "missing")]]);
    assert!(files(&t).is_empty());
    assert_eq!(t.warnings.len(), 2, "{:?}", t.warnings);
}

#[test]
fn a_file_replaced_by_a_directory_and_back() {
    let t = merge(vec![vec![file("p", 11)], vec![dir("p"), file("p/inner", 22)], vec![file("p", 33)]]);
    assert_eq!(files(&t), [("p".to_string(), 33)]);
    assert_eq!(kind(&t, "p/inner"), None, "the directory's files went with it");
    let mut w: Vec<(u64, u16, u16)> = t.waste.iter().map(|w| (w.bytes, w.added_in, w.hidden_in)).collect();
    w.sort();
    assert_eq!(w, [(11, 0, 1), (22, 1, 2)]);
    adds_up(&t);
}

#[test]
fn overwriting_wastes_each_lower_copy_once_and_counts_changes() {
    let t = merge(vec![vec![file("f", 5)], vec![file("f", 6)], vec![file("f", 7), file("g", 1)]]);
    assert_eq!(files(&t), [("f".to_string(), 7), ("g".to_string(), 1)]);
    assert_eq!(t.layers.iter().map(|l| l.wasted_bytes).collect::<Vec<_>>(), [5, 6, 0]);
    assert_eq!((t.layers[2].files_changed, t.layers[2].files_added), (1, 1));
    adds_up(&t);
}

#[test]
fn directory_sizes_sum_their_live_files_with_hard_links_once() {
    let t = merge(vec![vec![dir("a"), dir("a/b"), file("a/b/c", 10), file("a/d", 20), hardlink("a/e", "a/d"), file("z", 1)]]);
    let (bytes, count) = t.dir_sizes();
    let a = t.get(b"a").unwrap() as usize;
    let ab = t.get(b"a/b").unwrap() as usize;
    assert_eq!((bytes[a], count[a]), (30, 2));
    assert_eq!((bytes[ab], count[ab]), (10, 1));
    assert_eq!((bytes[ROOT as usize], count[ROOT as usize]), (31, 3));
}
