//! Writing reports: stdout, or a file created up front (a bad path fails before any work)
//! and renamed into place only when complete, so no half-written report is ever left.
//! A destination that is not a regular file (`/dev/null`, a FIFO) is written in place: renaming
//! over it would replace the device with a file. A symlink to a regular file keeps being a
//! symlink: the file it points to is the one replaced, and it keeps its mode.
//!
//! A destination that is one of the inputs, or lies inside an input directory (an OCI layout),
//! is refused: compared by device and inode after following links, so no spelling of the path
//! (a symlink, `./`, a bind mount) gets around it. An interrupt (SIGINT, SIGTERM) removes the
//! temporaries not yet in place.

use crate::error::{Error, Result};
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub enum Sink {
    Stdout,
    File {
        tmp: tempfile::NamedTempFile,
        dest: PathBuf,
        mode: Option<u32>,
    },
    /// A device, FIFO or socket, opened for writing as it is.
    Special {
        file: std::fs::File,
        dest: PathBuf,
    },
}

/// The files and directories a command reads, which no output may replace or land inside.
#[derive(Debug, Default, Clone)]
pub struct Inputs {
    /// (path as given, device, inode, is a directory)
    seen: Vec<(String, u64, u64, bool)>,
}

impl Inputs {
    /// Inputs from the paths as the user gave them; `-` (stdin) and paths that do not exist
    /// (they fail later, when read) are left out.
    pub fn of<P: AsRef<Path>>(paths: impl IntoIterator<Item = P>) -> Inputs {
        let mut i = Inputs::default();
        for p in paths {
            i.add(p.as_ref());
        }
        i
    }

    pub fn add(&mut self, p: &Path) {
        if p.as_os_str() == "-" {
            return;
        }
        if let Ok(m) = std::fs::metadata(p) {
            self.seen.push((p.display().to_string(), m.dev(), m.ino(), m.is_dir()));
        }
    }

    /// Refuse `dest` when it is an input, or an input directory holds it.
    pub fn check(&self, dest: &Path) -> Result<()> {
        let refuse = |what: String| Err(Error::Output { file: dest.display().to_string(), what });
        if let Ok(m) = std::fs::metadata(dest) {
            if let Some((name, ..)) = self.seen.iter().find(|s| (s.1, s.2) == (m.dev(), m.ino())) {
                return refuse(format!("is the input {name}; slim never writes over its input"));
            }
        }
        // The directories that would hold it, from the nearest up, after following links.
        let parent = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let Ok(mut dir) = std::fs::canonicalize(parent) else {
            return Ok(());
        };
        loop {
            if let Ok(m) = std::fs::metadata(&dir) {
                if let Some((name, ..)) = self.seen.iter().find(|s| s.3 && (s.1, s.2) == (m.dev(), m.ino())) {
                    return refuse(format!("lies inside the input directory {name}; slim never writes into its input"));
                }
            }
            if !dir.pop() {
                return Ok(());
            }
        }
    }
}

/// Temporaries not yet renamed into place, removed by the interrupt handler.
static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// On SIGINT or SIGTERM, remove the temporaries and exit 130. Installed once, on the first
/// output file.
fn clean_up_on_interrupt() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Another handler already set (a library user's own) is theirs to keep.
        let _ = ctrlc::set_handler(|| {
            let pending = PENDING.lock().unwrap_or_else(|e| e.into_inner());
            for p in pending.iter() {
                let _ = std::fs::remove_file(p);
            }
            std::process::exit(130);
        });
    });
}

fn forget(p: &Path) {
    let mut pending = PENDING.lock().unwrap_or_else(|e| e.into_inner());
    pending.retain(|q| q != p);
}

impl Sink {
    /// Open `dest` for a report (stdout when None). `inputs` are what the command reads.
    pub fn open(dest: Option<&Path>, inputs: &Inputs) -> Result<Sink> {
        let Some(dest) = dest else {
            return Ok(Sink::Stdout);
        };
        let fail = |e: std::io::Error| Error::Output { file: dest.display().to_string(), what: e.to_string() };
        inputs.check(dest)?;
        let mut dest = dest.to_path_buf();
        let mut mode = None;
        // metadata follows symlinks: what is at the end of them decides.
        if let Ok(meta) = std::fs::metadata(&dest) {
            if meta.is_dir() {
                return Err(Error::Output { file: dest.display().to_string(), what: "is a directory".into() });
            }
            if !meta.is_file() {
                let file = std::fs::OpenOptions::new().write(true).open(&dest).map_err(fail)?;
                return Ok(Sink::Special { file, dest });
            }
            mode = Some(meta.mode() & 0o7777);
            dest = std::fs::canonicalize(&dest).map_err(fail)?;
        }
        let dir = match dest.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        clean_up_on_interrupt();
        let mut pending = PENDING.lock().unwrap_or_else(|e| e.into_inner());
        // A new file gets the mode any new file gets (0666 less the umask), not a temporary's 0600.
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::Builder::new().prefix(".slim-").permissions(std::fs::Permissions::from_mode(mode.unwrap_or(0o666))).tempfile_in(dir).map_err(|e| {
            // the error names the temporary's path, which means nothing to the user
            let why = e.raw_os_error().map_or_else(|| e.kind().to_string(), |c| std::io::Error::from_raw_os_error(c).to_string());
            Error::Output { file: dest.display().to_string(), what: format!("cannot create a file in {}: {why}", dir.display()) }
        })?;
        pending.push(tmp.path().to_path_buf());
        Ok(Sink::File { tmp, dest, mode })
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
            Sink::File { mut tmp, dest, mode } => {
                let fail = |e: std::io::Error| Error::Output { file: dest.display().to_string(), what: e.to_string() };
                let tmp_path = tmp.path().to_path_buf();
                let r = (|| {
                    tmp.write_all(body).map_err(fail)?;
                    if let Some(mode) = mode {
                        use std::os::unix::fs::PermissionsExt;
                        tmp.as_file().set_permissions(std::fs::Permissions::from_mode(mode)).map_err(fail)?;
                    }
                    tmp.as_file().sync_all().map_err(fail)?;
                    tmp.persist(&dest).map_err(|e| fail(e.error))?;
                    Ok(())
                })();
                forget(&tmp_path);
                r
            }
        }
    }
}
