//! Writing reports: stdout, or a file created up front (a bad path fails before any work)
//! and renamed into place only when complete, so no half-written report is ever left.
//! A destination that is not a regular file (`/dev/null`, a FIFO) is written in place: renaming
//! over it would replace the device with a file. A symlink to a regular file keeps being a
//! symlink: the file it points to is the one replaced.

use crate::error::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

pub enum Sink {
    Stdout,
    File { tmp: tempfile::NamedTempFile, dest: PathBuf },
    /// A device, FIFO or socket, opened for writing as it is.
    Special { file: std::fs::File, dest: PathBuf },
}

impl Sink {
    pub fn open(dest: Option<&Path>) -> Result<Sink> {
        let Some(dest) = dest else {
            return Ok(Sink::Stdout);
        };
        let fail = |e: std::io::Error| Error::Output { file: dest.display().to_string(), what: e.to_string() };
        let mut dest = dest.to_path_buf();
        // metadata follows symlinks: what is at the end of them decides.
        if let Ok(meta) = std::fs::metadata(&dest) {
            if meta.is_dir() {
                return Err(Error::Output { file: dest.display().to_string(), what: "is a directory".into() });
            }
            if !meta.is_file() {
                let file = std::fs::OpenOptions::new().write(true).open(&dest).map_err(fail)?;
                return Ok(Sink::Special { file, dest });
            }
            dest = std::fs::canonicalize(&dest).map_err(fail)?;
        }
        let dir = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let tmp = tempfile::Builder::new()
            .prefix(".slim-")
            .tempfile_in(dir)
            .map_err(|e| Error::Output { file: dest.display().to_string(), what: e.to_string() })?;
        Ok(Sink::File { tmp, dest })
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
            Sink::Special { mut file, dest } => match file.write_all(body).and_then(|_| file.flush()) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                Err(e) => Err(Error::Output { file: dest.display().to_string(), what: e.to_string() }),
            },
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
