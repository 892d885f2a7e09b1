//! Groups of owners (the CUDA stack, torch, ...) from a table compiled in
//! (`groups.toml`), which users extend or override with their own file.

use super::{OwnerInfo, OwnerKind};
use crate::error::{Error, Result};
use crate::layers::tree::Tree;
use crate::model::analysis::Group;
use serde::Deserialize;

const BUILTIN: &str = include_str!("groups.toml");

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupDef {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub members: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    group: Vec<GroupDef>,
}

#[derive(Debug, Clone)]
pub struct GroupTable {
    pub groups: Vec<GroupDef>,
}

fn parse(text: &str, origin: &str) -> Result<Vec<GroupDef>> {
    let f: File = toml::from_str(text).map_err(|e| Error::input(origin, format!("bad groups table: {}", e.message())))?;
    for g in &f.group {
        for m in &g.members {
            let ok = m.split_once(':').is_some_and(|(k, p)| ["python", "dpkg", "conda", "npm"].contains(&k) && !p.is_empty());
            if !ok {
                return Err(Error::input(origin, format!("group {}: member {m:?} is not KIND:PATTERN (python, dpkg, conda, npm)", g.name)));
            }
        }
    }
    Ok(f.group)
}

/// `*` matches any run of characters.
fn glob(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let mut rest = name;
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(part) else { return false };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
    }
    true
}

impl GroupTable {
    pub fn builtin() -> Self {
        GroupTable { groups: parse(BUILTIN, "groups.toml").expect("the built-in table parses") }
    }

    /// The built-in table with a user's file in front of it.
    pub fn with_file(path: &std::path::Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::input(path.display(), e))?;
        let mut groups = parse(&text, &path.display().to_string())?;
        groups.extend(Self::builtin().groups);
        Ok(GroupTable { groups })
    }

    pub fn group_of(&self, kind: OwnerKind, name: &str) -> Option<&str> {
        let kind = kind.name();
        self.groups.iter().find(|g| g.members.iter().any(|m| m.split_once(':').is_some_and(|(k, p)| k == kind && glob(p, name)))).map(|g| g.name.as_str())
    }

    /// Totals per group over the owners' live files.
    pub fn groups_for(&self, owners: &[OwnerInfo], tree: &Tree, by_inode: &[u32]) -> Vec<Group> {
        let mut bytes = vec![0u64; owners.len()];
        let mut files = vec![0u64; owners.len()];
        for (ino, i) in tree.inodes.iter().enumerate() {
            if i.links > 0 && (by_inode[ino] as usize) < owners.len() {
                bytes[by_inode[ino] as usize] += i.size;
                files[by_inode[ino] as usize] += 1;
            }
        }
        let mut out: Vec<Group> = Vec::new();
        for g in &self.groups {
            if out.iter().any(|o| o.name == g.name) {
                continue;
            }
            let mut members: Vec<String> = Vec::new();
            let (mut b, mut f) = (0, 0);
            for (i, o) in owners.iter().enumerate() {
                if o.kind != OwnerKind::Category && self.group_of(o.kind, &o.name) == Some(g.name.as_str()) {
                    b += bytes[i];
                    f += files[i];
                    if !members.contains(&o.name) {
                        members.push(o.name.clone());
                    }
                }
            }
            if !members.is_empty() {
                members.sort();
                out.push(Group { name: g.name.clone(), bytes: b, files: f, members });
            }
        }
        out.sort_by(|a, b| b.bytes.cmp(&a.bytes).then(a.name.cmp(&b.name)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("nvidia-*", "nvidia-cublas-cu12"));
        assert!(!glob("nvidia-*", "torch"));
        assert!(glob("torch", "torch"));
        assert!(glob("*-cpu", "faiss-cpu"));
        assert!(glob("a*b*c", "axxbyyc"));
    }

    #[test]
    fn builtin_table_knows_the_cuda_stack() {
        let t = GroupTable::builtin();
        assert_eq!(t.group_of(OwnerKind::Python, "nvidia-cudnn-cu12"), Some("cuda"));
        assert_eq!(t.group_of(OwnerKind::Python, "torchvision"), Some("torch"));
        assert_eq!(t.group_of(OwnerKind::Python, "triton"), Some("triton"));
        assert_eq!(t.group_of(OwnerKind::Python, "six"), None);
    }

    #[test]
    fn bad_member_is_an_error() {
        assert!(parse("[[group]]\nname='x'\nmembers=['nvidia-*']\n", "f").is_err());
        assert!(parse("[[group]]\nname='x'\nmembers=['python:a']\nextra=1\n", "f").is_err());
    }
}
