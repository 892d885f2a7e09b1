//! baked-model: model weights inside the image, with the other sizes of the same family.

use super::view::{MAX_PATHS, View};
use super::{Draft, step};
use crate::layers::tree::Kind;
use crate::model::analysis::{Action, Evidence};
use crate::show::human;
use hashbrown::{HashMap, HashSet};

/// A model's family: its name with size tokens (4B, 0.6B, 350M) and size words removed.
pub(super) fn family(name: &str) -> String {
    let base = name.rsplit('/').next().unwrap_or(name).to_ascii_lowercase();
    base.split(['-', '_', '.'])
        .filter(|t| {
            let num = t.trim_end_matches(['b', 'm', 'k']);
            let sized = !num.is_empty() && num.len() < t.len() && num.chars().all(|c| c.is_ascii_digit() || c == '.');
            !(sized || ["tiny", "mini", "small", "base", "medium", "large", "xl", "xxl"].contains(t) || t.chars().all(|c| c.is_ascii_digit()))
        })
        .collect::<Vec<_>>()
        .join("-")
}

pub(super) fn baked_model(v: &View, out: &mut Vec<Draft>) {
    let models = &v.a.analysis.models;
    let mut families: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, m) in models.iter().enumerate() {
        families.entry(family(&m.name)).or_default().push(i);
    }
    for (i, m) in models.iter().enumerate() {
        let inos: Vec<u32> = m
            .paths
            .iter()
            .filter_map(|p| v.a.tree.get(p.trim_start_matches('/').as_bytes()))
            .filter(|&n| v.a.tree.nodes[n as usize].kind == Kind::File)
            .map(|n| v.a.tree.nodes[n as usize].inode)
            .collect();
        let mut notes = Vec::new();
        let kin: Vec<&str> = families[&family(&m.name)].iter().filter(|&&j| j != i).map(|&j| models[j].name.as_str()).collect();
        if !kin.is_empty() {
            notes.push(format!("same family as {}: keep exactly one size", kin.join(", ")));
        }
        let twins: Vec<&str> = models.iter().filter(|o| o.name != m.name && o.name.rsplit('/').next() == m.name.rsplit('/').next()).map(|o| o.name.as_str()).collect();
        if !twins.is_empty() {
            notes.push(format!("the same model is also at {}", twins.join(", ")));
        }
        let mut title = format!("{} ({} {}) baked into layer {}", m.name, human(m.bytes), m.format, m.layer);
        if !kin.is_empty() {
            title.push_str(&format!(", next to {} of the same family", kin.join(", ")));
        }
        out.push(Draft::new(
            "baked-model",
            title,
            if inos.len() as u64 == m.files { inos.clone() } else { all_model_inodes(v, m) },
            0,
            "The weights leave the image if they are mounted as a volume or fetched at start; the saving is the model's bytes.".into(),
            Evidence {
                paths: m.paths.iter().take(MAX_PATHS).cloned().collect(),
                more_paths: m.files.saturating_sub(MAX_PATHS as u64),
                owners: m.owner.iter().cloned().collect(),
                layers: vec![step(v.a, m.layer)],
                notes,
            },
            "Mount the model as a volume or download it when the container starts; if it must be baked in, keep exactly one copy of one size.".into(),
            Action::AdviceOnly,
        ));
    }
}

/// Every live inode under a model's directories (for models with more files than listed).
fn all_model_inodes(v: &View, m: &crate::model::analysis::Model) -> Vec<u32> {
    let dirs: HashSet<String> = m.paths.iter().map(|p| p.rsplit_once('/').map(|(d, _)| d.to_string()).unwrap_or_default()).collect();
    let mut out = Vec::new();
    for n in v.a.tree.final_files() {
        let p = crate::attribute::shown(&v.a.tree, n);
        if dirs.iter().any(|d| p.starts_with(&format!("{d}/"))) {
            out.push(v.a.tree.nodes[n as usize].inode);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_ignore_sizes() {
        assert_eq!(family("Qwen/Qwen3-Reranker-4B"), family("Qwen/Qwen3-Reranker-0.6B"));
        assert_ne!(family("Qwen/Qwen3-Reranker-4B"), family("Qwen/Qwen3-Embedding-4B"));
        assert_eq!(family("openai/whisper-large"), family("openai/whisper-base"));
    }
}
