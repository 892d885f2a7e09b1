//! Registry credentials, found where docker, podman and skopeo keep them. A secret is held in
//! memory only: never printed, never written, never part of an error message.

use base64::Engine as _;
use serde::Deserialize;
use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// A user name and password (or token) for basic auth and for asking a token service.
#[derive(Clone)]
pub struct Credentials {
    pub username: String,
    pub secret: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials {{ username: {:?}, secret: <hidden> }}", self.username)
    }
}

impl Credentials {
    pub fn basic_header(&self) -> String {
        let raw = format!("{}:{}", self.username, self.secret);
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(raw))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthFile {
    #[serde(default)]
    auths: HashMap<String, AuthEntry>,
    #[serde(default)]
    creds_store: Option<String>,
    #[serde(default)]
    cred_helpers: HashMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

/// The files looked at, in order: `$REGISTRY_AUTH_FILE`, `$XDG_RUNTIME_DIR/containers/auth.json`,
/// `~/.config/containers/auth.json`, `$DOCKER_CONFIG/config.json` (or `~/.docker/config.json`).
pub fn files() -> Vec<PathBuf> {
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    let home = env("HOME");
    let mut out = Vec::new();
    out.extend(env("REGISTRY_AUTH_FILE"));
    out.extend(env("XDG_RUNTIME_DIR").map(|d| d.join("containers/auth.json")));
    out.extend(home.as_ref().map(|h| h.join(".config/containers/auth.json")));
    match env("DOCKER_CONFIG") {
        Some(d) => out.push(d.join("config.json")),
        None => out.extend(home.map(|h| h.join(".docker/config.json"))),
    }
    out
}

/// The keys a registry may be stored under (Docker Hub has its legacy URL).
fn keys(registry: &str) -> Vec<String> {
    let mut k = vec![registry.to_string(), format!("https://{registry}"), format!("http://{registry}")];
    if registry == "docker.io" {
        k.extend(["https://index.docker.io/v1/", "index.docker.io", "registry-1.docker.io"].map(String::from));
    }
    k
}

/// Credentials for `registry` (as named in the reference, e.g. `docker.io`), from the first file
/// that has any: a credential helper named for the registry (`credHelpers`), an `auths` entry,
/// then the file's `credsStore`. Errors name the file or helper, never a secret.
pub fn lookup(registry: &str) -> Result<Option<Credentials>, String> {
    for path in files() {
        let Ok(bytes) = std::fs::read(&path) else { continue };
        let file: AuthFile = serde_json::from_slice(&bytes).map_err(|e| format!("{}: malformed JSON: {e}", path.display()))?;
        if let Some(c) = from_file(&file, registry).map_err(|e| format!("{}: {e}", path.display()))? {
            return Ok(Some(c));
        }
    }
    Ok(None)
}

fn from_file(file: &AuthFile, registry: &str) -> Result<Option<Credentials>, String> {
    let keys = keys(registry);
    if let Some(helper) = keys.iter().find_map(|k| file.cred_helpers.get(k)) {
        return helper_get(helper, registry);
    }
    for k in &keys {
        if let Some(e) = file.auths.get(k) {
            if let Some(c) = entry(e).map_err(|w| format!("auths[{k}]: {w}"))? {
                return Ok(Some(c));
            }
        }
    }
    match &file.creds_store {
        Some(store) if !store.is_empty() => helper_get(store, registry),
        _ => Ok(None),
    }
}

fn entry(e: &AuthEntry) -> Result<Option<Credentials>, String> {
    if let Some(a) = e.auth.as_deref().filter(|a| !a.is_empty()) {
        let raw = base64::engine::general_purpose::STANDARD.decode(a.trim()).map_err(|_| "auth is not base64".to_string())?;
        let raw = String::from_utf8(raw).map_err(|_| "auth is not UTF-8".to_string())?;
        let (u, p) = raw.split_once(':').ok_or("auth is not USER:PASSWORD in base64")?;
        return Ok(Some(Credentials { username: u.into(), secret: p.into() }));
    }
    match (&e.username, &e.password) {
        (Some(u), Some(p)) => Ok(Some(Credentials { username: u.clone(), secret: p.clone() })),
        _ => Ok(None),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct HelperReply {
    username: String,
    secret: String,
}

/// `docker-credential-NAME get`, the server on stdin, `{"Username","Secret"}` on stdout. A helper
/// that knows nothing of the server says so on stdout and exits non-zero: no credentials.
fn helper_get(name: &str, registry: &str) -> Result<Option<Credentials>, String> {
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')) {
        return Err(format!("credential helper name {:?} is not a plain name", crate::escape::escape(name)));
    }
    let prog = format!("docker-credential-{name}");
    let server = if registry == "docker.io" { "https://index.docker.io/v1/" } else { registry };
    let mut child =
        Command::new(&prog).arg("get").stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::null()).spawn().map_err(|e| format!("credential helper {prog}: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(server.as_bytes());
    }
    let out = child.wait_with_output().map_err(|e| format!("credential helper {prog}: {e}"))?;
    if !out.status.success() {
        return Ok(None);
    }
    let reply: HelperReply = serde_json::from_slice(&out.stdout).map_err(|_| format!("credential helper {prog}: its answer is not the expected JSON"))?;
    if reply.username == "<token>" {
        // An identity token is exchanged by OAuth2, not sent as a password.
        return Err(format!("credential helper {prog}: identity tokens are not supported; log in with a user name and password or token"));
    }
    Ok(Some(Credentials { username: reply.username, secret: reply.secret }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(json: &str) -> AuthFile {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn auths_entries_and_docker_hub_keys() {
        let f = file(r#"{"auths":{"https://index.docker.io/v1/":{"auth":"dTpw"},"x.io":{"username":"a","password":"b"}}}"#);
        let c = from_file(&f, "docker.io").unwrap().unwrap();
        assert_eq!((c.username.as_str(), c.secret.as_str()), ("u", "p"));
        let c = from_file(&f, "x.io").unwrap().unwrap();
        assert_eq!(c.basic_header(), "Basic YTpi");
        assert!(from_file(&f, "y.io").unwrap().is_none());
        assert!(!format!("{c:?}").contains("\"b\""), "Debug hides the secret");
        let bad = file(r#"{"auths":{"x.io":{"auth":"!!"}}}"#);
        let e = from_file(&bad, "x.io").unwrap_err();
        assert!(e.contains("not base64") && !e.contains("!!"), "{e}");
    }

    #[test]
    fn helper_names_are_plain_and_a_missing_helper_is_named() {
        assert!(helper_get("../evil", "x.io").is_err());
        assert!(helper_get("no-such-helper-here", "x.io").unwrap_err().contains("docker-credential-no-such-helper-here"));
    }
}
