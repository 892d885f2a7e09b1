//! The one builder of installed Python wheels for test images: files, METADATA (with
//! Requires-Dist), RECORD and, when asked, WHEEL and entry_points.txt, laid out as pip leaves
//! them in a site-packages directory.

use super::E;

pub fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

pub const SP: &str = "usr/local/lib/python3.11/site-packages";
pub const MANY: &str = "cp311-cp311-manylinux_2_17_x86_64";
pub const MIB: usize = 1 << 20;

/// An installed wheel, described step by step, then laid out by `entries`.
pub struct Wheel {
    env: String,
    name: String,
    version: String,
    requires: Vec<String>,
    tag: Option<String>,
    files: Vec<(String, usize)>,
    entry_points: Option<String>,
    record_sizes: bool,
    metadata_tail: String,
}

impl Wheel {
    /// A wheel in `SP` with no files, no requirements, no WHEEL file.
    pub fn new(name: &str, version: &str) -> Wheel {
        Wheel {
            env: SP.into(),
            name: name.into(),
            version: version.into(),
            requires: vec![],
            tag: None,
            files: vec![],
            entry_points: None,
            record_sizes: false,
            metadata_tail: String::new(),
        }
    }

    /// Installed into this site-packages directory instead of `SP`.
    pub fn env(mut self, env: &str) -> Wheel {
        self.env = env.into();
        self
    }

    pub fn requires(mut self, requires: &[&str]) -> Wheel {
        self.requires = requires.iter().map(|r| r.to_string()).collect();
        self
    }

    /// Write a WHEEL file with this tag (and list it in RECORD).
    pub fn tag(mut self, tag: &str) -> Wheel {
        self.tag = Some(tag.into());
        self
    }

    /// Files (relative to site-packages) of these sizes.
    pub fn files(mut self, files: &[(&str, usize)]) -> Wheel {
        self.files.extend(files.iter().map(|(p, s)| (p.to_string(), *s)));
        self
    }

    /// An entry_points.txt with this text (listed in RECORD).
    pub fn entry_points(mut self, text: &str) -> Wheel {
        self.entry_points = (!text.is_empty()).then(|| text.into());
        self
    }

    /// RECORD rows with a hash and a size (`path,sha256=x,SIZE`), not just the path.
    pub fn record_sizes(mut self) -> Wheel {
        self.record_sizes = true;
        self
    }

    /// Text after METADATA's headers (a body).
    pub fn metadata_tail(mut self, text: &str) -> Wheel {
        self.metadata_tail = text.into();
        self
    }

    /// The wheel's files as pip lays them out, by path relative to site-packages: its own
    /// files, then METADATA, entry_points.txt and WHEEL when asked, and a RECORD of them all.
    fn layout(&self) -> Vec<(String, Vec<u8>)> {
        let (name, version) = (&self.name, &self.version);
        let di = format!("{}-{version}.dist-info", name.replace('-', "_"));
        let mut meta = format!("Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n");
        for r in &self.requires {
            meta.push_str(&format!("Requires-Dist: {r}\n"));
        }
        meta.push_str(&self.metadata_tail);
        let mut record = String::new();
        let mut out = Vec::new();
        for (i, (rel, size)) in self.files.iter().enumerate() {
            if self.record_sizes {
                record.push_str(&format!("{rel},sha256=x,{size}\n"));
            } else {
                record.push_str(&format!("{rel},,\n"));
            }
            // Distinct content per distribution and file, so duplicate detection stays quiet.
            let mut data = vec![(i % 251) as u8; *size];
            for (k, b) in name.bytes().enumerate().take(data.len()) {
                data[k] = b;
            }
            out.push((rel.clone(), data));
        }
        record.push_str(&format!("{di}/METADATA,,\n"));
        if let Some(ep) = &self.entry_points {
            record.push_str(&format!("{di}/entry_points.txt,,\n"));
            out.push((format!("{di}/entry_points.txt"), ep.as_bytes().to_vec()));
        }
        out.push((format!("{di}/METADATA"), meta.into_bytes()));
        if let Some(tag) = &self.tag {
            record.push_str(&format!("{di}/WHEEL,,\n"));
            out.push((format!("{di}/WHEEL"), format!("Wheel-Version: 1.0\nTag: {tag}\n").into_bytes()));
        }
        record.push_str(&format!("{di}/RECORD,,\n"));
        out.push((format!("{di}/RECORD"), record.into_bytes()));
        out
    }

    /// The wheel as layer entries under its environment.
    pub fn entries(self) -> Vec<E<'static>> {
        self.layout().into_iter().map(|(rel, data)| E::File(leak(format!("{}/{rel}", self.env)), data)).collect()
    }

    /// The wheel installed into a real site-packages directory (a venv's, made into a layer
    /// with the packages pip installed there).
    pub fn write_to(self, site: &std::path::Path) {
        for (rel, data) in self.layout() {
            let p = site.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, data).unwrap();
        }
    }
}

/// An installed wheel in `SP`: files, METADATA (with Requires-Dist), WHEEL tag, RECORD.
pub fn wheel(name: &str, version: &str, requires: &[&str], tag: &str, files: &[(&str, usize)]) -> Vec<E<'static>> {
    wheel_in(SP, name, version, requires, tag, files)
}

pub fn wheel_in(env: &str, name: &str, version: &str, requires: &[&str], tag: &str, files: &[(&str, usize)]) -> Vec<E<'static>> {
    Wheel::new(name, version).env(env).requires(requires).tag(tag).files(files).entries()
}
