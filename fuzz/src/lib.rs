//! The fuzz targets' bodies, in one place so `fuzz_targets/*.rs` stay one line each. Each feeds
//! arbitrary bytes to slim through its library and only asks that it return (an error is a fine
//! answer; a panic, a hang or unbounded memory is a bug).

use indicatif::ProgressBar;
use sha2::{Digest, Sha256};
use slim::analyze::{self, Options};
use slim::image::store::Source;
use slim::layers::tree::Tree;
use slim::layers::walk;

/// The whole pipeline on one input read as a stream: archive detection (compression, docker
/// save or OCI), manifests, configs, layers, attribution, rules.
pub fn archive(data: &[u8]) {
    if let Ok(src) = Source::open_stream("fuzz".into(), data, &analyze::capture, &ProgressBar::hidden()) {
        let _ = analyze::run_source(src, &Options::new(10));
    }
}

fn digest(b: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(b)))
}

/// A one-file layer the JSON documents can point at.
fn small_layer() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(5);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    b.append_data(&mut h, "app/x.py", &b"x = 1"[..]).expect("in memory");
    b.into_inner().expect("in memory")
}

/// Up to three JSON documents separated by NUL bytes, packaged as an image whose references
/// hold: the first byte picks docker save (even) or an OCI layout (odd); `{L}`, `{LS}`, `{C}`,
/// `{CS}`, `{M}`, `{MS}` in the text become the layer's, config's and manifest's digest and size
/// (`{CH}`: the config digest's hex, which names the config in docker save),
/// so the fuzzer mutates the documents' structure without breaking every digest.
pub fn image_json(data: &[u8]) {
    let Some((&kind, rest)) = data.split_first() else { return };
    let mut parts = rest.splitn(3, |&b| b == 0).map(|p| String::from_utf8_lossy(p).into_owned());
    let (first, second, third) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    let layer = small_layer();
    let fill = |t: &str, extra: &[(&str, String)]| {
        let mut t = t.replace("{LS}", &layer.len().to_string()).replace("{L}", &digest(&layer));
        for (k, v) in extra {
            t = t.replace(k, v);
        }
        t
    };
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    if kind % 2 == 0 {
        // docker save: manifest.json, the config (named by its digest) and the layer.
        let config = fill(&second, &[]).into_bytes();
        let c = digest(&config);
        let manifest = fill(&first, &[("{CS}", config.len().to_string()), ("{CH}", c[7..].to_string()), ("{C}", c.clone())]);
        files.push(("manifest.json".into(), manifest.into_bytes()));
        files.push((format!("{}.json", &c[7..]), config));
        files.push(("layer.tar".into(), layer.clone()));
    } else {
        // OCI layout: index.json, the manifest and config blobs and the layer.
        let config = fill(&third, &[]).into_bytes();
        let c = digest(&config);
        let manifest = fill(&second, &[("{CS}", config.len().to_string()), ("{C}", c.clone())]).into_bytes();
        let m = digest(&manifest);
        let index = fill(&first, &[("{CS}", config.len().to_string()), ("{C}", c.clone()), ("{MS}", manifest.len().to_string()), ("{M}", m.clone())]);
        files.push(("oci-layout".into(), br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec()));
        files.push(("index.json".into(), index.into_bytes()));
        files.push((format!("blobs/sha256/{}", &m[7..]), manifest));
        files.push((format!("blobs/sha256/{}", &c[7..]), config));
        files.push((format!("blobs/sha256/{}", &digest(&layer)[7..]), layer.clone()));
    }
    if let Some(tar) = tar_of(files.iter().map(|(n, b)| (n.as_str(), &b[..]))) {
        archive(&tar);
    }
}

/// A tar of regular files, or None when a name cannot be stored.
fn tar_of<'a>(files: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> Option<Vec<u8>> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, body) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(body.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        b.append_data(&mut h, name, body).ok()?;
    }
    b.into_inner().ok()
}

/// Two layer blobs (the first byte × 512 is where the first ends), each read as a stream
/// (sniffed, decoded, walked) and applied in order to one tree with the runtime's semantics;
/// then everything the reports read from the tree.
pub fn layer(data: &[u8]) {
    let Some((&cut, rest)) = data.split_first() else { return };
    let cut = (usize::from(cut) * 512).min(rest.len());
    let mut tree = Tree::new();
    for blob in [&rest[..cut], &rest[cut..]] {
        if let Ok(scan) = walk::scan_stream(blob, &analyze::capture, &walk::Budget::new(walk::CONTENT_BUDGET), true) {
            if tree.apply(&scan).is_err() {
                return;
            }
        }
    }
    let (bytes, _) = tree.final_totals();
    let layer_bytes: u64 = tree.layers.iter().map(|l| l.file_bytes).sum();
    let waste: u64 = tree.layers.iter().map(|l| l.wasted_bytes).sum();
    // The invariant the reports print: every byte written is either final or wasted.
    assert_eq!(layer_bytes, bytes + waste, "layer bytes = final + wasted");
    let e = tree.efficiency();
    assert!((0.0..=1.0).contains(&e), "efficiency {e}");
    let _ = tree.dir_sizes();
    for n in tree.final_files() {
        let _ = tree.path(n);
    }
}

/// A Dockerfile parsed (with its shell and variables) and tied to a history.
pub fn dockerfile(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Ok(mut parsed) = slim::dockerfile::parse("Dockerfile", &text) {
        let history = [(0, Some("/bin/sh -c pip install -r requirements.txt")), (1, Some("COPY . /app # buildkit")), (2, None)];
        let _ = parsed.match_layers("Dockerfile", &history);
    }
}

/// Python METADATA and RECORD and dpkg's status, the first three NUL-separated parts, put in a
/// layer where slim looks for them and attributed.
pub fn metadata(data: &[u8]) {
    let mut parts = data.splitn(4, |&b| b == 0);
    let (meta, record, status) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    let text = String::from_utf8_lossy(meta);
    let _ = slim::attribute::python::headers(&text);
    let _ = slim::attribute::python::record_paths(record);
    let _ = slim::attribute::dpkg::parse_status(&String::from_utf8_lossy(status));
    let site = "usr/local/lib/python3.11/site-packages";
    let files: [(String, &[u8]); 6] = [
        (format!("{site}/pkg-1.0.dist-info/METADATA"), meta),
        (format!("{site}/pkg-1.0.dist-info/RECORD"), record),
        (format!("{site}/pkg/__init__.py"), b"import os\n"),
        ("var/lib/dpkg/status".into(), status),
        ("var/lib/dpkg/info/libc6:amd64.list".into(), b"/usr/lib/x86_64-linux-gnu/libc.so.6\n"),
        ("usr/lib/x86_64-linux-gnu/libc.so.6".into(), b"\x7fELF"),
    ];
    let Some(blob) = tar_of(files.iter().map(|(n, b)| (n.as_str(), *b))) else { return };
    let Ok(scan) = walk::scan_stream(&blob[..], &analyze::capture, &walk::Budget::new(walk::CONTENT_BUDGET), false) else { return };
    let mut tree = Tree::new();
    if tree.apply(&scan).is_ok() {
        let _ = slim::attribute::attribute(&mut tree, &slim::attribute::groups::GroupTable::builtin(), &[]);
    }
}

/// Python source: the digest of an installed module, which reads past the lines that cannot
/// import, must be the digest found by cutting every line into tokens.
pub fn imports(data: &[u8]) {
    let digest = slim::deps::imports::digest(data);
    assert_eq!(digest, slim::deps::imports::digest_cutting_every_line(data), "{:?}", String::from_utf8_lossy(data));
}

/// A zstd stream: decoded block by block through slim's pipe (straight into the chunks the walk
/// reads), it must give what the zstd crate's streaming decoder gives: the same bytes, or an
/// error. (Not always in the same words: the two find some damage at different points, see
/// `zstd_blocks::decode`; tests there hold the words to the streaming decoder's for a valid
/// stream cut, bent or extended.)
pub fn zstd(data: &[u8]) {
    use slim::io::{compress::Compression, pipe};
    use std::io::Read;
    let ours = std::thread::scope(|s| {
        let (decoder, mut decoded, _) = pipe::decoder(s, false);
        let decoding = s.spawn(move || decoder.run(Compression::Zstd, data));
        let mut out = Vec::new();
        let read = decoded.read_to_end(&mut out).map(|_| out).map_err(|e| e.to_string());
        drop(decoded);
        let _ = decoding.join();
        read
    });
    let theirs = {
        let mut d = ::zstd::stream::read::Decoder::with_buffer(data).unwrap();
        d.window_log_max(31).unwrap();
        let mut out = Vec::new();
        d.read_to_end(&mut out).map(|_| out).map_err(|e| e.to_string())
    };
    let same = match (&ours, &theirs) {
        (Ok(a), Ok(b)) => a == b,
        (Err(_), Err(_)) => true,
        _ => false,
    };
    assert!(same, "{:?} vs {:?}", ours.as_ref().map(Vec::len), theirs.as_ref().map(Vec::len));
}
