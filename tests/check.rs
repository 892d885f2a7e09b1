//! `slim check` and `slim diff` as users run them: every exit code, every format read back by a
//! real parser (XML, the SARIF 2.1.0 schema, JSON into the types), limits at the byte, sizes
//! in every form users type, slim.toml, baselines, denied rules, and diffs of real images.

use crate::util::*;
use serde_json::{Value, json};
use slim::model::diff::{Change, Diff};
use slim::model::verdict::Report;
use std::path::{Path, PathBuf};

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// An image whose final filesystem is exactly `bytes` (one file, one layer), plus 4000 bytes
/// of waste in a second layer.
fn image_of(dir: &Path, name: &str, bytes: usize) -> PathBuf {
    let l0 = layer(&[E::Dir("app"), file("app/data", bytes), file("app/tmp", 4000)]);
    let l1 = layer(&[E::Whiteout("app/tmp")]);
    write_in(dir, name, &docker_archive(&[l0, l1], "demo:1", false))
}

/// A hand-written analysis JSON, as `slim analyze --format json` writes it.
fn saved(final_bytes: u64, findings: Value) -> Value {
    json!({
        "schema_version": 1,
        "image": {"source": "registry.example/app.tar", "format": "docker-archive", "compression": "none",
                  "reference": "app:2", "platform": "linux/amd64", "config_digest": "sha256:00"},
        "totals": {"layers": 2, "compressed_bytes": final_bytes + 100, "tar_bytes": final_bytes + 100,
                   "layer_file_bytes": final_bytes + 100, "final_bytes": final_bytes, "final_files": 2,
                   "final_dirs": 1, "wasted_bytes": 100, "wasted_files": 1, "efficiency": 0.9, "reclaimable_bytes": 0},
        "layers": [
            {"index": 0, "digest": "sha256:aa", "blob_digest": null, "created_by": "/bin/sh -c #(nop) ADD file:base in / ",
             "compression": "none", "compressed_bytes": 100, "tar_bytes": 100, "file_bytes": 100,
             "files_added": 1, "files_changed": 0, "files_removed": 0, "wasted_bytes": 100},
            {"index": 1, "digest": "sha256:bb", "blob_digest": null,
             "created_by": "RUN /bin/sh -c pip install torch # buildkit",
             "compression": "none", "compressed_bytes": final_bytes, "tar_bytes": final_bytes, "file_bytes": final_bytes,
             "files_added": 1, "files_changed": 0, "files_removed": 1, "wasted_bytes": 0}
        ],
        "largest_files": [{"path": "/usr/lib/python3/site-packages/torch/lib/libtorch_cuda.so", "bytes": final_bytes, "layer": 1}],
        "largest_dirs": [],
        "wasted_files": [{"path": "/tmp/x", "bytes": 100, "added_in": 0, "hidden_in": 1}],
        "owners": [
            {"kind": "python", "name": "torch", "version": "2.3.0", "bytes": final_bytes, "files": 1,
             "location": "/usr/lib/python3/site-packages", "group": "torch"}
        ],
        "groups": [{"name": "torch", "bytes": final_bytes, "files": 1, "members": ["python:torch"]}],
        "models": [],
        "findings": findings,
        "warnings": []
    })
}

fn cuda_finding() -> Value {
    json!([{
        "id": "SLIM001", "rule": "cuda-on-cpu", "severity": "high",
        "title": "CUDA build of torch in an image with no GPU target",
        "bytes_saved": 2_000_000_000u64, "basis": "the CPU wheel of the same version",
        "evidence": {"paths": ["/usr/lib/python3/site-packages/torch/lib/libtorch_cuda.so"], "owners": ["python:torch"],
                     "layers": [{"index": 1, "created_by": "RUN /bin/sh -c pip install torch # buildkit"}]},
        "fix": {"text": "install torch from the CPU index", "action": {"kind": "pip-index-url", "packages": ["torch"], "index_url": "https://download.pytorch.org/whl/cpu"}}
    }])
}

fn write_json(dir: &Path, name: &str, v: &Value) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_vec_pretty(v).unwrap()).unwrap();
    p
}

fn code(o: &std::process::Output) -> i32 {
    o.status.code().unwrap()
}

#[test]
fn exit_0_when_every_check_passes_and_1_when_one_fails() {
    let dir = tempfile::tempdir().unwrap();
    let img = image_of(dir.path(), "img.tar", 1000);
    let o = slim().arg("check").arg(&img).args(["--budget", "1000", "--max-wasted", "4000", "--max-layer", "5000"]).output().unwrap();
    assert_eq!(code(&o), 0, "{}{}", stdout(&o), stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("PASS") && !text.contains("FAIL"), "{text}");
    assert!(text.contains("passed: 3 of 3 checks"), "{text}");

    let o = slim().arg("check").arg(&img).args(["--budget", "999", "--max-wasted", "4000"]).output().unwrap();
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("FAIL budget"), "{text}");
    assert!(text.contains("is over the limit of"), "{text}");
    // Where to look: the layer that holds the bytes and the biggest owner.
    assert!(text.contains("where to look"), "{text}");
    assert!(text.contains("layer 0: RUN step 0"), "{text}");
    assert!(text.contains("FAILED: 1 of 2 checks"), "{text}");
}

#[test]
fn a_budget_exactly_at_the_limit_passes_and_one_byte_over_fails() {
    let dir = tempfile::tempdir().unwrap();
    let img = image_of(dir.path(), "img.tar", 1000);
    slim().arg("check").arg(&img).args(["--budget", "1000"]).assert().code(0);
    slim().arg("check").arg(&img).args(["--budget", "1kB"]).assert().code(0);
    slim().arg("check").arg(&img).args(["--budget", "999"]).assert().code(1);
    let over = image_of(dir.path(), "over.tar", 1001);
    slim().arg("check").arg(&over).args(["--budget", "1000"]).assert().code(1);
    slim().arg("check").arg(&over).args(["--budget", "1kB"]).assert().code(1);
    // The same at the byte for waste and layers.
    slim().arg("check").arg(&img).args(["--max-wasted", "4000", "--max-layer", "5000"]).assert().code(0);
    slim().arg("check").arg(&img).args(["--max-wasted", "3999"]).assert().code(1);
    slim().arg("check").arg(&img).args(["--max-layer", "4999"]).assert().code(1);
}

#[test]
fn sizes_in_every_form_users_type() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, u64)] = &[
        ("1.5GB", 1_500_000_000),
        ("1500MB", 1_500_000_000),
        ("1500000000", 1_500_000_000),
        ("1.5G", 1_500_000_000),
        ("1.5 GB", 1_500_000_000),
        ("1500000kB", 1_500_000_000),
        ("1.4GiB", 1_503_238_553),
        ("1433.6MiB", 1_503_238_553),
        ("500M", 500_000_000),
        ("500MiB", 524_288_000),
        ("64KiB", 65_536),
        ("2.3MB", 2_300_000),
    ];
    for &(form, bytes) in cases {
        let at = write_json(dir.path(), "at.json", &saved(bytes, json!([])));
        let o = slim().arg("check").arg(&at).args(["--budget", form]).output().unwrap();
        assert_eq!(code(&o), 0, "{form} with exactly {bytes} bytes: {}{}", stdout(&o), stderr(&o));
        let over = write_json(dir.path(), "over.json", &saved(bytes + 1, json!([])));
        let o = slim().arg("check").arg(&over).args(["--budget", form]).output().unwrap();
        assert_eq!(code(&o), 1, "{form} with {} bytes: {}{}", bytes + 1, stdout(&o), stderr(&o));
    }
}

#[test]
fn exit_2_on_usage_and_input_errors() {
    let dir = tempfile::tempdir().unwrap();
    let img = image_of(dir.path(), "img.tar", 1000);
    let one_line = |o: &std::process::Output, needles: &[&str]| {
        assert_eq!(code(o), 2, "{}", stderr(o));
        let err = stderr(o);
        assert!(o.stdout.is_empty(), "{}", stdout(o));
        for n in needles {
            assert!(err.contains(n), "{n:?} in {err}");
        }
        assert!(!err.contains("panicked"), "{err}");
    };
    let run = |args: &[&str]| slim().current_dir(dir.path()).args(args).output().unwrap();
    let img = img.to_str().unwrap();
    one_line(&run(&["check", img]), &["nothing to check"]);
    one_line(&run(&["check", img, "--budget", "1.5XB"]), &["--budget", "unknown unit"]);
    one_line(&run(&["check", img, "--min-efficiency", "95"]), &["ambiguous"]);
    one_line(&run(&["check", img, "--max-owner", "torch"]), &["NAME=SIZE"]);
    one_line(&run(&["check", img, "--deny-rule", "cuda-on-gpu"]), &["no such rule", "cuda-on-cpu"]);
    one_line(&run(&["check", img, "--budget", "1GB", "--baseline", "b.json"]), &["--max-growth"]);
    one_line(&run(&["check", img, "--max-growth", "5%"]), &["--baseline"]);
    one_line(&run(&["check", "/nonexistent/image.tar", "--budget", "1GB"]), &["/nonexistent/image.tar"]);
    one_line(&run(&["check", img, "--budget", "1GB", "--config", "missing.toml"]), &["missing.toml"]);
    one_line(&run(&["check", img, "--budget", "1GB", "--format", "yaml"]), &["yaml"]);
    std::fs::write(dir.path().join("bad.json"), "{\"schema_version\": 1, \"image\": {}}").unwrap();
    one_line(&run(&["check", "bad.json", "--budget", "1GB"]), &["bad.json", "not a slim analysis"]);
    std::fs::write(dir.path().join("base.json"), "{\"no\": \"version\"}").unwrap();
    one_line(&run(&["check", img, "--baseline", "base.json", "--max-growth", "5%"]), &["base.json", "schema_version"]);
    std::fs::write(dir.path().join("Dockerfile"), "RUN echo no FROM\n").unwrap();
    one_line(&run(&["check", img, "--budget", "1GB", "--dockerfile", "Dockerfile"]), &["Dockerfile"]);
    one_line(&run(&["diff", img, "/nonexistent/after.tar"]), &["/nonexistent/after.tar"]);
    one_line(&run(&["diff", "-", "-"]), &["stdin"]);
}

#[test]
fn slim_toml_in_the_working_directory_is_read_and_flags_override_it() {
    let dir = tempfile::tempdir().unwrap();
    image_of(dir.path(), "img.tar", 1000);
    std::fs::write(dir.path().join("slim.toml"), "# limits for CI\n[check]\nbudget = \"999\"\nmax-wasted = \"4kB\"\n").unwrap();
    let o = slim().current_dir(dir.path()).args(["check", "img.tar"]).output().unwrap();
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("FAIL budget") && text.contains("max-wasted"), "{text}");
    // The flag replaces the file's budget; the file's max-wasted still applies.
    let o = slim().current_dir(dir.path()).args(["check", "img.tar", "--budget", "1000", "--format", "json"]).output().unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let r: Report = serde_json::from_slice(&o.stdout).unwrap();
    let keys: Vec<_> = r.checks.iter().map(|c| (c.key.as_str(), c.limit_text.as_str())).collect();
    assert_eq!(keys, [("budget", "1000 B"), ("max-wasted", "4.0 kB")]);

    // --config names another file, and the working directory's is then not read.
    std::fs::write(dir.path().join("ci.toml"), "[check]\nbudget = 1000\n").unwrap();
    slim().current_dir(dir.path()).args(["check", "img.tar", "--config", "ci.toml"]).assert().code(0);
}

#[test]
fn unknown_config_key_is_exit_2_naming_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    image_of(dir.path(), "img.tar", 1000);
    std::fs::write(dir.path().join("slim.toml"), "[check]\nbudget = \"1GB\"\nmax-wastd = \"4kB\"\n").unwrap();
    let o = slim().current_dir(dir.path()).args(["check", "img.tar"]).output().unwrap();
    assert_eq!(code(&o), 2);
    let err = stderr(&o);
    assert!(err.contains("slim.toml") && err.contains("max-wastd") && err.contains("line 3"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    // A top-level key (outside [check]) is unknown too.
    std::fs::write(dir.path().join("slim.toml"), "budget = \"1GB\"\n").unwrap();
    let o = slim().current_dir(dir.path()).args(["check", "img.tar"]).output().unwrap();
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("budget"), "{}", stderr(&o));
}

#[test]
fn baseline_growth_from_a_saved_analysis() {
    let dir = tempfile::tempdir().unwrap();
    let base_img = image_of(dir.path(), "base.tar", 1000);
    let base = dir.path().join("base.json");
    slim().arg("analyze").arg(&base_img).args(["--format", "json", "-o"]).arg(&base).assert().success();
    let at = image_of(dir.path(), "at.tar", 1050);
    let over = image_of(dir.path(), "over.tar", 1051);
    // +5% exactly passes, one byte more fails; 0.05 is the same limit.
    slim().arg("check").arg(&at).arg("--baseline").arg(&base).args(["--max-growth", "5%"]).assert().code(0);
    slim().arg("check").arg(&at).arg("--baseline").arg(&base).args(["--max-growth", "0.05"]).assert().code(0);
    let o = slim().arg("check").arg(&over).arg("--baseline").arg(&base).args(["--max-growth", "5%", "--format", "json"]).output().unwrap();
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let r: Report = serde_json::from_slice(&o.stdout).unwrap();
    let g = &r.checks[0];
    assert_eq!((g.key.as_str(), g.passed), ("max-growth", false));
    assert!(g.message.contains("+51 B"), "{}", g.message);
    // Where it grew: the owner of the bigger file.
    assert!(g.contributors.iter().any(|c| c.kind == "owner" && c.bytes == 51), "{:?}", g.contributors);
    // The baseline in slim.toml is relative to the file.
    std::fs::create_dir(dir.path().join("ci")).unwrap();
    std::fs::rename(&base, dir.path().join("ci/base.json")).unwrap();
    std::fs::write(dir.path().join("ci/slim.toml"), "[check]\nbaseline = \"base.json\"\nmax-growth = \"5%\"\n").unwrap();
    slim().arg("check").arg(&at).arg("--config").arg(dir.path().join("ci/slim.toml")).assert().code(0);
    slim().arg("check").arg(&over).arg("--config").arg(dir.path().join("ci/slim.toml")).assert().code(1);
}

#[test]
fn deny_rule_fails_on_a_finding_in_a_saved_analysis() {
    let dir = tempfile::tempdir().unwrap();
    let with = write_json(dir.path(), "with.json", &saved(3_000_000_000, cuda_finding()));
    let without = write_json(dir.path(), "without.json", &saved(3_000_000_000, json!([])));
    let o = slim().arg("check").arg(&with).args(["--deny-rule", "cuda-on-cpu"]).output().unwrap();
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let text = stdout(&o);
    assert!(text.contains("FAIL deny-rule cuda-on-cpu") && text.contains("SLIM001"), "{text}");
    slim().arg("check").arg(&without).args(["--deny-rule", "cuda-on-cpu"]).assert().code(0);
    // Another rule's name passes; the rule id works as well as its name.
    slim().arg("check").arg(&with).args(["--deny-rule", "cache-left"]).assert().code(0);
    slim().arg("check").arg(&with).args(["--deny-rule", "SLIM001"]).assert().code(1);
    // Read from stdin too.
    slim().args(["check", "-", "--deny-rule", "cuda-on-cpu"]).write_stdin(std::fs::read(&with).unwrap()).assert().code(1);
}

#[test]
fn max_owner_by_group_owner_or_kind() {
    let dir = tempfile::tempdir().unwrap();
    let a = write_json(dir.path(), "a.json", &saved(1_000_000_000, json!([])));
    slim().arg("check").arg(&a).args(["--max-owner", "torch=1GB"]).assert().code(0);
    let o = slim().arg("check").arg(&a).args(["--max-owner", "torch=999999999", "--format", "json"]).output().unwrap();
    assert_eq!(code(&o), 1);
    let r: Report = serde_json::from_slice(&o.stdout).unwrap();
    assert!(r.checks[0].message.starts_with("group torch"), "{}", r.checks[0].message);
    assert_eq!(r.checks[0].contributors[0].name, "python torch 2.3.0 (/usr/lib/python3/site-packages)");
    slim().arg("check").arg(&a).args(["--max-owner", "python:torch=999999999"]).assert().code(1);
    slim().arg("check").arg(&a).args(["--max-owner", "dpkg:torch=1"]).assert().code(0);
    slim().arg("check").arg(&a).args(["--max-owner", "tensorflow=1"]).assert().code(0);
}

#[test]
fn junit_has_one_testcase_per_check() {
    let dir = tempfile::tempdir().unwrap();
    let a = write_json(dir.path(), "a.json", &saved(2_000_000_000, cuda_finding()));
    let out = dir.path().join("report.xml");
    let o = slim()
        .arg("check")
        .arg(&a)
        .args(["--budget", "1.5GB", "--max-wasted", "1kB", "--min-efficiency", "80%", "--max-owner", "torch=3GB"])
        .args(["--deny-rule", "cuda-on-cpu", "--format", "junit", "-o"])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    let xml = std::fs::read_to_string(&out).unwrap();
    let doc = roxmltree::Document::parse(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    let cases: Vec<_> = doc.descendants().filter(|n| n.has_tag_name("testcase")).collect();
    let names: Vec<_> = cases.iter().map(|c| c.attribute("name").unwrap()).collect();
    assert_eq!(names, ["budget", "max-wasted", "min-efficiency", "max-owner torch", "deny-rule cuda-on-cpu"]);
    let failed: Vec<_> = cases.iter().filter(|c| c.children().any(|n| n.has_tag_name("failure"))).map(|c| c.attribute("name").unwrap()).collect();
    assert_eq!(failed, ["budget", "deny-rule cuda-on-cpu"]);
    let suite = doc.descendants().find(|n| n.has_tag_name("testsuite")).unwrap();
    assert_eq!(suite.attribute("tests"), Some("5"));
    assert_eq!(suite.attribute("failures"), Some("2"));
    let failure = cases[0].children().find(|n| n.has_tag_name("failure")).unwrap();
    assert!(failure.attribute("message").unwrap().contains("over the limit of 1.5 GB"));
    assert!(failure.text().unwrap().contains("python torch"), "{xml}");
}

fn sarif_validator() -> jsonschema::Validator {
    let mut schema: Value = serde_json::from_str(include_str!("schemas/sarif-2.1.0-rtm.5.json")).unwrap();
    // The schema's patterns for `language` have a stray `]` (`…{2}]?$`) that ECMA-262 reads as
    // a literal but the jsonschema crate refuses as a regex; escape it, same meaning.
    fn escape_stray_bracket(v: &mut Value) -> usize {
        match v {
            Value::Object(m) => m
                .iter_mut()
                .map(|(k, v)| match v {
                    Value::String(p) if k == "pattern" && p.ends_with("{2}]?$") => {
                        *p = p.replace("{2}]?$", "{2}\\]?$");
                        1
                    }
                    v => escape_stray_bracket(v),
                })
                .sum(),
            Value::Array(a) => a.iter_mut().map(escape_stray_bracket).sum(),
            _ => 0,
        }
    }
    assert_eq!(escape_stray_bracket(&mut schema), 2);
    jsonschema::validator_for(&schema).unwrap()
}

fn assert_valid_sarif(v: &Value) {
    let validator = sarif_validator();
    let errors: Vec<String> = validator.iter_errors(v).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "{errors:#?}\n{v:#}");
}

#[test]
fn the_schema_rejects_what_is_not_sarif() {
    // So a passing validation means something.
    let v = sarif_validator();
    assert!(!v.is_valid(&json!({"version": "2.1.0"})));
    assert!(!v.is_valid(&json!({"version": "2.0.0", "runs": []})));
    assert!(!v.is_valid(&json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"message": {}}]}]})));
    assert!(v.is_valid(&json!({"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": []}]})));
}

#[test]
fn sarif_validates_and_points_at_dockerfile_lines() {
    let dir = tempfile::tempdir().unwrap();
    let a = write_json(dir.path(), "a.json", &saved(2_000_000_000, cuda_finding()));
    std::fs::write(dir.path().join("Dockerfile"), "FROM python:3.11-slim\nWORKDIR /app\n# the heavy part\nRUN pip \\\n    install torch\nCOPY . .\n").unwrap();
    let o =
        slim().current_dir(dir.path()).arg("check").arg(&a).args(["--budget", "1.5GB", "--max-wasted", "1kB", "--format", "sarif", "--dockerfile", "Dockerfile"]).output().unwrap();
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_valid_sarif(&v);
    let results = v["runs"][0]["results"].as_array().unwrap();
    let ids: Vec<_> = results.iter().map(|r| r["ruleId"].as_str().unwrap()).collect();
    assert_eq!(ids, ["SLIM001", "check/budget"], "the finding, then the failed check (max-wasted passed)");
    let region = |r: &Value| {
        let p = &r["locations"][0]["physicalLocation"];
        assert_eq!(p["artifactLocation"]["uri"], "Dockerfile");
        (p["region"]["startLine"].as_u64().unwrap(), p["region"]["endLine"].as_u64().unwrap())
    };
    // Layer 1 (`RUN pip install torch`) is lines 4-5; the budget points at its biggest layer.
    assert_eq!(region(&results[0]), (4, 5));
    assert_eq!(region(&results[1]), (4, 5));
    assert_eq!(results[0]["level"], "error", "high severity is an error");

    // Without --dockerfile: valid, no locations.
    let o = slim().arg("check").arg(&a).args(["--budget", "1.5GB", "--format", "sarif"]).output().unwrap();
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_valid_sarif(&v);
    assert_eq!(v["runs"][0]["results"][1]["locations"], json!([]));
}

#[test]
fn sarif_of_a_real_image_maps_buildah_history_to_its_dockerfile() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let o = slim()
        .current_dir(root)
        .args(["check", "fixtures/images/pyapp-docker-archive.tar", "--max-layer", "100kB", "--min-efficiency", "99%"])
        .args(["--format", "sarif", "--dockerfile", "fixtures/src/pyapp/Dockerfile"])
        .output()
        .unwrap();
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_valid_sarif(&v);
    let lines: Vec<(String, u64)> = v["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["ruleId"].as_str().unwrap().to_string(), r["locations"][0]["physicalLocation"]["region"]["startLine"].as_u64().unwrap()))
        .collect();
    let dockerfile = std::fs::read_to_string(root.join("fixtures/src/pyapp/Dockerfile")).unwrap();
    let line = |n: u64| dockerfile.lines().nth(n as usize - 1).unwrap().to_string();
    // The largest layer is `COPY --from=build /pyroot/ /`; most waste is written by `COPY app/ /app/`.
    assert_eq!(lines[0].0, "check/max-layer");
    assert_eq!(line(lines[0].1), "COPY --from=build /pyroot/ /");
    assert_eq!(lines[1].0, "check/min-efficiency");
    assert_eq!(line(lines[1].1), "COPY app/ /app/");
}

#[test]
fn github_annotations_and_job_summary() {
    let dir = tempfile::tempdir().unwrap();
    let a = write_json(dir.path(), "a.json", &saved(2_000_000_000, cuda_finding()));
    let summary = dir.path().join("summary.md");
    std::fs::write(&summary, "# earlier step\n").unwrap();
    let o = slim().env("GITHUB_STEP_SUMMARY", &summary).arg("check").arg(&a).args(["--budget", "1.5GB", "--max-owner", "torch=3GB", "--format", "github"]).output().unwrap();
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let out = stdout(&o);
    let errors: Vec<_> = out.lines().filter(|l| l.starts_with("::error ")).collect();
    assert_eq!(errors.len(), 1, "{out}");
    assert!(errors[0].starts_with("::error title=slim check failed%3A budget::final filesystem 2.0 GB is over"), "{out}");
    assert!(!errors[0].contains('\n'));
    // The finding nobody denied is a warning.
    assert!(out.lines().any(|l| l.starts_with("::warning title=slim SLIM001 cuda-on-cpu::")), "{out}");
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(md.starts_with("# earlier step\n"), "appended, not replaced: {md}");
    assert!(md.contains("❌ slim check failed: 1 of 2 checks"), "{md}");
    assert!(md.contains("| ✅ | max-owner torch |"), "{md}");
}

#[test]
fn markdown_for_a_pull_request_comment() {
    let dir = tempfile::tempdir().unwrap();
    let img = image_of(dir.path(), "img.tar", 1000);
    let o = slim().arg("check").arg(&img).args(["--budget", "1000", "--max-wasted", "10", "--format", "markdown"]).output().unwrap();
    assert_eq!(code(&o), 1);
    let md = stdout(&o);
    assert!(md.starts_with("### ❌ slim check failed: 1 of 2 checks"), "{md}");
    assert!(md.contains("| ✅ | budget | 1000 B | 1000 B |"), "{md}");
    assert!(md.contains("<details><summary>Where to look: max-wasted</summary>"), "{md}");
    assert!(md.contains("`/app/tmp`") || md.contains("`file /app/tmp`"), "{md}");
}

#[test]
fn json_verdict_reads_back_into_the_types() {
    let dir = tempfile::tempdir().unwrap();
    let img = image_of(dir.path(), "img.tar", 1000);
    let out = dir.path().join("v.json");
    slim().arg("check").arg(&img).args(["--budget", "1000", "--min-efficiency", "0.1", "--format", "json", "-o"]).arg(&out).assert().code(0).stdout("");
    let r: Report = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert!(r.passed);
    assert_eq!(r.schema_version, 1);
    assert_eq!(r.checks.len(), 2);
    assert_eq!(r.checks[0].measured, slim::model::verdict::Number::Int(1000));
    assert_eq!(r.image.reference.as_deref(), Some("demo:1"));
}

/// An installed wheel of one file, `NAME/core.so`.
fn wheel(name: &str, version: &str, bytes: usize) -> Vec<E<'static>> {
    crate::util::wheels::Wheel::new(name, version).files(&[(&format!("{name}/core.so"), bytes)]).record_sizes().entries()
}

#[test]
fn diff_of_two_images_shows_owners_that_grew_and_vanished() {
    let dir = tempfile::tempdir().unwrap();
    let base = layer(&[E::Dir("etc"), file("etc/os-release", 300)]);
    let mut app1 = wheel("torch", "2.1.0", 5000);
    app1.extend(wheel("six", "1.16.0", 700));
    let mut app2 = wheel("torch", "2.3.0", 9000);
    app2.extend(wheel("numpy", "2.0.0", 1200));
    let before = dir.path().join("before.tar");
    let after = dir.path().join("after.tar");
    std::fs::write(&before, docker_archive(&[base.clone(), layer(&app1)], "app:1", false)).unwrap();
    std::fs::write(&after, docker_archive(&[base, layer(&app2)], "app:2", false)).unwrap();

    let o = slim().arg("diff").arg(&before).arg(&after).args(["--format", "json"]).output().unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let d: Diff = serde_json::from_slice(&o.stdout).unwrap();
    let owner = |n: &str| d.owners.iter().find(|o| o.name == n).unwrap_or_else(|| panic!("{n}: {:#?}", d.owners));
    let torch = owner("torch");
    assert_eq!(torch.change, Change::Grew);
    assert_eq!((torch.version_before.as_deref(), torch.version_after.as_deref()), (Some("2.1.0"), Some("2.3.0")));
    assert!(torch.delta >= 4000, "{torch:?}");
    assert_eq!(owner("six").change, Change::Vanished);
    assert_eq!(owner("six").after_bytes, None);
    assert_eq!(owner("numpy").change, Change::Appeared);
    let sum: i64 = d.owners.iter().map(|o| o.delta).sum();
    assert_eq!(sum, d.after.totals.final_bytes as i64 - d.before.totals.final_bytes as i64, "owner deltas add up");
    // The base layer is the same diff_id; the app layer is paired by position and grew.
    assert_eq!(d.layers[0].change, Change::Same);
    assert_eq!(d.layers[0].matched_by.as_deref(), Some("digest"));
    assert_eq!((d.layers[1].change, d.layers[1].matched_by.as_deref()), (Change::Grew, Some("index")));

    // Text and markdown say the same; a saved analysis works as either side.
    let saved_before = dir.path().join("before.json");
    slim().arg("analyze").arg(&before).args(["--format", "json", "-o"]).arg(&saved_before).assert().success();
    let o = slim().arg("diff").arg(&saved_before).arg(&after).output().unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let text = stdout(&o);
    for needle in ["grew", "torch", "2.1.0 → 2.3.0", "vanished", "six", "appeared", "numpy", "total"] {
        assert!(text.contains(needle), "{needle} in {text}");
    }
    let o = slim().arg("diff").arg(&before).arg(&saved_before).args(["--format", "markdown"]).output().unwrap();
    let md = stdout(&o);
    assert!(md.contains("#### Owners: 0 changed"), "{md}");
}

#[test]
fn deny_rule_on_an_image_uses_the_rules_findings() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("img.tar");
    let l = layer(&[file("root/.cache/pip/http-v2/a/b/c/body", 2 << 20), file("app/main.py", 100)]);
    std::fs::write(&img, docker_archive(&[l], "app:1", false)).unwrap();
    let o = slim().arg("check").arg(&img).args(["--deny-rule", "cache-left", "--format", "json"]).output().unwrap();
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let r: Report = serde_json::from_slice(&o.stdout).unwrap();
    assert!(!r.checks[0].passed);
    assert!(r.checks[0].contributors.iter().any(|c| c.name.contains("cache-left")), "{:?}", r.checks[0].contributors);
    slim().arg("check").arg(&img).args(["--deny-rule", "cuda-on-cpu"]).assert().code(0);
    // A rules file that turns the rule off is honoured.
    std::fs::write(dir.path().join("rules.toml"), "[[rule]]\nname = \"cache-left\"\nenabled = false\n").unwrap();
    slim().arg("check").arg(&img).arg("--rules").arg(dir.path().join("rules.toml")).args(["--deny-rule", "cache-left"]).assert().code(0);
}

#[test]
fn the_guides_config_example_is_valid() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/GUIDE.md")).unwrap();
    let start = readme.find("```toml\n# slim.toml\n").expect("the slim.toml example") + "```toml\n".len();
    let block = &readme[start..start + readme[start..].find("```").unwrap()];
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("slim.toml");
    std::fs::write(&p, block).unwrap();
    let l = slim::check::load_config(&p).unwrap();
    assert_eq!(l.budget.unwrap().bytes, 1_500_000_000);
    assert_eq!(l.max_owner.len(), 3);
    assert_eq!(l.deny_rule, ["cuda-on-cpu", "context-leak"]);
    assert!(l.problem(&slim::rules::RuleSet::builtin()).is_none());
}

#[test]
fn annotations_and_denied_findings_point_at_the_dockerfile() {
    let dir = tempfile::tempdir().unwrap();
    let a = write_json(dir.path(), "a.json", &saved(2_000_000_000, cuda_finding()));
    std::fs::write(dir.path().join("Dockerfile"), "FROM python:3.11-slim\nRUN pip \\\n    install torch\n").unwrap();
    let run =
        |format: &str| slim().current_dir(dir.path()).arg("check").arg(&a).args(["--deny-rule", "cuda-on-cpu", "--dockerfile", "Dockerfile", "--format", format]).output().unwrap();
    let o = run("github");
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let out = stdout(&o);
    let first = out.lines().next().unwrap();
    assert!(first.starts_with("::error file=Dockerfile,line=2,endLine=3,title=slim check failed%3A deny-rule cuda-on-cpu::1 cuda-on-cpu finding"), "{out}");
    // The denied finding is reported once, as the failed check, not again as a warning.
    assert!(!out.contains("::warning"), "{out}");

    let o = run("sarif");
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_valid_sarif(&v);
    let results = v["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert!(results.iter().all(|r| r["level"] == "error"), "{results:#?}");
    assert!(results.iter().all(|r| r["locations"][0]["physicalLocation"]["region"]["startLine"] == 2), "{results:#?}");
}
