//! Builders for small images made in tests with `tar::Builder`: layers with any entry a
//! runtime must handle, packaged as docker save (legacy) or OCI layouts.
//! The one way to describe a test image is `Image` (util/image.rs), the one way to install a
//! wheel `wheels::Wheel`; the functions here are the parts they are made of.

pub mod image;
pub mod oracle;
pub mod pypi;
pub mod wheels;

pub use image::Image;

use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

pub enum E<'a> {
    File(&'a str, Vec<u8>),
    Dir(&'a str),
    Symlink(&'a str, &'a str),
    Hardlink(&'a str, &'a str),
    /// A whiteout for this path (`dir/.wh.name`).
    Whiteout(&'a str),
    /// An opaque marker in this directory.
    Opaque(&'a str),
    /// A raw path with raw bytes (non-UTF-8 names, hostile names).
    RawFile(Vec<u8>, Vec<u8>),
}

pub fn file<'a>(p: &'a str, size: usize) -> E<'a> {
    E::File(p, vec![b'x'; size])
}

/// A file of this text (source code, a config file).
pub fn src(path: &'static str, text: &str) -> E<'static> {
    E::File(path, text.as_bytes().to_vec())
}

fn header(kind: tar::EntryType, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(if kind == tar::EntryType::Directory { 0o755 } else { 0o644 });
    h.set_mtime(0);
    h
}

fn append_raw_path<W: Write>(b: &mut tar::Builder<W>, h: &mut tar::Header, path: &[u8], data: &[u8]) {
    // GNU long-name entry when needed, like tar::Builder does for long paths.
    if path.len() > 100 {
        let mut lh = tar::Header::new_gnu();
        lh.as_gnu_mut().unwrap().name[..13].copy_from_slice(b"././@LongLink");
        lh.set_entry_type(tar::EntryType::GNULongName);
        lh.set_size(path.len() as u64 + 1);
        lh.set_mode(0o644);
        lh.set_cksum();
        let mut name = path.to_vec();
        name.push(0);
        b.append(&lh, &name[..]).unwrap();
        h.as_old_mut().name[..100].copy_from_slice(&path[..100]);
    } else {
        let n = &mut h.as_old_mut().name;
        n[..path.len()].copy_from_slice(path);
    }
    h.set_cksum();
    b.append(h, data).unwrap();
}

pub fn layer(entries: &[E]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        match e {
            E::File(p, data) => {
                let mut h = header(tar::EntryType::Regular, data.len() as u64);
                append_raw_path(&mut b, &mut h, p.as_bytes(), data);
            }
            E::RawFile(p, data) => {
                let mut h = header(tar::EntryType::Regular, data.len() as u64);
                append_raw_path(&mut b, &mut h, p, data);
            }
            E::Dir(p) => {
                let mut h = header(tar::EntryType::Directory, 0);
                let p = format!("{}/", p.trim_end_matches('/'));
                append_raw_path(&mut b, &mut h, p.as_bytes(), &[]);
            }
            E::Symlink(p, t) => {
                let mut h = header(tar::EntryType::Symlink, 0);
                h.set_link_name(t).unwrap();
                append_raw_path(&mut b, &mut h, p.as_bytes(), &[]);
            }
            E::Hardlink(p, t) => {
                let mut h = header(tar::EntryType::Link, 0);
                h.set_link_name(t).unwrap();
                append_raw_path(&mut b, &mut h, p.as_bytes(), &[]);
            }
            E::Whiteout(p) => {
                let (dir, name) = p.rsplit_once('/').map(|(d, n)| (format!("{d}/"), n)).unwrap_or((String::new(), p));
                let mut h = header(tar::EntryType::Regular, 0);
                append_raw_path(&mut b, &mut h, format!("{dir}.wh.{name}").as_bytes(), &[]);
            }
            E::Opaque(d) => {
                let mut h = header(tar::EntryType::Regular, 0);
                let p = if d.is_empty() { ".wh..wh..opq".to_string() } else { format!("{d}/.wh..wh..opq") };
                append_raw_path(&mut b, &mut h, p.as_bytes(), &[]);
            }
        }
    }
    b.into_inner().unwrap()
}

pub fn sha(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

pub fn zstd(data: &[u8]) -> Vec<u8> {
    zstd::encode_all(data, 3).unwrap()
}

/// A config with one history entry per layer (plus an empty_layer CMD at the end).
pub fn config(layers: &[Vec<u8>], arch: &str) -> Vec<u8> {
    let diff_ids: Vec<String> = layers.iter().map(|l| format!("sha256:{}", sha(l))).collect();
    let mut history: Vec<serde_json::Value> = (0..layers.len()).map(|i| serde_json::json!({"created_by": format!("/bin/sh -c step {i}")})).collect();
    history.push(serde_json::json!({"created_by": "/bin/sh -c #(nop) CMD [\"sh\"]", "empty_layer": true}));
    serde_json::to_vec(&serde_json::json!({
        "architecture": arch, "os": "linux",
        "config": {"Env": ["PATH=/usr/bin"], "Cmd": ["sh"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": history,
    }))
    .unwrap()
}

pub struct Tar(tar::Builder<Vec<u8>>);

impl Tar {
    pub fn new() -> Self {
        Tar(tar::Builder::new(Vec::new()))
    }
    pub fn add(&mut self, name: &str, data: &[u8]) -> &mut Self {
        let mut h = header(tar::EntryType::Regular, data.len() as u64);
        h.set_path(name).unwrap();
        h.set_cksum();
        self.0.append(&h, data).unwrap();
        self
    }
    pub fn finish(self) -> Vec<u8> {
        self.0.into_inner().unwrap()
    }
}

/// A legacy `docker save` archive. `manifest_last` writes manifest.json after the layers,
/// as Docker did.
pub fn docker_archive(layers: &[Vec<u8>], tag: &str, manifest_last: bool) -> Vec<u8> {
    docker_archive_cfg(layers, tag, manifest_last, |_| {})
}

/// The same, with the config adjusted by `patch` (history, env, labels...).
pub fn docker_archive_cfg(layers: &[Vec<u8>], tag: &str, manifest_last: bool, patch: impl Fn(&mut serde_json::Value)) -> Vec<u8> {
    let mut v: serde_json::Value = serde_json::from_slice(&config(layers, "amd64")).unwrap();
    patch(&mut v);
    let cfg = serde_json::to_vec(&v).unwrap();
    let cfg_name = format!("{}.json", sha(&cfg));
    let names: Vec<String> = layers.iter().enumerate().map(|(i, l)| format!("{}{i}/layer.tar", &sha(l)[..8])).collect();
    let manifest = serde_json::to_vec(&serde_json::json!([{"Config": cfg_name, "RepoTags": [tag], "Layers": names}])).unwrap();
    let mut t = Tar::new();
    if !manifest_last {
        t.add("manifest.json", &manifest);
    }
    t.add(&cfg_name, &cfg);
    for (n, l) in names.iter().zip(layers) {
        t.add(n, l);
    }
    t.add("repositories", b"{}");
    if manifest_last {
        t.add("manifest.json", &manifest);
    }
    t.finish()
}

/// Files of an OCI layout: (name, bytes). `blobs` are the layer blobs as stored (maybe
/// compressed); `plain` are the uncompressed tars (for diff_ids).
pub struct Oci {
    pub files: Vec<(String, Vec<u8>)>,
}

pub fn oci_manifest(files: &mut Vec<(String, Vec<u8>)>, blobs: &[Vec<u8>], plain: &[Vec<u8>], arch: &str, media: &str) -> serde_json::Value {
    let cfg = config(plain, arch);
    let cfg_d = sha(&cfg);
    files.push((format!("blobs/sha256/{cfg_d}"), cfg.clone()));
    let mut layers = Vec::new();
    for b in blobs {
        let d = sha(b);
        files.push((format!("blobs/sha256/{d}"), b.clone()));
        layers.push(serde_json::json!({"mediaType": media, "digest": format!("sha256:{d}"), "size": b.len()}));
    }
    let m = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": format!("sha256:{cfg_d}"), "size": cfg.len()},
        "layers": layers,
    }))
    .unwrap();
    let md = sha(&m);
    files.push((format!("blobs/sha256/{md}"), m.clone()));
    serde_json::json!({"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": format!("sha256:{md}"), "size": m.len(),
        "platform": {"os": "linux", "architecture": arch}})
}

pub fn oci_layout(plain: &[Vec<u8>], compress: fn(&[u8]) -> Vec<u8>, media: &str, refname: &str) -> Oci {
    let blobs: Vec<Vec<u8>> = plain.iter().map(|l| compress(l)).collect();
    oci_layout_of(&blobs, plain, media, refname)
}

/// An OCI layout whose layers are stored as `blobs` (maybe encoded another way than a
/// compressor would: the digests are the blobs' own), with `plain` the tars they decode to.
pub fn oci_layout_of(blobs: &[Vec<u8>], plain: &[Vec<u8>], media: &str, refname: &str) -> Oci {
    let mut files = Vec::new();
    let mut desc = oci_manifest(&mut files, blobs, plain, "amd64", media);
    desc["annotations"] = serde_json::json!({"org.opencontainers.image.ref.name": refname});
    let index = serde_json::to_vec(&serde_json::json!({"schemaVersion": 2, "manifests": [desc]})).unwrap();
    files.push(("index.json".into(), index));
    files.push(("oci-layout".into(), br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec()));
    Oci { files }
}

pub fn identity(d: &[u8]) -> Vec<u8> {
    d.to_vec()
}

impl Oci {
    pub fn tar(&self) -> Vec<u8> {
        let mut t = Tar::new();
        for (n, d) in &self.files {
            t.add(n, d);
        }
        t.finish()
    }
    pub fn write_dir(&self, dir: &Path) {
        for (n, d) in &self.files {
            let p = dir.join(n);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, d).unwrap();
        }
    }
}

/// A reader that hands out short reads of pseudo-random sizes (1..=max bytes).
pub struct Choppy<R> {
    pub inner: R,
    pub state: u64,
    pub max: usize,
}

impl<R: std::io::Read> std::io::Read for Choppy<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.state = self.state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let n = 1 + (self.state >> 33) as usize % self.max;
        let n = n.min(buf.len());
        self.inner.read(&mut buf[..n])
    }
}

/// dpkg's status and one `.list` and file per package (name, path, size): installed dpkg
/// packages, version 1.0, each file filled with a byte of its own.
pub fn dpkg(pkgs: &[(&str, &str, usize)]) -> Vec<E<'static>> {
    let mut status = String::new();
    let mut out = Vec::new();
    for (name, path, size) in pkgs {
        status.push_str(&format!("Package: {name}\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.0\n\n"));
        out.push(E::File(wheels::leak(format!("var/lib/dpkg/info/{name}.list")), format!("/{path}\n").into_bytes()));
        out.push(E::File(wheels::leak(path.to_string()), vec![name.len() as u8; *size]));
    }
    out.push(E::File("var/lib/dpkg/status", status.into_bytes()));
    out
}

/// A layer of `extra` entries, then the packages of `dpkg`.
pub fn dpkg_layer(pkgs: &[(&str, &str, usize)], extra: Vec<E<'static>>) -> Vec<u8> {
    let mut entries = extra;
    entries.extend(dpkg(pkgs));
    layer(&entries)
}

/// A layer with `links` chained symlinks whose targets are padded with `d/../` to `target_len`
/// bytes (`l0` → `d`, `l1` → `d/../d/../…/l0`, …), then `below` empty files beneath the last one:
/// every one of them makes a reader follow the whole chain.
pub fn link_chain_layer(links: usize, target_len: usize, below: usize) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = header(tar::EntryType::Directory, 0);
    b.append_data(&mut h, "d/", &[][..]).unwrap();
    for i in 0..links {
        let last = if i == 0 { "d".to_string() } else { format!("l{}", i - 1) };
        let pad = target_len.saturating_sub(last.len()) / 5;
        let target = "d/../".repeat(pad) + &last;
        let mut h = header(tar::EntryType::Symlink, 0);
        b.append_link(&mut h, format!("l{i}"), target).unwrap();
    }
    for k in 0..below {
        let mut h = header(tar::EntryType::Regular, 0);
        b.append_data(&mut h, format!("l{}/f{k}", links - 1), &[][..]).unwrap();
    }
    b.into_inner().unwrap()
}

/// A writer that hashes what passes through it (a diff_id of a tar written straight into gzip).
pub struct Hashing<W> {
    pub w: W,
    pub h: Sha256,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        let n = self.w.write(b)?;
        self.h.update(&b[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.w.flush()
    }
}

/// A docker save whose one gzip layer holds dpkg's status and `n` `.list` files of 30 MB each
/// (one line repeated: `n` × 30 MB of content in well under a MB).
pub fn big_lists_image(n: usize) -> Vec<u8> {
    let line = b"/usr/share/doc/pkg/a-long-file-name-listed-by-dpkg.txt\n";
    let list = line.repeat(30_000_000 / line.len());
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut b = tar::Builder::new(Hashing { w: gz, h: Sha256::new() });
    let status: String = (0..n).map(|i| format!("Package: p{i}\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1\n\n")).collect();
    let mut h = header(tar::EntryType::Regular, status.len() as u64);
    b.append_data(&mut h, "var/lib/dpkg/status", status.as_bytes()).unwrap();
    for i in 0..n {
        let mut h = header(tar::EntryType::Regular, list.len() as u64);
        b.append_data(&mut h, format!("var/lib/dpkg/info/p{i}.list"), &list[..]).unwrap();
    }
    let hw = b.into_inner().unwrap();
    let diff = hex::encode(hw.h.finalize());
    let blob = hw.w.finish().unwrap();
    docker_archive_cfg(&[blob], "d:1", false, |v| v["rootfs"]["diff_ids"] = serde_json::json!([format!("sha256:{diff}")]))
}

/// `archive` (a docker save) compressed as a whole with `n` members of 64 MiB - 1 that look
/// like JSON (`{` and spaces) before its own members, or after them.
pub fn with_junk_members(archive: &[u8], n: usize, first: bool) -> Vec<u8> {
    let junk = {
        let mut j = vec![b' '; (64 << 20) - 1];
        j[0] = b'{';
        j
    };
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut b = tar::Builder::new(gz);
    let add_junk = |b: &mut tar::Builder<_>| {
        for i in 0..n {
            let mut h = header(tar::EntryType::Regular, junk.len() as u64);
            b.append_data(&mut h, format!("junk{i}.json"), &junk[..]).unwrap();
        }
    };
    if first {
        add_junk(&mut b);
    }
    let mut ar = tar::Archive::new(archive);
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        let mut h = e.header().clone();
        let path = e.path().unwrap().into_owned();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut data).unwrap();
        b.append_data(&mut h, path, &data[..]).unwrap();
    }
    if !first {
        add_junk(&mut b);
    }
    b.into_inner().unwrap().finish().unwrap()
}

/// A layer with one regular file `path` of `data`, preceded by a PAX header of these records.
pub fn pax_layer(records: &[(&str, &str)], path: &str, data: &[u8]) -> Vec<u8> {
    let mut pax = Vec::new();
    for (k, v) in records {
        let body = format!(" {k}={v}\n");
        let mut n = body.len() + 1;
        while format!("{n}").len() + body.len() != n {
            n += 1;
        }
        pax.extend_from_slice(format!("{n}{body}").as_bytes());
    }
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::XHeader);
    h.set_size(pax.len() as u64);
    h.set_path("PaxHeaders/x").unwrap();
    h.set_mode(0o644);
    h.set_cksum();
    b.append(&h, &pax[..]).unwrap();
    let mut h = header(tar::EntryType::Regular, data.len() as u64);
    b.append_data(&mut h, path, data).unwrap();
    b.into_inner().unwrap()
}

/// A docker save (as `docker_archive` writes it) with its config renamed to `name`, in the
/// member list and in manifest.json.
pub fn rename_config(archive: &[u8], name: &str) -> Vec<u8> {
    let mut members: Vec<(String, Vec<u8>)> = Vec::new();
    for e in tar::Archive::new(archive).entries().unwrap() {
        let mut e = e.unwrap();
        let path = e.path().unwrap().to_string_lossy().into_owned();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut data).unwrap();
        members.push((path, data));
    }
    let (_, manifest) = members.iter().find(|(n, _)| n == "manifest.json").unwrap();
    let mut m: serde_json::Value = serde_json::from_slice(manifest).unwrap();
    let old = m[0]["Config"].as_str().unwrap().to_string();
    m[0]["Config"] = name.into();
    let mut t = Tar::new();
    for (n, d) in &members {
        match n.as_str() {
            "manifest.json" => t.add(n, &serde_json::to_vec(&m).unwrap()),
            n if n == old => t.add(name, d),
            n => t.add(n, d),
        };
    }
    t.finish()
}

/// slim, the binary, with what changes its output pinned: no colour, a fixed width, no GitHub
/// job summary.
pub fn slim() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("slim").unwrap();
    c.env("NO_COLOR", "1").env("COLUMNS", "120").env_remove("GITHUB_STEP_SUMMARY");
    // The layer cache stays on, as users have it, but in the build's own scratch directory rather
    // than the user's ~/.cache (tests/cache.rs points it elsewhere for its own assertions).
    c.env("SLIM_CACHE_DIR", concat!(env!("CARGO_TARGET_TMPDIR"), "/slim-cache"));
    c
}

/// An archive written to a temporary directory of its own (removed when this is dropped).
pub struct Img {
    _dir: tempfile::TempDir,
    pub path: PathBuf,
}

impl Img {
    pub fn write(archive: &[u8]) -> Img {
        let dir = tempfile::tempdir().unwrap();
        let path = write_in(dir.path(), "img.tar", archive);
        Img { _dir: dir, path }
    }

    /// The analysis of the archive as a file, the way users name it.
    pub fn analyzed(&self, opts: &slim::analyze::Options<'_>) -> slim::facts::Analyzed {
        slim::analyze::run(self.path.to_str().unwrap(), opts).unwrap()
    }
}

/// The analysis of an image with the default top N (20), as the CLI gives it.
pub fn analyzed(img: &Img) -> slim::facts::Analyzed {
    img.analyzed(&slim::analyze::Options::new(20))
}

/// The package `name` if the analysis calls it unused.
pub fn unused<'a>(a: &'a slim::facts::Analyzed, name: &str) -> Option<&'a slim::model::analysis::UnusedPackage> {
    a.analysis.unused_packages.iter().find(|u| u.name == name)
}

/// `slim why PACKAGE IMAGE --format json`, read back into the model.
pub fn why_json(img: &Img, package: &str) -> slim::model::why::Why {
    let out = slim().args(["why", package]).arg(&img.path).args(["--format", "json"]).env("NO_COLOR", "1").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Analyse an archive written to a temporary file.
pub fn analyze_archive(archive: &[u8], opts: &slim::analyze::Options<'_>) -> slim::facts::Analyzed {
    Img::write(archive).analyzed(opts)
}

/// Write `bytes` to `dir/name`; the path.
pub fn write_in(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Copy the files under `from` to the same places under `to` (a fixture's build context, to
/// be written into); the files copied.
pub fn copy_tree(from: &Path, to: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in walkdir::WalkDir::new(from).into_iter().map(Result::unwrap).filter(|e| e.file_type().is_file()) {
        let dest = to.join(e.path().strip_prefix(from).unwrap());
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(e.path(), &dest).unwrap();
        out.push(dest);
    }
    out
}
