//! One parse of what the user named as the image: a path (as always), an explicit local form
//! (`oci:`, `oci-archive:`, `docker-archive:`), a registry reference (`registry:`, `docker://`)
//! or an engine's image (`docker:`, `podman:`, `docker-daemon:`).

use std::fmt;

/// Where the image lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A path or `-`, read as today; `select` is the `:REF` / `:NAME:TAG` of an explicit form.
    Local { path: String, select: Option<String> },
    /// An image in a registry, read over the distribution API.
    Registry(Reference),
    /// An image in a Docker or Podman engine, read through its Engine API socket.
    Engine { engine: Engine, name: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Docker,
    Podman,
}

/// A registry reference, normalised by Docker's rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The registry as named (`docker.io`, `ghcr.io`, `127.0.0.1:5000`).
    pub registry: String,
    /// The repository (`library/python`).
    pub repository: String,
    pub tag: Option<String>,
    /// `sha256:…` when pinned.
    pub digest: Option<String>,
}

impl Reference {
    /// What the manifest is fetched by: the digest when pinned, else the tag.
    pub fn lookup(&self) -> &str {
        self.digest.as_deref().or(self.tag.as_deref()).unwrap_or("latest")
    }

    /// The host the API is served from (Docker Hub's API lives on its own host).
    pub fn api_host(&self) -> &str {
        if self.registry == "docker.io" { "registry-1.docker.io" } else { &self.registry }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// Parse what the user typed. An existing path always wins, so files named `docker:x` keep
/// working; anything else without a known transport is a path too (and fails as one).
pub fn parse(input: &str) -> Result<Input, String> {
    let local = |path: &str, select: Option<String>| Input::Local { path: path.into(), select };
    if input == "-" || std::path::Path::new(input).exists() {
        return Ok(local(input, None));
    }
    let Some((transport, rest)) = input.split_once(':') else {
        return Ok(local(input, None));
    };
    let need = |what: &str| if rest.is_empty() { Err(format!("{input}: {transport}: needs {what}")) } else { Ok(()) };
    match transport {
        "registry" => {
            need("an image reference, e.g. registry:ghcr.io/org/app:1.0")?;
            Ok(Input::Registry(parse_reference(rest)?))
        }
        "docker" if rest.starts_with("//") => {
            let rest = &rest[2..];
            if rest.is_empty() {
                return Err(format!("{input}: docker://: needs an image reference"));
            }
            Ok(Input::Registry(parse_reference(rest)?))
        }
        "docker" | "docker-daemon" | "podman" => {
            need("an image name, e.g. docker:app:1.0")?;
            let engine = if transport == "podman" { Engine::Podman } else { Engine::Docker };
            Ok(Input::Engine { engine, name: rest.into() })
        }
        "oci" | "oci-archive" | "docker-archive" => {
            need("a path")?;
            // `oci:DIR:REF`, `docker-archive:FILE:NAME:TAG`: the path ends at its first colon
            // (as skopeo reads them), unless the whole is a path that exists.
            if std::path::Path::new(rest).exists() {
                return Ok(local(rest, None));
            }
            match rest.split_once(':') {
                Some((p, r)) if !r.is_empty() => Ok(local(p, Some(r.into()))),
                _ => Ok(local(rest, None)),
            }
        }
        _ => Ok(local(input, None)),
    }
}

/// Docker's reference rules: the first component is a registry when it has a `.` or a `:` or
/// is `localhost`; otherwise the image is on Docker Hub, and a one-component name is under
/// `library/`. No tag and no digest means `latest`.
pub fn parse_reference(s: &str) -> Result<Reference, String> {
    let bad = |why: &str| format!("{s}: not an image reference: {why}");
    let (name, digest) = match s.split_once('@') {
        Some((n, d)) => {
            if crate::io::blob::check_digest(d).is_err() {
                return Err(bad("the digest must be sha256:<64 hex> or sha512:<128 hex>"));
            }
            (n, Some(d.to_string()))
        }
        None => (s, None),
    };
    let (first, remainder) = match name.split_once('/') {
        Some((f, r)) if f.contains('.') || f.contains(':') || f == "localhost" => (Some(f), r),
        _ => (None, name),
    };
    // A tag is after the last colon of the last component.
    let (path, tag) = match remainder.rsplit_once(':') {
        Some((p, t)) if !t.contains('/') => (p, Some(t.to_string())),
        _ => (remainder, None),
    };
    if path.is_empty() {
        return Err(bad("no repository"));
    }
    for c in path.split('/') {
        let ok = !c.is_empty()
            && c.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-'))
            && c.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric());
        if !ok {
            return Err(bad("repository components are lowercase letters, digits and . _ -"));
        }
    }
    if let Some(t) = &tag {
        let ok = !t.is_empty() && t.len() <= 128 && t.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')) && !t.starts_with(['.', '-']);
        if !ok {
            return Err(bad("a tag is up to 128 letters, digits and . _ -"));
        }
    }
    let registry = match first {
        Some("index.docker.io") | None => "docker.io".to_string(),
        Some(f) => f.to_string(),
    };
    let repository = if registry == "docker.io" && !path.contains('/') { format!("library/{path}") } else { path.to_string() };
    let tag = if tag.is_none() && digest.is_none() { Some("latest".into()) } else { tag };
    Ok(Reference { registry, repository, tag, digest })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> String {
        parse_reference(s).unwrap().to_string()
    }

    #[test]
    fn bare_names_follow_dockers_rules() {
        assert_eq!(r("python:3.11"), "docker.io/library/python:3.11");
        assert_eq!(r("python"), "docker.io/library/python:latest");
        assert_eq!(r("org/app"), "docker.io/org/app:latest");
        assert_eq!(r("index.docker.io/org/app:1"), "docker.io/org/app:1");
        assert_eq!(r("ghcr.io/org/app:1.0"), "ghcr.io/org/app:1.0");
        assert_eq!(r("localhost/app"), "localhost/app:latest");
        assert_eq!(r("127.0.0.1:5000/a/b:t"), "127.0.0.1:5000/a/b:t");
        let d = format!("sha256:{}", "a".repeat(64));
        assert_eq!(r(&format!("127.0.0.1:5000/app@{d}")), format!("127.0.0.1:5000/app@{d}"));
        assert_eq!(r(&format!("app:1@{d}")), format!("docker.io/library/app:1@{d}"));
        let p = parse_reference(&format!("x.io/app:1@{d}")).unwrap();
        assert_eq!(p.lookup(), d);
        assert_eq!(parse_reference("python").unwrap().api_host(), "registry-1.docker.io");
    }

    #[test]
    fn bad_references_are_refused() {
        for s in ["", "App", "a//b", "x.io/", "app:", "app:-x", "app@sha256:abc", "app@md5:00", ":tag"] {
            assert!(parse_reference(s).is_err(), "{s}");
        }
    }

    #[test]
    fn transports() {
        let reg = |s: &str| match parse(s).unwrap() {
            Input::Registry(r) => r.to_string(),
            other => panic!("{other:?}"),
        };
        assert_eq!(reg("registry:python:3.11"), "docker.io/library/python:3.11");
        assert_eq!(reg("docker://127.0.0.1:5000/app:1"), "127.0.0.1:5000/app:1");
        assert_eq!(parse("docker:app:1").unwrap(), Input::Engine { engine: Engine::Docker, name: "app:1".into() });
        assert_eq!(parse("docker-daemon:app").unwrap(), Input::Engine { engine: Engine::Docker, name: "app".into() });
        assert_eq!(parse("podman:app").unwrap(), Input::Engine { engine: Engine::Podman, name: "app".into() });
        let local = |p: &str, s: Option<&str>| Input::Local { path: p.into(), select: s.map(Into::into) };
        assert_eq!(parse("oci:/no/such/dir:app:1").unwrap(), local("/no/such/dir", Some("app:1")));
        assert_eq!(parse("oci:/no/such/dir").unwrap(), local("/no/such/dir", None));
        assert_eq!(parse("oci-archive:x.tar:app").unwrap(), local("x.tar", Some("app")));
        assert_eq!(parse("docker-archive:x.tar:app:1").unwrap(), local("x.tar", Some("app:1")));
        assert_eq!(parse("image.tar").unwrap(), local("image.tar", None));
        assert_eq!(parse("-").unwrap(), local("-", None));
        assert_eq!(parse("python:3.11").unwrap(), local("python:3.11", None));
        assert!(parse("registry:").is_err());
        assert!(parse("docker://").is_err());
        // An existing file whose name looks like a transport is still a file.
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("docker:x");
        std::fs::write(&f, b"").unwrap();
        let f = f.to_str().unwrap();
        assert_eq!(parse(f).unwrap(), local(f, None));
    }
}
