//! Layer semantics on archives built in the test: whiteouts, opaque directories, type
//! changes, hard links, long and non-UTF-8 names, and the invariants every analysis keeps.

use crate::util::*;
use slim::analyze::{self, Options};
use slim::facts::Analyzed;
use slim::image::store::Source;
use slim::model::analysis::Analysis;

fn opts() -> Options<'static> {
    Options::new(50)
}

/// Analyse from a file (seekable path) and from a choppy stream (one-pass path); both must
/// agree, and the invariants must hold.
fn analyze_both(archive: &[u8]) -> Analysis {
    let a = analyze_archive(archive, &opts()).analysis;
    let src = Source::open_stream("-".into(), Choppy { inner: archive, state: 7, max: 700 }, &slim::analyze::capture, &indicatif::ProgressBar::hidden()).unwrap();
    let b = analyze::run_source(src, &opts()).unwrap().analysis;
    let mut b2 = b.clone();
    b2.image.source = a.image.source.clone();
    // A stream read hashes every layer; the file's header walk checks fewer (docs/input.md).
    assert!(a.image.verified.as_ref().unwrap().diff_ids.len() <= b2.image.verified.as_ref().unwrap().diff_ids.len());
    b2.image.verified = a.image.verified.clone();
    for (x, y) in b2.layers.iter_mut().zip(&a.layers) {
        // A stream read computes blob digests the file path does not need.
        x.blob_digest = y.blob_digest.clone();
    }
    assert_eq!(a, b2, "file and stream readings differ");
    check_invariants(&a);
    a
}

fn check_invariants(a: &Analysis) {
    let t = &a.totals;
    let sum_files: u64 = a.layers.iter().map(|l| l.file_bytes).sum();
    let sum_waste: u64 = a.layers.iter().map(|l| l.wasted_bytes).sum();
    assert_eq!(sum_files, t.layer_file_bytes);
    assert_eq!(t.layer_file_bytes, t.final_bytes + t.wasted_bytes);
    assert_eq!(sum_waste, t.wasted_bytes, "per-layer waste adds up to the total");
    // 0 when every byte any layer wrote was deleted again (dive's score too).
    assert!((0.0..=1.0).contains(&t.efficiency));
    let owned: u64 = a.owners.iter().map(|o| o.bytes).sum();
    let owned_files: u64 = a.owners.iter().map(|o| o.files).sum();
    assert_eq!(owned, t.final_bytes, "owners add up to the final bytes");
    assert_eq!(owned_files, t.final_files, "every final file has exactly one owner");
}

fn img(layers: &[Vec<u8>]) -> Vec<u8> {
    docker_archive(layers, "test/img:1", false)
}

#[test]
fn whiteout_hides_a_lower_file_and_counts_its_bytes_as_waste() {
    let l0 = layer(&[E::Dir("a"), file("a/x", 100), file("a/y", 50)]);
    let l1 = layer(&[E::Whiteout("a/x")]);
    let a = analyze_both(&img(&[l0, l1]));
    assert_eq!(a.totals.final_bytes, 50);
    assert_eq!(a.totals.final_files, 1);
    assert_eq!(a.layers[0].wasted_bytes, 100);
    assert_eq!(a.layers[1].files_removed, 1);
    assert_eq!(a.wasted_files[0].path, "/a/x");
    assert_eq!((a.wasted_files[0].added_in, a.wasted_files[0].hidden_in), (0, 1));
}

#[test]
fn whiteout_only_hides_lower_layers_not_its_own() {
    // The same layer re-adds the path it whites out: the new file stays.
    let l0 = layer(&[file("f", 10)]);
    let l1 = layer(&[file("f", 3), E::Whiteout("f")]);
    let a = analyze_both(&img(&[l0, l1]));
    assert_eq!(a.totals.final_bytes, 3);
    assert_eq!(a.totals.wasted_bytes, 10);
}

#[test]
fn whiteout_of_a_directory_hides_its_whole_subtree() {
    let l0 = layer(&[E::Dir("d"), E::Dir("d/e"), file("d/e/1", 10), file("d/2", 20), file("keep", 1)]);
    let l1 = layer(&[E::Whiteout("d")]);
    let a = analyze_both(&img(&[l0, l1]));
    assert_eq!(a.totals.final_bytes, 1);
    assert_eq!(a.layers[0].wasted_bytes, 30);
    assert_eq!(a.layers[1].files_removed, 2);
}

#[test]
fn opaque_directory_applies_before_the_layers_own_entries() {
    // The new file comes before the marker in the tar: it must survive anyway.
    let l0 = layer(&[E::Dir("d"), file("d/a", 10), file("d/b", 20)]);
    let l1 = layer(&[E::Dir("d"), file("d/c", 5), E::Opaque("d")]);
    let a = analyze_both(&img(&[l0, l1]));
    assert_eq!(a.totals.final_bytes, 5);
    assert_eq!(a.totals.final_files, 1);
    assert_eq!(a.totals.wasted_bytes, 30);
    assert_eq!(a.layers[1].files_removed, 2);
}

#[test]
fn directory_replaced_by_a_file_and_back() {
    let l0 = layer(&[file("p", 7)]);
    let l1 = layer(&[E::Dir("p"), file("p/q", 3)]);
    let l2 = layer(&[file("p", 11)]);
    let l3 = layer(&[E::Dir("p"), file("p/r", 2)]);
    let a = analyze_both(&img(&[l0, l1, l2, l3]));
    assert_eq!(a.totals.final_bytes, 2);
    assert_eq!(a.totals.final_files, 1);
    assert_eq!(a.layers[0].wasted_bytes, 7);
    assert_eq!(a.layers[1].wasted_bytes, 3);
    assert_eq!(a.layers[2].wasted_bytes, 11);
}

#[test]
fn hard_links_count_their_bytes_once_also_across_layers() {
    let l0 = layer(&[file("f", 1000), E::Hardlink("g", "f")]);
    let a = analyze_both(&img(&[l0.clone()]));
    assert_eq!((a.totals.final_bytes, a.totals.final_files), (1000, 1));

    // A link made in a later layer keeps the content alive when the first name goes.
    let l1 = layer(&[E::Hardlink("h", "f")]);
    let l2 = layer(&[E::Whiteout("f"), E::Whiteout("g")]);
    let a = analyze_both(&img(&[l0.clone(), l1.clone(), l2]));
    assert_eq!((a.totals.final_bytes, a.totals.final_files), (1000, 1));
    assert_eq!(a.totals.wasted_bytes, 0);

    // Once every name is gone, the bytes are waste of the layer that wrote them.
    let l3 = layer(&[E::Whiteout("f"), E::Whiteout("g"), E::Whiteout("h")]);
    let a = analyze_both(&img(&[l0, l1, l3]));
    assert_eq!((a.totals.final_bytes, a.layers[0].wasted_bytes), (0, 1000));
}

#[test]
fn overwriting_a_file_wastes_the_lower_copy_once() {
    let l0 = layer(&[file("big", 500)]);
    let l1 = layer(&[file("big", 500)]);
    let l2 = layer(&[file("big", 600)]);
    let a = analyze_both(&img(&[l0, l1, l2]));
    assert_eq!(a.totals.final_bytes, 600);
    assert_eq!(a.totals.wasted_bytes, 1000);
    assert_eq!(a.layers[1].files_changed, 1);
    assert_eq!(a.layers[2].files_changed, 1);
    // dive's score: min 500 over cumulative 1600 for the one path.
    assert!((a.totals.efficiency - 500.0 / 1600.0).abs() < 1e-9);
}

#[test]
fn duplicate_paths_within_one_layer_last_one_wins() {
    let l0 = layer(&[file("x", 10), file("x", 4)]);
    let a = analyze_both(&img(&[l0]));
    assert_eq!(a.totals.final_bytes, 4);
    assert_eq!(a.totals.final_files, 1);
}

#[test]
fn long_and_non_utf8_names_are_kept() {
    let long = format!("deep/{}/file.bin", "d".repeat(180));
    let l0 = layer(&[E::File(&long, vec![1; 9]), E::RawFile(b"caf\xe9.txt".to_vec(), vec![2; 3])]);
    let a = analyze_both(&img(&[l0]));
    assert_eq!(a.totals.final_files, 2);
    let paths: Vec<&str> = a.largest_files.iter().map(|f| f.path.as_str()).collect();
    assert!(paths.contains(&format!("/{long}").as_str()), "{paths:?}");
    assert!(paths.contains(&"/caf\\xe9.txt"), "{paths:?}");
}

#[test]
fn dot_slash_and_absolute_names_are_the_same_path() {
    let l0 = layer(&[file("./etc/a", 5)]);
    let l1 = layer(&[file("/etc/a", 6)]);
    let a = analyze_both(&img(&[l0, l1]));
    assert_eq!((a.totals.final_files, a.totals.final_bytes), (1, 6));
}

#[test]
fn entries_under_a_symlinked_directory_land_in_its_target() {
    let l0 = layer(&[E::Dir("usr/lib"), E::Symlink("lib", "usr/lib")]);
    let l1 = layer(&[file("lib/x.so", 8)]);
    let l2 = layer(&[E::Whiteout("usr/lib/x.so")]);
    let a = analyze_both(&img(&[l0, l1, l2]));
    assert_eq!(a.totals.final_bytes, 0);
    assert_eq!(a.layers[1].wasted_bytes, 8);
}

/// 39 chained symlinks with 4 KB targets, then 8,000 entries beneath the last: resolving each
/// entry's parent would follow the whole chain, about 80,000 steps each (10^9 in all). The
/// merge stops after work bounded by the budget, with an error naming the link; the same chain
/// with short targets costs a few dozen steps per entry and is read whole.
#[test]
fn a_chain_of_long_symlinks_costs_bounded_work() {
    use slim::layers::{tree::Tree, walk};
    let scan = |l: &[u8]| walk::scan_stream(l, &walk::capture_none, &walk::Budget::new(0), false).unwrap();
    let mut tree = Tree::new();
    let err = tree.apply(&scan(&link_chain_layer(39, 4000, 8000))).unwrap_err();
    assert!(err.contains("steps per path") && err.contains("\"l"), "{err}");
    // Base budget, 256 per lookup (39 links and 8,000 files), and the one chain that overran it.
    assert!(tree.link_work <= (1 << 20) + 256 * 8040 + 39 * 1601, "{}", tree.link_work);

    let mut tree = Tree::new();
    tree.apply(&scan(&link_chain_layer(39, 1, 8000))).unwrap();
    assert_eq!(tree.final_totals().1, 8000);
    assert!(tree.link_work <= 8000 * 39 + 39 * 39, "{}", tree.link_work);
    assert!(tree.get(b"d/f7999").is_some(), "entries land in the chain's target");
}

/// Sparse files as GNU tar writes them (`--sparse`, GNU format and PAX formats 0.0, 0.1 and 1.0)
/// from a 50 MiB file made with `set_len` holding 5 bytes of data: each counts its apparent size
/// at its real path, as GNU tar's own listing (`tar -tvf`) shows them.
#[test]
fn sparse_files_count_their_apparent_size_at_their_real_path() {
    use std::io::{Seek, Write};
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let mut f = std::fs::File::create(root.join("big.sparse")).unwrap();
    f.set_len(50 << 20).unwrap();
    f.seek(std::io::SeekFrom::Start(1 << 20)).unwrap();
    f.write_all(b"hello").unwrap();
    drop(f);
    std::fs::write(root.join("small"), b"x\n").unwrap();
    for (format, version) in [("gnu", None), ("posix", Some("0.0")), ("posix", Some("0.1")), ("posix", Some("1.0"))] {
        let out = dir.path().join(format!("{format}-{}.tar", version.unwrap_or("")));
        let mut tar = std::process::Command::new("tar");
        tar.args(["--sparse", &format!("--format={format}"), "-cf"]).arg(&out).arg("-C").arg(&root);
        if let Some(v) = version {
            tar.arg(format!("--sparse-version={v}"));
        }
        assert!(tar.args(["small", "big.sparse"]).status().unwrap().success());
        let bytes = std::fs::read(&out).unwrap();
        assert!(bytes.len() < 64 << 10, "{format} {version:?}: the archive is sparse itself");
        // The oracle: GNU tar's listing, "-rw-r--r-- root/root 52428800 date time big.sparse".
        let listing = std::process::Command::new("tar").arg("-tvf").arg(&out).output().unwrap();
        let listed: Vec<(String, u64)> = String::from_utf8(listing.stdout)
            .unwrap()
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (format!("/{}", f[5]), f[2].parse().unwrap())
            })
            .collect();
        assert_eq!(listed.len(), 2);
        let a = analyze_both(&img(&[bytes]));
        let mut got: Vec<(String, u64)> = a.largest_files.iter().map(|f| (f.path.clone(), f.bytes)).collect();
        let mut want = listed.clone();
        got.sort();
        want.sort();
        assert_eq!(got, want, "{format} {version:?}");
        assert_eq!(a.totals.final_bytes, (50 << 20) + 2);
    }
}

#[test]
fn aufs_metadata_is_skipped() {
    let l0 = layer(&[file(".wh..wh.aufs", 3), E::Dir(".wh..wh.plnk"), file(".wh..wh.plnk/123.456", 40), file("real", 1)]);
    let a = analyze_both(&img(&[l0]));
    assert_eq!((a.totals.final_files, a.totals.final_bytes), (1, 1));
}

#[test]
fn history_aligns_from_the_top_when_counts_disagree() {
    let layers = vec![layer(&[file("a", 1)]), layer(&[file("b", 1)]), layer(&[file("c", 1)])];
    let cfg_hist = serde_json::json!([{"created_by": "top two: one"}, {"created_by": "top two: two"}]);
    let mut cfg: serde_json::Value = serde_json::from_slice(&config(&layers, "amd64")).unwrap();
    cfg["history"] = cfg_hist;
    let cfg = serde_json::to_vec(&cfg).unwrap();
    let names: Vec<String> = (0..3).map(|i| format!("l{i}/layer.tar")).collect();
    let manifest = serde_json::to_vec(&serde_json::json!([{"Config": "config.json", "RepoTags": ["x:1"], "Layers": names}])).unwrap();
    let mut t = Tar::new();
    t.add("manifest.json", &manifest).add("config.json", &cfg);
    for (n, l) in names.iter().zip(&layers) {
        t.add(n, l);
    }
    let a = analyze_both(&t.finish());
    assert_eq!(a.layers[0].created_by, None);
    assert_eq!(a.layers[1].created_by.as_deref(), Some("top two: one"));
    assert_eq!(a.layers[2].created_by.as_deref(), Some("top two: two"));
}

#[test]
fn empty_layer_history_entries_are_skipped() {
    let layers = vec![layer(&[file("a", 1)]), layer(&[file("b", 1)])];
    let a = analyze_both(&img(&layers));
    assert_eq!(a.layers[0].created_by.as_deref(), Some("/bin/sh -c step 0"));
    assert_eq!(a.layers[1].created_by.as_deref(), Some("/bin/sh -c step 1"));
}

#[test]
fn manifest_written_last_is_read_in_one_pass() {
    let layers = vec![layer(&[file("a", 10)]), layer(&[E::Whiteout("a"), file("b", 2)])];
    let first = analyze_both(&docker_archive(&layers, "t:1", false));
    let last = analyze_both(&docker_archive(&layers, "t:1", true));
    assert_eq!(first.totals, last.totals);
    assert_eq!(first.layers, last.layers);
}

fn one_pass(archive: &[u8]) -> Result<Analyzed, slim::error::Error> {
    let src = Source::open_stream("-".into(), archive, &slim::analyze::capture, &indicatif::ProgressBar::hidden())?;
    analyze::run_source(src, &opts())
}

#[test]
fn layers_in_every_compression_give_the_same_analysis() {
    let plain = vec![layer(&[E::Dir("app"), file("app/a", 300), file("app/b", 20)]), layer(&[E::Whiteout("app/a"), file("app/c", 7)])];
    let media = "application/vnd.oci.image.layer.v1.tar";
    let base = analyze_both(&oci_layout(&plain, identity, media, "v1").tar());
    for (name, f) in [("gzip", gzip as fn(&[u8]) -> Vec<u8>), ("zstd", zstd)] {
        // The media type claims gzip whatever the bytes are: slim goes by the bytes.
        let a = analyze_both(&oci_layout(&plain, f, "application/vnd.oci.image.layer.v1.tar+gzip", "v1").tar());
        assert_eq!(a.totals.final_bytes, base.totals.final_bytes, "{name}");
        assert_eq!(a.totals.wasted_bytes, base.totals.wasted_bytes, "{name}");
        assert_eq!(a.layers[0].compression, name);
        assert_eq!(a.layers[0].tar_bytes, plain[0].len() as u64);
        assert_eq!(a.layers[0].digest, base.layers[0].digest, "diff_id is the same");
    }
}

#[test]
fn multi_member_gzip_layers_are_read_to_the_end() {
    let l = layer(&[file("a", 100), file("b", 200)]);
    let (x, y) = l.split_at(512);
    let mut two = gzip(x);
    two.extend(gzip(y));
    let mut files = Vec::new();
    let desc = oci_manifest(&mut files, &[two], &[l.clone()], "amd64", "application/vnd.oci.image.layer.v1.tar+gzip");
    files.push(("index.json".into(), serde_json::to_vec(&serde_json::json!({"schemaVersion": 2, "manifests": [desc]})).unwrap()));
    let a = analyze_both(&Oci { files }.tar());
    assert_eq!(a.totals.final_bytes, 300);
    assert_eq!(a.layers[0].tar_bytes, l.len() as u64);
}

#[test]
fn whole_archive_gzip_and_zstd_read_like_the_plain_tar() {
    let layers = vec![layer(&[file("a", 10)]), layer(&[file("b", 20)])];
    let plain = docker_archive(&layers, "t:1", true);
    let base = one_pass(&plain).unwrap().analysis;
    for (c, data) in [("gzip", gzip(&plain)), ("zstd", zstd(&plain))] {
        let a = one_pass(&data).unwrap().analysis;
        assert_eq!(a.image.compression, c);
        assert_eq!(a.totals, base.totals);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("img");
        std::fs::write(&p, &data).unwrap();
        let b = analyze::run(p.to_str().unwrap(), &opts()).unwrap().analysis;
        assert_eq!(b.totals, base.totals);
    }
}

#[test]
fn oci_directory_reads_like_the_archive() {
    let plain = vec![layer(&[file("a", 10)]), layer(&[E::Whiteout("a"), file("b", 20)])];
    let oci = oci_layout(&plain, gzip, "application/vnd.oci.image.layer.v1.tar+gzip", "latest");
    let dir = tempfile::tempdir().unwrap();
    oci.write_dir(dir.path());
    let d = analyze::run(dir.path().to_str().unwrap(), &opts()).unwrap().analysis;
    let t = analyze_both(&oci.tar());
    assert_eq!(d.image.format, "oci-dir");
    assert_eq!(t.image.format, "oci-archive");
    assert_eq!(d.totals, t.totals);
    assert_eq!(d.layers, t.layers);
    assert_eq!(d.image.reference.as_deref(), Some("latest"));
}

fn two_platform_index() -> Vec<u8> {
    let amd = vec![layer(&[file("amd", 10)])];
    let arm = vec![layer(&[file("arm", 20)])];
    let media = "application/vnd.oci.image.layer.v1.tar";
    let mut files = Vec::new();
    let d1 = oci_manifest(&mut files, &amd, &amd, "amd64", media);
    let d2 = oci_manifest(&mut files, &arm, &arm, "arm64", media);
    // A nested index, as Docker 25+ and buildx write, with an attestation beside it.
    let nested = serde_json::to_vec(&serde_json::json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": [d1, d2,
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": format!("sha256:{}", "0".repeat(64)), "size": 1,
         "platform": {"os": "unknown", "architecture": "unknown"}}]}))
    .unwrap();
    let nd = sha(&nested);
    files.push((format!("blobs/sha256/{nd}"), nested.clone()));
    let index = serde_json::to_vec(&serde_json::json!({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": format!("sha256:{nd}"), "size": nested.len(),
         "annotations": {"org.opencontainers.image.ref.name": "multi:1"}}]}))
    .unwrap();
    files.push(("index.json".into(), index));
    Oci { files }.tar()
}

#[test]
fn platform_is_chosen_from_a_nested_index() {
    let data = two_platform_index();
    let a = one_pass(&data).unwrap().analysis;
    assert_eq!(a.image.platform, "linux/amd64");
    assert_eq!(a.totals.final_bytes, 10);
    let mut o = opts();
    o.selector.platform = Some("linux/arm64".into());
    let src = Source::open_stream("-".into(), &data[..], &slim::layers::walk::capture_none, &indicatif::ProgressBar::hidden()).unwrap();
    let b = analyze::run_source(src, &o).unwrap().analysis;
    assert_eq!((b.image.platform.as_str(), b.totals.final_bytes), ("linux/arm64", 20));
    o.selector.platform = Some("linux/s390x".into());
    let src = Source::open_stream("-".into(), &data[..], &slim::layers::walk::capture_none, &indicatif::ProgressBar::hidden()).unwrap();
    let err = analyze::run_source(src, &o).err().unwrap().to_string();
    assert!(err.contains("linux/amd64") && err.contains("linux/arm64") && err.contains("--platform"), "{err}");
}

#[test]
fn several_images_need_a_choice() {
    let l1 = vec![layer(&[file("one", 1)])];
    let l2 = vec![layer(&[file("two", 2)])];
    let (c1, c2) = (config(&l1, "amd64"), config(&l2, "amd64"));
    let manifest = serde_json::to_vec(&serde_json::json!([
        {"Config": "c1.json", "RepoTags": ["app:one"], "Layers": ["a/layer.tar"]},
        {"Config": "c2.json", "RepoTags": ["app:two"], "Layers": ["b/layer.tar"]}]))
    .unwrap();
    let mut t = Tar::new();
    t.add("manifest.json", &manifest).add("c1.json", &c1).add("c2.json", &c2).add("a/layer.tar", &l1[0]).add("b/layer.tar", &l2[0]);
    let data = t.finish();
    let err = one_pass(&data).err().unwrap().to_string();
    assert!(err.contains("app:one") && err.contains("app:two") && err.contains("--image"), "{err}");
    let mut o = opts();
    o.selector.image = Some("app:two".into());
    let src = Source::open_stream("-".into(), &data[..], &slim::layers::walk::capture_none, &indicatif::ProgressBar::hidden()).unwrap();
    let a = analyze::run_source(src, &o).unwrap().analysis;
    assert_eq!(a.totals.final_bytes, 2);
}

#[test]
fn docker_quirks_null_manifests_and_no_layers() {
    // `manifests: null` in a nested index and an image with no layers at all.
    let mut files = Vec::new();
    let desc = oci_manifest(&mut files, &[], &[], "amd64", "application/vnd.oci.image.layer.v1.tar");
    let empty = serde_json::to_vec(&serde_json::json!({"schemaVersion": 2, "manifests": null})).unwrap();
    let ed = sha(&empty);
    files.push((format!("blobs/sha256/{ed}"), empty.clone()));
    let index = serde_json::to_vec(&serde_json::json!({"schemaVersion": 2, "manifests": [desc,
        {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": format!("sha256:{ed}"), "size": empty.len()}]}))
    .unwrap();
    files.push(("index.json".into(), index));
    let a = one_pass(&Oci { files }.tar()).unwrap().analysis;
    assert_eq!(a.totals.layers, 0);
    assert_eq!(a.totals.final_bytes, 0);
}

#[test]
fn short_random_reads_do_not_change_the_result() {
    let l0 = layer(&[E::Dir("x"), file("x/a", 5000), file("x/b", 1)]);
    let l1 = layer(&[E::Opaque("x"), file("x/c", 77)]);
    let data = gzip(&docker_archive(&[l0, l1], "t:1", true));
    let whole = one_pass(&data).unwrap().analysis;
    for seed in 1..6 {
        let src = Source::open_stream("-".into(), Choppy { inner: &data[..], state: seed, max: 33 }, &slim::analyze::capture, &indicatif::ProgressBar::hidden()).unwrap();
        let a = analyze::run_source(src, &opts()).unwrap().analysis;
        assert_eq!(a.totals, whole.totals);
    }
}

#[test]
fn pax_paths_and_global_headers() {
    // A PAX 'x' header names the next entry (a long, non-ASCII path); a PAX global header
    // ('g', as git archive writes) is not a file.
    let long = format!("opt/{}/ü-data.bin", "p".repeat(150));
    let mut b = tar::Builder::new(Vec::new());
    let mut g = tar::Header::new_ustar();
    g.set_entry_type(tar::EntryType::XGlobalHeader);
    let gdata = b"52 comment=0123456789012345678901234567890123456789\n";
    g.set_size(gdata.len() as u64);
    g.set_path("pax_global_header").unwrap();
    g.set_cksum();
    b.append(&g, &gdata[..]).unwrap();
    b.append_pax_extensions([("path", long.as_bytes())]).unwrap();
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_size(5);
    h.set_path("short-name-ignored").unwrap();
    h.set_cksum();
    b.append(&h, &b"hello"[..]).unwrap();
    let l = b.into_inner().unwrap();
    let a = analyze_both(&img(&[l]));
    assert_eq!((a.totals.final_files, a.totals.final_bytes), (1, 5));
    assert_eq!(a.largest_files[0].path, format!("/{long}"));
}

/// dive's own test image (`.data/test-docker-image.tar`, wagoodman/dive), rebuilt from its
/// layer listing (fixtures/dive/) with zero-filled contents.
fn dive_test_image() -> Vec<u8> {
    let text = std::fs::read_to_string("fixtures/dive/test-docker-image.layers").unwrap();
    let mut layers: Vec<Vec<E>> = Vec::new();
    for line in text.lines() {
        if line.starts_with("layer ") {
            layers.push(Vec::new());
            continue;
        }
        let f: Vec<&str> = line.split('\t').collect();
        let e = match f[0] {
            "f" => E::File(f[2], vec![0; f[1].parse().unwrap()]),
            "d" => E::Dir(f[2]),
            "l" => E::Symlink(f[2], f[3]),
            "h" => E::Hardlink(f[2], f[3]),
            other => panic!("unknown entry type {other}"),
        };
        layers.last_mut().unwrap().push(e);
    }
    let layers: Vec<Vec<u8>> = layers.iter().map(|l| layer(l)).collect();
    assert_eq!(layers.len(), 14);
    docker_archive(&layers, "dive-test:latest", false)
}

#[test]
fn efficiency_on_dives_test_image_is_the_score_dives_test_asserts() {
    let archive = dive_test_image();
    let a = analyze_both(&archive);
    // dive's dive/image/docker/image_archive_analysis_test.go: efficiency 0.9844212134184309,
    // sizeBytes 1220598, wastedBytes 32025 (the same three figures dive 0.13.1 prints for it).
    assert_eq!(a.totals.efficiency, 0.9844212134184309);
    assert_eq!(a.totals.layer_file_bytes, 1220598);
    assert_eq!(a.totals.wasted_bytes, 32025);

    // Printed with every digit, and `check --min-efficiency` passes and fails where
    // `.dive-ci`'s lowestEfficiency does (dive fails when threshold > efficiency).
    let dir = tempfile::tempdir().unwrap();
    let p = write_in(dir.path(), "dive-test.tar", &archive);
    let slim = || {
        let mut c = slim();
        c.env("NO_COLOR", "1").env_remove("GITHUB_STEP_SUMMARY");
        c
    };
    let out = slim().arg("analyze").arg(&p).args(["--format", "json"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"efficiency\": 0.9844212134184309,"));
    for (limit, code) in [("0.95", 0), ("0.9844212134184308", 0), ("0.9844212134184309", 0), ("0.984421213418431", 1), ("98.4421213418431%", 1)] {
        let o = slim().arg("check").arg(&p).args(["--min-efficiency", limit]).output().unwrap();
        assert_eq!(o.status.code(), Some(code), "--min-efficiency {limit}: {}", String::from_utf8_lossy(&o.stdout));
    }
}

#[test]
fn efficiency_counts_a_deleted_file_as_size_0_and_a_deleted_directory_as_what_it_held() {
    // Deleting a file is one more occurrence of its path, of size 0: min 0 over 100.
    let a = analyze_both(&img(&[layer(&[file("a", 100), file("keep", 100)]), layer(&[E::Whiteout("a")])]));
    assert_eq!(a.totals.efficiency, 100.0 / 200.0);
    // A directory whose only entry in a layer is a whiteout is no empty directory of that
    // layer: deleting it later is its only other occurrence. d/x 30 of 30, d/y min 0 of 30 + 0,
    // d 30 of 30 (not 0 of 0 + 30, as an empty directory in the middle layer would make it).
    let a = analyze_both(&img(&[layer(&[E::Dir("d"), file("d/x", 30), file("d/y", 30)]), layer(&[E::Dir("d"), E::Whiteout("d/y")]), layer(&[E::Whiteout("d")])]));
    assert_eq!(a.totals.efficiency, 60.0 / 90.0);
    // Hard links are entries of size 0, so content they share counts once when the directory
    // goes: d is empty in the middle layer (0), then deleted holding 50 (not 100).
    let a = analyze_both(&img(&[layer(&[E::Dir("d"), file("d/x", 50), E::Hardlink("d/l", "d/x"), file("keep", 50)]), layer(&[E::Dir("d")]), layer(&[E::Whiteout("d")])]));
    assert_eq!(a.totals.efficiency, 100.0 / 150.0);
}

#[test]
fn opaque_marker_in_a_symlinked_directory_clears_the_target() {
    // The marker's directory is resolved like any entry's parent (umoci clears x here too).
    let l0 = layer(&[E::Dir("x"), file("x/f", 10), E::Symlink("s", "x")]);
    let l1 = layer(&[E::Opaque("s"), file("s/g", 5)]);
    let a = analyze_both(&img(&[l0, l1]));
    assert_eq!((a.totals.final_files, a.totals.final_bytes, a.totals.wasted_bytes), (1, 5, 10));
}
