//! Dockerfiles, one room: one parse of every stage with byte spans (parse.rs, parse-dockerfile
//! underneath), the layers tied to the final stage's steps (steps.rs, which check's annotations
//! use too), and, for `slim rewrite`, the findings' machine-applicable fixes applied by
//! splicing the original text (rewrite/), so everything outside an edit survives as written.

pub mod parse;
pub mod reconstruct;
pub mod rewrite;
pub mod shell;
pub mod steps;

pub use parse::{CopyArgs, Form, Parsed, Script, Stage, Step, line_of, parse, parse_with};
