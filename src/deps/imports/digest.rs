//! What is kept of an installed package's own source: its imports and plugin group loads as a
//! few lines of text (`digest`), read back as a `Scan` (`read_digest`), and which files are worth
//! it (`is_library_source`).

use super::{GroupLoad, Import, Scan, scan_with};

/// Could `path` be an installed package's own module: a `.py` file in a site-packages or
/// dist-packages directory, outside its test suites? Read as imports only (`digest`), to see
/// what used packages import lazily.
pub fn is_library_source(path: &[u8], size: u64) -> bool {
    if size > 1 << 20 || !path.ends_with(b".py") {
        return false;
    }
    let comps: Vec<&[u8]> = path.split(|&b| b == b'/').collect();
    let Some(env) = comps.iter().position(|c| matches!(*c, b"site-packages" | b"dist-packages")) else { return false };
    let name = comps[comps.len() - 1];
    let inside = &comps[env + 1..comps.len() - 1];
    // The installers every environment has (and vendors everything into): never reported,
    // and most of a small environment's source.
    let tooling = inside.first().is_some_and(|t| matches!(*t, b"pip" | b"setuptools" | b"pkg_resources" | b"_distutils_hack" | b"wheel"));
    !tooling
        && !name.starts_with(b"test_")
        && name != b"conftest.py"
        && !inside.iter().any(|c| matches!(*c, b"tests" | b"test" | b"__pycache__") || c.ends_with(b".dist-info") || c.ends_with(b".egg-info"))
}

const DIGEST_HEAD: &[u8] = b"#slim-imports 1\n";

/// A module's imports and the plugin groups it loads, as a few lines of text: what is kept of
/// an installed package's source (see `is_library_source`).
pub fn digest(src: &[u8]) -> Vec<u8> {
    written(&scan_with(src, false))
}

/// The digest `digest` makes, found by cutting every line into tokens: what the shortcut it
/// takes is held to (the fuzz target `imports`).
pub fn digest_cutting_every_line(src: &[u8]) -> Vec<u8> {
    written(&scan_with(src, true))
}

fn written(s: &Scan) -> Vec<u8> {
    let mut out = DIGEST_HEAD.to_vec();
    for i in &s.imports {
        let line = format!("i\t{}\t{}\t{}\t{}\t{}\t{}\n", i.line, i.how, i.level, i.module, i.names.join(","), i.context.join("\u{1f}"));
        out.extend_from_slice(line.as_bytes());
    }
    for g in &s.groups {
        out.extend_from_slice(format!("g\t{}\t{}\n", g.line, g.group.replace(['\t', '\n'], " ")).as_bytes());
    }
    out
}

/// The imports and group loads of a digest made by `digest`; None for anything else.
pub fn read_digest(d: &[u8]) -> Option<Scan> {
    let rest = d.strip_prefix(DIGEST_HEAD)?;
    let mut out = Scan::default();
    for l in String::from_utf8_lossy(rest).lines() {
        let f: Vec<&str> = l.split('\t').collect();
        match f.as_slice() {
            ["i", line, how, level, module, names, context] => {
                let how = match *how {
                    "import" => "import",
                    "from" => "from",
                    "importlib" => "importlib",
                    _ => "__import__",
                };
                out.imports.push(Import {
                    module: module.to_string(),
                    level: level.parse().unwrap_or(0),
                    names: names.split(',').filter(|n| !n.is_empty()).map(str::to_string).collect(),
                    line: line.parse().unwrap_or(0),
                    how,
                    context: context.split('\u{1f}').filter(|c| !c.is_empty()).map(str::to_string).collect(),
                });
            }
            ["g", line, group] => out.groups.push(GroupLoad { group: group.to_string(), line: line.parse().unwrap_or(0) }),
            _ => {}
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_keeps_imports_lines_and_blocks() {
        let src = b"import os\n\ndef load():\n    try:\n        import faiss\n    except ImportError:\n        raise\n\nfor e in entry_points(group=\"x.y\"):\n    pass\n";
        let d = read_digest(&digest(src)).unwrap();
        let got: Vec<(&str, u32, Vec<String>)> = d.imports.iter().map(|i| (i.module.as_str(), i.line, i.context.clone())).collect();
        assert_eq!(got, vec![("os", 1, vec![]), ("faiss", 5, vec!["function load".to_string(), "try".to_string()])]);
        assert_eq!(d.groups, vec![GroupLoad { group: "x.y".into(), line: 9 }]);
        assert!(read_digest(src).is_none());
    }

    #[test]
    fn library_source_is_package_code_outside_test_suites() {
        assert!(is_library_source(b"usr/local/lib/python3.11/site-packages/langchain_community/vectorstores/faiss.py", 1000));
        assert!(!is_library_source(b"usr/local/lib/python3.11/site-packages/numpy/tests/test_x.py", 1000));
        assert!(!is_library_source(b"app/main.py", 1000));
        assert!(!is_library_source(b"usr/local/lib/python3.11/site-packages/pip/_vendor/rich/console.py", 1000));
        assert!(!is_library_source(b"usr/local/lib/python3.11/site-packages/x/big.py", 2 << 20));
    }
}
