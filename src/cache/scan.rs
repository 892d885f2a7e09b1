//! Scanning an image's layers through the cache: the layers it holds are taken from it, the
//! others read from the source (in parallel, as always) and kept; all of them are handed over
//! in layer order, exactly as a fresh read hands them.
//!
//! What a hit stands for depends on the key (docs/input.md, "The layer cache"):
//! - a compressed blob the manifest names by its sha256, and every registry blob: the blob
//!   digest and the config's diff_id. A hit trusts the manifest's digest for the bytes, as a
//!   container engine's content store does; `--verify` hashes the blob even then.
//! - a local blob read by its headers only (uncompressed), or one no manifest digest names:
//!   the identity of the file holding it (device, inode, size, modification and change times)
//!   and the blob's place there, with the diff_id and whether it was hashed. A fresh read of
//!   such a blob checks no digest, so keying it by one would print what a read of other bytes
//!   produced; by file identity a hit stands for the very bytes a read would see. A file that
//!   changed in the last seconds is not keyed: it could change again without its times moving.

use super::Cache;
use crate::image::resolve::LayerRef;
use crate::image::store::Source;
use crate::layers::walk::{Capture, LayerScan};
use indicatif::ProgressBar;

/// How long a file must have been left alone before its identity names its bytes: longer than
/// the coarsest timestamps of the filesystems slim reads from (2 s on FAT).
const RACY: std::time::Duration = std::time::Duration::from_secs(3);

/// The key naming layer `lref`'s bytes, and the blob's length when it is local (a hit whose
/// length disagrees with the blob's is not taken). None when the layer cannot be keyed.
fn key(src: &Source, lref: &LayerRef, diff_id: Option<&str>) -> Option<(String, Option<u64>)> {
    let diff = diff_id.unwrap_or("-");
    let digest = lref.digest.as_deref().filter(|d| d.starts_with("sha256:"));
    if src.is_stream() {
        return None;
    }
    match src.blob_place(&lref.name) {
        None => digest.map(|d| (format!("layer v1 blob {d} diff {diff}"), None)),
        Some(p) if p.compressed && digest.is_some() => Some((format!("layer v1 blob {} diff {diff}", digest?), Some(p.len))),
        // A file changed moments ago may change again within the same tick of the filesystem's
        // clock, keeping its identity: not keyed until it has been still for a while (git's
        // "racily clean" entries).
        Some(p) if std::time::SystemTime::now().duration_since(p.changed).is_ok_and(|d| d >= RACY) => {
            Some((format!("layer v1 file {} at {} len {} diff {diff} hashed {}", p.identity, p.offset, p.len, src.verify), Some(p.len)))
        }
        Some(_) => None,
    }
}

/// Scan `layers` (their diff_ids from the config alongside) and hand each to `each` in layer
/// order, from `cache` where it holds them. `verify` (the user's `--verify`) hashes local
/// blobs even on a hit, and reads registry blobs again.
#[allow(clippy::too_many_arguments)]
pub fn scan_layers_each(
    src: &Source,
    cache: Option<&Cache>,
    layers: &[LayerRef],
    diff_ids: &[Option<String>],
    verify: bool,
    capture: Capture,
    progress: &ProgressBar,
    each: &mut (dyn FnMut(usize, Result<LayerScan, String>) + Send),
) {
    let names: Vec<String> = layers.iter().map(|l| l.name.clone()).collect();
    let Some(cache) = cache else {
        return src.scan_layers_each(&names, capture, progress, each);
    };
    let keys: Vec<Option<(String, Option<u64>)>> = layers.iter().enumerate().map(|(i, l)| key(src, l, diff_ids.get(i).and_then(|d| d.as_deref()))).collect();
    let remote = src.container == crate::image::store::Container::Registry;
    let hit: Vec<bool> = keys.iter().map(|k| k.as_ref().is_some_and(|(k, _)| cache.has(k)) && !(verify && remote)).collect();
    // Keep a fresh scan, unless the content budget ran out (what it kept is then not all a
    // scan keeps, and which files depends on the order layers were read in).
    let keep = |i: usize, scan: &LayerScan| {
        if let Some((k, _)) = &keys[i] {
            if src.budget.skipped().files == 0 {
                cache.put(k, scan);
            }
        }
    };
    // A layer the cache holds, as a fresh read would give it; read fresh (and kept again)
    // when the entry cannot be used.
    let from_cache = |i: usize| -> Result<LayerScan, String> {
        let (k, len) = keys[i].as_ref().expect("a hit has a key");
        let fresh = || {
            let fresh = src.scan_layers(&names[i..=i], capture, progress).pop().expect("one layer asked, one scanned");
            if let Ok(s) = &fresh {
                keep(i, s);
            }
            fresh
        };
        let Some(mut scan) = cache.get(k).filter(|s| len.is_none_or(|l| l == s.blob_bytes)) else {
            return fresh();
        };
        if verify {
            if let Some(got) = src.blob_digest(&names[i], "sha256:") {
                let got = got?;
                if scan.compression == crate::io::compress::Compression::None {
                    scan.diff_digest = got.clone();
                }
                scan.digest = got;
            }
        }
        // An entry from a read that did not hash the decoded stream cannot answer for the
        // diff_id when it is to be checked (`--verify`, a config no digest names): the blob is
        // read again, unless its digest has just failed (which the check reports).
        let blob_failed = verify && layers[i].digest.as_deref().is_some_and(|d| d.starts_with("sha256:") && scan.digest.as_deref() != Some(d));
        if src.verify && scan.compression != crate::io::compress::Compression::None && scan.diff_digest.is_none() && !blob_failed {
            return fresh();
        }
        let kept: u64 = scan.entries.iter().filter_map(|e| e.content.as_ref()).map(|c| c.len() as u64).sum();
        if !src.budget.take(kept) {
            return fresh();
        }
        src.note_hashes(&names[i], &scan.hashes);
        Ok(scan)
    };
    let misses: Vec<usize> = (0..layers.len()).filter(|&i| !hit[i]).collect();
    let miss_names: Vec<String> = misses.iter().map(|&i| names[i].clone()).collect();
    let mut next = 0usize;
    {
        let mut fresh = |j: usize, scan: Result<LayerScan, String>| {
            let i = misses[j];
            while next < i {
                if hit[next] {
                    each(next, from_cache(next));
                }
                next += 1;
            }
            if let Ok(s) = &scan {
                keep(i, s);
            }
            each(i, scan);
            next = i + 1;
        };
        if !miss_names.is_empty() {
            src.scan_layers_each(&miss_names, capture, progress, &mut fresh);
        }
    }
    while next < layers.len() {
        if hit[next] {
            each(next, from_cache(next));
        }
        next += 1;
    }
}
