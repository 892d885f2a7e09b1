//! The HTTP side of a registry: one repository's client with TLS roots (system, `--cert-dir`,
//! certs.d), retries with backoff on transient faults, and auth as the registry's challenge
//! asks for it (basic, bearer tokens), from credentials found in the usual files and helpers.

use crate::escape::escape;
use crate::image::store::META_LIMIT;
use crate::source::Settings;
use crate::source::auth::{self, Credentials};
use crate::source::reference::Reference;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use ureq::http::Response;

/// Every manifest kind slim reads; schema 1 is asked for only to name it in an error.
const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json;q=0.9, \
application/vnd.docker.distribution.manifest.v1+prettyjws;q=0.1, application/vnd.docker.distribution.manifest.v1+json;q=0.1";

/// Attempts of one request (first try + retries) on a dropped connection, a timeout, 429 or 5xx.
pub const ATTEMPTS: u32 = 6;

pub(super) fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(250u64 << attempt.min(5)).min(Duration::from_secs(8))
}

fn is_loopback(host: &str) -> bool {
    let h = host.rsplit_once(':').filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit())).map_or(host, |(h, _)| h);
    let h = h.trim_start_matches('[').trim_end_matches(']');
    h == "localhost" || h.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Root certificates: the system's (which honours `SSL_CERT_FILE` and `SSL_CERT_DIR`), plus
/// the `*.crt` files of `--cert-dir`, or else of `/etc/containers/certs.d/HOST` and
/// `/etc/docker/certs.d/HOST`.
fn roots(settings: &Settings, host: &str) -> Result<ureq::tls::RootCerts, String> {
    let mut certs: Vec<ureq::tls::Certificate<'static>> =
        rustls_native_certs::load_native_certs().certs.iter().map(|c| ureq::tls::Certificate::from_der(c.as_ref()).to_owned()).collect();
    let dirs: Vec<std::path::PathBuf> = match &settings.cert_dir {
        Some(d) => vec![d.clone()],
        None => ["/etc/containers/certs.d", "/etc/docker/certs.d"].iter().map(|b| std::path::Path::new(b).join(host)).collect(),
    };
    for dir in dirs {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            if settings.cert_dir.is_some() {
                return Err(format!("--cert-dir {}: cannot read the directory", dir.display()));
            }
            continue;
        };
        let mut files: Vec<_> = rd.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "crt")).collect();
        files.sort();
        for f in files {
            let pem = std::fs::read(&f).map_err(|e| format!("{}: {e}", f.display()))?;
            for item in ureq::tls::parse_pem(&pem) {
                match item {
                    Ok(ureq::tls::PemItem::Certificate(c)) => certs.push(c),
                    Ok(_) => {}
                    Err(e) => return Err(format!("{}: not a PEM certificate: {e}", f.display())),
                }
            }
        }
    }
    Ok(if certs.is_empty() { ureq::tls::RootCerts::WebPki } else { ureq::tls::RootCerts::new_with_certs(&certs) })
}

fn agent(roots: ureq::tls::RootCerts, verify: bool, timeout: Duration) -> ureq::Agent {
    let tls = ureq::tls::TlsConfig::builder().root_certs(roots).disable_verification(!verify).build();
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .tls_config(tls)
        .timeout_connect(Some(timeout))
        .timeout_per_read(Some(timeout))
        .timeout_recv_response(Some(timeout))
        .max_redirects(10)
        // Credentials follow a redirect on the same host, never one to blob storage elsewhere.
        .redirect_auth_headers(ureq::config::RedirectAuthHeaders::SameHost)
        .user_agent(concat!("slim/", env!("CARGO_PKG_VERSION")))
        .build()
        .new_agent()
}

/// One registry repository, with its auth state.
pub struct Client {
    agent: ureq::Agent,
    /// `https://host` or, for loopback and `--insecure-registry` hosts that do not speak TLS, `http://host`.
    base: String,
    reference: Reference,
    creds: Option<Credentials>,
    /// The `Authorization` header the registry accepted last (never printed).
    authorization: Mutex<Option<String>>,
    allow_http: bool,
}

/// A request failed for good: the message, and whether the registry said not found.
pub(super) type Fetch<T> = Result<T, String>;

impl Client {
    pub fn connect(reference: &Reference, settings: &Settings) -> Fetch<Client> {
        let host = reference.api_host().to_string();
        let insecure = settings.insecure.iter().any(|h| h == &host || h == &reference.registry);
        let allow_http = insecure || is_loopback(&host);
        let timeout = settings.timeout.unwrap_or(Duration::from_secs(30));
        let agent = agent(roots(settings, &host)?, !insecure, timeout);
        let creds = auth::lookup(&reference.registry)?;
        let mut client = Client { agent, base: format!("https://{host}"), reference: reference.clone(), creds, authorization: Mutex::new(None), allow_http };
        // One look at /v2/ tells whether the host speaks TLS and is a registry.
        // A plain-HTTP server answers a TLS hello with garbage, or not at all: where plain HTTP
        // is allowed, try TLS once and briefly before it.
        let probe = allow_http.then(|| timeout.min(Duration::from_secs(3)));
        let https = client.send_tries("/v2/", None, None, if allow_http { 1 } else { ATTEMPTS }, probe);
        match https {
            Ok(r) if r.status() == 200 || r.status() == 401 => return Ok(client),
            Ok(r) => return Err(format!("{}/v2/ answered {}: not a registry", client.base, r.status())),
            Err(e) if allow_http => {
                client.base = format!("http://{host}");
                match client.send("/v2/", None, None) {
                    Ok(r) if r.status() == 200 || r.status() == 401 => Ok(client),
                    _ => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") { path.to_string() } else { format!("{}{path}", self.base) }
    }

    /// One request, retried on faults, authenticated when the registry asks. Returns the
    /// response whatever its status, except 429 and 5xx, which are retried.
    fn send(&self, path: &str, accept: Option<&str>, from: Option<u64>) -> Fetch<Response<ureq::Body>> {
        self.send_tries(path, accept, from, ATTEMPTS, None)
    }

    fn send_tries(&self, path: &str, accept: Option<&str>, from: Option<u64>, tries: u32, limit: Option<Duration>) -> Fetch<Response<ureq::Body>> {
        let url = self.url(path);
        let mut authed = false;
        let mut last = String::new();
        let mut attempt = 0;
        let mut wait = Duration::ZERO;
        while attempt < tries {
            if attempt > 0 {
                // Retry-After (seconds) when the registry gave one, else exponential backoff.
                std::thread::sleep(wait);
            }
            attempt += 1;
            let mut req = self.agent.get(&url);
            if let Some(a) = accept {
                req = req.header("Accept", a);
            }
            if let Some(n) = from.filter(|&n| n > 0) {
                req = req.header("Range", format!("bytes={n}-"));
            }
            if let Some(h) = self.authorization.lock().unwrap().clone() {
                req = req.header("Authorization", h);
            }
            if let Some(d) = limit {
                req = req.config().timeout_global(Some(d)).build();
            }
            match req.call() {
                Ok(r) if r.status() == 401 && !authed => {
                    authed = true;
                    let challenge = r.headers().get("www-authenticate").and_then(|v| v.to_str().ok()).map(str::to_string);
                    match challenge {
                        Some(c) if path != "/v2/" || self.creds.is_some() => {
                            self.authenticate(&c)?;
                            attempt -= 1;
                        }
                        _ => return Ok(r),
                    }
                }
                Ok(r) if r.status() == 429 || r.status().is_server_error() => {
                    last = format!("HTTP {}", r.status());
                    let after = r.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
                    wait = after.map_or(backoff(attempt - 1), |s| Duration::from_secs(s.min(60)));
                }
                Ok(r) => return Ok(r),
                Err(e) if transient(&e) => {
                    last = e.to_string();
                    wait = backoff(attempt - 1);
                }
                Err(e) => return Err(format!("{}: {e}", self.shown(&url))),
            }
        }
        Err(format!("{}: {last}; gave up after {tries} attempts", self.shown(&url)))
    }

    /// A URL for a message: the path on the registry, never a signed query string.
    fn shown(&self, url: &str) -> String {
        escape(url.split('?').next().unwrap_or(url))
    }

    /// Answer a `WWW-Authenticate` challenge: basic auth with the stored credentials, or a
    /// bearer token from the realm it names (with the credentials, when there are any).
    fn authenticate(&self, challenge: &str) -> Fetch<()> {
        let (scheme, params) = parse_challenge(challenge);
        let host = &self.reference.registry;
        if scheme.eq_ignore_ascii_case("basic") {
            let c = self.creds.as_ref().ok_or_else(|| format!("{host} needs credentials and none were found (looked in: {})", auth_files()))?;
            *self.authorization.lock().unwrap() = Some(c.basic_header());
            return Ok(());
        }
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(format!("{host} asks for {} auth, which slim does not speak", escape(&scheme)));
        }
        let realm = params.get("realm").ok_or_else(|| format!("{host}: a bearer challenge without a realm"))?;
        if realm.starts_with("http://") && !self.allow_http {
            return Err(format!("{host}: the token service {} is plain HTTP; refusing to use it", escape(realm)));
        }
        if !realm.starts_with("http://") && !realm.starts_with("https://") {
            return Err(format!("{host}: the token realm {} is not an http(s) URL", escape(realm)));
        }
        let scope = format!("repository:{}:pull", self.reference.repository);
        let mut url = format!("{realm}{}scope={}", if realm.contains('?') { '&' } else { '?' }, enc(&scope));
        if let Some(s) = params.get("service") {
            url.push_str(&format!("&service={}", enc(s)));
        }
        let mut req = self.agent.get(&url);
        if let Some(c) = &self.creds {
            req = req.header("Authorization", c.basic_header());
        }
        let resp = req.call().map_err(|e| format!("{host}: token service: {e}"))?;
        let status = resp.status();
        if status == 401 || status == 403 {
            return Err(format!("{host}: the token service refused {} (HTTP {status})", if self.creds.is_some() { "the credentials" } else { "anonymous access; log in first" }));
        }
        if status != 200 {
            return Err(format!("{host}: the token service answered HTTP {status}"));
        }
        let raw = resp.into_body().into_with_config().limit(1 << 20).read_to_vec().map_err(|e| format!("{host}: token service: {e}"))?;
        let v: Value = serde_json::from_slice(&raw).map_err(|_| format!("{host}: the token service's answer is not JSON"))?;
        let token =
            v.get("token").or_else(|| v.get("access_token")).and_then(Value::as_str).filter(|t| !t.is_empty()).ok_or_else(|| format!("{host}: the token service gave no token"))?;
        *self.authorization.lock().unwrap() = Some(format!("Bearer {token}"));
        Ok(())
    }

    /// A registry error body (`{"errors":[{"code","message"}]}`), for a message.
    fn explain(resp: Response<ureq::Body>) -> String {
        let status = resp.status();
        let body = resp.into_body().into_with_config().limit(64 << 10).read_to_vec().unwrap_or_default();
        let detail = serde_json::from_slice::<Value>(&body).ok().and_then(|v| {
            let e = v.get("errors")?.get(0)?;
            Some(format!("{}: {}", e.get("code")?.as_str()?, e.get("message").and_then(Value::as_str).unwrap_or("")))
        });
        match detail {
            Some(d) => format!("HTTP {} ({})", status.as_u16(), escape(&d)),
            None => format!("HTTP {}", status.as_u16()),
        }
    }

    /// A manifest or index by tag or digest: (bytes, media type, digest), checked against the
    /// digest asked for or the one the registry names.
    pub fn manifest(&self, reference: &str) -> Fetch<(Vec<u8>, String, String)> {
        let path = format!("/v2/{}/manifests/{reference}", self.reference.repository);
        let resp = self.send(&path, Some(ACCEPT), None)?;
        if resp.status() != 200 {
            return Err(format!("manifest {}: {}", escape(reference), Self::explain(resp)));
        }
        let ctype = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").split(';').next().unwrap_or("").trim().to_string();
        let named = resp.headers().get("docker-content-digest").and_then(|v| v.to_str().ok()).map(str::to_string);
        let body = resp.into_body().into_with_config().limit(META_LIMIT).read_to_vec().map_err(|e| format!("manifest {}: {e}", escape(reference)))?;
        let digest = crate::io::blob::sha256_hex(&body);
        let want = if reference.contains(':') && !reference.starts_with("sha256:") {
            None // a sha512 pin is checked by the reader
        } else if reference.starts_with("sha256:") {
            Some(reference.to_string())
        } else {
            named.filter(|n| n.starts_with("sha256:"))
        };
        if let Some(w) = want {
            if w != digest {
                return Err(format!("manifest {}: digest mismatch: expected {}, got {digest}", escape(reference), escape(&w)));
            }
        }
        let v: Value = serde_json::from_slice(&body).map_err(|e| format!("manifest {}: malformed JSON: {e}", escape(reference)))?;
        let mt = v.get("mediaType").and_then(Value::as_str).map(str::to_string).unwrap_or(ctype);
        if v.get("schemaVersion").and_then(Value::as_u64) == Some(1) || mt.starts_with("application/vnd.docker.distribution.manifest.v1") {
            return Err(format!(
                "manifest {}: a Docker schema 1 manifest (deprecated since 2017), which slim does not read; push the image again with a current docker or skopeo",
                escape(reference)
            ));
        }
        Ok((body, mt, digest))
    }

    fn blob_path(&self, digest: &str) -> String {
        format!("/v2/{}/blobs/{digest}", self.reference.repository)
    }

    /// Open a blob from byte `from`: the response body, and how many leading bytes to skip
    /// (a registry that ignores Range sends the blob from its start).
    pub(super) fn open_blob(&self, digest: &str, from: u64) -> Fetch<(ureq::BodyReader<'static>, u64)> {
        let resp = self.send(&self.blob_path(digest), None, Some(from))?;
        match resp.status().as_u16() {
            200 => Ok((resp.into_body().into_reader(), from)),
            206 if from > 0 => {
                let start = resp
                    .headers()
                    .get("content-range")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.strip_prefix("bytes "))
                    .and_then(|v| v.split('-').next())
                    .and_then(|v| v.parse::<u64>().ok());
                match start {
                    Some(s) if s == from => Ok((resp.into_body().into_reader(), 0)),
                    _ => Err(format!("blob {digest}: the registry resumed at the wrong byte")),
                }
            }
            _ => Err(format!("blob {digest}: {}", Self::explain(resp))),
        }
    }
}

fn auth_files() -> String {
    auth::files().iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
}

fn transient(e: &ureq::Error) -> bool {
    matches!(e, ureq::Error::Io(_) | ureq::Error::Timeout(_) | ureq::Error::ConnectionFailed | ureq::Error::Protocol(_) | ureq::Error::BodyStalled)
}

fn enc(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

/// `Bearer realm="…",service="…",scope="…"` → ("Bearer", {realm, service, scope}).
fn parse_challenge(h: &str) -> (String, HashMap<String, String>) {
    let h = h.trim();
    let (scheme, rest) = h.split_once(' ').unwrap_or((h, ""));
    let mut params = HashMap::new();
    let mut s = rest.trim();
    while !s.is_empty() {
        let Some((k, v)) = s.split_once('=') else { break };
        let k = k.trim().trim_start_matches(',').trim().to_ascii_lowercase();
        let v = v.trim_start();
        let (val, next) = if let Some(q) = v.strip_prefix('"') {
            match q.find('"') {
                Some(end) => (q[..end].to_string(), &q[end + 1..]),
                None => (q.to_string(), ""),
            }
        } else {
            match v.find(',') {
                Some(end) => (v[..end].trim().to_string(), &v[end..]),
                None => (v.trim().to_string(), ""),
            }
        };
        params.insert(k, val);
        s = next.trim_start().trim_start_matches(',').trim_start();
    }
    (scheme.to_string(), params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges() {
        let (s, p) = parse_challenge(r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#);
        assert_eq!(s, "Bearer");
        assert_eq!(p["realm"], "https://auth.example/token");
        assert_eq!(p["service"], "registry.example");
        assert_eq!(p["scope"], "repository:a/b:pull,push");
        let (s, p) = parse_challenge(r#"Basic realm="Registry Realm""#);
        assert_eq!((s.as_str(), p["realm"].as_str()), ("Basic", "Registry Realm"));
    }

    #[test]
    fn loopback_hosts() {
        for h in ["127.0.0.1:5000", "localhost", "localhost:80", "[::1]:5000", "127.1.2.3"] {
            assert!(is_loopback(h), "{h}");
        }
        for h in ["example.com", "10.0.0.1:5000", "localhost.example.com"] {
            assert!(!is_loopback(h), "{h}");
        }
    }
}
