//! `slim rewrite` across stages: a package installed in a stage the final stage copies from is
//! edited there, its saving counted in the layer that copies it, and a stage the image is not
//! made of is left alone; a toolchain that compiled something for a uv or poetry project goes
//! into a builder stage whose environment the runtime stage copies.

use crate::util::wheels::{self, *};
use crate::util::*;
use serde_json::Value;

#[test]
fn an_unused_package_installed_in_a_builder_stage_is_dropped_there() {
    let dir = tempfile::tempdir().unwrap();
    let mut l = wheel("httpx", "0.27.2", &[], "py3-none-any", &[("httpx/__init__.py", 4000)]);
    l.extend(wheel("pandas", "2.2.3", &[], MANY, &[("pandas/__init__.py", 3 * MIB)]));
    let app = layer(&[E::File("app/main.py", b"import httpx\nprint(httpx.__name__)\n".to_vec())]);
    let img = Image::new(&[layer(&l), app]).history(&["COPY /install /usr/local # buildkit", "COPY main.py /app/main.py # buildkit"]).main_py().write_in(dir.path());
    let ctx = dir.path().join("ctx");
    std::fs::create_dir(&ctx).unwrap();
    std::fs::write(ctx.join("main.py"), "import httpx\n").unwrap();
    let df = "\
FROM python:3.11-slim AS docs
RUN pip install pandas sphinx

FROM python:3.11-slim AS build
RUN pip install --prefix=/install httpx pandas

FROM python:3.11-slim
COPY --from=build /install /usr/local
WORKDIR /app
COPY main.py /app/main.py
CMD [\"python\", \"main.py\"]
";
    let (out, r) = rewrite_in(&img, &ctx, df, false);
    let pandas = r["changes"].as_array().unwrap().iter().find(|c| c["rule"] == "unused-package" && c["title"].as_str().unwrap().contains("pandas")).expect("pandas is unused");
    assert_eq!(pandas["applied"], true, "{pandas}");
    assert!(out.contains("RUN pip install --prefix=/install httpx\n"), "dropped in the stage the image copies from:\n{out}");
    assert!(out.contains("RUN pip install pandas sphinx\n"), "a stage the image is not made of is left alone:\n{out}");
    // The saving is counted in the layer of the COPY --from that brings the stage's files.
    let saved = r["before_bytes"].as_u64().unwrap() - r["predicted_after_bytes"].as_u64().unwrap();
    assert!(saved >= (3 * MIB) as u64 && saved < (3 * MIB + 10_000) as u64, "{saved}");
}

/// The rewritten requirements file goes into the build context, but never over a file of the
/// user's: the run fails before writing anything, and the file is as it was. The same file
/// written again by a second identical run is not an obstacle.
#[test]
fn a_rewritten_requirements_file_never_replaces_one_of_the_users() {
    let ctx = tempfile::tempdir().unwrap();
    copy_tree(std::path::Path::new("fixtures/src/example"), ctx.path());
    let mine = ctx.path().join("requirements.slim.txt");
    std::fs::write(&mine, "mine\n").unwrap();
    let out = ctx.path().join("Dockerfile.slim");
    let rewrite = || slim().args(["rewrite", "fixtures/images/example.tar", "--dockerfile"]).arg(ctx.path().join("Dockerfile")).arg("-o").arg(&out).output().unwrap();
    let o = rewrite();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("requirements.slim.txt"), "{err}");
    assert_eq!(std::fs::read_to_string(&mine).unwrap(), "mine\n");
    assert!(!out.exists() && !ctx.path().join("Dockerfile.slim.dockerignore").exists(), "nothing written");
    std::fs::remove_file(&mine).unwrap();
    for round in 0..2 {
        let o = rewrite();
        assert!(o.status.success(), "round {round}: {}", String::from_utf8_lossy(&o.stderr));
        assert!(std::fs::read_to_string(&mine).unwrap().contains("distro"), "round {round}");
    }
}

/// The toolchain layer, the installer's layer, the project files, the environment with a C
/// extension built here from a local directory (`env`: its site-packages) and what the install
/// left beside it (`junk`), and the app; with each step's history line.
fn native_project(env: &str, installer: &str, junk: &'static str, steps: [&str; 6]) -> (std::path::PathBuf, tempfile::TempDir, u64) {
    let dir = tempfile::tempdir().unwrap();
    let tools = dpkg_layer(&[("gcc-12", "usr/lib/gcc/x86_64-linux-gnu/12/cc1", 4 * MIB), ("python3-dev", "usr/include/python3.11/Python.h", 200_000)], vec![]);
    let inst = layer(
        &Wheel::new(installer, "1.0.0")
            .entry_points(&format!("[console_scripts]\n{installer} = {installer}.__main__:main\n"))
            .files(&[(&format!("{installer}/__init__.py"), 2 * MIB)])
            .entries(),
    );
    let project = layer(&[E::File("app/pyproject.toml", b"[project]\nname = \"sums\"\n".to_vec())]);
    let native = layer(&[E::File("app/native/fastsum.c", b"/* C */\n".to_vec())]);
    let mut built = Wheel::new("fastsum", "0.1.0").env(env).tag("cp311-cp311-linux_x86_64").files(&[("fastsum.cpython-311-x86_64-linux-gnu.so", 300_000)]).entries();
    built.push(E::File(leak(format!("{env}/fastsum-0.1.0.dist-info/direct_url.json")), br#"{"dir_info": {}, "url": "file:///app/native"}"#.to_vec()));
    built.extend(Wheel::new("tabulate", "0.9.0").env(env).files(&[("tabulate/__init__.py", 100_000)]).entries());
    built.push(E::File(junk, vec![7; 1_000_000]));
    let app = layer(&[E::File("app/main.py", b"import fastsum, tabulate\n".to_vec())]);
    let steps: Vec<String> = steps.iter().map(|s| s.to_string()).collect();
    let data = docker_archive_cfg(&[tools, inst, project, native, layer(&built), app], "t:1", false, move |c| {
        c["history"] = Value::Array(steps.iter().map(|s| serde_json::json!({"created_by": s})).collect());
        c["config"]["WorkingDir"] = serde_json::json!("/app");
    });
    let img = dir.path().join("img.tar");
    std::fs::write(&img, data).unwrap();
    (img, dir, 1_000_000 + 2 * (MIB as u64))
}

/// `slim rewrite` of `df`, written as `ctx`'s Dockerfile, for `img`: the slimmed Dockerfile (which
/// must parse) and the report. (`force`: a variant of the Dockerfile the image was not built from.)
fn rewrite_in(img: &std::path::Path, ctx: &std::path::Path, df: &str, force: bool) -> (String, Value) {
    std::fs::write(ctx.join("Dockerfile"), df).unwrap();
    let res = slim()
        .arg("rewrite")
        .arg(img)
        .arg("--dockerfile")
        .arg(ctx.join("Dockerfile"))
        .arg("-o")
        .arg(ctx.join("Dockerfile.slim"))
        .args(["--format", "json"])
        .args(force.then_some("--force"))
        .output()
        .unwrap();
    assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
    let r: Value = serde_json::from_slice(&res.stdout).unwrap();
    let out = std::fs::read_to_string(ctx.join("Dockerfile.slim")).unwrap();
    slim::dockerfile::parse("Dockerfile.slim", &out).unwrap();
    (out, r)
}

/// `slim rewrite` of `df` for `img`: the slimmed Dockerfile, the runtime stage alone, the report.
/// (`force`: a variant of the Dockerfile the image was not built from.)
fn staged(img: &std::path::Path, dir: &std::path::Path, df: &str, force: bool) -> (String, String, Value) {
    let ctx = dir.join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    let (out, r) = rewrite_in(img, &ctx, df, force);
    let tc = r["changes"].as_array().unwrap().iter().find(|c| c["rule"] == "build-toolchain").expect("a build-toolchain change");
    assert_eq!(tc["applied"], true, "{tc}\n{out}");
    let runtime = out[out.rfind("\nFROM ").expect("two stages")..].to_string();
    (out, runtime, r)
}

const UV_STEPS: [&str; 6] = [
    "/bin/sh -c apt-get update && apt-get install -y build-essential python3-dev",
    "/bin/sh -c pip install uv==0.5.11",
    "COPY pyproject.toml uv.lock ./ # buildkit",
    "COPY native/ native/ # buildkit",
    "/bin/sh -c uv sync --frozen --no-cache",
    "COPY main.py ./ # buildkit",
];

#[test]
fn a_uv_project_builds_in_a_builder_stage_and_ships_only_its_environment() {
    let (img, dir, junk_and_uv) = native_project("app/.venv/lib/python3.11/site-packages", "uv", "root/.config/uv/state.bin", UV_STEPS);
    let df = "FROM python:3.11-slim\nRUN apt-get update && apt-get install -y build-essential python3-dev\nRUN pip install uv==0.5.11\nWORKDIR /app\nCOPY pyproject.toml uv.lock ./\nCOPY native/ native/\nRUN uv sync --frozen --no-cache\nCOPY main.py ./\nCMD [\"/app/.venv/bin/python\", \"main.py\"]\n";
    let (out, runtime, r) = staged(&img, dir.path(), df, false);
    let builder = &out[..out.len() - runtime.len()];
    assert!(
        builder.contains("FROM python:3.11-slim AS slim-builder\nRUN apt-get update && apt-get install -y build-essential python3-dev\nRUN pip install uv==0.5.11\nWORKDIR /app\n"),
        "{out}"
    );
    assert!(builder.contains("RUN uv sync --frozen --no-cache\n") && !builder.contains("venv --without-pip"), "uv makes its own environment:\n{out}");
    assert!(runtime.contains("COPY --from=slim-builder /app/.venv /app/.venv\nCOPY main.py ./\nCMD"), "{out}");
    // Nothing runs uv after the build: neither the toolchain nor uv ships, nor the project's lock.
    for gone in ["apt-get", "build-essential", "uv==", "uv sync", "uv.lock", "ENV PATH"] {
        assert!(!runtime.contains(gone), "{gone} in the runtime stage:\n{out}");
    }
    // The prediction takes out uv's layer and what the sync left outside the environment, and
    // keeps the environment.
    let tc = r["changes"].as_array().unwrap().iter().find(|c| c["rule"] == "build-toolchain").unwrap();
    let saved = r["before_bytes"].as_u64().unwrap() - r["predicted_after_bytes"].as_u64().unwrap();
    let toolchain = tc["bytes_saved"].as_u64().unwrap();
    assert!(saved >= toolchain + junk_and_uv && saved < toolchain + junk_and_uv + 10_000, "saved {saved}, toolchain {toolchain}");

    // UV_PROJECT_ENVIRONMENT moves the environment; the runtime copies it from there.
    let df2 = df.replace("WORKDIR /app\n", "WORKDIR /app\nENV UV_PROJECT_ENVIRONMENT=/opt/env\n");
    let (_, runtime, _) = staged(&img, dir.path(), &df2, true);
    assert!(runtime.contains("COPY --from=slim-builder /opt/env /opt/env\n") && runtime.contains("ENV UV_PROJECT_ENVIRONMENT=/opt/env\n"), "{runtime}");

    // `uv run` runs uv after the build: uv and the project's files stay.
    let df3 = df.replace("CMD [\"/app/.venv/bin/python\", \"main.py\"]", "CMD [\"uv\", \"run\", \"main.py\"]");
    let (_, runtime, _) = staged(&img, dir.path(), &df3, true);
    assert!(runtime.contains("RUN pip install uv==0.5.11\n") && runtime.contains("COPY pyproject.toml uv.lock ./\n") && !runtime.contains("build-essential"), "{runtime}");
    // ...and uv run takes the environment as copied, syncing nothing (only where uv runs).
    assert!(runtime.contains("ENV UV_NO_SYNC=1\n"), "{runtime}");
    let (_, runtime, _) = staged(&img, dir.path(), &df, true);
    assert!(!runtime.contains("UV_NO_SYNC"), "{runtime}");
}

#[test]
fn uv_pip_install_system_goes_into_the_builders_venv() {
    let steps = [UV_STEPS[0], UV_STEPS[1], "COPY requirements.txt ./ # buildkit", UV_STEPS[3], "/bin/sh -c uv pip install --system -r requirements.txt ./native", UV_STEPS[5]];
    let (img, dir, _) = native_project(wheels::SP, "uv", "root/.config/uv/x.bin", steps);
    let df = "FROM python:3.11-slim\nRUN apt-get update && apt-get install -y build-essential python3-dev\nRUN pip install uv==0.5.11\nWORKDIR /app\nCOPY requirements.txt ./\nCOPY native/ native/\nRUN uv pip install --system -r requirements.txt ./native\nCOPY main.py ./\nCMD [\"python\", \"main.py\"]\n";
    let (out, runtime, _) = staged(&img, dir.path(), df, false);
    // `--system` would put the packages beside the system's python, which the runtime stage
    // does not copy: the builder installs into its venv instead (found through VIRTUAL_ENV).
    let venv = out
        .find("RUN python3 -m venv --without-pip /opt/venv\nENV VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH PIP_PYTHON=/opt/venv/bin/python UV_SYSTEM_PYTHON=0\n")
        .expect(&out);
    assert!(out.find("RUN pip install uv==0.5.11\n").unwrap() < venv, "uv stays out of the venv:\n{out}");
    assert!(out.contains("RUN uv pip install -r requirements.txt ./native\n"), "{out}");
    assert!(runtime.contains("COPY --from=slim-builder /opt/venv /opt/venv\nENV PATH=/opt/venv/bin:$PATH\n") && !runtime.contains("uv"), "{out}");
    // A venv the Dockerfile makes itself (`uv venv`, .venv in the WORKDIR) is the one copied.
    let df2 = df.replace("RUN uv pip install --system", "RUN uv venv --python 3.11 && uv pip install");
    let (out, runtime, _) = staged(&img, dir.path(), &df2, true);
    assert!(runtime.contains("COPY --from=slim-builder /app/.venv /app/.venv\nCOPY main.py") && !out.contains("/opt/venv"), "{out}");
}

#[test]
fn a_poetry_project_builds_into_a_venv_and_keeps_poetry_when_cmd_runs_it() {
    let steps = [
        UV_STEPS[0],
        "/bin/sh -c pip install poetry==1.8.5",
        "COPY pyproject.toml poetry.lock ./ # buildkit",
        UV_STEPS[3],
        "/bin/sh -c poetry config virtualenvs.create false && poetry install --no-root",
        UV_STEPS[5],
    ];
    let (img, dir, _) = native_project(wheels::SP, "poetry", "root/.cache/pypoetry/artifacts/x.whl", steps);
    let df = "FROM python:3.11-slim\nRUN apt-get update && apt-get install -y build-essential python3-dev\nRUN pip install poetry==1.8.5\nWORKDIR /app\nCOPY pyproject.toml poetry.lock ./\nCOPY native/ native/\nRUN poetry config virtualenvs.create false && poetry install --no-root\nCOPY main.py ./\nCMD [\"poetry\", \"run\", \"python\", \"main.py\"]\n";
    let (out, runtime, r) = staged(&img, dir.path(), df, false);
    // The venv comes after poetry's own install, so poetry does not land in it, and poetry
    // finds it as the active environment.
    assert!(out.contains("RUN pip install poetry==1.8.5\nWORKDIR /app\nCOPY pyproject.toml poetry.lock ./\nCOPY native/ native/\nRUN python3 -m venv --without-pip /opt/venv\nENV VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH\nRUN poetry config"), "{out}");
    assert!(runtime.contains("COPY --from=slim-builder /opt/venv /opt/venv\nENV VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH\n"), "{out}");
    // CMD runs poetry: it stays, with the project file it reads; the toolchain does not.
    assert!(runtime.contains("RUN pip install poetry==1.8.5\n") && runtime.contains("COPY pyproject.toml poetry.lock ./\n"), "{out}");
    assert!(!runtime.contains("build-essential") && !runtime.contains("poetry install"), "{out}");
    // poetry's cache stays in the builder; the prediction says so.
    let tc = r["changes"].as_array().unwrap().iter().find(|c| c["rule"] == "build-toolchain").unwrap();
    let saved = r["before_bytes"].as_u64().unwrap() - r["predicted_after_bytes"].as_u64().unwrap();
    assert!(saved >= tc["bytes_saved"].as_u64().unwrap() + 1_000_000, "{saved}");

    // Without `poetry run`, poetry goes too; with in-project venvs the runtime copies /app/.venv.
    let df2 = df
        .replace("poetry config virtualenvs.create false", "poetry config virtualenvs.in-project true")
        .replace("CMD [\"poetry\", \"run\", \"python\", \"main.py\"]", "CMD [\"/app/.venv/bin/python\", \"main.py\"]");
    let (out, runtime, _) = staged(&img, dir.path(), &df2, true);
    assert!(runtime.contains("COPY --from=slim-builder /app/.venv /app/.venv\nCOPY main.py ./\n") && !runtime.contains("poetry") && !out.contains("/opt/venv"), "{out}");
    // poetry configured in a step of its own: that step stays in the builder with poetry.
    let df3 = df2.replace("RUN poetry config virtualenvs.in-project true && poetry install", "RUN poetry config virtualenvs.in-project true\nRUN poetry install");
    let (out, runtime, _) = staged(&img, dir.path(), &df3, true);
    assert!(out.contains("RUN poetry config virtualenvs.in-project true\nRUN poetry install") && !runtime.contains("poetry"), "{out}");
}
