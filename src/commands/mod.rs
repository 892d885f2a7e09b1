//! Glue between the command line and the library: read inputs, call one function, render,
//! pick the exit code. No logic of their own.

pub mod check;
pub mod diff;
pub mod rewrite;
pub mod why;
