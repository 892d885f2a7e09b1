//! Recognise compression by magic bytes (never by name or media type) and wrap decoders.

use std::io::{self, BufRead, BufReader, Read};

/// How a byte stream is compressed, as told by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    pub fn sniff(head: &[u8]) -> Compression {
        if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else {
            Compression::None
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

/// Other compressions we recognise only to name them in an error.
pub fn unsupported_name(head: &[u8]) -> Option<&'static str> {
    if head.starts_with(b"BZh") {
        Some("bzip2")
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Some("xz")
    } else {
        None
    }
}

/// True when the first 512-byte block looks like a tar header (valid checksum) or an
/// end-of-archive block (all zeros).
pub fn looks_like_tar(block: &[u8]) -> bool {
    if block.len() < 512 {
        return false;
    }
    let block = &block[..512];
    if block.iter().all(|&b| b == 0) {
        return true;
    }
    let stored = parse_octal(&block[148..156]);
    let sum: u32 = block[..148].iter().chain(&block[156..]).map(|&b| u32::from(b)).sum::<u32>() + 8 * 32;
    stored == Some(sum)
}

fn parse_octal(field: &[u8]) -> Option<u32> {
    let s = std::str::from_utf8(field).ok()?;
    let s = s.trim_matches(|c: char| c == '\0' || c == ' ');
    if s.is_empty() {
        return None;
    }
    u32::from_str_radix(s, 8).ok()
}

/// Wrap `inner` in the decoder for `c`. gzip accepts multi-member streams; zstd accepts
/// several frames.
pub fn decoder<'a, R: Read + 'a>(c: Compression, inner: R) -> io::Result<Box<dyn Read + 'a>> {
    match c {
        Compression::None => Ok(Box::new(inner)),
        _ => decoder_buf(c, BufReader::with_capacity(256 * 1024, inner)),
    }
}

/// `decoder` over a reader that buffers already: the decoders take their input straight from
/// its buffer (flate2's `read` decoders would copy it once more into a buffer of their own).
pub fn decoder_buf<'a, R: BufRead + 'a>(c: Compression, inner: R) -> io::Result<Box<dyn Read + 'a>> {
    Ok(match c {
        Compression::None => Box::new(inner),
        Compression::Gzip => gzip(inner),
        Compression::Zstd => {
            let mut d = zstd::stream::read::Decoder::with_buffer(inner)?;
            // Layers may be compressed with long windows (zstd --long).
            d.window_log_max(31)?;
            Box::new(d)
        }
    })
}

/// The gzip decoder: ISA-L's where slim is built with it and the CPU runs its fast paths,
/// flate2's otherwise. Both read multi-member streams and fail with the same messages.
fn gzip<'a, R: BufRead + 'a>(inner: R) -> Box<dyn Read + 'a> {
    #[cfg(feature = "isal")]
    if super::isal_gz::usable() {
        return Box::new(super::isal_gz::MultiGz::new(inner));
    }
    Box::new(flate2::bufread::MultiGzDecoder::new(inner))
}

/// Read up to `n` bytes from the start of `r` (fewer only at EOF), for sniffing.
pub fn read_head<R: Read>(r: &mut R, n: usize) -> io::Result<Vec<u8>> {
    let mut head = vec![0u8; n];
    let mut got = 0;
    while got < n {
        match r.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    head.truncate(got);
    Ok(head)
}

/// Peek without consuming from a buffered reader (up to what is buffered).
pub fn peek<R: BufRead>(r: &mut R) -> io::Result<&[u8]> {
    r.fill_buf()
}
