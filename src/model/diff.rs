//! `slim diff`: what changed between two analyses, per layer, per owner and per group: what
//! grew, shrank, appeared and vanished, with byte deltas. Pure data; renderers draw it.

use super::analysis::{Analysis, ImageInfo, Totals};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    Grew,
    Shrank,
    Appeared,
    Vanished,
    Same,
}

impl Change {
    fn of(before: Option<u64>, after: Option<u64>) -> Change {
        match (before, after) {
            (None, _) => Change::Appeared,
            (_, None) => Change::Vanished,
            (Some(b), Some(a)) if a > b => Change::Grew,
            (Some(b), Some(a)) if a < b => Change::Shrank,
            _ => Change::Same,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Change::Grew => "grew",
            Change::Shrank => "shrank",
            Change::Appeared => "appeared",
            Change::Vanished => "vanished",
            Change::Same => "same",
        }
    }
}

fn delta(before: Option<u64>, after: Option<u64>) -> i64 {
    after.unwrap_or(0) as i64 - before.unwrap_or(0) as i64
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Diff {
    pub schema_version: u32,
    pub before: Side,
    pub after: Side,
    /// Every layer of both images, in the after image's order, vanished ones last.
    pub layers: Vec<LayerDelta>,
    /// Owners whose bytes changed, largest change first. Their deltas add up to the change
    /// of `totals.final_bytes`.
    pub owners: Vec<OwnerDelta>,
    /// Owners present on both sides with the same bytes.
    pub unchanged_owners: u64,
    /// Groups whose bytes changed, largest change first.
    pub groups: Vec<GroupDelta>,
    pub unchanged_groups: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Side {
    pub image: ImageInfo,
    pub totals: Totals,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LayerDelta {
    pub before_index: Option<u64>,
    pub after_index: Option<u64>,
    /// How the two sides were paired: `digest` (the same diff_id), `index` (the same position,
    /// different content), or null for a layer on one side only.
    pub matched_by: Option<String>,
    pub digest_before: Option<String>,
    pub digest_after: Option<String>,
    /// The after side's step, else the before side's.
    pub created_by: Option<String>,
    /// `file_bytes` of the layer on each side.
    pub before_bytes: Option<u64>,
    pub after_bytes: Option<u64>,
    pub delta: i64,
    pub change: Change,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OwnerDelta {
    pub kind: String,
    pub name: String,
    pub location: Option<String>,
    pub version_before: Option<String>,
    pub version_after: Option<String>,
    pub group: Option<String>,
    pub before_bytes: Option<u64>,
    pub after_bytes: Option<u64>,
    pub before_files: Option<u64>,
    pub after_files: Option<u64>,
    pub delta: i64,
    pub change: Change,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GroupDelta {
    pub name: String,
    pub before_bytes: Option<u64>,
    pub after_bytes: Option<u64>,
    pub delta: i64,
    pub change: Change,
}

/// One owner row per (kind, name, location): a distribution's recorded and unrecorded rows
/// are summed, so a file moving between them is not a change.
#[derive(Default)]
struct OwnerSum {
    version: Option<String>,
    group: Option<String>,
    bytes: u64,
    files: u64,
}

type OwnerKey = (String, String, Option<String>);

fn owners_of(a: &Analysis) -> BTreeMap<OwnerKey, OwnerSum> {
    let mut m: BTreeMap<OwnerKey, OwnerSum> = BTreeMap::new();
    for o in &a.owners {
        let s = m.entry((o.kind.clone(), o.name.clone(), o.location.clone())).or_default();
        s.bytes += o.bytes;
        s.files += o.files;
        if s.version.is_none() {
            s.version = o.version.clone();
        }
        if s.group.is_none() {
            s.group = o.group.clone();
        }
    }
    m
}

pub fn diff(before: &Analysis, after: &Analysis) -> Diff {
    let layers = diff_layers(before, after);

    let (ob, oa) = (owners_of(before), owners_of(after));
    let mut owners = Vec::new();
    let mut unchanged_owners = 0;
    let keys: std::collections::BTreeSet<&OwnerKey> = ob.keys().chain(oa.keys()).collect();
    for k in keys {
        let (b, a) = (ob.get(k), oa.get(k));
        let (bb, ab) = (b.map(|s| s.bytes), a.map(|s| s.bytes));
        let change = Change::of(bb, ab);
        let version_changed = b.and_then(|s| s.version.as_ref()) != a.and_then(|s| s.version.as_ref());
        if change == Change::Same && !version_changed {
            unchanged_owners += 1;
            continue;
        }
        owners.push(OwnerDelta {
            kind: k.0.clone(),
            name: k.1.clone(),
            location: k.2.clone(),
            version_before: b.and_then(|s| s.version.clone()),
            version_after: a.and_then(|s| s.version.clone()),
            group: a.or(b).and_then(|s| s.group.clone()),
            before_bytes: bb,
            after_bytes: ab,
            before_files: b.map(|s| s.files),
            after_files: a.map(|s| s.files),
            delta: delta(bb, ab),
            change,
        });
    }
    owners.sort_by(|x, y| y.delta.unsigned_abs().cmp(&x.delta.unsigned_abs()).then(x.kind.cmp(&y.kind)).then(x.name.cmp(&y.name)));

    let gb: HashMap<&str, u64> = before.groups.iter().map(|g| (g.name.as_str(), g.bytes)).collect();
    let ga: HashMap<&str, u64> = after.groups.iter().map(|g| (g.name.as_str(), g.bytes)).collect();
    let mut names: Vec<&str> = before.groups.iter().chain(&after.groups).map(|g| g.name.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let mut groups = Vec::new();
    let mut unchanged_groups = 0;
    for n in names {
        let (b, a) = (gb.get(n).copied(), ga.get(n).copied());
        let change = Change::of(b, a);
        if change == Change::Same {
            unchanged_groups += 1;
            continue;
        }
        groups.push(GroupDelta { name: n.into(), before_bytes: b, after_bytes: a, delta: delta(b, a), change });
    }
    groups.sort_by(|x, y| y.delta.unsigned_abs().cmp(&x.delta.unsigned_abs()).then(x.name.cmp(&y.name)));

    Diff {
        schema_version: super::DIFF_SCHEMA,
        before: Side { image: before.image.clone(), totals: before.totals.clone() },
        after: Side { image: after.image.clone(), totals: after.totals.clone() },
        layers,
        owners,
        unchanged_owners,
        groups,
        unchanged_groups,
    }
}

/// Pair layers by diff_id first (a shared base stays paired wherever it sits), then the rest
/// by position; what is left appeared or vanished.
fn diff_layers(before: &Analysis, after: &Analysis) -> Vec<LayerDelta> {
    let n_b = before.layers.len();
    let mut pair_of_after: Vec<Option<(usize, &'static str)>> = vec![None; after.layers.len()];
    let mut taken = vec![false; n_b];
    let mut by_digest: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, l) in before.layers.iter().enumerate() {
        if !l.digest.is_empty() {
            by_digest.entry(l.digest.as_str()).or_default().push(i);
        }
    }
    for (j, l) in after.layers.iter().enumerate() {
        if let Some(cands) = by_digest.get(l.digest.as_str())
            && let Some(&i) = cands.iter().find(|&&i| !taken[i])
        {
            taken[i] = true;
            pair_of_after[j] = Some((i, "digest"));
        }
    }
    for (j, p) in pair_of_after.iter_mut().enumerate() {
        if p.is_none() && j < n_b && !taken[j] {
            taken[j] = true;
            *p = Some((j, "index"));
        }
    }
    let mut out = Vec::new();
    for (j, l) in after.layers.iter().enumerate() {
        let b = pair_of_after[j].map(|(i, how)| (&before.layers[i], how));
        let (bb, ab) = (b.map(|(x, _)| x.file_bytes), Some(l.file_bytes));
        out.push(LayerDelta {
            before_index: b.map(|(x, _)| x.index),
            after_index: Some(l.index),
            matched_by: b.map(|(_, how)| how.to_string()),
            digest_before: b.map(|(x, _)| x.digest.clone()),
            digest_after: Some(l.digest.clone()),
            created_by: l.created_by.clone().or_else(|| b.and_then(|(x, _)| x.created_by.clone())),
            before_bytes: bb,
            after_bytes: ab,
            delta: delta(bb, ab),
            change: match b {
                Some((x, "digest")) if x.file_bytes == l.file_bytes => Change::Same,
                _ => Change::of(bb, ab),
            },
        });
    }
    for (i, l) in before.layers.iter().enumerate() {
        if !taken[i] {
            out.push(LayerDelta {
                before_index: Some(l.index),
                after_index: None,
                matched_by: None,
                digest_before: Some(l.digest.clone()),
                digest_after: None,
                created_by: l.created_by.clone(),
                before_bytes: Some(l.file_bytes),
                after_bytes: None,
                delta: -(l.file_bytes as i64),
                change: Change::Vanished,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::analysis::{Layer, Owner};

    fn analysis(layers: &[(&str, u64)], owners: &[(&str, u64)]) -> Analysis {
        let json = serde_json::json!({
            "schema_version": 1,
            "image": {"source": "x", "format": "docker-archive", "compression": "none", "reference": null, "platform": "linux/amd64", "config_digest": "sha256:0"},
            "totals": {"layers": 0, "compressed_bytes": 0, "tar_bytes": 0, "layer_file_bytes": 0, "final_bytes": 0, "final_files": 0, "final_dirs": 0, "wasted_bytes": 0, "wasted_files": 0, "efficiency": 1.0},
            "layers": [], "largest_files": [], "largest_dirs": [], "wasted_files": [], "owners": [], "groups": [], "models": [], "warnings": []
        });
        let mut a: Analysis = serde_json::from_value(json).unwrap();
        for (i, (d, b)) in layers.iter().enumerate() {
            a.layers.push(Layer {
                index: i as u64,
                digest: d.to_string(),
                blob_digest: None,
                created_by: Some(format!("step {d}")),
                compression: "none".into(),
                compressed_bytes: *b,
                tar_bytes: *b,
                file_bytes: *b,
                files_added: 0,
                files_changed: 0,
                files_removed: 0,
                wasted_bytes: 0,
            });
        }
        for (n, b) in owners {
            a.owners.push(Owner {
                kind: "python".into(),
                name: n.to_string(),
                version: None,
                bytes: *b,
                files: 1,
                location: Some("/sp".into()),
                group: None,
                unrecorded: false,
                editable: false,
            });
        }
        a.totals.final_bytes = owners.iter().map(|o| o.1).sum();
        a
    }

    #[test]
    fn layers_pair_by_digest_then_index() {
        let b = analysis(&[("base", 100), ("deps", 50), ("app", 10)], &[]);
        let a = analysis(&[("base", 100), ("deps2", 70), ("app", 10), ("extra", 5)], &[]);
        let d = diff(&b, &a);
        let by = |j: u64| d.layers.iter().find(|l| l.after_index == Some(j)).unwrap();
        assert_eq!(by(0).change, Change::Same);
        assert_eq!(by(0).matched_by.as_deref(), Some("digest"));
        assert_eq!((by(1).change, by(1).delta, by(1).matched_by.as_deref()), (Change::Grew, 20, Some("index")));
        assert_eq!(by(2).matched_by.as_deref(), Some("digest"));
        assert_eq!(by(3).change, Change::Appeared);
        assert!(d.layers.iter().all(|l| l.change != Change::Vanished));

        let d = diff(&a, &b);
        assert_eq!(d.layers.iter().filter(|l| l.change == Change::Vanished).count(), 1);
    }

    #[test]
    fn owner_deltas_add_up_to_the_final_change() {
        let b = analysis(&[], &[("torch", 1000), ("numpy", 300), ("old", 50), ("same", 7)]);
        let a = analysis(&[], &[("torch", 1500), ("numpy", 200), ("new", 80), ("same", 7)]);
        let d = diff(&b, &a);
        let sum: i64 = d.owners.iter().map(|o| o.delta).sum();
        assert_eq!(sum, a.totals.final_bytes as i64 - b.totals.final_bytes as i64);
        assert_eq!(d.unchanged_owners, 1);
        let names: Vec<_> = d.owners.iter().map(|o| (o.name.as_str(), o.change)).collect();
        assert_eq!(names, [("torch", Change::Grew), ("numpy", Change::Shrank), ("new", Change::Appeared), ("old", Change::Vanished)]);
    }
}
