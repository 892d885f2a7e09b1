//! Find the manifest, config and layer blobs of an image in any packaging.

pub mod blob;
pub mod compress;
pub mod resolve;
pub mod store;
