//! wrong-model: a model baked into the image that nothing in the app names, while a sibling of
//! its family (another size of it) is named — "the app loads Qwen3-Reranker-0.6B but the image
//! bakes Qwen3-Reranker-4B". Model ids are collected from the app's string literals (defaults
//! of `os.getenv` included), the image's ENV and command line: `ORG/NAME` ids,
//! sentence-transformers short names and local model paths. A baked model the app names is
//! left alone.

use super::models::family;
use super::view::View;
use super::{Draft, step};
use crate::facts::Analyzed;
use crate::model::analysis::{Action, Evidence, Model};
use crate::show::human;
use hashbrown::HashSet;

/// A model id the app names, and where.
#[derive(Debug, Clone, PartialEq)]
pub struct Named {
    pub id: String,
    pub at: String,
}

fn id_part(s: &str) -> bool {
    !s.is_empty() && s.len() <= 96 && s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric()) && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Is `s` something that may name a model: `ORG/NAME`, a short name with a dash
/// (`all-MiniLM-L6-v2`), or an absolute path?
fn model_like(s: &str) -> bool {
    let s = s.trim();
    if s.starts_with('/') {
        return s.len() > 1 && !s.contains(char::is_whitespace);
    }
    match s.split_once('/') {
        Some((org, name)) => id_part(org) && id_part(name) && name.chars().any(|c| c.is_ascii_alphabetic()),
        None => id_part(s) && s.matches('-').count() >= 2 && s.chars().any(|c| c.is_ascii_digit()) && s.chars().any(|c| c.is_ascii_alphabetic()),
    }
}

/// Model ids the app names: its strings, ENV values and command words.
pub fn named(a: &Analyzed) -> Vec<Named> {
    let mut out: Vec<Named> = Vec::new();
    let mut push = |id: &str, at: String| {
        let id = id.trim().trim_end_matches('/');
        if model_like(id) && !out.iter().any(|n| n.id == id) {
            out.push(Named { id: id.to_string(), at });
        }
    };
    for f in &a.usage.app.files {
        for (s, line) in &f.scan.strings {
            push(s, format!("{}:{line}", f.shown));
        }
    }
    let cfg = a.image.config.config.as_ref();
    for e in cfg.and_then(|c| c.env.clone()).unwrap_or_default() {
        if let Some((k, v)) = e.split_once('=') {
            if k.contains("PATH") {
                continue;
            }
            for w in v.split([',', ' ', ';']) {
                push(w, format!("ENV {k}"));
            }
        }
    }
    for w in &a.usage.app.argv {
        for part in w.split([' ', '=']) {
            push(part, "the command line".into());
        }
    }
    out
}

fn base(s: &str) -> String {
    s.trim_end_matches('/').rsplit('/').next().unwrap_or(s).to_ascii_lowercase()
}

/// Does `n` name the baked model `m`?
fn names(n: &str, m: &Model) -> bool {
    if n.eq_ignore_ascii_case(&m.name) || base(n) == base(&m.name) {
        return true;
    }
    // A local path: the model's directory, inside it, or a directory holding it.
    n.starts_with('/') && m.paths.iter().chain(std::iter::once(&m.name)).any(|p| p.starts_with(n) || n.starts_with(p.as_str()))
}

/// The model's directory in the image: the longest directory all its listed files share.
fn root_of(m: &Model) -> String {
    let dirs: Vec<&str> = m.paths.iter().map(|p| p.rsplit_once('/').map(|(d, _)| d).unwrap_or("")).collect();
    let Some(first) = dirs.first() else { return m.name.clone() };
    let mut common: Vec<&str> = first.split('/').collect();
    for d in &dirs[1..] {
        let c: Vec<&str> = d.split('/').collect();
        let k = common.iter().zip(&c).take_while(|(a, b)| a == b).count();
        common.truncate(k);
    }
    // A Hugging Face cache entry is the `models--ORG--NAME` directory, not its snapshot.
    if let Some(i) = common.iter().position(|c| c.starts_with("models--")) {
        common.truncate(i + 1);
    }
    common.join("/")
}

pub fn find(a: &Analyzed, out: &mut Vec<Draft>) {
    let models = &a.analysis.models;
    if models.is_empty() || !a.usage.found {
        return;
    }
    let named = named(a);
    let t = &a.tree;
    let v = View::new(a);
    for m in models {
        // Weights inside a distribution are that package's business.
        if m.owner.as_deref().is_some_and(|o| !o.starts_with("category:")) {
            continue;
        }
        if named.iter().any(|n| names(&n.id, m)) {
            continue;
        }
        let fam = family(&m.name);
        if fam.is_empty() {
            continue;
        }
        let Some(wanted) = named.iter().find(|n| family(&n.id) == fam && !n.id.starts_with('/') || n.id.starts_with('/') && family(&base(&n.id)) == fam) else { continue };
        let root = root_of(m);
        let prefix = format!("{}/", root.trim_start_matches('/'));
        let mut inos: Vec<u32> = Vec::new();
        let mut others = 0u64;
        let layer = m.layer as u16;
        for n in t.final_files() {
            let p = t.path(n);
            let inside = p.starts_with(prefix.as_bytes());
            if inside {
                inos.push(t.nodes[n as usize].inode);
            } else if t.nodes[n as usize].layer == layer {
                others += 1;
            }
        }
        let seen: HashSet<u32> = inos.iter().copied().collect();
        let inos: Vec<u32> = seen.into_iter().collect();
        let only = others == 0;
        let st = step(a, m.layer);
        let made_by = st.created_by.clone().unwrap_or_default();
        let how_remove = if only {
            format!("drop the step that brings it (layer {}: {})", m.layer, crate::show::short_step(Some(&made_by), 80))
        } else if made_by.contains("COPY") || made_by.contains("ADD") {
            format!("keep {root} out of the COPY in layer {} (a .dockerignore entry for its source)", m.layer)
        } else {
            format!("remove the command that downloads it from the RUN in layer {}", m.layer)
        };
        out.push(Draft {
            severity: Some("high"),
            ..Draft::new(
                "wrong-model",
                format!("the app loads {} ({}) but the image bakes {} ({})", wanted.id, wanted.at, m.name, human(v.bytes(&inos))),
                inos.clone(),
                0,
                "Nothing in the app's code, ENV or command line names the baked model, while another model of its family is named: the baked weights are never loaded and the named ones are fetched at run time anyway. The saving is the baked model's bytes.".into(),
                Evidence {
                    paths: m.paths.iter().take(10).cloned().collect(),
                    more_paths: m.files.saturating_sub(10),
                    owners: m.owner.iter().cloned().collect(),
                    layers: vec![st],
                    notes: vec![
                        format!("the app names {} at {}", wanted.id, wanted.at),
                        format!("nothing in the app's strings, ENV or command line names {}", m.name),
                        format!("{} is baked at {root}", m.name),
                    ],
                },
                format!(
                    "Remove {}: {how_remove}. Bring {} instead: download it when the container starts (e.g. `huggingface-cli download {}` in the entrypoint, into a cache on a volume) or mount it as a volume; if it must be baked in, download that one in the Dockerfile.",
                    m.name, wanted.id, wanted.id
                ),
                Action::DropModel { model: m.name.clone(), layer: m.layer, paths: vec![root.clone()], step_brings_only_it: only, wanted: wanted.id.clone() },
            )
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_may_name_a_model() {
        for s in ["Qwen/Qwen3-Reranker-0.6B", "sentence-transformers/all-MiniLM-L6-v2", "all-MiniLM-L6-v2", "/models/qwen3-reranker-0.6b", "BAAI/bge-small-en-v1.5"] {
            assert!(model_like(s), "{s}");
        }
        for s in ["hello world", "text", "utf-8", "a/b c", "/", "http://api:8000"] {
            assert!(!model_like(s), "{s}");
        }
    }

    #[test]
    fn a_name_matches_by_id_basename_or_path() {
        let m = Model {
            name: "Qwen/Qwen3-Reranker-4B".into(),
            format: "safetensors".into(),
            bytes: 1,
            files: 1,
            paths: vec!["/root/.cache/huggingface/hub/models--Qwen--Qwen3-Reranker-4B/blobs/abc".into()],
            layer: 1,
            owner: None,
        };
        assert!(names("qwen/qwen3-reranker-4b", &m) && names("Qwen3-Reranker-4B", &m) && names("/root/.cache/huggingface", &m));
        assert!(!names("Qwen/Qwen3-Reranker-0.6B", &m));
        assert_eq!(root_of(&m), "/root/.cache/huggingface/hub/models--Qwen--Qwen3-Reranker-4B");
    }
}
