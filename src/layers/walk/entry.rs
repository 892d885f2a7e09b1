//! What one tar entry means to the merged filesystem: its kind (file, directory, link,
//! whiteout, opaque marker), its normalised path, its size (sparse files at their apparent
//! size), its link target, and the contents the capture keeps; hostile paths and targets refused.

use super::in_place::ReadAhead;
use super::{Budget, Capture, HASH_MIN, Keep, ctx};
use crate::io::compress::Compression;
use std::io::Read;

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

/// Longest path Linux takes, the terminating NUL included (`symlink(2)` refuses a target of
/// this many bytes or more with ENAMETOOLONG): a longer symlink target is an input error.
pub const PATH_MAX: usize = 4096;
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
                    return Err(format!("hostile entry path {}: it climbs out of the root with '..'", quote(raw)));
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
        None => Err(format!("entry {}: a PAX sparse file without a valid GNU.sparse.realsize", quote(&name.unwrap_or_else(|| e.path_bytes().into_owned())))),
    }
}
/// Add one tar entry to `out`. With `hashes`, the data of regular files of at least `HASH_MIN`
/// bytes is read (it would be read to skip it anyway) and hashed, where the stream's buffer
/// holds it; `Compression` names the stream in errors.
pub(super) fn push_entry<R: Read>(
    mut e: tar::Entry<R>,
    capture: Capture,
    budget: &Budget,
    out: &mut Vec<LayerEntry>,
    hashes: Option<(&mut Vec<(u64, u128)>, Compression, &dyn ReadAhead)>,
) -> Result<(), String> {
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
        out.push(LayerEntry { path: dir.into(), kind: EntryKind::Opaque, size: 0, offset: 0, link: None, content: None, sparse: false });
        return Ok(());
    }
    if let Some(name) = base.strip_prefix(b".wh.") {
        if name.is_empty() {
            return Err(format!("entry {}: a whiteout with no name ('.wh.')", quote(&raw)));
        }
        out.push(LayerEntry { path: join(dir, name), kind: EntryKind::Whiteout, size: 0, offset: 0, link: None, content: None, sparse: false });
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
        return Err(format!("entry {}: a sparse file of {size} bytes, more than a filesystem holds (16 TiB)", quote(&raw)));
    }
    let link = match kind {
        EntryKind::Symlink => {
            let target = e.link_name_bytes().map(|l| l.into_owned().into_boxed_slice());
            if let Some(t) = target.as_ref().filter(|t| t.len() >= PATH_MAX) {
                return Err(format!("entry {}: symlink target of {} bytes, longer than PATH_MAX ({PATH_MAX}): no runtime can create it", quote(&raw), t.len()));
            }
            target
        }
        EntryKind::Hardlink => {
            let l = e.link_name_bytes().ok_or_else(|| format!("entry {}: a hard link with no target", quote(&raw)))?;
            Some(normalize(&l)?.ok_or_else(|| format!("entry {}: a hard link to the root", quote(&raw)))?)
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
        e.read_to_end(&mut buf).map_err(|err| format!("entry {}: {err}", quote(&raw)))?;
        Some(buf.into_boxed_slice())
    } else {
        None
    };
    if let Some((hashes, c, data)) = hashes.filter(|_| kind == EntryKind::File && !sparse && size >= HASH_MIN) {
        let err = |err| format!("entry {}: {}", quote(&raw), ctx(c, err));
        let h = match &content {
            Some(c) => xxhash_rust::xxh3::xxh3_128(c),
            None => {
                let mut h = xxhash_rust::xxh3::Xxh3::new();
                // The stream stands at the entry's data: it always does for a regular file.
                if data.read_ahead(offset, size, &mut |b| h.update(b)).map_err(err)?.is_none() {
                    let mut buf = vec![0u8; 256 * 1024];
                    loop {
                        let n = e.read(&mut buf).map_err(err)?;
                        if n == 0 {
                            break;
                        }
                        h.update(&buf[..n]);
                    }
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
    out.push(LayerEntry { path, kind, size, offset, link, content, sparse });
    Ok(())
}
