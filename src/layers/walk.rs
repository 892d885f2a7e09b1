//! Stream one layer blob (compressed or not) into a list of `LayerEntry`s: paths normalised,
//! whiteouts recognised, file data skipped (seeked over when the blob is seekable), and the
//! contents of the few small files attribution needs captured on the way.
//! Here: reading the blob (seeked, streamed or prefetched); what one entry means is `entry`,
//! what is kept of file contents `keep`.

mod entry;
mod in_place;
mod keep;

use crate::io::blob::Tally;
use crate::io::compress::{self, Compression};
use crate::io::pipe::{self, Prefetched, ReadAt};
use entry::push_entry;
pub use entry::{EntryKind, LayerEntry, PATH_MAX, normalize, quote};
use in_place::InPlace;
pub use keep::{Budget, CONTENT_BUDGET, Capture, Keep, Skipped, capture_none};
use std::io::{self, BufRead, Cursor, Read, Seek, SeekFrom};

/// Everything slim keeps of one layer blob once it has been read.
#[derive(Debug, Clone)]
pub struct LayerScan {
    pub entries: Vec<LayerEntry>,
    pub compression: Compression,
    /// Bytes of the blob as stored.
    pub blob_bytes: u64,
    /// Bytes of the uncompressed tar stream.
    pub tar_bytes: u64,
    /// sha256 of the blob, when it was read in full (compressed, or from a stream).
    pub digest: Option<String>,
    /// sha256 of the uncompressed tar stream (what a diff_id names), when a compressed blob was
    /// decoded; for an uncompressed blob it is `digest`.
    pub diff_digest: Option<String>,
    /// (data offset, xxh3-128) of the regular files of at least `HASH_MIN` bytes, when their
    /// bytes went past anyway (a decoded or one-pass stream): duplicate detection then needs
    /// no second pass. Empty for a header walk that seeks over data.
    pub hashes: Vec<(u64, u128)>,
}

/// Files from this size up are hashed while a one-pass scan reads them (duplicate detection
/// looks at files of 1 MiB and more; a smaller threshold there only means reading again).
pub const HASH_MIN: u64 = 1 << 20;

/// The tar reader's message for a bad header, without the header's own bytes: it quotes the
/// field it could not parse and the entry's path, which an archive can fill with anything
/// (escape sequences, lines of their own).
pub fn tar_error(e: &io::Error) -> String {
    let msg = e.to_string();
    if let Some(at) = msg.find(" when getting ") {
        let field = msg[at + 14..].split(' ').next().unwrap_or("a field");
        return format!("header field {field} is not a valid number");
    }
    if msg.starts_with("numeric field") {
        return "a header field is not a valid number".into();
    }
    msg
}

/// Read a layer blob that can be seeked: uncompressed tars are walked header by header,
/// seeking over file data; compressed ones are decoded (and hashed) in full.
pub fn scan_seekable<R: Read + Seek>(mut r: R, blob_len: u64, capture: Capture, budget: &Budget) -> Result<LayerScan, String> {
    let head = compress::read_head(&mut r, 512).map_err(|e| e.to_string())?;
    r.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
    let c = Compression::sniff(&head);
    if c != Compression::None {
        return scan_stream(r, capture, budget, true);
    }
    check_tar_head(&head)?;
    let mut ar = tar::Archive::new(r);
    let entries = ar.entries_with_seek().map_err(|e| format!("not a tar archive: {e}"))?;
    let mut out = Vec::new();
    for e in entries {
        let e = e.map_err(|e| format!("bad tar entry: {}", tar_error(&e)))?;
        // A GNU sparse file's size is its apparent one; what it stores is the header's.
        let stored = if e.header().entry_type().is_gnu_sparse() { e.header().entry_size().unwrap_or(0) } else { e.size() };
        let end = e.raw_file_position().saturating_add(stored);
        if end > blob_len {
            return Err(format!("entry {} runs past the end of the blob (truncated layer)", quote(&e.path_bytes())));
        }
        push_entry(e, capture, budget, &mut out, None)?;
    }
    Ok(LayerScan { entries: out, compression: Compression::None, blob_bytes: blob_len, tar_bytes: blob_len, digest: None, diff_digest: None, hashes: Vec::new() })
}

fn check_tar_head(head: &[u8]) -> Result<(), String> {
    if head.is_empty() || compress::looks_like_tar(head) {
        return Ok(());
    }
    if let Some(name) = compress::unsupported_name(head) {
        return Err(format!("{name}-compressed layers are not supported (only gzip and zstd)"));
    }
    Err("not a tar archive (and not gzip or zstd)".into())
}

/// Read a layer blob from a plain reader, in one pass: sniff, decode, walk, then drain to the
/// end so the tar size and the blob's sha256 (when `hash`) cover every byte; with `hash`, the
/// decoded stream of a compressed blob is hashed too (what its diff_id names).
pub fn scan_stream<R: Read>(r: R, capture: Capture, budget: &Budget, hash: bool) -> Result<LayerScan, String> {
    let mut raw = Tally::new(r, hash);
    let head = compress::read_head(&mut raw, 512).map_err(|e| e.to_string())?;
    let c = Compression::sniff(&head);
    let (entries, tar_bytes, hashes, diff_digest) = {
        let chained = Cursor::new(head.clone()).chain(&mut raw);
        let decoded = compress::decoder(c, chained).map_err(|e| ctx(c, e))?;
        // The decoded stream is what the config's diff_id names: hashed on a thread of its own.
        // The walk reads it where a buffer holds it: inflate and zstd write straight into the
        // buffer in large outputs.
        let mut decoded = Tally::new(decoded, hash && c != Compression::None);
        let (entries, tar_bytes, hashes) = scan_decoded(&mut io::BufReader::with_capacity(DECODED_CHUNK, &mut decoded), c, &head, capture, budget)?;
        let (_, diff_digest) = decoded.finish().map_err(|e| ctx(c, e))?;
        (entries, tar_bytes, hashes, diff_digest)
    };
    let (blob_bytes, digest) = raw.finish().map_err(|e| ctx(c, e))?;
    let diff_digest = if c == Compression::None { digest.clone() } else { diff_digest };
    Ok(LayerScan { entries, compression: c, blob_bytes, tar_bytes, digest, diff_digest, hashes })
}

/// Read a blob that is read in full anyway (a compressed one, or any from a registry) on three
/// threads: one reads and sha256-hashes it, this one decodes it, and one walks the decoded
/// stream, so that the decoding thread (the critical path of an image's largest layer) does
/// nothing else. With `hash_tar` the decoded stream is hashed too, on a fourth thread: the
/// diff_id check, which the blob's digest makes redundant when a manifest names it.
pub fn scan_prefetched<R: Read + Send>(r: R, again: Option<&dyn ReadAt>, capture: Capture, budget: &Budget, hash_tar: bool) -> Result<LayerScan, String> {
    std::thread::scope(|s| {
        let (mut pre, reader) = Prefetched::spawn(s, r, again);
        let head = compress::read_head(&mut pre, 512).map_err(|e| e.to_string())?;
        let c = Compression::sniff(&head);
        let scanned = match c {
            Compression::None => {
                let walked = scan_decoded(&mut Cursor::new(head.clone()).chain(&mut pre), c, &head, capture, budget);
                // Dropped before the join: a reader waiting for chunks to come back then stops.
                drop(pre);
                walked.map(|r| (r, None))
            }
            _ => {
                // This thread decodes; the walk runs on a thread of its own.
                let (decoder, mut decoded, hashing) = pipe::decoder(s, hash_tar);
                let tar_head = head.clone();
                let walker = s.spawn(move || scan_decoded(&mut decoded, c, &tar_head, capture, budget));
                // An error reaches the walk through the pipe, and is reported from there.
                let _ = decoder.run(c, Cursor::new(head.clone()).chain(pre));
                let walked = walker.join().map_err(|_| "the thread walking the layer panicked".to_string())?;
                let finished = hashing.finish();
                walked.and_then(|r| Ok((r, finished.map_err(|e| ctx(c, e))?)))
            }
        };
        let read = reader.join().map_err(|_| "the thread reading the blob panicked".to_string())?;
        let ((entries, tar_bytes, hashes), diff_digest) = scanned?;
        let (blob_bytes, digest) = read.map_err(|e| ctx(c, e))?;
        let diff_digest = if c == Compression::None { Some(digest.clone()) } else { diff_digest };
        Ok(LayerScan { entries, compression: c, blob_bytes, tar_bytes, digest: Some(digest), diff_digest, hashes })
    })
}

/// How much decoded tar stream is produced at a time.
const DECODED_CHUNK: usize = 1 << 20;

fn ctx(c: Compression, e: io::Error) -> String {
    match c {
        Compression::None => e.to_string(),
        c => format!("reading {} stream: {e}", c.name()),
    }
}

/// Walk the tar stream `decoded` (whose raw blob starts with `head`) to its end, and what
/// follows its end-of-archive marker too: (entries, bytes of the tar stream, hashes of the
/// files of at least `HASH_MIN` bytes).
type Walked = (Vec<LayerEntry>, u64, Vec<(u64, u128)>);
fn scan_decoded(decoded: &mut dyn BufRead, c: Compression, head: &[u8], capture: Capture, budget: &Budget) -> Result<Walked, String> {
    let ctx = |e: io::Error| ctx(c, e);
    let mut entries = Vec::new();
    let mut hashes = Vec::new();
    let mut tar_head = Vec::new();
    if c == Compression::None {
        check_tar_head(head)?;
    } else {
        tar_head = compress::read_head(&mut &mut *decoded, 512).map_err(ctx)?;
        check_tar_head(&tar_head)?;
    }
    let stream = InPlace::new(Cursor::new(tar_head).chain(decoded));
    {
        let mut ar = tar::Archive::new(stream.handle());
        let iter = ar.entries_with_seek().map_err(|e| format!("not a tar archive: {e}"))?;
        for e in iter {
            let e = e.map_err(|e| format!("bad tar entry: {}", ctx(io::Error::other(tar_error(&e)))))?;
            push_entry(e, capture, budget, &mut entries, Some((&mut hashes, c, &stream)))?;
        }
    }
    // What follows the end-of-archive marker still belongs to the stream.
    let tar_bytes = stream.drain().map_err(ctx)?;
    Ok((entries, tar_bytes, hashes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_strips_prefixes_and_refuses_dotdot() {
        assert_eq!(normalize(b"./usr/bin/").unwrap().unwrap().as_ref(), b"usr/bin");
        assert_eq!(normalize(b"/etc//passwd").unwrap().unwrap().as_ref(), b"etc/passwd");
        assert_eq!(normalize(b"./").unwrap(), None);
        assert!(normalize(b"a/../../etc").is_err());
        assert_eq!(normalize(b"a/b/../c").unwrap().unwrap().as_ref(), b"a/c");
        assert_eq!(normalize(b"caf\xe9").unwrap().unwrap().as_ref(), b"caf\xe9");
    }

    /// A layer with two equal 2 MiB files, one other 1 MiB file and small ones.
    fn layer() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let big: Vec<u8> = (0..2 << 20).map(|i: u32| (i * 7 % 251) as u8).collect();
        let other: Vec<u8> = (0..1 << 20).map(|i: u32| (i * 13 % 241) as u8).collect();
        let mut b = tar::Builder::new(Vec::new());
        let mut add = |path: &str, data: &[u8]| {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, path, data).unwrap();
        };
        add("a/small", b"hello");
        add("a/big", &big);
        add("b/copy", &big);
        add("b/other", &other);
        add("b/tiny", &[1; 1000]);
        (b.into_inner().unwrap(), big, other)
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        io::Write::write_all(&mut e, data).unwrap();
        e.finish().unwrap()
    }

    fn key(s: &LayerScan) -> Vec<(Vec<u8>, u64, u64)> {
        s.entries.iter().map(|e| (e.path.to_vec(), e.size, e.offset)).collect()
    }

    #[test]
    fn prefetched_scans_read_the_same_as_one_pass_and_hash_files_of_a_mebibyte() {
        let (tar, big, other) = layer();
        for blob in [gzip(&tar), zstd::encode_all(&tar[..], 3).unwrap()] {
            let one = scan_stream(&blob[..], &capture_none, &Budget::new(0), true).unwrap();
            let pre = scan_prefetched(&blob[..], None, &capture_none, &Budget::new(0), true).unwrap();
            let unhashed = scan_prefetched(&blob[..], None, &capture_none, &Budget::new(0), false).unwrap();
            assert_eq!(key(&one), key(&pre));
            assert_eq!(key(&unhashed), key(&pre));
            // The decoded stream's sha256 (what a diff_id names) only when asked for.
            assert_eq!(pre.diff_digest.as_deref(), Some(crate::io::blob::sha256_hex(&tar).as_str()));
            assert_eq!(one.diff_digest, pre.diff_digest);
            assert_eq!((unhashed.diff_digest, &unhashed.digest, unhashed.hashes), (None, &pre.digest, pre.hashes.clone()));
            assert_eq!((one.tar_bytes, one.blob_bytes), (pre.tar_bytes, pre.blob_bytes));
            assert_eq!(pre.tar_bytes, tar.len() as u64);
            assert_eq!(one.digest, pre.digest);
            assert_eq!(pre.digest.as_deref(), Some(crate::io::blob::sha256_hex(&blob).as_str()));
            assert_eq!(one.hashes, pre.hashes);
            // The 2 MiB file twice and the 1 MiB one, at their data offsets; small files not.
            let at = |p: &[u8]| pre.entries.iter().find(|e| &*e.path == p).unwrap().offset;
            let h = xxhash_rust::xxh3::xxh3_128;
            assert_eq!(pre.hashes, vec![(at(b"a/big"), h(&big)), (at(b"b/copy"), h(&big)), (at(b"b/other"), h(&other))]);
        }
    }

    #[test]
    fn a_header_walk_hashes_nothing() {
        let (tar, _, _) = layer();
        let s = scan_seekable(Cursor::new(&tar), tar.len() as u64, &capture_none, &Budget::new(0)).unwrap();
        assert!(s.hashes.is_empty());
        assert_eq!(s.entries.len(), 5);
    }

    /// A tar that goes bad early in a blob much longer than the pipes between the threads
    /// hold: the walk fails, and every thread stops (no hang), compressed or not.
    #[test]
    fn a_blob_that_goes_bad_early_fails_without_waiting_for_its_end() {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(100);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, "a", &[1u8; 100][..]).unwrap();
        let mut blob = b.into_inner().unwrap();
        blob.truncate(1024);
        blob.extend((0..16u32 << 20).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 | 1));
        for blob in [blob.clone(), gzip(&blob)] {
            let err = scan_prefetched(&blob[..], None, &capture_none, &Budget::new(0), true).unwrap_err();
            assert!(err.contains("bad tar entry"), "{err}");
        }
    }

    #[test]
    fn a_truncated_blob_fails_the_prefetched_scan_as_the_one_pass_one() {
        let (tar, _, _) = layer();
        let blob = gzip(&tar);
        let cut = &blob[..blob.len() / 2];
        let one = scan_stream(cut, &capture_none, &Budget::new(0), true).unwrap_err();
        let pre = scan_prefetched(cut, None, &capture_none, &Budget::new(0), true).unwrap_err();
        assert!(pre.contains("gzip"), "{pre}");
        assert_eq!(one, pre);
    }
}
