//! From layer blobs to one merged filesystem: `walk` reads a blob into entries, `tree`
//! applies them in order with the runtime's whiteout and hard-link semantics.

pub mod tree;
pub mod walk;
