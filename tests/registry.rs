//! Images read where they live, against real components started here: Debian's
//! `docker-registry` (distribution 2.8) on loopback ports, plain HTTP, TLS with a CA made in
//! the test and htpasswd basic auth, token auth with a token issuer of the test's own; a fault
//! proxy between slim and the registry; podman's Engine API service. Images are pushed with
//! `skopeo copy` from the fixtures, and every analysis must equal the local fixture's.
//!
//! Each test needs `docker-registry`, `skopeo`, `openssl`, `htpasswd` or `podman` (.ci/run
//! installs them), so they are ignored by a plain `cargo test`.

use assert_cmd::Command;
use base64::Engine as _;
use serde_json::Value;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const FIX: &str = "fixtures/images";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn wait_for_port(port: u16, child: &mut Child, what: &str) {
    let t = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(st)) = child.try_wait() {
            panic!("{what} exited early: {st}");
        }
        assert!(t.elapsed() < Duration::from_secs(20), "{what} did not listen on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A `docker-registry` serving from `root` on a loopback port; killed when dropped.
struct Registry {
    port: u16,
    root: PathBuf,
    child: Child,
}

impl Registry {
    fn start(work: &Path, root: &Path, extra: &str) -> Registry {
        let port = free_port();
        let config = work.join(format!("registry-{port}.yml"));
        std::fs::write(
            &config,
            format!("version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n{extra}", root.display()),
        )
        .unwrap();
        let mut child = std::process::Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker-registry (Debian's docker-registry package) is installed");
        wait_for_port(port, &mut child, "docker-registry");
        Registry { port, root: root.into(), child }
    }

    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn skopeo_push(src: &str, dest: &str, extra: &[&str]) {
    let out = std::process::Command::new("skopeo").args(["copy", "--quiet", "--dest-tls-verify=false"]).args(extra).arg(src).arg(dest).output().expect("skopeo runs");
    assert!(out.status.success(), "skopeo copy {src} {dest}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A `slim` command with a clean environment: no credentials or CAs of the machine's user,
/// and no layer cache (these tests are about fetching; the cache's own test turns it on).
fn slim_at(home: &Path) -> Command {
    let mut c = crate::util::slim();
    c.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default()).env("HOME", home).env("NO_COLOR", "1").env("SLIM_NO_CACHE", "1");
    c
}

/// The analysis JSON without the fields that name where the image came from.
fn analysis(out: &[u8]) -> Value {
    let mut v: Value = serde_json::from_slice(out).unwrap_or_else(|e| panic!("JSON: {e}: {}", String::from_utf8_lossy(out)));
    let img = v["image"].as_object_mut().unwrap();
    for k in ["source", "format", "reference"] {
        img.remove(k);
    }
    v
}

fn analyze_ok(cmd: &mut Command) -> Value {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "slim failed: {}", String::from_utf8_lossy(&out.stderr));
    analysis(&out.stdout)
}

fn local(home: &Path, fixture: &str) -> Value {
    analyze_ok(slim_at(home).args(["analyze", "--format", "json", &format!("{FIX}/{fixture}")]))
}

/// Fail with exit 2 and one line on stderr; returns it.
fn fails(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "expected exit 2; stderr: {err}; stdout: {}", String::from_utf8_lossy(&out.stdout));
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    err
}

#[test]
#[ignore = "starts docker-registry; run by .ci/run"]
fn a_plain_http_registry_gives_the_local_analysis() {
    let tmp = tempfile::tempdir().unwrap();
    let reg = Registry::start(tmp.path(), &tmp.path().join("store"), "");
    let h = reg.host();
    let home = tmp.path();
    // OCI (gzip and zstd layers) and Docker schema 2 (skopeo converts a docker save).
    skopeo_push(&format!("oci-archive:{FIX}/pyapp-oci-archive-gzip.tar"), &format!("docker://{h}/pyapp:gzip"), &[]);
    skopeo_push(&format!("oci-archive:{FIX}/pyapp-oci-archive-zstd.tar"), &format!("docker://{h}/team/pyapp:zstd"), &[]);
    skopeo_push(&format!("docker-archive:{FIX}/pyapp-docker-archive.tar"), &format!("docker://{h}/pyapp:v2s2"), &["--format", "v2s2"]);

    let gz = local(home, "pyapp-oci-archive-gzip.tar");
    let remote = analyze_ok(slim_at(home).args(["analyze", "--format", "json", &format!("registry:{h}/pyapp:gzip")]));
    assert_eq!(remote, gz);
    // skopeo's docker:// spelling, and a nested repository.
    let zst = local(home, "pyapp-oci-archive-zstd.tar");
    assert_eq!(analyze_ok(slim_at(home).args(["analyze", "--format", "json", &format!("docker://{h}/team/pyapp:zstd")])), zst);
    // Docker schema 2: same files, gzip layers that skopeo made; the local oracle is the same
    // image pushed by skopeo and read back by skopeo as an OCI layout.
    let dir = tmp.path().join("v2s2-oci");
    let out = std::process::Command::new("skopeo")
        .args(["copy", "--quiet", "--src-tls-verify=false", &format!("docker://{h}/pyapp:v2s2"), &format!("oci:{}:x", dir.display())])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v2 = analyze_ok(slim_at(home).args(["analyze", "--format", "json", &format!("registry:{h}/pyapp:v2s2")]));
    assert_eq!(v2, analyze_ok(slim_at(home).args(["analyze", "--format", "json", &format!("oci:{}:x", dir.display())])));
    let raw = std::process::Command::new("skopeo").args(["inspect", "--raw", "--tls-verify=false", &format!("docker://{h}/pyapp:v2s2")]).output().unwrap();
    let mt: Value = serde_json::from_slice(&raw.stdout).unwrap();
    assert_eq!(mt["mediaType"], "application/vnd.docker.distribution.manifest.v2+json");

    // Pinned by digest: the same analysis; a digest the registry does not have: exit 2.
    let digest = format!(
        "sha256:{}",
        sha256_hex(&std::process::Command::new("skopeo").args(["inspect", "--raw", "--tls-verify=false", &format!("docker://{h}/pyapp:gzip")]).output().unwrap().stdout)
    );
    assert_eq!(analyze_ok(slim_at(home).args(["analyze", "--format", "json", &format!("registry:{h}/pyapp@{digest}")])), gz);
    let err = fails(slim_at(home).args(["analyze", &format!("registry:{h}/pyapp@sha256:{}", "0".repeat(64))]));
    assert!(err.contains("MANIFEST_UNKNOWN") || err.contains("404"), "{err}");
    let err = fails(slim_at(home).args(["analyze", &format!("registry:{h}/nosuch:1")]));
    assert!(err.contains("registry:") && err.contains("nosuch"), "{err}");
    let err = fails(slim_at(home).args(["analyze", "--platform", "linux/arm64", &format!("registry:{h}/pyapp:gzip")]));
    assert!(err.contains("no platform linux/arm64"), "{err}");

    // Every command that takes an image takes a registry.
    slim_at(home).args(["check", "--budget", "1GB", &format!("registry:{h}/pyapp:gzip")]).assert().success();
    slim_at(home).args(["check", "--budget", "100KB", &format!("registry:{h}/pyapp:gzip")]).assert().code(1);
    let d = slim_at(home).args(["diff", "--format", "json", &format!("registry:{h}/pyapp:gzip"), &format!("{FIX}/pyapp-oci-archive-gzip.tar")]).output().unwrap();
    assert!(d.status.success(), "{}", String::from_utf8_lossy(&d.stderr));
    let d: Value = serde_json::from_slice(&d.stdout).unwrap();
    assert_eq!(d["totals"]["before"]["final_bytes"], d["totals"]["after"]["final_bytes"], "{d}");
    let why = slim_at(home).args(["why", "six", &format!("registry:{h}/pyapp:gzip")]).output().unwrap();
    assert!(why.status.success() && String::from_utf8_lossy(&why.stdout).contains("six"));
    let out = tmp.path().join("Dockerfile.slim");
    slim_at(home).args(["rewrite", "-o"]).arg(&out).arg(format!("registry:{h}/pyapp:gzip")).assert().success();
    assert!(std::fs::read_to_string(&out).unwrap().contains("FROM"));
}

/// The explicit local forms read the same files as their paths.
#[test]
fn explicit_local_forms() {
    let home = tempfile::tempdir().unwrap();
    let home = home.path();
    let gz = local(home, "pyapp-oci-archive-gzip.tar");
    let f = |s: String| analyze_ok(slim_at(home).args(["analyze", "--format", "json", &s]));
    assert_eq!(f(format!("oci-archive:{FIX}/pyapp-oci-archive-gzip.tar")), gz);
    let dir = local(home, "pyapp-oci-dir");
    assert_eq!(f(format!("oci:{FIX}/pyapp-oci-dir")), dir);
    let da = local(home, "pyapp-docker-archive.tar");
    assert_eq!(f(format!("docker-archive:{FIX}/pyapp-docker-archive.tar")), da);
    assert_eq!(f(format!("docker-archive:{FIX}/pyapp-docker-archive.tar:pyapp:latest")), da);
    let err = fails(slim_at(home).args(["analyze", &format!("docker-archive:{FIX}/pyapp-docker-archive.tar:other:1")]));
    assert!(err.contains("no image other:1"), "{err}");
    let err = fails(slim_at(home).args(["analyze", "registry:Bad_Name"]));
    assert!(err.contains("not an image reference"), "{err}");
}

fn sha256_hex(b: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(b))
}

fn run(cmd: &mut std::process::Command) -> Vec<u8> {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// A CA and a server certificate for 127.0.0.1 signed by it (openssl CLI).
fn make_ca(dir: &Path) {
    let o = |args: &[&str]| run(std::process::Command::new("openssl").current_dir(dir).args(args));
    o(&["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=slim test CA"]);
    o(&["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1"]);
    std::fs::write(dir.join("ext.cnf"), "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n").unwrap();
    o(&["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.crt", "-days", "2", "-extfile", "ext.cnf"]);
}

#[test]
#[ignore = "starts docker-registry with TLS and htpasswd; run by .ci/run"]
fn tls_and_basic_auth_with_credentials_from_files_and_helpers() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let certs = t.join("certs");
    std::fs::create_dir(&certs).unwrap();
    make_ca(&certs);
    let pw = "s3cret-Pa55";
    let hash = run(std::process::Command::new("htpasswd").args(["-Bbn", "slimuser", pw]));
    std::fs::write(t.join("htpasswd"), hash).unwrap();
    let extra = format!(
        "  tls:\n    certificate: {c}/server.crt\n    key: {c}/server.key\nauth:\n  htpasswd:\n    realm: slim-test\n    path: {}\n",
        t.join("htpasswd").display(),
        c = certs.display()
    );
    let reg = Registry::start(t, &t.join("store"), &extra);
    let h = reg.host();
    let cadir = t.join("cadir");
    std::fs::create_dir(&cadir).unwrap();
    std::fs::copy(certs.join("ca.crt"), cadir.join("ca.crt")).unwrap();
    skopeo_push(
        &format!("oci-archive:{FIX}/pyapp-oci-archive-gzip.tar"),
        &format!("docker://{h}/pyapp:1"),
        &["--dest-cert-dir", cadir.to_str().unwrap(), "--dest-creds", &format!("slimuser:{pw}")],
    );
    let home = t.join("home");
    std::fs::create_dir(&home).unwrap();
    let want = local(&home, "pyapp-oci-archive-gzip.tar");
    let img = format!("registry:{h}/pyapp:1");

    // No credentials anywhere: one line naming where slim looked.
    let err = fails(slim_at(&home).args(["analyze", "--cert-dir"]).arg(&cadir).arg(&img));
    assert!(err.contains("needs credentials") && err.contains("auth.json"), "{err}");
    // The CA unknown: a TLS error, and no fallback to plain HTTP.
    let err = fails(slim_at(&home).args(["analyze", &img]));
    assert!(err.to_lowercase().contains("certificate") || err.contains("UnknownIssuer"), "{err}");

    // $REGISTRY_AUTH_FILE (containers' auth.json), with the CA from --cert-dir.
    let auth = t.join("auth.json");
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("slimuser:{pw}"));
    std::fs::write(&auth, format!(r#"{{"auths":{{"{h}":{{"auth":"{b64}"}}}}}}"#)).unwrap();
    let got = analyze_ok(slim_at(&home).env("REGISTRY_AUTH_FILE", &auth).args(["analyze", "--format", "json", "--cert-dir"]).arg(&cadir).arg(&img));
    assert_eq!(got, want);
    // ~/.docker/config.json, with the CA from SSL_CERT_FILE.
    std::fs::create_dir(home.join(".docker")).unwrap();
    std::fs::write(home.join(".docker/config.json"), format!(r#"{{"auths":{{"https://{h}":{{"auth":"{b64}"}}}}}}"#)).unwrap();
    let got = analyze_ok(slim_at(&home).env("SSL_CERT_FILE", certs.join("ca.crt")).args(["analyze", "--format", "json", &img]));
    assert_eq!(got, want);
    // A credential helper named by credsStore (docker-credential-NAME get, on PATH).
    let bin = t.join("bin");
    std::fs::create_dir(&bin).unwrap();
    let helper = bin.join("docker-credential-slimtest");
    std::fs::write(
        &helper,
        format!("#!/bin/sh\n[ \"$1\" = get ] || exit 3\nread server\n[ \"$server\" = \"{h}\" ] || {{ echo 'credentials not found in native keychain'; exit 1; }}\nprintf '{{\"ServerURL\":\"%s\",\"Username\":\"slimuser\",\"Secret\":\"{pw}\"}}' \"$server\"\n"),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let dc = t.join("dockercfg");
    std::fs::create_dir(&dc).unwrap();
    std::fs::write(dc.join("config.json"), r#"{"auths":{},"credsStore":"slimtest"}"#).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    let got = analyze_ok(slim_at(&home).env("PATH", &path).env("DOCKER_CONFIG", &dc).args(["analyze", "--format", "json", "--cert-dir"]).arg(&cadir).arg(&img));
    assert_eq!(got, want);
    // A wrong password: refused in one line that never shows a secret.
    let bad = base64::engine::general_purpose::STANDARD.encode("slimuser:wrong-Pa55word");
    std::fs::write(&auth, format!(r#"{{"auths":{{"{h}":{{"auth":"{bad}"}}}}}}"#)).unwrap();
    let err = fails(slim_at(&home).env("REGISTRY_AUTH_FILE", &auth).args(["analyze", "--cert-dir"]).arg(&cadir).arg(&img));
    assert!(!err.contains("wrong-Pa55word") && !err.contains(pw) && !err.contains(&bad), "{err}");
    assert!(err.contains("401") || err.contains("UNAUTHORIZED"), "{err}");
    // --insecure-registry: TLS without verification, for a host the user names.
    std::fs::write(&auth, format!(r#"{{"auths":{{"{h}":{{"auth":"{b64}"}}}}}}"#)).unwrap();
    let got = analyze_ok(slim_at(&home).env("REGISTRY_AUTH_FILE", &auth).args(["analyze", "--format", "json", "--insecure-registry", &h, &img]));
    assert_eq!(got, want);
}

/// What the fault proxy does to a request whose path contains a pattern.
#[derive(Clone, Debug)]
enum Fault {
    /// Answer with this status (and `Retry-After: 1` for 429).
    Status(u16),
    /// Forward, then cut the connection after this many bytes of the answer.
    DropAfter(usize),
    /// Hold the connection without answering for this long, then close it.
    Stall(Duration),
    /// Forward without the Range header (a registry that ignores Range).
    NoRange,
}

/// A loopback TCP proxy in front of a registry, one request per connection, applying each
/// planned fault to the next `times` requests whose path contains its pattern.
struct Proxy {
    port: u16,
    plan: Arc<Mutex<Vec<(String, Fault, usize)>>>,
    /// Request lines seen, with ` +range` when they asked for a byte range.
    log: Arc<Mutex<Vec<String>>>,
}

impl Proxy {
    fn start(upstream: u16) -> Proxy {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let plan: Arc<Mutex<Vec<(String, Fault, usize)>>> = Arc::default();
        let log: Arc<Mutex<Vec<String>>> = Arc::default();
        let (p, lg) = (plan.clone(), log.clone());
        std::thread::spawn(move || {
            for c in l.incoming() {
                let Ok(c) = c else { break };
                let (p, lg) = (p.clone(), lg.clone());
                std::thread::spawn(move || Self::serve(c, upstream, &p, &lg));
            }
        });
        Proxy { port, plan, log }
    }

    fn set(&self, plan: &[(&str, Fault, usize)]) {
        *self.plan.lock().unwrap() = plan.iter().map(|(s, f, n)| (s.to_string(), f.clone(), *n)).collect();
        self.log.lock().unwrap().clear();
    }

    fn serve(mut c: TcpStream, upstream: u16, plan: &Mutex<Vec<(String, Fault, usize)>>, log: &Mutex<Vec<String>>) {
        let mut head = Vec::new();
        let mut b = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            match c.read(&mut b) {
                Ok(1) => head.push(b[0]),
                _ => return,
            }
        }
        let text = String::from_utf8_lossy(&head).into_owned();
        let line = text.lines().next().unwrap_or("").to_string();
        let path = line.split(' ').nth(1).unwrap_or("").to_string();
        let ranged = text.to_ascii_lowercase().contains("\r\nrange:");
        log.lock().unwrap().push(format!("{line}{}", if ranged { " +range" } else { "" }));
        let fault = {
            let mut p = plan.lock().unwrap();
            match p.iter_mut().find(|(s, _, n)| *n > 0 && path.contains(s.as_str())) {
                Some((_, f, n)) => {
                    *n -= 1;
                    Some(f.clone())
                }
                None => None,
            }
        };
        // Each request gets its own upstream connection, closed after the answer.
        let mut lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).filter(|l| !l.to_ascii_lowercase().starts_with("connection:")).collect();
        if matches!(fault, Some(Fault::NoRange)) {
            lines.retain(|l| !l.to_ascii_lowercase().starts_with("range:"));
        }
        let req = format!("{}\r\nConnection: close\r\n\r\n", lines.join("\r\n"));
        match fault {
            Some(Fault::Status(s)) => {
                let _ = write!(c, "HTTP/1.1 {s} Fault\r\nContent-Length: 0\r\nRetry-After: 1\r\nConnection: close\r\n\r\n");
            }
            Some(Fault::Stall(d)) => std::thread::sleep(d),
            other => {
                let Ok(mut u) = TcpStream::connect(("127.0.0.1", upstream)) else { return };
                if u.write_all(req.as_bytes()).is_err() {
                    return;
                }
                let limit = match other {
                    Some(Fault::DropAfter(n)) => n,
                    _ => usize::MAX,
                };
                let mut sent = 0;
                let mut buf = vec![0u8; 16 << 10];
                while sent < limit {
                    let n = match u.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n.min(limit - sent),
                    };
                    if c.write_all(&buf[..n]).is_err() {
                        break;
                    }
                    sent += n;
                }
            }
        }
        let _ = c.shutdown(std::net::Shutdown::Both);
    }
}

#[test]
#[ignore = "starts docker-registry and a fault proxy; run by .ci/run"]
fn faults_are_survived_and_the_result_is_the_clean_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let reg = Registry::start(tmp.path(), &tmp.path().join("store"), "");
    skopeo_push(&format!("oci-archive:{FIX}/pyapp-oci-archive-gzip.tar"), &format!("docker://{}/pyapp:1", reg.host()), &[]);
    let proxy = Proxy::start(reg.port);
    let img = format!("registry:127.0.0.1:{}/pyapp:1", proxy.port);
    let t = Instant::now();
    let clean = analyze_ok(slim_at(home).args(["analyze", "--format", "json", &img]));
    eprintln!("clean run through the proxy: {:?}", t.elapsed());
    assert_eq!(clean, local(home, "pyapp-oci-archive-gzip.tar"));
    let layers = clean["layers"].as_array().unwrap();
    let big = layers.iter().max_by_key(|l| l["compressed_bytes"].as_u64()).unwrap()["blob_digest"].as_str().unwrap().to_string();
    let second = layers[1]["blob_digest"].as_str().unwrap().to_string();
    let small = layers[3]["blob_digest"].as_str().unwrap().to_string();
    let config = clean["image"]["config_digest"].as_str().unwrap().to_string();
    let timed = |proxy_plan: &[(&str, Fault, usize)]| {
        proxy.set(proxy_plan);
        let t = Instant::now();
        let v = analyze_ok(slim_at(home).args(["analyze", "--format", "json", "--registry-timeout", "1", &img]));
        (v, t.elapsed(), proxy.log.lock().unwrap().clone())
    };

    // 500 on the manifest, 429 (Retry-After: 1) on the config, the largest layer cut after
    // 60,000 bytes (resumed with Range), the second layer stalled past the timeout.
    let (v, took, log) =
        timed(&[("/manifests/", Fault::Status(500), 1), (&config, Fault::Status(429), 1), (&big, Fault::DropAfter(60_000), 1), (&second, Fault::Stall(Duration::from_secs(3)), 1)]);
    assert_eq!(v, clean);
    let ranged: Vec<&String> = log.iter().filter(|l| l.contains(&big) && l.ends_with("+range")).collect();
    assert_eq!(ranged.len(), 1, "the cut blob is resumed with one Range request: {log:#?}");
    assert_eq!(log.iter().filter(|l| l.contains("/manifests/")).count(), 2, "{log:#?}");
    assert_eq!(log.iter().filter(|l| l.contains(&second)).count(), 2, "{log:#?}");
    eprintln!("faults (500, 429, cut, stall): {took:?}");

    // A registry that ignores Range: the cut blob is fetched again and its first bytes
    // skipped; 503 twice on a small layer.
    let (v, took, log) = timed(&[(&big, Fault::DropAfter(100_000), 1), (&big, Fault::NoRange, 1), (&small, Fault::Status(503), 2)]);
    eprintln!("faults (cut, no Range, 503 twice): {took:?}");
    assert_eq!(v, clean);
    assert_eq!(log.iter().filter(|l| l.contains(&big)).count(), 2, "{log:#?}");
    assert_eq!(log.iter().filter(|l| l.contains(&small)).count(), 3, "{log:#?}");

    // Cut every time: bounded resumes, then one line naming the blob, and nothing written.
    proxy.set(&[(&big, Fault::DropAfter(10_000), 100)]);
    let t = Instant::now();
    let out = tmp.path().join("out.json");
    let err = fails(slim_at(home).args(["analyze", "--format", "json", "-o"]).arg(&out).arg(&img));
    assert!(err.contains(big.trim_start_matches("sha256:")) && err.contains("gave up"), "{err}");
    assert!(!out.exists());
    eprintln!("cut at every try: gave up after {:?}", t.elapsed());
    // 503 for ever: bounded retries with backoff, then one line.
    proxy.set(&[(&small, Fault::Status(503), 100)]);
    let t = Instant::now();
    let err = fails(slim_at(home).args(["analyze", &img]));
    assert!(err.contains("503") && err.contains("gave up after 6 attempts"), "{err}");
    assert!(t.elapsed() < Duration::from_secs(60), "{:?}", t.elapsed());
    eprintln!("503 at every try: gave up after {:?}", t.elapsed());
}

#[test]
#[ignore = "starts docker-registry; run by .ci/run"]
fn a_blob_altered_in_the_registry_is_refused_naming_its_digest() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let reg = Registry::start(tmp.path(), &tmp.path().join("store"), "");
    let h = reg.host();
    skopeo_push(&format!("oci-archive:{FIX}/pyapp-oci-archive-gzip.tar"), &format!("docker://{h}/pyapp:1"), &[]);
    let clean = local(home, "pyapp-oci-archive-gzip.tar");
    let data = |digest: &str| {
        let hex = digest.trim_start_matches("sha256:");
        reg.root.join(format!("docker/registry/v2/blobs/sha256/{}/{hex}/data", &hex[..2]))
    };
    let out = tmp.path().join("out.json");
    let img = format!("registry:{h}/pyapp:1");
    // A layer with one byte changed in the middle of its compressed data.
    let layer = clean["layers"][0]["blob_digest"].as_str().unwrap().to_string();
    let p = data(&layer);
    let orig = std::fs::read(&p).unwrap();
    let mut bad = orig.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x55;
    std::fs::write(&p, &bad).unwrap();
    let err = fails(slim_at(home).args(["analyze", "--format", "json", "-o"]).arg(&out).arg(&img));
    assert!(err.contains(layer.trim_start_matches("sha256:")), "{err}");
    assert!(!out.exists());
    // The same length and a gzip stream that decodes to the same tar, but another byte in
    // its header (the mtime, which no decoder checks): a digest mismatch, by name.
    let mut same = orig.clone();
    same[4] ^= 1;
    std::fs::write(&p, &same).unwrap();
    let err = fails(slim_at(home).args(["analyze", "--format", "json", "-o"]).arg(&out).arg(&img));
    assert!(err.contains("digest mismatch") && err.contains(&layer), "{err}");
    assert!(!out.exists());
    std::fs::write(&p, &orig).unwrap();
    // The config changed on disk: its digest named.
    let config = clean["image"]["config_digest"].as_str().unwrap();
    let p = data(config);
    let mut c = std::fs::read(&p).unwrap();
    let i = c.iter().position(|&b| b == b'a').unwrap();
    c[i] = b'b';
    std::fs::write(&p, &c).unwrap();
    let err = fails(slim_at(home).args(["analyze", "--format", "json", "-o"]).arg(&out).arg(&img));
    assert!(err.contains("digest mismatch") && err.contains(config), "{err}");
    assert!(!out.exists());
}

#[test]
#[ignore = "starts podman system service; run by .ci/run"]
fn an_engine_image_through_podmans_api_socket() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let podman = |args: &[&str]| {
        let mut c = std::process::Command::new("podman");
        c.arg("--root").arg(t.join("root")).arg("--runroot").arg(t.join("run"));
        c.args(["--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "none"]);
        c.args(args);
        c
    };
    run(&mut podman(&["load", "-q", "-i", &format!("{FIX}/pyapp-docker-archive.tar")]));
    let sock = t.join("podman.sock");
    let mut svc = podman(&["system", "service", "--time=0", &format!("unix://{}", sock.display())]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
    let start = Instant::now();
    while !sock.exists() {
        assert!(start.elapsed() < Duration::from_secs(20), "podman system service did not make its socket");
        std::thread::sleep(Duration::from_millis(50));
    }
    let host = format!("unix://{}", sock.display());
    let got = slim_at(t).env("DOCKER_HOST", &host).args(["analyze", "--format", "json", "podman:localhost/pyapp:latest"]).output().unwrap();
    let missing = slim_at(t).env("DOCKER_HOST", &host).args(["analyze", "podman:no-such-image:1"]).output().unwrap();
    let _ = svc.kill();
    let _ = svc.wait();
    assert!(got.status.success(), "{}", String::from_utf8_lossy(&got.stderr));
    // The engine's stream is read in one pass, which hashes every layer: the local run with
    // --verify checks as much.
    let want = analyze_ok(slim_at(t).args(["analyze", "--format", "json", "--verify", &format!("{FIX}/pyapp-docker-archive.tar")]));
    assert_eq!(analysis(&got.stdout), want);
    assert_eq!(missing.status.code(), Some(2));
    let err = String::from_utf8_lossy(&missing.stderr);
    assert!(err.contains("podman:no-such-image:1") && err.contains("404"), "{err}");
}

/// A key and self-signed certificate for a token issuer (`token.key`, `token.crt` in `dir`).
fn token_signer(dir: &Path, cn: &str) {
    let args = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "token.key", "-out", "token.crt", "-days", "2", "-subj"];
    run(std::process::Command::new("openssl").current_dir(dir).args(args).arg(format!("/CN={cn}")));
}

/// A token service of the test's own: RS256 JWTs with the signing certificate in `x5c`, as
/// distribution's `auth: token` verifies them; basic credentials required. Returns its port
/// and the log of scopes asked for.
fn token_issuer(dir: &Path, user: &'static str, pw: &'static str) -> (u16, Arc<Mutex<Vec<String>>>) {
    let der = run(std::process::Command::new("openssl").current_dir(dir).args(["x509", "-in", "token.crt", "-outform", "DER"]));
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let log: Arc<Mutex<Vec<String>>> = Arc::default();
    let lg = log.clone();
    let dir = dir.to_path_buf();
    std::thread::spawn(move || {
        let b64u = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        for c in l.incoming() {
            let Ok(mut c) = c else { break };
            let mut head = Vec::new();
            let mut b = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && c.read(&mut b).is_ok_and(|n| n == 1) {
                head.push(b[0]);
            }
            let text = String::from_utf8_lossy(&head).into_owned();
            let target = text.split(' ').nth(1).unwrap_or("").to_string();
            let query: HashMap<String, String> = target
                .split_once('?')
                .map(|(_, q)| q)
                .unwrap_or("")
                .split('&')
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_string(), v.replace("%3A", ":").replace("%2F", "/")))
                .collect();
            let scope = query.get("scope").cloned().unwrap_or_default();
            let want = format!("authorization: basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pw}"))).to_ascii_lowercase();
            let authed = text.to_ascii_lowercase().lines().any(|l| l.trim() == want);
            lg.lock().unwrap().push(format!("{scope} authed={authed}"));
            if !authed {
                let _ = c.write_all(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                continue;
            }
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
            let access: Vec<Value> = scope
                .split(' ')
                .filter_map(|s| {
                    let mut p = s.split(':');
                    let (t, n, a) = (p.next()?, p.next()?, p.next()?);
                    Some(serde_json::json!({"type": t, "name": n, "actions": a.split(',').collect::<Vec<_>>()}))
                })
                .collect();
            let header = serde_json::json!({"typ": "JWT", "alg": "RS256", "x5c": [base64::engine::general_purpose::STANDARD.encode(&der)]});
            let claims = serde_json::json!({
                "iss": "slim-test-issuer", "sub": user, "aud": query.get("service").cloned().unwrap_or_default(),
                "exp": now + 600, "nbf": now - 10, "iat": now - 10, "jti": format!("{now}-{}", lg.lock().unwrap().len()), "access": access,
            });
            let signing = format!("{}.{}", b64u(header.to_string().as_bytes()), b64u(claims.to_string().as_bytes()));
            let mut sign = std::process::Command::new("openssl")
                .current_dir(&dir)
                .args(["dgst", "-sha256", "-sign", "token.key"])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            sign.stdin.take().unwrap().write_all(signing.as_bytes()).unwrap();
            let sig = sign.wait_with_output().unwrap().stdout;
            let body = serde_json::json!({"token": format!("{signing}.{}", b64u(&sig)), "expires_in": 600}).to_string();
            let _ = write!(c, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len());
        }
    });
    (port, log)
}

#[test]
#[ignore = "starts docker-registry with token auth and a token issuer; run by .ci/run"]
fn bearer_tokens_from_a_token_service_the_registry_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let store = t.join("store");
    // Push while the registry is open, then serve the same storage with token auth.
    {
        let open = Registry::start(t, &store, "");
        skopeo_push(&format!("oci-archive:{FIX}/pyapp-oci-archive-gzip.tar"), &format!("docker://{}/team/pyapp:1", open.host()), &[]);
    }
    token_signer(t, "slim test token signer");
    let (tport, log) = token_issuer(t, "tokenuser", "t0ken-Pa55");
    let extra = format!(
        "auth:\n  token:\n    realm: http://127.0.0.1:{tport}/token\n    service: slim-test-registry\n    issuer: slim-test-issuer\n    rootcertbundle: {}\n",
        t.join("token.crt").display()
    );
    let reg = Registry::start(t, &store, &extra);
    let img = format!("registry:{}/team/pyapp:1", reg.host());
    let home = t.join("home");
    std::fs::create_dir(&home).unwrap();
    // Anonymous: the token service refuses, in one line.
    let err = fails(slim_at(&home).args(["analyze", &img]));
    assert!(err.contains("token service refused anonymous access"), "{err}");
    // With credentials: a token for repository:team/pyapp:pull, which the registry verifies.
    let auth = t.join("auth.json");
    let b64 = base64::engine::general_purpose::STANDARD.encode("tokenuser:t0ken-Pa55");
    std::fs::write(&auth, format!(r#"{{"auths":{{"{}":{{"auth":"{b64}"}}}}}}"#, reg.host())).unwrap();
    let got = analyze_ok(slim_at(&home).env("REGISTRY_AUTH_FILE", &auth).args(["analyze", "--format", "json", &img]));
    assert_eq!(got, local(&home, "pyapp-oci-archive-gzip.tar"));
    let log = log.lock().unwrap().clone();
    assert!(log.iter().any(|l| l == "repository:team/pyapp:pull authed=true"), "{log:#?}");
    // A token the registry cannot verify (a realm that signs with another key) is refused.
    let other = t.join("other");
    std::fs::create_dir(&other).unwrap();
    token_signer(&other, "someone else");
    let (oport, _) = token_issuer(&other, "tokenuser", "t0ken-Pa55");
    drop(reg);
    let extra = extra.replace(&format!("127.0.0.1:{tport}/token"), &format!("127.0.0.1:{oport}/token"));
    let reg = Registry::start(t, &store, &extra);
    let img = format!("registry:{}/team/pyapp:1", reg.host());
    std::fs::write(&auth, format!(r#"{{"auths":{{"{}":{{"auth":"{b64}"}}}}}}"#, reg.host())).unwrap();
    let err = fails(slim_at(&home).env("REGISTRY_AUTH_FILE", &auth).args(["analyze", &img]));
    assert!(err.contains("401") && !err.contains("t0ken-Pa55"), "{err}");
}

/// Write `bytes` as a blob of an OCI layout; its descriptor fields.
fn put_blob(dir: &Path, bytes: &[u8]) -> (String, usize) {
    let hex = sha256_hex(bytes);
    std::fs::write(dir.join("blobs/sha256").join(&hex), bytes).unwrap();
    (format!("sha256:{hex}"), bytes.len())
}

#[test]
#[ignore = "starts docker-registry; run by .ci/run"]
fn platforms_of_an_index_in_a_registry() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let home = t;
    // A two-platform layout: the fixture's manifest for linux/amd64, and one whose config says
    // linux/arm64 (same layers) for the other.
    let dir = t.join("multi");
    run(std::process::Command::new("cp").args(["-a", &format!("{FIX}/pyapp-oci-dir")]).arg(&dir));
    let index: Value = serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    let desc = index["manifests"][0].clone();
    let blob = |d: &str| std::fs::read(dir.join("blobs/sha256").join(d.trim_start_matches("sha256:"))).unwrap();
    let mut manifest: Value = serde_json::from_slice(&blob(desc["digest"].as_str().unwrap())).unwrap();
    let mut config: Value = serde_json::from_slice(&blob(manifest["config"]["digest"].as_str().unwrap())).unwrap();
    config["architecture"] = "arm64".into();
    let (cd, cs) = put_blob(&dir, &serde_json::to_vec(&config).unwrap());
    manifest["config"]["digest"] = cd.into();
    manifest["config"]["size"] = cs.into();
    let (md, ms) = put_blob(&dir, &serde_json::to_vec(&manifest).unwrap());
    let mt = "application/vnd.oci.image.manifest.v1+json";
    let multi = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": mt, "digest": desc["digest"], "size": desc["size"], "platform": {"os": "linux", "architecture": "amd64"}},
            {"mediaType": mt, "digest": md, "size": ms, "platform": {"os": "linux", "architecture": "arm64"}},
        ],
    });
    let (id, is) = put_blob(&dir, &serde_json::to_vec(&multi).unwrap());
    let top = serde_json::json!({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": id, "size": is, "annotations": {"org.opencontainers.image.ref.name": "multi"}}
    ]});
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&top).unwrap()).unwrap();

    let reg = Registry::start(t, &t.join("store"), "");
    let h = reg.host();
    skopeo_push(&format!("oci:{}:multi", dir.display()), &format!("docker://{h}/multi:1"), &["--all"]);
    let img = format!("registry:{h}/multi:1");
    // skopeo compressed the layers on the way in: the oracle is what it reads back out.
    let back = t.join("back");
    run(std::process::Command::new("skopeo")
        .args(["copy", "--quiet", "--all", "--src-tls-verify=false", &format!("docker://{h}/multi:1")])
        .arg(format!("oci:{}:multi", back.display())));
    let localdir = format!("oci:{}:multi", back.display());
    for p in ["linux/amd64", "linux/arm64"] {
        let remote = analyze_ok(slim_at(home).args(["analyze", "--format", "json", "--platform", p, &img]));
        assert_eq!(remote["image"]["platform"], p);
        assert_eq!(remote, analyze_ok(slim_at(home).args(["analyze", "--format", "json", "--platform", p, &localdir])));
    }
    let default = analyze_ok(slim_at(home).args(["analyze", "--format", "json", &img]));
    assert_eq!(default["image"]["platform"], "linux/amd64");
    let err = fails(slim_at(home).args(["analyze", "--platform", "linux/s390x", &img]));
    assert!(err.contains("linux/amd64, linux/arm64"), "{err}");
}

#[test]
#[ignore = "starts docker-registry and a proxy; run by .ci/run"]
fn registry_layers_go_through_the_same_layer_cache() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let cache = tmp.path().join("cache");
    let reg = Registry::start(tmp.path(), &tmp.path().join("store"), "");
    skopeo_push(&format!("oci-archive:{FIX}/pyapp-oci-archive-gzip.tar"), &format!("docker://{}/pyapp:1", reg.host()), &[]);
    let proxy = Proxy::start(reg.port);
    let img = format!("registry:127.0.0.1:{}/pyapp:1", proxy.port);
    let cached = |extra: &[&str]| {
        let mut c = slim_at(home);
        c.env("SLIM_NO_CACHE", "0").args(["analyze", "--format", "json", "--cache-dir"]).arg(&cache).args(extra).arg(&img);
        c
    };
    let clean = local(home, "pyapp-oci-archive-gzip.tar");
    let layers: Vec<String> = clean["layers"].as_array().unwrap().iter().map(|l| l["blob_digest"].as_str().unwrap().to_string()).collect();
    let fetched = |log: &[String]| layers.iter().filter(|d| log.iter().any(|l| l.contains(d.as_str()))).count();
    proxy.set(&[]);
    assert_eq!(analyze_ok(&mut cached(&[])), clean);
    assert_eq!(fetched(&proxy.log.lock().unwrap()), layers.len(), "a cold cache fetches every layer");
    proxy.set(&[]);
    let raw_cold = cached(&[]).output().unwrap().stdout;
    assert_eq!(fetched(&proxy.log.lock().unwrap()), 0, "a warm cache fetches no layer");
    assert_eq!(analysis(&raw_cold), clean);
    // The local archive of the same blobs hits the entries the registry run wrote: none added.
    let before = std::fs::read_dir(cache.join("layers")).unwrap().count();
    let local_warm =
        slim_at(home).env("SLIM_NO_CACHE", "0").args(["analyze", "--format", "json", "--cache-dir"]).arg(&cache).arg(format!("{FIX}/pyapp-oci-archive-gzip.tar")).output().unwrap();
    assert_eq!(analysis(&local_warm.stdout), clean);
    assert_eq!(std::fs::read_dir(cache.join("layers")).unwrap().count(), before);
    // A layer altered in the registry: a hit trusts the manifest's digest (docs/input.md);
    // --verify fetches and hashes it, and refuses it by name.
    let hex = layers[0].trim_start_matches("sha256:");
    let data = reg.root.join(format!("docker/registry/v2/blobs/sha256/{}/{hex}/data", &hex[..2]));
    let mut bad = std::fs::read(&data).unwrap();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x55;
    std::fs::write(&data, &bad).unwrap();
    assert_eq!(analyze_ok(&mut cached(&[])), clean);
    let err = fails(&mut cached(&["--verify"]));
    assert!(err.contains(hex), "{err}");
}
