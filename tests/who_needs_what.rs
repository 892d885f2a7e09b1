//! Who needs what, on real installed distributions: pip (and uv) install small PyPI packages
//! into a venv here, the venv becomes an image layer at /usr/local, and the app's code sits in
//! /app. Those tests need python3 with venv and PyPI, so they are ignored by a plain
//! `cargo test` and run by .ci/run (`--include-ignored`). The model and archive scenarios are
//! made of generated files and always run. With SLIM_KEEP_IMAGES=DIR every image is saved
//! there too (to compare slim builds on the same images).

use crate::util::pypi::{Venv, keep, layer_from};
use crate::util::wheels::{MANY, MIB, SP, Wheel, leak, wheel};
use crate::util::*;
use slim::facts::Analyzed;
use slim::model::analysis::{Action, Finding};
use std::path::Path;

/// An image of these layers with these steps, WORKDIR, CMD and PATH plus `env`, kept under
/// `name` when SLIM_KEEP_IMAGES asks.
fn image(name: &str, layers: &[Vec<u8>], steps: &[&str], workdir: &str, cmd: &[&str], env: &[&str]) -> Img {
    let mut envs = vec!["PATH=/usr/local/bin:/usr/bin:/bin"];
    envs.extend(env);
    let archive = Image::new(layers).steps(steps).workdir(workdir).cmd(cmd).env(&envs).archive();
    keep(name, &archive);
    Img::write(&archive)
}

fn findings<'a>(a: &'a Analyzed, rule: &str) -> Vec<&'a Finding> {
    a.analysis.findings.iter().filter(|f| f.rule == rule).collect()
}

/// `slim why` on a package called unused says so and names what was checked.
fn why_unused_names_what_was_checked(img: &Img, package: &str) -> String {
    let w = why_json(img, package);
    let m = &w.matches[0];
    assert_eq!(m.used, Some(false), "{package}: {m:?}");
    assert!(m.note.contains("nothing in the app imports it") && m.note.contains("checked: ") && m.note.contains("app source files"), "{package}: {}", m.note);
    m.note.clone()
}

fn app_layer(files: &[(&'static str, &str)]) -> Vec<u8> {
    layer(&files.iter().map(|(p, t)| src(p, t)).collect::<Vec<_>>())
}

/// Item 1. The UI imports fastapi, httpx and pydantic (real ones); torch and torchaudio came
/// along in the requirements. torch declares entry points in a group nothing used loads, and
/// requires jinja2, which a used package (starlette) may import: neither lowers torchaudio's
/// or torch's own confidence.
fn ui_with_torch(dir: &Path) -> Img {
    let v = Venv::new(&dir.join("venv"));
    v.pip(&["fastapi==0.115.6", "httpx==0.28.1", "pydantic==2.10.4", "jinja2==3.1.5"]);
    let site = v.site_dir();
    let linux = "platform_system == \"Linux\" and platform_machine == \"x86_64\"";
    Wheel::new("torch", "2.5.1")
        .requires(&[
            &format!("nvidia-cublas-cu12==12.4.5.8; {linux}"),
            &format!("triton==3.1.0; {linux}"),
            "typing-extensions>=4.8.0",
            "jinja2",
            "opt-einsum>=3.3; extra == \"opt-einsum\"",
        ])
        .files(&[("torch/__init__.py", 1000), ("torch/lib/libtorch_cpu.so", 3 * MIB)])
        .entry_points("[console_scripts]\ntorchrun = torch.distributed.run:main\n\n[torchrun.logs_specs]\ndefault = torch.distributed.elastic.multiprocessing:DefaultLogsSpecs\n")
        .write_to(&site);
    Wheel::new("torchaudio", "2.5.1").requires(&["torch==2.5.1"]).files(&[("torchaudio/__init__.py", 500), ("torchaudio/lib/libtorchaudio.so", MIB)]).write_to(&site);
    Wheel::new("nvidia-cublas-cu12", "12.4.5.8").files(&[("nvidia/__init__.py", 0), ("nvidia/cublas/lib/libcublas.so.12", 2 * MIB)]).write_to(&site);
    Wheel::new("triton", "3.1.0").files(&[("triton/__init__.py", 100), ("triton/_C/libtriton.so", MIB)]).write_to(&site);
    let app = app_layer(&[
        ("app/ui/__init__.py", ""),
        (
            "app/ui/main.py",
            "import os\n\nimport httpx\nfrom fastapi import FastAPI\nfrom pydantic import BaseModel\n\nAPI = os.environ.get(\"API\", \"http://api:8000\")\napp = FastAPI()\n\n\nclass Q(BaseModel):\n    q: str\n\n\n@app.post(\"/ask\")\ndef ask(q: Q):\n    return httpx.post(API + \"/ask\", json=q.model_dump()).json()\n",
        ),
    ]);
    image("ui-with-torch", &[v.layer(&[]), app], &["RUN pip install torch torchaudio httpx fastapi uvicorn", "COPY . /app"], "/app", &["python", "-m", "ui.main"], &[])
}

#[test]
#[ignore = "installs packages from PyPI into a venv; run by .ci/run"]
fn item1_confidence_belongs_to_each_package() {
    let dir = tempfile::tempdir().unwrap();
    let img = ui_with_torch(dir.path());
    let a = analyzed(&img);
    let ta = unused(&a, "torchaudio").expect("torchaudio is unused");
    assert_eq!(ta.confidence, "high", "{ta:?}");
    assert!(ta.reasons.is_empty(), "{ta:?}");
    for n in ["torch", "nvidia-cublas-cu12", "triton", "jinja2"] {
        assert!(ta.pulls_in.contains(&n.to_string()), "{n} in {:?}", ta.pulls_in);
    }
    // jinja2's own reason: starlette's code imports it; it stays on jinja2.
    assert!(
        ta.pulls_in_reasons.iter().any(|r| r.starts_with("jinja2: starlette (used) imports it at /usr/local/lib/python3.") && r.contains("starlette/templating.py:")),
        "{:?}",
        ta.pulls_in_reasons
    );
    assert!(!ta.pulls_in_reasons.iter().any(|r| r.starts_with("torch:") || r.starts_with("triton:") || r.starts_with("nvidia")), "{:?}", ta.pulls_in_reasons);
    let f: Vec<_> = findings(&a, "unused-package").into_iter().filter(|f| f.title.starts_with("torchaudio")).collect();
    assert_eq!(f[0].fix.action, Action::DropPackage { name: "torchaudio".into() });
    // The used side is all used: fastapi, starlette, pydantic, httpx and theirs.
    for n in ["fastapi", "starlette", "pydantic", "pydantic-core", "httpx", "anyio", "h11"] {
        assert!(unused(&a, n).is_none(), "{n}");
    }
    let note = why_unused_names_what_was_checked(&img, "torch");
    assert!(note.contains("confidence high"), "{note}");
    let note = why_unused_names_what_was_checked(&img, "jinja2");
    assert!(note.contains("confidence medium: starlette (used) imports it"), "{note}");
}

/// Item 2. requests imports simplejson in a try block when it is installed, loguru imports
/// colorama inside functions; neither declares them (colorama only in a dev extra).
fn lazy_imports(dir: &Path) -> Img {
    let v = Venv::new(&dir.join("venv"));
    v.pip(&["requests==2.32.3", "simplejson==3.19.3", "loguru==0.7.3", "colorama==0.4.6", "six==1.17.0"]);
    let app = app_layer(&[("app/main.py", "import requests\nfrom loguru import logger\n\nlogger.info(requests.get(\"https://example.org\").status_code)\n")]);
    image("lazy-imports", &[v.layer(&[]), app], &["RUN pip install requests simplejson loguru colorama six", "COPY . /app"], "/app", &["python", "main.py"], &[])
}

#[test]
#[ignore = "installs packages from PyPI into a venv; run by .ci/run"]
fn item2_what_used_packages_import_lazily_is_at_least_medium() {
    let dir = tempfile::tempdir().unwrap();
    let img = lazy_imports(dir.path());
    let a = analyzed(&img);
    let sj = unused(&a, "simplejson").expect("simplejson: nothing requires it");
    assert_eq!(sj.confidence, "medium", "{sj:?}");
    assert!(
        sj.reasons.iter().any(|r| r.starts_with("requests (used) imports it at /usr/local/lib/python3.") && r.contains("/requests/compat.py:") && r.ends_with("(in try)")),
        "{:?}",
        sj.reasons
    );
    let co = unused(&a, "colorama").unwrap();
    assert_eq!(co.confidence, "medium", "{co:?}");
    assert!(co.reasons.iter().any(|r| r.starts_with("loguru (used) imports it at") && r.contains("/loguru/_colorama.py:") && r.contains("(in function ")), "{:?}", co.reasons);
    // Nothing imports six: still high, and dropped.
    assert_eq!(unused(&a, "six").unwrap().confidence, "high");
    for f in findings(&a, "unused-package") {
        let drop = matches!(f.fix.action, Action::DropPackage { .. });
        assert_eq!(drop, f.title.starts_with("six "), "{}: {:?}", f.title, f.fix.action);
    }
    let note = why_unused_names_what_was_checked(&img, "simplejson");
    assert!(note.contains("modules of") && note.contains("confidence medium: requests (used) imports it"), "{note}");
    why_unused_names_what_was_checked(&img, "six");
}

/// Item 3. The app is installed with `pip install -e .`; its code imports six only, while its
/// pyproject declares pygments and pre-commit too.
fn editable_project(dir: &Path) -> Img {
    let proj = dir.join("app");
    std::fs::create_dir_all(proj.join("src/myapp")).unwrap();
    std::fs::write(proj.join("pyproject.toml"), "[build-system]\nrequires = [\"setuptools>=64\"]\nbuild-backend = \"setuptools.build_meta\"\n\n[project]\nname = \"myapp\"\nversion = \"0.1.0\"\ndependencies = [\"six==1.17.0\", \"pygments==2.18.0\", \"pre-commit==4.0.1\"]\n\n[project.scripts]\nmyapp = \"myapp.main:main\"\n").unwrap();
    std::fs::write(proj.join("src/myapp/__init__.py"), "").unwrap();
    std::fs::write(proj.join("src/myapp/main.py"), "import six\n\n\ndef main():\n    print(six.PY3)\n").unwrap();
    let v = Venv::new(&dir.join("venv"));
    v.pip(&["-e", proj.to_str().unwrap()]);
    let skip = |rel: &str| rel.contains("egg-info") || rel.contains("__pycache__");
    let app = layer_from(&[(&proj, "app")], &[], &skip);
    image("editable-project", &[app, v.layer(&[(&proj, "app")])], &["COPY . /app", "RUN pip install -e ."], "/app", &["myapp"], &[])
}

#[test]
#[ignore = "installs packages from PyPI into a venv; run by .ci/run"]
fn item3_an_editable_install_is_read_as_the_app() {
    let dir = tempfile::tempdir().unwrap();
    let img = editable_project(dir.path());
    let a = analyzed(&img);
    let app = a.analysis.app.as_ref().unwrap();
    assert!(app.found && app.direct == ["six"], "{app:?}");
    let t = unused(&a, "pygments").expect("pygments is declared but never imported");
    assert_eq!(t.confidence, "high");
    assert!(unused(&a, "myapp").is_none() && unused(&a, "six").is_none());
    let pc = unused(&a, "pre-commit").expect("pre-commit is unused");
    assert!(pc.pulls_in.contains(&"virtualenv".to_string()), "{pc:?}");
    // pre-commit is a dev tool: its own finding, not an unused-package one.
    let dev = findings(&a, "dev-tools");
    assert_eq!(dev.len(), 1, "{dev:?}");
    assert_eq!(dev[0].id, "SLIM012");
    assert_eq!(dev[0].fix.action, Action::DropPackage { name: "pre-commit".into() });
    assert!(dev[0].bytes_saved > 1_000_000, "{}", dev[0].bytes_saved);
    assert!(!findings(&a, "unused-package").iter().any(|f| f.title.starts_with("pre-commit")));
    assert!(findings(&a, "unused-package").iter().any(|f| f.fix.action == Action::DropPackage { name: "pygments".into() }));
    let w = why_json(&img, "myapp");
    assert!(w.matches[0].note.starts_with("the app itself: an editable install"), "{}", w.matches[0].note);
    let note = why_unused_names_what_was_checked(&img, "pygments");
    assert!(note.contains("an editable install's project among them"), "{note}");
}

/// Item 4. markdown-it-py 3.0.0's `code_style` extra asks for `pre-commit~=3.0`; pre-commit
/// 4.0.1 is installed, so the extra is not active.
fn extra_out_of_range(dir: &Path) -> Img {
    let v = Venv::new(&dir.join("venv"));
    v.pip(&["markdown-it-py==3.0.0", "pre-commit==4.0.1"]);
    let app = app_layer(&[("app/main.py", "from markdown_it import MarkdownIt\n\nprint(MarkdownIt().render(\"# hi\"))\n")]);
    image("extra-out-of-range", &[v.layer(&[]), app], &["RUN pip install markdown-it-py pre-commit", "COPY . /app"], "/app", &["python", "main.py"], &[])
}

#[test]
#[ignore = "installs packages from PyPI into a venv; run by .ci/run"]
fn item4_an_extra_is_active_only_when_its_versions_are_met() {
    let dir = tempfile::tempdir().unwrap();
    let img = extra_out_of_range(dir.path());
    let a = analyzed(&img);
    assert!(unused(&a, "mdurl").is_none());
    let pc = unused(&a, "pre-commit").expect("pre-commit: markdown-it-py's code_style extra wants ~=3.0");
    assert_eq!(pc.confidence, "high", "{pc:?}");
    let w = why_json(&img, "pre-commit");
    assert!(w.matches[0].paths.is_empty(), "{:?}", w.matches[0].paths);
    why_unused_names_what_was_checked(&img, "pre-commit");
    assert_eq!(findings(&a, "dev-tools").len(), 1);
}

/// Item 5. uv installed by pip (its RECORD lists `../../../bin/uv`) in /usr/local, then six
/// installed by uv; /usr/local also holds the interpreter's library and a CA file no package
/// owns. pip itself is left out, so uv is the only distribution with files outside the
/// environment.
fn uv_environment(dir: &Path) -> (Img, String) {
    let v = Venv::new(&dir.join("venv"));
    v.pip(&["uv==0.5.11"]);
    let st = std::process::Command::new(v.dir.join("bin/uv")).args(["pip", "install", "-q", "--python"]).arg(v.python()).arg("six==1.17.0").status().unwrap();
    assert!(st.success(), "uv pip install");
    let pyver = v.site.split('/').nth(1).unwrap().to_string();
    let skip = |rel: &str| {
        rel == "pyvenv.cfg"
            || rel.starts_with("bin/python")
            || rel == "lib64"
            || rel.starts_with("bin/pip")
            || rel.contains("site-packages/pip")
            || rel.starts_with("bin/activate")
            || rel.starts_with("bin/Activate")
    };
    let venv_layer = layer_from(&[(&v.dir, "usr/local")], &[(v.dir.display().to_string(), "/usr/local".into())], &skip);
    let base = layer(&[
        E::File(leak(format!("usr/local/lib/{pyver}/os.py")), vec![b'#'; 40_000]),
        E::File(leak(format!("usr/local/lib/{pyver}/__pycache__/os.cpython-311.pyc")), vec![1; 30_000]),
        E::File("usr/local/share/ca-certificates/corp.crt", vec![b'-'; 2_000]),
        E::File("usr/local/bin/python3.11", vec![0x7f; 200_000]),
    ]);
    (image("uv-environment", &[base, venv_layer], &["FROM python:3.11-slim", "RUN pip install uv && uv pip install --system six"], "/", &["uv"], &[]), pyver)
}

#[test]
#[ignore = "installs packages from PyPI into a venv; run by .ci/run"]
fn item5_a_record_path_leaving_the_environment_owns_that_file_only() {
    let dir = tempfile::tempdir().unwrap();
    let (img, _) = uv_environment(dir.path());
    let a = analyzed(&img);
    let uv: Vec<_> = a.analysis.owners.iter().filter(|o| o.name == "uv").collect();
    assert!(uv.iter().any(|o| !o.unrecorded && o.bytes > 10_000_000), "{uv:?}");
    assert!(!uv.iter().any(|o| o.unrecorded && o.files > 0), "{uv:?}");
    // The interpreter's files and the CA file are nobody's package.
    let six = a.analysis.owners.iter().find(|o| o.name == "six").expect("six, installed by uv");
    assert!(six.files >= 3, "{six:?}");
    let cats: u64 = a.analysis.owners.iter().filter(|o| o.kind == "category").map(|o| o.bytes).sum();
    assert!(cats >= 272_000, "{cats}");
    // Every file under /usr/local/bin that uv's RECORD does not list is not uv's.
    let total: u64 = a.analysis.owners.iter().map(|o| o.bytes).sum();
    assert_eq!(total, a.analysis.totals.final_bytes);
}

/// Item 2, the model's own code: a model loaded with trust_remote_code=True may import anything.
#[test]
fn trust_remote_code_makes_unimported_packages_medium() {
    let mut l = wheel("einops", "0.8.0", &[], MANY, &[("einops/__init__.py", 2 * MIB)]);
    l.extend(wheel("sentence-transformers", "3.3.1", &[], MANY, &[("sentence_transformers/__init__.py", 2 * MIB)]));
    let app = app_layer(&[(
        "app/embed.py",
        "from sentence_transformers import SentenceTransformer\n\nmodel = SentenceTransformer(\n    \"nomic-ai/nomic-embed-text-v1.5\", trust_remote_code=True)\n",
    )]);
    let img = image("trust-remote-code", &[layer(&l), app], &["RUN pip install sentence-transformers einops", "COPY . /app"], "/app", &["python", "embed.py"], &[]);
    let a = analyzed(&img);
    let e = unused(&a, "einops").unwrap();
    assert_eq!(e.confidence, "medium");
    assert!(e.reasons.iter().any(|r| r.contains("trust_remote_code=True at /app/embed.py:4")), "{:?}", e.reasons);
    assert!(!findings(&a, "unused-package").iter().any(|f| matches!(f.fix.action, Action::DropPackage { .. })));
    let _ = SP;
}

/// A Hugging Face cache entry with generated weights.
fn hf_model(root: &str, id: &str, size: usize) -> Vec<E<'static>> {
    let d = format!("{root}/models--{}", id.replace('/', "--"));
    vec![
        E::File(leak(format!("{d}/blobs/{}", sha(id.as_bytes()))), vec![id.len() as u8; size]),
        E::File(leak(format!("{d}/blobs/{}", sha(format!("{id}cfg").as_bytes()))), b"{}".to_vec()),
        E::Symlink(leak(format!("{d}/snapshots/abc/model.safetensors")), leak(format!("../../blobs/{}", sha(id.as_bytes())))),
        E::File(leak(format!("{d}/refs/main")), b"abc".to_vec()),
    ]
}

fn wrong_model() -> Img {
    let hub = "root/.cache/huggingface/hub";
    let mut models = hf_model(hub, "Qwen/Qwen3-Reranker-4B", 3 * MIB);
    models.extend(hf_model(hub, "sentence-transformers/all-MiniLM-L6-v2", 2 * MIB));
    models.extend(hf_model(hub, "BAAI/bge-large-en-v1.5", 2 * MIB));
    let mut l = wheel("sentence-transformers", "3.3.1", &[], MANY, &[("sentence_transformers/__init__.py", 1000)]);
    l.extend(wheel("httpx", "0.28.1", &[], MANY, &[("httpx/__init__.py", 1000)]));
    let app = app_layer(&[
        ("app/config.py", "import os\n\nRERANKER_MODEL = os.getenv(\"RERANKER_MODEL\", \"Qwen/Qwen3-Reranker-0.6B\")\nEMBEDDING_MODEL = \"all-MiniLM-L6-v2\"\n"),
        ("app/main.py", "from sentence_transformers import SentenceTransformer\n\nfrom config import EMBEDDING_MODEL\n\nmodel = SentenceTransformer(EMBEDDING_MODEL)\n"),
    ]);
    image(
        "wrong-model",
        &[layer(&l), layer(&models), app],
        &[
            "RUN pip install sentence-transformers httpx",
            "RUN huggingface-cli download Qwen/Qwen3-Reranker-4B && huggingface-cli download sentence-transformers/all-MiniLM-L6-v2 && huggingface-cli download BAAI/bge-large-en-v1.5",
            "COPY . /app",
        ],
        "/app",
        &["python", "main.py"],
        &["EMBED_MODEL=BAAI/bge-small-en-v1.5"],
    )
}

/// Item 6.
#[test]
fn item6_a_baked_model_nothing_names_next_to_a_named_sibling_is_the_wrong_model() {
    let img = wrong_model();
    let a = analyzed(&img);
    let f = findings(&a, "wrong-model");
    let titles: Vec<&str> = f.iter().map(|f| f.title.as_str()).collect();
    assert_eq!(f.len(), 2, "{titles:?}");
    let q = f.iter().find(|f| f.title.contains("Qwen3-Reranker-4B")).unwrap();
    assert_eq!(q.id, "SLIM013");
    assert_eq!(q.severity, "high");
    assert!(q.title.starts_with("the app loads Qwen/Qwen3-Reranker-0.6B (/app/config.py:3) but the image bakes Qwen/Qwen3-Reranker-4B"), "{}", q.title);
    assert!(q.bytes_saved >= (3 * MIB) as u64 && q.bytes_saved < (3 * MIB + 100) as u64, "{}", q.bytes_saved);
    match &q.fix.action {
        Action::DropModel { model, layer, paths, step_brings_only_it, wanted } => {
            assert_eq!((model.as_str(), *layer, wanted.as_str()), ("Qwen/Qwen3-Reranker-4B", 1, "Qwen/Qwen3-Reranker-0.6B"));
            assert_eq!(paths, &["/root/.cache/huggingface/hub/models--Qwen--Qwen3-Reranker-4B"]);
            // The same RUN downloads the MiniLM the app does load.
            assert!(!step_brings_only_it);
        }
        other => panic!("{other:?}"),
    }
    assert!(q.fix.text.contains("huggingface-cli download Qwen/Qwen3-Reranker-0.6B"), "{}", q.fix.text);
    let b = f.iter().find(|f| f.title.contains("bge-large")).unwrap();
    assert!(b.title.starts_with("the app loads BAAI/bge-small-en-v1.5 (ENV EMBED_MODEL)"), "{}", b.title);
    // The MiniLM the app names by its short name is left alone.
    assert!(!titles.iter().any(|t| t.contains("all-MiniLM")), "{titles:?}");
}

fn shipped_archives() -> Img {
    // An sdist: a gzip'd tar with NAME-VERSION/PKG-INFO.
    let mut b = tar::Builder::new(Vec::new());
    for (p, d) in [("mylib-0.3.0/PKG-INFO", &b"Metadata-Version: 2.1\nName: mylib\n"[..]), ("mylib-0.3.0/mylib/__init__.py", &b"X = 1\n"[..])] {
        let mut h = tar::Header::new_gnu();
        h.set_size(d.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, p, d).unwrap();
    }
    let sdist = gzip(&b.into_inner().unwrap());
    let builder = layer(&[
        file("app/build-logs/apt-archives/gcc-12_12.2.0-14_amd64.deb", 3 * MIB),
        file("app/build-logs/apt-archives/cmake_3.25.1-1_amd64.deb", 2 * MIB),
        file("var/cache/apt/archives/libc6_2.36_amd64.deb", MIB),
    ]);
    let context = layer(&[
        E::File("app/main.py", b"import json\n".to_vec()),
        E::File("app/vendor/mylib-0.3.0.tar.gz", sdist),
        file("app/wheels/numpy-2.1.0-cp311-cp311-manylinux_2_17_x86_64.whl", 2 * MIB),
        file("app/data/photos.tar.gz", 10_000),
    ]);
    image("shipped-archives", &[builder, context], &["COPY --from=builder /build-logs /app/build-logs # buildkit", "COPY . /app # buildkit"], "/app", &["python", "main.py"], &[])
}

/// Item 7.
#[test]
fn item7_package_archives_outside_a_cache_are_a_finding_per_step() {
    let img = shipped_archives();
    let a = analyzed(&img);
    let f = findings(&a, "package-archives");
    assert_eq!(f.len(), 2, "{f:?}");
    assert_eq!(f[0].id, "SLIM014");
    let debs = f.iter().find(|f| f.title.contains("layer 0")).unwrap();
    assert_eq!(debs.bytes_saved, (5 * MIB) as u64, "{debs:?}");
    assert!(debs.title.starts_with("2 package archives (deb) in layer 0"), "{}", debs.title);
    assert_eq!(debs.evidence.layers[0].created_by.as_deref(), Some("COPY --from=builder /build-logs /app/build-logs # buildkit"));
    assert_eq!(debs.fix.action, Action::AdviceOnly);
    let ctx = f.iter().find(|f| f.title.contains("layer 1")).unwrap();
    assert!(ctx.title.starts_with("2 package archives (sdist, wheel) in layer 1") || ctx.title.starts_with("2 package archives (wheel, sdist) in layer 1"), "{}", ctx.title);
    assert!(!ctx.evidence.paths.iter().any(|p| p.contains("photos")), "{:?}", ctx.evidence.paths);
    match &ctx.fix.action {
        Action::Dockerignore { patterns } => {
            assert!(patterns.contains(&"**/*.whl".to_string()) && patterns.contains(&"**/mylib-0.3.0.tar.gz".to_string()), "{patterns:?}");
        }
        other => panic!("{other:?}"),
    }
}
