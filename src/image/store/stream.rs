//! A one-pass read: an image from any reader (stdin, a tarball compressed as a whole), its
//! layers scanned as they pass, and what the budgets kept out of it.

use super::*;

impl Source {
    /// Read an image from any reader in one pass (stdin, a compressed tarball).
    pub fn open_stream<R: Read>(display: String, mut r: R, capture: Capture, progress: &ProgressBar) -> Result<Source> {
        let head = compress::read_head(&mut r, 512).map_err(|e| Error::input(&display, e))?;
        let outer = Compression::sniff(&head);
        if head.is_empty() {
            return Err(Error::input(&display, "empty input, not an image archive"));
        }
        let decoded = compress::decoder(outer, Cursor::new(head).chain(r)).map_err(|e| Error::input(&display, e))?;
        let mut decoded = Tally::new(decoded, false);
        let tar_head = compress::read_head(&mut decoded, 512).map_err(|e| Error::input(&display, e))?;
        if !compress::looks_like_tar(&tar_head) {
            let what = match (outer, compress::unsupported_name(&tar_head)) {
                (_, Some(c)) => format!("{c}-compressed; only gzip and zstd are supported"),
                (Compression::None, None) => "not a tar archive (nor gzip or zstd)".into(),
                (c, None) => format!("{}-compressed, but what is inside is not a tar archive", c.name()),
            };
            return Err(Error::input(&display, what));
        }
        let mut meta = HashMap::new();
        let mut scans = HashMap::new();
        let mut entries = HashMap::new();
        let mut other = HashMap::new();
        let mut dropped = std::collections::HashSet::new();
        let mut aliases = HashMap::new();
        let budget = Budget::new(walk::CONTENT_BUDGET);
        let meta_budget = Budget::new(META_BUDGET);
        let bad = |e: io::Error| {
            let what = match outer {
                Compression::None => format!("reading archive: {}", walk::tar_error(&e)),
                c => format!("reading {} stream: {}", c.name(), walk::tar_error(&e)),
            };
            Error::input(&display, what)
        };
        let mut ar = tar::Archive::new(Cursor::new(tar_head).chain(&mut decoded));
        for e in ar.entries().map_err(bad)? {
            let mut e = e.map_err(bad)?;
            let Some(name) = clean_name(&e.path_bytes()) else {
                continue;
            };
            let ty = e.header().entry_type();
            if ty.is_symlink() || ty.is_hard_link() {
                let target = e.link_name_bytes().map(|l| String::from_utf8_lossy(&l).into_owned());
                let resolved = target.and_then(|t| if ty.is_symlink() { join_rel(&name, &t) } else { clean_name(t.as_bytes()) });
                if let Some(t) = resolved {
                    aliases.insert(name, t);
                }
                continue;
            }
            if !ty.is_file() {
                continue;
            }
            let size = e.size();
            if !progress.is_hidden() && outer == Compression::None {
                progress.inc(512);
            }
            let head = compress::read_head(&mut e, 512).map_err(bad)?;
            let layer_like = Compression::sniff(&head) != Compression::None || (head.len() == 512 && compress::looks_like_tar(&head));
            if layer_like {
                // A layer that cannot be read is fatal only if the image uses it (a broken
                // outer stream fails the next entry read anyway).
                let mut scan = walk::scan_stream(Cursor::new(head).chain(&mut e), capture, &budget, true);
                if let Ok(s) = &mut scan {
                    entries.insert(name.clone(), std::mem::take(&mut s.entries));
                }
                scans.insert(name, scan);
            } else if size <= META_LIMIT && looks_like_json(&head) && meta_budget.take(size) {
                let mut buf = head;
                e.read_to_end(&mut buf).map_err(bad)?;
                meta.insert(name, buf);
            } else {
                if size <= META_LIMIT && looks_like_json(&head) {
                    dropped.insert(name.clone());
                }
                io::copy(&mut e, &mut io::sink()).map_err(bad)?;
                other.insert(name, size);
            }
        }
        drop(ar);
        decoded.finish().map_err(bad)?;
        Ok(Source {
            display,
            container: Container::Tar,
            outer,
            store: Store::Stream { meta, scans, entries: Mutex::new(entries), other, dropped },
            aliases,
            hashed: Mutex::default(),
            verify: false,
            digest_named: HashSet::new(),
            budget,
        })
    }

    /// What was read but not kept because a budget ran out, one line each (names escaped).
    pub fn budget_warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        let s = self.budget.skipped();
        if s.files > 0 {
            out.push(format!(
                "{} files ({}) of package metadata or source were not read: the {} MiB kept of file contents was spent (first: {}); what they would own or import is not counted",
                s.files,
                crate::show::human(s.bytes),
                self.budget.limit >> 20,
                s.first.as_deref().map(|p| crate::show::display_path(p)).unwrap_or_default()
            ));
        }
        if let Store::Stream { dropped, .. } = &self.store {
            if !dropped.is_empty() {
                let mut names: Vec<&String> = dropped.iter().collect();
                names.sort();
                out.push(format!(
                    "{} members of the archive that are not layers were not kept: the {} MiB a one-pass read keeps of them was spent (first: {})",
                    names.len(),
                    META_BUDGET >> 20,
                    crate::escape::escape(names[0])
                ));
            }
        }
        out
    }
}
