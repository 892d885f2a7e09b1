//! Chunks handed between threads, so that the one thread an image's largest layer keeps busy
//! only decodes: a blob is read and sha256-hashed on one thread (`Prefetched`, which reads
//! ahead first and hashes when it has nothing to read), decoded on a second (`Decoder`), and
//! walked on a third; the decoded chunks the walk is done with are hashed on a fourth when the
//! diff_id is to be checked. Chunks travel through channels of bounded depth and come back to
//! be filled again: nothing is copied between threads.

use super::compress::{self, Compression};
use super::zstd_blocks;
use sha2::{Digest, Sha256};
use std::collections::VecDeque;
use std::io::{self, BufRead, Read};
use std::sync::mpsc::{Receiver, Sender, SyncSender, channel, sync_channel};
use std::thread::{Scope, ScopedJoinHandle};

/// How much is read or decoded at a time.
pub const CHUNK: usize = 1 << 20;
/// How many decoded chunks may wait for the walk.
const DEPTH: usize = 16;

/// The receiving end: reads the chunks a filling thread sends, in order, and hands each one it
/// has used on (back to the filler, or to a hashing thread first).
pub struct Pipe {
    rx: Receiver<io::Result<Vec<u8>>>,
    used: Sender<Vec<u8>>,
    cur: Vec<u8>,
    at: usize,
    done: bool,
}

impl Read for Pipe {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = {
            let avail = self.fill_buf()?;
            let n = avail.len().min(out.len());
            out[..n].copy_from_slice(&avail[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Pipe {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        while self.at >= self.cur.len() && !self.done {
            match self.rx.recv() {
                Ok(Ok(next)) => {
                    let old = std::mem::replace(&mut self.cur, next);
                    if !old.is_empty() {
                        let _ = self.used.send(old);
                    }
                    self.at = 0;
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => {
                    self.done = true;
                    let last = std::mem::take(&mut self.cur);
                    if !last.is_empty() {
                        let _ = self.used.send(last);
                    }
                    self.at = 0;
                }
            }
        }
        Ok(&self.cur[self.at..])
    }

    fn consume(&mut self, n: usize) {
        self.at = (self.at + n).min(self.cur.len());
    }
}

/// Hand `e` to the pipe's reader (which reports it) and return it for the filling thread.
fn pass_on(tx: &SyncSender<io::Result<Vec<u8>>>, e: io::Error) -> io::Error {
    let copy = io::Error::new(e.kind(), e.to_string());
    let _ = tx.send(Err(e));
    copy
}

/// Read `r` to its end in chunks, each sent on `tx`; the chunks to fill are the ones that came
/// back on `spares`, or new ones. A read error is sent on after the bytes read before it, then
/// returned. Returns the bytes read, or an error when the receiving end is gone.
fn fill<R: Read>(mut r: R, tx: &SyncSender<io::Result<Vec<u8>>>, spares: &Receiver<Vec<u8>>) -> io::Result<u64> {
    let mut total = 0u64;
    loop {
        let mut buf = spares.try_recv().unwrap_or_default();
        buf.resize(CHUNK, 0);
        let (got, failed) = read_chunk(&mut r, &mut buf);
        buf.truncate(got);
        if let Some(e) = failed {
            // What was read before the error is handed on first: the reader fails where a
            // reader of `r` itself would.
            if got > 0 {
                let _ = tx.send(Ok(buf));
            }
            return Err(pass_on(tx, e));
        }
        if got == 0 {
            return Ok(total);
        }
        total += got as u64;
        if tx.send(Ok(buf)).is_err() {
            // The reading end was dropped (the layer failed): stop quietly.
            return Err(io::Error::other("reader gone"));
        }
    }
}

/// Reads a blob on a thread of its own and hashes it (sha256) there, and hands it over in
/// chunks: the thread that reads from it only decodes.
///
/// Reading comes first and hashing after: the thread keeps `AHEAD` chunks waiting for the
/// decoder, and hashes the chunks the decoder has given back only when it has nothing to
/// read. Where a layer compresses badly the decoder eats chunks faster than one core reads and
/// sha256 hashes them (one stream of sha256 runs at ~1.8 GB/s here, an inflate of stored or
/// barely compressed data faster); hashing those chunks later, where the layer compresses well
/// and the decoder is slower, keeps the decoder from waiting. The chunks are hashed in the
/// order read, since the pipe gives them back in order.
///
/// At most `POOL` chunks are read and not yet hashed. Past that, a blob that can be read again
/// (`ReadAt`: a file) does not make the decoder wait: the chunks given back are let go, each
/// with its xxh3-128, and read again when their turn to be hashed comes; the bytes read again
/// must have the same xxh3, or the blob changed under the decoder and the read fails. A blob
/// that cannot be read again (a registry's, stdin) is read no further ahead until the hashing
/// has caught up.
pub struct Prefetched;

/// A blob that can be read again at an offset of its own.
pub trait ReadAt: Sync {
    fn read_exact_at(&self, buf: &mut [u8], at: u64) -> io::Result<()>;
}

/// The reading end's result: (bytes, "sha256:<hex>") once it reached the end.
pub type PrefetchResult = io::Result<(u64, String)>;

/// How many blob chunks are kept waiting for the decoder.
const AHEAD: usize = 16;
/// How many blob chunks may be read and not yet hashed, waiting ones included (and held, for
/// a blob that can be read again).
const POOL: usize = 64;
const _: () = assert!(AHEAD >= 2 && POOL >= 2 * AHEAD, "the pipe holds one chunk while it waits for the next");

impl Prefetched {
    /// Start reading `r` on a thread of `scope`; `again` reads the same blob again, when it can.
    pub fn spawn<'scope, 'env, R: Read + Send + 'scope>(
        scope: &'scope Scope<'scope, 'env>,
        r: R,
        again: Option<&'scope dyn ReadAt>,
    ) -> (Pipe, ScopedJoinHandle<'scope, PrefetchResult>) {
        // Never full: at most `AHEAD` chunks are out at a time, and then one error.
        let (tx, rx) = sync_channel(AHEAD + 1);
        let (used, given_back) = channel();
        let handle = scope.spawn(move || read_then_hash(r, again, tx, given_back));
        (Pipe { rx, used, cur: Vec::new(), at: 0, done: false }, handle)
    }
}

/// A chunk given back and not hashed yet: held, or let go to be read again.
enum Unhashed {
    Held(Vec<u8>),
    LetGo { at: u64, len: usize, xxh3: u128 },
}

/// The reading thread of `Prefetched`: read `r` in chunks sent on `tx` while fewer than
/// `AHEAD` wait, and hash the chunks that come back on `given_back` (all of them, in order)
/// when there is nothing to read. A read error is sent on after the bytes read before it, then
/// returned; so is an error when the pipe is gone before the blob's end.
fn read_then_hash<R: Read>(mut r: R, again: Option<&dyn ReadAt>, tx: SyncSender<io::Result<Vec<u8>>>, given_back: Receiver<Vec<u8>>) -> PrefetchResult {
    let gone = || io::Error::other("reader gone");
    let mut hasher = Sha256::new();
    let mut total = 0u64;
    // Where the chunks sent and not given back yet start; the chunks given back and not hashed
    // yet, and how many of those are held.
    let mut out: VecDeque<u64> = VecDeque::new();
    let mut unhashed: VecDeque<Unhashed> = VecDeque::new();
    let mut held = 0usize;
    let mut spares: Vec<Vec<u8>> = Vec::new();
    let mut tx = Some(tx);
    let back = |c: Vec<u8>, out: &mut VecDeque<u64>, unhashed: &mut VecDeque<Unhashed>, held: &mut usize, spares: &mut Vec<Vec<u8>>| {
        let at = out.pop_front().unwrap_or_default();
        if again.is_some() && *held + AHEAD >= POOL {
            unhashed.push_back(Unhashed::LetGo { at, len: c.len(), xxh3: xxhash_rust::xxh3::xxh3_128(&c) });
            spares.push(c);
        } else {
            unhashed.push_back(Unhashed::Held(c));
            *held += 1;
        }
    };
    loop {
        while let Ok(c) = given_back.try_recv() {
            back(c, &mut out, &mut unhashed, &mut held, &mut spares);
        }
        if let Some(send) = tx.as_ref().filter(|_| out.len() < AHEAD && (again.is_some() || out.len() + held < POOL)) {
            let mut buf = spares.pop().unwrap_or_default();
            buf.resize(CHUNK, 0);
            let (got, failed) = read_chunk(&mut r, &mut buf);
            buf.truncate(got);
            if got > 0 {
                send.send(Ok(buf)).map_err(|_| gone())?;
                out.push_back(total);
            }
            total += got as u64;
            if let Some(e) = failed {
                // What was read before the error was handed on first: the reader fails where a
                // reader of `r` itself would.
                return Err(pass_on(send, e));
            }
            if got == 0 {
                // The end: the pipe sees it once it has taken every chunk.
                tx = None;
            }
        } else if let Some(u) = unhashed.pop_front() {
            match u {
                Unhashed::Held(c) => {
                    hasher.update(&c);
                    spares.push(c);
                    held -= 1;
                }
                Unhashed::LetGo { at, len, xxh3 } => {
                    let mut c = spares.pop().unwrap_or_default();
                    c.resize(len, 0);
                    let again = again.ok_or_else(|| io::Error::other("a chunk was let go that cannot be read again"))?;
                    again.read_exact_at(&mut c, at).map_err(|e| io::Error::new(e.kind(), format!("reading the blob again at byte {at} to hash it: {e}")))?;
                    if xxhash_rust::xxh3::xxh3_128(&c) != xxh3 {
                        return Err(io::Error::new(io::ErrorKind::InvalidData, format!("the blob changed while it was read (its bytes at {at} are not the ones decoded)")));
                    }
                    hasher.update(&c);
                    spares.push(c);
                }
            }
        } else if tx.is_none() && out.is_empty() {
            return Ok((total, format!("sha256:{}", hex::encode(hasher.finalize()))));
        } else {
            // Nothing to read or hash until the pipe gives a chunk back.
            let c = given_back.recv().map_err(|_| gone())?;
            back(c, &mut out, &mut unhashed, &mut held, &mut spares);
        }
    }
}

/// Fill `buf` from `r` to its length or to the end of `r`: (bytes read, the error that stopped it).
fn read_chunk<R: Read>(r: &mut R, buf: &mut [u8]) -> (usize, Option<io::Error>) {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return (got, Some(e)),
        }
    }
    (got, None)
}

/// The filling end of a decoded stream (see `decoder`): run on the thread that is to decode.
pub struct Decoder {
    tx: SyncSender<io::Result<Vec<u8>>>,
    spares: Receiver<Vec<u8>>,
}

impl Decoder {
    /// Decode `inner` (compressed as `c`) into the pipe, in chunks; once the decoded stream
    /// ends, what is left of `inner` is read to its end (so that a hash of it covers every
    /// byte). An error is handed to the pipe's reader too.
    pub fn run<R: BufRead>(self, c: Compression, mut inner: R) -> io::Result<u64> {
        let Decoder { tx, spares } = self;
        let n = match c {
            // Decoded block by block into the chunks themselves: no copy out of a window.
            Compression::Zstd => {
                let mut chunks = Bounded { tx: &tx, spares: &spares, alive: 0 };
                zstd_blocks::decode(&mut inner, &mut chunks).map_err(|e| pass_on(&tx, e))?
            }
            _ => match compress::decoder_buf(c, &mut inner) {
                Ok(d) => fill(d, &tx, &spares)?,
                Err(e) => return Err(pass_on(&tx, e)),
            },
        };
        // What follows the compressed stream is part of the blob.
        if let Err(e) = io::copy(&mut inner, &mut io::sink()) {
            return Err(pass_on(&tx, e));
        }
        Ok(n)
    }
}

/// A decoder's chunks: the ones that came back when there are any, new ones while fewer than
/// `DEPTH` chunks' worth (or `HELD` chunks, if larger) are out, else the next that comes back.
struct Bounded<'a> {
    tx: &'a SyncSender<io::Result<Vec<u8>>>,
    spares: &'a Receiver<Vec<u8>>,
    /// Bytes of capacity of the chunks made and not dropped.
    alive: usize,
}

/// How many chunks a decoder that holds two back (see `zstd_blocks`) may have out at least:
/// the two, one the walk reads and one on the way.
const HELD: usize = 4;

impl zstd_blocks::Chunks for Bounded<'_> {
    fn take(&mut self, capacity: usize) -> io::Result<Vec<u8>> {
        let capacity = capacity.max(CHUNK);
        let budget = (DEPTH * CHUNK).max(HELD * capacity);
        loop {
            let spare = match self.spares.try_recv() {
                Ok(c) => c,
                Err(_) if self.alive + capacity <= budget => break,
                Err(_) => self.spares.recv().map_err(|_| io::Error::other("reader gone"))?,
            };
            if spare.capacity() >= capacity {
                let mut c = spare;
                c.clear();
                return Ok(c);
            }
            // Too small for this frame's window: dropped, and a larger one made.
            self.alive = self.alive.saturating_sub(spare.capacity());
        }
        let mut c = Vec::new();
        c.try_reserve_exact(capacity).map_err(|_| io::Error::other(format!("no memory for a zstd window of {capacity} bytes")))?;
        self.alive += c.capacity();
        Ok(c)
    }

    fn send(&mut self, chunk: Vec<u8>) -> io::Result<()> {
        self.tx.send(Ok(chunk)).map_err(|_| io::Error::other("reader gone"))
    }
}

/// The sha256 of what a pipe's reader used, computed on a thread of its own (see `decoder`).
pub struct Hashing<'scope>(Option<ScopedJoinHandle<'scope, String>>);

impl Hashing<'_> {
    /// Once the pipe's reader is dropped: the digest, when the stream was hashed.
    pub fn finish(self) -> io::Result<Option<String>> {
        self.0.map(|h| h.join().map_err(|_| io::Error::other("the sha256 thread panicked"))).transpose()
    }
}

/// A pipe for a decoded stream: the `Decoder` fills it on whatever thread runs it, the `Pipe`
/// reads it on another; with `hash`, the chunks the reader is done with are sha256-hashed on a
/// thread of `scope`, off both paths.
pub fn decoder<'scope, 'env>(scope: &'scope Scope<'scope, 'env>, hash: bool) -> (Decoder, Pipe, Hashing<'scope>) {
    let (tx, rx) = sync_channel(DEPTH);
    let (spare, spares) = channel::<Vec<u8>>();
    let (used, hasher) = if hash {
        let (to_hash, chunks) = channel::<Vec<u8>>();
        let h = scope.spawn(move || {
            let mut h = Sha256::new();
            for chunk in chunks {
                h.update(&chunk);
                let _ = spare.send(chunk);
            }
            format!("sha256:{}", hex::encode(h.finalize()))
        });
        (to_hash, Some(h))
    } else {
        (spare, None)
    };
    (Decoder { tx, spares }, Pipe { rx, used, cur: Vec::new(), at: 0, done: false }, Hashing(hasher))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::blob::tests::Choppy;

    /// Read `pipe` to its end alternating odd-sized reads and buffered consumption.
    fn drain(pipe: &mut Pipe) -> Vec<u8> {
        let mut got = Vec::new();
        let mut k = 0usize;
        loop {
            k += 1;
            if k.is_multiple_of(2) {
                let mut buf = vec![0u8; k * 37 % 5000 + 1];
                let n = pipe.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&buf[..n]);
            } else {
                let avail = pipe.fill_buf().unwrap();
                if avail.is_empty() {
                    break;
                }
                let n = avail.len().min(k * 101 % 300_000 + 1);
                got.extend_from_slice(&avail[..n]);
                pipe.consume(n);
            }
        }
        got
    }

    #[test]
    fn prefetched_hands_over_every_byte_in_order_and_hashes_them() {
        let data: Vec<u8> = (0..(3 << 20) + 12_345).map(|i: u32| (i % 253) as u8).collect();
        std::thread::scope(|s| {
            let (mut pre, reader) = Prefetched::spawn(s, Choppy { data: &data, state: 1 }, None);
            assert_eq!(drain(&mut pre), data);
            let (n, digest) = reader.join().unwrap().unwrap();
            assert_eq!(n, data.len() as u64);
            assert_eq!(digest, super::super::blob::sha256_hex(&data));
        });
    }

    /// More chunks than the reading thread may hold unhashed: read by a consumer that is
    /// faster than the hashing (the unhashed chunks pile up to `POOL`) and by one that is
    /// slower (each is hashed as soon as it comes back), the bytes arrive whole and in order
    /// and the digest is the blob's.
    #[test]
    fn prefetched_hashes_every_chunk_in_order_however_far_reading_runs_ahead() {
        let data: Vec<u8> = (0..(POOL as u32 + 9) * CHUNK as u32 + 4321).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect();
        let want = super::super::blob::sha256_hex(&data);
        for slow in [false, true] {
            std::thread::scope(|s| {
                let (mut pre, reader) = Prefetched::spawn(s, &data[..], None);
                let mut got = Vec::with_capacity(data.len());
                loop {
                    let avail = pre.fill_buf().unwrap();
                    if avail.is_empty() {
                        break;
                    }
                    got.extend_from_slice(avail);
                    let n = avail.len();
                    pre.consume(n);
                    if slow {
                        std::thread::sleep(std::time::Duration::from_micros(300));
                    }
                }
                assert!(got == data, "slow: {slow}");
                drop(pre);
                assert_eq!(reader.join().unwrap().unwrap(), (data.len() as u64, want.clone()), "slow: {slow}");
            });
        }
    }

    /// A blob that can be read again: `changed` flips a byte of what it reads again.
    struct Again<'a> {
        data: &'a [u8],
        changed: bool,
    }
    impl ReadAt for Again<'_> {
        fn read_exact_at(&self, buf: &mut [u8], at: u64) -> io::Result<()> {
            let at = at as usize;
            buf.copy_from_slice(&self.data[at..at + buf.len()]);
            if self.changed {
                buf[buf.len() / 2] ^= 1;
            }
            Ok(())
        }
    }

    /// A consumer faster than the hashing, of a blob that can be read again: chunks past the
    /// pool are let go and read again, and the digest is still the blob's; bytes that read
    /// back otherwise than they were decoded fail the read.
    #[test]
    fn prefetched_reads_again_what_it_let_go_and_refuses_a_changed_blob() {
        let data: Vec<u8> = (0..(3 * POOL as u32) * CHUNK as u32 + 777).map(|i| (i.wrapping_mul(2_654_435_761) >> 9) as u8).collect();
        let want = super::super::blob::sha256_hex(&data);
        for changed in [false, true] {
            let again = Again { data: &data, changed };
            std::thread::scope(|s| {
                let (mut pre, reader) = Prefetched::spawn(s, &data[..], Some(&again));
                let mut n = 0;
                loop {
                    let avail = pre.fill_buf().unwrap();
                    if avail.is_empty() {
                        break;
                    }
                    n += avail.len();
                    let k = avail.len();
                    pre.consume(k);
                }
                assert_eq!(n, data.len());
                drop(pre);
                let got = reader.join().unwrap();
                if changed {
                    // Copying a chunk out of memory is ~10x faster than its sha256: the
                    // hashing falls behind by far more than the pool, so chunks are let go.
                    let e = got.unwrap_err().to_string();
                    assert!(e.contains("the blob changed while it was read"), "{e}");
                } else {
                    assert_eq!(got.unwrap(), (data.len() as u64, want.clone()));
                }
            });
        }
    }

    #[test]
    fn prefetched_passes_a_read_error_on() {
        struct Failing(u32);
        impl Read for Failing {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                self.0 += 1;
                if self.0 > 3 {
                    return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "truncated archive"));
                }
                buf[0] = 1;
                Ok(1)
            }
        }
        std::thread::scope(|s| {
            let (mut pre, reader) = Prefetched::spawn(s, Failing(0), None);
            let err = io::copy(&mut pre, &mut io::sink()).unwrap_err();
            assert!(err.to_string().contains("truncated archive"));
            assert!(reader.join().unwrap().is_err());
        });
    }

    /// Decoded on a thread, the stream is every byte in order, its sha256 is the decoded
    /// bytes', and the blob is read to its end, for gzip and zstd.
    #[test]
    fn a_stream_decoded_on_its_own_thread_is_read_whole_and_hashed() {
        let data: Vec<u8> = (0..(5 << 20) + 77).map(|i: u32| (i * 7 % 251) as u8).collect();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        io::Write::write_all(&mut gz, &data).unwrap();
        let gz = gz.finish().unwrap();
        let zst = zstd::encode_all(&data[..], 3).unwrap();
        for (c, blob) in [(Compression::Gzip, gz), (Compression::Zstd, zst)] {
            for hash in [false, true] {
                std::thread::scope(|s| {
                    let (pre, reader) = Prefetched::spawn(s, Choppy { data: &blob, state: 3 }, None);
                    let (decoder, mut pipe, hashing) = decoder(s, hash);
                    let decoding = s.spawn(move || decoder.run(c, pre));
                    assert_eq!(drain(&mut pipe), data, "{c:?}");
                    drop(pipe);
                    assert_eq!(decoding.join().unwrap().unwrap(), data.len() as u64);
                    let digest = hashing.finish().unwrap();
                    let want = super::super::blob::sha256_hex(&data);
                    assert_eq!(digest, hash.then_some(want), "{c:?}");
                    let (n, blob_digest) = reader.join().unwrap().unwrap();
                    assert_eq!((n, blob_digest), (blob.len() as u64, super::super::blob::sha256_hex(&blob)));
                });
            }
        }
    }

    /// A reader that stops early (a bad tar entry) ends the decoding and reading threads: no
    /// hang, and the scope can end.
    #[test]
    fn dropping_the_reader_early_stops_every_thread() {
        let data: Vec<u8> = (0..32 << 20).map(|i: u32| (i * 13 % 241) as u8).collect();
        let zst = zstd::encode_all(&data[..], 1).unwrap();
        std::thread::scope(|s| {
            let (pre, reader) = Prefetched::spawn(s, &zst[..], None);
            let (decoder, mut pipe, hashing) = decoder(s, true);
            let decoding = s.spawn(move || decoder.run(Compression::Zstd, pre));
            let mut first = vec![0u8; 1000];
            pipe.read_exact(&mut first).unwrap();
            drop(pipe);
            assert!(decoding.join().unwrap().is_err());
            assert!(hashing.finish().unwrap().is_some());
            let _ = reader.join().unwrap();
        });
    }
}
