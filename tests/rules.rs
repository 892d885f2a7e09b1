//! Every rule on an image built in the test that must trigger it, and one that must not.

use crate::util::wheels::*;
use crate::util::*;
use slim::analyze::Options;
use slim::model::analysis::{Action, Analysis, Finding};

fn run(archive: Vec<u8>, opts: Options<'static>) -> Analysis {
    analyze_archive(&archive, &opts).analysis
}

fn analyze(layers: &[Vec<u8>]) -> Analysis {
    run(docker_archive(layers, "t:1", false), Options::new(20))
}

fn with_history(layers: &[Vec<u8>], steps: &[&str]) -> Analysis {
    run(Image::new(layers).history(steps).archive(), Options::new(20))
}

fn of<'a>(a: &'a Analysis, rule: &str) -> Vec<&'a Finding> {
    a.findings.iter().filter(|f| f.rule == rule).collect()
}

fn torch_image() -> Vec<E<'static>> {
    let mut l = wheel(
        "torch",
        "2.5.1",
        &["triton==3.1.0; platform_system == \"Linux\"", "nvidia-cublas-cu12==12.4.5.8"],
        MANY,
        &[("torch/lib/libtorch_cuda.so", 3 * MIB), ("torch/lib/libtorch_cpu.so", 2 * MIB), ("torch/__init__.py", 100)],
    );
    l.extend(wheel("nvidia-cublas-cu12", "12.4.5.8", &[], MANY, &[("nvidia/cublas/lib/libcublas.so.12", 4 * MIB)]));
    l.extend(wheel("triton", "3.1.0", &[], MANY, &[("triton/_C/libtriton.so", 2 * MIB)]));
    l.extend(wheel(
        "sentence-transformers",
        "3.3.1",
        &["torch>=1.11.0", "transformers<5.0.0,>=4.41.0", "pytest; extra == \"dev\""],
        "py3-none-any",
        &[("sentence_transformers/__init__.py", 5000)],
    ));
    l.extend(wheel("transformers", "4.46.3", &[], "py3-none-any", &[("transformers/__init__.py", 9000)]));
    l.extend(wheel("fastapi", "0.115.0", &[], "py3-none-any", &[("fastapi/__init__.py", 3000)]));
    l
}

/// Options without the CPU-torch table, so the estimate comes from the image's own files.
fn no_cpu_table() -> Options<'static> {
    let mut o = Options::new(20);
    o.rules.cpu_torch.clear();
    o
}

fn cpu_row(version: &str, installed: u64) -> slim::rules::CpuTorch {
    slim::rules::CpuTorch {
        version: version.into(),
        wheel_mb: 1.0,
        wheel_tag: "cp311".into(),
        expansion: 2.0,
        installed,
        pypi_wheel: format!("torch-{version}-cp311-cp311-manylinux_2_28_x86_64.whl"),
        pypi_kept_uncompressed: 0,
        source: format!("a test log of {version}"),
    }
}

#[test]
fn cuda_on_cpu_triggers_without_gpu_hints_and_not_with_them() {
    let a = run(docker_archive(&[layer(&torch_image())], "t:1", false), no_cpu_table());
    let f = of(&a, "cuda-on-cpu");
    assert_eq!(f.len(), 1, "{:?}", a.findings);
    let f = f[0];
    assert_eq!(f.id, "SLIM001");
    // nvidia wheel + triton + libtorch_cuda (+ their small metadata files).
    assert!(f.bytes_saved >= (9 * MIB) as u64 && f.bytes_saved < (9 * MIB + 10_000) as u64, "{}", f.bytes_saved);
    assert!(f.basis.contains("Estimated from the image's own files (the cpu_torch table has no rows)"), "{}", f.basis);
    assert!(f.evidence.notes.iter().any(|n| n == "torch ← sentence-transformers"), "{:?}", f.evidence.notes);
    assert!(matches!(&f.fix.action, Action::PipIndexUrl { packages, index_url } if packages == &["torch"] && index_url.ends_with("/whl/cpu")));
    assert!(!f.evidence.paths.iter().any(|p| p.ends_with("libtorch_cpu.so")), "the CPU library stays");

    let gpu = run(Image::new(&[layer(&torch_image())]).env(&["NVIDIA_VISIBLE_DEVICES=all"]).archive(), Options::new(20));
    assert!(of(&gpu, "cuda-on-cpu").is_empty());

    let cpu = analyze(&[layer(&wheel("torch", "2.5.1+cpu", &[], "cp311-cp311-linux_x86_64", &[("torch/lib/libtorch_cpu.so", 2 * MIB)]))]);
    assert!(of(&cpu, "cuda-on-cpu").is_empty());
}

/// The saving from the CPU-torch table: torch, nvidia-* and triton go, the table's installed size
/// of the CPU wheel and this image's torch bytecode come back. An exact row is used as it is; a
/// version without one takes the nearest earlier row and says so.
#[test]
fn cuda_on_cpu_estimates_from_the_cpu_wheel_table() {
    let mut img = wheel(
        "torch",
        "2.5.1",
        &["nvidia-cublas-cu12"],
        MANY,
        &[("torch/lib/libtorch_cuda.so", 3 * MIB), ("torch/lib/libtorch_cpu.so", 2 * MIB), ("torch/__init__.py", 100), ("torch/__pycache__/__init__.cpython-311.pyc", 5000)],
    );
    img.extend(wheel("nvidia-cublas-cu12", "12.4.5.8", &[], MANY, &[("nvidia/cublas/lib/libcublas.so.12", 4 * MIB)]));
    img.extend(wheel("triton", "3.1.0", &[], MANY, &[("triton/_C/libtriton.so", 2 * MIB)]));
    let a = analyze(&[layer(&img)]);
    let dist = |n: &str| a.owners.iter().filter(|o| o.kind == "python" && o.name == n).map(|o| o.bytes).sum::<u64>();
    let stack = dist("torch") + dist("nvidia-cublas-cu12") + dist("triton");
    let saving = |a: &Analysis| of(a, "cuda-on-cpu").first().map(|f| (f.bytes_saved, f.basis.clone()));

    // Bigger than what would stay of this torch: the CUDA files go, the difference comes back.
    let mut o = Options::new(20);
    o.rules.cpu_torch = vec![cpu_row("2.5.1", 3 * MIB as u64), cpu_row("2.6.0", MIB as u64)];
    let run_with = |o: Options<'static>| run(docker_archive(&[layer(&img)], "t:1", false), o);
    let (saved, basis) = saving(&run_with(o)).expect("finding");
    assert_eq!(saved, stack - 3 * MIB as u64 - 5000, "{basis}");
    assert!(basis.contains("torch 2.5.1's CPU wheel (Linux x86_64, cp311) downloads at 1 MB as pip printed it in a test log of 2.5.1"), "{basis}");
    assert!(!basis.contains("nearest"), "{basis}");

    // Smaller than what would stay: the whole of torch goes, the CPU wheel comes back.
    let mut o = Options::new(20);
    o.rules.cpu_torch = vec![cpu_row("2.5.1", 1000)];
    let (saved, _) = saving(&run_with(o)).expect("finding");
    assert_eq!(saved, stack - 1000 - 5000);

    // No row for 2.5.1: the nearest earlier one (2.4.1, not 2.3.0 or 2.6.0), said so.
    let mut o = Options::new(20);
    o.rules.cpu_torch = vec![cpu_row("2.3.0", 1000), cpu_row("2.4.1", 2000), cpu_row("2.6.0", 4000)];
    let (saved, basis) = saving(&run_with(o)).expect("finding");
    assert_eq!(saved, stack - 2000 - 5000);
    assert!(basis.contains("from its nearest row (2.4.1): no public size of torch 2.5.1's CPU wheel was found"), "{basis}");

    // Only later rows: the nearest later one.
    let mut o = Options::new(20);
    o.rules.cpu_torch = vec![cpu_row("2.9.0", 9000), cpu_row("2.6.0", 4000)];
    assert_eq!(saving(&run_with(o)).unwrap().0, stack - 4000 - 5000);

    // The table is of x86_64 wheels: an arm64 image is estimated from its own files.
    let arm = run(Image::new(&[layer(&img)]).arch("arm64").archive(), Options::new(20));
    let (saved, basis) = saving(&arm).expect("finding");
    assert!(basis.contains("this image is another platform"), "{basis}");
    assert!(saved >= (9 * MIB) as u64 && saved < (9 * MIB + 10_000) as u64, "the CUDA files: {saved}");

    // The built-in table has a row for 2.5.1: 174.7 MB × its expansion, far more than this toy
    // torch, so its saving is the stack less that.
    let row = slim::rules::RuleSet::builtin().cpu_torch.into_iter().find(|r| r.version == "2.5.1").expect("built-in row");
    assert_eq!(row.installed, (row.wheel_mb * 1e6 * row.expansion).round() as u64);
    assert!(row.source.contains("174.7 MB"), "{}", row.source);
    assert_eq!(of(&a, "cuda-on-cpu").len(), 0, "a saving below zero is no finding: {:?}", of(&a, "cuda-on-cpu"));
}

/// A rules file's [[cpu_torch]] row replaces the built-in row of its version; a bad one is an
/// input error naming the file.
#[test]
fn a_rules_file_replaces_a_cpu_torch_row() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("rules.toml");
    let row = "[[cpu_torch]]\nversion = \"2.5.1\"\nwheel_mb = 1.0\nwheel_tag = \"cp311\"\nexpansion = 1.0\ninstalled = 1000\npypi_wheel = \"x.whl\"\npypi_kept_uncompressed = 0\nsource = \"our own measurement\"\n";
    std::fs::write(&f, row).unwrap();
    let set = slim::rules::RuleSet::with_file(&f).unwrap();
    let rows: Vec<_> = set.cpu_torch.iter().filter(|r| r.version == "2.5.1").collect();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].installed, 1000);
    assert!(set.cpu_torch.len() > 10, "the other built-in rows stay");
    std::fs::write(&f, row.replace("installed = 1000", "installed = 0")).unwrap();
    let e = slim::rules::RuleSet::with_file(&f).unwrap_err().to_string();
    assert!(e.contains("rules.toml") && e.contains("cpu_torch"), "{e}");
}

/// Options whose heavy stacks cost nothing to replace, so small test wheels still save bytes.
fn free_replacements() -> Options<'static> {
    let mut o = Options::new(20);
    for h in &mut o.rules.heavies {
        h.replacement_bytes = 0;
    }
    // These toy wheels are far smaller than any real CPU wheel in the table.
    o.rules.cpu_torch.clear();
    o
}

#[test]
fn heavy_dependency_names_the_chain_and_only_what_it_alone_needs() {
    // With the built-in estimate (80 MB for fastembed) these small wheels save nothing.
    assert!(of(&analyze(&[layer(&torch_image())]), "heavy-dependency").is_empty());
    let a = run(docker_archive(&[layer(&torch_image())], "t:1", false), free_replacements());
    let f = of(&a, "heavy-dependency");
    assert_eq!(f.len(), 1, "{:?}", a.findings);
    let f = f[0];
    assert!(f.evidence.notes.contains(&"torch ← sentence-transformers".to_string()));
    assert!(f.evidence.owners.contains(&"python:transformers".to_string()));
    assert!(!f.evidence.owners.contains(&"python:fastapi".to_string()));
    // Overlapping findings: the total counts torch's CUDA files once.
    let sum: u64 = a.findings.iter().map(|f| f.bytes_saved).sum();
    assert!(a.totals.reclaimable_bytes < sum);
    assert!(a.totals.reclaimable_bytes <= a.totals.final_bytes);

    // When the app also requires torch directly, torch is not sentence-transformers' alone.
    let mut l = torch_image();
    l.extend(wheel("my-app", "1.0", &["torch", "sentence-transformers"], "py3-none-any", &[("my_app.py", 10)]));
    let a = run(docker_archive(&[layer(&l)], "t:1", false), free_replacements());
    assert!(of(&a, "heavy-dependency").is_empty(), "{:?}", of(&a, "heavy-dependency"));
}

#[test]
fn package_swap_for_opencv_but_not_for_the_headless_build() {
    let a = analyze(&[layer(&wheel("opencv-python", "4.10.0.84", &[], MANY, &[("cv2/cv2.abi3.so", 8 * MIB)]))]);
    let f = of(&a, "package-swap");
    assert_eq!(f.len(), 1);
    assert!(matches!(&f[0].fix.action, Action::PackageSwap { from, to } if from == "opencv-python" && to == "opencv-python-headless"));
    assert!(f[0].bytes_saved > (MIB as u64) && f[0].bytes_saved < (8 * MIB) as u64 / 2);
    let a = analyze(&[layer(&wheel("opencv-python-headless", "4.10.0.84", &[], MANY, &[("cv2/cv2.abi3.so", 6 * MIB)]))]);
    assert!(of(&a, "package-swap").is_empty());
}

#[test]
fn baked_models_and_families() {
    let hub = "root/.cache/huggingface/hub";
    let l = layer(&[
        E::File(leak(format!("{hub}/models--Qwen--Qwen3-Reranker-4B/blobs/a1")), vec![1; 6 * MIB]),
        E::Symlink(leak(format!("{hub}/models--Qwen--Qwen3-Reranker-4B/snapshots/r/model.safetensors")), "../../blobs/a1"),
        E::File(leak(format!("{hub}/models--Qwen--Qwen3-Reranker-0.6B/blobs/b1")), vec![2; 2 * MIB]),
        E::Symlink(leak(format!("{hub}/models--Qwen--Qwen3-Reranker-0.6B/snapshots/r/model.safetensors")), "../../blobs/b1"),
    ]);
    let a = analyze(&[l]);
    let f = of(&a, "baked-model");
    assert_eq!(f.len(), 2, "{:?}", a.findings);
    assert!(f[0].title.contains("Qwen/Qwen3-Reranker-4B") && f[0].title.contains("same family"), "{}", f[0].title);
    assert_eq!(f[0].bytes_saved, (6 * MIB) as u64);
    // The model's files are not reported again as a cache.
    assert!(of(&a, "cache-left").is_empty(), "{:?}", of(&a, "cache-left"));
    assert!(of(&analyze(&[layer(&[file("app/main.py", 10)])]), "baked-model").is_empty());
}

#[test]
fn duplicate_files_hash_only_colliding_sizes() {
    let l = layer(&[
        E::File("app/a.bin", vec![7; 2 * MIB]),
        E::File("app/copy/a.bin", vec![7; 2 * MIB]),
        E::File("app/other.bin", vec![8; 2 * MIB]),
        E::File("app/small1", vec![1; 1000]),
        E::File("app/small2", vec![1; 1000]),
    ]);
    let archive = docker_archive(&[l], "t:1", false);
    let a = run(archive.clone(), Options::new(20));
    let f = of(&a, "duplicate-files");
    assert_eq!(f.len(), 1, "{:?}", a.findings);
    assert_eq!(f[0].bytes_saved, (2 * MIB) as u64);
    // Same with gzip layers in an OCI layout (the ranges are decoded again).
    let plain = vec![layer(&[E::File("x/1", vec![3; 3 * MIB]), E::File("y/2", vec![3; 3 * MIB])])];
    let oci = oci_layout(&plain, gzip, "application/vnd.oci.image.layer.v1.tar+gzip", "latest");
    let a = run(oci.tar(), Options::new(20));
    assert_eq!(of(&a, "duplicate-files")[0].bytes_saved, (3 * MIB) as u64);
    // Equal sizes, different content: nothing.
    let l = layer(&[E::File("a", vec![1; 2 * MIB]), E::File("b", vec![2; 2 * MIB])]);
    assert!(of(&analyze(&[l]), "duplicate-files").is_empty());
}

#[test]
fn layer_waste_names_both_layers_and_the_fix() {
    let l0 = layer(&[E::Dir("app"), E::File("app/data.bin", vec![1; 3 * MIB])]);
    let l1 = layer(&[E::File("app/data.bin", vec![1; 3 * MIB])]);
    let l2 = layer(&[file("tmp/build.tar", 2 * MIB)]);
    let l3 = layer(&[E::Whiteout("tmp/build.tar")]);
    let a = with_history(
        &[l0, l1, l2, l3],
        &["/bin/sh -c #(nop) COPY dir:x in /app", "/bin/sh -c chmod -R g=u /app", "/bin/sh -c curl -o /tmp/build.tar x", "/bin/sh -c rm /tmp/build.tar"],
    );
    let f = of(&a, "layer-waste");
    assert_eq!(f.len(), 2, "{:?}", a.findings);
    let chmod = f.iter().find(|f| f.evidence.layers[1].index == 1).unwrap();
    assert!(matches!(chmod.fix.action, Action::CopyChown { layer: 1 }));
    assert_eq!(chmod.bytes_saved, (3 * MIB) as u64);
    let rm = f.iter().find(|f| f.evidence.layers[1].index == 3).unwrap();
    assert!(matches!(rm.fix.action, Action::MergeRuns { create_layer: 2, delete_layer: 3 }));
    assert!(of(&analyze(&[layer(&[file("a", 3 * MIB)])]), "layer-waste").is_empty());
}

#[test]
fn cache_left_for_pip_cache_and_apt_lists() {
    let l = layer(&[
        file("root/.cache/pip/http-v2/a/b/c/body", 2 * MIB),
        file("var/lib/apt/lists/deb.debian.org_Packages", 3 * MIB),
        file("usr/lib/python3.11/__pycache__/os.cpython-311.pyc", 2 * MIB),
        file("usr/share/python3/debpython/__pycache__/version.cpython-311.pyc", 2 * MIB),
    ]);
    let a = analyze(&[l]);
    let f = of(&a, "cache-left");
    assert_eq!(f.len(), 2, "stdlib and Debian's py3compile bytecode are not flagged: {:?}", f);
    assert!(f.iter().any(|f| matches!(f.fix.action, Action::PipNoCacheDir) && f.bytes_saved == (2 * MIB) as u64));
    assert!(f.iter().any(|f| matches!(f.fix.action, Action::AptCleanup) && f.bytes_saved == (3 * MIB) as u64));
}

/// The WHEEL file inside PyPI's torch 2.5.1 wheel for CPython 3.11 on x86_64.
const TORCH_WHEEL: &str = "Wheel-Version: 1.0\nGenerator: bdist_wheel (0.34.2)\nRoot-Is-Purelib: false\nTag: cp311-cp311-linux_x86_64\n\n";

#[test]
fn build_toolchain_drops_or_goes_multi_stage_by_wheel_tags() {
    let tools = dpkg_layer(
        &[("gcc-12", "usr/lib/gcc/x86_64-linux-gnu/12/cc1", 4 * MIB), ("zlib1g-dev", "usr/include/zlib.h", 100_000), ("zlib1g", "usr/lib/x86_64-linux-gnu/libz.so.1", 120_000)],
        vec![],
    );
    let prebuilt = layer(&wheel("numpy", "2.1.3", &[], MANY, &[("numpy/core.so", 1000)]));
    let a = analyze(&[tools.clone(), prebuilt]);
    let f = of(&a, "build-toolchain");
    assert_eq!(f.len(), 1, "{:?}", a.findings);
    assert!(matches!(&f[0].fix.action, Action::DropToolchain { packages, multi_stage: false } if packages == &["gcc-12", "zlib1g-dev"]));
    // PyPI's torch wheels say `Tag: cp311-cp311-linux_x86_64` inside though nothing was built
    // here (this is the WHEEL file of torch-2.5.1-cp311-cp311-manylinux1_x86_64.whl): no evidence.
    let mut torch = wheel("torch", "2.5.1", &[], "cp311-cp311-linux_x86_64", &[("torch/lib/libtorch_cpu.so", 1000)]);
    torch.push(E::File("usr/local/lib/python3.11/site-packages/torch-2.5.1.dist-info/WHEEL", TORCH_WHEEL.as_bytes().to_vec()));
    let a = analyze(&[tools.clone(), layer(&torch)]);
    let f = of(&a, "build-toolchain");
    assert!(matches!(&f[0].fix.action, Action::DropToolchain { multi_stage: false, .. }), "{:?}", f[0]);
    // A wheel pip built from a local directory says so in direct_url.json.
    let mut built = wheel("pyyaml", "6.0.2", &[], "cp311-cp311-linux_x86_64", &[("yaml/_yaml.so", 1000)]);
    built.push(E::File("usr/local/lib/python3.11/site-packages/pyyaml-6.0.2.dist-info/direct_url.json", br#"{"dir_info": {}, "url": "file:///src/pyyaml"}"#.to_vec()));
    let a = analyze(&[tools.clone(), layer(&built)]);
    let f = of(&a, "build-toolchain");
    assert!(matches!(&f[0].fix.action, Action::DropToolchain { multi_stage: true, .. }));
    assert!(f[0].fix.text.contains("pyyaml 6.0.2"));
    assert!(f[0].evidence.notes[0].contains("a local directory (file:///src/pyyaml)"), "{:?}", f[0].evidence.notes);
    // An sdist from the index leaves the wheel it built in pip's cache.
    let mut built = wheel("pyyaml", "6.0.2", &[], "cp311-cp311-linux_x86_64", &[("yaml/_yaml.so", 1000)]);
    built.push(file("root/.cache/pip/wheels/ab/cd/PyYAML-6.0.2-cp311-cp311-linux_x86_64.whl", 5000));
    let a = analyze(&[tools.clone(), layer(&built)]);
    let f = of(&a, "build-toolchain");
    assert!(matches!(&f[0].fix.action, Action::DropToolchain { multi_stage: true, .. }));
    assert!(f[0].evidence.notes[0].contains("wheel cache"), "{:?}", f[0].evidence.notes);
    let a = analyze(&[dpkg_layer(&[("zlib1g", "usr/lib/x86_64-linux-gnu/libz.so.1", 2 * MIB)], vec![])]);
    assert!(of(&a, "build-toolchain").is_empty());
}

#[test]
fn context_leak_only_for_files_copied_from_the_context() {
    let l = layer(&[
        file("app/.git/objects/pack/pack-1.pack", 5000),
        file("app/.env", 60),
        file("app/main.py", 100),
        // A certificate is not a secret; a venv whose interpreter is in the image is not a leak.
        file("usr/local/share/ca.pem", 3000),
        E::File("venv/pyvenv.cfg", b"home = /usr/bin\n".to_vec()),
        file("venv/bin/activate", 2000),
        file("usr/bin/python3.11", 10),
        // A workstation venv: its interpreter is not in the image.
        E::File("app/.venv/pyvenv.cfg", b"home = /opt/homebrew/bin\n".to_vec()),
        file("app/.venv/bin/activate", 2000),
    ]);
    let a = with_history(&[l.clone()], &["/bin/sh -c #(nop) COPY dir:abc in /app"]);
    let f = of(&a, "context-leak");
    assert_eq!(f.len(), 3, "{:?}", a.findings);
    let venv = f.iter().find(|f| f.title.contains(".venv")).unwrap();
    assert!(venv.evidence.paths.iter().all(|p| p.starts_with("/app/.venv/")), "{:?}", venv.evidence.paths);
    let git = f.iter().find(|f| f.title.contains(".git")).unwrap();
    assert!(matches!(&git.fix.action, Action::Dockerignore { patterns } if patterns == &["**/.git"]));
    let env = f.iter().find(|f| f.title.contains("secrets")).unwrap();
    assert_eq!(env.severity, "high");
    let a = with_history(&[l], &["/bin/sh -c git clone https://example.invalid/x /app"]);
    assert!(of(&a, "context-leak").is_empty());
}

#[test]
fn multiple_environments_when_a_distribution_is_installed_twice() {
    let mut l = wheel_in("opt/venv/lib/python3.11/site-packages", "numpy", "2.1.3", &[], MANY, &[("numpy/core.so", 2 * MIB)]);
    l.extend(wheel_in("opt/venv/lib/python3.11/site-packages", "six", "1.16.0", &[], "py3-none-any", &[("six.py", 1000)]));
    l.extend(wheel("numpy", "1.26.4", &[], MANY, &[("numpy/core.so", 3 * MIB + 5)]));
    let a = analyze(&[layer(&l)]);
    let f = of(&a, "multiple-environments");
    assert_eq!(f.len(), 1, "{:?}", a.findings);
    assert!(f[0].bytes_saved >= (3 * MIB) as u64);
    assert!(f[0].evidence.notes[0].contains("numpy"));
    let a = analyze(&[layer(&wheel("numpy", "1.26.4", &[], MANY, &[("numpy/core.so", 3 * MIB)]))]);
    assert!(of(&a, "multiple-environments").is_empty());
}

#[test]
fn user_rules_override_and_extend() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules.toml");
    std::fs::write(&rules, "[[rule]]\nname = \"package-swap\"\nenabled = false\n\n[[heavy]]\npackage = \"fastapi\"\nstack = [\"fastapi\"]\nalternative = \"nothing\"\nreplacement_bytes = 0\nbasis = \"test\"\n").unwrap();
    let mut l = wheel("opencv-python", "4.10.0.84", &[], MANY, &[("cv2/cv2.abi3.so", 8 * MIB)]);
    l.extend(wheel("fastapi", "0.115.0", &[], "py3-none-any", &[("fastapi/big.bin", 2 * MIB)]));
    let img = write_in(dir.path(), "img.tar", &docker_archive(&[layer(&l)], "t:1", false));
    let out = slim().arg("analyze").arg(&img).args(["--format", "json", "--rules"]).arg(&rules).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let a: Analysis = serde_json::from_slice(&out.stdout).unwrap();
    assert!(of(&a, "package-swap").is_empty());
    assert_eq!(of(&a, "heavy-dependency").len(), 1);
    std::fs::write(&rules, "[[rule]]\nname = \"no-such-rule\"\n").unwrap();
    let out = slim().arg("analyze").arg(&img).arg("--rules").arg(&rules).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown rule \"no-such-rule\""));
}

#[test]
fn findings_are_sorted_and_the_text_report_totals_them() {
    let mut l = torch_image();
    l.push(file("root/.cache/pip/http-v2/x", 2 * MIB));
    let a = run(docker_archive(&[layer(&l)], "t:1", false), no_cpu_table());
    assert!(a.findings.windows(2).all(|w| w[0].bytes_saved >= w[1].bytes_saved));
    let text = slim::report::text::render(&a, 10);
    assert!(text.contains("SLIM001 cuda-on-cpu"), "{text}");
    assert!(text.contains(&format!("total: {} reclaimable", slim::show::human(a.totals.reclaimable_bytes))), "{text}");
}
