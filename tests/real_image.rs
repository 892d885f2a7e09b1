//! Acceptance on a real Python image built here with buildah (`../shared/tools/build-image`):
//! every distribution's bytes equal importlib.metadata's count on the `umoci unpack`ed root
//! filesystem, dpkg packages equal dpkg-query's, and the final filesystem equals a file walk.
//! It builds an image (a minute or two), so it is ignored by a plain `cargo test`; .ci/run
//! runs it with `--include-ignored`.

use serde_json::Value;
use std::path::PathBuf;

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
        let out = crate::util::slim().arg("analyze").arg(input).args(["--format", "json"]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let a: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(a["totals"]["final_bytes"], truth["final_bytes"]);
        assert_eq!(a["totals"]["final_files"], truth["final_files"]);
        crate::util::oracle::check_owners_against(&a, &truth);
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
    let res = crate::util::slim().arg("analyze").arg(&out).args(["--format", "json"]).output().unwrap();
    assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
    let a: Value = serde_json::from_slice(&res.stdout).unwrap();
    let whole = a["totals"]["final_bytes"].as_u64().unwrap();
    assert!(whole > 50_000_000, "a real image");
    for f in a["findings"].as_array().unwrap() {
        let saved = f["bytes_saved"].as_u64().unwrap();
        assert!(saved * 100 <= whole, "finding worth more than 1%: {f}");
    }
}

/// Bytes of the regular files under `dir`, symlinks never followed.
fn walk_bytes(dir: &std::path::Path) -> u64 {
    let mut sum = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let m = std::fs::symlink_metadata(e.path()).unwrap();
        if m.is_dir() {
            sum += walk_bytes(&e.path());
        } else if m.is_file() {
            sum += m.len();
        }
    }
    sum
}

#[test]
#[ignore = "needs skopeo, umoci and python3; run by .ci/run"]
fn the_readme_example_shows_each_seed_problem_with_the_bytes_an_unpacked_rootfs_has() {
    let dir = tempfile::tempdir().unwrap();
    let example = root().join("fixtures/images/example.tar");
    let layout = dir.path().join("oci");
    let st = std::process::Command::new("skopeo")
        .args(["copy", "--quiet", "--dest-oci-accept-uncompressed-layers"])
        .arg(format!("oci-archive:{}:latest", example.display()))
        .arg(format!("oci:{}:latest", layout.display()))
        .status()
        .unwrap();
    assert!(st.success(), "skopeo copy failed");
    // importlib.metadata's bytes per distribution on the umoci-unpacked rootfs
    let py = std::process::Command::new("python3")
        .arg(root().join("fixtures/oracle/rootfs_walk.py"))
        .arg(&layout)
        .args(["latest", "--dists", "usr/local/lib/python3.11/site-packages"])
        .output()
        .unwrap();
    assert!(py.status.success(), "{}", String::from_utf8_lossy(&py.stderr));
    let truth: Value = serde_json::from_slice(&py.stdout).unwrap();
    let dist_bytes = |name: &str| truth["dists"].as_array().unwrap().iter().find(|d| d["name"] == name).unwrap_or_else(|| panic!("no dist {name}"))["bytes"].as_u64().unwrap();
    // the rootfs itself, for the paths no package owns
    let bundle = dir.path().join("bundle");
    let st = std::process::Command::new("umoci").args(["unpack", "--rootless", "--image"]).arg(format!("{}:latest", layout.display())).arg(&bundle).status().unwrap();
    assert!(st.success(), "umoci unpack failed");
    let rootfs = bundle.join("rootfs");
    // the deleted export, as the layer that added it stores it (python's tarfile over the blob)
    let deleted = std::process::Command::new("python3")
        .args(["-c", "import json,sys,tarfile,os\nL=sys.argv[1]\nidx=json.load(open(os.path.join(L,'index.json')))\nd=idx['manifests'][0]['digest'].split(':')[1]\nm=json.load(open(os.path.join(L,'blobs/sha256',d)))\nfor l in m['layers']:\n  t=tarfile.open(os.path.join(L,'blobs/sha256',l['digest'].split(':')[1]))\n  for e in t:\n    if e.name.lstrip('./')=='app/data/export.jsonl': print(e.size)"])
        .arg(&layout)
        .output()
        .unwrap();
    assert!(deleted.status.success(), "{}", String::from_utf8_lossy(&deleted.stderr));
    let deleted: u64 = String::from_utf8(deleted.stdout).unwrap().trim().parse().unwrap();
    assert!(!rootfs.join("app/data/export.jsonl").exists(), "the export is deleted in the final filesystem");

    let out = crate::util::slim().arg("analyze").arg(&example).args(["--format", "json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let a: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(a["totals"]["final_bytes"], truth["final_bytes"]);
    let findings = a["findings"].as_array().unwrap();
    let saved = |rule: &str, title_has: &str| {
        let f = findings
            .iter()
            .find(|f| f["rule"] == rule && f["title"].as_str().unwrap().contains(title_has))
            .unwrap_or_else(|| panic!("no {rule} finding about {title_has}: {findings:?}"));
        f["bytes_saved"].as_u64().unwrap()
    };
    // a package nothing imports, with what only it pulls in
    let unused: u64 = ["arrow", "python-dateutil", "six", "types-python-dateutil"].iter().map(|d| dist_bytes(d)).sum();
    assert_eq!(saved("unused-package", "arrow"), unused);
    // a file deleted by a later layer still ships
    assert_eq!(saved("layer-waste", "hides"), deleted);
    assert_eq!(a["totals"]["wasted_bytes"].as_u64().unwrap(), deleted);
    // caches and the build context's .git
    assert_eq!(saved("cache-left", "apt-lists"), walk_bytes(&rootfs.join("var/lib/apt/lists")));
    assert_eq!(saved("cache-left", "pip-cache"), walk_bytes(&rootfs.join("root/.cache/pip")));
    assert_eq!(saved("context-leak", ".git"), walk_bytes(&rootfs.join("app/.git")));
    // and the why of the unused package names what it drags in
    let why = crate::util::slim().arg("why").arg("six").arg(&example).output().unwrap();
    assert!(why.status.success(), "{}", String::from_utf8_lossy(&why.stderr));
    let why = String::from_utf8(why.stdout).unwrap();
    assert!(why.contains("nothing in the app imports it") && why.contains("comes with arrow"), "{why}");
}
