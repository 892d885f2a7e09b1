//! The image slim found, as the stages below read it: its packaging, the parts of its config
//! slim reads (tolerant of Docker's and OCI's variants), its history and its layers.

use serde::Deserialize;

/// Which packaging the image came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `docker save` before Docker 25: manifest.json, `<id>/layer.tar`, repositories.
    DockerArchive,
    /// `docker save` since Docker 25: manifest.json pointing into an OCI layout.
    DockerArchiveOci,
    OciArchive,
    OciDir,
    /// Fetched from a registry over the distribution API.
    Registry,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::DockerArchive => "docker-archive",
            Format::DockerArchiveOci => "docker-archive-oci",
            Format::OciArchive => "oci-archive",
            Format::OciDir => "oci-dir",
            Format::Registry => "registry",
        }
    }
}

/// A layer as the manifest names it.
#[derive(Debug, Clone)]
pub struct LayerRef {
    /// Path of the blob inside the archive or layout.
    pub name: String,
    /// The blob's digest and size, when a descriptor gives them.
    pub digest: Option<String>,
    pub size: Option<u64>,
    pub media_type: Option<String>,
}

/// The parts of the image config slim reads (tolerant of Docker's and OCI's variants).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Config {
    #[serde(default)]
    pub architecture: Option<String>,
    #[serde(default)]
    pub os: Option<String>,
    #[serde(default)]
    pub variant: Option<String>,
    #[serde(default)]
    pub config: Option<RunConfig>,
    #[serde(default)]
    pub rootfs: Option<RootFs>,
    #[serde(default)]
    pub history: Option<Vec<History>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RunConfig {
    #[serde(default)]
    pub env: Option<Vec<String>>,
    #[serde(default)]
    pub cmd: Option<Vec<String>>,
    #[serde(default)]
    pub entrypoint: Option<Vec<String>>,
    #[serde(default)]
    pub working_dir: Option<String>,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub labels: Option<std::collections::BTreeMap<String, String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct RootFs {
    #[serde(default)]
    pub diff_ids: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct History {
    #[serde(default)]
    pub created_by: Option<String>,
    #[serde(default)]
    pub empty_layer: Option<bool>,
    #[serde(default)]
    pub comment: Option<String>,
}

/// One image, resolved: what to read and what it is.
#[derive(Debug, Clone)]
pub struct Image {
    pub format: Format,
    pub reference: Option<String>,
    pub platform: String,
    pub config_digest: String,
    /// The config was hashed and matched a digest that names it.
    pub config_verified: bool,
    pub config: Config,
    pub layers: Vec<LayerRef>,
}

impl Image {
    /// `created_by` of each layer: history entries that made no layer are skipped; when the
    /// counts disagree, history is aligned from the top layer and the rest is unknown (None).
    /// buildah records a stage's whole change at its last instruction (often a `CMD`) and marks
    /// the ADD/COPY/RUN steps before it empty: those steps are shown instead, as they made the
    /// files.
    pub fn created_by(&self) -> Vec<Option<String>> {
        let all: Vec<&History> = self.config.history.iter().flatten().collect();
        let mut hist: Vec<String> = Vec::new();
        for (i, h) in all.iter().enumerate() {
            if h.empty_layer.unwrap_or(false) {
                continue;
            }
            let own = h.created_by.clone().unwrap_or_default();
            let mut makers: Vec<String> = Vec::new();
            if is_metadata_step(&own) {
                for prev in all[..i].iter().rev() {
                    if !prev.empty_layer.unwrap_or(false) {
                        break;
                    }
                    let c = prev.created_by.clone().unwrap_or_default();
                    if !is_metadata_step(&c) {
                        makers.push(c);
                    }
                }
            }
            if makers.is_empty() {
                hist.push(own);
            } else {
                makers.reverse();
                hist.push(makers.join("\n"));
            }
        }
        let n = self.layers.len();
        let mut out = vec![None; n];
        for (i, h) in hist.into_iter().rev().enumerate() {
            if i >= n {
                break;
            }
            out[n - 1 - i] = Some(h);
        }
        out
    }

    pub fn diff_ids(&self) -> Vec<Option<String>> {
        let ids = self.config.rootfs.as_ref().and_then(|r| r.diff_ids.clone()).unwrap_or_default();
        (0..self.layers.len()).map(|i| ids.get(i).cloned()).collect()
    }
}

/// A history step that changes only the config, never files.
fn is_metadata_step(created_by: &str) -> bool {
    let s = created_by.trim();
    let s = s.strip_prefix("/bin/sh -c #(nop)").map(str::trim_start).unwrap_or(s);
    let word = s.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
    matches!(
        word.as_str(),
        "CMD" | "ENV" | "LABEL" | "WORKDIR" | "ENTRYPOINT" | "EXPOSE" | "USER" | "VOLUME" | "STOPSIGNAL" | "HEALTHCHECK" | "SHELL" | "ARG" | "ONBUILD" | "MAINTAINER"
    )
}

/// An image with this history ((created_by, empty_layer) in order) and `layers` layers, for
/// unit tests of what is read from history (here and in dockerfile::reconstruct).
#[cfg(test)]
pub(crate) fn image_with_history(history: &[(&str, bool)], layers: usize) -> Image {
    Image {
        format: Format::OciDir,
        reference: None,
        platform: "linux/amd64".into(),
        config_digest: String::new(),
        config_verified: false,
        config: Config {
            history: Some(history.iter().map(|(c, e)| History { created_by: Some(c.to_string()), empty_layer: Some(*e), comment: None }).collect()),
            ..Config::default()
        },
        layers: (0..layers).map(|i| LayerRef { name: i.to_string(), digest: None, size: None, media_type: None }).collect(),
    }
}

#[cfg(test)]
mod history_tests {
    use super::*;

    #[test]
    fn a_layer_recorded_at_a_metadata_step_shows_the_steps_that_made_it() {
        let img = image_with_history(
            &[
                ("/bin/sh -c #(nop) ADD file:abc in / ", true),
                ("/bin/sh -c #(nop) ENV A=b", true),
                ("/bin/sh -c #(nop) CMD [\"bash\"]", false),
                ("/bin/sh -c apt-get install -y python3", true),
                ("/bin/sh -c #(nop) CMD [\"python3\"]", false),
                ("/bin/sh -c pip install x", false),
            ],
            3,
        );
        let c = img.created_by();
        assert_eq!(c[0].as_deref(), Some("/bin/sh -c #(nop) ADD file:abc in / "));
        assert_eq!(c[1].as_deref(), Some("/bin/sh -c apt-get install -y python3"));
        assert_eq!(c[2].as_deref(), Some("/bin/sh -c pip install x"));
    }
}
