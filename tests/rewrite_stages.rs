//! `slim rewrite` across stages: a package installed in a stage the final stage copies from is
//! edited there, its saving counted in the layer that copies it, and a stage the image is not
//! made of is left alone.

use crate::util::wheels::*;
use crate::util::*;
use assert_cmd::Command;
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
    std::fs::write(ctx.join("Dockerfile"), df).unwrap();
    let res = Command::cargo_bin("slim")
        .unwrap()
        .env("NO_COLOR", "1")
        .arg("rewrite")
        .arg(&img)
        .arg("--dockerfile")
        .arg(ctx.join("Dockerfile"))
        .arg("-o")
        .arg(ctx.join("Dockerfile.slim"))
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(res.status.success(), "{}", String::from_utf8_lossy(&res.stderr));
    let r: Value = serde_json::from_slice(&res.stdout).unwrap();
    let out = std::fs::read_to_string(ctx.join("Dockerfile.slim")).unwrap();
    slim::dockerfile::parse("Dockerfile.slim", &out).unwrap();
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
