//! Writing reports: stdout, or a file created up front (a bad path fails before any work)
//! and renamed into place only when complete, so no half-written report is ever left.

use crate::error::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

pub enum Sink {
    Stdout,
    File { tmp: tempfile::NamedTempFile, dest: PathBuf },
}

impl Sink {
    pub fn open(dest: Option<&Path>) -> Result<Sink> {
        let Some(dest) = dest else {
            return Ok(Sink::Stdout);
        };
        let dir = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        if dest.is_dir() {
            return Err(Error::Output { file: dest.display().to_string(), what: "is a directory".into() });
        }
        let tmp = tempfile::Builder::new()
            .prefix(".slim-")
            .tempfile_in(dir)
            .map_err(|e| Error::Output { file: dest.display().to_string(), what: e.to_string() })?;
        Ok(Sink::File { tmp, dest: dest.into() })
    }

    /// Write the whole report and put it in place. On stdout a closed pipe is not an error.
    pub fn finish(self, body: &[u8]) -> Result<()> {
        match self {
            Sink::Stdout => {
                let mut out = std::io::stdout().lock();
                match out.write_all(body).and_then(|_| out.flush()) {
                    Ok(()) => Ok(()),
                    Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                    Err(e) => Err(Error::Output { file: "stdout".into(), what: e.to_string() }),
                }
            }
            Sink::File { mut tmp, dest } => {
                let fail = |e: std::io::Error| Error::Output { file: dest.display().to_string(), what: e.to_string() };
                tmp.write_all(body).map_err(fail)?;
                tmp.as_file().sync_all().map_err(fail)?;
                tmp.persist(&dest).map_err(|e| fail(e.error))?;
                Ok(())
            }
        }
    }
}
