//! Model weights baked into the image: Hugging Face cache layouts (named as the model),
//! sentence-transformers and torch hub caches, and weight files by format anywhere else.
//! Ownership does not change: a model inside a distribution is still the distribution's.

use super::Claims;
use crate::layers::tree::{ROOT, Tree};
use crate::model::analysis::Model;
use crate::show::display_path;
use hashbrown::HashMap;

/// Weight formats by file extension.
const FORMATS: &[(&str, &str)] = &[
    (".safetensors", "safetensors"),
    (".gguf", "gguf"),
    (".onnx", "onnx"),
    (".ckpt", "ckpt"),
    (".pth", "pth"),
    (".pt", "pt"),
    (".h5", "h5"),
    (".tflite", "tflite"),
    (".msgpack", "msgpack"),
    (".pb", "pb"),
    (".bin", "bin"),
];

/// Weight files outside known cache layouts must be at least this big to count.
const MIN_LOOSE: u64 = 1 << 20;

fn format_of(name: &str) -> Option<&'static str> {
    FORMATS.iter().find(|(ext, _)| name.ends_with(ext)).map(|(_, f)| *f)
}

/// (model name, model root node) for files in a known cache layout.
fn cache_model(tree: &Tree, n: u32) -> Option<(String, u32)> {
    let mut p = tree.nodes[n as usize].parent;
    while p != ROOT {
        let name = String::from_utf8_lossy(&tree.nodes[p as usize].name).into_owned();
        if let Some(rest) = name.strip_prefix("models--") {
            return Some((rest.replacen("--", "/", 1), p));
        }
        let parent = tree.nodes[p as usize].parent;
        let pname = &tree.nodes[parent as usize].name;
        if &**pname == b"sentence_transformers" {
            let model = if name.contains('/') { name.clone() } else { name.replacen('_', "/", 1) };
            return Some((model, p));
        }
        p = parent;
    }
    None
}

pub fn find(tree: &mut Tree, claims: &Claims) -> Vec<Model> {
    struct Acc {
        format: Option<&'static str>,
        bytes: u64,
        files: u64,
        paths: Vec<(u64, u32)>,
        layer_bytes: HashMap<u16, u64>,
        owner: Option<u32>,
    }
    let mut models: HashMap<String, Acc> = HashMap::new();
    // Names of HF snapshot entries (symlinks to blobs) tell the format of the blobs.
    let mut snapshot_formats: HashMap<u32, &'static str> = HashMap::new();
    for (&n, _) in tree.symlinks.iter() {
        let name = String::from_utf8_lossy(&tree.nodes[n as usize].name).into_owned();
        if let (Some(f), Some((_, root))) = (format_of(&name), cache_model(tree, n)) {
            let e = snapshot_formats.entry(root).or_insert(f);
            if *e == "bin" {
                *e = f;
            }
        }
    }
    for n in tree.final_files() {
        let size = tree.inodes[tree.nodes[n as usize].inode as usize].size;
        let name = String::from_utf8_lossy(&tree.nodes[n as usize].name).into_owned();
        let (key, format) = if let Some((model, root)) = cache_model(tree, n) {
            (model, format_of(&name).or_else(|| snapshot_formats.get(&root).copied()))
        } else {
            let Some(f) = format_of(&name) else { continue };
            if size < MIN_LOOSE {
                continue;
            }
            let path = tree.path(n);
            let s = String::from_utf8_lossy(&path);
            if f == "bin" && !(name.starts_with("pytorch_model") || name.starts_with("model") || size >= 10 << 20) {
                continue;
            }
            // Shared libraries and package databases are not weights.
            if s.starts_with("usr/lib/") && f == "bin" || s.starts_with("var/") {
                continue;
            }
            let parent = tree.nodes[n as usize].parent;
            (display_path(&tree.path(parent)), Some(f))
        };
        let acc = models.entry(key).or_insert(Acc { format: None, bytes: 0, files: 0, paths: Vec::new(), layer_bytes: HashMap::new(), owner: None });
        if acc.format.is_none() || acc.format == Some("bin") {
            acc.format = format.or(acc.format);
        }
        acc.bytes += size;
        acc.files += 1;
        acc.paths.push((size, n));
        *acc.layer_bytes.entry(tree.nodes[n as usize].layer).or_default() += size;
        if acc.owner.is_none() {
            acc.owner = claims.owner_of(tree, n);
        }
    }
    let mut out: Vec<Model> = models
        .into_iter()
        .filter(|(_, a)| a.format.is_some())
        .map(|(name, mut a)| {
            a.paths.sort_by(|x, y| y.0.cmp(&x.0).then(x.1.cmp(&y.1)));
            let layer = a.layer_bytes.iter().max_by_key(|(l, b)| (**b, u16::MAX - **l)).map(|(l, _)| u64::from(*l)).unwrap_or(0);
            let owner = a.owner.map(|o| {
                let o = &claims.owners[o as usize];
                format!("{}:{}", o.kind.name(), o.name)
            });
            Model {
                name,
                format: a.format.unwrap_or("unknown").into(),
                bytes: a.bytes,
                files: a.files,
                paths: a.paths.iter().take(20).map(|&(_, n)| display_path(&tree.path(n))).collect(),
                layer,
                owner,
            }
        })
        .collect();
    out.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.name.cmp(&b.name)));
    out
}
