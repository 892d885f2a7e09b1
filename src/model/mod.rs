//! The typed output models, one home: every format renders these serde structs, and bytes are
//! raw `u64`. Each document carries a `schema_version`, which changes whenever one of its
//! fields changes meaning or disappears; the numbers are kept here, and only here.

pub mod analysis;
pub mod diff;
pub mod rewrite;
pub mod verdict;
pub mod why;

/// `slim analyze --format json` (also read back as a saved analysis).
pub const ANALYSIS_SCHEMA: u32 = 1;
/// `slim check --format json`.
pub const VERDICT_SCHEMA: u32 = 1;
/// `slim diff --format json`.
pub const DIFF_SCHEMA: u32 = 1;
/// `slim why --format json`.
pub const WHY_SCHEMA: u32 = 1;
/// `slim rewrite --format json`.
pub const REWRITE_SCHEMA: u32 = 1;
