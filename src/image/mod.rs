//! Find the manifest, config and layer blobs of an image in any packaging.

pub mod config;
pub mod resolve;
pub mod store;
