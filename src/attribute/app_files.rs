//! Which files could be the application's own (its Python source, the script it starts
//! through), decided from the path alone while layers are read, so attribution keeps them
//! whole and deps/ can read them later.

/// Largest source file read (bigger ones are generated code or data).
pub const MAX_SOURCE: u64 = 1 << 20;

/// Top-level directories that hold the system, not an application.
const SYSTEM: &[&[u8]] = &[b"usr", b"lib", b"lib32", b"lib64", b"libx32", b"bin", b"sbin", b"etc", b"proc", b"sys", b"dev", b"run", b"tmp", b"var", b"boot", b"nix"];

/// Could `path` (a layer entry path, no leading slash) be application source: a `.py` file
/// outside the interpreter's library, environments, caches and system directories? Decided
/// from the path alone, while layers are read.
pub fn is_app_source(path: &[u8], size: u64) -> bool {
    if size > MAX_SOURCE || !path.ends_with(b".py") {
        return false;
    }
    outside_system(path)
}

/// A shell script an image may start through (`entrypoint.sh`, `start.sh`).
pub fn is_start_script(path: &[u8], size: u64) -> bool {
    if size > 256 << 10 {
        return false;
    }
    let name = path.rsplit(|&b| b == b'/').next().unwrap_or_default();
    let named = path.ends_with(b".sh") || name.windows(10).any(|w| w == b"entrypoint");
    named && (outside_system(path) || path.starts_with(b"usr/local/bin/") || path.starts_with(b"usr/bin/docker-entrypoint"))
}

pub(crate) fn outside_system(path: &[u8]) -> bool {
    let comps: Vec<&[u8]> = path.split(|&b| b == b'/').collect();
    let first = comps[0];
    // /usr/src/app and /var/www hold applications; the rest of /usr and /var do not.
    let allowed_under_system = (first == b"usr" && comps.get(1) == Some(&&b"src"[..])) || (first == b"var" && comps.get(1) == Some(&&b"www"[..]));
    if SYSTEM.contains(&first) && !allowed_under_system {
        return false;
    }
    comps[..comps.len() - 1].iter().all(|c| {
        !(c.starts_with(b".")
            || matches!(*c, b"site-packages" | b"dist-packages" | b"node_modules" | b"__pycache__" | b"conda-meta" | b"pkgs")
            || c.starts_with(b"python2")
            || c.starts_with(b"python3")
            || c.starts_with(b"conda")
            || c.starts_with(b"miniconda")
            || c.starts_with(b"miniforge")
            || c.starts_with(b"mambaforge")
            || c.starts_with(b"micromamba"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_source_paths() {
        for p in ["app/main.py", "srv/api/x.py", "usr/src/app/a.py", "workspace/p/q.py", "home/u/app/m.py", "code/m.py"] {
            assert!(is_app_source(p.as_bytes(), 10), "{p}");
        }
        for p in [
            "usr/lib/python3.11/os.py",
            "usr/local/lib/python3.11/site-packages/x.py",
            "opt/venv/lib/python3.11/site-packages/x.py",
            "app/.venv/lib/python3.11/site-packages/x.py",
            "opt/conda/lib/python3.11/x.py",
            "root/.cache/x.py",
            "app/node_modules/x/y.py",
            "etc/python3/sitecustomize.py",
            "app/readme.md",
        ] {
            assert!(!is_app_source(p.as_bytes(), 10), "{p}");
        }
        assert!(!is_app_source(b"app/huge.py", MAX_SOURCE + 1));
    }
}
