//! zstd decoded block by block straight into the chunks the walk reads (libzstd's buffer-less
//! API), for the decoding thread of the pipe. libzstd's streaming decoder writes each block
//! into a window of its own and copies it out; on the ML image's largest layer that copy into
//! cold chunks cost the decoding thread (the critical path) a quarter of its time.
//!
//! A block may copy from the window before it: the last `windowSize` bytes of its frame. A chunk
//! is therefore kept, unsent, until the chunk after it is full: libzstd reads the one it holds
//! as the history of the one it fills, and each chunk holds at least a window and a block.

use std::io::{self, BufRead};
use zstd::zstd_safe::zstd_sys as sys;

/// Where decoded chunks go and new ones come from (the pipe's side).
pub trait Chunks {
    /// An empty chunk with room for at least `capacity` bytes (the pipe may give more).
    fn take(&mut self, capacity: usize) -> io::Result<Vec<u8>>;
    /// Hand a decoded chunk on, in order.
    fn send(&mut self, chunk: Vec<u8>) -> io::Result<()>;
}

/// The largest window a frame may ask for (`window_log_max(31)` for the streaming decoder).
const WINDOW_MAX: u64 = 1 << 31;
/// The largest block a frame may hold (the format's limit).
const BLOCK_MAX: usize = 128 << 10;

/// A decoding context of libzstd's, freed when dropped.
struct Context(*mut sys::ZSTD_DCtx);

impl Context {
    fn new() -> io::Result<Context> {
        let ctx = unsafe { sys::ZSTD_createDCtx() };
        if ctx.is_null() {
            return Err(io::Error::other("zstd: no memory for a decoding context"));
        }
        Ok(Context(ctx))
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        unsafe { sys::ZSTD_freeDCtx(self.0) };
    }
}

/// libzstd's result as a size, or its error as the streaming decoder words it.
fn check(code: usize) -> io::Result<usize> {
    if unsafe { sys::ZSTD_isError(code) } != 0 {
        return Err(io::Error::other(zstd::zstd_safe::get_error_name(code)));
    }
    Ok(code)
}

/// Decode every frame of `input` (one after another, to its end) into chunks of `chunks`, sent
/// in order; returns the decoded bytes. Errors read as those of `zstd::stream::read::Decoder`:
/// "incomplete frame" for a cut stream, libzstd's name for the damage in a corrupt one. (The
/// streaming decoder may find damage a step earlier or later, and name it otherwise: it copies
/// stored blocks piece by piece, and its room for a frame that says its size is not this one's.)
pub fn decode<R: BufRead>(input: &mut R, chunks: &mut dyn Chunks) -> io::Result<u64> {
    let ctx = Context::new()?;
    let mut total = 0u64;
    // The chunk libzstd may read as history, and the one it writes into.
    let mut older: Option<Vec<u8>> = None;
    let mut cur: Vec<u8> = Vec::new();
    // The least capacity of a chunk and the largest block, for the frame being decoded.
    let mut capacity = BLOCK_MAX;
    let mut block_max = BLOCK_MAX;
    // The frame header's bytes (to read its window from), and input that spans two buffers.
    let mut header = Vec::new();
    let mut span = Vec::new();
    // No frame at all is a cut stream too.
    if input.fill_buf()?.is_empty() {
        return Err(incomplete());
    }
    while !input.fill_buf()?.is_empty() {
        check(unsafe { sys::ZSTD_decompressBegin(ctx.0) })?;
        header.clear();
        // What the frame may still write (until its header says its size).
        let mut frame_left = u64::MAX;
        loop {
            let need = unsafe { sys::ZSTD_nextSrcSizeToDecompress(ctx.0) };
            if need == 0 {
                break;
            }
            let kind = unsafe { sys::ZSTD_nextInputType(ctx.0) };
            if cur.capacity() - cur.len() < block_max {
                let next = chunks.take(capacity)?;
                let full = std::mem::replace(&mut cur, next);
                // The chunk before the full one is no longer history: libzstd will read the
                // full one as the window of the next block.
                if let Some(sent) = older.replace(full).filter(|c| !c.is_empty()) {
                    chunks.send(sent)?;
                }
            }
            let direct = input.fill_buf()?.len() >= need;
            // A frame that says its size gets no room past it: more is corrupt, found here and
            // not at the end of the input.
            let room = (cur.capacity() - cur.len()).min(usize::try_from(frame_left).unwrap_or(usize::MAX));
            if !direct && !fill_span(input, &mut span, need)? {
                // The stream ends inside a frame. Where that is inside a header, what there is of
                // it may be no zstd at all, and libzstd says so as the streaming decoder does.
                if kind == sys::ZSTD_nextInputType_e::ZSTDnit_frameHeader {
                    header.extend_from_slice(&span);
                    frame_sizes(&header)?;
                }
                return Err(incomplete());
            }
            let src = if direct { &input.fill_buf()?[..need] } else { &span[..] };
            if kind == sys::ZSTD_nextInputType_e::ZSTDnit_frameHeader {
                header.extend_from_slice(src);
            }
            // SAFETY: libzstd writes at most `room` bytes into the chunk's spare capacity and
            // reads history only from what it wrote before: this frame's part of `cur` and of
            // `older`, both alive and unchanged (a chunk is sent only once it is no longer
            // history). The bytes it reports written are initialized, hence `set_len`.
            let written = unsafe { sys::ZSTD_decompressContinue(ctx.0, cur.as_mut_ptr().add(cur.len()).cast(), room, src.as_ptr().cast(), src.len()) };
            let written = check(written).map_err(|e| overflow_is_corruption(written, e))?;
            unsafe { cur.set_len(cur.len() + written) };
            if direct {
                input.consume(need);
            }
            total += written as u64;
            frame_left -= written as u64;
            if kind == sys::ZSTD_nextInputType_e::ZSTDnit_frameHeader && unsafe { sys::ZSTD_nextInputType(ctx.0) } != kind {
                (capacity, block_max, frame_left) = frame_sizes(&header)?;
            }
        }
    }
    for c in [older, Some(cur)].into_iter().flatten().filter(|c| !c.is_empty()) {
        chunks.send(c)?;
    }
    Ok(total)
}

fn incomplete() -> io::Error {
    io::Error::new(io::ErrorKind::UnexpectedEof, "incomplete frame")
}

/// A block that does not fit in room for the largest block is corrupt: said as the streaming
/// decoder says it (its room for a block varies, so it finds the damage a step later).
fn overflow_is_corruption(code: usize, e: io::Error) -> io::Error {
    if unsafe { sys::ZSTD_getErrorCode(code) } != sys::ZSTD_ErrorCode::ZSTD_error_dstSize_tooSmall {
        return e;
    }
    named(sys::ZSTD_ErrorCode::ZSTD_error_corruption_detected)
}

/// libzstd's error `code`, in its words.
fn named(code: sys::ZSTD_ErrorCode) -> io::Error {
    let name = unsafe { std::ffi::CStr::from_ptr(sys::ZSTD_getErrorString(code)) };
    io::Error::other(name.to_string_lossy().into_owned())
}

/// For the frame whose whole header is `header`: the capacity of the chunks its blocks go to
/// (a window, which history may reach back, and a block), its largest block, and its size
/// (`u64::MAX` when it does not say).
fn frame_sizes(header: &[u8]) -> io::Result<(usize, usize, u64)> {
    // SAFETY: a plain C struct that ZSTD_getFrameHeader fills.
    let mut fh: sys::ZSTD_FrameHeader = unsafe { std::mem::zeroed() };
    let left = check(unsafe { sys::ZSTD_getFrameHeader(&mut fh, header.as_ptr().cast(), header.len()) })?;
    if left != 0 || fh.frameType == sys::ZSTD_FrameType_e::ZSTD_skippableFrame {
        return Ok((BLOCK_MAX, BLOCK_MAX, u64::MAX));
    }
    // The window is at most 2 GiB, the limit `compress::decoder` sets: a frame of one segment
    // may say more (its size is its window). History never reaches back past the frame's
    // start: a frame that says its size needs no more than that.
    if fh.windowSize > WINDOW_MAX {
        return Err(named(sys::ZSTD_ErrorCode::ZSTD_error_frameParameter_windowTooLarge));
    }
    let history = match fh.frameContentSize {
        u64::MAX => fh.windowSize,
        size => fh.windowSize.min(size),
    };
    let block = (fh.blockSizeMax as usize).clamp(1, BLOCK_MAX);
    let history = usize::try_from(history).map_err(|_| named(sys::ZSTD_ErrorCode::ZSTD_error_frameParameter_windowTooLarge))?;
    Ok((history + block, block, fh.frameContentSize))
}

/// Read `n` bytes of `input` into `span`: false when `input` ends first (`span` holds the rest).
fn fill_span<R: BufRead>(input: &mut R, span: &mut Vec<u8>, n: usize) -> io::Result<bool> {
    span.clear();
    while span.len() < n {
        let buf = input.fill_buf()?;
        if buf.is_empty() {
            return Ok(false);
        }
        let k = buf.len().min(n - span.len());
        span.extend_from_slice(&buf[..k]);
        input.consume(k);
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::blob::tests::Choppy;
    use std::io::{BufReader, Read, Write};

    /// Chunks made as asked and kept in the order sent.
    #[derive(Default)]
    struct Kept {
        sent: Vec<Vec<u8>>,
        asked: Vec<usize>,
    }

    impl Chunks for Kept {
        fn take(&mut self, capacity: usize) -> io::Result<Vec<u8>> {
            self.asked.push(capacity);
            Ok(Vec::with_capacity(capacity))
        }
        fn send(&mut self, chunk: Vec<u8>) -> io::Result<()> {
            self.sent.push(chunk);
            Ok(())
        }
    }

    /// `stream` decoded block by block, read in pieces of random size through a small buffer (so
    /// that headers and blocks straddle buffers): the bytes, or the error's words.
    fn by_blocks(stream: &[u8], seed: u32) -> (Result<Vec<u8>, String>, Kept) {
        let mut input = BufReader::with_capacity(4096 + seed as usize % 50_000, Choppy { data: stream, state: seed });
        let mut kept = Kept::default();
        let got = decode(&mut input, &mut kept).map_err(|e| e.to_string());
        let bytes = kept.sent.concat();
        (
            got.map(|n| {
                assert_eq!(n, bytes.len() as u64);
                bytes
            }),
            kept,
        )
    }

    /// The zstd crate's streaming decoder, as `compress::decoder` sets it up.
    fn streaming(stream: &[u8]) -> Result<Vec<u8>, String> {
        let mut d = zstd::stream::read::Decoder::with_buffer(stream).unwrap();
        d.window_log_max(31).unwrap();
        let mut out = Vec::new();
        d.read_to_end(&mut out).map(|_| out).map_err(|e| e.to_string())
    }

    /// Bytes that repeat from far back: random runs, each said again 2-7 MiB later.
    fn far_repeats(len: usize, seed: u64) -> Vec<u8> {
        let mut x = seed;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut data = Vec::with_capacity(len);
        while data.len() < len {
            let back = (2 << 20) + next() as usize % (5 << 20);
            let run = 1000 + next() as usize % 200_000;
            if data.len() > back && next() % 3 != 0 {
                let from = data.len() - back;
                for i in 0..run.min(back) {
                    data.push(data[from + i]);
                }
            } else {
                data.extend((0..run).map(|_| next() as u8));
            }
        }
        data.truncate(len);
        data
    }

    /// One frame that does not say its size, with an 8 MiB window and long-distance matching:
    /// matches that reach back into the chunk before.
    fn long_window_frame(data: &[u8]) -> Vec<u8> {
        let mut e = zstd::stream::Encoder::new(Vec::new(), 3).unwrap();
        e.window_log(23).unwrap();
        e.long_distance_matching(true).unwrap();
        e.include_contentsize(false).unwrap();
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn skippable(content: &[u8]) -> Vec<u8> {
        let mut f = 0x184D_2A53u32.to_le_bytes().to_vec();
        f.extend((content.len() as u32).to_le_bytes());
        f.extend_from_slice(content);
        f
    }

    #[test]
    fn frames_decode_whole_with_history_from_the_chunk_before() {
        let big = far_repeats(30 << 20, 7);
        let small = far_repeats(300_000, 9);
        let mut stream = zstd::encode_all(&small[..], 1).unwrap();
        stream.extend(skippable(b"not part of the layer"));
        stream.extend(long_window_frame(&big));
        stream.extend(zstd::encode_all(&b""[..], 3).unwrap());
        stream.extend(zstd::encode_all(&small[..], 19).unwrap());
        let want = [&small[..], &big, &small].concat();
        assert_eq!(streaming(&stream).unwrap().len(), want.len());
        for seed in [1, 2, 3] {
            let (got, kept) = by_blocks(&stream, seed);
            assert!(got.unwrap() == want, "seed {seed}");
            // The large frame's chunks hold its window and a block; they are sent full.
            assert!(kept.asked.contains(&((8 << 20) + BLOCK_MAX)), "{:?}", kept.asked);
            assert!(kept.sent.iter().any(|c| c.len() > 8 << 20));
        }
    }

    /// Whatever is done to a valid stream, decoding it block by block gives what the streaming
    /// decoder gives: the same bytes, or an error in the same words. (The fuzz target `zstd`
    /// holds arbitrary bytes to the same bytes or an error.)
    #[test]
    fn a_damaged_stream_fails_as_the_streaming_decoder_fails() {
        let data = far_repeats(3 << 20, 3);
        let mut stream = long_window_frame(&data[..2 << 20]);
        stream.extend(zstd::encode_all(&data[2 << 20..], 5).unwrap());
        let mut x = 0x9E37_79B9u32;
        let mut next = move || {
            x = x.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            x as usize
        };
        let mut errors = std::collections::BTreeSet::new();
        for case in 0..1000 {
            let mut s = stream.clone();
            match case % 4 {
                _ if case == 0 => s.clear(),
                0 => s.truncate(next() % stream.len()),
                1 => {
                    // Damage near the start hits headers; anywhere else, blocks and checksums.
                    let at = if next() % 2 == 0 { next() % 64 } else { next() % s.len() };
                    s[at] ^= 1 << (next() % 8);
                }
                2 => s.extend((0..1 + next() % 20).map(|_| next() as u8)),
                _ => {
                    let at = next() % s.len();
                    let n = (1 + next() % 300).min(s.len() - at);
                    s.drain(at..at + n);
                }
            }
            let want = streaming(&s);
            let (got, _) = by_blocks(&s, case as u32);
            if let Err(e) = &want {
                errors.insert(e.clone());
            }
            assert!(got == want, "case {case}: {:?} vs {:?}", got.as_ref().map(Vec::len), want.as_ref().map(Vec::len));
        }
        // The cases reached several kinds of failure, a cut frame among them.
        assert!(errors.len() >= 3 && errors.contains("incomplete frame"), "{errors:?}");
    }
}
