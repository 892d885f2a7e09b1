//! An image in a Docker or Podman engine, read through its Engine API socket as the tar stream
//! of `GET /images/{name}/get` (what `docker save` writes), scanned in one pass as it arrives.

use super::reference::Engine;
use crate::escape::escape;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::PathBuf;

/// Where the engine listens: `unix:///path` or `tcp://host:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    Unix(PathBuf),
    Tcp(String),
}

/// `DOCKER_HOST` (and podman's `CONTAINER_HOST` first for podman), else the engine's usual
/// sockets: `/var/run/docker.sock`; podman's rootless `$XDG_RUNTIME_DIR/podman/podman.sock`,
/// then rootful `/run/podman/podman.sock`.
pub fn endpoint(engine: Engine) -> Result<Endpoint, String> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let named = match engine {
        Engine::Podman => env("CONTAINER_HOST").or_else(|| env("DOCKER_HOST")),
        Engine::Docker => env("DOCKER_HOST"),
    };
    if let Some(h) = named {
        if let Some(p) = h.strip_prefix("unix://") {
            return Ok(Endpoint::Unix(p.into()));
        }
        if let Some(a) = h.strip_prefix("tcp://") {
            return Ok(Endpoint::Tcp(a.trim_end_matches('/').into()));
        }
        return Err(format!("engine address {}: only unix:// and tcp:// are supported", escape(&h)));
    }
    let mut candidates: Vec<PathBuf> = Vec::new();
    match engine {
        Engine::Docker => candidates.push("/var/run/docker.sock".into()),
        Engine::Podman => {
            if let Some(d) = env("XDG_RUNTIME_DIR") {
                candidates.push(PathBuf::from(d).join("podman/podman.sock"));
            }
            candidates.push("/run/podman/podman.sock".into());
        }
    }
    candidates.iter().find(|p| p.exists()).cloned().map(Endpoint::Unix).ok_or_else(|| {
        format!("no engine socket found (looked at {}); start the engine or set DOCKER_HOST", candidates.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))
    })
}

fn enc_path(name: &str) -> String {
    name.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/' | b':' | b'@') { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

trait Conn: Read + Write + Send {}
impl<T: Read + Write + Send> Conn for T {}

/// Ask the engine for the image as a `docker save` tar stream; returns it as it arrives.
pub fn save(engine: Engine, name: &str) -> Result<Box<dyn Read + Send>, String> {
    let ep = endpoint(engine)?;
    let mut conn: Box<dyn Conn> = match &ep {
        Endpoint::Unix(p) => Box::new(std::os::unix::net::UnixStream::connect(p).map_err(|e| format!("engine socket {}: {e}", p.display()))?),
        Endpoint::Tcp(a) => Box::new(std::net::TcpStream::connect(a).map_err(|e| format!("engine at {}: {e}", escape(a)))?),
    };
    let req = format!("GET /images/{}/get HTTP/1.1\r\nHost: engine\r\nUser-Agent: slim\r\nConnection: close\r\n\r\n", enc_path(name));
    conn.write_all(req.as_bytes()).map_err(|e| format!("engine: sending the request: {e}"))?;
    let mut r = BufReader::with_capacity(256 << 10, conn);
    let (status, headers) = read_head(&mut r).map_err(|e| format!("engine: reading its answer: {e}"))?;
    let chunked = headers.iter().any(|(k, v)| k == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked"));
    let length = headers.iter().find(|(k, _)| k == "content-length").and_then(|(_, v)| v.trim().parse::<u64>().ok());
    let body: Box<dyn Read + Send> = match (chunked, length) {
        (true, _) => Box::new(Chunked { inner: r, left: 0, done: false }),
        (false, Some(n)) => Box::new(r.take(n)),
        (false, None) => Box::new(r),
    };
    if status != 200 {
        let mut msg = Vec::new();
        let _ = body.take(64 << 10).read_to_end(&mut msg);
        let said = serde_json::from_slice::<serde_json::Value>(&msg)
            .ok()
            .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_string))
            .unwrap_or_else(|| String::from_utf8_lossy(&msg).trim().to_string());
        return Err(format!("the engine answered HTTP {status}: {}", escape(&said)));
    }
    Ok(body)
}

/// The status line and headers (names lowercased), at most 64 KiB of them.
fn read_head<R: BufRead>(r: &mut R) -> io::Result<(u16, Vec<(String, String)>)> {
    let mut line = String::new();
    let mut total = 0;
    let mut next = |r: &mut R, line: &mut String| -> io::Result<()> {
        line.clear();
        let n = r.take(8 << 10).read_line(line)?;
        total += n;
        if n == 0 || total > 64 << 10 || !line.ends_with('\n') {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "not an HTTP answer"));
        }
        Ok(())
    };
    next(r, &mut line)?;
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .filter(|_| line.starts_with("HTTP/1."))
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "not an HTTP answer"))?;
    let mut headers = Vec::new();
    loop {
        next(r, &mut line)?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    Ok((status, headers))
}

/// HTTP/1.1 chunked transfer decoding.
struct Chunked<R> {
    inner: R,
    left: u64,
    done: bool,
}

impl<R: BufRead> Read for Chunked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let bad = || io::Error::new(io::ErrorKind::InvalidData, "bad chunked encoding from the engine");
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        if self.left == 0 {
            let mut line = String::new();
            (&mut self.inner).take(1024).read_line(&mut line)?;
            if line.is_empty() {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the engine closed the connection mid-image"));
            }
            let size = line.trim().split(';').next().unwrap_or("");
            self.left = u64::from_str_radix(size, 16).map_err(|_| bad())?;
            if self.left == 0 {
                self.done = true;
                return Ok(0);
            }
        }
        let want = buf.len().min(self.left as usize);
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the engine closed the connection mid-image"));
        }
        self.left -= n as u64;
        if self.left == 0 {
            let mut crlf = [0u8; 2];
            self.inner.read_exact(&mut crlf)?;
            if &crlf != b"\r\n" {
                return Err(bad());
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_bodies_decode() {
        let raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/x-tar\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n";
        let mut r = BufReader::new(&raw[..]);
        let (status, headers) = read_head(&mut r).unwrap();
        assert_eq!(status, 200);
        assert!(headers.contains(&("transfer-encoding".into(), "chunked".into())));
        let mut out = String::new();
        // Read with a tiny buffer, so chunk boundaries fall inside reads.
        let mut c = Chunked { inner: r, left: 0, done: false };
        let mut b = [0u8; 3];
        loop {
            let n = c.read(&mut b).unwrap();
            if n == 0 {
                break;
            }
            out.push_str(std::str::from_utf8(&b[..n]).unwrap());
        }
        assert_eq!(out, "hello world");
        let cut = b"5\r\nhel";
        let mut c = Chunked { inner: BufReader::new(&cut[..]), left: 0, done: false };
        assert!(c.read_to_end(&mut Vec::new()).is_err());
        assert!(read_head(&mut BufReader::new(&b"garbage\r\n\r\n"[..])).is_err());
    }

    #[test]
    fn names_in_paths() {
        assert_eq!(enc_path("localhost/app:1"), "localhost/app:1");
        assert_eq!(enc_path("a b?#"), "a%20b%3F%23");
    }
}
