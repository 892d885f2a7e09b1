//! Real images made by real tools (buildah, skopeo; see fixtures/README.md): the same image in
//! every packaging must give the same analysis, and its final filesystem must match what
//! `umoci unpack` produces, measured independently by fixtures/oracle/rootfs_walk.py.

use crate::util::oracle::check_owners_against;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every packaging of the pyapp fixture.
fn packagings() -> Vec<PathBuf> {
    let dir = root().join("fixtures/images");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("pyapp")).collect();
    v.sort();
    assert!(v.len() >= 7, "fixtures missing: run fixtures/build.sh ({v:?})");
    v
}

fn analyze_json(args: &[&str], stdin: Option<Vec<u8>>) -> Value {
    let mut c = crate::util::slim();
    c.arg("analyze").args(args).args(["--format", "json", "--top", "1000"]);
    if let Some(s) = stdin {
        c.write_stdin(s);
    }
    let out = c.output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Drop what legitimately differs between packagings: how the input was named and stored.
fn packaging_free(mut v: Value) -> Value {
    let img = v["image"].as_object_mut().unwrap();
    // What could be checked against a digest depends on the packaging (docs/input.md).
    for k in ["source", "format", "compression", "reference", "verified"] {
        img.remove(k);
    }
    v["totals"].as_object_mut().unwrap().remove("compressed_bytes");
    for l in v["layers"].as_array_mut().unwrap() {
        let l = l.as_object_mut().unwrap();
        for k in ["compressed_bytes", "blob_digest", "compression"] {
            l.remove(k);
        }
    }
    v
}

#[test]
fn every_packaging_gives_the_same_analysis() {
    let all = packagings();
    let base_path = all.iter().find(|p| p.ends_with("pyapp-docker-archive.tar")).unwrap();
    let base = packaging_free(analyze_json(&[base_path.to_str().unwrap()], None));
    let mut formats = std::collections::BTreeSet::new();
    for p in &all {
        let v = analyze_json(&[p.to_str().unwrap()], None);
        formats.insert(format!("{}+{}", v["image"]["format"].as_str().unwrap(), v["image"]["compression"].as_str().unwrap()));
        assert_eq!(packaging_free(v), base, "{} differs from {}", p.display(), base_path.display());
        if p.is_file() {
            let s = analyze_json(&["-"], Some(std::fs::read(p).unwrap()));
            assert_eq!(s["image"]["source"], "-");
            assert_eq!(packaging_free(s), base, "{} through stdin", p.display());
        }
    }
    for f in ["docker-archive+none", "docker-archive+gzip", "docker-archive+zstd", "docker-archive-oci+none", "oci-archive+none", "oci-dir+none"] {
        assert!(formats.contains(f), "no fixture read as {f}: {formats:?}");
    }
    let compressions: std::collections::BTreeSet<String> = all
        .iter()
        .flat_map(|p| analyze_json(&[p.to_str().unwrap()], None)["layers"].as_array().unwrap().iter().map(|l| l["compression"].as_str().unwrap().to_string()).collect::<Vec<_>>())
        .collect();
    assert_eq!(compressions.into_iter().collect::<Vec<_>>(), ["gzip", "none", "zstd"]);
}

fn oracle(layout: &Path, tag: &str) -> Value {
    let out = std::process::Command::new("python3").arg(root().join("fixtures/oracle/rootfs_walk.py")).arg(layout).arg(tag).output().expect("python3 runs the oracle");
    assert!(out.status.success(), "oracle failed (needs umoci: apt-get install umoci): {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn final_filesystem_matches_umoci_unpack() {
    let layout = root().join("fixtures/images/pyapp-oci-dir");
    let truth = oracle(&layout, "latest");
    let a = analyze_json(&[layout.to_str().unwrap()], None);
    assert_eq!(a["totals"]["final_bytes"], truth["final_bytes"]);
    assert_eq!(a["totals"]["final_files"], truth["final_files"]);
    // The fixture exercises deletion, overwrite and re-copy: its waste is not zero.
    assert!(a["totals"]["wasted_bytes"].as_u64().unwrap() > 0);
}

#[test]
fn owners_match_importlib_metadata_and_dpkg_query() {
    let layout = root().join("fixtures/images/pyapp-oci-dir");
    let out = std::process::Command::new("python3")
        .arg(root().join("fixtures/oracle/rootfs_walk.py"))
        .arg(&layout)
        .args(["latest", "--dists", "usr/local/lib/python3.11/site-packages", "--dpkg"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let truth: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(truth["dists"].as_array().unwrap().len(), 3);
    for p in packagings() {
        let a = analyze_json(&[p.to_str().unwrap()], None);
        check_owners_against(&a, &truth);
    }
}
