//! package-archives: package files shipped as files (`.deb`, `.whl`, sdists, `.rpm`, conda
//! packages) outside a package manager's own cache, which cache-left covers: what a builder
//! stage's downloads or a `COPY . .` of a `dist/` directory leave behind. Reported per step
//! (layer) that brought them.

use super::view::View;
use super::{Draft, step};
use crate::attribute::OwnerKind;
use crate::facts::Analyzed;
use crate::model::analysis::Action;
use crate::show::human;
use hashbrown::HashMap;

/// Largest `.tar.gz` whose contents are kept to look for an sdist's `PKG-INFO`.
const MAX_SDIST: u64 = 8 << 20;

/// Directories package managers keep their downloads in (cache-left's business).
fn in_cache(path: &str) -> bool {
    let p = format!("/{path}/");
    [
        "/var/cache/apt/",
        "/.cache/pip/",
        "/.cache/uv/",
        "/.cache/pypoetry/",
        "/.cache/conda/",
        "/.conda/pkgs/",
        "/var/cache/dnf/",
        "/var/cache/yum/",
        "/var/cache/zypp/",
        "/ensurepip/_bundled/",
        "/usr/share/python-wheels/",
    ]
    .iter()
    .any(|c| p.contains(c))
        || p.split('/')
            .collect::<Vec<_>>()
            .windows(2)
            .any(|w| w[1] == "pkgs" && ["conda", "miniconda3", "miniforge3", "mambaforge", "micromamba", "anaconda3"].iter().any(|c| w[0].starts_with(c)))
}

/// Keep the contents of a small `.tar.gz` (is it an sdist?) while layers are read.
pub fn wants(path: &[u8], size: u64) -> bool {
    size <= MAX_SDIST && path.ends_with(b".tar.gz") && !in_cache(&String::from_utf8_lossy(path))
}

/// Does a gzip'd tar hold `NAME-VERSION/PKG-INFO` (an sdist)?
fn has_pkg_info(data: &[u8]) -> bool {
    let mut ar = tar::Archive::new(flate2::read::GzDecoder::new(data));
    let Ok(entries) = ar.entries() else { return false };
    for e in entries.take(500) {
        let Ok(e) = e else { return false };
        let Ok(p) = e.path() else { return false };
        let comps: Vec<String> = p.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
        if comps.len() == 2 && comps[1] == "PKG-INFO" {
            return true;
        }
    }
    false
}

/// What kind of package archive the file at `path` is, if any.
fn kind(path: &str, contents: Option<&[u8]>) -> Option<&'static str> {
    let name = path.rsplit('/').next().unwrap_or(path);
    if name.ends_with(".deb") || name.ends_with(".udeb") {
        Some("deb")
    } else if name.ends_with(".whl") {
        Some("wheel")
    } else if name.ends_with(".rpm") {
        Some("rpm")
    } else if name.ends_with(".conda") {
        Some("conda")
    } else if let Some(stem) = name.strip_suffix(".tar.bz2") {
        // conda's old format: NAME-VERSION-BUILD.tar.bz2, the build string naming a python
        // or a hash (py311h06a4308_0, h7f8727e_2).
        let build = stem.rsplit('-').next().unwrap_or("");
        (stem.split('-').count() >= 3 && build.contains('_') && build.chars().any(|c| c.is_ascii_digit())).then_some("conda")
    } else if name.ends_with(".tar.gz") {
        let under_dist = path.split('/').rev().nth(1) == Some("dist");
        (under_dist || contents.is_some_and(has_pkg_info)).then_some("sdist")
    } else {
        None
    }
}

pub fn find(a: &Analyzed, out: &mut Vec<Draft>) {
    let t = &a.tree;
    let v = View::new(a);
    // layer → (inodes, kinds, names)
    let mut by_layer: HashMap<u16, (Vec<u32>, Vec<&'static str>, Vec<String>)> = HashMap::new();
    for n in t.final_files() {
        let ino = t.nodes[n as usize].inode;
        // Files a package owns are its own (virtualenv's seed wheels).
        if a.attribution.owners[a.attribution.by_inode[ino as usize] as usize].kind != OwnerKind::Category {
            continue;
        }
        let path = String::from_utf8_lossy(&t.path(n)).into_owned();
        if in_cache(&path) {
            continue;
        }
        let Some(k) = kind(&path, t.contents.get(&n).map(|c| &c[..])) else { continue };
        let e = by_layer.entry(t.nodes[n as usize].layer).or_default();
        e.0.push(ino);
        if !e.1.contains(&k) {
            e.1.push(k);
        }
        e.2.push(String::from_utf8_lossy(&t.nodes[n as usize].name).into_owned());
    }
    let mut layers: Vec<u16> = by_layer.keys().copied().collect();
    layers.sort();
    for l in layers {
        let (inos, kinds, names) = &by_layer[&l];
        let st = step(a, u64::from(l));
        let made_by = st.created_by.as_deref().unwrap_or("").trim_start_matches("/bin/sh -c #(nop) ").trim_start().to_string();
        let copied = made_by.starts_with("COPY") || made_by.starts_with("ADD");
        let from_stage = made_by.contains("--from");
        let mut patterns: Vec<String> = Vec::new();
        for (k, name) in kinds.iter().flat_map(|k| names.iter().map(move |n| (*k, n))) {
            let p = match k {
                "deb" if name.ends_with(".deb") => "**/*.deb".to_string(),
                "wheel" if name.ends_with(".whl") => "**/*.whl".to_string(),
                "rpm" if name.ends_with(".rpm") => "**/*.rpm".to_string(),
                "conda" if name.ends_with(".conda") => "**/*.conda".to_string(),
                _ => continue,
            };
            if !patterns.contains(&p) {
                patterns.push(p);
            }
        }
        for n in names {
            let generic = [".deb", ".whl", ".rpm", ".conda"].iter().any(|e| n.ends_with(e));
            let p = format!("**/{n}");
            if !generic && !patterns.contains(&p) {
                patterns.push(p);
            }
        }
        let (text, action) = if copied && !from_stage {
            (format!("Keep them out of the build context: add {} to .dockerignore.", patterns.join(", ")), Action::Dockerignore { patterns })
        } else if copied {
            (
                "Copy only what the app needs from the builder stage (not its downloaded or built packages), or delete them in the builder before the COPY.".to_string(),
                Action::AdviceOnly,
            )
        } else {
            ("Delete the archives in the same RUN that downloads or builds them (install from them, then rm), or use a cache mount.".to_string(), Action::AdviceOnly)
        };
        out.push(Draft::new(
            "package-archives",
            format!("{} package archives ({}) in layer {l}: {}", inos.len(), kinds.join(", "), human(v.bytes(inos))),
            inos.clone(),
            0,
            "Package files are only needed to install from; once installed (or never installed), nothing at run time reads them. The saving is their bytes.".into(),
            v.evidence(inos, vec![], vec![st], vec![format!("brought by layer {l}: {}", crate::show::short_step(Some(&made_by), 120))]),
            text,
            action,
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_by_name_and_place() {
        assert_eq!(kind("app/build-logs/apt-archives/gcc-12_12.2.0-14_amd64.deb", None), Some("deb"));
        assert_eq!(kind("app/wheels/numpy-2.1.0-cp311-cp311-manylinux_2_17_x86_64.whl", None), Some("wheel"));
        assert_eq!(kind("app/dist/mypkg-0.1.0.tar.gz", None), Some("sdist"));
        assert_eq!(kind("app/data/backup.tar.gz", None), None);
        assert_eq!(kind("opt/pkgs/numpy-1.26.4-py311h64a7726_0.tar.bz2", None), Some("conda"));
        assert_eq!(kind("app/data/photos-2024-01.tar.bz2", None), None);
        assert!(in_cache("var/cache/apt/archives/gcc.deb") && in_cache("opt/conda/pkgs/x.conda") && in_cache("root/.cache/pip/wheels/a.whl"));
        assert!(!in_cache("app/build-logs/apt-archives/gcc.deb"));
    }

    #[test]
    fn an_sdist_is_known_by_its_pkg_info() {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(5);
        h.set_mode(0o644);
        b.append_data(&mut h, "mypkg-0.1/PKG-INFO", &b"Name:"[..]).unwrap();
        let raw = b.into_inner().unwrap();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &raw).unwrap();
        let data = gz.finish().unwrap();
        assert_eq!(kind("app/vendor/mypkg-0.1.tar.gz", Some(&data)), Some("sdist"));
        assert!(!has_pkg_info(b"not gzip"));
    }
}
