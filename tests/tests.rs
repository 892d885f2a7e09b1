//! The one integration-test binary (ripgrep's model): every file of tests/ is a module here,
//! sharing the builders and helpers of `util`. One binary links slim once and runs every test
//! in one process; `the_harness_lists_every_test_file` fails when a file is left out, so no
//! test file silently stops running.

mod util;

mod attribute;
mod cache;
mod check;
mod cli;
mod fixtures;
mod fleet;
mod gzip_layers;
mod layering;
mod layers;
mod real_image;
mod registry;
mod rendered;
mod report_html;
mod rewrite;
mod rewrite_stages;
mod rules;
mod umoci_differential;
mod who_needs_what;
mod why;

#[test]
fn the_harness_lists_every_test_file() {
    let harness = std::fs::read_to_string("tests/tests.rs").unwrap();
    let listed: Vec<&str> = harness.lines().filter_map(|l| l.strip_prefix("mod ")?.strip_suffix(';')).collect();
    let mut missing = Vec::new();
    for e in std::fs::read_dir("tests").unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        let Some(m) = name.strip_suffix(".rs") else { continue };
        if m != "tests" && !listed.contains(&m) {
            missing.push(name);
        }
    }
    assert!(missing.is_empty(), "tests/tests.rs does not list {missing:?}: add `mod NAME;` or they never run");
}
