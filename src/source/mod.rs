//! Where an image lives, parsed once from what the user typed: a path (as always), an
//! explicit local form, a registry, or an engine. Each opens as a `Source` the reader knows.

pub mod auth;
pub mod engine;
pub mod reference;
pub mod registry;

use crate::error::{Error, Result};
use crate::image::store::Source;
use crate::layers::walk::Capture;
use indicatif::ProgressBar;
use reference::Input;
use std::path::PathBuf;
use std::time::Duration;

/// How to reach registries (from the command line).
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// Hosts that may be reached over plain HTTP or with an unverified certificate.
    pub insecure: Vec<String>,
    /// A directory of extra CA certificates (`*.crt`).
    pub cert_dir: Option<PathBuf>,
    /// Connect and stall timeout (default 30 s).
    pub timeout: Option<Duration>,
}

/// Open what `input` names. Returns the source and the image the input itself selects
/// (`oci:DIR:REF`, `docker-archive:FILE:NAME:TAG`), if any.
pub fn open(input: &str, settings: &Settings, capture: Capture, progress: &ProgressBar) -> Result<(Source, Option<String>)> {
    match reference::parse(input).map_err(Error::Usage)? {
        Input::Local { path, select } => Ok((Source::open(&path, capture, progress)?, select)),
        Input::Registry(r) => {
            let reg = registry::Registry::open(&r, settings).map_err(|e| Error::input(input, e))?;
            Ok((Source::remote(input.to_string(), Box::new(reg)), None))
        }
        Input::Engine { engine, name } => {
            let body = engine::save(engine, &name).map_err(|e| Error::input(input, e))?;
            Ok((Source::open_stream(input.to_string(), body, capture, progress)?, None))
        }
    }
}

/// The local file an input names, if it names one (to keep outputs off it).
pub fn local_path(input: &str) -> Option<PathBuf> {
    match reference::parse(input) {
        Ok(Input::Local { path, .. }) => Some(path.into()),
        _ => None,
    }
}
