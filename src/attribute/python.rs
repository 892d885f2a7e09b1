//! Python distributions: `*.dist-info` (RECORD) and `*.egg-info` (installed-files.txt) in any
//! environment (site-packages, dist-packages, venvs, `--user`, conda), plus conda packages.
//! Shared namespace directories such as `site-packages/nvidia/` are split by RECORD: each
//! wheel owns only the files it lists.

use super::{Claims, OwnerInfo, OwnerKind};
use crate::layers::tree::{Kind, Tree, lexical};
use crate::show::display_path;
use hashbrown::HashMap;

/// One installed distribution, as its metadata says.
#[derive(Debug, Clone)]
pub struct Dist {
    pub owner: u32,
    /// PEP 503 normalised name.
    pub name: String,
    pub version: String,
    /// The version parsed per PEP 440 (None when it does not parse).
    pub parsed: Option<pep440_rs::Version>,
    /// The environment directory (site-packages) it is installed in, display form.
    pub env: String,
    pub env_node: u32,
    /// The `.dist-info` / `.egg-info` node.
    pub meta_dir: u32,
    pub requires: Vec<String>,
    /// Tags from the WHEEL file (`cp311-cp311-manylinux_2_17_x86_64`...).
    pub wheel_tags: Vec<String>,
    /// How direct_url.json says it was installed, when that means it was built in the image
    /// (from a local directory, a VCS checkout or a source archive).
    pub built_from: Option<String>,
    pub top_level: Vec<String>,
    pub entry_points: String,
    /// Nodes of the files its record lists that exist.
    pub files: Vec<u32>,
}

/// PEP 503: lowercase, runs of `-`, `_`, `.` become one `-`.
pub fn normalize_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
        } else {
            if sep && !out.is_empty() {
                out.push('-');
            }
            sep = false;
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// Header fields of an RFC 822-style METADATA / PKG-INFO file (the body is not read: it may
/// contain lines that look like headers).
pub fn headers(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                last.1.push('\n');
                last.1.push_str(line.trim());
            }
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            out.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    out
}

fn field<'a>(h: &'a [(String, String)], key: &str) -> Option<&'a str> {
    h.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.as_str())
}

#[derive(Default)]
struct Parts {
    metadata: Option<u32>,
    record: Option<u32>,
    installed_files: Option<u32>,
    wheel: Option<u32>,
    direct_url: Option<u32>,
    top_level: Option<u32>,
    entry_points: Option<u32>,
    requires_txt: Option<u32>,
}

fn text(tree: &Tree, n: Option<u32>) -> Option<String> {
    n.and_then(|n| tree.contents.get(&n)).map(|c| String::from_utf8_lossy(c).into_owned())
}

fn join(base: &[u8], rel: &str) -> Vec<u8> {
    let mut p = base.to_vec();
    p.push(b'/');
    p.extend_from_slice(rel.as_bytes());
    lexical(&p)
}

/// Rows of a RECORD file: the path column (CSV, paths may be quoted).
pub fn record_paths(record: &[u8]) -> Vec<String> {
    let mut rdr = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(record);
    rdr.byte_records().filter_map(Result::ok).filter_map(|r| r.get(0).map(|p| String::from_utf8_lossy(p).into_owned())).filter(|p| !p.is_empty()).collect()
}

/// Is `env` a directory Python imports distributions from: a site-packages or dist-packages
/// directory, or one on the image's PYTHONPATH? (Not, say, `setuptools/_vendor`, whose
/// vendored dist-infos belong to setuptools.)
fn is_environment(tree: &Tree, env: u32, pythonpath: &[Vec<u8>]) -> bool {
    let name = &tree.nodes[env as usize].name;
    &**name == b"site-packages" || &**name == b"dist-packages" || pythonpath.iter().any(|p| *p == tree.path(env))
}

/// Find every distribution and claim the files its record lists.
pub fn claim(tree: &mut Tree, claims: &mut Claims, pythonpath: &[Vec<u8>]) -> Vec<Dist> {
    let mut parts: HashMap<u32, Parts> = HashMap::new();
    let nodes: Vec<u32> = tree.contents.keys().copied().collect();
    for n in nodes {
        let node = &tree.nodes[n as usize];
        if node.kind != Kind::File {
            continue;
        }
        let name = node.name.clone();
        if name.ends_with(b".egg-info") {
            parts.entry(n).or_default().metadata = Some(n);
            continue;
        }
        let dir = node.parent;
        let dname = &tree.nodes[dir as usize].name;
        if !(dname.ends_with(b".dist-info") || dname.ends_with(b".egg-info")) {
            continue;
        }
        let p = parts.entry(dir).or_default();
        match &*name {
            b"METADATA" | b"PKG-INFO" => p.metadata = Some(n),
            b"RECORD" => p.record = Some(n),
            b"installed-files.txt" => p.installed_files = Some(n),
            b"WHEEL" => p.wheel = Some(n),
            b"direct_url.json" => p.direct_url = Some(n),
            b"top_level.txt" => p.top_level = Some(n),
            b"entry_points.txt" => p.entry_points = Some(n),
            b"requires.txt" => p.requires_txt = Some(n),
            _ => {}
        }
    }
    let mut dirs: Vec<(Vec<u8>, u32)> = parts.keys().filter(|&&d| is_environment(tree, tree.nodes[d as usize].parent, pythonpath)).map(|&d| (tree.path(d), d)).collect();
    dirs.sort();
    let mut dists = Vec::new();
    for (dir_path, dir) in dirs {
        let p = &parts[&dir];
        let Some(meta) = text(tree, p.metadata) else { continue };
        let h = headers(&meta);
        let dir_name = String::from_utf8_lossy(&tree.nodes[dir as usize].name).into_owned();
        let stem = dir_name.trim_end_matches(".dist-info").trim_end_matches(".egg-info");
        let raw_name = field(&h, "Name").map(str::to_string).unwrap_or_else(|| stem.split('-').next().unwrap_or(stem).to_string());
        let version = field(&h, "Version").map(str::to_string).unwrap_or_default();
        if version.parse::<pep440_rs::Version>().is_err() {
            tree.warnings.push(format!("{}: version {version:?} is not a PEP 440 version", display_path(&dir_path)));
        }
        let env_node = tree.nodes[dir as usize].parent;
        let env_path = tree.path(env_node);
        let layer_node = p.record.or(p.installed_files).or(p.metadata).unwrap_or(dir);
        let direct_url = text(tree, p.direct_url).and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok());
        let editable = direct_url.as_ref().is_some_and(|v| v["dir_info"]["editable"].as_bool() == Some(true));
        let built_from = direct_url.as_ref().and_then(|v| {
            let url = v["url"].as_str().unwrap_or("");
            if v.get("dir_info").is_some() {
                Some(format!("a local directory ({url})"))
            } else if v.get("vcs_info").is_some() {
                Some(format!("a VCS checkout ({url})"))
            } else if v.get("archive_info").is_some() && !url.ends_with(".whl") {
                Some(format!("a source archive ({url})"))
            } else {
                None
            }
        });
        let owner = claims.add_owner(OwnerInfo {
            kind: OwnerKind::Python,
            name: normalize_name(&raw_name),
            version: Some(version.clone()),
            location: Some(display_path(&env_path)),
            unrecorded: false,
            editable,
            layer: tree.nodes[layer_node as usize].layer,
        });
        let mut requires: Vec<String> = h.iter().filter(|(k, _)| k.eq_ignore_ascii_case("Requires-Dist")).map(|(_, v)| v.clone()).collect();
        if requires.is_empty() {
            requires = requires_from_txt(text(tree, p.requires_txt).as_deref().unwrap_or(""));
        }
        let wheel_tags = text(tree, p.wheel).map(|w| headers(&w).into_iter().filter(|(k, _)| k == "Tag").map(|(_, v)| v).collect()).unwrap_or_default();
        let mut files = Vec::new();
        let rel_paths: Vec<(Vec<u8>, String)> = if let Some(rec) = p.record.and_then(|r| tree.contents.get(&r)) {
            record_paths(rec).into_iter().map(|r| (env_path.clone(), r)).collect()
        } else if let Some(inst) = text(tree, p.installed_files) {
            inst.lines().filter(|l| !l.trim().is_empty()).map(|l| (dir_path.clone(), l.to_string())).collect()
        } else {
            Vec::new()
        };
        for (base, rel) in rel_paths {
            let full = join(&base, &rel);
            if let Some(n) = tree.resolve(&full) {
                if claims.claim(tree, owner, n) {
                    files.push(n);
                }
            }
        }
        dists.push(Dist {
            owner,
            name: normalize_name(&raw_name),
            parsed: version.parse().ok(),
            version,
            env: display_path(&env_path),
            env_node,
            meta_dir: dir,
            requires,
            wheel_tags,
            built_from,
            top_level: text(tree, p.top_level).map(|t| t.lines().map(|l| l.trim().to_string()).filter(|l| !l.is_empty()).collect()).unwrap_or_default(),
            entry_points: text(tree, p.entry_points).unwrap_or_default(),
            files,
        });
    }
    dists
}

/// `requires.txt` of an egg-info: plain requirements, then `[extra]` sections.
fn requires_from_txt(t: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut section: Option<String> = None;
    for line in t.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        if line.starts_with('[') && line.ends_with(']') {
            section = Some(line[1..line.len() - 1].to_string());
            continue;
        }
        match &section {
            None => out.push(line.to_string()),
            Some(s) => {
                let (extra, marker) = s.split_once(':').unwrap_or((s.as_str(), ""));
                let mut m = Vec::new();
                if !extra.is_empty() {
                    m.push(format!("extra == \"{extra}\""));
                }
                if !marker.is_empty() {
                    m.push(format!("({marker})"));
                }
                out.push(format!("{line}; {}", m.join(" and ")));
            }
        }
    }
    out
}

const MULTI: u32 = u32::MAX;

/// Files under a distribution's directories that no record lists (`__pycache__` written at
/// run time, say) go to that distribution, in an `unrecorded` owner of its own so the
/// recorded bytes stay what importlib.metadata counts.
pub fn claim_unrecorded(tree: &Tree, claims: &mut Claims, dists: &[Dist]) {
    let envs: hashbrown::HashSet<u32> = dists.iter().map(|d| d.env_node).collect();
    let mut mark: HashMap<u32, u32> = HashMap::new();
    for (i, d) in dists.iter().enumerate() {
        let i = i as u32;
        mark.insert(d.meta_dir, i);
        for &f in &d.files {
            if claims.owner_of(tree, f) != Some(d.owner) {
                continue;
            }
            // Only directories inside an environment: a RECORD path that leaves it
            // (`../../../bin/uv`) owns exactly that file, not /usr/local/bin or /usr around it.
            let mut chain = Vec::new();
            let mut p = tree.nodes[f as usize].parent;
            while !envs.contains(&p) && p != crate::layers::tree::ROOT {
                chain.push(p);
                p = tree.nodes[p as usize].parent;
            }
            if !envs.contains(&p) {
                continue;
            }
            for p in chain {
                let e = mark.entry(p).or_insert(i);
                if *e != i {
                    *e = MULTI;
                }
            }
        }
    }
    let mut extra: HashMap<u32, u32> = HashMap::new();
    for n in tree.final_files() {
        if claims.owner_of(tree, n).is_some() {
            continue;
        }
        let mut p = tree.nodes[n as usize].parent;
        let mut found = None;
        while p != crate::layers::tree::ROOT && !envs.contains(&p) {
            match mark.get(&p) {
                Some(&d) if d != MULTI => {
                    found = Some(d);
                    break;
                }
                _ => p = tree.nodes[p as usize].parent,
            }
        }
        let Some(d) = found else { continue };
        let dist = &dists[d as usize];
        let id = *extra.entry(d).or_insert_with(|| {
            let base = claims.owners[dist.owner as usize].clone();
            claims.add_owner(OwnerInfo { unrecorded: true, ..base })
        });
        claims.claim(tree, id, n);
    }
}

/// conda packages: `ENV/conda-meta/*.json` list their files relative to ENV.
pub fn claim_conda(tree: &mut Tree, claims: &mut Claims) {
    let mut metas: Vec<(Vec<u8>, u32)> = tree
        .contents
        .keys()
        .copied()
        .filter(|&n| &*tree.nodes[tree.nodes[n as usize].parent as usize].name == b"conda-meta" && tree.nodes[n as usize].name.ends_with(b".json"))
        .map(|n| (tree.path(n), n))
        .collect();
    metas.sort();
    for (_, n) in metas {
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(&tree.contents[&n]) else { continue };
        let Some(name) = v["name"].as_str() else { continue };
        let env = tree.nodes[tree.nodes[n as usize].parent as usize].parent;
        let env_path = tree.path(env);
        let owner = claims.add_owner(OwnerInfo {
            kind: OwnerKind::Conda,
            name: name.to_string(),
            version: v["version"].as_str().map(str::to_string),
            location: Some(display_path(&env_path)),
            unrecorded: false,
            editable: false,
            layer: tree.nodes[n as usize].layer,
        });
        let files: Vec<String> = v["files"].as_array().map(|a| a.iter().filter_map(|f| f.as_str().map(str::to_string)).collect()).unwrap_or_default();
        for f in files {
            if let Some(m) = tree.resolve(&join(&env_path, &f)) {
                claims.claim(tree, owner, m);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalised_per_pep_503() {
        assert_eq!(normalize_name("typing_extensions"), "typing-extensions");
        assert_eq!(normalize_name("Sentence.Transformers"), "sentence-transformers");
        assert_eq!(normalize_name("a__-.b"), "a-b");
    }

    #[test]
    fn only_the_header_block_is_read() {
        let h = headers("Name: distro\nVersion: 1.9.0\nRequires-Dist: a; extra == \"x\"\n\nName: Antergos Linux\n");
        assert_eq!(field(&h, "name"), Some("distro"));
        assert_eq!(h.iter().filter(|(k, _)| k == "Name").count(), 1);
    }

    #[test]
    fn record_paths_handle_quotes_and_commas() {
        let r = b"six.py,sha256=abc,100\n\"odd,name.py\",,\n../../../bin/distro,sha256=x,5\n";
        assert_eq!(record_paths(r), ["six.py", "odd,name.py", "../../../bin/distro"]);
    }

    #[test]
    fn egg_requires_become_markers() {
        let r = requires_from_txt("a>=1\n[gpu]\ncupy\n[:python_version < \"3.8\"]\nb\n");
        assert_eq!(r, ["a>=1", "cupy; extra == \"gpu\"", "b; (python_version < \"3.8\")"]);
    }
}
