//! Where an image's files live: an uncompressed tar file on disk (indexed once, blobs read in
//! place and in parallel), an OCI layout directory, or a one-pass stream (stdin, or a tarball
//! compressed as a whole) whose layers are scanned as they pass, in whatever order they come.

mod scan;
mod stream;

use crate::error::{Error, Result};
use crate::io::blob::{Slice, Tally};
use crate::io::compress::{self, Compression};
use crate::layers::walk::{self, Budget, Capture, LayerEntry, LayerScan};
use indicatif::ProgressBar;
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Metadata files (manifests, indexes, configs) larger than this are refused.
pub const META_LIMIT: u64 = 64 << 20;
/// What a one-pass read keeps, in all, of the archive's members that are not layers (they are
/// buffered until the manifest says which it needs). Real ones are JSON of a few KB to a few
/// MB; a hostile archive can hold many 64 MiB members that compress to almost nothing.
pub const META_BUDGET: u64 = 256 << 20;

/// How the input was handed over, for the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    /// A tar archive (possibly compressed as a whole).
    Tar,
    /// An OCI layout directory.
    Dir,
    /// A registry, its manifests and blobs fetched on demand.
    Registry,
}

/// Files fetched on demand (a registry), named as in an OCI layout (`index.json`,
/// `blobs/sha256/<hex>`): metadata read in full, layer blobs streamed once each.
pub trait Remote: Send + Sync {
    /// A manifest, index or config, at most `META_LIMIT` bytes.
    fn meta(&self, name: &str) -> std::result::Result<Vec<u8>, String>;
    fn has(&self, name: &str) -> bool;
    /// The size a descriptor gave, when one did.
    fn size_of(&self, name: &str) -> Option<u64>;
    /// A layer blob as it arrives (faults survived inside); the caller hashes it.
    fn blob(&self, name: &str) -> std::result::Result<Box<dyn Read + Send + '_>, String>;
    /// How many blobs to fetch at once.
    fn parallel(&self) -> usize;
}

pub enum Store {
    File {
        file: File,
        /// name → (offset, size) of each regular file in the outer tar.
        index: HashMap<String, (u64, u64)>,
    },
    Dir {
        root: PathBuf,
    },
    Remote(Box<dyn Remote>),
    Stream {
        meta: HashMap<String, Vec<u8>>,
        /// Each layer's scan, its entries moved out to `entries`.
        scans: HashMap<String, std::result::Result<LayerScan, String>>,
        /// The layers' entries, handed over (not copied) by `scan_layers`.
        entries: Mutex<HashMap<String, Vec<LayerEntry>>>,
        /// Entries that are neither metadata nor layers: (size, sha256).
        other: HashMap<String, u64>,
        /// Members that looked like metadata but were not kept: `META_BUDGET` had run out.
        dropped: std::collections::HashSet<String>,
    },
}

/// Where a local blob lies: the identity of the file holding it (device, inode, size,
/// modification and change times), its offset and length there, and whether it is compressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobPlace {
    pub identity: String,
    pub offset: u64,
    pub len: u64,
    pub compressed: bool,
    /// When the file last changed (its ctime).
    pub changed: std::time::SystemTime,
}

/// An opened input: what it is, and its files.
pub struct Source {
    /// How the user named it (`-` for stdin).
    pub display: String,
    pub container: Container,
    /// Compression of the whole tarball (`docker save | gzip`).
    pub outer: Compression,
    pub store: Store,
    /// Outer-tar symlinks (legacy docker save links identical layers).
    aliases: HashMap<String, String>,
    /// Hashes of large files taken while decoding layers of a seekable store (see
    /// `LayerScan::hashes`), by blob name: duplicate detection reads nothing again for them.
    hashed: Mutex<HashMap<String, Vec<(u64, u128)>>>,
    /// Hash every layer's data against its diff_id (`--verify`, or a config no digest names):
    /// uncompressed layers of a seekable store too, not only their headers, and compressed ones
    /// the manifest names by digest.
    pub verify: bool,
    /// Blobs whose digest the manifest names (checked once they are read): the blob's digest
    /// already fixes their decoded stream, which is hashed for its diff_id only with `verify`.
    pub digest_named: HashSet<String>,
    /// What layer scans may keep of file contents, in all (`walk::CONTENT_BUDGET`).
    pub budget: Budget,
}

/// Manifests, indexes, configs and `repositories` are JSON: the first byte that is not
/// whitespace opens an object or an array.
fn looks_like_json(head: &[u8]) -> bool {
    matches!(head.iter().find(|b| !b.is_ascii_whitespace()), Some(b'{' | b'['))
}

fn clean_name(raw: &[u8]) -> Option<String> {
    let s = String::from_utf8_lossy(raw);
    let parts: Vec<&str> = s.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
    if parts.is_empty() || parts.contains(&"..") {
        return None;
    }
    Some(parts.join("/"))
}

fn join_rel(base: &str, target: &str) -> Option<String> {
    let dir = base.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
    let mut parts: Vec<&str> = if target.starts_with('/') { Vec::new() } else { dir.split('/').filter(|p| !p.is_empty()).collect() };
    for p in target.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

impl Source {
    /// Open `input` (a path, or `-` for stdin). `capture` is used for layers scanned during
    /// a one-pass read; seekable inputs scan later, on demand.
    pub fn open(input: &str, capture: Capture, progress: &ProgressBar) -> Result<Source> {
        if input == "-" {
            let stdin = io::stdin().lock();
            return Self::open_stream("-".into(), stdin, capture, progress);
        }
        let path = Path::new(input);
        let md = std::fs::metadata(path).map_err(|e| Error::input(input, e))?;
        if !md.is_file() && !md.is_dir() {
            // A pipe (`/dev/stdin`, `<(cat image.tar)`) cannot be read twice: one pass, as `-`.
            let f = File::open(path).map_err(|e| Error::input(input, e))?;
            return Self::open_stream(input.into(), f, capture, progress);
        }
        if md.is_dir() {
            if !path.join("index.json").exists() {
                return Err(Error::input(input, "a directory, but not an OCI image layout (no index.json)"));
            }
            return Ok(Source {
                display: input.into(),
                container: Container::Dir,
                outer: Compression::None,
                store: Store::Dir { root: path.into() },
                aliases: HashMap::new(),
                hashed: Mutex::default(),
                verify: false,
                digest_named: HashSet::new(),
                budget: Budget::new(walk::CONTENT_BUDGET),
            });
        }
        let mut file = File::open(path).map_err(|e| Error::input(input, e))?;
        let head = compress::read_head(&mut file, 512).map_err(|e| Error::input(input, e))?;
        match Compression::sniff(&head) {
            Compression::None => {}
            _ => {
                let f = File::open(path).map_err(|e| Error::input(input, e))?;
                progress.set_length(md.len());
                let f = progress.wrap_read(f);
                return Self::open_stream(input.into(), f, capture, progress);
            }
        }
        if head.is_empty() {
            return Err(Error::input(input, "empty file, not an image archive"));
        }
        if !compress::looks_like_tar(&head) {
            let what = match compress::unsupported_name(&head) {
                Some(c) => format!("{c}-compressed; only gzip and zstd are supported"),
                None => "not a tar archive (nor gzip or zstd)".into(),
            };
            return Err(Error::input(input, what));
        }
        Self::index_file(input, File::open(path).map_err(|e| Error::input(input, e))?, md.len())
    }

    fn index_file(input: &str, file: File, len: u64) -> Result<Source> {
        let mut index = HashMap::new();
        let mut aliases = HashMap::new();
        {
            let mut ar = tar::Archive::new(Slice::new(&file, 0, len));
            let entries = ar.entries_with_seek().map_err(|e| Error::input(input, format!("not a tar archive: {e}")))?;
            for e in entries {
                let e = e.map_err(|e| Error::input(input, format!("bad tar entry: {}", walk::tar_error(&e))))?;
                let Some(name) = clean_name(&e.path_bytes()) else {
                    continue;
                };
                let ty = e.header().entry_type();
                if ty.is_file() {
                    let (pos, size) = (e.raw_file_position(), e.size());
                    if pos + size > len {
                        return Err(Error::input(input, format!("truncated archive: {name} needs {size} bytes past the end of the file")));
                    }
                    index.insert(name, (pos, size));
                } else if ty.is_symlink() || ty.is_hard_link() {
                    let target = e.link_name_bytes().map(|l| String::from_utf8_lossy(&l).into_owned());
                    let resolved = target.and_then(|t| if ty.is_symlink() { join_rel(&name, &t) } else { clean_name(t.as_bytes()) });
                    if let Some(t) = resolved {
                        aliases.insert(name, t);
                    }
                }
            }
        }
        Ok(Source {
            display: input.into(),
            container: Container::Tar,
            outer: Compression::None,
            store: Store::File { file, index },
            aliases,
            hashed: Mutex::default(),
            verify: false,
            digest_named: HashSet::new(),
            budget: Budget::new(walk::CONTENT_BUDGET),
        })
    }

    /// A source whose files are fetched on demand.
    pub fn remote(display: String, remote: Box<dyn Remote>) -> Source {
        Source {
            display,
            container: Container::Registry,
            outer: Compression::None,
            store: Store::Remote(remote),
            aliases: HashMap::new(),
            hashed: Mutex::default(),
            verify: false,
            digest_named: HashSet::new(),
            budget: Budget::new(walk::CONTENT_BUDGET),
        }
    }

    fn resolve_alias<'a>(&'a self, name: &'a str) -> &'a str {
        let mut n = name;
        for _ in 0..16 {
            match self.aliases.get(n) {
                Some(t) => n = t,
                None => break,
            }
        }
        n
    }

    /// Open a blob of an OCI layout, refusing what is not a regular file once links are
    /// followed (a FIFO would block the read forever, `/dev/zero` would never end). Opened
    /// without blocking, then checked on the open file, so nothing can be swapped in between.
    fn open_blob(&self, root: &Path, name: &str) -> std::result::Result<File, String> {
        use std::os::unix::fs::OpenOptionsExt;
        let p = Self::dir_path(root, name).ok_or_else(|| format!("bad blob name {}", crate::escape::escape(name)))?;
        let f = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(&p).map_err(|e| format!("missing blob {name}: {e}"))?;
        let md = f.metadata().map_err(|e| format!("{name}: {e}"))?;
        if !md.is_file() {
            return Err(format!("{name} is not a regular file (a FIFO, device or socket); refusing to read it"));
        }
        Ok(f)
    }

    fn dir_path(root: &Path, name: &str) -> Option<PathBuf> {
        let clean = clean_name(name.as_bytes())?;
        Some(root.join(clean))
    }

    pub fn has(&self, name: &str) -> bool {
        let name = self.resolve_alias(name);
        match &self.store {
            Store::File { index, .. } => index.contains_key(name),
            Store::Dir { root } => Self::dir_path(root, name).is_some_and(|p| p.exists() && !p.is_dir()),
            Store::Remote(r) => r.has(name),
            Store::Stream { meta, scans, other, .. } => meta.contains_key(name) || scans.contains_key(name) || other.contains_key(name),
        }
    }

    /// Size of a file of the image, if known without reading it.
    pub fn size_of(&self, name: &str) -> Option<u64> {
        let name = self.resolve_alias(name);
        match &self.store {
            Store::File { index, .. } => index.get(name).map(|&(_, s)| s),
            Store::Dir { root } => Self::dir_path(root, name).and_then(|p| p.metadata().ok()).map(|m| m.len()),
            Store::Remote(r) => r.size_of(name),
            Store::Stream { meta, scans, other, .. } => {
                meta.get(name).map(|m| m.len() as u64).or_else(|| scans.get(name).and_then(|s| s.as_ref().ok()).map(|s| s.blob_bytes)).or_else(|| other.get(name).copied())
            }
        }
    }

    /// The digest of a whole blob with the algorithm `want` names, read again from a seekable
    /// store (for digests other than the sha256 taken while scanning). None for a stream.
    pub fn blob_digest(&self, name: &str, want: &str) -> Option<std::result::Result<Option<String>, String>> {
        let real = self.resolve_alias(name);
        let r = match &self.store {
            Store::File { file, index } => {
                let &(pos, size) = index.get(real)?;
                crate::io::blob::digest_reader(want, Slice::new(file, pos, size))
            }
            Store::Dir { root } => {
                let f = self.open_blob(root, real).ok()?;
                crate::io::blob::digest_reader(want, f)
            }
            Store::Stream { .. } | Store::Remote(_) => return None,
        };
        Some(r.map_err(|e| e.to_string()))
    }

    /// Where a local blob's bytes lie, to name them without reading them (the layer cache keys
    /// an uncompressed blob by it): the file's identity, the blob's place in it, and whether the
    /// blob is compressed. None for a registry or a one-pass stream.
    pub fn blob_place(&self, name: &str) -> Option<BlobPlace> {
        use std::os::unix::fs::MetadataExt;
        let real = self.resolve_alias(name);
        let (file, offset, len, owned);
        match &self.store {
            Store::File { file: f, index } => {
                let &(pos, size) = index.get(real)?;
                (file, offset, len) = (f, pos, size);
            }
            Store::Dir { root } => {
                owned = self.open_blob(root, real).ok()?;
                let l = owned.metadata().ok()?.len();
                (file, offset, len) = (&owned, 0, l);
            }
            Store::Stream { .. } | Store::Remote(_) => return None,
        }
        let md = file.metadata().ok()?;
        let head = compress::read_head(&mut Slice::new(file, offset, len), 8).ok()?;
        Some(BlobPlace {
            identity: format!("dev {} ino {} len {} mtime {}.{} ctime {}.{}", md.dev(), md.ino(), md.len(), md.mtime(), md.mtime_nsec(), md.ctime(), md.ctime_nsec()),
            offset,
            len,
            compressed: Compression::sniff(&head) != Compression::None,
            changed: std::time::UNIX_EPOCH + std::time::Duration::new(md.ctime().max(0) as u64, md.ctime_nsec().clamp(0, 999_999_999) as u32),
        })
    }

    /// Whether the layers were read as they passed (stdin, a compressed archive): there is
    /// nothing left to save by not reading them.
    pub fn is_stream(&self) -> bool {
        matches!(self.store, Store::Stream { .. })
    }

    /// Hashes of a layer's large files known without reading it (a cached scan's), so that
    /// duplicate detection reads nothing again for them.
    pub fn note_hashes(&self, name: &str, hashes: &[(u64, u128)]) {
        if !hashes.is_empty() {
            self.hashed.lock().unwrap().insert(self.resolve_alias(name).to_string(), hashes.to_vec());
        }
    }

    /// Read a small (metadata) file in full.
    pub fn meta(&self, name: &str) -> Result<Vec<u8>> {
        let missing = || Error::input(&self.display, format!("missing file {name} in the image"));
        let real = self.resolve_alias(name);
        match &self.store {
            Store::File { file, index } => {
                let &(pos, size) = index.get(real).ok_or_else(missing)?;
                if size > META_LIMIT {
                    return Err(Error::input(&self.display, format!("{name}: {size} bytes, too large for a manifest or config")));
                }
                let mut buf = Vec::with_capacity(size as usize);
                Slice::new(file, pos, size).read_to_end(&mut buf).map_err(|e| Error::input(&self.display, format!("{name}: {e}")))?;
                Ok(buf)
            }
            Store::Dir { root } => {
                if Self::dir_path(root, real).is_none_or(|p| std::fs::symlink_metadata(p).is_err()) {
                    return Err(missing());
                }
                let f = self.open_blob(root, real).map_err(|e| Error::input(&self.display, e))?;
                let len = f.metadata().map_err(|e| Error::input(&self.display, format!("{name}: {e}")))?.len();
                if len > META_LIMIT {
                    return Err(Error::input(&self.display, format!("{name}: {len} bytes, too large for a manifest or config")));
                }
                let mut buf = Vec::with_capacity(len as usize);
                // The size was taken from the open file; read no more than it said.
                f.take(len).read_to_end(&mut buf).map_err(|e| Error::input(&self.display, format!("{name}: {e}")))?;
                Ok(buf)
            }
            Store::Remote(r) => r.meta(real).map_err(|e| Error::input(&self.display, e)),
            Store::Stream { meta, scans, other, dropped, .. } => {
                if let Some(m) = meta.get(real) {
                    return Ok(m.clone());
                }
                if dropped.contains(real) {
                    return Err(Error::input(
                        &self.display,
                        format!("{name} was not kept: a one-pass read keeps at most {} MiB of members that are not layers, and other members took it", META_BUDGET >> 20),
                    ));
                }
                if scans.contains_key(real) || other.contains_key(real) {
                    return Err(Error::input(&self.display, format!("{name} should be JSON but is not")));
                }
                Err(missing())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::walk::capture_none;

    #[test]
    fn hashes_taken_while_decoding_match_a_second_reading() {
        let big: Vec<u8> = (0..(1 << 20) + 7).map(|i: u32| (i % 239) as u8).collect();
        let mut b = tar::Builder::new(Vec::new());
        for p in ["x/one", "y/two"] {
            let mut h = tar::Header::new_gnu();
            h.set_size(big.len() as u64);
            h.set_cksum();
            b.append_data(&mut h, p, &big[..]).unwrap();
        }
        let layer = b.into_inner().unwrap();
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut e, &layer).unwrap();
        let blob = e.finish().unwrap();
        let mut outer = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(blob.len() as u64);
        h.set_cksum();
        outer.append_data(&mut h, "layer.tar.gz", &blob[..]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("img.tar");
        std::fs::write(&path, outer.into_inner().unwrap()).unwrap();
        let path = path.to_str().unwrap();
        let pb = ProgressBar::hidden();
        let names = ["layer.tar.gz".to_string()];

        let scanned = Source::open(path, &capture_none, &pb).unwrap();
        let scan = scanned.scan_layers(&names, &capture_none, &pb).remove(0).unwrap();
        assert_eq!(scan.hashes.len(), 2);
        assert_eq!(pb.position(), blob.len() as u64, "the bar counts the blob once");
        let ranges: Vec<(u64, u64)> = scan.entries.iter().map(|e| (e.offset, e.size)).collect();
        let memo = scanned.hash_ranges(&names[0], &ranges).unwrap().unwrap();
        // A source that never scanned the layer decodes it again.
        let fresh = Source::open(path, &capture_none, &pb).unwrap();
        let again = fresh.hash_ranges(&names[0], &ranges).unwrap().unwrap();
        assert_eq!(memo, again);
        assert_eq!(memo, vec![xxhash_rust::xxh3::xxh3_128(&big); 2]);
        // One pass over a stream keeps the hashes too, so stdin gets duplicate detection.
        let stream = Source::open_stream("-".into(), &std::fs::read(path).unwrap()[..], &capture_none, &pb).unwrap();
        assert_eq!(stream.hash_ranges(&names[0], &ranges).unwrap().unwrap(), memo);
        // A stream hands each layer's entries over; a blob listed twice gets them both times.
        let twice = [names[0].clone(), names[0].clone()];
        let scans = stream.scan_layers(&twice, &capture_none, &pb);
        for s in &scans {
            assert_eq!(s.as_ref().unwrap().entries.len(), 2);
        }
        assert_eq!(stream.size_of(&names[0]), Some(blob.len() as u64));
        assert!(stream.scan_layers(&names, &capture_none, &pb)[0].as_ref().unwrap_err().contains("handed over already"));
    }

    #[test]
    fn the_bar_moves_through_an_uncompressed_layer_once() {
        let mut b = tar::Builder::new(Vec::new());
        for (p, n) in [("a", 3 << 20), ("b", 100), ("c", 1 << 20)] {
            let mut h = tar::Header::new_gnu();
            h.set_size(n as u64);
            h.set_cksum();
            b.append_data(&mut h, p, &vec![7u8; n][..]).unwrap();
        }
        let layer = b.into_inner().unwrap();
        let mut outer = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(layer.len() as u64);
        h.set_cksum();
        outer.append_data(&mut h, "layer.tar", &layer[..]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("img.tar");
        std::fs::write(&path, outer.into_inner().unwrap()).unwrap();
        let pb = ProgressBar::hidden();
        let src = Source::open(path.to_str().unwrap(), &capture_none, &pb).unwrap();
        let scans = src.scan_layers(&["layer.tar".to_string()], &capture_none, &pb);
        assert_eq!(scans[0].as_ref().unwrap().entries.len(), 3);
        assert_eq!(pb.position(), layer.len() as u64);
        assert_eq!(pb.length(), Some(layer.len() as u64));
    }
}
