//! docs/fleet.md's DuckDB queries, run against analysis JSON slim writes from two fixtures,
//! and checked against the same numbers read from the JSON here. DuckDB comes from PyPI into a
//! venv kept under the target directory, so the test is ignored by a plain `cargo test`.

use serde_json::Value;
use std::path::Path;
use std::process::Command;

fn venv_python() -> std::path::PathBuf {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("duckdb-venv");
    let py = venv.join("bin/python");
    let has = |py: &Path| Command::new(py).args(["-c", "import duckdb"]).status().is_ok_and(|s| s.success());
    if !has(&py) {
        assert!(Command::new("python3").arg("-m").arg("venv").arg(&venv).status().unwrap().success());
        assert!(Command::new(venv.join("bin/pip")).args(["install", "-q", "duckdb"]).status().unwrap().success(), "pip install duckdb");
    }
    py
}

#[test]
#[ignore = "installs duckdb from PyPI; run by .ci/run"]
fn the_fleet_queries_answer_from_slims_json() {
    let doc = std::fs::read_to_string("docs/fleet.md").unwrap();
    let sql = doc.split("```sql\n").nth(1).and_then(|s| s.split("```").next()).expect("docs/fleet.md has a sql block");
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let mut docs = Vec::new();
    for (name, fixture) in [("a", "pyapp-docker-archive.tar"), ("b", "pyapp-oci-archive-zstd.tar")] {
        let file = out.join(format!("{name}.json"));
        crate::util::slim().args(["analyze", "--format", "json", "-o"]).arg(&file).arg(format!("fixtures/images/{fixture}")).assert().success();
        docs.push(serde_json::from_slice::<Value>(&std::fs::read(&file).unwrap()).unwrap());
    }
    std::fs::write(tmp.path().join("fleet.sql"), sql).unwrap();
    let script = r#"
import duckdb, json
con = duckdb.connect()
res = []
for q in open('fleet.sql').read().split(';'):
    body = '\n'.join(l for l in q.splitlines() if not l.strip().startswith('--')).strip()
    if body:
        r = con.execute(q)
        if body.upper().startswith('SELECT'):
            res.append([list(row) for row in r.fetchall()])
print(json.dumps(res))
"#;
    let o = Command::new(venv_python()).arg("-c").arg(script).current_dir(tmp.path()).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let res: Vec<Vec<Vec<Value>>> = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(res.len(), 3, "three queries: {res:?}");

    // 1: one row per image, with its totals.
    let mut want: Vec<(String, u64, u64)> = docs
        .iter()
        .map(|d| (d["image"]["reference"].as_str().unwrap().to_string(), d["totals"]["final_bytes"].as_u64().unwrap(), d["totals"]["reclaimable_bytes"].as_u64().unwrap()))
        .collect();
    want.sort_by(|a, b| b.2.cmp(&a.2).then(b.1.cmp(&a.1)).then(a.0.cmp(&b.0)));
    let got: Vec<(String, u64, u64)> = res[0].iter().map(|r| (r[0].as_str().unwrap().to_string(), r[1].as_u64().unwrap(), r[2].as_u64().unwrap())).collect();
    assert_eq!(got, want);
    // 2: the cuda-on-cpu findings (none in these fixtures: typed and empty, not an error).
    let cuda = docs.iter().flat_map(|d| d["findings"].as_array().unwrap()).filter(|f| f["rule"] == "cuda-on-cpu").count();
    assert_eq!(res[1].len(), cuda);
    // 3: the layers both images share: the same image in two packagings shares all of them.
    let layers = |d: &Value| d["layers"].as_array().unwrap().iter().map(|l| l["digest"].as_str().unwrap().to_string()).collect::<std::collections::BTreeSet<_>>();
    let shared: Vec<String> = layers(&docs[0]).intersection(&layers(&docs[1])).cloned().collect();
    assert!(!shared.is_empty());
    let mut got: Vec<String> = res[2].iter().map(|r| r[0].as_str().unwrap().to_string()).collect();
    got.sort();
    assert_eq!(got, shared);
    assert!(res[2].iter().all(|r| r[1] == 2));
}
