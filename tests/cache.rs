//! The layer cache: an analysis from cached layers is byte for byte the JSON of a fresh read,
//! for every packaging; damaged, foreign and old entries are never trusted but written again;
//! concurrent runs are safe; the size cap evicts the least recently used; a cache that cannot
//! be used costs one warning line, never the analysis.

use crate::util::*;
use assert_cmd::Command;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn slim() -> Command {
    let mut c = Command::cargo_bin("slim").unwrap();
    c.env("NO_COLOR", "1").env("COLUMNS", "120").env_remove("SLIM_NO_CACHE").env_remove("SLIM_CACHE_DIR").env_remove("SLIM_CACHE_MAX");
    c
}

/// `slim analyze --format json` of `image` with the cache in `cache` (None: `--no-cache`):
/// stdout as it was written, and stderr.
fn analyze(image: &Path, cache: Option<&Path>, extra: &[&str]) -> (Vec<u8>, String) {
    let mut c = slim();
    c.args(["analyze", "--format", "json", "--top", "1000"]).args(extra).arg(image);
    match cache {
        Some(d) => c.arg("--cache-dir").arg(d),
        None => c.arg("--no-cache"),
    };
    let out = c.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{}: {err}", image.display());
    (out.stdout, err)
}

/// The cache's entries: name → bytes.
fn entries(cache: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let dir = cache.join("layers");
    let Ok(rd) = std::fs::read_dir(&dir) else { return Default::default() };
    rd.map(|e| e.unwrap())
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap()))
        .collect()
}

/// Three layers, two 2 MiB files alike (duplicate detection needs their hashes), a whiteout,
/// a symlink and a hard link, and some package metadata (captured contents).
fn plain_layers(tag: &str) -> Vec<Vec<u8>> {
    vec![
        dpkg_layer(&[("libfoo", "usr/lib/libfoo.so", 3000), ("bar", "usr/bin/bar", 100)], vec![E::Dir("opt"), file("opt/big", 2 << 20)]),
        layer(&[
            E::Dir("app"),
            E::File("app/main.py", b"import os\nimport json\n".to_vec()),
            file("app/copy", 2 << 20),
            E::Symlink("app/link", "main.py"),
            E::Hardlink("app/hard", "app/main.py"),
        ]),
        layer(&[E::Whiteout("usr/bin/bar"), E::File("app/tag", tag.as_bytes().to_vec())]),
    ]
}

/// `plain_layers(tag)` as an OCI layout with gzip layers.
fn gz_oci(tag: &str) -> Oci {
    oci_layout(&plain_layers(tag), gzip, "application/vnd.oci.image.layer.v1.tar+gzip", "latest")
}

/// Every packaging of one image: docker save (legacy, uncompressed), OCI archives and layout
/// directories with gzip, zstd and uncompressed layers, docker save compressed as a whole
/// (read in one pass), and the real fixtures.
fn packagings(dir: &Path) -> Vec<PathBuf> {
    let plain = plain_layers("1");
    let (mut out, mut dirs) = (Vec::new(), Vec::new());
    let put = |name: &str, bytes: Vec<u8>, out: &mut Vec<PathBuf>| {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        out.push(p);
    };
    let docker = docker_archive(&plain, "demo:1", false);
    put("docker.tar", docker.clone(), &mut out);
    put("docker.tar.gz", gzip(&docker), &mut out);
    for (name, compress, media) in [
        ("gzip", gzip as fn(&[u8]) -> Vec<u8>, "application/vnd.oci.image.layer.v1.tar+gzip"),
        ("zstd", zstd, "application/vnd.oci.image.layer.v1.tar+zstd"),
        ("none", identity, "application/vnd.oci.image.layer.v1.tar"),
    ] {
        let oci = oci_layout(&plain, compress, media, "latest");
        put(&format!("oci-{name}.tar"), oci.tar(), &mut out);
        let d = dir.join(format!("oci-{name}"));
        oci.write_dir(&d);
        dirs.push(d);
    }
    out.extend(dirs);
    settle();
    let fixtures = root().join("fixtures/images");
    for f in ["pyapp-docker-archive.tar", "pyapp-docker25.tar", "pyapp-oci-archive-gzip.tar", "pyapp-oci-archive-zstd.tar", "pyapp-oci-dir"] {
        out.push(fixtures.join(f));
    }
    out
}

/// Uncompressed layers are keyed by their file once it has been still for a few seconds.
fn settle() {
    std::thread::sleep(std::time::Duration::from_millis(3100));
}

#[test]
fn cached_layers_give_the_json_of_a_fresh_read_for_every_packaging() {
    let tmp = tempfile::tempdir().unwrap();
    for image in packagings(tmp.path()) {
        let cache = tempfile::tempdir().unwrap();
        let (fresh, _) = analyze(&image, None, &[]);
        let (cold, _) = analyze(&image, Some(cache.path()), &[]);
        let kept = entries(cache.path());
        let (warm, err) = analyze(&image, Some(cache.path()), &[]);
        assert!(err.is_empty(), "{err}");
        let name = image.display().to_string();
        assert_eq!(String::from_utf8_lossy(&cold), String::from_utf8_lossy(&fresh), "{name}: cold");
        assert_eq!(String::from_utf8_lossy(&warm), String::from_utf8_lossy(&fresh), "{name}: warm");
        assert_eq!(entries(cache.path()), kept, "{name}: a warm run writes nothing");
        let layers = serde_json::from_slice::<serde_json::Value>(&fresh).unwrap()["layers"].as_array().unwrap().len();
        if name.ends_with(".tar.gz") {
            // Read in one pass, every layer as it passes: nothing to save.
            assert!(kept.is_empty(), "{name}");
        } else {
            assert_eq!(kept.len(), layers, "{name}: one entry per layer");
        }
        // --verify on a warm cache: the same analysis, as --verify gives fresh.
        let (v_fresh, _) = analyze(&image, None, &["--verify"]);
        let (v_warm, _) = analyze(&image, Some(cache.path()), &["--verify"]);
        assert_eq!(String::from_utf8_lossy(&v_warm), String::from_utf8_lossy(&v_fresh), "{name}: --verify");
    }
}

#[test]
fn a_hit_trusts_the_manifest_digest_and_verify_does_not() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let plain = plain_layers("1");
    let oci = oci_layout(&plain, gzip, "application/vnd.oci.image.layer.v1.tar+gzip", "latest");
    let dir = tmp.path().join("oci");
    oci.write_dir(&dir);
    let (fresh, _) = analyze(&dir, Some(cache.path()), &[]);
    // Every layer blob replaced by as many bytes of garbage after gzip's magic: the
    // manifest's digests name layers the cache holds, so none is read (duplicate detection
    // included).
    let blobs: Vec<PathBuf> = (0..plain.len()).map(|i| dir.join(format!("blobs/sha256/{}", sha(&gzip(&plain[i]))))).collect();
    for b in &blobs {
        let n = std::fs::metadata(b).unwrap().len() as usize;
        let mut junk = vec![0x5a; n];
        junk[..2].copy_from_slice(&[0x1f, 0x8b]);
        std::fs::write(b, junk).unwrap();
    }
    let (warm, _) = analyze(&dir, Some(cache.path()), &[]);
    assert_eq!(String::from_utf8_lossy(&warm), String::from_utf8_lossy(&fresh));
    // --verify hashes every blob, hit or not: the first changed one is refused, exit 2.
    let out = slim().args(["analyze", "--verify", "--cache-dir"]).arg(cache.path()).arg(&dir).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("digest mismatch") && err.trim_end().lines().count() == 1, "{err}");
    // A blob of another length is not taken from the cache: read, and refused.
    std::fs::write(&blobs[0], b"short").unwrap();
    let out = slim().args(["analyze", "--cache-dir"]).arg(cache.path()).arg(&dir).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn an_uncompressed_layer_is_keyed_by_its_file_and_read_again_when_the_file_changes() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let plain = plain_layers("1");
    let p = tmp.path().join("docker.tar");
    std::fs::write(&p, docker_archive(&plain, "demo:1", false)).unwrap();
    // Just written: not keyed yet (it could change again within the same clock tick).
    analyze(&p, Some(cache.path()), &[]);
    assert_eq!(entries(cache.path()).len(), 0);
    settle();
    let (fresh, _) = analyze(&p, Some(cache.path()), &[]);
    assert_eq!(entries(cache.path()).len(), 3);
    // Another image of other bytes written over the same file: nothing of the old one is used.
    let other = plain_layers("two");
    std::fs::write(&p, docker_archive(&other, "demo:1", false)).unwrap();
    settle();
    let (again, _) = analyze(&p, Some(cache.path()), &[]);
    let (want, _) = analyze(&p, None, &[]);
    assert_ne!(again, fresh);
    assert_eq!(String::from_utf8_lossy(&again), String::from_utf8_lossy(&want));
    assert_eq!(entries(cache.path()).len(), 6);
}

/// Damage every entry with `f`, run again: the analysis is the fresh one and every entry is
/// written again as it was.
fn damaged_entries_are_rewritten(f: impl Fn(&mut Vec<u8>)) {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let plain = plain_layers("1");
    let oci = oci_layout(&plain, zstd, "application/vnd.oci.image.layer.v1.tar+zstd", "latest");
    let p = tmp.path().join("oci.tar");
    std::fs::write(&p, oci.tar()).unwrap();
    let (fresh, _) = analyze(&p, Some(cache.path()), &[]);
    let good = entries(cache.path());
    assert_eq!(good.len(), 3);
    for (name, bytes) in &good {
        let mut bad = bytes.clone();
        f(&mut bad);
        assert_ne!(&bad, bytes);
        std::fs::write(cache.path().join("layers").join(name), bad).unwrap();
    }
    let (again, err) = analyze(&p, Some(cache.path()), &[]);
    assert!(err.is_empty(), "{err}");
    assert_eq!(String::from_utf8_lossy(&again), String::from_utf8_lossy(&fresh));
    assert_eq!(entries(cache.path()), good, "every damaged entry was written again");
}

/// The entry's checksum (its last 16 bytes, xxh3-128 of the rest) made right again, so that
/// only what was changed can make it foreign.
fn reseal(b: &mut [u8]) {
    let n = b.len() - 16;
    let sum = xxhash_rust::xxh3::xxh3_128(&b[..n]);
    b[n..].copy_from_slice(&sum.to_le_bytes());
}

#[test]
fn a_flipped_byte_is_not_trusted() {
    damaged_entries_are_rewritten(|b| {
        let i = b.len() / 2;
        b[i] ^= 0x01;
    });
}

#[test]
fn a_truncated_entry_is_not_trusted() {
    damaged_entries_are_rewritten(|b| b.truncate(b.len() - 17));
}

#[test]
fn garbage_is_not_trusted() {
    damaged_entries_are_rewritten(|b| *b = b"{\"not\": \"an entry\"}".to_vec());
}

#[test]
fn an_entry_of_another_format_version_is_not_trusted() {
    // Whole and checksummed, but another version: foreign.
    damaged_entries_are_rewritten(|b| {
        b[8] = b[8].wrapping_add(1);
        reseal(b);
    });
}

#[test]
fn an_entry_of_another_build_is_not_trusted() {
    // The build's name (after the magic, the version and its length) changed, checksum fixed.
    damaged_entries_are_rewritten(|b| {
        b[15] ^= 0x20;
        reseal(b);
    });
}

#[test]
fn concurrent_runs_share_one_cache_safely() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    // Big enough layers that the runs overlap.
    let mut plain = plain_layers("1");
    plain.push(layer(&(0..2000).map(|i| file(Box::leak(format!("many/f{i}").into_boxed_str()), 4000)).collect::<Vec<_>>()));
    let oci = oci_layout(&plain, gzip, "application/vnd.oci.image.layer.v1.tar+gzip", "latest");
    let p = tmp.path().join("oci.tar");
    std::fs::write(&p, oci.tar()).unwrap();
    let (fresh, _) = analyze(&p, None, &[]);
    for round in 0..3 {
        let children: Vec<std::process::Child> = (0..4)
            .map(|_| {
                std::process::Command::new(env!("CARGO_BIN_EXE_slim"))
                    .args(["analyze", "--format", "json", "--top", "1000", "--cache-dir"])
                    .arg(cache.path())
                    .arg(&p)
                    .env_remove("SLIM_NO_CACHE")
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for c in children {
            let out = c.wait_with_output().unwrap();
            assert!(out.status.success(), "round {round}: {}", String::from_utf8_lossy(&out.stderr));
            assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
            assert_eq!(String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&fresh), "round {round}");
        }
    }
    let kept = entries(cache.path());
    assert_eq!(kept.len(), 4);
    let (warm, _) = analyze(&p, Some(cache.path()), &[]);
    assert_eq!(warm, fresh);
    assert_eq!(entries(cache.path()), kept, "whole entries, none written again");
    let left: Vec<_> = std::fs::read_dir(cache.path().join("layers")).unwrap().filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with('.')).collect();
    assert!(left.is_empty(), "no temporary file left behind");
}

#[test]
fn the_size_cap_evicts_the_least_recently_used() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    // One-layer images of the same shape and other contents: entries of about one size.
    let image = |tag: &str| {
        let l = vec![layer(&[E::Dir("d"), E::File("d/tag", tag.as_bytes().to_vec()), file("d/x", 100)])];
        let p = tmp.path().join(format!("{tag}.tar"));
        std::fs::write(&p, oci_layout(&l, gzip, "application/vnd.oci.image.layer.v1.tar+gzip", "latest").tar()).unwrap();
        p
    };
    let (x, y, z) = (image("xxxx"), image("yyyy"), image("zzzz"));
    let new_entry = |before: &std::collections::BTreeMap<String, Vec<u8>>| {
        let now = entries(cache.path());
        let added: Vec<String> = now.keys().filter(|k| !before.contains_key(*k)).cloned().collect();
        assert_eq!(added.len(), 1, "{added:?}");
        (added[0].clone(), now[&added[0]].len() as u64)
    };
    let run = |p: &Path, max: u64| {
        std::thread::sleep(std::time::Duration::from_millis(20));
        analyze(p, Some(cache.path()), &["--cache-max", &max.to_string()]);
    };
    run(&x, 1 << 30);
    let (ex, size) = new_entry(&Default::default());
    let before = entries(cache.path());
    run(&y, 1 << 30);
    let (ey, _) = new_entry(&before);
    // x again: a hit, which makes it the most recently used.
    run(&x, 1 << 30);
    let before = entries(cache.path());
    // Room for two and a half: z's entry pushes out the least recently used, y.
    run(&z, size * 5 / 2);
    let (ez, _) = new_entry(&before);
    let now = entries(cache.path());
    assert!(now.contains_key(&ex) && now.contains_key(&ez), "{now:?}");
    assert!(!now.contains_key(&ey), "y, least recently used, is evicted");
    assert_eq!(now.len(), 2);
}

#[test]
fn a_cache_that_cannot_be_used_is_one_warning_and_the_same_analysis() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("docker.tar");
    std::fs::write(&p, docker_archive(&plain_layers("1"), "demo:1", false)).unwrap();
    let (fresh, _) = analyze(&p, None, &[]);
    // A file where the directory should be, and a place no one can create a directory.
    let file = tmp.path().join("a-file");
    std::fs::write(&file, b"").unwrap();
    for dir in [file.join("cache"), PathBuf::from("/proc/self/slim-cache")] {
        let (got, err) = analyze(&p, Some(&dir), &[]);
        assert_eq!(got, fresh);
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains("warning: layer cache") && err.contains("continuing without it"), "{err}");
    }
    // A read-only directory (root may write it anyway): never an error, at most one line.
    let ro = tmp.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    let (got, err) = analyze(&p, Some(&ro), &[]);
    assert_eq!(got, fresh);
    assert!(err.trim_end().lines().count() <= 1, "{err}");
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn a_read_only_cache_serves_its_hits_and_keeps_nothing_new() {
    let tmp = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let plain = plain_layers("1");
    let dir = tmp.path().join("oci");
    oci_layout(&plain, gzip, "application/vnd.oci.image.layer.v1.tar+gzip", "latest").write_dir(&dir);
    let (fresh, _) = analyze(&dir, Some(cache.path()), &[]);
    let filled = entries(cache.path());
    // Garbage in every layer blob: only the cache can give the analysis now.
    for p in &plain {
        let b = dir.join(format!("blobs/sha256/{}", sha(&gzip(p))));
        let mut junk = vec![0x5a; std::fs::metadata(&b).unwrap().len() as usize];
        junk[..2].copy_from_slice(&[0x1f, 0x8b]);
        std::fs::write(&b, junk).unwrap();
    }
    // The cache mounted read-only (as a CI job would mount one filled elsewhere; root writes
    // through mode bits, not through a read-only mount), and a second image it does not hold.
    let other = tmp.path().join("other.tar");
    std::fs::write(&other, docker_archive(&plain_layers("2"), "demo:2", false)).unwrap();
    let bin = assert_cmd::cargo::cargo_bin("slim");
    let script = r#"set -e; mount --bind "$1" "$1"; mount -o remount,bind,ro "$1"
"$2" analyze --format json --top 1000 --cache-dir "$1" "$3" >"$5/hit.json" 2>"$5/hit.err"
"$2" analyze --format json --top 1000 --cache-dir "$1" "$4" >"$5/miss.json" 2>"$5/miss.err""#;
    let out = std::process::Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", script, "sh"])
        .arg(cache.path())
        .arg(&bin)
        .arg(&dir)
        .arg(&other)
        .arg(tmp.path())
        .env("NO_COLOR", "1")
        .env("COLUMNS", "120")
        .env_remove("SLIM_NO_CACHE")
        .env_remove("SLIM_CACHE_DIR")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&std::fs::read(tmp.path().join("hit.json")).unwrap()), String::from_utf8_lossy(&fresh));
    let err = std::fs::read_to_string(tmp.path().join("hit.err")).unwrap();
    assert!(err.trim_end().lines().count() == 1 && err.contains("is read-only: its entries are used"), "{err}");
    let (other_fresh, _) = analyze(&other, None, &[]);
    assert_eq!(std::fs::read(tmp.path().join("miss.json")).unwrap(), other_fresh);
    assert_eq!(entries(cache.path()), filled, "nothing was written or evicted");
}

#[test]
fn the_cache_is_never_written_inside_the_input() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("oci");
    gz_oci("1").write_dir(&dir);
    let before: Vec<_> = walkdir(&dir);
    let (_, err) = analyze(&dir, Some(&dir.join("cache")), &[]);
    assert!(err.contains("inside the input"), "{err}");
    assert_eq!(walkdir(&dir), before);
}

fn walkdir(d: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(d).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walkdir(&p));
        }
        out.push(p);
    }
    out.sort();
    out
}

#[test]
fn every_command_that_reads_an_image_uses_the_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("oci.tar");
    std::fs::write(&p, gz_oci("1").tar()).unwrap();
    let q = tmp.path().join("oci2.tar");
    std::fs::write(&q, gz_oci("2").tar()).unwrap();
    let out_dir = tmp.path().join("rw");
    let commands: Vec<Vec<std::ffi::OsString>> = vec![
        vec!["check".into(), "--budget".into(), "1GB".into(), p.clone().into()],
        vec!["diff".into(), p.clone().into(), q.clone().into()],
        vec!["why".into(), "libfoo".into(), p.clone().into()],
        vec!["rewrite".into(), "-o".into(), out_dir.into(), p.clone().into()],
    ];
    for args in commands {
        let cache = tempfile::tempdir().unwrap();
        let mut c = slim();
        c.args(&args).arg("--cache-dir").arg(cache.path());
        let out = c.output().unwrap();
        assert!(out.status.code().is_some_and(|c| c <= 1), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        assert!(entries(cache.path()).len() >= 3, "{args:?} kept its layers");
        let mut c = slim();
        c.args(&args).arg("--no-cache");
        assert!(c.output().unwrap().status.code().is_some_and(|c| c <= 1), "{args:?} --no-cache");
    }
}

#[test]
fn a_baseline_image_is_read_through_the_same_cache_flags() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("oci.tar");
    std::fs::write(&p, gz_oci("1").tar()).unwrap();
    let q = tmp.path().join("base.tar");
    std::fs::write(&q, gz_oci("2").tar()).unwrap();
    let home = tempfile::tempdir().unwrap();
    let check = |cache: &[&std::ffi::OsStr]| {
        let mut c = slim();
        c.env("XDG_CACHE_HOME", home.path()).env("HOME", home.path());
        c.arg("check").arg(&p).arg("--baseline").arg(&q).args(["--max-growth", "50%"]).args(cache);
        let out = c.output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    };
    // The two images share their first two layers: three of the image's, one of the baseline's.
    let d = tempfile::tempdir().unwrap();
    check(&["--cache-dir".as_ref(), d.path().as_os_str()]);
    assert_eq!(entries(d.path()).len(), 4, "the baseline's own layer is kept in --cache-dir");
    assert!(walkdir(home.path()).is_empty(), "nothing in the default cache: {:?}", walkdir(home.path()));
    // --no-cache holds for the baseline as well.
    check(&["--no-cache".as_ref()]);
    assert!(walkdir(home.path()).is_empty(), "--no-cache wrote {:?}", walkdir(home.path()));
}
