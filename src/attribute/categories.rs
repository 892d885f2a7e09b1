//! Stable category names for files no package owns, decided by path alone.

/// Every category, in the order rules are tried (first match wins).
pub const ALL: &[&str] = &[
    "git",
    "pip-cache",
    "uv-cache",
    "apt-lists",
    "apt-archives",
    "other-cache",
    "pycache",
    "site-packages-tests",
    "static-libs",
    "headers",
    "cuda-toolkit",
    "build-toolchain",
    "docs-man-locale",
    "other",
];

const TOOLCHAIN_BINS: &[&str] = &["gcc", "g++", "cc", "c++", "cpp", "ld", "as", "ar", "cmake", "make", "rustc", "cargo", "gfortran"];

/// The category of a path (no leading slash).
pub fn category(path: &[u8]) -> &'static str {
    let p = String::from_utf8_lossy(path);
    let comps: Vec<&str> = p.split('/').collect();
    let has = |c: &str| comps.contains(&c);
    let name = comps.last().copied().unwrap_or("");
    if has(".git") {
        return "git";
    }
    if let Some(i) = comps.iter().position(|c| *c == ".cache") {
        return match comps.get(i + 1) {
            Some(&"pip") => "pip-cache",
            Some(&"uv") => "uv-cache",
            _ => "other-cache",
        };
    }
    if p.starts_with("var/lib/apt/lists/") {
        return "apt-lists";
    }
    if p.starts_with("var/cache/apt/") {
        return "apt-archives";
    }
    if p.starts_with("root/.cache/") || p.starts_with("tmp/pip-") {
        return "other-cache";
    }
    if has("__pycache__") || name.ends_with(".pyc") || name.ends_with(".pyo") {
        return "pycache";
    }
    let in_site = comps.iter().any(|c| *c == "site-packages" || *c == "dist-packages");
    if in_site && comps.iter().any(|c| *c == "tests" || *c == "test" || *c == "testing") {
        return "site-packages-tests";
    }
    if name.ends_with(".a") {
        return "static-libs";
    }
    if p.starts_with("usr/include/") || p.starts_with("usr/local/include/") || [".h", ".hpp", ".hh", ".hxx", ".cuh"].iter().any(|e| name.ends_with(e)) {
        return "headers";
    }
    if p.starts_with("usr/local/cuda") || p.starts_with("opt/nvidia/") || p.starts_with("usr/local/nvidia/") {
        return "cuda-toolkit";
    }
    let toolchain_bin = (p.starts_with("usr/bin/") || p.starts_with("usr/local/bin/"))
        && TOOLCHAIN_BINS.iter().any(|b| name == *b || name.starts_with(&format!("{b}-")) || name.starts_with(&format!("x86_64-linux-gnu-{b}")));
    if toolchain_bin
        || p.starts_with("usr/lib/gcc/")
        || p.starts_with("usr/libexec/gcc/")
        || p.starts_with("root/.rustup/")
        || p.starts_with("root/.cargo/")
        || p.starts_with("usr/local/rustup/")
        || p.starts_with("usr/local/cargo/")
    {
        return "build-toolchain";
    }
    if ["usr/share/doc/", "usr/share/man/", "usr/share/info/", "usr/share/locale/", "usr/local/share/man/", "usr/share/i18n/"].iter().any(|d| p.starts_with(d)) {
        return "docs-man-locale";
    }
    "other"
}

#[cfg(test)]
mod tests {
    use super::category;

    #[test]
    fn paths_fall_into_stable_categories() {
        let cases = [
            ("root/.cache/pip/http-v2/a/b", "pip-cache"),
            ("root/.cache/uv/wheels-v2/pypi/x", "uv-cache"),
            ("home/app/.cache/huggingface/x", "other-cache"),
            ("var/lib/apt/lists/deb.debian.org_dists", "apt-lists"),
            ("var/cache/apt/archives/gcc.deb", "apt-archives"),
            ("app/.git/objects/pack/p.pack", "git"),
            ("app/__pycache__/main.cpython-311.pyc", "pycache"),
            ("usr/local/lib/python3.11/site-packages/foo/tests/t.py", "site-packages-tests"),
            ("usr/lib/x86_64-linux-gnu/libfoo.a", "static-libs"),
            ("usr/include/stdio.h", "headers"),
            ("usr/local/cuda-12.4/lib64/libcudart.so", "cuda-toolkit"),
            ("usr/lib/gcc/x86_64-linux-gnu/12/cc1", "build-toolchain"),
            ("usr/bin/x86_64-linux-gnu-gcc-12", "build-toolchain"),
            ("usr/share/doc/zlib1g/copyright", "docs-man-locale"),
            ("app/main.py", "other"),
        ];
        for (p, c) in cases {
            assert_eq!(category(p.as_bytes()), c, "{p}");
        }
        for (_, c) in cases {
            assert!(super::ALL.contains(&c));
        }
    }
}
