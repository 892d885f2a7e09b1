//! Real distributions from PyPI for test images: a venv on this machine, pip (or uv) installs
//! into it, and a layer made from its files at the paths an image would have them
//! (`/usr/local`), with the venv's own path rewritten in text files (scripts, .pth,
//! direct_url.json) as if it had been built there. Needs python3 with venv and network.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Venv {
    pub dir: PathBuf,
    /// `lib/pythonX.Y/site-packages`, relative to the venv.
    pub site: String,
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?} failed:\n{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}

impl Venv {
    pub fn new(dir: &Path) -> Venv {
        run(Command::new("python3").args(["-m", "venv"]).arg(dir));
        let lib =
            std::fs::read_dir(dir.join("lib")).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).find(|n| n.starts_with("python3")).expect("lib/python3.X");
        Venv { dir: dir.to_path_buf(), site: format!("lib/{lib}/site-packages") }
    }

    pub fn python(&self) -> PathBuf {
        self.dir.join("bin/python")
    }

    /// `pip install ARGS` into the venv (quietly, no version check).
    pub fn pip(&self, args: &[&str]) {
        run(Command::new(self.python()).args(["-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-input"]).args(args));
    }

    pub fn site_dir(&self) -> PathBuf {
        self.dir.join(&self.site)
    }

    /// The venv's files as a layer at `/usr/local` (pyvenv.cfg and the interpreter links
    /// left out, as a python image has its own), host paths rewritten.
    pub fn layer(&self, extra_roots: &[(&Path, &str)]) -> Vec<u8> {
        let mut roots: Vec<(&Path, &str)> = vec![(&self.dir, "usr/local")];
        roots.extend_from_slice(extra_roots);
        let mut swaps: Vec<(String, String)> = vec![(self.dir.display().to_string(), "/usr/local".into())];
        for (p, to) in extra_roots {
            swaps.push((p.display().to_string(), format!("/{to}")));
        }
        layer_from(&roots, &swaps, &|rel: &str| rel == "pyvenv.cfg" || rel.starts_with("bin/python") || rel == "lib64")
    }
}

/// A layer holding the files under each host directory at its image path; `swaps` rewrite
/// host paths inside text files; `skip` leaves out paths (relative to the root).
pub fn layer_from(roots: &[(&Path, &str)], swaps: &[(String, String)], skip: &dyn Fn(&str) -> bool) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (host, to) in roots {
        for e in walkdir::WalkDir::new(host).sort_by_file_name().into_iter().map(|e| e.unwrap()) {
            let rel = e.path().strip_prefix(host).unwrap().to_string_lossy().into_owned();
            if rel.is_empty() || skip(&rel) {
                continue;
            }
            let path = format!("{to}/{rel}");
            let mut h = tar::Header::new_gnu();
            h.set_mtime(0);
            let ft = e.file_type();
            if ft.is_symlink() {
                let target = std::fs::read_link(e.path()).unwrap();
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_size(0);
                h.set_mode(0o777);
                b.append_link(&mut h, &path, target).unwrap();
            } else if ft.is_dir() {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_size(0);
                h.set_mode(0o755);
                b.append_data(&mut h, format!("{path}/"), &[][..]).unwrap();
            } else {
                let mut data = std::fs::read(e.path()).unwrap();
                if data.len() < 1 << 20 {
                    if let Ok(text) = std::str::from_utf8(&data) {
                        let mut t = text.to_string();
                        for (from, to) in swaps {
                            t = t.replace(from.as_str(), to.as_str());
                        }
                        data = t.into_bytes();
                    }
                }
                h.set_entry_type(tar::EntryType::Regular);
                h.set_size(data.len() as u64);
                h.set_mode(0o755);
                b.append_data(&mut h, &path, &data[..]).unwrap();
            }
        }
    }
    b.into_inner().unwrap()
}

/// Save an image made in a test when SLIM_KEEP_IMAGES names a directory (to run other slim
/// builds on the same image).
pub fn keep(name: &str, archive: &[u8]) {
    if let Ok(dir) = std::env::var("SLIM_KEEP_IMAGES") {
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(Path::new(&dir).join(format!("{name}.tar")), archive).unwrap();
    }
}
