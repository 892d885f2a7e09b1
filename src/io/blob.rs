//! Readers over blobs: a window of a shared file read with pread (so layers can be read in
//! parallel from one file), and a reader that counts and hashes what passes through it.

use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;

/// A read-only window `[start, start+len)` of a file, with its own position.
pub struct Slice<'f> {
    file: &'f File,
    start: u64,
    len: u64,
    pos: u64,
}

impl<'f> Slice<'f> {
    pub fn new(file: &'f File, start: u64, len: u64) -> Self {
        Slice { file, start, len, pos: 0 }
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Read for Slice<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.len {
            return Ok(0);
        }
        let want = (buf.len() as u64).min(self.len - self.pos) as usize;
        let n = self.file.read_at(&mut buf[..want], self.start + self.pos)?;
        if n == 0 && want > 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "file ends before the blob does (truncated archive)"));
        }
        self.pos += n as u64;
        Ok(n)
    }
}

impl crate::io::pipe::ReadAt for Slice<'_> {
    fn read_exact_at(&self, buf: &mut [u8], at: u64) -> io::Result<()> {
        let inside = at.checked_add(buf.len() as u64).is_some_and(|end| end <= self.len);
        if !inside {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "past the end of the blob"));
        }
        self.file.read_exact_at(buf, self.start + at)
    }
}

impl Seek for Slice<'_> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let new = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
        };
        match new {
            Some(p) => {
                self.pos = p;
                Ok(p)
            }
            None => Err(io::Error::new(io::ErrorKind::InvalidInput, "seek before start")),
        }
    }
}

/// Counts bytes read through it and, when asked, hashes them with sha256 on a thread of its own
/// (see [`Hasher`]), so that the reading thread only reads, decodes and walks.
pub struct Tally<R> {
    inner: R,
    pub bytes: u64,
    hasher: Option<Hasher>,
}

impl<R: Read> Tally<R> {
    pub fn new(inner: R, hash: bool) -> Self {
        Tally { inner, bytes: 0, hasher: hash.then(Hasher::spawn) }
    }

    /// Read to EOF, then return (bytes, "sha256:<hex>" if hashing).
    pub fn finish(mut self) -> io::Result<(u64, Option<String>)> {
        io::copy(&mut self, &mut io::sink())?;
        let digest = self.hasher.take().map(Hasher::finish).transpose()?;
        Ok((self.bytes, digest))
    }
}

impl<R: Read> Read for Tally<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes += n as u64;
        if let Some(h) = &mut self.hasher {
            h.update(&buf[..n]);
        }
        Ok(n)
    }
}

/// sha256 on a thread of its own: bytes are copied into 1 MiB chunks that are handed over
/// through a bounded channel (a copy costs a fraction of hashing), and the chunks come back
/// to be filled again.
pub struct Hasher {
    chunk: Vec<u8>,
    tx: Option<std::sync::mpsc::SyncSender<Vec<u8>>>,
    spares: std::sync::mpsc::Receiver<Vec<u8>>,
    handle: Option<std::thread::JoinHandle<String>>,
}

const HASH_CHUNK: usize = 1 << 20;
const HASH_DEPTH: usize = 4;

impl Hasher {
    pub fn spawn() -> Self {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(HASH_DEPTH);
        let (spare, spares) = std::sync::mpsc::channel::<Vec<u8>>();
        let handle = std::thread::spawn(move || {
            let mut h = Sha256::new();
            for mut chunk in rx {
                h.update(&chunk);
                chunk.clear();
                let _ = spare.send(chunk);
            }
            format!("sha256:{}", hex::encode(h.finalize()))
        });
        Hasher { chunk: Vec::with_capacity(HASH_CHUNK), tx: Some(tx), spares, handle: Some(handle) }
    }

    pub fn update(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let take = (HASH_CHUNK - self.chunk.len()).min(data.len());
            self.chunk.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.chunk.len() == HASH_CHUNK {
                self.hand_over();
            }
        }
    }

    fn hand_over(&mut self) {
        let next = self.spares.try_recv().unwrap_or_else(|_| Vec::with_capacity(HASH_CHUNK));
        let full = std::mem::replace(&mut self.chunk, next);
        if let Some(tx) = &self.tx {
            // The thread only stops when the channel closes, so a send cannot fail.
            let _ = tx.send(full);
        }
    }

    /// The digest of everything given, as "sha256:<hex>".
    pub fn finish(mut self) -> io::Result<String> {
        if !self.chunk.is_empty() {
            self.hand_over();
        }
        drop(self.tx.take());
        let handle = self.handle.take().expect("finish runs once");
        handle.join().map_err(|_| io::Error::other("the sha256 thread panicked"))
    }
}

impl Drop for Hasher {
    /// Closing the channel ends the thread once it has hashed what it holds (at most
    /// `HASH_DEPTH` chunks); it is waited for, so that no thread outlives the read it served.
    fn drop(&mut self) {
        drop(self.tx.take());
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

/// The digest of `data` with the algorithm `want` names (`sha256:…` or `sha512:…`), in the
/// same form; None for any other algorithm.
pub fn digest_like(want: &str, data: &[u8]) -> Option<String> {
    match want.split_once(':')?.0 {
        "sha256" => Some(sha256_hex(data)),
        "sha512" => Some(format!("sha512:{}", hex::encode(sha2::Sha512::digest(data)))),
        _ => None,
    }
}

/// Hash everything `r` gives with the algorithm `want` names (see `digest_like`).
pub fn digest_reader<R: Read>(want: &str, mut r: R) -> io::Result<Option<String>> {
    enum H {
        S256(Sha256),
        S512(sha2::Sha512),
    }
    let mut h = match want.split_once(':').map(|p| p.0) {
        Some("sha256") => H::S256(Sha256::new()),
        Some("sha512") => H::S512(sha2::Sha512::new()),
        _ => return Ok(None),
    };
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        match &mut h {
            H::S256(h) => h.update(&buf[..n]),
            H::S512(h) => h.update(&buf[..n]),
        }
    }
    Ok(Some(match h {
        H::S256(h) => format!("sha256:{}", hex::encode(h.finalize())),
        H::S512(h) => format!("sha512:{}", hex::encode(h.finalize())),
    }))
}

/// A digest slim can verify: `sha256:` and 64 hex digits, or `sha512:` and 128 (lower case,
/// as the OCI spec requires). Anything else is refused with what is wrong.
pub fn check_digest(d: &str) -> Result<(), String> {
    let (alg, hex) = d.split_once(':').ok_or_else(|| format!("{}: not a digest (algorithm:hex)", crate::escape::escape(d)))?;
    let len = match alg {
        "sha256" => 64,
        "sha512" => 128,
        _ => return Err(format!("unsupported digest algorithm {:?} (slim verifies sha256 and sha512)", crate::escape::escape(alg))),
    };
    if hex.len() != len || !hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err(format!("{alg} digest {:?} is not {len} lower-case hex digits", crate::escape::escape(hex)));
    }
    Ok(())
}

pub fn sha256_hex(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// The threaded sha256 equals a one-shot sha256 for sizes around its chunk boundaries, read
    /// in reads of every length.
    #[test]
    fn tally_hashes_on_its_own_thread_exactly() {
        for size in [0, 1, HASH_CHUNK - 1, HASH_CHUNK, HASH_CHUNK + 1, 3 * HASH_CHUNK + 12345] {
            let data: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
            let mut t = Tally::new(Choppy { data: &data, state: 1 }, true);
            let mut out = Vec::new();
            t.read_to_end(&mut out).unwrap();
            assert_eq!(out, data);
            let (bytes, digest) = t.finish().unwrap();
            assert_eq!(bytes, size as u64);
            assert_eq!(digest.as_deref(), Some(sha256_hex(&data).as_str()), "size {size}");
        }
        // Dropped half-way: no hang, no panic.
        let data = vec![7u8; 2 * HASH_CHUNK];
        let mut t = Tally::new(&data[..], true);
        let mut half = vec![0u8; HASH_CHUNK + 5];
        t.read_exact(&mut half).unwrap();
        drop(t);
    }

    /// Gives at most a few (varying) bytes per read (the pipe's tests read through it too).
    pub(in crate::io) struct Choppy<'a> {
        pub data: &'a [u8],
        pub state: u32,
    }

    impl Read for Choppy<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.state = self.state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let n = (self.state >> 16) as usize % 70_000 + 1;
            let n = n.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }
}
