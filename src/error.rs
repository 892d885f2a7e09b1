//! Typed errors for the library: each names the file (and layer/entry) and what is wrong,
//! so the binary can print one line and exit 2.

use std::fmt;

/// Every failure slim reports about its input or its invocation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The input (archive, directory, JSON file, Dockerfile) is unreadable or malformed.
    #[error("{file}: {what}")]
    Input { file: String, what: String },
    /// Something inside one layer blob is wrong.
    #[error("{file}: layer {layer}: {what}")]
    Layer { file: String, layer: String, what: String },
    /// The command line asks for something that cannot be done (e.g. an ambiguous image).
    #[error("{0}")]
    Usage(String),
    /// Writing an output failed.
    #[error("{file}: {what}")]
    Output { file: String, what: String },
}

impl Error {
    pub fn input(file: impl fmt::Display, what: impl fmt::Display) -> Self {
        Error::Input { file: file.to_string(), what: what.to_string() }
    }

    pub fn layer(file: impl fmt::Display, layer: impl fmt::Display, what: impl fmt::Display) -> Self {
        Error::Layer { file: file.to_string(), layer: layer.to_string(), what: what.to_string() }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
