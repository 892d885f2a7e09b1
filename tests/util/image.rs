//! The one builder of test images: layers plus what the config says about them (the history's
//! steps, WORKDIR, CMD, ENV, architecture), packaged as `docker save` writes it, as bytes, in a
//! temporary directory of its own, or at `DIR/img.tar`.

use super::{Img, docker_archive_cfg, write_in};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// An image described step by step, then packaged by `archive`, `write` or `write_in`.
/// Unset fields keep what `util::config` writes: one `/bin/sh -c step N` history entry per
/// layer then an empty-layer `CMD ["sh"]`, `Env` `PATH=/usr/bin`, `Cmd` `sh`, amd64.
#[derive(Clone)]
pub struct Image {
    layers: Vec<Vec<u8>>,
    tag: String,
    history: Option<Vec<String>>,
    steps: Vec<String>,
    workdir: Option<String>,
    cmd: Option<Vec<String>>,
    env: Option<Vec<String>>,
    arch: Option<String>,
    bare_config: bool,
}

fn strings(s: &[&str]) -> Vec<String> {
    s.iter().map(|s| s.to_string()).collect()
}

impl Image {
    /// An image of these layers, tagged `t:1`.
    pub fn new(layers: &[Vec<u8>]) -> Image {
        Image { layers: layers.to_vec(), tag: "t:1".into(), history: None, steps: vec![], workdir: None, cmd: None, env: None, arch: None, bare_config: false }
    }

    pub fn tag(mut self, tag: &str) -> Image {
        self.tag = tag.into();
        self
    }

    /// The history is exactly these entries, one per layer (no trailing `CMD` entry).
    pub fn history(mut self, steps: &[&str]) -> Image {
        self.history = Some(strings(steps));
        self
    }

    /// These steps name the history entries of the first layers; the other entries stay.
    pub fn steps(mut self, steps: &[&str]) -> Image {
        self.steps = strings(steps);
        self
    }

    pub fn workdir(mut self, dir: &str) -> Image {
        self.workdir = Some(dir.into());
        self
    }

    pub fn cmd(mut self, cmd: &[&str]) -> Image {
        self.cmd = Some(strings(cmd));
        self
    }

    /// WORKDIR /app and CMD `python main.py`: an app started the way most are.
    pub fn main_py(self) -> Image {
        self.workdir("/app").cmd(&["python", "main.py"])
    }

    /// The config's `Env`, replacing the default `PATH=/usr/bin`.
    pub fn env(mut self, env: &[&str]) -> Image {
        self.env = Some(strings(env));
        self
    }

    pub fn arch(mut self, arch: &str) -> Image {
        self.arch = Some(arch.into());
        self
    }

    /// A config of only WORKDIR and CMD (when set): no `Env`, no default `Cmd`.
    pub fn bare_config(mut self) -> Image {
        self.bare_config = true;
        self
    }

    /// The `docker save` archive.
    pub fn archive(&self) -> Vec<u8> {
        let me = self.clone();
        let layers = self.layers.len();
        docker_archive_cfg(&self.layers, &self.tag, false, move |c| {
            if let Some(h) = &me.history {
                c["history"] = Value::Array(h.iter().map(|s| json!({"created_by": s})).collect());
            }
            for (i, s) in me.steps.iter().enumerate().take(layers) {
                c["history"][i]["created_by"] = json!(s);
            }
            if me.bare_config {
                c["config"] = json!({});
            }
            if let Some(w) = &me.workdir {
                c["config"]["WorkingDir"] = json!(w);
            }
            if let Some(cmd) = &me.cmd {
                c["config"]["Cmd"] = json!(cmd);
            }
            if let Some(env) = &me.env {
                c["config"]["Env"] = json!(env);
            }
            if let Some(a) = &me.arch {
                c["architecture"] = json!(a);
            }
        })
    }

    /// The archive in a temporary directory of its own.
    pub fn write(&self) -> Img {
        Img::write(&self.archive())
    }

    /// The archive written to `dir/img.tar`.
    pub fn write_in(&self, dir: &Path) -> PathBuf {
        write_in(dir, "img.tar", &self.archive())
    }
}
