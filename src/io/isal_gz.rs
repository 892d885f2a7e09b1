//! gzip layers through ISA-L's inflate (`--features isal`): ~1.25x zlib-rs on the one big
//! layer that bounds an image's wall time. The gzip framing (header, members, what follows
//! them) is read here exactly as flate2's `MultiGzDecoder` reads it, with its error messages,
//! so a bad layer fails the same way with the feature on or off; ISA-L inflates each member's
//! deflate data and checks its trailer.
//!
//! `isal::read::GzipDecoder` is not used: it copies input into a buffer of its own (so a
//! member's end cannot be handed back to the framing), and it reports a truncated stream as
//! generic corruption rather than as flate2's "unexpected end of file" / "incomplete deflate
//! stream".

use isal::isal_sys::igzip_lib as sys;
use std::io::{self, BufRead, Read};

/// Does this CPU run ISA-L's fast inflate? Its AVX2 paths are what beat zlib-rs; elsewhere
/// flate2 is used.
pub fn usable() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

enum Phase {
    Header,
    Body,
    /// The member's data is all out, its trailer did not match: the next read fails (as
    /// flate2 checks a trailer only after handing out the data before it).
    BadTrailer,
    Done,
}

/// A multi-member gzip decoder over a buffered reader: it takes its input straight from the
/// reader's buffer and consumes exactly the bytes of each member.
pub struct MultiGz<R> {
    inner: R,
    state: Box<sys::inflate_state>,
    phase: Phase,
}

impl<R: BufRead> MultiGz<R> {
    pub fn new(inner: R) -> Self {
        // SAFETY: inflate_state is plain C data (integers, arrays, raw pointers), for which all
        // zeroes is a valid value; isal_inflate_init then sets it up.
        let mut state: Box<sys::inflate_state> = Box::new(unsafe { std::mem::zeroed() });
        unsafe { sys::isal_inflate_init(&mut *state) };
        MultiGz { inner, state, phase: Phase::Header }
    }

    /// Start a member whose header has been read: raw deflate, then the 8-byte trailer,
    /// which ISA-L checks (crc32 and size).
    fn start_member(&mut self) {
        unsafe { sys::isal_inflate_reset(&mut *self.state) };
        self.state.crc_flag = sys::ISAL_GZIP_NO_HDR_VER;
    }
}

fn bad_header() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "invalid gzip header")
}

fn corrupt() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, "corrupt gzip stream does not have a matching checksum")
}

/// Fill `buf` from `r`; the end of input is flate2's bare `UnexpectedEof`.
fn read_full<R: BufRead>(r: &mut R, buf: &mut [u8]) -> io::Result<()> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Skip a NUL-terminated header field (flate2 refuses one of more than 65535 bytes).
fn skip_to_nul<R: BufRead>(r: &mut R, crc: &mut flate2::Crc) -> io::Result<()> {
    let mut len = 0usize;
    let mut b = [0u8; 1];
    loop {
        read_full(r, &mut b)?;
        crc.update(&b);
        if b[0] == 0 {
            return Ok(());
        }
        if len == 65535 {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "gzip header field too long"));
        }
        len += 1;
    }
}

/// Read one member's header (RFC 1952), refusing what flate2 refuses.
fn read_header<R: BufRead>(r: &mut R) -> io::Result<()> {
    const FHCRC: u8 = 1 << 1;
    const FEXTRA: u8 = 1 << 2;
    const FNAME: u8 = 1 << 3;
    const FCOMMENT: u8 = 1 << 4;
    const FRESERVED: u8 = 0xe0;
    let mut crc = flate2::Crc::new();
    let mut fixed = [0u8; 10];
    read_full(r, &mut fixed)?;
    if fixed[0] != 0x1f || fixed[1] != 0x8b || fixed[2] != 8 || fixed[3] & FRESERVED != 0 {
        return Err(bad_header());
    }
    crc.update(&fixed);
    let flags = fixed[3];
    if flags & FEXTRA != 0 {
        let mut xlen = [0u8; 2];
        read_full(r, &mut xlen)?;
        crc.update(&xlen);
        let mut left = u16::from_le_bytes(xlen) as usize;
        let mut buf = [0u8; 512];
        while left > 0 {
            let k = left.min(buf.len());
            read_full(r, &mut buf[..k])?;
            crc.update(&buf[..k]);
            left -= k;
        }
    }
    if flags & FNAME != 0 {
        skip_to_nul(r, &mut crc)?;
    }
    if flags & FCOMMENT != 0 {
        skip_to_nul(r, &mut crc)?;
    }
    if flags & FHCRC != 0 {
        let mut stored = [0u8; 2];
        read_full(r, &mut stored)?;
        if u16::from_le_bytes(stored) != crc.sum() as u16 {
            return Err(corrupt());
        }
    }
    Ok(())
}

impl<R: BufRead> Read for MultiGz<R> {
    fn read(&mut self, into: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.phase {
                Phase::Header => {
                    read_header(&mut self.inner)?;
                    self.start_member();
                    self.phase = Phase::Body;
                }
                Phase::Body => {
                    if into.is_empty() {
                        return Ok(0);
                    }
                    let input = self.inner.fill_buf()?;
                    let eof = input.is_empty();
                    let avail_in = input.len().min(u32::MAX as usize) as u32;
                    let avail_out = into.len().min(u32::MAX as usize) as u32;
                    let st = &mut *self.state;
                    st.next_in = input.as_ptr().cast_mut();
                    st.avail_in = avail_in;
                    st.next_out = into.as_mut_ptr();
                    st.avail_out = avail_out;
                    // SAFETY: next_in/avail_in describe the reader's buffer, next_out/avail_out
                    // `into`; ISA-L reads and writes only within them, and neither pointer is
                    // kept past this call (each call sets them afresh).
                    let ret = unsafe { sys::isal_inflate(st) };
                    // On a decoding error ISA-L may leave the counts past what it was given
                    // (avail_in was seen to come back as 2^32 - 3 of 502 after an invalid
                    // lookback): nothing is taken from them then.
                    let counts = avail_in.checked_sub(st.avail_in).zip(avail_out.checked_sub(st.avail_out));
                    let block_state = st.block_state;
                    st.next_in = std::ptr::null_mut();
                    st.next_out = std::ptr::null_mut();
                    let Some((consumed, produced)) = counts.filter(|_| ret >= 0 || ret == sys::ISAL_INCORRECT_CHECKSUM) else {
                        return Err(io::Error::new(io::ErrorKind::InvalidInput, "corrupt deflate stream"));
                    };
                    let (consumed, produced) = (consumed as usize, produced as usize);
                    self.inner.consume(consumed);
                    if ret == sys::ISAL_INCORRECT_CHECKSUM {
                        self.phase = Phase::BadTrailer;
                        if produced > 0 {
                            return Ok(produced);
                        }
                        continue;
                    }
                    if block_state == sys::isal_block_state_ISAL_BLOCK_FINISH {
                        // The member and its trailer are whole: another member follows, or the end.
                        self.phase = if self.inner.fill_buf()?.is_empty() { Phase::Done } else { Phase::Header };
                        if produced > 0 {
                            return Ok(produced);
                        }
                        continue;
                    }
                    if produced > 0 {
                        return Ok(produced);
                    }
                    if eof {
                        // Deflate data cut short, or its trailer (as flate2 tells them apart).
                        let in_trailer = block_state == sys::isal_block_state_ISAL_CHECKSUM_CHECK || block_state == sys::isal_block_state_ISAL_BLOCK_INPUT_DONE;
                        return Err(if in_trailer { io::ErrorKind::UnexpectedEof.into() } else { io::Error::new(io::ErrorKind::UnexpectedEof, "incomplete deflate stream") });
                    }
                }
                Phase::BadTrailer => {
                    self.phase = Phase::Done;
                    return Err(corrupt());
                }
                Phase::Done => return Ok(0),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gz(data: &[u8], level: u32) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    fn both(blob: &[u8], bufsize: usize) -> (Result<Vec<u8>, String>, Result<Vec<u8>, String>) {
        let run = |r: &mut dyn Read| {
            let mut out = Vec::new();
            // Short, odd-sized reads, as a tar walk makes.
            let mut buf = [0u8; 777];
            loop {
                match r.read(&mut buf) {
                    Ok(0) => return Ok(out),
                    Ok(n) => out.extend_from_slice(&buf[..n]),
                    Err(e) => return Err(e.to_string()),
                }
            }
        };
        let a = run(&mut flate2::bufread::MultiGzDecoder::new(io::BufReader::with_capacity(bufsize, blob)));
        let b = run(&mut MultiGz::new(io::BufReader::with_capacity(bufsize, blob)));
        (a, b)
    }

    /// Every cut, flipped byte, trailer, header flag and member boundary decodes to the same
    /// bytes or fails with the same message as flate2's MultiGzDecoder.
    #[test]
    fn isal_reads_gzip_exactly_as_flate2_does() {
        let data: Vec<u8> = (0..200_000u32).map(|i| ((i * 7) % 251) as u8 ^ (i >> 9) as u8).collect();
        let one = gz(&data, 6);
        let mut cases: Vec<Vec<u8>> = vec![one.clone(), [gz(&data[..70_000], 1), gz(&data[70_000..], 9)].concat(), [one.clone(), gz(b"", 6)].concat()];
        for tail in [&b"\0\0\0\0"[..], b"junk", b"\x1f\x8b", b"\x1f\x8b\x08\x00"] {
            cases.push([one.as_slice(), tail].concat());
        }
        for cut in [1, 5, 9, 10, 11, 100, one.len() / 2, one.len() - 9, one.len() - 8, one.len() - 4, one.len() - 1] {
            cases.push(one[..cut].to_vec());
        }
        for at in [2, 3, 20, one.len() / 3, one.len() - 6, one.len() - 2] {
            let mut v = one.clone();
            v[at] ^= 0x41;
            cases.push(v);
        }
        // Header fields: extra, name, comment and a header crc (right and wrong).
        let mut h = vec![0x1f, 0x8b, 8, 0x1e, 0, 0, 0, 0, 0, 3, 3, 0, b'a', b'b', b'c', b'n', b'\0', b'c', b'\0'];
        let crc = {
            let mut c = flate2::Crc::new();
            c.update(&h);
            c.sum() as u16
        };
        let body = &one[10..];
        for stored in [crc, crc ^ 1] {
            let mut v = h.clone();
            v.extend_from_slice(&stored.to_le_bytes());
            v.extend_from_slice(body);
            cases.push(v);
        }
        h[3] = 0x04;
        cases.push([&h[..15], body].concat());
        // Found by the `layer` fuzz target: two members, the first with a lookback before its
        // start, fed 512 bytes first (the sniffed head): ISA-L's counts came back past what it
        // was given.
        cases.push(include_bytes!("../../fuzz/regressions/layer-isal-counts-after-invalid-lookback").to_vec());
        for (k, c) in cases.iter().enumerate() {
            for bufsize in [1, 7, 512, 64 << 10] {
                let (a, b) = both(c, bufsize);
                assert_eq!(a, b, "case {k} with a {bufsize}-byte buffer");
            }
        }
    }
}
