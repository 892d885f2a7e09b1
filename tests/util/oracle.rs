//! Comparisons with the independent oracle (fixtures/oracle/rootfs_walk.py).

use serde_json::Value;

/// Python distributions and dpkg packages agree with importlib.metadata and dpkg-query run
/// on the unpacked root filesystem.
pub fn check_owners_against(a: &Value, truth: &Value) {
    let mut ours: Vec<(String, String, u64)> = a["owners"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["kind"] == "python" && o["unrecorded"] == false)
        .map(|o| (o["name"].as_str().unwrap().to_string(), o["version"].as_str().unwrap().to_string(), o["bytes"].as_u64().unwrap()))
        .collect();
    let mut theirs: Vec<(String, String, u64)> = truth["dists"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["name"].as_str().unwrap().to_string(), d["version"].as_str().unwrap().to_string(), d["bytes"].as_u64().unwrap()))
        .collect();
    ours.sort();
    theirs.sort();
    assert_eq!(ours, theirs, "Python distributions: slim vs importlib.metadata");
    let mut dpkg_ours: Vec<(String, String)> = a["owners"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["kind"] == "dpkg")
        .map(|o| (o["name"].as_str().unwrap().to_string(), o["version"].as_str().unwrap().to_string()))
        .collect();
    let mut dpkg_theirs: Vec<(String, String)> =
        truth["dpkg"].as_array().unwrap().iter().map(|d| (d["name"].as_str().unwrap().to_string(), d["version"].as_str().unwrap().to_string())).collect();
    dpkg_ours.sort();
    dpkg_theirs.sort();
    assert_eq!(dpkg_ours, dpkg_theirs, "dpkg packages: slim vs dpkg-query");
    let total: u64 = a["owners"].as_array().unwrap().iter().map(|o| o["bytes"].as_u64().unwrap()).sum();
    assert_eq!(total, a["totals"]["final_bytes"].as_u64().unwrap(), "owners add up");
}
