//! What a layer scan keeps of file contents: the capture that decides per file, and the one
//! allowance of bytes every layer scan of an image shares.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// What to keep of a file's contents.
#[derive(Debug, Clone, Copy)]
pub enum Keep {
    Nothing,
    All,
    /// Only what this function makes of them (library source reduced to its imports, so a
    /// big environment's code costs a few bytes per import, not its size).
    Digest(fn(&[u8]) -> Vec<u8>),
}
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
        self.used.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |u| u.checked_add(n).filter(|&t| t <= self.limit)).is_ok()
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
