//! `slim why` and unused packages on images built in the test: installed wheels (METADATA with
//! Requires-Dist and markers, RECORD, entry_points.txt) plus app code in /app, with the
//! config's WORKDIR and CMD saying how the app starts.

use crate::util::wheels::{MIB, Wheel};
use crate::util::*;
use slim::model::analysis::Action;

/// An installed wheel with its entry points.
fn wheel(name: &str, version: &str, requires: &[&str], files: &[(&str, usize)], entry_points: &str) -> Vec<E<'static>> {
    Wheel::new(name, version).requires(requires).files(files).entry_points(entry_points).entries()
}

/// The torch stack of a CUDA wheel on x86_64, as PyPI's metadata has it.
fn torch_stack() -> Vec<E<'static>> {
    let linux = "platform_system == \"Linux\" and platform_machine == \"x86_64\"";
    let mut l = wheel(
        "torch",
        "2.5.1",
        &[
            &format!("nvidia-cublas-cu12==12.4.5.8; {linux}"),
            &format!("nvidia-cudnn-cu12==9.1.0.70; {linux}"),
            &format!("triton==3.1.0; {linux}"),
            "typing-extensions>=4.8.0",
            "opt-einsum>=3.3; extra == \"opt-einsum\"",
        ],
        &[("torch/__init__.py", 1000), ("torch/lib/libtorch_cpu.so", 3 * MIB)],
        "[console_scripts]\ntorchrun = torch.distributed.run:main\n",
    );
    l.extend(wheel("nvidia-cublas-cu12", "12.4.5.8", &[], &[("nvidia/__init__.py", 0), ("nvidia/cublas/__init__.py", 10), ("nvidia/cublas/lib/libcublas.so.12", 2 * MIB)], ""));
    l.extend(wheel("nvidia-cudnn-cu12", "9.1.0.70", &["nvidia-cublas-cu12"], &[("nvidia/cudnn/__init__.py", 10), ("nvidia/cudnn/lib/libcudnn.so.9", 2 * MIB)], ""));
    l.extend(wheel("triton", "3.1.0", &[], &[("triton/__init__.py", 100), ("triton/_C/libtriton.so", MIB)], ""));
    l.extend(wheel("typing-extensions", "4.12.2", &[], &[("typing_extensions.py", 3000)], ""));
    l
}

/// httpx and what it needs on 3.11 (anyio's typing-extensions and exceptiongroup are for
/// older pythons only).
fn httpx_stack() -> Vec<E<'static>> {
    let mut l = wheel(
        "httpx",
        "0.27.2",
        &["anyio", "certifi", "httpcore==1.*", "idna", "sniffio", "h2<5,>=3; extra == \"http2\""],
        &[("httpx/__init__.py", 4000)],
        "[console_scripts]\nhttpx = httpx:main\n",
    );
    l.extend(wheel("httpcore", "1.0.5", &["certifi", "h11<0.15,>=0.13"], &[("httpcore/__init__.py", 3000)], ""));
    l.extend(wheel(
        "anyio",
        "4.4.0",
        &["idna>=2.8", "sniffio>=1.1", "exceptiongroup>=1.0.2; python_version < \"3.11\"", "typing-extensions>=4.1; python_version < \"3.11\""],
        &[("anyio/__init__.py", 3000)],
        "",
    ));
    for (n, m) in [("certifi", "certifi/__init__.py"), ("h11", "h11/__init__.py"), ("idna", "idna/__init__.py"), ("sniffio", "sniffio/__init__.py")] {
        l.extend(wheel(n, "1.0", &[], &[(m, 2000)], ""));
    }
    l
}

/// An image of these layers made by `pip install` then `COPY . /app`.
fn image(layers: &[Vec<u8>]) -> Image {
    Image::new(layers).steps(&["RUN pip install torch httpx", "COPY . /app"])
}

fn why_text(img: &Img, package: &str) -> String {
    let out = slim().args(["why", package]).arg(&img.path).env("NO_COLOR", "1").env("COLUMNS", "200").output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Seed 02: the Chainlit UI calls the API over HTTP; torch came along in its requirements.
fn ui_image() -> Img {
    let mut base = torch_stack();
    base.extend(httpx_stack());
    let app = layer(&[
        src("app/ui/__init__.py", ""),
        src(
            "app/ui/main.py",
            "\"\"\"The chat UI: it calls the RAG API over HTTP; no torch here.\"\"\"\nimport os\n\nimport httpx\n\nAPI = os.environ.get(\"API\", \"http://api:8000\")\n\n\ndef ask(q):\n    return httpx.post(API + \"/ask\", json={\"q\": q}).json()\n",
        ),
    ]);
    image(&[layer(&base), app]).workdir("/app").cmd(&["python", "-m", "ui.main"]).arch("amd64").write()
}

#[test]
fn a_ui_that_imports_only_httpx_leaves_torch_and_its_cuda_wheels_unused() {
    let img = ui_image();
    let a = analyzed(&img);
    let app = a.analysis.app.as_ref().unwrap();
    assert!(app.found && app.files == 2, "{app:?}");
    assert_eq!(app.roots, ["/app"]);
    assert_eq!(app.direct, ["httpx"], "{app:?}");

    let t = unused(&a, "torch").expect("torch is unused");
    assert_eq!(t.confidence, "high", "{t:?}");
    assert!(t.required_by.is_empty());
    for n in ["nvidia-cublas-cu12", "nvidia-cudnn-cu12", "triton", "typing-extensions"] {
        assert!(t.pulls_in.contains(&n.to_string()), "{n} in {:?}", t.pulls_in);
    }
    assert!(t.total_bytes >= (8 * MIB) as u64 && t.total_bytes < (8 * MIB + 20_000) as u64, "{}", t.total_bytes);
    assert_eq!(t.layer, 0);
    // The nvidia wheels are not listed again on their own, and httpx's stack is all used
    // (anyio needs typing-extensions only before 3.11).
    assert_eq!(a.analysis.unused_packages.len(), 1, "{:?}", a.analysis.unused_packages);

    let f: Vec<_> = a.analysis.findings.iter().filter(|f| f.rule == "unused-package").collect();
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].id, "SLIM011");
    assert_eq!(f[0].fix.action, Action::DropPackage { name: "torch".into() });
    assert!(f[0].bytes_saved >= (8 * MIB) as u64);
    assert!(f[0].evidence.notes[0].starts_with("confidence: high"), "{:?}", f[0].evidence.notes);

    let w = why_json(&img, "torch");
    assert_eq!(w.matches.len(), 1);
    let m = &w.matches[0];
    assert_eq!(m.used, Some(false));
    assert!(m.paths.is_empty());
    assert!(m.note.starts_with("nothing in the app imports it; installed by layer 0 (RUN pip install torch httpx)"), "{}", m.note);
    let text = why_text(&img, "nvidia_cudnn_cu12");
    assert!(text.contains("nothing in the app imports it; it comes with torch, which nothing in the app imports either"), "{text}");

    // The text report shows the section too.
    let out = slim().arg("analyze").arg(&img.path).env("NO_COLOR", "1").output().unwrap();
    let report = String::from_utf8(out.stdout).unwrap();
    assert!(report.contains("Unused packages") && report.contains("torch 2.5.1 [high]"), "{report}");
}

#[test]
fn markers_follow_the_image_platform() {
    // On arm64 torch does not require the CUDA wheels: they are unused on their own.
    let mut base = torch_stack();
    base.extend(httpx_stack());
    let app = layer(&[src("app/main.py", "import httpx\n")]);
    let img = image(&[layer(&base), app]).workdir("/app").cmd(&["python", "main.py"]).arch("arm64").write();
    let a = analyzed(&img);
    let t = unused(&a, "torch").unwrap();
    assert_eq!(t.pulls_in, ["typing-extensions"]);
    let cudnn = unused(&a, "nvidia-cudnn-cu12").unwrap();
    assert_eq!(cudnn.pulls_in, ["nvidia-cublas-cu12"]);
}

/// Seed 01: sentence-transformers is why torch is there, imported inside a function.
#[test]
fn torch_is_used_through_sentence_transformers_imported_in_a_function() {
    let mut base = torch_stack();
    base.extend(wheel(
        "sentence-transformers",
        "3.3.1",
        &["torch>=1.11.0", "transformers<5.0.0,>=4.41.0", "pytest; extra == \"dev\""],
        &[("sentence_transformers/__init__.py", 5000)],
        "",
    ));
    base.extend(wheel("transformers", "4.46.3", &["typing-extensions"], &[("transformers/__init__.py", 9000)], ""));
    base.extend(httpx_stack());
    let vs = "\"\"\"Long-term memory in Qdrant.\"\"\"\nimport logging\n\nfrom ..settings import EMBEDDING_MODEL\n\nlogger = logging.getLogger(__name__)\n\n\ndef get_embedding_model():\n    try:\n        from sentence_transformers import SentenceTransformer\n    except ImportError:\n        return None\n    return SentenceTransformer(EMBEDDING_MODEL)\n";
    let app = layer(&[
        src("app/src/companion/__init__.py", ""),
        src("app/src/companion/settings.py", "EMBEDDING_MODEL = \"all-MiniLM-L6-v2\"\n"),
        src("app/src/companion/memory/__init__.py", ""),
        src("app/src/companion/memory/vector_store.py", vs),
        src("app/src/companion/main.py", "import httpx\nfrom companion.memory import vector_store\n"),
    ]);
    let img = image(&[layer(&base), app]).workdir("/app").cmd(&["python", "-m", "companion.main"]).arch("amd64").write();
    let a = analyzed(&img);
    assert!(unused(&a, "torch").is_none(), "{:?}", a.analysis.unused_packages);
    assert!(a.analysis.unused_packages.is_empty(), "{:?}", a.analysis.unused_packages);

    let w = why_json(&img, "torch");
    let m = &w.matches[0];
    assert_eq!(m.used, Some(true));
    assert_eq!(m.paths.len(), 1, "{:?}", m.paths);
    let p = &m.paths[0];
    assert_eq!(p.text, "torch ← sentence-transformers ← /app/src/companion/memory/vector_store.py:11");
    assert_eq!(p.sites[0].text, "from sentence_transformers import SentenceTransformer");
    assert_eq!(p.sites[0].context, ["function get_embedding_model", "try"]);
    assert_eq!(p.steps[0].required_as.as_deref(), Some("torch>=1.11.0"));
    // What each step pulls in: torch with its CUDA wheels and triton (not typing-extensions,
    // which transformers needs too); sentence-transformers with all of that.
    assert!(p.steps[0].alone_bytes >= (8 * MIB) as u64, "{:?}", p.steps[0]);
    assert!(p.steps[1].alone_bytes > p.steps[0].alone_bytes);
    let text = why_text(&img, "torch");
    assert!(text.contains("torch ← sentence-transformers ← /app/src/companion/memory/vector_store.py:11"), "{text}");
    assert!(text.contains("[in function get_embedding_model › try]"), "{text}");
}

#[test]
fn plugin_loaded_packages_are_medium_and_say_why() {
    let mut base = httpx_stack();
    // A plugin of the app's own group, a Django app named only in INSTALLED_APPS, and one
    // nothing names at all.
    base.extend(wheel("myapp-s3-store", "1.0", &[], &[("myapp_s3_store/__init__.py", 2 * MIB)], "[myapp.stores]\ns3 = myapp_s3_store:Store\n"));
    base.extend(wheel("django-cors-headers", "4.4.0", &[], &[("corsheaders/__init__.py", 2 * MIB)], ""));
    base.extend(wheel("pandas", "2.2.2", &[], &[("pandas/__init__.py", 2 * MIB)], ""));
    // Django loads its database driver from the ENGINE setting, and declares no extra for it.
    base.extend(wheel("django", "5.1", &[], &[("django/__init__.py", 2 * MIB)], ""));
    base.extend(wheel("psycopg2-binary", "2.9.9", &[], &[("psycopg2/__init__.py", 2 * MIB)], ""));
    let app = layer(&[
        src("app/main.py", "import httpx\nfrom importlib.metadata import entry_points\n\nSTORES = {e.name: e for e in entry_points(group=\"myapp.stores\")}\n"),
        src(
            "app/settings.py",
            "INSTALLED_APPS = [\n    \"django.contrib.admin\",\n    \"corsheaders\",\n]\nDATABASES = {\"default\": {\"ENGINE\": \"django.db.backends.postgresql\"}}\n",
        ),
        src("app/manage.py", "from django.core.management import execute_from_command_line\n"),
    ]);
    let img = image(&[layer(&base), app]).workdir("/app").cmd(&["python", "main.py"]).arch("amd64").write();
    let a = analyzed(&img);
    let s3 = unused(&a, "myapp-s3-store").unwrap();
    assert_eq!(s3.confidence, "medium");
    assert!(s3.reasons[0].contains("group 'myapp.stores', which the app loads at /app/main.py:4"), "{:?}", s3.reasons);
    let cors = unused(&a, "django-cors-headers").unwrap();
    assert_eq!(cors.confidence, "medium");
    assert!(cors.reasons[0].contains("'corsheaders' appears in a string at /app/settings.py:3"), "{:?}", cors.reasons);
    let pg = unused(&a, "psycopg2-binary").unwrap();
    assert_eq!(pg.confidence, "medium");
    assert!(pg.reasons[0].starts_with("django (used) loads it by name from its settings"), "{:?}", pg.reasons);
    assert_eq!(unused(&a, "pandas").unwrap().confidence, "high");
    let actions: Vec<(&str, &Action)> = a.analysis.findings.iter().filter(|f| f.rule == "unused-package").map(|f| (f.title.as_str(), &f.fix.action)).collect();
    assert_eq!(actions.len(), 4, "{actions:?}");
    for (title, action) in actions {
        let drop = matches!(action, Action::DropPackage { .. });
        assert_eq!(drop, title.starts_with("pandas"), "{title}: {action:?}");
    }
}

#[test]
fn a_console_script_in_cmd_uses_its_distribution_and_its_installed_extra() {
    let mut base = httpx_stack();
    base.extend(wheel(
        "uvicorn",
        "0.30.6",
        &["click>=7.0", "h11>=0.8", "uvloop>=0.14.0,!=0.15.0,!=0.15.1; (sys_platform != \"win32\" and (sys_platform != \"cygwin\" and platform_python_implementation != \"PyPy\")) and extra == \"standard\"", "httptools>=0.5.0; extra == \"standard\"", "watchfiles>=0.13; extra == \"standard\""],
        &[("uvicorn/__init__.py", 2 * MIB)],
        "[console_scripts]\nuvicorn = uvicorn.main:main\n",
    ));
    base.extend(wheel("click", "8.1.7", &[], &[("click/__init__.py", 2 * MIB)], ""));
    base.extend(wheel("uvloop", "0.20.0", &[], &[("uvloop/__init__.py", 2 * MIB)], ""));
    base.extend(wheel("httptools", "0.6.1", &[], &[("httptools/__init__.py", 2 * MIB)], ""));
    base.extend(wheel("watchfiles", "0.24.0", &["anyio>=3.0.0"], &[("watchfiles/__init__.py", 2 * MIB)], ""));
    base.extend(wheel("fastapi", "0.115.0", &["starlette"], &[("fastapi/__init__.py", 2 * MIB)], ""));
    base.extend(wheel("starlette", "0.38.0", &["anyio"], &[("starlette/__init__.py", 2 * MIB)], ""));
    let app = layer(&[src("srv/api/main.py", "from fastapi import FastAPI\n\napp = FastAPI()\n")]);
    let img = image(&[layer(&base), app]).workdir("/srv/api").cmd(&["uvicorn", "main:app", "--host", "0.0.0.0"]).arch("amd64").write();
    let a = analyzed(&img);
    let app = a.analysis.app.as_ref().unwrap();
    assert_eq!(app.direct, ["fastapi", "uvicorn"], "{app:?}");
    assert!(app.command.iter().any(|c| c == "uvicorn (CMD)"), "{app:?}");
    // httpx is the only thing nothing reaches.
    let names: Vec<&str> = a.analysis.unused_packages.iter().map(|u| u.name.as_str()).collect();
    assert_eq!(names, ["httpx"], "{:?}", a.analysis.unused_packages);
    // h11 stays (uvicorn needs it), certifi goes with httpx and httpcore.
    assert_eq!(unused(&a, "httpx").unwrap().pulls_in, ["httpcore", "certifi"]);

    let w = why_json(&img, "uvloop");
    let p = &w.matches[0].paths[0];
    assert_eq!(p.text, "uvloop ← uvicorn ← CMD");
    assert_eq!(p.sites[0].how, "console-script");
    assert!(p.steps[0].extra.as_deref().unwrap().starts_with("standard"), "{:?}", p.steps[0]);
}

#[test]
fn relative_imports_stay_in_the_app_and_do_not_shadow_installed_packages() {
    let mut base = torch_stack();
    base.extend(wheel("pyyaml", "6.0.2", &[], &[("yaml/__init__.py", 2 * MIB), ("_yaml/__init__.py", 100)], ""));
    let app = layer(&[
        src("app/pkg/__init__.py", ""),
        // A module of the app called torch: relative imports reach it, not the wheel.
        src("app/pkg/torch.py", "def helper():\n    return 1\n"),
        src("app/pkg/main.py", "from . import torch\nfrom .torch import helper\nfrom .sub.conf import load\n"),
        src("app/pkg/sub/__init__.py", ""),
        // A file called yaml.py inside a package does not shadow the installed yaml.
        src("app/pkg/sub/yaml.py", "X = 1\n"),
        src("app/pkg/sub/conf.py", "import yaml\nfrom .. import torch as t\nfrom ..torch import helper\n\ndef load(p):\n    return yaml.safe_load(open(p))\n"),
    ]);
    let img = image(&[layer(&base), app]).workdir("/app").cmd(&["python", "-m", "pkg.main"]).arch("amd64").write();
    let a = analyzed(&img);
    let app = a.analysis.app.as_ref().unwrap();
    assert_eq!(app.direct, ["pyyaml"], "{app:?}");
    assert_eq!(unused(&a, "torch").unwrap().confidence, "high");
    let w = why_json(&img, "PyYAML");
    assert_eq!(w.matches[0].paths[0].text, "pyyaml ← /app/pkg/sub/conf.py:1");
}

#[test]
fn a_namespace_package_is_split_by_record() {
    let mut base = httpx_stack();
    base.extend(wheel("google-cloud-storage", "2.18.2", &["google-api-core"], &[("google/cloud/storage/__init__.py", 2 * MIB)], ""));
    base.extend(wheel("google-api-core", "2.19.0", &[], &[("google/api_core/__init__.py", 2 * MIB)], ""));
    base.extend(wheel("protobuf", "5.28.0", &[], &[("google/protobuf/__init__.py", 3 * MIB)], ""));
    base.extend(wheel("google-cloud-bigquery", "3.25.0", &["google-api-core"], &[("google/cloud/bigquery/__init__.py", 4 * MIB)], ""));
    let app = layer(&[src("app/main.py", "from google.cloud import storage\nimport httpx\n")]);
    let img = image(&[layer(&base), app]).workdir("/app").cmd(&["python", "main.py"]).arch("amd64").write();
    let a = analyzed(&img);
    let app = a.analysis.app.as_ref().unwrap();
    assert_eq!(app.direct, ["google-cloud-storage", "httpx"], "{app:?}");
    let names: Vec<(&str, &str)> = a.analysis.unused_packages.iter().map(|u| (u.name.as_str(), u.confidence.as_str())).collect();
    assert_eq!(names, [("google-cloud-bigquery", "high"), ("protobuf", "high")]);
    let w = why_json(&img, "google-api-core");
    assert_eq!(w.matches[0].paths[0].text, "google-api-core ← google-cloud-storage ← /app/main.py:1");
}

#[test]
fn without_app_code_nothing_is_called_unused() {
    let img = image(&[layer(&torch_stack())]).workdir("/").cmd(&["python3"]).arch("amd64").write();
    let a = analyzed(&img);
    let app = a.analysis.app.as_ref().unwrap();
    assert!(!app.found);
    assert!(app.note.as_deref().unwrap().starts_with("no application code found"));
    assert!(a.analysis.unused_packages.is_empty());
    assert!(!a.analysis.findings.iter().any(|f| f.rule == "unused-package"));
    let w = why_json(&img, "triton");
    let m = &w.matches[0];
    assert_eq!(m.used, None);
    assert!(m.note.starts_with("no application code found in the image"), "{}", m.note);
    assert_eq!(m.required_by, ["torch"]);
}

#[test]
fn an_unknown_package_is_an_input_error_with_suggestions() {
    let img = ui_image();
    let out = slim().args(["why", "nvidia"]).arg(&img.path).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no Python distribution or dpkg package named \"nvidia\"") && err.contains("nvidia-cublas-cu12"), "{err}");
}

#[test]
fn dpkg_packages_are_explained_by_depends() {
    let status = "Package: libc6\nStatus: install ok installed\nVersion: 2.36\nArchitecture: amd64\n\nPackage: libgomp1\nStatus: install ok installed\nVersion: 12.2\nArchitecture: amd64\nDepends: libc6 (>= 2.34)\n\nPackage: libopenblas0\nStatus: install ok installed\nVersion: 0.3.21\nArchitecture: amd64\nDepends: libopenblas0-pthread | libopenblas0-openmp\n\nPackage: libopenblas0-pthread\nStatus: install ok installed\nVersion: 0.3.21\nArchitecture: amd64\nProvides: libblas.so.3\nDepends: libc6, libgomp1\n";
    let l = layer(&[
        E::File("var/lib/dpkg/status", status.as_bytes().to_vec()),
        src("var/lib/dpkg/info/libgomp1:amd64.list", "/usr/lib/x86_64-linux-gnu/libgomp.so.1\n"),
        file("usr/lib/x86_64-linux-gnu/libgomp.so.1", 300_000),
    ]);
    let img = image(&[l]).workdir("/").cmd(&["bash"]).arch("amd64").write();
    let w = why_json(&img, "libgomp1");
    let m = &w.matches[0];
    assert_eq!(m.kind, "dpkg");
    assert_eq!(m.bytes, 300_000);
    assert_eq!(m.required_by, ["libopenblas0-pthread"]);
    assert_eq!(m.paths[0].text, "libgomp1 ← libopenblas0-pthread ← libopenblas0");
}
