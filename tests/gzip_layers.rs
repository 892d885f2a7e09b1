//! gzip layers read the same whichever decoder slim was built with (flate2, or ISA-L with
//! `--features isal`; CI runs this file with the feature on, a plain `cargo test` with it
//! off): a multi-member layer gives the analysis a single stream gives, and a cut or corrupt
//! one fails with exit 2 and the same one-line message.

use crate::util::*;
use assert_cmd::Command;
use std::io::Write;

const GZ: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

fn plain() -> Vec<u8> {
    layer(&[E::Dir("app"), file("app/model.bin", 300_000), file("app/a.txt", 5000), file("app/b.txt", 70)])
}

fn gz_level(data: &[u8], level: u32) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// An OCI archive whose one layer is stored as `blob` (its digest is the blob's own, so only
/// the decoder can object).
fn image(blob: Vec<u8>) -> Vec<u8> {
    oci_layout_of(&[blob], &[plain()], GZ, "latest").tar()
}

/// (exit code, stdout, stderr) of `slim analyze --format json` on these bytes.
fn analyze(bytes: &[u8]) -> (Option<i32>, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let p = write_in(dir.path(), "image.tar", bytes);
    let out = Command::cargo_bin("slim").unwrap().env("NO_COLOR", "1").args(["analyze", "--format", "json"]).arg(&p).output().unwrap();
    (out.status.code(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

/// The analysis without what names the blob (its digest and size differ by encoding).
fn facts(json: &str) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_str(json).unwrap();
    v.as_object_mut().unwrap().remove("image");
    v["totals"].as_object_mut().unwrap().remove("compressed_bytes");
    for l in v["layers"].as_array_mut().unwrap() {
        let l = l.as_object_mut().unwrap();
        l.remove("blob_digest");
        l.remove("compressed_bytes");
    }
    v
}

#[test]
fn a_multi_member_layer_reads_as_one_stream() {
    let p = plain();
    let (code, one, err) = analyze(&image(gzip(&p)));
    assert_eq!(code, Some(0), "{err}");
    // Members cut at odd places (inside a header, inside a file), at several levels, and an
    // empty member at the end.
    let multi = [gz_level(&p[..700], 1), gz_level(&p[700..150_001], 9), gz_level(&p[150_001..], 6), gz_level(b"", 6)].concat();
    let (code, many, err) = analyze(&image(multi));
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(facts(&one), facts(&many));
    assert_eq!(facts(&one)["layers"][0]["compression"], "gzip");
}

#[test]
fn cut_and_corrupt_gzip_layers_fail_the_same_way() {
    let good = gzip(&plain());
    let n = good.len();
    let mut bad_crc = good.clone();
    bad_crc[n - 8] ^= 1;
    let mut bad_size = good.clone();
    bad_size[n - 1] ^= 1;
    let mut bad_method = good.clone();
    bad_method[2] = 7;
    // What flate2's MultiGzDecoder says for each (ISA-L's reader says the same).
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("cut in the data", good[..n / 2].to_vec(), "incomplete deflate stream"),
        ("cut in the trailer", good[..n - 4].to_vec(), "unexpected end of file"),
        ("cut in the header", good[..6].to_vec(), "unexpected end of file"),
        ("wrong crc", bad_crc, "corrupt gzip stream does not have a matching checksum"),
        ("wrong size", bad_size, "corrupt gzip stream does not have a matching checksum"),
        ("not deflate", bad_method, "invalid gzip header"),
        ("zeros after the member", [good.clone(), vec![0; 1024]].concat(), "invalid gzip header"),
        ("half a header after the member", [good.clone(), vec![0x1f, 0x8b]].concat(), "unexpected end of file"),
    ];
    for (what, blob, msg) in cases {
        let (code, out, err) = analyze(&image(blob));
        assert_eq!(code, Some(2), "{what}: {err}");
        assert!(out.is_empty(), "{what}");
        assert_eq!(err.trim_end().lines().count(), 1, "{what}: {err}");
        assert!(err.starts_with("slim: error: ") && err.contains("image.tar: layer 0 (blobs/sha256/"), "{what}: {err}");
        assert!(err.contains("reading gzip stream: ") && err.trim_end().ends_with(msg), "{what}: {msg:?} in {err}");
        assert!(!err.contains("panicked"), "{what}");
    }
}
