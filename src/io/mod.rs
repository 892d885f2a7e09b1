//! The bottom room: reading blob bytes. Windows of a shared file, counting and hashing readers,
//! digest checks, and decompression recognised by magic bytes. image/ (which finds blobs) and
//! layers/ (which walks them) both use it; it uses neither.

pub mod blob;
pub mod compress;
#[cfg(feature = "isal")]
mod isal_gz;
pub mod pipe;
mod zstd_blocks;
