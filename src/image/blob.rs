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
        Slice {
            file,
            start,
            len,
            pos: 0,
        }
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
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "file ends before the blob does (truncated archive)",
            ));
        }
        self.pos += n as u64;
        Ok(n)
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

/// Counts bytes read through it and, when asked, hashes them with sha256.
pub struct Tally<R> {
    inner: R,
    pub bytes: u64,
    hasher: Option<Sha256>,
}

impl<R: Read> Tally<R> {
    pub fn new(inner: R, hash: bool) -> Self {
        Tally {
            inner,
            bytes: 0,
            hasher: hash.then(Sha256::new),
        }
    }

    /// Read to EOF, then return (bytes, "sha256:<hex>" if hashing).
    pub fn finish(mut self) -> io::Result<(u64, Option<String>)> {
        io::copy(&mut self, &mut io::sink())?;
        let digest = self
            .hasher
            .map(|h| format!("sha256:{}", hex::encode(h.finalize())));
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

impl<R: Read> Tally<&mut R> {}

pub fn sha256_hex(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

/// Counts bytes that pass, through a shared cell (for a reader that is moved into a decoder).
pub struct Counter<R> {
    pub inner: R,
    pub count: std::rc::Rc<std::cell::Cell<u64>>,
}

impl<R: Read> Read for Counter<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}
