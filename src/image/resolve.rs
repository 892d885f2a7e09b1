//! From an opened source to one image: read `manifest.json` (docker save, old and Docker 25+
//! layouts) or `index.json` (OCI), walk nested indexes, pick the image and platform, and read
//! the config. Every blob read in full is checked against its descriptor's size and digest.

use super::store::{Container, Source};
use crate::error::{Error, Result};
use crate::io::blob::{check_digest, digest_like, sha256_hex};
use oci_spec::image::{Descriptor, ImageIndex, ImageManifest, MediaType};
// The image types live in config.rs; the stages name them through here, as before the split.
pub use super::config::{Config, Format, History, Image, LayerRef, RootFs, RunConfig};
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;

/// The config's diff_ids must be one per layer, each a digest slim can check: a count that
/// disagrees would pair layers with the wrong diff_ids, or leave some with none.
fn check_diff_ids(img: &Image, src: &Source) -> Result<()> {
    let ids = img.config.rootfs.as_ref().and_then(|r| r.diff_ids.as_deref()).unwrap_or_default();
    if ids.len() != img.layers.len() {
        return Err(Error::input(&src.display, format!("the config lists {} diff_ids but the manifest {} layers", ids.len(), img.layers.len())));
    }
    for id in ids {
        if !id.starts_with("sha256:") {
            return Err(Error::input(&src.display, format!("diff_id {}: only sha256 diff_ids can be verified", crate::escape::escape(id))));
        }
        check_digest(id).map_err(|e| Error::input(&src.display, format!("diff_id: {e}")))?;
    }
    Ok(())
}

/// What the user asked for.
#[derive(Debug, Clone, Default)]
pub struct Selector {
    pub image: Option<String>,
    /// `os/arch[/variant]`; None means the default (linux/amd64 where there is a choice).
    pub platform: Option<String>,
}

const DEFAULT_PLATFORM: &str = "linux/amd64";

fn parse_json<T: serde::de::DeserializeOwned>(src: &Source, name: &str, bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).map_err(|e| Error::input(&src.display, format!("{name}: malformed JSON: {e}")))
}

/// Turn `null` where a list belongs into an empty list (Docker writes `manifests: null`).
fn nulls_to_lists(v: &mut Value, keys: &[&str]) {
    if let Value::Object(m) = v {
        for k in keys {
            if m.get(*k).is_none_or(Value::is_null) {
                m.insert((*k).into(), Value::Array(Vec::new()));
            }
        }
    }
}

fn blob_name(d: &Descriptor) -> String {
    let dg = d.digest();
    format!("blobs/{}/{}", dg.algorithm(), dg.digest())
}

/// Read a blob in full and check its size and digest against the descriptor.
fn read_verified(src: &Source, name: &str, digest: Option<&str>, size: Option<u64>) -> Result<Vec<u8>> {
    let bytes = src.meta(name)?;
    if let Some(size) = size {
        if bytes.len() as u64 != size {
            return Err(Error::input(&src.display, format!("{name}: size mismatch: the descriptor says {size} bytes, the blob has {}", bytes.len())));
        }
    }
    if let Some(want) = digest {
        check_digest(want).map_err(|e| Error::input(&src.display, format!("{name}: {e}")))?;
        let got = digest_like(want, &bytes).expect("a checked digest has a known algorithm");
        if got != want {
            return Err(Error::input(&src.display, format!("{name}: digest mismatch: expected {want}, got {got}")));
        }
    }
    Ok(bytes)
}

/// The digest a blob's path implies (`blobs/sha256/<hex>`, or a legacy `<hex>.json` config).
fn digest_from_name(name: &str) -> Option<String> {
    let base = name.rsplit('/').next()?;
    let hex = base.strip_suffix(".json").unwrap_or(base);
    let is_hex = hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit());
    let in_blobs = name.contains("blobs/sha256/") || base.ends_with(".json");
    (is_hex && in_blobs).then(|| format!("sha256:{hex}"))
}

fn platform_string(os: &str, arch: &str, variant: Option<&str>) -> String {
    match variant {
        Some(v) if !v.is_empty() => format!("{os}/{arch}/{v}"),
        _ => format!("{os}/{arch}"),
    }
}

fn platform_matches(have: &str, want: &str) -> bool {
    let h: Vec<&str> = have.split('/').collect();
    let w: Vec<&str> = want.split('/').collect();
    if w.len() < 2 || h.len() < 2 || h[0] != w[0] || h[1] != w[1] {
        return false;
    }
    match (h.get(2), w.get(2)) {
        (_, None) => true,
        (Some(a), Some(b)) => a == b,
        (None, Some(_)) => false,
    }
}

fn config_platform(c: &Config) -> String {
    platform_string(c.os.as_deref().unwrap_or("unknown"), c.architecture.as_deref().unwrap_or("unknown"), c.variant.as_deref())
}

/// Resolve the one image the user means.
pub fn resolve(src: &Source, sel: &Selector) -> Result<Image> {
    if let Some(p) = &sel.platform {
        if p.split('/').count() < 2 || p.split('/').any(str::is_empty) {
            return Err(Error::Usage(format!("--platform {p}: expected os/arch[/variant], e.g. linux/amd64")));
        }
    }
    if src.has("manifest.json") {
        let raw = src.meta("manifest.json")?;
        let mut v: Value = parse_json(src, "manifest.json", &raw)?;
        if v.is_null() {
            v = Value::Array(Vec::new());
        }
        let entries: Vec<DockerEntry> = serde_json::from_value(v).map_err(|e| Error::input(&src.display, format!("manifest.json: not a docker save manifest: {e}")))?;
        if !entries.is_empty() {
            let oci = src.has("index.json") || src.has("oci-layout");
            return resolve_docker(src, sel, entries, if oci { Format::DockerArchiveOci } else { Format::DockerArchive });
        }
    }
    if src.has("index.json") {
        let format = match src.container {
            Container::Dir => Format::OciDir,
            Container::Registry => Format::Registry,
            Container::Tar if src.has("manifest.json") => Format::DockerArchiveOci,
            Container::Tar => Format::OciArchive,
        };
        return resolve_oci(src, sel, format);
    }
    Err(Error::input(&src.display, "a tar archive, but not a container image (no manifest.json or index.json)"))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    #[serde(default)]
    layers: Option<Vec<String>>,
}

fn resolve_docker(src: &Source, sel: &Selector, entries: Vec<DockerEntry>, format: Format) -> Result<Image> {
    let tags = |e: &DockerEntry| e.repo_tags.clone().unwrap_or_default();
    let chosen: Vec<&DockerEntry> = match &sel.image {
        Some(want) => entries.iter().filter(|e| tags(e).iter().any(|t| ref_matches(t, want))).collect(),
        None => entries.iter().collect(),
    };
    let list = || entries.iter().map(|e| tags(e).first().cloned().unwrap_or_else(|| format!("<untagged {}>", e.config))).collect::<Vec<_>>().join(", ");
    let entry = match chosen.as_slice() {
        [] => {
            return Err(Error::Usage(format!("{}: no image {} here; the archive holds: {}", src.display, sel.image.as_deref().unwrap_or(""), list())));
        }
        [one] => *one,
        _ => {
            return Err(Error::Usage(format!("{}: several images in one archive ({}); choose one with --image NAME:TAG", src.display, list())));
        }
    };
    // docker load and go-containerregistry take the config by its name, whatever the name: one
    // named by its digest is checked against it here; any other is checked by its diff_ids
    // against every layer's data instead (analyze).
    let raw = read_verified(src, &entry.config, None, None)?;
    let config_digest = digest_from_name(&entry.config).filter(|want| digest_like(want, &raw).as_deref() == Some(want.as_str()));
    let config: Config = parse_json(src, &entry.config, &raw)?;
    let platform = config_platform(&config);
    if let Some(want) = &sel.platform {
        if !platform_matches(&platform, want) {
            return Err(Error::Usage(format!("{}: no platform {want} here; the archive holds: {platform}", src.display)));
        }
    }
    let layers = entry.layers.clone().unwrap_or_default().into_iter().map(|name| LayerRef { digest: digest_from_name(&name), size: None, media_type: None, name }).collect();
    let reference = match &sel.image {
        Some(want) => Some(want.clone()),
        None => tags(entry).first().cloned(),
    };
    let image = Image { format, reference, platform, config_verified: config_digest.is_some(), config_digest: config_digest.unwrap_or_else(|| sha256_hex(&raw)), config, layers };
    check_diff_ids(&image, src)?;
    Ok(image)
}

/// `want` names `have` exactly, or without its registry/namespace prefix.
fn ref_matches(have: &str, want: &str) -> bool {
    have == want || have.ends_with(&format!("/{want}")) || (!want.contains(':') && (have == format!("{want}:latest") || have.ends_with(&format!("/{want}:latest"))))
}

const REF_NAME: &str = "org.opencontainers.image.ref.name";
const CONTAINERD_NAME: &str = "io.containerd.image.name";

#[derive(Debug, Clone)]
struct Candidate {
    desc: Descriptor,
    names: Vec<String>,
    platform: Option<String>,
}

fn is_index(mt: &MediaType) -> bool {
    matches!(mt, MediaType::ImageIndex) || mt.to_string() == "application/vnd.docker.distribution.manifest.list.v2+json"
}

fn is_manifest(mt: &MediaType) -> bool {
    matches!(mt, MediaType::ImageManifest) || mt.to_string() == "application/vnd.docker.distribution.manifest.v2+json"
}

fn read_index(src: &Source, name: &str, digest: Option<&str>, size: Option<u64>) -> Result<ImageIndex> {
    let raw = read_verified(src, name, digest, size)?;
    let mut v: Value = parse_json(src, name, &raw)?;
    nulls_to_lists(&mut v, &["manifests"]);
    serde_json::from_value(v).map_err(|e| Error::input(&src.display, format!("{name}: not an OCI image index: {e}")))
}

/// Nested indexes are read once each, by digest: an index that lists the same child many times,
/// at every level, would otherwise cost fan-out to the power of the depth. A child listed again
/// (under another name) gives its candidates that name too (`seen` keeps the range of `out` it
/// filled).
///
/// Names come from the outside in: the name an outer index gives an entry names the image, and
/// names annotated inside a nested index come after it.
fn collect(
    src: &Source,
    index: &ImageIndex,
    names: &[String],
    depth: u32,
    out: &mut Vec<Candidate>,
    skipped: &mut Vec<String>,
    seen: &mut HashMap<String, (usize, usize)>,
) -> Result<()> {
    if depth > 8 {
        return Err(Error::input(&src.display, "image indexes nested more than 8 deep"));
    }
    for d in index.manifests() {
        let ann = d.annotations().clone().unwrap_or_default();
        if ann.get("vnd.docker.reference.type").is_some_and(|t| t == "attestation-manifest") {
            continue;
        }
        let mut my_names: Vec<String> = names.to_vec();
        for n in [CONTAINERD_NAME, REF_NAME].iter().filter_map(|k| ann.get(*k)) {
            if !my_names.contains(n) {
                my_names.push(n.clone());
            }
        }
        let platform = d.platform().as_ref().map(|p| platform_string(&p.os().to_string(), &p.architecture().to_string(), p.variant().as_deref()));
        if platform.as_deref().is_some_and(|p| p.starts_with("unknown/")) {
            continue;
        }
        let mt = d.media_type();
        if is_index(mt) {
            let name = blob_name(d);
            let digest = d.digest().to_string();
            if let Some(&(from, to)) = seen.get(&digest) {
                for c in &mut out[from..to] {
                    for n in &my_names {
                        if !c.names.contains(n) {
                            c.names.push(n.clone());
                        }
                    }
                }
                continue;
            }
            let nested = read_index(src, &name, Some(&digest), Some(d.size()))?;
            let from = out.len();
            seen.insert(digest.clone(), (from, from));
            collect(src, &nested, &my_names, depth + 1, out, skipped, seen)?;
            seen.insert(digest, (from, out.len()));
        } else if is_manifest(mt) {
            out.push(Candidate { desc: d.clone(), names: my_names, platform });
        } else {
            skipped.push(mt.to_string());
        }
    }
    Ok(())
}

fn resolve_oci(src: &Source, sel: &Selector, format: Format) -> Result<Image> {
    let index = read_index(src, "index.json", None, None)?;
    let mut cands = Vec::new();
    let mut skipped = Vec::new();
    collect(src, &index, &[], 0, &mut cands, &mut skipped, &mut HashMap::new())?;
    // One manifest listed under several names (two ref.names) is one image with several names.
    let mut merged: Vec<Candidate> = Vec::new();
    for c in cands {
        match merged.iter_mut().find(|m| m.desc.digest() == c.desc.digest()) {
            Some(m) => {
                for n in c.names {
                    if !m.names.contains(&n) {
                        m.names.push(n);
                    }
                }
            }
            None => merged.push(c),
        }
    }
    let mut cands = merged;
    if cands.is_empty() {
        let what =
            if skipped.is_empty() { "the image index lists no image manifests".to_string() } else { format!("unknown media type in the image index: {}", skipped.join(", ")) };
        return Err(Error::input(&src.display, what));
    }
    if let Some(want) = &sel.image {
        let all: Vec<String> = cands.iter().flat_map(|c| c.names.clone()).collect();
        cands.retain(|c| c.names.iter().any(|n| ref_matches(n, want)));
        if cands.is_empty() {
            return Err(Error::Usage(format!(
                "{}: no image {want} here; the archive holds: {}",
                src.display,
                if all.is_empty() { "unnamed images only".into() } else { dedup(all).join(", ") }
            )));
        }
    }
    // Several names are one image when every candidate goes by all of them (one manifest, or the
    // platforms of one index, listed under two names).
    let common: Vec<&String> = cands[0].names.iter().filter(|n| cands.iter().all(|c| c.names.contains(n))).collect();
    let refs = if common.is_empty() { dedup(cands.iter().map(|c| c.names.first().cloned().unwrap_or_default()).collect()) } else { vec![common[0].clone()] };
    if refs.len() > 1 {
        return Err(Error::Usage(format!(
            "{}: several images in one archive ({}); choose one with --image NAME:TAG",
            src.display,
            refs.iter().map(|r| if r.is_empty() { "<unnamed>" } else { r }).collect::<Vec<_>>().join(", ")
        )));
    }
    // Learn each candidate's platform (from its config when the index does not say).
    let mut loaded = Vec::new();
    for c in cands {
        let (manifest, config, config_digest) = load_manifest(src, &c.desc)?;
        let platform = c.platform.clone().unwrap_or_else(|| config_platform(&config));
        loaded.push((c, manifest, config, config_digest, platform));
    }
    let want = sel.platform.clone();
    let pick = if loaded.len() == 1 {
        let p = &loaded[0].4;
        if let Some(w) = &want {
            if !platform_matches(p, w) {
                return Err(Error::Usage(format!("{}: no platform {w} here; the archive holds: {p}", src.display)));
            }
        }
        0
    } else {
        let w = want.as_deref().unwrap_or(DEFAULT_PLATFORM);
        match loaded.iter().position(|l| platform_matches(&l.4, w)) {
            Some(i) => i,
            None => {
                return Err(Error::Usage(format!(
                    "{}: no platform {w} here; the archive holds: {}; choose one with --platform",
                    src.display,
                    dedup(loaded.iter().map(|l| l.4.clone()).collect()).join(", ")
                )));
            }
        }
    };
    let (cand, manifest, config, config_digest, platform) = loaded.swap_remove(pick);
    let mut layers = Vec::new();
    for l in manifest.layers() {
        let mt = l.media_type().to_string();
        if !is_layer_media_type(&mt) {
            return Err(Error::input(&src.display, format!("{}: unknown layer media type {mt}", blob_name(l))));
        }
        check_digest(&l.digest().to_string()).map_err(|e| Error::input(&src.display, format!("layer {}: {e}", layers.len())))?;
        layers.push(LayerRef { name: blob_name(l), digest: Some(l.digest().to_string()), size: Some(l.size()), media_type: Some(mt) });
    }
    let reference = sel.image.clone().or_else(|| cand.names.first().cloned());
    let image = Image { format, reference, platform, config_digest, config_verified: true, config, layers };
    check_diff_ids(&image, src)?;
    Ok(image)
}

fn load_manifest(src: &Source, d: &Descriptor) -> Result<(ImageManifest, Config, String)> {
    let name = blob_name(d);
    let raw = read_verified(src, &name, Some(&d.digest().to_string()), Some(d.size()))?;
    let mut v: Value = parse_json(src, &name, &raw)?;
    nulls_to_lists(&mut v, &["layers"]);
    let m: ImageManifest = serde_json::from_value(v).map_err(|e| Error::input(&src.display, format!("{name}: not an image manifest: {e}")))?;
    let c = m.config();
    let cname = blob_name(c);
    let cdigest = c.digest().to_string();
    let craw = read_verified(src, &cname, Some(&cdigest), Some(c.size()))?;
    let config: Config = parse_json(src, &cname, &craw)?;
    Ok((m, config, cdigest))
}

fn is_layer_media_type(mt: &str) -> bool {
    mt.starts_with("application/vnd.oci.image.layer.")
        || mt.starts_with("application/vnd.docker.image.rootfs.")
        || mt == "application/vnd.docker.container.image.rootfs.diff+x-gtar"
}

fn dedup(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms_match_with_optional_variant() {
        assert!(platform_matches("linux/arm64/v8", "linux/arm64"));
        assert!(!platform_matches("linux/arm64", "linux/arm64/v8"));
        assert!(!platform_matches("linux/amd64", "linux/arm64"));
    }

    #[test]
    fn digests_from_blob_names() {
        let hex = "a".repeat(64);
        assert_eq!(digest_from_name(&format!("blobs/sha256/{hex}")), Some(format!("sha256:{hex}")));
        assert_eq!(digest_from_name(&format!("{hex}.json")), Some(format!("sha256:{hex}")));
        assert_eq!(digest_from_name(&format!("{hex}/layer.tar")), None);
    }

    #[test]
    fn references_match_without_registry() {
        assert!(ref_matches("localhost/pyapp:latest", "pyapp:latest"));
        assert!(ref_matches("localhost/pyapp:latest", "pyapp"));
        assert!(!ref_matches("localhost/pyapp:latest", "app:latest"));
    }
}
