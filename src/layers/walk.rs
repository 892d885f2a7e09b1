//! Stream one layer blob (compressed or not) into a list of `LayerEntry`s: paths normalised,
//! whiteouts recognised, file data skipped (seeked over when the blob is seekable), and the
//! contents of the few small files attribution needs captured on the way.

use crate::image::blob::{Counter, Tally};
use crate::image::compress::{self, Compression};
use std::cell::Cell;
use std::io::{self, Cursor, Read, Seek, SeekFrom};
use std::rc::Rc;

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
}

/// Decides which files' contents to keep (path, size) → keep?
pub type Capture<'a> = &'a (dyn Fn(&[u8], u64) -> bool + Sync);

/// Captures nothing.
pub fn capture_none(_: &[u8], _: u64) -> bool {
    false
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
                        "hostile entry path {:?}: it climbs out of the root with '..'",
                        String::from_utf8_lossy(raw)
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

/// Read a layer blob that can be seeked: uncompressed tars are walked header by header,
/// seeking over file data; compressed ones are decoded (and hashed) in full.
pub fn scan_seekable<R: Read + Seek>(mut r: R, blob_len: u64, capture: Capture) -> Result<LayerScan, String> {
    let head = compress::read_head(&mut r, 512).map_err(|e| e.to_string())?;
    r.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
    let c = Compression::sniff(&head);
    if c != Compression::None {
        return scan_stream(r, capture, true);
    }
    check_tar_head(&head)?;
    let mut ar = tar::Archive::new(r);
    let entries = ar
        .entries_with_seek()
        .map_err(|e| format!("not a tar archive: {e}"))?;
    let mut out = Vec::new();
    for e in entries {
        let e = e.map_err(|e| format!("bad tar entry: {e}"))?;
        let end = e.raw_file_position() + e.size();
        if end > blob_len {
            return Err(format!(
                "entry {:?} runs past the end of the blob (truncated layer)",
                String::from_utf8_lossy(&e.path_bytes())
            ));
        }
        push_entry(e, capture, &mut out)?;
    }
    Ok(LayerScan {
        entries: out,
        compression: Compression::None,
        blob_bytes: blob_len,
        tar_bytes: blob_len,
        digest: None,
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
pub fn scan_stream<R: Read>(r: R, capture: Capture, hash: bool) -> Result<LayerScan, String> {
    let mut raw = Tally::new(r, hash);
    let head = compress::read_head(&mut raw, 512).map_err(|e| e.to_string())?;
    let c = Compression::sniff(&head);
    let ctx = |e: io::Error| match c {
        Compression::None => e.to_string(),
        c => format!("reading {} stream: {e}", c.name()),
    };
    let mut entries = Vec::new();
    let tar_count = Rc::new(Cell::new(0u64));
    {
        let chained = Cursor::new(head.clone()).chain(&mut raw);
        let decoded = compress::decoder(c, chained).map_err(ctx)?;
        let mut counted = Counter {
            inner: decoded,
            count: tar_count.clone(),
        };
        let mut tar_head = Vec::new();
        if c == Compression::None {
            check_tar_head(&head)?;
        } else {
            tar_head = compress::read_head(&mut counted, 512).map_err(ctx)?;
            check_tar_head(&tar_head)?;
        }
        let tar_input = Cursor::new(tar_head).chain(&mut counted);
        {
            let mut ar = tar::Archive::new(tar_input);
            let iter = ar.entries().map_err(|e| format!("not a tar archive: {e}"))?;
            for e in iter {
                let e = e.map_err(|e| format!("bad tar entry: {}", ctx(e)))?;
                push_entry(e, capture, &mut entries)?;
            }
        }
        // What follows the end-of-archive marker still belongs to the stream.
        io::copy(&mut counted, &mut io::sink()).map_err(ctx)?;
    }
    let (blob_bytes, digest) = raw.finish().map_err(ctx)?;
    Ok(LayerScan {
        entries,
        compression: c,
        blob_bytes,
        tar_bytes: tar_count.get(),
        digest,
    })
}

fn push_entry<R: Read>(mut e: tar::Entry<R>, capture: Capture, out: &mut Vec<LayerEntry>) -> Result<(), String> {
    use tar::EntryType as T;
    let ty = e.header().entry_type();
    if ty.is_pax_global_extensions() {
        return Ok(());
    }
    let raw = e.path_bytes().into_owned();
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
        });
        return Ok(());
    }
    if let Some(name) = base.strip_prefix(b".wh.") {
        if name.is_empty() {
            return Err(format!(
                "entry {:?}: a whiteout with no name ('.wh.')",
                String::from_utf8_lossy(&raw)
            ));
        }
        out.push(LayerEntry {
            path: join(dir, name),
            kind: EntryKind::Whiteout,
            size: 0,
            offset: 0,
            link: None,
            content: None,
        });
        return Ok(());
    }
    let offset = e.raw_file_position();
    let (kind, size) = match ty {
        T::Regular | T::Continuous | T::GNUSparse => (EntryKind::File, e.size()),
        T::Directory => (EntryKind::Dir, 0),
        T::Symlink => (EntryKind::Symlink, 0),
        T::Link => (EntryKind::Hardlink, 0),
        T::Char | T::Block | T::Fifo => (EntryKind::Other, 0),
        // Unknown types: tar readers treat them as regular files.
        _ => (EntryKind::File, e.size()),
    };
    let link = match kind {
        EntryKind::Symlink => e.link_name_bytes().map(|l| l.into_owned().into_boxed_slice()),
        EntryKind::Hardlink => {
            let l = e.link_name_bytes().ok_or_else(|| {
                format!("entry {:?}: a hard link with no target", String::from_utf8_lossy(&raw))
            })?;
            Some(normalize(&l)?.ok_or_else(|| {
                format!("entry {:?}: a hard link to the root", String::from_utf8_lossy(&raw))
            })?)
        }
        _ => None,
    };
    let content = if kind == EntryKind::File && capture(&path, size) {
        let mut buf = Vec::with_capacity(size as usize);
        e.read_to_end(&mut buf)
            .map_err(|err| format!("entry {:?}: {err}", String::from_utf8_lossy(&raw)))?;
        Some(buf.into_boxed_slice())
    } else {
        None
    };
    out.push(LayerEntry {
        path,
        kind,
        size,
        offset,
        link,
        content,
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
}
