//! A decoded tar stream whose file data is read where its buffer holds it. The tar crate reads
//! everything through `Read`, which copies: an entry's data into the reader's buffer to be
//! hashed, and data nobody wants into a scratch buffer to skip it. For a decoded layer that is
//! every byte of the layer copied once more on the walking thread, the one beside the decoder.
//! Here the tar reader still reads headers, extension records and kept contents (a copy of a
//! few bytes each); file data is hashed where it lies (`read_ahead`), and skipped by seeking,
//! which consumes the buffer without copying it.
//!
//! The tar reader keeps its own count of where it is; bytes read ahead of it are owed to it:
//! its next seek, to the header after the entry, is shortened by them.

use std::cell::RefCell;
use std::io::{self, BufRead, Read, Seek, SeekFrom};
use std::rc::Rc;

/// One stream, shared by the tar reader (which owns a handle) and the walk (which keeps one).
pub struct InPlace<B>(Rc<RefCell<State<B>>>);

struct State<B> {
    inner: B,
    /// Bytes of the stream consumed so far.
    pos: u64,
    /// Of those, bytes consumed by `read_ahead` that the tar reader has not seeked past yet.
    ahead: u64,
}

/// Reading an entry's data where it lies, for a walk that does not know the stream's type.
pub trait ReadAhead {
    /// Hand the `len` bytes of data that start at `at` to `each`, a piece at a time, without
    /// copying them: the number handed over (fewer at the stream's end), or None when the
    /// stream is not at `at` (the caller then reads through the tar entry).
    fn read_ahead(&self, at: u64, len: u64, each: &mut dyn FnMut(&[u8])) -> io::Result<Option<u64>>;
}

impl<B: BufRead> InPlace<B> {
    pub fn new(inner: B) -> Self {
        InPlace(Rc::new(RefCell::new(State { inner, pos: 0, ahead: 0 })))
    }

    /// A second handle on the same stream.
    pub fn handle(&self) -> Self {
        InPlace(self.0.clone())
    }

    /// Consume the rest of the stream (what follows the end-of-archive marker still belongs to
    /// it): the stream's length.
    pub fn drain(&self) -> io::Result<u64> {
        let mut s = self.0.borrow_mut();
        s.consume_upto(u64::MAX)?;
        Ok(s.pos)
    }
}

impl<B: BufRead> State<B> {
    /// Consume up to `n` bytes in place, handing each piece to `each`: how many there were.
    fn consume_with(&mut self, n: u64, each: &mut dyn FnMut(&[u8])) -> io::Result<u64> {
        let mut left = n;
        while left > 0 {
            let buf = match self.inner.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if buf.is_empty() {
                break;
            }
            let k = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            each(&buf[..k]);
            self.inner.consume(k);
            self.pos += k as u64;
            left -= k as u64;
        }
        Ok(n - left)
    }

    fn consume_upto(&mut self, n: u64) -> io::Result<u64> {
        self.consume_with(n, &mut |_| {})
    }
}

impl<B: BufRead> ReadAhead for InPlace<B> {
    fn read_ahead(&self, at: u64, len: u64, each: &mut dyn FnMut(&[u8])) -> io::Result<Option<u64>> {
        let mut s = self.0.borrow_mut();
        if s.pos != at || s.ahead != 0 {
            return Ok(None);
        }
        let got = s.consume_with(len, each)?;
        s.ahead = got;
        Ok(Some(got))
    }
}

impl<B: BufRead> Read for InPlace<B> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let mut s = self.0.borrow_mut();
        if s.ahead != 0 {
            // The tar reader reads only from where it seeked to, past what was read ahead.
            return Err(io::Error::other("the tar reader read data that was read ahead of it"));
        }
        let n = s.inner.read(out)?;
        s.pos += n as u64;
        Ok(n)
    }
}

impl<B: BufRead> Seek for InPlace<B> {
    /// Forward from here only, which is all the tar reader asks (to skip to the next header):
    /// the new position, as the tar reader counts it.
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let mut s = self.0.borrow_mut();
        let by = match to {
            SeekFrom::Current(by) => u64::try_from(by).ok().filter(|&by| by >= s.ahead),
            _ => None,
        };
        let Some(by) = by else {
            return Err(io::Error::new(io::ErrorKind::Unsupported, "a decoded tar stream seeks forward only"));
        };
        let left = by - s.ahead;
        s.ahead = 0;
        if s.consume_upto(left)? < left {
            // What the tar reader says when it skips by reading.
            return Err(io::Error::other("unexpected EOF during skip"));
        }
        Ok(s.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tar of files of many sizes around the 512-byte blocks and the buffer's size.
    fn archive() -> (Vec<u8>, Vec<Vec<u8>>) {
        let mut b = tar::Builder::new(Vec::new());
        let mut files = Vec::new();
        for (i, size) in [0usize, 1, 511, 512, 513, 4095, 4097, 70_000, 3, 200_000].into_iter().enumerate() {
            let data: Vec<u8> = (0..size).map(|k| (k * 7 + i * 13) as u8).collect();
            let mut h = tar::Header::new_gnu();
            h.set_size(size as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, format!("f{i}"), &data[..]).unwrap();
            files.push(data);
        }
        (b.into_inner().unwrap(), files)
    }

    /// Walk `tar` through a BufReader of `cap` bytes, reading the data of every `every`-th
    /// entry ahead of the tar reader and letting it skip the others: what was read ahead.
    fn walk(tar: &[u8], cap: usize, every: usize) -> io::Result<(Vec<Vec<u8>>, u64)> {
        let s = InPlace::new(io::BufReader::with_capacity(cap, tar));
        let mut seen = Vec::new();
        {
            let mut ar = tar::Archive::new(s.handle());
            for (i, e) in ar.entries_with_seek()?.enumerate() {
                let e = e?;
                if i % every == 0 {
                    let mut got = Vec::new();
                    let n = s.read_ahead(e.raw_file_position(), e.size(), &mut |b| got.extend_from_slice(b))?;
                    assert_eq!(n, Some(got.len() as u64));
                    seen.push(got);
                }
            }
        }
        Ok((seen, s.drain()?))
    }

    #[test]
    fn data_read_ahead_is_the_entries_data_and_the_walk_reaches_the_end() {
        let (tar, files) = archive();
        for cap in [512, 700, 4096, 1 << 20] {
            for every in [1, 2, 3] {
                let (seen, len) = walk(&tar, cap, every).unwrap();
                let want: Vec<Vec<u8>> = files.iter().step_by(every).cloned().collect();
                assert_eq!(seen, want, "buffer {cap}, every {every}");
                assert_eq!(len, tar.len() as u64);
            }
        }
    }

    #[test]
    fn a_stream_cut_short_fails_as_the_tar_reader_fails_on_its_own() {
        let (tar, _) = archive();
        for cut in [700, 1100, 5000, 80_000, tar.len() - 2000] {
            let ours = walk(&tar[..cut], 4096, 1).map(|_| ()).unwrap_err().to_string();
            // The tar reader alone, skipping by reading.
            let mut ar = tar::Archive::new(&tar[..cut]);
            let theirs = ar.entries().unwrap().try_for_each(|e| e.map(|_| ())).unwrap_err().to_string();
            assert_eq!(ours, theirs, "cut at {cut}");
        }
    }

    #[test]
    fn the_tar_reader_cannot_read_what_was_read_ahead_of_it() {
        let (tar, _) = archive();
        let s = InPlace::new(io::BufReader::new(&tar[..]));
        let mut ar = tar::Archive::new(s.handle());
        let mut e = ar.entries_with_seek().unwrap().nth(1).unwrap().unwrap();
        assert_eq!(s.read_ahead(e.raw_file_position(), 1, &mut |_| {}).unwrap(), Some(1));
        // A second read ahead from elsewhere is refused, and so is the tar reader's own read.
        assert_eq!(s.read_ahead(e.raw_file_position(), 1, &mut |_| {}).unwrap(), None);
        assert!(e.read(&mut [0u8; 1]).is_err());
    }
}
