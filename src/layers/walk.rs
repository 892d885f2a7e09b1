//! Stream one layer blob (compressed or not) into a list of `LayerEntry`s: paths normalised,
//! whiteouts recognised, file data skipped (seeked over when the blob is seekable), and the
//! contents of the few small files attribution needs captured on the way.

use crate::io::blob::{Counter, Tally};
use crate::io::compress::{self, Compression};
use std::cell::Cell;
use std::io::{self, Cursor, Read, Seek, SeekFrom};
use std::rc::Rc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// What one tar entry does to the filesystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    File,
    Dir,
    Symlink,
    /// Type 1: another name for a file already in the tree (`link` names it).
    Hardlink,
    /// Character/block devices and FIFOs.
    Other,
    /// `.wh.NAME`: hides `path` (the NAME it names) in lower layers.
    Whiteout,
    /// `.wh..wh..opq`: hides everything lower layers put under the directory `path`.
    Opaque,
}

/// One entry of a layer, as it applies to the merged tree.
#[derive(Debug, Clone)]
pub struct LayerEntry {
    /// Normalised path: no leading `/` or `./`, no `.` components, no trailing `/`.
    /// Raw bytes: non-UTF-8 names are kept as they are.
    pub path: Box<[u8]>,
    pub kind: EntryKind,
    /// Apparent size of a regular file; 0 for everything else.
    pub size: u64,
    /// Where the file's data starts in the uncompressed tar stream.
    pub offset: u64,
    /// Symlink target (as written) or hard-link target (normalised).
    pub link: Option<Box<[u8]>>,
    /// The file's bytes, when the capture predicate asked for them.
    pub content: Option<Box<[u8]>>,
    /// A sparse file (GNU or PAX): `size` is its apparent size, and its bytes are not stored
    /// from `offset` as they are.
    pub sparse: bool,
}

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

/// What to keep of a file's contents.
#[derive(Debug, Clone, Copy)]
pub enum Keep {
    Nothing,
    All,
    /// Only what this function makes of them (library source reduced to its imports, so a
    /// big environment's code costs a few bytes per import, not its size).
    Digest(fn(&[u8]) -> Vec<u8>),
}

/// Longest path Linux takes, the terminating NUL included (`symlink(2)` refuses a target of
/// this many bytes or more with ENAMETOOLONG): a longer symlink target is an input error.
pub const PATH_MAX: usize = 4096;

/// Decides which files' contents to keep, from (path, size).
pub type Capture<'a> = &'a (dyn Fn(&[u8], u64) -> Keep + Sync);

/// What one image may keep of its files' contents in all (dpkg `.list`s, RECORDs, the app's
/// source, imports of library code): real images keep a few MB to a few tens; a hostile one
/// can list thousands of 30 MB `.list` files that compress to almost nothing.
pub const CONTENT_BUDGET: u64 = 256 << 20;

/// One allowance of bytes, shared by every layer scan of an image (on several threads), and
/// what did not fit in it.
#[derive(Debug)]
pub struct Budget {
    pub limit: u64,
    used: AtomicU64,
    skipped: Mutex<Skipped>,
}

/// Files not kept because the budget had run out.
#[derive(Debug, Default, Clone)]
pub struct Skipped {
    pub files: u64,
    pub bytes: u64,
    /// The first path skipped (normalised, raw bytes).
    pub first: Option<Box<[u8]>>,
}

impl Budget {
    pub fn new(limit: u64) -> Self {
        Budget { limit, used: AtomicU64::new(0), skipped: Mutex::default() }
    }

    /// Take `n` bytes of the allowance; false, and nothing taken, when fewer are left.
    pub fn take(&self, n: u64) -> bool {
        self.used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |u| u.checked_add(n).filter(|&t| t <= self.limit))
            .is_ok()
    }

    /// Give back bytes taken but not kept (a file reduced to its digest).
    pub fn give_back(&self, n: u64) {
        self.used.fetch_sub(n, Ordering::Relaxed);
    }

    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }

    /// Note a file of `size` bytes that did not fit.
    pub fn skip(&self, path: &[u8], size: u64) {
        let mut s = self.skipped.lock().unwrap();
        s.files += 1;
        s.bytes += size;
        s.first.get_or_insert_with(|| path.into());
    }

    pub fn skipped(&self) -> Skipped {
        self.skipped.lock().unwrap().clone()
    }
}

/// Captures nothing.
pub fn capture_none(_: &[u8], _: u64) -> Keep {
    Keep::Nothing
}

/// An entry's path for an error message: quoted, control characters escaped, and cut to
/// 120 characters so the message still says what is wrong with it.
pub fn quote(raw: &[u8]) -> String {
    let s = String::from_utf8_lossy(raw);
    let mut q = crate::escape::escape(&s);
    if q.chars().count() > 120 {
        q = q.chars().take(119).collect::<String>() + "…";
    }
    format!("\"{q}\"")
}

/// Normalise an entry path. `Ok(None)` is the root itself. A `..` that would climb out of
/// the root is refused: no runtime should be asked to write outside it.
pub fn normalize(raw: &[u8]) -> Result<Option<Box<[u8]>>, String> {
    let mut parts: Vec<&[u8]> = Vec::new();
    for comp in raw.split(|&b| b == b'/') {
        match comp {
            b"" | b"." => {}
            b".." => {
                if parts.pop().is_none() {
                    return Err(format!(
                        "hostile entry path {}: it climbs out of the root with '..'",
                        quote(raw)
                    ));
                }
            }
            c => parts.push(c),
        }
    }
    Ok((!parts.is_empty()).then(|| parts.join(&b'/').into_boxed_slice()))
}

fn split_last(path: &[u8]) -> (&[u8], &[u8]) {
    match path.iter().rposition(|&b| b == b'/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => (&[], path),
    }
}

fn join(dir: &[u8], name: &[u8]) -> Box<[u8]> {
    if dir.is_empty() {
        return name.into();
    }
    let mut v = Vec::with_capacity(dir.len() + 1 + name.len());
    v.extend_from_slice(dir);
    v.push(b'/');
    v.extend_from_slice(name);
    v.into_boxed_slice()
}

/// Largest apparent size taken from a sparse file (ext4's largest file): an entry can claim
/// any size in a few bytes of header, and sums of such sizes must not overflow.
const MAX_APPARENT: u64 = 1 << 44;

/// The real name (when the header has another) and apparent size of a PAX sparse file, as GNU
/// tar writes them (`--format=posix --sparse`, formats 0.0, 0.1 and 1.0): its header names
/// `GNUSparseFile.NNNN/NAME` and stores the sparse map and the data. None for other entries.
fn pax_sparse<R: Read>(e: &mut tar::Entry<R>) -> Result<Option<(Option<Vec<u8>>, u64)>, String> {
    let Ok(Some(exts)) = e.pax_extensions() else {
        return Ok(None);
    };
    let (mut name, mut size, mut sparse) = (None, None, false);
    for x in exts.flatten() {
        match x.key_bytes() {
            b"GNU.sparse.name" => name = Some(x.value_bytes().to_vec()),
            b"GNU.sparse.realsize" | b"GNU.sparse.size" => {
                sparse = true;
                size = std::str::from_utf8(x.value_bytes()).ok().and_then(|v| v.trim().parse::<u64>().ok());
            }
            b"GNU.sparse.major" | b"GNU.sparse.map" | b"GNU.sparse.numblocks" | b"GNU.sparse.offset" => sparse = true,
            _ => {}
        }
    }
    if !sparse {
        return Ok(None);
    }
    match size {
        Some(size) => Ok(Some((name, size))),
        None => Err(format!(
            "entry {}: a PAX sparse file without a valid GNU.sparse.realsize",
            quote(&name.unwrap_or_else(|| e.path_bytes().into_owned()))
        )),
    }
}

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
    let entries = ar
        .entries_with_seek()
        .map_err(|e| format!("not a tar archive: {e}"))?;
    let mut out = Vec::new();
    for e in entries {
        let e = e.map_err(|e| format!("bad tar entry: {}", tar_error(&e)))?;
        // A GNU sparse file's size is its apparent one; what it stores is the header's.
        let stored = if e.header().entry_type().is_gnu_sparse() { e.header().entry_size().unwrap_or(0) } else { e.size() };
        let end = e.raw_file_position().saturating_add(stored);
        if end > blob_len {
            return Err(format!(
                "entry {} runs past the end of the blob (truncated layer)",
                quote(&e.path_bytes())
            ));
        }
        push_entry(e, capture, budget, &mut out, None)?;
    }
    Ok(LayerScan {
        entries: out,
        compression: Compression::None,
        blob_bytes: blob_len,
        tar_bytes: blob_len,
        digest: None,
        diff_digest: None,
        hashes: Vec::new(),
    })
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
/// end so the tar size and the blob's sha256 (when `hash`) cover every byte.
pub fn scan_stream<R: Read>(r: R, capture: Capture, budget: &Budget, hash: bool) -> Result<LayerScan, String> {
    let mut raw = Tally::new(r, hash);
    let head = compress::read_head(&mut raw, 512).map_err(|e| e.to_string())?;
    let c = Compression::sniff(&head);
    let (entries, tar_bytes, hashes, diff_digest) = {
        let chained = Cursor::new(head.clone()).chain(&mut raw);
        let decoded = compress::decoder(c, chained).map_err(|e| ctx(c, e))?;
        scan_decoded(decoded, c, &head, capture, budget)?
    };
    let (blob_bytes, digest) = raw.finish().map_err(|e| ctx(c, e))?;
    let diff_digest = if c == Compression::None { digest.clone() } else { diff_digest };
    Ok(LayerScan {
        entries,
        compression: c,
        blob_bytes,
        tar_bytes,
        digest,
        diff_digest,
        hashes,
    })
}

/// Read a compressed layer blob that is read in full anyway with its reading and sha256 on a
/// thread of their own, so that this thread only decodes and walks.
pub fn scan_prefetched<R: Read + Send>(r: R, capture: Capture, budget: &Budget) -> Result<LayerScan, String> {
    std::thread::scope(|s| {
        let (mut pre, reader) = crate::io::blob::Prefetched::spawn(s, r);
        let head = compress::read_head(&mut pre, 512).map_err(|e| e.to_string())?;
        let c = Compression::sniff(&head);
        let scanned = {
            let chained = Cursor::new(head.clone()).chain(&mut pre);
            compress::decoder_buf(c, chained)
                .map_err(|e| ctx(c, e))
                .and_then(|decoded| scan_decoded(decoded, c, &head, capture, budget))
                .and_then(|r| {
                    io::copy(&mut pre, &mut io::sink()).map_err(|e| ctx(c, e))?;
                    Ok(r)
                })
        };
        drop(pre);
        let read = reader.join().map_err(|_| "the thread reading the blob panicked".to_string())?;
        let (entries, tar_bytes, hashes, diff_digest) = scanned?;
        let (blob_bytes, digest) = read.map_err(|e| ctx(c, e))?;
        let diff_digest = if c == Compression::None { Some(digest.clone()) } else { diff_digest };
        Ok(LayerScan {
            entries,
            compression: c,
            blob_bytes,
            tar_bytes,
            digest: Some(digest),
            diff_digest,
            hashes,
        })
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
/// files of at least `HASH_MIN` bytes, the sha256 of the tar stream when it was compressed).
type Decoded = (Vec<LayerEntry>, u64, Vec<(u64, u128)>, Option<String>);
fn scan_decoded(decoded: Box<dyn Read + '_>, c: Compression, head: &[u8], capture: Capture, budget: &Budget) -> Result<Decoded, String> {
    let ctx = |e: io::Error| ctx(c, e);
    let mut entries = Vec::new();
    let mut hashes = Vec::new();
    let tar_count = Rc::new(Cell::new(0u64));
    // Inflate works in large outputs: straight into the tar reader's 512-byte header reads and
    // 32 KiB skips, matches that reach back past the buffer go through the window, refilled
    // after every call (6% slower on the ML image). zstd buffers its own output: a second
    // buffer would only add a copy (4% slower there).
    let decoded: Box<dyn Read + '_> = match c {
        Compression::Gzip => Box::new(io::BufReader::with_capacity(DECODED_CHUNK, decoded)),
        _ => decoded,
    };
    // The decoded stream is what the config's diff_id names: hashed on a thread of its own.
    let mut counted = Counter {
        inner: Tally::new(decoded, c != Compression::None),
        count: tar_count.clone(),
    };
    let mut tar_head = Vec::new();
    if c == Compression::None {
        check_tar_head(head)?;
    } else {
        tar_head = compress::read_head(&mut counted, 512).map_err(ctx)?;
        check_tar_head(&tar_head)?;
    }
    let tar_input = Cursor::new(tar_head).chain(&mut counted);
    {
        let mut ar = tar::Archive::new(tar_input);
        let iter = ar.entries().map_err(|e| format!("not a tar archive: {e}"))?;
        for e in iter {
            let e = e.map_err(|e| format!("bad tar entry: {}", ctx(io::Error::other(tar_error(&e)))))?;
            push_entry(e, capture, budget, &mut entries, Some((&mut hashes, c)))?;
        }
    }
    // What follows the end-of-archive marker still belongs to the stream.
    io::copy(&mut counted, &mut io::sink()).map_err(ctx)?;
    let (_, diff_digest) = counted.inner.finish().map_err(ctx)?;
    Ok((entries, tar_count.get(), hashes, diff_digest))
}

/// Add one tar entry to `out`. With `hashes`, the data of regular files of at least `HASH_MIN`
/// bytes is read (it would be read to skip it anyway) and hashed; `Compression` names the
/// stream in errors.
fn push_entry<R: Read>(mut e: tar::Entry<R>, capture: Capture, budget: &Budget, out: &mut Vec<LayerEntry>, hashes: Option<(&mut Vec<(u64, u128)>, Compression)>) -> Result<(), String> {
    use tar::EntryType as T;
    let ty = e.header().entry_type();
    if ty.is_pax_global_extensions() {
        return Ok(());
    }
    let pax_sparse = pax_sparse(&mut e)?;
    let raw = match &pax_sparse {
        Some((Some(name), _)) => name.clone(),
        _ => e.path_bytes().into_owned(),
    };
    let Some(path) = normalize(&raw)? else {
        return Ok(());
    };
    // AUFS bookkeeping (`.wh..wh.plnk/…`, `.wh..wh.aufs`) is not content.
    let comps = path.split(|&b| b == b'/');
    let mut aufs = false;
    for c in comps {
        if c.starts_with(b".wh..wh.") && c != b".wh..wh..opq" {
            aufs = true;
        }
    }
    if aufs {
        return Ok(());
    }
    let (dir, base) = split_last(&path);
    if base == b".wh..wh..opq" {
        out.push(LayerEntry {
            path: dir.into(),
            kind: EntryKind::Opaque,
            size: 0,
            offset: 0,
            link: None,
            content: None,
            sparse: false,
        });
        return Ok(());
    }
    if let Some(name) = base.strip_prefix(b".wh.") {
        if name.is_empty() {
            return Err(format!(
                "entry {}: a whiteout with no name ('.wh.')",
                quote(&raw)
            ));
        }
        out.push(LayerEntry {
            path: join(dir, name),
            kind: EntryKind::Whiteout,
            size: 0,
            offset: 0,
            link: None,
            content: None,
            sparse: false,
        });
        return Ok(());
    }
    let offset = e.raw_file_position();
    let (kind, mut size) = match ty {
        T::Regular | T::Continuous | T::GNUSparse => (EntryKind::File, e.size()),
        T::Directory => (EntryKind::Dir, 0),
        T::Symlink => (EntryKind::Symlink, 0),
        T::Link => (EntryKind::Hardlink, 0),
        T::Char | T::Block | T::Fifo => (EntryKind::Other, 0),
        // Unknown types: tar readers treat them as regular files.
        _ => (EntryKind::File, e.size()),
    };
    let sparse = kind == EntryKind::File && (ty.is_gnu_sparse() || pax_sparse.is_some());
    if let Some((_, apparent)) = pax_sparse {
        size = apparent;
    }
    if sparse && size > MAX_APPARENT {
        return Err(format!(
            "entry {}: a sparse file of {size} bytes, more than a filesystem holds (16 TiB)",
            quote(&raw)
        ));
    }
    let link = match kind {
        EntryKind::Symlink => {
            let target = e.link_name_bytes().map(|l| l.into_owned().into_boxed_slice());
            if let Some(t) = target.as_ref().filter(|t| t.len() >= PATH_MAX) {
                return Err(format!(
                    "entry {}: symlink target of {} bytes, longer than PATH_MAX ({PATH_MAX}): no runtime can create it",
                    quote(&raw),
                    t.len()
                ));
            }
            target
        }
        EntryKind::Hardlink => {
            let l = e.link_name_bytes().ok_or_else(|| {
                format!("entry {}: a hard link with no target", quote(&raw))
            })?;
            Some(normalize(&l)?.ok_or_else(|| {
                format!("entry {}: a hard link to the root", quote(&raw))
            })?)
        }
        _ => None,
    };
    // A sparse file's stored bytes are not its contents: not captured, not hashed.
    let mut keep = if kind == EntryKind::File && !sparse { capture(&path, size) } else { Keep::Nothing };
    // The whole file is held while it is read (a digest is taken from it, then the rest is
    // given back): past the budget, it is not read at all.
    if !matches!(keep, Keep::Nothing) && !budget.take(size) {
        budget.skip(&path, size);
        keep = Keep::Nothing;
    }
    let content = if !matches!(keep, Keep::Nothing) {
        let mut buf = Vec::with_capacity(size as usize);
        e.read_to_end(&mut buf)
            .map_err(|err| format!("entry {}: {err}", quote(&raw)))?;
        Some(buf.into_boxed_slice())
    } else {
        None
    };
    if let Some((hashes, c)) = hashes.filter(|_| kind == EntryKind::File && !sparse && size >= HASH_MIN) {
        let h = match &content {
            Some(c) => xxhash_rust::xxh3::xxh3_128(c),
            None => {
                let mut h = xxhash_rust::xxh3::Xxh3::new();
                let mut buf = vec![0u8; 256 * 1024];
                loop {
                    let n = e
                        .read(&mut buf)
                        .map_err(|err| format!("entry {}: {}", quote(&raw), ctx(c, err)))?;
                    if n == 0 {
                        break;
                    }
                    h.update(&buf[..n]);
                }
                h.digest128()
            }
        };
        hashes.push((offset, h));
    }
    let content = match (keep, content) {
        (Keep::Digest(f), Some(c)) => {
            let d = f(&c).into_boxed_slice();
            budget.give_back(size.saturating_sub(d.len() as u64));
            Some(d)
        }
        (_, c) => c,
    };
    out.push(LayerEntry {
        path,
        kind,
        size,
        offset,
        link,
        content,
        sparse,
    });
    Ok(())
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
            let pre = scan_prefetched(&blob[..], &capture_none, &Budget::new(0)).unwrap();
            assert_eq!(key(&one), key(&pre));
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

    #[test]
    fn a_truncated_blob_fails_the_prefetched_scan_as_the_one_pass_one() {
        let (tar, _, _) = layer();
        let blob = gzip(&tar);
        let cut = &blob[..blob.len() / 2];
        let one = scan_stream(cut, &capture_none, &Budget::new(0), true).unwrap_err();
        let pre = scan_prefetched(cut, &capture_none, &Budget::new(0)).unwrap_err();
        assert!(pre.contains("gzip"), "{pre}");
        assert_eq!(one, pre);
    }
}
