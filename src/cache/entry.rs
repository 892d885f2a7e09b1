//! One cache entry on disk: a layer's scan in a small binary form, framed so that a reader
//! can tell a whole entry of this very build from anything else (another version, another
//! build, another key's file, a torn or flipped one) and refuse the rest.
//!
//! ```text
//! MAGIC  u32 FORMAT  u16+build  [32] key  u64 payload-len  payload  [16] xxh3-128 of all before
//! payload: u64 raw-len, then the raw payload compressed with zstd
//! ```
//!
//! Compressed, the entries of the 6 GB ML image take a quarter of their raw size (paths
//! compress well); zstd's level 3 costs milliseconds per entry.

use crate::io::compress::Compression;
use crate::layers::walk::{EntryKind, LayerEntry, LayerScan};

const MAGIC: &[u8; 8] = b"SLIMLAYR";
/// Bump when the payload's layout changes.
pub const FORMAT: u32 = 2;
/// zstd's level for the payload.
const LEVEL: i32 = 3;
/// The largest raw payload an entry may claim (one layer's entries and kept contents are tens
/// of MB at most): a claim beyond it is refused, never allocated.
const RAW_MAX: u64 = 1 << 30;

/// What made the entries: what a scan keeps of a layer (captured files, import digests) is
/// this build's, so an entry written by another slim is foreign. The version and the
/// executable's size and modification time name the build.
pub fn build_id() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        let exe = std::env::current_exe().and_then(std::fs::metadata).ok();
        let (len, mtime) = exe.map(|m| (m.len(), m.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos()))).unwrap_or_default();
        format!("slim {} {len} {mtime}", env!("CARGO_PKG_VERSION"))
    })
}

/// The entry's bytes for `scan` under `key` (the sha256 of the key text), for `build`.
pub fn encode(key: &[u8; 32], build: &str, scan: &LayerScan) -> Vec<u8> {
    let mut p = Vec::with_capacity(64 + scan.entries.len() * 96);
    p.push(match scan.compression {
        Compression::None => 0,
        Compression::Gzip => 1,
        Compression::Zstd => 2,
    });
    p.extend_from_slice(&scan.blob_bytes.to_le_bytes());
    p.extend_from_slice(&scan.tar_bytes.to_le_bytes());
    for d in [&scan.digest, &scan.diff_digest] {
        opt_bytes(&mut p, d.as_deref().map(str::as_bytes));
    }
    p.extend_from_slice(&(scan.hashes.len() as u64).to_le_bytes());
    for (off, h) in &scan.hashes {
        p.extend_from_slice(&off.to_le_bytes());
        p.extend_from_slice(&h.to_le_bytes());
    }
    p.extend_from_slice(&(scan.entries.len() as u64).to_le_bytes());
    for e in &scan.entries {
        p.push(kind_byte(e.kind));
        p.push(u8::from(e.sparse));
        p.extend_from_slice(&e.size.to_le_bytes());
        p.extend_from_slice(&e.offset.to_le_bytes());
        bytes(&mut p, &e.path);
        opt_bytes(&mut p, e.link.as_deref());
        opt_bytes(&mut p, e.content.as_deref());
    }
    let mut packed = (p.len() as u64).to_le_bytes().to_vec();
    packed.extend_from_slice(&zstd::bulk::compress(&p, LEVEL).expect("zstd compresses any bytes in memory"));
    let p = packed;
    let mut out = Vec::with_capacity(p.len() + 128);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT.to_le_bytes());
    out.extend_from_slice(&(build.len() as u16).to_le_bytes());
    out.extend_from_slice(build.as_bytes());
    out.extend_from_slice(key);
    out.extend_from_slice(&(p.len() as u64).to_le_bytes());
    out.extend_from_slice(&p);
    let sum = xxhash_rust::xxh3::xxh3_128(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    out
}

/// Whether `head` (an entry's first bytes) opens an entry of this format and build for `key`:
/// a cheap look before a run counts on it, which the whole entry's checks still confirm.
pub fn head_matches(head: &[u8], key: &[u8; 32], build: &str) -> bool {
    let mut want = Vec::with_capacity(46 + build.len());
    want.extend_from_slice(MAGIC);
    want.extend_from_slice(&FORMAT.to_le_bytes());
    want.extend_from_slice(&(build.len() as u16).to_le_bytes());
    want.extend_from_slice(build.as_bytes());
    want.extend_from_slice(key);
    head.starts_with(&want)
}

/// The length of the head `head_matches` looks at.
pub fn head_len(build: &str) -> usize {
    MAGIC.len() + 4 + 2 + build.len() + 32
}

/// The scan an entry holds, or why it is not one to trust.
pub fn decode(data: &[u8], key: &[u8; 32], build: &str) -> Result<LayerScan, &'static str> {
    let body = data.len().checked_sub(16).ok_or("truncated")?;
    let (framed, sum) = data.split_at(body);
    if !framed.starts_with(MAGIC) {
        return Err("not a slim cache entry");
    }
    if u128::from_le_bytes(sum.try_into().unwrap()) != xxhash_rust::xxh3::xxh3_128(framed) {
        return Err("checksum mismatch");
    }
    let mut r = Reader(&framed[MAGIC.len()..]);
    if r.u32()? != FORMAT {
        return Err("another format version");
    }
    let n = r.u16()? as usize;
    if r.take(n)? != build.as_bytes() {
        return Err("written by another slim build");
    }
    if r.take(32)? != key {
        return Err("written for another key");
    }
    let n = r.len()?;
    let mut packed = Reader(r.take(n)?);
    if !r.0.is_empty() {
        return Err("trailing bytes");
    }
    let raw_len = packed.u64()?;
    if raw_len > RAW_MAX {
        return Err("payload too large");
    }
    let raw = zstd::bulk::decompress(packed.0, raw_len as usize).map_err(|_| "payload does not decompress")?;
    if raw.len() as u64 != raw_len {
        return Err("payload length mismatch");
    }
    let mut p = Reader(&raw);
    let compression = match p.u8()? {
        0 => Compression::None,
        1 => Compression::Gzip,
        2 => Compression::Zstd,
        _ => return Err("unknown compression"),
    };
    let blob_bytes = p.u64()?;
    let tar_bytes = p.u64()?;
    let mut digests = [None, None];
    for d in &mut digests {
        *d = p.opt()?.map(|b| String::from_utf8(b.to_vec()).map_err(|_| "bad digest")).transpose()?;
    }
    let [digest, diff_digest] = digests;
    let n = p.len()?;
    let mut hashes = Vec::with_capacity(n.min(p.0.len() / 24));
    for _ in 0..n {
        hashes.push((p.u64()?, u128::from_le_bytes(p.take(16)?.try_into().unwrap())));
    }
    let n = p.len()?;
    let mut entries = Vec::with_capacity(n.min(p.0.len() / 22));
    for _ in 0..n {
        let kind = kind_of(p.u8()?)?;
        let sparse = match p.u8()? {
            0 => false,
            1 => true,
            _ => return Err("bad flag"),
        };
        let size = p.u64()?;
        let offset = p.u64()?;
        let n = p.u32()? as usize;
        let path = p.take(n)?.into();
        let link = p.opt()?.map(Into::into);
        let content = p.opt()?.map(Into::into);
        entries.push(LayerEntry { path, kind, size, offset, link, content, sparse });
    }
    if !p.0.is_empty() {
        return Err("trailing bytes in the payload");
    }
    Ok(LayerScan { entries, compression, blob_bytes, tar_bytes, digest, diff_digest, hashes })
}

fn bytes(p: &mut Vec<u8>, b: &[u8]) {
    p.extend_from_slice(&(b.len() as u32).to_le_bytes());
    p.extend_from_slice(b);
}

/// Absent is `u32::MAX`; present is its length and bytes.
fn opt_bytes(p: &mut Vec<u8>, b: Option<&[u8]>) {
    match b {
        Some(b) => bytes(p, b),
        None => p.extend_from_slice(&u32::MAX.to_le_bytes()),
    }
}

fn kind_byte(k: EntryKind) -> u8 {
    match k {
        EntryKind::File => 0,
        EntryKind::Dir => 1,
        EntryKind::Symlink => 2,
        EntryKind::Hardlink => 3,
        EntryKind::Other => 4,
        EntryKind::Whiteout => 5,
        EntryKind::Opaque => 6,
    }
}

fn kind_of(b: u8) -> Result<EntryKind, &'static str> {
    Ok(match b {
        0 => EntryKind::File,
        1 => EntryKind::Dir,
        2 => EntryKind::Symlink,
        3 => EntryKind::Hardlink,
        4 => EntryKind::Other,
        5 => EntryKind::Whiteout,
        6 => EntryKind::Opaque,
        _ => return Err("unknown entry kind"),
    })
}

/// Reads that stop at the end of the data instead of running past it.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], &'static str> {
        if n > self.0.len() {
            return Err("truncated");
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8, &'static str> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, &'static str> {
        Ok(u16::from_le_bytes(self.take(2)?.try_into().unwrap()))
    }
    fn u32(&mut self) -> Result<u32, &'static str> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
    fn u64(&mut self) -> Result<u64, &'static str> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }
    /// A count or length that must fit in what is left.
    fn len(&mut self) -> Result<usize, &'static str> {
        let n = self.u64()?;
        usize::try_from(n).ok().filter(|&n| n <= self.0.len().max(1) * 8).ok_or("bad length")
    }
    fn opt(&mut self) -> Result<Option<&'a [u8]>, &'static str> {
        match self.u32()? {
            u32::MAX => Ok(None),
            n => self.take(n as usize).map(Some),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan() -> LayerScan {
        let e = |path: &[u8], kind, link: Option<&[u8]>, content: Option<&[u8]>| LayerEntry {
            path: path.into(),
            kind,
            size: content.map_or(0, |c| c.len() as u64),
            offset: 512,
            link: link.map(Into::into),
            content: content.map(Into::into),
            sparse: false,
        };
        LayerScan {
            entries: vec![
                e(b"usr", EntryKind::Dir, None, None),
                e(b"usr/caf\xe9", EntryKind::File, None, Some(b"hello")),
                e(b"usr/l", EntryKind::Symlink, Some(b"../x"), None),
                e(b"etc", EntryKind::Opaque, None, None),
                e(b"empty", EntryKind::File, None, Some(b"")),
            ],
            compression: Compression::Zstd,
            blob_bytes: 10,
            tar_bytes: 2048,
            digest: Some("sha256:ab".into()),
            diff_digest: None,
            hashes: vec![(1024, u128::MAX - 3)],
        }
    }

    fn same(a: &LayerScan, b: &LayerScan) -> bool {
        format!("{a:?}") == format!("{b:?}")
    }

    #[test]
    fn an_entry_reads_back_as_written_and_nothing_else_does() {
        let key = [7u8; 32];
        let data = encode(&key, "b1", &scan());
        assert!(same(&decode(&data, &key, "b1").unwrap(), &scan()));
        assert!(head_matches(&data[..head_len("b1")], &key, "b1"));
        assert!(!head_matches(&data, &key, "b2") && !head_matches(&data, &[8; 32], "b1"));
        assert_eq!(decode(&data, &[8; 32], "b1").unwrap_err(), "written for another key");
        assert_eq!(decode(&data, &key, "b2").unwrap_err(), "written by another slim build");
        for i in 0..data.len() {
            let mut bad = data.clone();
            bad[i] ^= 0x10;
            assert!(decode(&bad, &key, "b1").is_err(), "flipped byte {i}");
        }
        for n in 0..data.len() {
            assert!(decode(&data[..n], &key, "b1").is_err(), "cut at {n}");
        }
    }

    /// An entry whose checksum holds but whose payload claims another raw length (a foreign
    /// writer's): refused, and a huge claim is never allocated.
    #[test]
    fn a_payload_that_lies_about_its_length_is_refused() {
        let key = [7u8; 32];
        let data = encode(&key, "b1", &scan());
        let at = head_len("b1") + 8;
        let raw = u64::from_le_bytes(data[at..at + 8].try_into().unwrap());
        for (claim, why) in [(u64::MAX, "payload too large"), (raw + 1, "payload length mismatch"), (raw - 1, "payload does not decompress")] {
            let mut bad = data[..data.len() - 16].to_vec();
            bad[at..at + 8].copy_from_slice(&claim.to_le_bytes());
            let sum = xxhash_rust::xxh3::xxh3_128(&bad);
            bad.extend_from_slice(&sum.to_le_bytes());
            assert_eq!(decode(&bad, &key, "b1").unwrap_err(), why, "claim {claim}");
        }
        // What is stored is smaller than what it holds once the entries repeat (paths do).
        let mut big = scan();
        let e = big.entries[1].clone();
        big.entries = (0..1000).map(|_| e.clone()).collect();
        let raw_len: usize = 200 + big.entries.iter().map(|e| 30 + e.path.len() + e.content.as_ref().map_or(0, |c| c.len())).sum::<usize>();
        assert!(encode(&key, "b1", &big).len() * 4 < raw_len);
    }
}
