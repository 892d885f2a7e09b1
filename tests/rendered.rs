//! Snapshots of every rendering a user reads (text, markdown, GitHub annotations, SARIF,
//! JUnit, the analysis JSON, and the rewrite's report and the files it writes) of the bundled
//! example image and of an image built here (report_html's problem image), so that a change to
//! any report shows up as a reviewed diff of tests/snapshots/. Digests, temporary paths and
//! slim's version are redacted; the rest is deterministic (run twice by
//! `snapshots_are_deterministic`).

use crate::util::{Img, copy_tree, slim};
use std::path::Path;

/// Hex runs of 64 digits (sha256 digests, bare or after `sha256:`) become `[sha256]`, the
/// temporary directory `[tmp]` and slim's version `[version]`.
fn redact(text: &str, tmp: &[&Path]) -> String {
    let mut s = text.to_string();
    for t in tmp {
        s = s.replace(&t.display().to_string(), "[tmp]");
    }
    s = s.replace(&format!("\"{}\"", env!("CARGO_PKG_VERSION")), "\"[version]\"");
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        let run = b[i..].iter().take_while(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()).count();
        if run >= 64 {
            out.push_str("[sha256]");
            i += run;
        } else if run > 0 {
            out.push_str(&s[i..i + run]);
            i += run;
        } else {
            let ch = s[i..].chars().next().unwrap();
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// Every rendering of one image: (name, text).
fn renderings(image: &Path, tmp: Option<&Path>, package: &str) -> Vec<(String, String)> {
    // An empty configuration, so that the repository's own slim.toml is not read.
    let conf = tempfile::tempdir().unwrap();
    let config = crate::util::write_in(conf.path(), "slim.toml", b"");
    let tmp: Vec<&Path> = tmp.into_iter().chain([conf.path()]).collect();
    let mut out = Vec::new();
    let mut run = |name: String, args: &[&str], code: i32| {
        let o = slim().args(args).output().unwrap();
        assert_eq!(o.status.code(), Some(code), "{name}: {}", String::from_utf8_lossy(&o.stderr));
        out.push((name, redact(&String::from_utf8(o.stdout).unwrap(), &tmp)));
    };
    let img = image.to_str().unwrap();
    for f in ["text", "markdown", "json"] {
        run(format!("analyze-{f}"), &["analyze", img, "--format", f], 0);
    }
    // A budget and a waste limit that fail, and a denied rule, so every check format has
    // failures, findings and passes to show.
    for f in ["text", "markdown", "github", "sarif", "junit", "json"] {
        run(format!("check-{f}"), &["check", img, "--config", config.to_str().unwrap(), "--budget", "1MB", "--max-wasted", "100MB", "--deny-rule", "cache-left", "--format", f], 1);
    }
    run("why-text".into(), &["why", package, img], 0);
    out
}

fn example() -> Vec<(String, String)> {
    let mut all = renderings(Path::new("fixtures/images/example.tar"), None, "arrow");
    // The rewrite: its report in each format, and every file it writes (the slimmed Dockerfile,
    // its ignore file, the rewritten requirements), as a user would review them.
    // It runs on a copy of the build context: the rewritten requirements file is written into
    // the context (beside the file it replaces, so the output builds as it is).
    for f in ["text", "markdown", "json"] {
        let ctx = tempfile::tempdir().unwrap();
        let before = copy_tree(Path::new("fixtures/src/example"), ctx.path());
        let o = slim()
            .args(["rewrite", "fixtures/images/example.tar", "--diff", "--format", f, "--dockerfile"])
            .arg(ctx.path().join("Dockerfile"))
            .arg("-o")
            .arg(ctx.path().join("Dockerfile.slim"))
            .output()
            .unwrap();
        assert!(o.status.success(), "rewrite {f}: {}", String::from_utf8_lossy(&o.stderr));
        all.push((format!("rewrite-{f}"), redact(&String::from_utf8(o.stdout).unwrap(), &[ctx.path()])));
        if f == "text" {
            let mut files: Vec<_> = std::fs::read_dir(ctx.path()).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_file() && !before.contains(p)).collect();
            files.sort();
            assert!(files.len() >= 3, "the rewrite writes a Dockerfile, its ignore file and the requirements: {files:?}");
            for p in files {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                all.push((format!("rewrite-file-{name}"), redact(&std::fs::read_to_string(&p).unwrap(), &[ctx.path()])));
            }
        }
    }
    all
}

fn built() -> Vec<(String, String)> {
    let img = Img::write(&crate::report_html::problem_image());
    let dir = img.path.parent().unwrap().to_path_buf();
    let mut all = renderings(&img.path, Some(&dir), "urllib3");
    for f in ["text", "markdown"] {
        let o = slim().args(["diff", "fixtures/images/example.tar"]).arg(&img.path).args(["--format", f]).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        all.push((format!("diff-{f}"), redact(&String::from_utf8(o.stdout).unwrap(), &[&dir])));
    }
    all
}

#[test]
fn example_image_renderings() {
    for (name, text) in example() {
        insta::assert_snapshot!(format!("example-{name}"), text);
    }
}

#[test]
fn built_image_renderings() {
    for (name, text) in built() {
        insta::assert_snapshot!(format!("built-{name}"), text);
    }
}

#[test]
fn snapshots_are_deterministic() {
    assert_eq!(example(), example());
    assert_eq!(built(), built());
}

#[test]
fn redaction_takes_digests_and_temporary_paths_only() {
    let d = "ab".repeat(32);
    let text = format!("sha256:{d} /tmp/x/img.tar dir:{} 0123456789", &d[..40]);
    assert_eq!(redact(&text, &[Path::new("/tmp/x")]), format!("sha256:[sha256] [tmp]/img.tar dir:{} 0123456789", &d[..40]));
}
