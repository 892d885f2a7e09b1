//! A layer once read is never read again: each layer's scan (its entries, the captured files,
//! the hashes duplicate detection needs, its digests) is kept on disk under a key that names
//! the layer's bytes, so CI rebuilding an image whose top layer changed, or a fleet of images
//! sharing a base, pays for the layers it has not seen.
//!
//! The store is a directory of files named by the sha256 of their key (`layers/<hex>`), each
//! written to a temporary file in the same directory and renamed into place, so a reader sees
//! a whole entry or none, and concurrent slim processes at most write the same entry twice.
//! Every entry carries a format version, the build that wrote it and a checksum
//! (`entry`): anything else is ignored and written again. A size cap evicts the entries least
//! recently used (a hit touches its file). A cache that can only be read serves its hits and
//! keeps nothing new; one that cannot be used is no cache, said once.

pub mod entry;
pub mod scan;

use crate::layers::walk::LayerScan;
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

/// The size cap when none is given.
pub const DEFAULT_MAX: u64 = 2 << 30;

/// Temporary files left by a process that died are removed after this long.
const STALE_TMP: Duration = Duration::from_secs(3600);

/// Warnings about the cache are printed once per process, whatever goes wrong how often.
static WARNED: AtomicBool = AtomicBool::new(false);

fn warn_once(dir: &Path, what: impl std::fmt::Display) {
    if !WARNED.swap(true, Ordering::Relaxed) {
        eprintln!("slim: warning: layer cache {}: {what}; continuing without it", crate::escape::escape(&dir.display().to_string()));
    }
}

/// Where the cache lives when no directory is named: `$XDG_CACHE_HOME/slim`, else
/// `~/.cache/slim`.
pub fn default_dir() -> Option<PathBuf> {
    let xdg = std::env::var_os("XDG_CACHE_HOME").map(PathBuf::from).filter(|p| p.is_absolute());
    xdg.or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache"))).map(|d| d.join("slim"))
}

/// `p` made absolute with its links resolved, as far as it exists (the rest as written).
fn resolved(p: &Path) -> PathBuf {
    let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let mut base = abs.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = std::fs::canonicalize(base) {
            return rest.iter().rev().fold(real, |acc: PathBuf, c| acc.join(c));
        }
        match (base.parent(), base.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                base = parent;
            }
            _ => return abs,
        }
    }
}

pub struct Cache {
    /// The directory holding the entries (`<root>/layers`).
    dir: PathBuf,
    max: u64,
    /// False for a cache slim may read but not write (a read-only mount of a cache filled
    /// elsewhere): hits are used, neither touched nor evicted, and misses are not kept.
    writable: bool,
    /// Set when a write failed: the rest of the run neither reads nor writes.
    broken: AtomicBool,
}

impl Cache {
    /// Open (creating it if need be) the cache under `root`, capped at `max` bytes. `inputs`
    /// are the paths being read: a cache inside one of them would write next to the input, and
    /// is refused. None, with one warning line, when the directory cannot be used.
    pub fn open(root: Option<&Path>, max: u64, inputs: &[PathBuf]) -> Option<Cache> {
        let root = match root.map(Path::to_path_buf).or_else(default_dir) {
            Some(r) => r,
            // No home and no XDG_CACHE_HOME: nowhere to keep it, and nothing went wrong.
            None => return None,
        };
        let dir = root.join("layers");
        let real = resolved(&dir);
        for input in inputs {
            let Ok(input) = std::fs::canonicalize(input) else { continue };
            if input.is_dir() && real.starts_with(&input) {
                warn_once(&root, "it is inside the input, and slim never writes next to its input");
                return None;
            }
        }
        if let Err(e) = std::fs::create_dir_all(&dir) {
            if !dir.is_dir() {
                warn_once(&root, e);
                return None;
            }
        }
        // Writable? One that can only be read still serves its hits (a cache a CI job filled,
        // mounted read-only into others).
        let writable = match tempfile::Builder::new().prefix(".tmp-").tempfile_in(&dir) {
            Ok(_) => true,
            Err(e) if std::fs::read_dir(&dir).is_ok() && matches!(e.kind(), std::io::ErrorKind::ReadOnlyFilesystem | std::io::ErrorKind::PermissionDenied) => {
                if !WARNED.swap(true, Ordering::Relaxed) {
                    eprintln!(
                        "slim: note: layer cache {} is read-only: its entries are used, layers it does not hold are read and not kept",
                        crate::escape::escape(&root.display().to_string())
                    );
                }
                false
            }
            Err(e) => {
                warn_once(&root, e);
                return None;
            }
        };
        Some(Cache { dir, max, writable, broken: AtomicBool::new(false) })
    }

    fn path(&self, key: &str) -> (PathBuf, [u8; 32]) {
        let k: [u8; 32] = Sha256::digest(key.as_bytes()).into();
        (self.dir.join(hex::encode(k)), k)
    }

    /// Whether an entry of this build for `key` is there, by its head (whether the whole of it
    /// can be trusted is for `get`): layers whose entries an older slim wrote are then read
    /// with the others, in parallel, not one by one as failed hits.
    pub fn has(&self, key: &str) -> bool {
        use std::io::Read;
        if self.broken.load(Ordering::Relaxed) {
            return false;
        }
        let (path, k) = self.path(key);
        let build = entry::build_id();
        let mut head = Vec::new();
        let read = std::fs::File::open(&path).and_then(|f| f.take(entry::head_len(build) as u64).read_to_end(&mut head));
        read.is_ok() && entry::head_matches(&head, &k, build)
    }

    /// The scan stored under `key`, if there is a whole, checked entry of this build; its file
    /// is touched (it is now the most recently used). Anything else is a miss.
    pub fn get(&self, key: &str) -> Option<LayerScan> {
        if self.broken.load(Ordering::Relaxed) {
            return None;
        }
        let (path, k) = self.path(key);
        let data = std::fs::read(&path).ok()?;
        let scan = entry::decode(&data, &k, entry::build_id()).ok()?;
        if !self.writable {
            return Some(scan);
        }
        if let Ok(f) = std::fs::OpenOptions::new().write(true).open(&path) {
            let _ = f.set_modified(SystemTime::now());
        }
        Some(scan)
    }

    /// Keep `scan` under `key`: written whole to a temporary file, then renamed over whatever
    /// was there (an older, foreign or damaged entry). Then evict down to the cap.
    pub fn put(&self, key: &str, scan: &LayerScan) {
        if !self.writable || self.broken.load(Ordering::Relaxed) {
            return;
        }
        let (path, k) = self.path(key);
        let data = entry::encode(&k, entry::build_id(), scan);
        if data.len() as u64 > self.max {
            return;
        }
        let written = tempfile::Builder::new().prefix(".tmp-").tempfile_in(&self.dir).and_then(|mut t| {
            t.write_all(&data)?;
            t.persist(&path).map_err(|e| e.error)?;
            Ok(())
        });
        if let Err(e) = written {
            self.broken.store(true, Ordering::Relaxed);
            warn_once(self.dir.parent().unwrap_or(&self.dir), e);
            return;
        }
        self.evict();
    }

    /// Remove the least recently used entries until the cache holds at most `max` bytes, and
    /// temporary files a dead process left. Another process evicting at the same time only
    /// makes some removals fail, which is fine.
    fn evict(&self) {
        let Ok(rd) = std::fs::read_dir(&self.dir) else { return };
        let now = SystemTime::now();
        let mut entries = Vec::new();
        let mut total = 0u64;
        for e in rd.flatten() {
            let Ok(md) = e.metadata() else { continue };
            if !md.is_file() {
                continue;
            }
            let mtime = md.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            if e.file_name().to_string_lossy().starts_with(".tmp-") {
                if now.duration_since(mtime).is_ok_and(|age| age > STALE_TMP) {
                    let _ = std::fs::remove_file(e.path());
                }
                continue;
            }
            total += md.len();
            entries.push((mtime, md.len(), e.path()));
        }
        if total <= self.max {
            return;
        }
        entries.sort();
        for (_, len, path) in entries {
            if total <= self.max {
                break;
            }
            if std::fs::remove_file(&path).is_ok() {
                total -= len;
            }
        }
    }
}
