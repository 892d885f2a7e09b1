//! build-toolchain: compilers and -dev packages in the final image, with what only they pulled
//! in (the dpkg graph in `Usage`), and whether anything was compiled here (multi-stage or not).

use super::view::{MAX_PATHS, View};
use super::{Draft, step};
use crate::attribute::OwnerKind;
use crate::layers::tree::Kind;
use crate::model::analysis::Action;
use crate::show::human;
use hashbrown::HashSet;

/// dpkg packages that only building needs.
fn is_toolchain(name: &str) -> bool {
    let versioned = |base: &str| name == base || name.strip_prefix(base).and_then(|r| r.strip_prefix('-')).is_some_and(|r| r.chars().all(|c| c.is_ascii_digit() || c == '.'));
    ["gcc", "g++", "cpp", "gfortran"].iter().any(|b| versioned(b))
        || matches!(
            name,
            "build-essential"
                | "make"
                | "cmake"
                | "cmake-data"
                | "rustc"
                | "cargo"
                | "libtool"
                | "autoconf"
                | "automake"
                | "pkg-config"
                | "pkgconf"
                | "dpkg-dev"
                | "libc-dev-bin"
                | "binutils"
        )
        || name.starts_with("binutils-")
        || name.starts_with("libbinutils")
        || name.ends_with("-dev")
}

/// Installed dpkg packages only the toolchain needs: what `apt-get autoremove` would take
/// once the toolchain goes (kept: everything reachable by Depends, Pre-Depends or Recommends,
/// virtual names through `Provides`, from a package installed by name). Walks the dpkg graph
/// in `Analyzed.usage`.
fn toolchain_closure(v: &View) -> (Vec<String>, Vec<String>) {
    let g = &v.a.usage.dpkg;
    let tools: Vec<usize> = (0..g.packages.len()).filter(|&i| is_toolchain(&g.packages[i].name)).collect();
    if tools.is_empty() {
        return (Vec::new(), Vec::new());
    }
    // Installed by name or as a dependency: apt's extended_states, which attribution read.
    let auto: HashSet<&str> = v.a.attribution.dpkg.iter().filter(|p| p.auto).map(|p| p.name.as_str()).collect();
    let mut keep = vec![false; g.packages.len()];
    let mut stack: Vec<usize> = (0..g.packages.len()).filter(|&i| !auto.contains(g.packages[i].name.as_str()) && !tools.contains(&i)).collect();
    while let Some(i) = stack.pop() {
        if tools.contains(&i) || keep[i] {
            continue;
        }
        keep[i] = true;
        stack.extend(&g.depends[i]);
        stack.extend(&g.recommends[i]);
    }
    let names = |f: &dyn Fn(usize) -> bool| (0..g.packages.len()).filter(|&i| f(i)).map(|i| g.packages[i].name.clone()).collect::<Vec<_>>();
    (names(&|i| tools.contains(&i)), names(&|i| !keep[i]))
}

pub(super) fn build_toolchain(v: &View, out: &mut Vec<Draft>) {
    let mut inos = Vec::new();
    let mut layers: HashSet<u16> = HashSet::new();
    let (mut pkgs, gone) = toolchain_closure(v);
    for (i, o) in v.a.attribution.owners.iter().enumerate() {
        let tool = (o.kind == OwnerKind::Dpkg && gone.contains(&o.name)) || (o.kind == OwnerKind::Category && o.name == "build-toolchain");
        if tool && !v.owner_inodes[i].is_empty() {
            inos.extend(&v.owner_inodes[i]);
            if o.kind == OwnerKind::Dpkg {
                layers.insert(o.layer);
            }
        }
    }
    inos.extend(dpkg_info_files(v, &gone));
    if pkgs.is_empty() && inos.is_empty() {
        return;
    }
    let pulled: Vec<&String> = gone.iter().filter(|g| !pkgs.contains(g)).collect();
    pkgs.sort();
    // A plain linux_* tag alone is no evidence: PyPI's torch wheels say exactly that inside.
    // Something was built here when direct_url.json says so, when pip's wheel cache holds the
    // wheel it built, or when the step that installed it asked for a source build.
    let cached_builds = pip_built_wheels(v);
    let compiled: Vec<(String, String)> = v
        .dists()
        .iter()
        .filter(|d| d.wheel_tags.iter().any(|t| t.ends_with("-linux_x86_64") || t.ends_with("-linux_aarch64") || t.ends_with("-linux_armv7l")))
        .filter_map(|d| {
            let how = step(v.a, v.layer_of_dist(d)).created_by.unwrap_or_default();
            let why = d
                .built_from
                .as_ref()
                .map(|b| format!("installed from {b}"))
                .or_else(|| cached_builds.contains(&d.name).then(|| "pip's wheel cache holds the wheel it built".to_string()))
                .or_else(|| (how.contains("--no-binary") || how.contains("setup.py")).then(|| "its step builds from source".to_string()))?;
            Some((format!("{} {}", d.name, d.version), why))
        })
        .collect();
    let multi_stage = !compiled.is_empty();
    let (text, note) = if multi_stage {
        let list: Vec<String> = compiled.iter().map(|(n, _)| n.clone()).collect();
        (
            format!(
                "Something was compiled in the image ({}): build in a builder stage, and copy only the Python environment it fills (a venv; uv's or poetry's project environment) and the app into a runtime stage without the toolchain.",
                list.join(", ")
            ),
            format!("built here: {}", compiled.iter().map(|(n, w)| format!("{n} ({w})")).collect::<Vec<_>>().join(", ")),
        )
    } else {
        (
            "Nothing was compiled in the image (no wheel was built from source here): drop the toolchain packages.".to_string(),
            "no installed wheel shows a build in the image (direct_url.json, pip's wheel cache, a source-build step)".to_string(),
        )
    };
    let mut ls: Vec<u16> = layers.into_iter().collect();
    ls.sort();
    out.push(Draft::new(
        "build-toolchain",
        format!("a build toolchain ships in the final image: {} ({} packages)", human(v.bytes(&inos)), pkgs.len()),
        inos.clone(),
        0,
        format!(
            "The toolchain's packages go with what only they pulled in ({} more packages, as apt-get autoremove would take them); the saving is their files' bytes.",
            pulled.len()
        ),
        v.evidence(&inos, pkgs.iter().take(MAX_PATHS).map(|p| format!("dpkg:{p}")).collect(), ls.iter().map(|&l| step(v.a, u64::from(l))).collect(), vec![note]),
        text,
        Action::DropToolchain { packages: pkgs, multi_stage },
    ));
}

/// dpkg's own records of the packages that go (`var/lib/dpkg/info/NAME.list`, `.md5sums`, the
/// maintainer scripts, with or without `:ARCH`): no package lists them, yet a build without the
/// packages has none of them.
fn dpkg_info_files(v: &View, gone: &[String]) -> Vec<u32> {
    let t = &v.a.tree;
    let Some(dir) = t.get(b"var/lib/dpkg/info") else { return Vec::new() };
    let mut out = Vec::new();
    for n in t.children(dir) {
        let node = &t.nodes[n as usize];
        if node.kind != Kind::File {
            continue;
        }
        let Some(dot) = node.name.iter().rposition(|&b| b == b'.') else { continue };
        let pkg = &node.name[..dot];
        let pkg = pkg.iter().position(|&b| b == b':').map_or(pkg, |c| &pkg[..c]);
        if gone.iter().any(|g| g.as_bytes() == pkg) {
            out.push(node.inode);
        }
    }
    out
}

/// Normalised names of the wheels pip built and kept in its cache (`.cache/pip/wheels/`).
fn pip_built_wheels(v: &View) -> HashSet<String> {
    let t = &v.a.tree;
    let mut out = HashSet::new();
    for (n, node) in t.nodes.iter().enumerate() {
        if !node.name.ends_with(b".whl") || !t.is_live(n as u32) {
            continue;
        }
        let path = t.path(n as u32);
        if path.windows(18).any(|w| w == b".cache/pip/wheels/") {
            let name = String::from_utf8_lossy(&node.name);
            if let Some(dist) = name.split('-').next() {
                out.insert(crate::attribute::python::normalize_name(dist));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toolchain_packages() {
        for p in ["gcc", "gcc-12", "g++-12", "cpp-12", "build-essential", "zlib1g-dev", "libc6-dev", "binutils-x86-64-linux-gnu", "make"] {
            assert!(is_toolchain(p), "{p}");
        }
        for p in ["libgcc-s1", "gcc-12-base", "libc6", "zlib1g", "python3"] {
            assert!(!is_toolchain(p), "{p}");
        }
    }
}
