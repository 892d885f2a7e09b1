//! Acceptance on a real Python image built here with buildah (`../shared/tools/build-image`):
//! every distribution's bytes equal importlib.metadata's count on the `umoci unpack`ed root
//! filesystem, dpkg packages equal dpkg-query's, and the final filesystem equals a file walk.
//! It builds an image (a minute or two), so it is ignored by a plain `cargo test`; .ci/run
//! runs it with `--include-ignored`.

use assert_cmd::Command;
use serde_json::Value;
use std::path::PathBuf;

mod common;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
#[ignore = "builds a real image with buildah; run by .ci/run"]
fn real_python_image_matches_importlib_dpkg_and_umoci() {
    let build = root().join("../shared/tools/build-image");
    assert!(build.exists(), "needs {}", build.display());
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("oci");
    let archive = dir.path().join("img.tar");
    for (out, format, compress) in [(&layout, "oci-dir", "none"), (&archive, "oci-archive", "gzip")] {
        let st = std::process::Command::new("bash")
            .arg(&build)
            .arg(root().join("tests/images/pyreal"))
            .arg(out)
            .args(["--format", format, "--compress", compress, "--tag", "localhost/pyreal:latest"])
            .status()
            .unwrap();
        assert!(st.success(), "build-image failed");
    }
    let tag = "latest";
    let py = std::process::Command::new("python3")
        .arg(root().join("fixtures/oracle/rootfs_walk.py"))
        .arg(&layout)
        .args([tag, "--dists", "usr/local/lib/python3.11/dist-packages", "usr/lib/python3/dist-packages", "--dpkg"])
        .output()
        .unwrap();
    assert!(py.status.success(), "{}", String::from_utf8_lossy(&py.stderr));
    let truth: Value = serde_json::from_slice(&py.stdout).unwrap();
    assert!(truth["dists"].as_array().unwrap().len() >= 5);
    assert!(truth["dpkg"].as_array().unwrap().len() >= 50);
    for input in [&layout, &archive] {
        let out = Command::cargo_bin("slim").unwrap().arg("analyze").arg(input).args(["--format", "json"]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let a: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(a["totals"]["final_bytes"], truth["final_bytes"]);
        assert_eq!(a["totals"]["final_files"], truth["final_files"]);
        common::oracle::check_owners_against(&a, &truth);
        // Real content: numpy is the biggest distribution, apt lists were kept.
        let owners = a["owners"].as_array().unwrap();
        assert!(owners.iter().any(|o| o["kind"] == "category" && o["name"] == "apt-lists" && o["bytes"].as_u64().unwrap() > 1_000_000));
        let biggest_py = owners.iter().find(|o| o["kind"] == "python").unwrap();
        assert_eq!(biggest_py["name"], "numpy");
        // The careless build is caught: apt lists kept, a -dev package with nothing compiled.
        let rules: Vec<&str> = a["findings"].as_array().unwrap().iter().map(|f| f["rule"].as_str().unwrap()).collect();
        assert!(rules.contains(&"cache-left") && rules.contains(&"build-toolchain"), "{rules:?}");
    }
}

#[test]
#[ignore = "builds a real image with buildah; run by .ci/run"]
fn a_well_built_image_gets_no_finding_worth_more_than_one_percent() {
    let build = root().join("../shared/tools/build-image");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("img.tar");
    let st = std::process::Command::new("bash")
        .arg(&build)
        .arg(root().join("tests/images/wellbuilt"))
        .arg(&out)
        .args(["--format", "oci-archive", "--compress", "gzip", "--tag", "localhost/wellbuilt:latest"])
        .status()
        .unwrap();
    assert!(st.success(), "build-image failed");
    let res = Command::cargo_bin("slim").unwrap().arg("analyze").arg(&out).args(["--format", "json"]).output().unwrap();
    assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
    let a: Value = serde_json::from_slice(&res.stdout).unwrap();
    let whole = a["totals"]["final_bytes"].as_u64().unwrap();
    assert!(whole > 50_000_000, "a real image");
    for f in a["findings"].as_array().unwrap() {
        let saved = f["bytes_saved"].as_u64().unwrap();
        assert!(saved * 100 <= whole, "finding worth more than 1%: {f}");
    }
}
