//! `--format html`: one self-contained page drawn from the same model as the JSON. The page's
//! structure and numbers are checked here; `the_reports_work_in_chromium` opens them in a real
//! (headless) browser through tests/browser/report.mjs.

use crate::util::wheels::{MANY, MIB, leak, wheel};
use crate::util::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

const PYAPP: &str = "fixtures/images/pyapp-docker-archive.tar";

/// The JSON the page draws, read back out of its `<script type="application/json">`.
fn embedded(html: &str) -> Value {
    let data = html.split("<script type=\"application/json\" id=\"slim-data\">").nth(1).expect("a data element");
    serde_json::from_str(data.split("</script>").next().unwrap()).expect("the data is JSON")
}

/// An image with the usual problems: apt lists, a pip cache, a package nothing imports, a
/// `.git` copied in, a file deleted by a later layer, and many small files.
pub fn problem_image() -> Vec<u8> {
    let mut base = dpkg(&[("libc6", "usr/lib/x86_64-linux-gnu/libc.so.6", 2 * MIB), ("python3.11", "usr/bin/python3.11", MIB)]);
    base.push(file("var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages", 3 * MIB));
    for i in 0..400 {
        base.push(E::File(leak(format!("usr/share/doc/many/file-{i:03}.txt")), vec![i as u8; 700 + i * 3]));
    }
    let mut pip = wheel("requests", "2.32.3", &["urllib3<3"], "py3-none-any", &[("requests/__init__.py", 300_000)]);
    pip.extend(wheel("urllib3", "2.2.3", &[], "py3-none-any", &[("urllib3/__init__.py", 200_000)]));
    pip.extend(wheel("pandas", "2.2.3", &["numpy>=1.23"], MANY, &[("pandas/_libs/lib.so", 3 * MIB), ("pandas/__init__.py", 9000)]));
    pip.extend(wheel("numpy", "2.1.3", &[], MANY, &[("numpy/core/_multiarray_umath.so", 2 * MIB)]));
    pip.push(file("root/.cache/pip/http-v2/a/b/c/body", 2 * MIB));
    pip.push(file("tmp/build/sdist.tar", 3 * MIB));
    let app = vec![E::File("app/main.py", b"import requests\n\nprint(requests.get)\n".to_vec()), file("app/.git/objects/pack/pack-1.pack", MIB)];
    let clean = vec![E::Whiteout("tmp/build")];
    let steps = [
        "/bin/sh -c apt-get update && apt-get install -y python3.11",
        "/bin/sh -c pip install requests pandas",
        "/bin/sh -c #(nop) COPY dir:0a1b2c in /app",
        "/bin/sh -c rm -rf /tmp/build",
    ];
    Image::new(&[layer(&base), layer(&pip), layer(&app), layer(&clean)]).tag("problems:1").history(&steps).bare_config().main_py().archive()
}

fn write_image(dir: &Path) -> PathBuf {
    write_in(dir, "problems.tar", &problem_image())
}

fn html_of(args: &[&str], code: i32) -> String {
    let out = slim().args(args).output().unwrap();
    assert_eq!(out.status.code(), Some(code), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Every node's children add up to it, and no list of children is longer than the bound.
fn adds_up(n: &Value, nodes: &mut usize) {
    *nodes += 1;
    let kids = n["children"].as_array().map(Vec::as_slice).unwrap_or(&[]);
    if kids.is_empty() {
        return;
    }
    assert!(kids.len() <= 41, "{} children under {}", kids.len(), n["name"]);
    let sum: u64 = kids.iter().map(|k| k["bytes"].as_u64().unwrap()).sum();
    assert_eq!(sum, n["bytes"].as_u64().unwrap(), "children of {} ({})", n["name"], n["level"]);
    for k in kids {
        adds_up(k, nodes);
    }
}

#[test]
fn analyze_html_embeds_the_same_model_as_the_json() {
    let dir = tempfile::tempdir().unwrap();
    let img = write_image(dir.path());
    let img = img.to_str().unwrap();
    let html = html_of(&["analyze", img, "--format", "html"], 0);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'sha256-"));
    assert!(!html.contains("src=\"http") && !html.contains("href=\"http"), "nothing to fetch");
    let page = embedded(&html);
    assert_eq!(page["kind"], "analyze");
    let mut a = page["analysis"].clone();
    let map = a.as_object_mut().unwrap().remove("treemap").expect("a treemap");
    let json: Value = serde_json::from_slice(&slim().args(["analyze", img, "--format", "json"]).output().unwrap().stdout).unwrap();
    assert!(json.get("treemap").is_none(), "the JSON report keeps its fields");
    assert_eq!(a, json, "the page draws the JSON's numbers");
    assert!(!a["findings"].as_array().unwrap().is_empty());

    // The treemap: the image → owner kinds → ..., adding up to the final filesystem.
    assert_eq!(map["bytes"], json["totals"]["final_bytes"]);
    assert_eq!(map["files"], json["totals"]["final_files"]);
    let mut nodes = 0;
    adds_up(&map, &mut nodes);
    for k in map["children"].as_array().unwrap() {
        let owners: u64 = json["owners"].as_array().unwrap().iter().filter(|o| o["kind"] == k["name"]).map(|o| o["bytes"].as_u64().unwrap()).sum();
        assert_eq!(k["bytes"].as_u64().unwrap(), owners, "kind {}", k["name"]);
    }
    // 400 small documentation files are folded into one rectangle.
    let text = map.to_string();
    assert!(text.contains("smaller files"), "{text}");
    assert!(nodes < 200, "{nodes} nodes");
}

#[test]
fn check_html_puts_the_verdict_first_and_keeps_the_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let img = write_image(dir.path());
    let html = html_of(&["check", img.to_str().unwrap(), "--budget", "5MB", "--format", "html"], 1);
    let page = embedded(&html);
    assert_eq!(page["kind"], "check");
    assert_eq!(page["check"]["passed"], false);
    assert_eq!(page["check"]["checks"][0]["limit_text"], "5.0 MB");
    assert!(page["analysis"]["treemap"].is_object());
}

#[test]
fn diff_html_holds_both_sides() {
    let dir = tempfile::tempdir().unwrap();
    let img = write_image(dir.path());
    let html = html_of(&["diff", PYAPP, img.to_str().unwrap(), "--format", "html"], 0);
    let d = embedded(&html);
    assert_eq!(d["kind"], "diff");
    assert_eq!(d["diff"]["after"]["image"]["reference"], "problems:1");
    assert!(d["diff"]["owners"].as_array().unwrap().iter().any(|o| o["name"] == "pandas" && o["change"] == "appeared"));
}

#[test]
fn a_bad_output_path_fails_before_the_analysis() {
    let out = slim().args(["analyze", PYAPP, "--format", "html", "-o", "/nonexistent/dir/r.html"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("/nonexistent/dir/r.html") && err.lines().count() == 1, "{err}");
}

/// Writes every kind of report for the browser test and returns (kind, file) pairs.
fn reports(dir: &Path) -> Vec<(String, PathBuf)> {
    let img = write_image(dir);
    let img = img.to_str().unwrap();
    let mut out = Vec::new();
    let mut write = |kind: &str, args: &[&str], code: i32| {
        let p = dir.join(format!("{kind}.html"));
        std::fs::write(&p, html_of(args, code)).unwrap();
        out.push((kind.to_string(), p));
    };
    write("analyze", &["analyze", img, "--format", "html"], 0);
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/images/example.tar");
    write("example", &["analyze", example.to_str().unwrap(), "--format", "html"], 0);
    write("check", &["check", img, "--budget", "5MB", "--max-wasted", "10MiB", "--format", "html"], 1);
    write("diff", &["diff", PYAPP, img, "--format", "html"], 0);
    let slimmed = dir.join("Dockerfile.slim");
    write("rewrite", &["rewrite", img, "--format", "html", "-o", slimmed.to_str().unwrap()], 0);
    out
}

#[test]
#[ignore = "needs chromium and tests/browser/node_modules (npm ci); run by .ci/run"]
fn the_reports_work_in_chromium() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let browser = root.join("tests/browser");
    assert!(browser.join("node_modules/puppeteer-core").is_dir(), "run `npm ci --prefix tests/browser` first (.ci/run does)");
    let dir = tempfile::tempdir().unwrap();
    let shots = root.join("target/report-screenshots");
    let mut node = std::process::Command::new("node");
    node.arg(browser.join("report.mjs")).arg(&shots);
    for (kind, file) in reports(dir.path()) {
        node.arg(format!("{kind}={}", file.display()));
    }
    let out = node.output().expect("node runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the reports fail in chromium:\n{stderr}{stdout}");
    eprintln!("timings: {stdout}");
    for kind in ["analyze", "analyze-finding", "analyze-layer", "example", "example-layer", "check", "diff", "rewrite"] {
        assert!(shots.join(format!("{kind}.png")).is_file(), "no screenshot of {kind}");
    }
}

#[test]
fn analyze_markdown_stays_under_githubs_comment_limit() {
    let dir = tempfile::tempdir().unwrap();
    let img = write_image(dir.path());
    let md = String::from_utf8(slim().args(["analyze", img.to_str().unwrap(), "--format", "markdown"]).output().unwrap().stdout).unwrap();
    assert!(md.starts_with("### slim analyze: "), "{md}");
    assert!(md.contains("| could save | rule | finding | fix |"));
    assert!(md.contains("| python | `pandas` | 2.2.3 | 3.0 MiB |"), "{md}");
    assert!(md.contains("| | **total** | | **15.0 MiB** | 426 |"), "{md}");

    // 3000 packages asked for in full: the rows are cut, the total stays.
    let names: Vec<(String, String)> = (0..3000).map(|i| (format!("package-with-a-long-name-{i:04}"), format!("usr/lib/p{i}/lib.so"))).collect();
    let pkgs: Vec<(&str, &str, usize)> = names.iter().enumerate().map(|(i, (n, p))| (n.as_str(), p.as_str(), 1000 + i)).collect();
    let big = dir.path().join("many.tar");
    std::fs::write(&big, docker_archive(&[layer(&dpkg(&pkgs))], "many:1", false)).unwrap();
    let out = slim().args(["analyze", big.to_str().unwrap(), "--format", "markdown", "--top", "100000"]).output().unwrap();
    assert!(out.status.success());
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(md.chars().count() < 65_536, "{} characters", md.chars().count());
    assert!(md.contains("more owners |") && md.contains("**total**"), "{md}");
    assert!(md.contains("package-with-a-long-name-2999"), "the largest package is kept");
}

#[test]
fn completions_for_every_shell_and_a_man_page() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = slim().args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}");
        let text = String::from_utf8(out.stdout).unwrap();
        for sub in ["analyze", "check", "diff", "rewrite", "why"] {
            assert!(text.contains(sub), "{shell} completes {sub}");
        }
    }
    // bash reads the script and binds it to slim.
    let script = slim().args(["completions", "bash"]).output().unwrap().stdout;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("slim.bash"), script).unwrap();
    let bound = std::process::Command::new("bash").arg("-c").arg(format!("source {}/slim.bash && complete -p slim", dir.path().display())).output().unwrap();
    assert!(String::from_utf8_lossy(&bound.stdout).contains("-F _slim"), "{}", String::from_utf8_lossy(&bound.stderr));
    assert_eq!(slim().args(["completions", "tcsh"]).output().unwrap().status.code(), Some(2));

    let man = String::from_utf8(slim().arg("man").output().unwrap().stdout).unwrap();
    assert!(man.contains(".TH slim 1"), "{man}");
    for sub in ["analyze", "check", "diff", "rewrite", "why", "completions"] {
        assert!(man.contains(&format!("slim\\-{sub}")) || man.contains(sub), "man lists {sub}");
    }
}

/// action/check.sh as the runner runs it: in the repository, with the variables GitHub sets.
fn run_action(work: &Path, image: &Path, args: &str) -> (i32, String, String, PathBuf) {
    let bin = assert_cmd::cargo::cargo_bin("slim");
    let summary = work.join("summary.md");
    let outputs = work.join("outputs.txt");
    std::fs::write(&summary, "earlier step\n").unwrap();
    std::fs::write(&outputs, "").unwrap();
    // a `slim` first on PATH that logs each run, then runs the real one
    let shim = work.join("shim");
    std::fs::create_dir_all(&shim).unwrap();
    std::fs::write(shim.join("slim"), format!("#!/bin/sh\necho \"$*\" >> {}\nexec {} \"$@\"\n", work.join("runs.log").display(), bin.display())).unwrap();
    std::fs::set_permissions(shim.join("slim"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let _ = std::fs::remove_file(work.join("runs.log"));
    let path = format!("{}:{}", shim.display(), std::env::var("PATH").unwrap());
    let out = std::process::Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("action/check.sh"))
        .current_dir(work)
        .env("PATH", path)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_ACTION_PATH", env!("CARGO_MANIFEST_DIR"))
        .env("GITHUB_WORKSPACE", work)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .env("GITHUB_OUTPUT", &outputs)
        .env("RUNNER_TEMP", work)
        .env("SLIM_IMAGE", image)
        .env("SLIM_CONFIG", "")
        .env("SLIM_ARGS", args)
        .env("SLIM_REPORT", "slim-report.html")
        .output()
        .unwrap();
    let code = out.status.code().unwrap();
    let runs = std::fs::read_to_string(work.join("runs.log")).unwrap_or_default();
    assert_eq!(runs.lines().count(), 1, "the action reads the image once: {runs}");
    (code, std::fs::read_to_string(&summary).unwrap(), std::fs::read_to_string(&outputs).unwrap_or_default(), work.join("slim-report.html"))
}

#[test]
fn the_github_action_checks_with_the_repos_slim_toml() {
    let dir = tempfile::tempdir().unwrap();
    let img = write_image(dir.path());
    std::fs::write(dir.path().join("slim.toml"), "[check]\nbudget = \"5MB\"\n").unwrap();
    let (code, summary, outputs, report) = run_action(dir.path(), &img, "");
    assert_eq!(code, 1, "{summary}");
    assert!(summary.starts_with("earlier step\n### ❌ slim check failed: 1 of 1 checks"), "{summary}");
    assert_eq!(outputs, "passed=false\n");
    let page = embedded(&std::fs::read_to_string(&report).unwrap());
    assert_eq!(page["check"]["checks"][0]["key"], "budget");

    // A flag from the workflow wins over slim.toml.
    let (code, summary, outputs, _) = run_action(dir.path(), &img, "--budget 1GiB");
    assert_eq!(code, 0, "{summary}");
    assert!(summary.contains("✅ slim check passed"), "{summary}");
    assert_eq!(outputs, "passed=true\n");

    // A missing image: exit 2, an annotation, nothing half-written.
    std::fs::remove_file(dir.path().join("slim-report.html")).unwrap();
    let (code, _, _, report) = run_action(dir.path(), &dir.path().join("missing.tar"), "");
    assert_eq!(code, 2);
    assert!(!report.exists());
}

#[test]
fn check_echoes_the_limits_unit_and_prints_every_other_size_in_iec() {
    let dir = tempfile::tempdir().unwrap();
    let img = write_image(dir.path());
    let out = slim().args(["check", img.to_str().unwrap(), "--budget", "5MB"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("final filesystem 15.7 MB is over the limit of 5.0 MB by 10.7 MB"), "{text}");
    let look = text.split("where to look:").nth(1).unwrap().split("Findings").next().unwrap();
    assert!(look.contains("7.5 MiB") && look.contains("3.0 MiB"), "{look}");
    assert!(!look.contains(" MB") && !look.contains(" kB"), "contributors in IEC: {look}");
}
