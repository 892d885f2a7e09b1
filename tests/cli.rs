//! The binary as users run it: exit codes, one-line errors on bad input, output files that
//! are whole or absent, stdin, and the JSON model read back.

use crate::util::*;
use slim::model::analysis::Analysis;
use std::path::Path;

fn good_image() -> Vec<u8> {
    docker_archive(&[layer(&[E::Dir("app"), file("app/big.bin", 4000), file("app/small", 10)]), layer(&[E::Whiteout("app/big.bin")])], "demo:1", false)
}

/// Run `slim analyze FILE` on these bytes and expect a one-line error mentioning `needles`.
fn expect_input_error(bytes: &[u8], needles: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let p = write_in(dir.path(), "image.tar", bytes);
    let out_path = dir.path().join("out").join("report.json");
    std::fs::create_dir(dir.path().join("out")).unwrap();
    // A fresh read: a layer cache holding the genuine blob a tampered one stands in for would
    // trust the manifest's digest (docs/input.md), and these inputs are about reading.
    let cache = tempfile::tempdir().unwrap();
    let out = slim().arg("analyze").arg(&p).arg("-o").arg(&out_path).arg("--cache-dir").arg(cache.path()).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {err}");
    assert!(out.stdout.is_empty());
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.contains("image.tar"), "names the file: {err}");
    for n in needles {
        assert!(err.contains(n), "{n:?} in {err}");
    }
    assert!(!err.contains("panicked"));
    assert_eq!(std::fs::read_dir(dir.path().join("out")).unwrap().count(), 0, "no output file left behind");
}

#[test]
fn not_a_tar() {
    expect_input_error(b"this is plainly not an image archive, just some text that goes on for a while", &["not a tar archive"]);
    expect_input_error(b"", &["empty"]);
}

#[test]
fn truncated_archive() {
    let img = good_image();
    expect_input_error(&img[..img.len() / 2 + 100], &["truncated"]);
}

#[test]
fn truncated_stream_through_gzip() {
    let img = gzip(&good_image());
    expect_input_error(&img[..img.len() / 2], &["gzip"]);
}

#[test]
fn corrupt_gzip_layer() {
    let plain = vec![layer(&[file("a", 20000), file("b", 3000)])];
    let mut oci = oci_layout(&plain, gzip, "application/vnd.oci.image.layer.v1.tar+gzip", "latest");
    // Flip bytes inside the deflate stream of the layer blob.
    let name = format!("blobs/sha256/{}", sha(&gzip(&plain[0])));
    let (_, blob) = oci.files.iter_mut().find(|(n, _)| *n == name).unwrap();
    let mid = blob.len() / 2;
    for b in &mut blob[mid..mid + 8] {
        *b ^= 0x5a;
    }
    expect_input_error(&oci.tar(), &["layer 0", "gzip"]);
}

#[test]
fn corrupt_zstd_layer() {
    let plain = vec![layer(&[file("a", 20000)])];
    let mut oci = oci_layout(&plain, zstd, "application/vnd.oci.image.layer.v1.tar+zstd", "latest");
    let name = format!("blobs/sha256/{}", sha(&zstd(&plain[0])));
    let (_, blob) = oci.files.iter_mut().find(|(n, _)| *n == name).unwrap();
    let n = blob.len();
    blob.truncate(n - 5);
    expect_input_error(&oci.tar(), &["layer 0", "zstd"]);
}

#[test]
fn missing_blob() {
    let plain = vec![layer(&[file("a", 10)])];
    let mut oci = oci_layout(&plain, identity, "application/vnd.oci.image.layer.v1.tar", "latest");
    let layer_name = format!("blobs/sha256/{}", sha(&plain[0]));
    oci.files.retain(|(n, _)| *n != layer_name);
    expect_input_error(&oci.tar(), &["missing", &layer_name]);
}

#[test]
fn digest_mismatch_on_a_blob_read_in_full() {
    let plain = vec![layer(&[file("a", 10)])];
    let mut oci = oci_layout(&plain, gzip, "application/vnd.oci.image.layer.v1.tar+gzip", "latest");
    // Replace the blob with another valid gzip of the same layer at another level.
    let name = format!("blobs/sha256/{}", sha(&gzip(&plain[0])));
    let other = {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        e.write_all(&plain[0]).unwrap();
        e.finish().unwrap()
    };
    for (n, d) in &mut oci.files {
        if *n == name {
            *d = other.clone();
        }
    }
    let want = if other.len() == gzip(&plain[0]).len() { "digest mismatch" } else { "size mismatch" };
    expect_input_error(&oci.tar(), &[want]);
}

#[test]
fn config_digest_mismatch() {
    let plain = vec![layer(&[file("a", 10)])];
    let mut oci = oci_layout(&plain, identity, "application/vnd.oci.image.layer.v1.tar", "latest");
    let cfg = config(&plain, "amd64");
    for (_, d) in &mut oci.files {
        if *d == cfg {
            let i = d.iter().position(|&b| b == b'a').unwrap();
            d[i] = b'b';
        }
    }
    expect_input_error(&oci.tar(), &["digest mismatch"]);
}

#[test]
fn malformed_json() {
    let mut t = Tar::new();
    t.add("manifest.json", b"[{\"Config\": \"c.json\", \"Layers\": [");
    expect_input_error(&t.finish(), &["manifest.json", "malformed JSON"]);
}

#[test]
fn no_manifest_at_all() {
    let mut t = Tar::new();
    t.add("hello.txt", b"hi");
    expect_input_error(&t.finish(), &["not a container image"]);
}

#[test]
fn hostile_entry_path() {
    let bad = layer(&[E::File("../../etc/passwd", vec![1; 4])]);
    expect_input_error(&docker_archive(&[bad], "x:1", false), &["layer 0", "hostile", "../../etc/passwd"]);
}

#[test]
fn symlink_loop() {
    let bad = layer(&[E::Symlink("a", "b"), E::Symlink("b", "/a"), file("a/x", 1)]);
    expect_input_error(&docker_archive(&[bad], "x:1", false), &["symbolic links"]);
}

#[test]
fn bare_whiteout() {
    let bad = layer(&[file(".wh.", 0)]);
    expect_input_error(&docker_archive(&[bad], "x:1", false), &["whiteout with no name"]);
}

#[test]
fn unknown_layer_media_type() {
    let plain = vec![layer(&[file("a", 10)])];
    let oci = oci_layout(&plain, identity, "application/vnd.example.strange", "latest");
    expect_input_error(&oci.tar(), &["unknown layer media type"]);
}

#[test]
fn directory_that_is_not_an_oci_layout() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("README"), "hi").unwrap();
    let out = slim().arg("analyze").arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not an OCI image layout"), "{err}");
}

#[test]
fn missing_file_and_bad_usage_exit_2() {
    let out = slim().args(["analyze", "/nonexistent/image.tar"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/image.tar"));
    let out = slim().args(["analyze"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let out = slim().args(["analyze", "x", "--format", "yaml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn json_output_file_reads_back_into_the_model() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_in(dir.path(), "image.tar", &good_image());
    let out = dir.path().join("a.json");
    slim().arg("analyze").arg(&p).args(["--format", "json", "-o"]).arg(&out).assert().success().stdout("");
    let a: Analysis = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(a.schema_version, 1);
    assert_eq!(a.totals.final_bytes, 10);
    assert_eq!(a.totals.wasted_bytes, 4000);
    assert_eq!(a.image.reference.as_deref(), Some("demo:1"));
    // Only the report was written, nothing next to the input.
    let mut names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    names.sort();
    assert_eq!(names, ["a.json", "image.tar"]);
}

#[test]
fn stdin_is_read_in_one_pass() {
    let img = docker_archive(&[layer(&[file("x", 123)])], "demo:1", true);
    let out = slim().args(["analyze", "-", "--format", "json"]).write_stdin(img).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let a: Analysis = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(a.image.source, "-");
    assert_eq!(a.totals.final_bytes, 123);
}

#[test]
fn text_report_tables_add_up() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("image.tar");
    let files: Vec<E> = (0..15).map(|i| E::File(Box::leak(format!("f{i}").into_boxed_str()), vec![0; 100 * (i + 1)])).collect();
    std::fs::write(&p, docker_archive(&[layer(&files), layer(&[E::Whiteout("f3")])], "demo:1", false)).unwrap();
    let out = slim().arg("analyze").arg(&p).args(["--top", "5"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success());
    // 15 files, one deleted: 5 shown, "and 9 more", total = sum.
    assert!(text.contains("and 9 more files"), "{text}");
    let total: u64 = (1..=15).map(|i| 100 * i).sum::<u64>() - 400;
    assert!(text.contains(&slim::show::human(total)), "{text}");
    assert!(text.contains("RUN step 0"), "{text}");
}

#[test]
fn closed_pipe_is_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("image.tar");
    let files: Vec<E> = (0..2000).map(|i| E::File(Box::leak(format!("file-{i}").into_boxed_str()), vec![1; 10])).collect();
    std::fs::write(&p, docker_archive(&[layer(&files)], "demo:1", false)).unwrap();
    let bin = assert_cmd::cargo::cargo_bin("slim");
    let script = format!("'{}' analyze '{}' --format json --top 2000 | head -c 10 >/dev/null; echo ${{PIPESTATUS[0]}}", bin.display(), p.display());
    let out = std::process::Command::new("bash").arg("-c").arg(script).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0");
}

#[allow(dead_code)]
fn exists(p: &Path) -> bool {
    p.exists()
}

/// `-o` to something that is not a regular file writes into it and leaves it as it was: a FIFO
/// stays a FIFO and its reader gets the report (renaming a finished temporary file over it, as
/// for regular files, would turn `/dev/null` into a file). Through a symlink, the file it points
/// to gets the report and the link stays a link.
#[test]
fn output_to_a_fifo_or_through_a_symlink_keeps_what_is_there() {
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let img = write_in(dir.path(), "image.tar", &good_image());

    let fifo = dir.path().join("report.fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let reader = {
        let f = fifo.clone();
        std::thread::spawn(move || std::fs::read(f).unwrap())
    };
    slim().arg("analyze").arg(&img).args(["--format", "json", "-o"]).arg(&fifo).assert().success();
    // Checked before waiting for the reader, which would wait forever on a replaced FIFO.
    assert!(std::fs::symlink_metadata(&fifo).unwrap().file_type().is_fifo(), "still a FIFO");
    let a: Analysis = serde_json::from_slice(&reader.join().unwrap()).unwrap();
    assert_eq!(a.totals.final_bytes, 10);

    let target = dir.path().join("real.json");
    std::fs::write(&target, "old").unwrap();
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    slim().arg("analyze").arg(&img).args(["--format", "json", "-o"]).arg(&link).assert().success();
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "still a link");
    let a: Analysis = serde_json::from_slice(&std::fs::read(&target).unwrap()).unwrap();
    assert_eq!(a.totals.final_files, 1);

    let mut names: Vec<String> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names, ["image.tar", "link.json", "real.json", "report.fifo"], "no temporary file left");
}

/// Runs `slim ARGS` and expects exit 2 with one line that names `needle`, and `img` untouched.
fn expect_refused(args: &[&std::ffi::OsStr], img: &Path, needle: &str) {
    let before = std::fs::read(img).ok();
    let out = slim().args(args).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.contains(needle), "{needle:?} in {err}");
    if let Some(b) = before {
        assert_eq!(std::fs::read(img).unwrap(), b, "{args:?}: the input is untouched");
    }
}

/// `-o` that names an input (directly, through a symlink or another spelling, or a file in an
/// OCI layout directory) is refused for every command, before any work: the image is kept.
#[test]
fn output_onto_an_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let img = write_in(d, "image.tar", &good_image());
    let link = d.join("link.tar");
    std::os::unix::fs::symlink(&img, &link).unwrap();
    let other = d.join("other.tar");
    std::fs::write(&other, good_image()).unwrap();
    let layout = d.join("layout");
    oci_layout(&[layer(&[file("a", 3)])], identity, "application/vnd.oci.image.layer.v1.tar", "x:1").write_dir(&layout);
    let index = layout.join("index.json");
    let dotted = d.join(".").join("image.tar");
    let os = |s: &str| std::ffi::OsString::from(s);
    let p = |p: &Path| p.as_os_str().to_owned();
    let cases: Vec<(Vec<std::ffi::OsString>, &Path)> = vec![
        (vec![os("analyze"), p(&img), os("--format"), os("json"), os("-o"), p(&img)], &img),
        (vec![os("analyze"), p(&img), os("-o"), p(&link)], &img),
        (vec![os("analyze"), p(&link), os("-o"), p(&dotted)], &img),
        (vec![os("analyze"), p(&layout), os("-o"), p(&index)], &index),
        (vec![os("analyze"), p(&layout), os("-o"), p(&layout.join("new.json"))], &index),
        (vec![os("diff"), p(&other), p(&img), os("-o"), p(&img)], &img),
        (vec![os("check"), p(&img), os("--min-efficiency"), os("0"), os("-o"), p(&img)], &img),
        (vec![os("why"), os("nothing"), p(&img), os("-o"), p(&img)], &img),
        (vec![os("rewrite"), p(&img), os("-o"), p(&d.join("Dockerfile.slim")), os("--dockerignore"), p(&img)], &img),
    ];
    for (args, kept) in &cases {
        let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
        expect_refused(&args, kept, "input");
    }
    assert!(!layout.join("new.json").exists());
    let mut names: Vec<String> = std::fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names, ["image.tar", "layout", "link.tar", "other.tar"], "nothing written, nothing left behind");
}

/// A new report gets the mode any new file gets (0666 less the umask), so that a CI artifact is
/// readable like every other file; a missing directory is named, not a temporary's path.
#[test]
fn a_new_output_gets_the_usual_mode_and_a_missing_directory_is_named() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let img = write_in(dir.path(), "image.tar", &good_image());
    let out = dir.path().join("report.html");
    // slim inherits the test's umask, as read from /proc
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let umask = u32::from_str_radix(status.lines().find_map(|l| l.strip_prefix("Umask:")).unwrap().trim(), 8).unwrap();
    slim().arg("analyze").arg(&img).args(["--format", "html", "-o"]).arg(&out).assert().success();
    assert_eq!(std::fs::metadata(&out).unwrap().permissions().mode() & 0o7777, 0o666 & !umask);
    let missing = dir.path().join("nowhere/report.html");
    let res = slim().arg("analyze").arg(&img).args(["--format", "json", "-o"]).arg(&missing).output().unwrap();
    assert_eq!(res.status.code(), Some(2));
    let err = String::from_utf8(res.stderr).unwrap();
    assert!(err.contains("nowhere/report.html") && err.contains("cannot create a file in") && !err.contains(".slim-") && err.lines().count() == 1, "{err}");
}

/// A report written over an existing file keeps that file's mode (0644 stays 0644).
#[test]
fn an_output_replacing_a_file_keeps_its_mode() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let img = write_in(dir.path(), "image.tar", &good_image());
    let out = dir.path().join("report.json");
    std::fs::write(&out, "old").unwrap();
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o644)).unwrap();
    slim().arg("analyze").arg(&img).args(["--format", "json", "-o"]).arg(&out).assert().success();
    assert_eq!(std::fs::metadata(&out).unwrap().permissions().mode() & 0o7777, 0o644);
    let a: Analysis = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(a.totals.final_files, 1);
}

/// SIGINT or SIGTERM while the image is being read removes the `.slim-*` temporary.
#[test]
fn an_interrupt_leaves_no_temporary_behind() {
    use std::io::Write;
    for sig in [libc::SIGINT, libc::SIGTERM] {
        let dir = tempfile::tempdir().unwrap();
        let bin = assert_cmd::cargo::cargo_bin("slim");
        let mut child = std::process::Command::new(bin)
            .args(["analyze", "-", "-o"])
            .arg(dir.path().join("report.txt"))
            .stdin(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let img = good_image();
        stdin.write_all(&img[..1024]).unwrap();
        let listing = || std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect::<Vec<_>>();
        let start = std::time::Instant::now();
        while !listing().iter().any(|n| n.starts_with(".slim-")) {
            assert!(start.elapsed().as_secs() < 20, "the temporary never appeared");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert_eq!(unsafe { libc::kill(child.id() as i32, sig) }, 0);
        let status = child.wait().unwrap();
        drop(stdin);
        assert_eq!(status.code(), Some(130), "signal {sig}");
        assert!(listing().is_empty(), "signal {sig}: left {:?}", listing());
    }
}

const HOSTILE: &[u8] = b"app/x\n::error::forged\x1b[2J\x1b]0;title\x07\r\xe2\x80\xaeevil";

/// A file name with a newline, a workflow command, escape sequences and a bidi override reaches
/// no report raw: no line of any text format starts a workflow command, and no control byte
/// other than newline and tab is printed.
#[test]
fn hostile_names_are_escaped_in_every_text_format() {
    let dir = tempfile::tempdir().unwrap();
    let img = dir.path().join("image.tar");
    let layers = [layer(&[E::Dir("app"), E::RawFile(HOSTILE.to_vec(), vec![b'x'; 5000]), file("app/small", 10)]), layer(&[E::RawFile(HOSTILE.to_vec(), vec![b'y'; 10])])];
    std::fs::write(&img, docker_archive(&layers, "demo:1", false)).unwrap();
    let runs: Vec<Vec<&str>> = vec![
        vec!["analyze"],
        vec!["check", "--max-wasted", "1", "--format", "github"],
        vec!["check", "--max-wasted", "1", "--format", "markdown"],
        vec!["check", "--max-wasted", "1", "--format", "junit"],
        vec!["check", "--max-wasted", "1"],
    ];
    for args in runs {
        let out = slim().args(&args[..1]).arg(&img).args(&args[1..]).output().unwrap();
        assert!(out.status.code().unwrap() <= 1, "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("forged"), "{args:?}: the file is listed:\n{text}");
        assert!(!text.lines().any(|l| l.trim_start_matches(['|', ' ', '`']).starts_with("::error::forged")), "{args:?}:\n{text}");
        assert!(!text.chars().any(|c| (c.is_control() && c != '\n' && c != '\t') || c == '\u{202e}'), "{args:?}: a control character:\n{text:?}");
        assert!(text.contains("x0a::error::forged") && text.contains("x1b[2J"), "{args:?}: shown escaped:\n{text}");
    }
    // JSON carries the same escaped name as the text.
    let out = slim().arg("analyze").arg(&img).args(["--format", "json"]).output().unwrap();
    let a: Analysis = serde_json::from_slice(&out.stdout).unwrap();
    assert!(a.largest_files.iter().any(|f| f.path.starts_with("/app/x\\x0a::error::forged\\x1b[2J")), "{:?}", a.largest_files);
}

/// A header that cannot be parsed puts none of its own bytes in the error: one short line, no
/// control characters, no forged text.
#[test]
fn a_bad_header_is_not_quoted_in_the_error() {
    let good = good_image();
    // Replace the archive's second header with one whose size field and name are hostile.
    let at = 512 + good[124..136].iter().take_while(|&&b| b != 0 && b != b' ').fold(0usize, |n, &b| n * 8 + (b - b'0') as usize).div_ceil(512) * 512;
    let mut bad = good.clone();
    let h = &mut bad[at..at + 512];
    h[..100].fill(0);
    let name = b"x\nslim: all checks passed\x1b[2J";
    h[..name.len()].copy_from_slice(name);
    h[124..136].copy_from_slice(b"\x1b[31m\nok\n   ");
    let sum: u32 = h.iter().enumerate().map(|(i, &b)| if (148..156).contains(&i) { 32 } else { u32::from(b) }).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    expect_input_error(&bad, &["header field size"]);
    let dir = tempfile::tempdir().unwrap();
    let p = write_in(dir.path(), "image.tar", &bad);
    let out = slim().arg("analyze").arg(&p).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("checks passed") && !err.contains('\x1b'), "{err:?}");
    assert!(err.len() < 500);
}

/// An error quoting a long, hostile entry path is one line of at most a few hundred bytes.
#[test]
fn errors_are_one_short_line() {
    let mut name = b"../".to_vec();
    name.extend(std::iter::repeat_n(b"a\n\x1b[2J".as_slice(), 20_000).flatten());
    let img = docker_archive(&[layer(&[E::RawFile(name, vec![1])])], "demo:1", false);
    let dir = tempfile::tempdir().unwrap();
    let p = write_in(dir.path(), "image.tar", &img);
    let out = slim().arg("analyze").arg(&p).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(err.trim_end().lines().count(), 1, "{err:?}");
    assert!(err.len() <= 450, "{} bytes", err.len());
    assert!(!err.contains('\x1b'));
    assert!(err.contains("image.tar") && err.contains("climbs out"), "{err}");
}

/// Runs `slim analyze PATH ARGS` (with a timeout: a hang is a failure) and returns (exit, stderr,
/// stdout).
fn analyze_at(p: &Path, args: &[&str]) -> (Option<i32>, String, Vec<u8>) {
    let out = slim().arg("analyze").arg(p).args(args).timeout(std::time::Duration::from_secs(30)).output().unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned(), out.stdout)
}

/// diff_ids: one per layer, and each checked where the tar stream is hashed; an uncompressed
/// layer of a file is checked with --verify, and the JSON says what was and was not checked.
#[test]
fn diff_ids_are_counted_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let l0 = layer(&[file("a", 100)]);
    let l1 = layer(&[file("b", 200)]);
    let id = |l: &[u8]| format!("sha256:{}", sha(l));
    // One diff_id too few, one too many.
    for ids in [vec![id(&l0)], vec![id(&l0), id(&l1), id(&l1)]] {
        let img = docker_archive_cfg(&[l0.clone(), l1.clone()], "demo:1", false, |v| v["rootfs"]["diff_ids"] = serde_json::json!(ids));
        let (code, err, _) = analyze_at(&write_in(dir.path(), "image.tar", &img), &[]);
        assert_eq!(code, Some(2), "{err}");
        assert!(err.contains(&format!("the config lists {} diff_ids but the manifest 2 layers", ids.len())), "{err}");
    }
    // A gzip layer whose diff_id is zeros, or another layer's.
    for bad in [format!("sha256:{}", "0".repeat(64)), id(&l1)] {
        let img = docker_archive_cfg(&[gzip(&l0)], "demo:1", false, |v| v["rootfs"]["diff_ids"] = serde_json::json!([bad]));
        let (code, err, _) = analyze_at(&write_in(dir.path(), "image.tar", &img), &[]);
        assert_eq!(code, Some(2), "{err}");
        assert!(err.contains("diff_id mismatch") && err.contains(&bad), "{err}");
    }
    let img = docker_archive_cfg(&[gzip(&l0)], "demo:1", false, |v| v["rootfs"]["diff_ids"] = serde_json::json!([id(&l0)]));
    let (code, err, out) = analyze_at(&write_in(dir.path(), "image.tar", &img), &["--format", "json"]);
    assert_eq!(code, Some(0), "{err}");
    let a: Analysis = serde_json::from_slice(&out).unwrap();
    let v = a.image.verified.unwrap();
    assert_eq!((v.diff_ids, v.not_verified), (vec![0], vec![]));

    // An uncompressed layer swapped for another tar of the same size: the header walk cannot
    // tell, says so, and --verify refuses it.
    let swapped = layer(&[file("c", 100)]);
    assert_eq!(swapped.len(), l0.len());
    let img = docker_archive_cfg(&[swapped.clone()], "demo:1", false, |v| v["rootfs"]["diff_ids"] = serde_json::json!([id(&l0)]));
    let p = write_in(dir.path(), "image.tar", &img);
    let (code, err, out) = analyze_at(&p, &["--format", "json"]);
    assert_eq!(code, Some(0), "{err}");
    let a: Analysis = serde_json::from_slice(&out).unwrap();
    let v = a.image.verified.unwrap();
    assert!(v.config);
    assert_eq!((v.diff_ids, v.not_verified), (vec![], vec![0]));
    let (code, err, out) = analyze_at(&p, &["--verify"]);
    assert_eq!(code, Some(2), "{err}");
    assert!(out.is_empty(), "no number from data that failed a check");
    assert!(err.contains("diff_id mismatch"), "{err}");
    // Through stdin the stream is hashed anyway.
    let out = slim().args(["analyze", "-"]).write_stdin(img).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    // The right layer passes --verify, and is listed as checked.
    let img = docker_archive(&[l0.clone()], "demo:1", false);
    let (code, err, out) = analyze_at(&write_in(dir.path(), "image.tar", &img), &["--verify", "--format", "json"]);
    assert_eq!(code, Some(0), "{err}");
    let v = serde_json::from_slice::<Analysis>(&out).unwrap().image.verified.unwrap();
    assert_eq!((v.diff_ids, v.not_verified), (vec![0], vec![]));
}

/// A compressed layer the manifest names by its digest: that digest fixes the bytes, so the
/// decoded stream is hashed against the config's diff_id only with --verify (the JSON says
/// which was checked); a config whose diff_id is another layer's is then refused.
#[test]
fn a_compressed_layer_named_by_its_digest_has_its_diff_id_checked_with_verify() {
    let l0 = layer(&[file("a", 100)]);
    let other = layer(&[file("b", 100)]);
    let kinds: [(fn(&[u8]) -> Vec<u8>, &str); 2] = [(gzip, "application/vnd.oci.image.layer.v1.tar+gzip"), (zstd, "application/vnd.oci.image.layer.v1.tar+zstd")];
    for (compress, media) in kinds {
        let lying = tempfile::tempdir().unwrap();
        oci_layout_of(&[compress(&l0)], &[other.clone()], media, "latest").write_dir(lying.path());
        let (code, err, out) = analyze_at(lying.path(), &["--format", "json"]);
        assert_eq!(code, Some(0), "{media}: {err}");
        let v = serde_json::from_slice::<Analysis>(&out).unwrap().image.verified.unwrap();
        assert_eq!((v.layer_blobs, v.diff_ids, v.not_verified), (vec![0], vec![], vec![]), "{media}");
        let (code, err, out) = analyze_at(lying.path(), &["--verify"]);
        assert_eq!(code, Some(2), "{media}: {err}");
        assert!(out.is_empty(), "no number from data that failed a check");
        assert!(err.contains("diff_id mismatch") && err.trim_end().lines().count() == 1, "{media}: {err}");

        let honest = tempfile::tempdir().unwrap();
        oci_layout_of(&[compress(&l0)], &[l0.clone()], media, "latest").write_dir(honest.path());
        let (code, err, out) = analyze_at(honest.path(), &["--format", "json", "--verify"]);
        assert_eq!(code, Some(0), "{media}: {err}");
        let v = serde_json::from_slice::<Analysis>(&out).unwrap().image.verified.unwrap();
        assert_eq!((v.layer_blobs, v.diff_ids, v.not_verified), (vec![0], vec![0], vec![]), "{media}");
    }
}

/// An OCI layout whose blobs are named by sha512 digests: checked; a wrong one refused; an
/// unknown algorithm refused.
#[test]
fn sha512_digests_are_checked_and_unknown_algorithms_refused() {
    use sha2::Digest;
    let s512 = |d: &[u8]| hex::encode(sha2::Sha512::digest(d));
    let l0 = layer(&[file("a", 100)]);
    let blob = gzip(&l0);
    let build = |layer_digest: String, dir: &Path| {
        let cfg = config(&[l0.clone()], "amd64");
        let m = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": format!("sha512:{}", s512(&cfg)), "size": cfg.len()},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer_digest, "size": blob.len()}],
        }))
        .unwrap();
        let index = serde_json::to_vec(&serde_json::json!({"schemaVersion": 2, "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": format!("sha512:{}", s512(&m)), "size": m.len()}]}))
        .unwrap();
        let files = vec![
            (format!("blobs/sha512/{}", s512(&cfg)), cfg),
            (format!("blobs/sha512/{}", s512(&m)), m),
            (format!("blobs/sha512/{}", s512(&blob)), blob.clone()),
            ("index.json".to_string(), index),
            ("oci-layout".to_string(), br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec()),
        ];
        Oci { files }.write_dir(dir);
    };
    let good = tempfile::tempdir().unwrap();
    build(format!("sha512:{}", s512(&blob)), good.path());
    let (code, err, out) = analyze_at(good.path(), &["--format", "json"]);
    assert_eq!(code, Some(0), "{err}");
    let v = serde_json::from_slice::<Analysis>(&out).unwrap().image.verified.unwrap();
    // The blob's digest fixes its bytes: the diff_id is checked too only with --verify.
    assert_eq!((v.layer_blobs, v.diff_ids), (vec![0], vec![]));
    let (code, err, out) = analyze_at(good.path(), &["--format", "json", "--verify"]);
    assert_eq!(code, Some(0), "{err}");
    let v = serde_json::from_slice::<Analysis>(&out).unwrap().image.verified.unwrap();
    assert_eq!((v.layer_blobs, v.diff_ids), (vec![0], vec![0]));

    // The layer's blob replaced by other bytes under the same name.
    let bad = tempfile::tempdir().unwrap();
    build(format!("sha512:{}", s512(&blob)), bad.path());
    std::fs::write(bad.path().join(format!("blobs/sha512/{}", s512(&blob))), gzip(&layer(&[file("b", 100)]))).unwrap();
    let (code, err, _) = analyze_at(bad.path(), &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("mismatch"), "{err}");

    let unknown = tempfile::tempdir().unwrap();
    build(format!("md5:{}", "0".repeat(32)), unknown.path());
    let (code, err, _) = analyze_at(unknown.path(), &[]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("unsupported digest algorithm"), "{err}");
}

/// OCI-layout blobs that are not regular files are refused without reading them: a FIFO (which
/// would block forever) and a symlink to /dev/zero (which never ends).
#[test]
fn blobs_that_are_not_regular_files_are_refused_at_once() {
    let plain = [layer(&[file("a", 100)])];
    for (which, make) in [("fifo", 0), ("zero", 1)] {
        let dir = tempfile::tempdir().unwrap();
        let layout = oci_layout(&plain, identity, "application/vnd.oci.image.layer.v1.tar", "x:1");
        layout.write_dir(dir.path());
        // The layer blob, then the config (read as metadata), each in turn.
        for victim in [format!("blobs/sha256/{}", sha(&plain[0])), layout.files[0].0.clone()] {
            let p = dir.path().join(&victim);
            let keep = std::fs::read(&p).unwrap();
            std::fs::remove_file(&p).unwrap();
            if make == 0 {
                let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
                assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
            } else {
                std::os::unix::fs::symlink("/dev/zero", &p).unwrap();
            }
            let (code, err, _) = analyze_at(dir.path(), &[]);
            assert_eq!(code, Some(2), "{which} {victim}: {err}");
            assert!(err.contains("not a regular file"), "{which}: {err}");
            std::fs::remove_file(&p).unwrap();
            std::fs::write(&p, keep).unwrap();
        }
    }
}

/// A path that is a pipe (`/dev/stdin`, `<(cat image.tar)`) is read in one pass, as `-` is.
#[test]
fn pipes_named_by_path_are_read_in_one_pass() {
    let img = good_image();
    let out = slim().args(["analyze", "/dev/stdin", "--format", "json"]).write_stdin(img.clone()).timeout(std::time::Duration::from_secs(30)).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let a: Analysis = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(a.totals.final_bytes, 10);
    let dir = tempfile::tempdir().unwrap();
    let p = write_in(dir.path(), "image.tar", &img);
    let bin = assert_cmd::cargo::cargo_bin("slim");
    let out = std::process::Command::new("bash").arg("-c").arg(format!("'{}' analyze <(cat '{}') --format json", bin.display(), p.display())).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let b: Analysis = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(b.totals, a.totals);
}

/// One manifest under two ref.names is one image, not "several images".
#[test]
fn one_manifest_with_two_names_is_one_image() {
    let mut layout = oci_layout(&[layer(&[file("a", 3)])], identity, "application/vnd.oci.image.layer.v1.tar", "x:1");
    let (_, index) = layout.files.iter().find(|(n, _)| n == "index.json").unwrap().clone();
    let mut v: serde_json::Value = serde_json::from_slice(&index).unwrap();
    let mut second = v["manifests"][0].clone();
    second["annotations"]["org.opencontainers.image.ref.name"] = "y:2".into();
    v["manifests"].as_array_mut().unwrap().push(second);
    layout.files.retain(|(n, _)| n != "index.json");
    layout.files.push(("index.json".into(), serde_json::to_vec(&v).unwrap()));
    let dir = tempfile::tempdir().unwrap();
    layout.write_dir(dir.path());
    let (code, err, out) = analyze_at(dir.path(), &["--format", "json"]);
    assert_eq!(code, Some(0), "{err}");
    let a: Analysis = serde_json::from_slice(&out).unwrap();
    assert_eq!(a.image.reference.as_deref(), Some("x:1"));
    let (code, err, out) = analyze_at(dir.path(), &["--format", "json", "--image", "y:2"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(serde_json::from_slice::<Analysis>(&out).unwrap().image.reference.as_deref(), Some("y:2"));
}

/// Eight levels of indexes, each listing the next ten times (10^8 paths), are read once each.
#[test]
fn nested_indexes_are_read_once_each() {
    let mut layout = oci_layout(&[layer(&[file("a", 3)])], identity, "application/vnd.oci.image.layer.v1.tar", "x:1");
    let (_, index) = layout.files.iter().find(|(n, _)| n == "index.json").unwrap().clone();
    let mut child: serde_json::Value = serde_json::from_slice(&index).unwrap();
    for _ in 0..8 {
        let bytes = serde_json::to_vec(&child).unwrap();
        let d = sha(&bytes);
        layout.files.push((format!("blobs/sha256/{d}"), bytes.clone()));
        let desc = serde_json::json!({"mediaType": "application/vnd.oci.image.index.v1+json", "digest": format!("sha256:{d}"), "size": bytes.len()});
        child = serde_json::json!({"schemaVersion": 2, "manifests": vec![desc; 10]});
    }
    layout.files.retain(|(n, _)| n != "index.json");
    layout.files.push(("index.json".into(), serde_json::to_vec(&child).unwrap()));
    let dir = tempfile::tempdir().unwrap();
    layout.write_dir(dir.path());
    let start = std::time::Instant::now();
    let (code, err, _) = analyze_at(dir.path(), &[]);
    assert_eq!(code, Some(0), "{err}");
    assert!(start.elapsed().as_secs() < 10);
}

/// Peak RSS of the largest child this test process has waited for, in bytes.
fn children_max_rss() -> u64 {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) }, 0);
    ru.ru_maxrss as u64 * 1024
}

/// A gzip layer with twelve 30 MB dpkg `.list`s (360 MB of content in under a MB): slim keeps
/// 256 MiB of file contents in all, says in the JSON and on stderr what it did not read, and
/// stays far under 1 GB of memory.
#[test]
fn captured_contents_have_one_budget() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_in(dir.path(), "image.tar", &big_lists_image(12));
    let (code, err, out) = analyze_at(&p, &["--format", "json"]);
    assert_eq!(code, Some(0), "{err}");
    let a: Analysis = serde_json::from_slice(&out).unwrap();
    let w = a.warnings.iter().find(|w| w.contains("were not read")).expect("a warning says what was skipped");
    // 8 lists of 30 MB fit in 256 MiB; the other 4 are skipped.
    assert!(w.starts_with("4 files") && w.contains("256 MiB") && w.contains(".list"), "{w}");
    assert_eq!(err.lines().filter(|l| l.contains("were not read")).count(), 1, "{err}");
    assert!(children_max_rss() < 1 << 30, "peak RSS {}", children_max_rss());
}

/// A whole-compressed archive with five 64 MiB members that look like JSON after its own: what
/// fits in 256 MiB is kept, the rest is not and is named; before the manifest, they
/// take the budget and the manifest is refused by name (the malformed-input table).
#[test]
fn non_layer_members_of_a_one_pass_read_have_one_budget() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_in(dir.path(), "image.tar", &with_junk_members(&good_image(), 5, false));
    let (code, err, out) = analyze_at(&p, &["--format", "json"]);
    assert_eq!(code, Some(0), "{err}");
    let a: Analysis = serde_json::from_slice(&out).unwrap();
    assert_eq!(a.totals.final_bytes, 10);
    // The image's own members took a few KB: three junk members fit, the last two do not.
    assert!(a.warnings.iter().any(|w| w.starts_with("2 members") && w.contains("(first: junk3.json)")), "{:?}", a.warnings);
    assert!(children_max_rss() < 1 << 30, "peak RSS {}", children_max_rss());
}

/// A docker save whose config is not named by its digest (`config.json`, or another digest's
/// name), as docker load and go-containerregistry accept: read, and checked by its diff_ids
/// against every layer instead (uncompressed layers of a file are hashed for it, as with
/// --verify); the JSON says so. One whose name is its digest is checked by it.
#[test]
fn a_docker_save_config_not_named_by_its_digest_is_checked_by_its_diff_ids() {
    let layers = [layer(&[file("a", 100)]), layer(&[file("b", 200)])];
    let named = docker_archive(&layers, "d:1", false);
    let cases = [(named.clone(), "digest"), (rename_config(&named, "config.json"), "diff_ids"), (rename_config(&named, &format!("{}.json", "ab".repeat(32))), "diff_ids")];
    for (archive, by) in cases {
        let dir = tempfile::tempdir().unwrap();
        let p = write_in(dir.path(), "image.tar", &archive);
        let (code, err, out) = analyze_at(&p, &["--format", "json"]);
        assert_eq!(code, Some(0), "{by}: {err}");
        let a: Analysis = serde_json::from_slice(&out).unwrap();
        assert_eq!(a.totals.final_bytes, 300);
        let v = a.image.verified.unwrap();
        assert!(v.config, "{by}");
        assert_eq!(v.config_by.as_deref(), Some(by));
        if by == "diff_ids" {
            assert_eq!((v.diff_ids, v.not_verified), (vec![0, 1], vec![]));
        } else {
            assert_eq!(v.not_verified, vec![0, 1], "a config named by its digest leaves the header-only walk");
        }
    }
}

/// The name an outer index gives a nested index names its image, before names annotated inside
/// it; one nested index listed under two names is one image with both.
#[test]
fn nested_indexes_keep_the_outer_name() {
    let mut layout = oci_layout(&[layer(&[file("a", 3)])], identity, "application/vnd.oci.image.layer.v1.tar", "inner");
    let (_, index) = layout.files.iter().find(|(n, _)| n == "index.json").unwrap().clone();
    let d = sha(&index);
    layout.files.push((format!("blobs/sha256/{d}"), index.clone()));
    let entry = |name: &str| serde_json::json!({"mediaType": "application/vnd.oci.image.index.v1+json", "digest": format!("sha256:{d}"), "size": index.len(), "annotations": {"org.opencontainers.image.ref.name": name}});
    layout.files.retain(|(n, _)| n != "index.json");
    layout.files.push(("index.json".into(), serde_json::to_vec(&serde_json::json!({"schemaVersion": 2, "manifests": [entry("outer:1"), entry("other:2")]})).unwrap()));
    let dir = tempfile::tempdir().unwrap();
    layout.write_dir(dir.path());
    let reference = |args: &[&str]| {
        let (code, err, out) = analyze_at(dir.path(), &[&["--format", "json"], args].concat());
        assert_eq!(code, Some(0), "{args:?}: {err}");
        serde_json::from_slice::<Analysis>(&out).unwrap().image.reference
    };
    assert_eq!(reference(&[]).as_deref(), Some("outer:1"));
    assert_eq!(reference(&["--image", "other:2"]).as_deref(), Some("other:2"));
    assert_eq!(reference(&["--image", "inner"]).as_deref(), Some("inner"));
}

/// One malformed input per class of issue 14, each built here: exit 2, one line naming the file
/// and what is wrong, no output file left behind, the input untouched. (Unknown digest
/// algorithms, FIFO and /dev/zero blobs: the OCI-layout tests above.)
#[test]
fn malformed_inputs_table() {
    let l0 = layer(&[file("a", 100)]);
    let id = |l: &[u8]| format!("sha256:{}", sha(l));
    let mut hostile_header = good_image();
    hostile_header[124..136].copy_from_slice(b"\x1b[2J\n::err  ");
    let cks: u32 = hostile_header[..512].iter().enumerate().map(|(i, &b)| if (148..156).contains(&i) { 32 } else { u32::from(b) }).sum();
    hostile_header[148..156].copy_from_slice(format!("{cks:06o}\0 ").as_bytes());
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("diff_ids fewer than layers", docker_archive_cfg(&[l0.clone(), l0.clone()], "d:1", false, |v| v["rootfs"]["diff_ids"] = serde_json::json!([id(&l0)])), "diff_ids"),
        ("no diff_ids at all", docker_archive_cfg(&[l0.clone()], "d:1", false, |v| v["rootfs"] = serde_json::json!({})), "diff_ids"),
        (
            "gzip layer, zero diff_id",
            docker_archive_cfg(&[gzip(&l0)], "d:1", false, |v| v["rootfs"]["diff_ids"] = serde_json::json!([format!("sha256:{}", "0".repeat(64))])),
            "diff_id mismatch",
        ),
        ("diff_id not sha256", docker_archive_cfg(&[l0.clone()], "d:1", false, |v| v["rootfs"]["diff_ids"] = serde_json::json!(["md5:00"])), "only sha256"),
        ("hostile tar header", hostile_header, "header field"),
        ("symlink target beyond PATH_MAX", docker_archive(&[link_chain_layer(2, 1 << 20, 10)], "d:1", false), "PATH_MAX"),
        ("39 chained 4 KB symlinks, 8k entries beneath", docker_archive(&[link_chain_layer(39, 4000, 8000)], "d:1", false), "steps per path"),
        ("non-layer members past the metadata budget, before the manifest", with_junk_members(&good_image(), 5, true), "was not kept"),
        (
            "PAX sparse file without a real size",
            docker_archive(&[pax_layer(&[("GNU.sparse.major", "1"), ("GNU.sparse.name", "x"), ("GNU.sparse.realsize", "lots")], "GNUSparseFile.1/x", b"0\n")], "d:1", false),
            "GNU.sparse.realsize",
        ),
        (
            "sparse file bigger than a filesystem",
            docker_archive(
                &[pax_layer(&[("GNU.sparse.major", "1"), ("GNU.sparse.name", "x"), ("GNU.sparse.realsize", "18446744073709551615")], "GNUSparseFile.1/x", b"0\n")],
                "d:1",
                false,
            ),
            "16 TiB",
        ),
        (
            "config not named by its digest, diff_id wrong",
            rename_config(&docker_archive_cfg(&[l0.clone()], "d:1", false, |v| v["rootfs"]["diff_ids"] = serde_json::json!([format!("sha256:{}", "1".repeat(64))])), "config.json"),
            "diff_id mismatch",
        ),
        ("path climbing out", docker_archive(&[layer(&[E::RawFile(b"../../etc/x\n\x1b[2J".to_vec(), vec![1])])], "d:1", false), "climbs out"),
    ];
    for (what, bytes, needle) in cases {
        let dir = tempfile::tempdir().unwrap();
        let p = write_in(dir.path(), "image.tar", &bytes);
        std::fs::create_dir(dir.path().join("out")).unwrap();
        let out = slim().arg("analyze").arg(&p).arg("-o").arg(dir.path().join("out/report.json")).timeout(std::time::Duration::from_secs(30)).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{what}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{what}: one line: {err}");
        assert!(err.contains("image.tar") && err.contains(needle), "{what}: {err}");
        assert!(!err.contains('\x1b') && err.len() <= 450, "{what}: {err:?}");
        assert_eq!(std::fs::read_dir(dir.path().join("out")).unwrap().count(), 0, "{what}: nothing left behind");
        assert_eq!(std::fs::read(&p).unwrap(), bytes, "{what}: input untouched");
    }
}
