//! apt/dpkg packages: `/var/lib/dpkg/status` for names, versions and state, and
//! `/var/lib/dpkg/info/PKG[:ARCH].list` for the files each installed package put down.

use super::{Claims, OwnerInfo, OwnerKind};
use crate::layers::tree::Tree;
use hashbrown::HashMap;

/// One stanza of the status file.
#[derive(Debug, Clone, Default)]
pub struct Package {
    pub name: String,
    pub version: String,
    pub arch: String,
    pub status: String,
    pub installed_size_kib: Option<u64>,
    pub depends: String,
    pub recommends: String,
    /// apt marked it automatically installed (a dependency nobody asked for by name).
    pub auto: bool,
}

impl Package {
    /// Installed, as opposed to removed with its config files kept, or half-installed.
    pub fn is_installed(&self) -> bool {
        self.status.split_whitespace().last() == Some("installed")
    }
}

pub fn parse_status(text: &str) -> Vec<Package> {
    let mut out = Vec::new();
    for stanza in text.split("\n\n") {
        let mut p = Package::default();
        let mut last = "";
        for line in stanza.lines() {
            if line.starts_with([' ', '\t']) {
                if last == "Depends" {
                    p.depends.push_str(line);
                }
                continue;
            }
            let Some((k, v)) = line.split_once(':') else { continue };
            let v = v.trim();
            last = k;
            match k {
                "Package" => p.name = v.into(),
                "Version" => p.version = v.into(),
                "Architecture" => p.arch = v.into(),
                "Status" => p.status = v.into(),
                "Installed-Size" => p.installed_size_kib = v.parse().ok(),
                "Recommends" => p.recommends = v.into(),
                "Depends" | "Pre-Depends" => {
                    if !p.depends.is_empty() {
                        p.depends.push_str(", ");
                    }
                    p.depends.push_str(v)
                }
                _ => {}
            }
        }
        if !p.name.is_empty() {
            out.push(p);
        }
    }
    out
}

/// Names apt's `extended_states` marks `Auto-Installed: 1`.
pub fn auto_installed(text: &str) -> Vec<String> {
    text.split("\n\n")
        .filter(|st| st.lines().any(|l| l.trim() == "Auto-Installed: 1"))
        .filter_map(|st| st.lines().find_map(|l| l.strip_prefix("Package:").map(|n| n.trim().to_string())))
        .collect()
}

/// Package names a Depends/Recommends field names (alternatives all count; versions dropped).
pub fn names_in(field: &str) -> Vec<String> {
    field.split([',', '|']).filter_map(|d| d.split_whitespace().next()).map(|n| n.split(':').next().unwrap_or(n).to_string()).filter(|n| !n.is_empty()).collect()
}

/// Claim the files of every installed package. Returns the packages read.
pub fn claim(tree: &mut Tree, claims: &mut Claims) -> Vec<Package> {
    let Some(status_node) = tree.get(b"var/lib/dpkg/status") else { return Vec::new() };
    let Some(status) = tree.contents.get(&status_node) else { return Vec::new() };
    let mut packages = parse_status(&String::from_utf8_lossy(status));
    if let Some(ext) = tree.get(b"var/lib/apt/extended_states").and_then(|n| tree.contents.get(&n)) {
        let auto = auto_installed(&String::from_utf8_lossy(ext));
        for p in &mut packages {
            p.auto = auto.contains(&p.name);
        }
    }
    let status_layer = tree.nodes[status_node as usize].layer;
    // .list files by package name (a Multi-Arch: same package's file is NAME:ARCH.list).
    let mut lists: HashMap<String, u32> = HashMap::new();
    if let Some(info) = tree.get(b"var/lib/dpkg/info") {
        for c in tree.children(info) {
            let node = &tree.nodes[c as usize];
            if !tree.is_live(c) {
                continue;
            }
            if let Some(stem) = node.name.strip_suffix(b".list") {
                let stem = String::from_utf8_lossy(stem).into_owned();
                lists.insert(stem, c);
            }
        }
    }
    let mut sorted: Vec<&Package> = packages.iter().filter(|p| p.is_installed()).collect();
    sorted.sort_by(|a, b| (&a.name, &a.arch).cmp(&(&b.name, &b.arch)));
    for p in sorted {
        let list = lists.get(&format!("{}:{}", p.name, p.arch)).or_else(|| lists.get(&p.name)).copied();
        let layer = list.map(|l| tree.nodes[l as usize].layer).unwrap_or(status_layer);
        let owner = claims.add_owner(OwnerInfo {
            kind: OwnerKind::Dpkg,
            name: p.name.clone(),
            version: Some(p.version.clone()),
            location: Some("/var/lib/dpkg".into()),
            unrecorded: false,
            editable: false,
            layer,
        });
        let Some(list) = list.and_then(|l| tree.contents.get(&l)).cloned() else { continue };
        for line in list.split(|&b| b == b'\n') {
            if line.is_empty() || line == b"/." {
                continue;
            }
            if let Some(n) = tree.resolve(line) {
                claims.claim(tree, owner, n);
            }
        }
    }
    packages
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apt_marks_and_dependency_names() {
        assert_eq!(auto_installed("Package: gcc-12\nArchitecture: amd64\nAuto-Installed: 1\n\nPackage: vim\nAuto-Installed: 0\n"), ["gcc-12"]);
        assert_eq!(names_in("libc6 (>= 2.34), perl:any | perl-base, gcc-12 (>= 12.2)"), ["libc6", "perl", "perl-base", "gcc-12"]);
    }

    #[test]
    fn status_stanzas() {
        let s = "Package: zlib1g\nStatus: install ok installed\nVersion: 1:1.2.13\nArchitecture: amd64\nInstalled-Size: 168\nDepends: libc6 (>= 2.14)\n\nPackage: old\nStatus: deinstall ok config-files\nVersion: 1\n";
        let p = parse_status(s);
        assert_eq!(p.len(), 2);
        assert!(p[0].is_installed() && !p[1].is_installed());
        assert_eq!((p[0].version.as_str(), p[0].installed_size_kib), ("1:1.2.13", Some(168)));
        assert_eq!(p[0].depends, "libc6 (>= 2.14)");
    }
}
