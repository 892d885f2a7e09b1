//! The floors slim is measured against (bench/run.sh), as the least work any reader must do:
//!
//!   floor headers FILE   walk every tar header of an uncompressed archive and of the
//!                        uncompressed layer tars inside it with one pread per header block,
//!                        the kernel told not to read ahead (POSIX_FADV_RANDOM): the I/O of the
//!                        header pages alone. Prints entries and bytes read.
//!   floor inflate FILE   decode every compressed layer blob of the archive on one thread with
//!                        the decoder slim uses (flate2 on zlib-rs, zstd), output discarded.
//!   floor inflate-largest FILE
//!                        the same for the largest compressed blob alone: the critical path of
//!                        any reader that decodes one stream on one thread.
//!   floor blobs FILE     print `offset size` of each compressed layer blob (for `zstd -dc`).
//!
//! A bench helper (a cargo example), not part of slim: it trusts its input.

use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::os::unix::io::AsRawFd;

const BLOCK: u64 = 512;

/// One tar header, with the PAX/GNU size and type folded in.
struct Header {
    typ: u8,
    size: u64,
}

fn octal(field: &[u8]) -> u64 {
    if field[0] & 0x80 != 0 {
        // GNU base-256
        return field[1..].iter().fold(0u64, |n, &b| (n << 8) | u64::from(b));
    }
    field.iter().skip_while(|&&b| b == b' ').take_while(|&&b| b != 0 && b != b' ').fold(0u64, |n, &b| n * 8 + u64::from(b.wrapping_sub(b'0') & 7))
}

fn pax_size(data: &[u8]) -> Option<u64> {
    let mut rest = data;
    while let Some(sp) = rest.iter().position(|&b| b == b' ') {
        let len: usize = std::str::from_utf8(&rest[..sp]).ok()?.parse().ok()?;
        if len == 0 || len > rest.len() {
            return None;
        }
        let rec = &rest[sp + 1..len - 1];
        if let Some(v) = rec.strip_prefix(b"size=") {
            return std::str::from_utf8(v).ok()?.parse().ok();
        }
        rest = &rest[len..];
    }
    None
}

/// Walk the tar headers in `[start, start+len)` of `f`, calling `each(offset of data, header)`
/// for every entry; returns (entries, bytes read).
fn walk(f: &File, start: u64, len: u64, each: &mut dyn FnMut(u64, &Header)) -> io::Result<(u64, u64)> {
    let mut pos = 0u64;
    let mut block = [0u8; BLOCK as usize];
    let (mut n, mut read) = (0u64, 0u64);
    let mut next_size: Option<u64> = None;
    while pos + BLOCK <= len {
        f.read_exact_at(&mut block, start + pos)?;
        read += BLOCK;
        if block.iter().all(|&b| b == 0) {
            break;
        }
        let typ = block[156];
        let mut size = octal(&block[124..136]);
        let data = pos + BLOCK;
        if matches!(typ, b'x' | b'g') {
            let mut buf = vec![0u8; size as usize];
            f.read_exact_at(&mut buf, start + data)?;
            read += size;
            if typ == b'x' {
                next_size = pax_size(&buf);
            }
        } else if typ == b'L' || typ == b'K' {
            let mut buf = vec![0u8; size as usize];
            f.read_exact_at(&mut buf, start + data)?;
            read += size;
        } else {
            if let Some(s) = next_size.take() {
                size = s;
            }
            if !matches!(typ, b'0' | b'\0' | b'7') {
                size = if typ == b'1' || typ == b'2' || typ == b'5' { 0 } else { size };
            }
            n += 1;
            each(data, &Header { typ, size });
        }
        pos = data + size.div_ceil(BLOCK) * BLOCK;
    }
    Ok((n, read))
}

fn is_tar(block: &[u8]) -> bool {
    let stored = octal(&block[148..156]);
    let sum: u64 = block[..148].iter().chain(&block[156..]).map(|&b| u64::from(b)).sum::<u64>() + 8 * 32;
    block.len() == 512 && stored == sum
}

/// (offset, size, first bytes) of every regular entry of the outer archive.
fn outer_entries(f: &File, len: u64) -> io::Result<Vec<(u64, u64)>> {
    let mut out = Vec::new();
    walk(f, 0, len, &mut |off, h| {
        if matches!(h.typ, b'0' | b'\0') && h.size > 0 {
            out.push((off, h.size));
        }
    })?;
    Ok(out)
}

fn open(path: &str) -> io::Result<(File, u64)> {
    let f = File::open(path)?;
    let len = f.metadata()?.len();
    Ok((f, len))
}

fn headers(path: &str) -> io::Result<()> {
    let (f, len) = open(path)?;
    // SAFETY: a plain advice call on a descriptor we own.
    unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_RANDOM) };
    let (mut entries, mut read) = (0u64, 0u64);
    let outer = outer_entries(&f, len)?;
    for (off, size) in outer {
        let mut head = [0u8; 512];
        if size < 512 {
            continue;
        }
        f.read_exact_at(&mut head, off)?;
        if is_tar(&head) {
            let (n, r) = walk(&f, off, size, &mut |_, _| {})?;
            entries += n;
            read += r;
        }
    }
    println!("{entries} layer entries, {read} bytes of headers read");
    Ok(())
}

fn compressed_blobs(f: &File, len: u64) -> io::Result<Vec<(u64, u64)>> {
    let mut out = Vec::new();
    for (off, size) in outer_entries(f, len)? {
        let mut head = [0u8; 4];
        if size >= 4 {
            f.read_exact_at(&mut head, off)?;
            if slim::io::compress::Compression::sniff(&head) != slim::io::compress::Compression::None {
                out.push((off, size));
            }
        }
    }
    Ok(out)
}

fn inflate(path: &str, largest: bool) -> io::Result<()> {
    let (f, len) = open(path)?;
    let mut total = 0u64;
    let mut blobs = compressed_blobs(&f, len)?;
    if largest {
        blobs.sort_by_key(|&(_, size)| std::cmp::Reverse(size));
        blobs.truncate(1);
    }
    for (off, size) in blobs {
        let mut head = [0u8; 4];
        f.read_exact_at(&mut head, off)?;
        let c = slim::io::compress::Compression::sniff(&head);
        let blob = slim::io::blob::Slice::new(&f, off, size);
        let mut d = slim::io::compress::decoder(c, blob)?;
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = d.read(&mut buf)?;
            if n == 0 {
                break;
            }
            total += n as u64;
        }
    }
    println!("{total} bytes decoded");
    Ok(())
}

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [cmd, path] if cmd == "headers" => headers(path),
        [cmd, path] if cmd == "inflate" => inflate(path, false),
        [cmd, path] if cmd == "inflate-largest" => inflate(path, true),
        [cmd, path] if cmd == "blobs" => {
            let (f, len) = open(path)?;
            for (off, size) in compressed_blobs(&f, len)? {
                println!("{off} {size}");
            }
            Ok(())
        }
        _ => {
            eprintln!("usage: floor headers|inflate|inflate-largest|blobs FILE");
            std::process::exit(2);
        }
    }
}
