//! Which distribution an import reaches: the modules each distribution's RECORD puts into its
//! environment (packages, modules, extension modules, directories a `.pth` file adds), so a
//! shared namespace such as `nvidia` or `google` is split by what each wheel really installed.
//! `top_level.txt` is only a hint, used when a distribution lists no files.

use crate::attribute::python::Dist;
use crate::layers::tree::{Kind, Tree, lexical};
use hashbrown::{HashMap, HashSet};

/// How deep module paths are indexed (`google.cloud.storage.blob` needs four).
const DEPTH: usize = 5;

/// Module paths of one environment → the distributions that install files under them.
#[derive(Debug, Default)]
pub struct ModuleMap {
    /// env node → dotted module path → distribution indexes.
    by_env: HashMap<u32, HashMap<String, Vec<usize>>>,
}

/// The module name a file or directory name stands for: `yaml`, `six.py` → `six`,
/// `_cffi_backend.cpython-311-x86_64-linux-gnu.so` → `_cffi_backend`; None for what cannot
/// be imported (`*.dist-info`, `__pycache__`, `foo-1.0.data`, data files).
fn module_name(name: &str, is_dir: bool) -> Option<&str> {
    if is_dir {
        let ok = !name.contains(['.', '-']) && name != "__pycache__" && !name.is_empty();
        return ok.then_some(name);
    }
    let stem = if let Some(s) = name.strip_suffix(".py") {
        s
    } else if name.ends_with(".so") || name.ends_with(".pyd") || name.ends_with(".pyc") {
        name.split('.').next().unwrap_or("")
    } else {
        return None;
    };
    (!stem.is_empty() && !stem.contains('-') && stem != "__init__").then_some(stem)
}

impl ModuleMap {
    pub fn build(tree: &Tree, dists: &[Dist]) -> Self {
        let mut map = ModuleMap::default();
        for (i, d) in dists.iter().enumerate() {
            let env = d.env_node;
            let mut found = false;
            let mut paths: HashSet<String> = HashSet::new();
            for &f in &d.files {
                // Components from the environment down to the file.
                let mut comps: Vec<(String, bool)> = Vec::new();
                let mut n = f;
                let mut inside = false;
                while n != crate::layers::tree::ROOT {
                    let node = &tree.nodes[n as usize];
                    if node.parent == env {
                        comps.push((String::from_utf8_lossy(&node.name).into_owned(), n != f));
                        inside = true;
                        break;
                    }
                    comps.push((String::from_utf8_lossy(&node.name).into_owned(), n != f));
                    n = node.parent;
                }
                if !inside {
                    continue;
                }
                comps.reverse();
                if comps.len() == 1 && comps[0].0.ends_with(".pth") {
                    for m in pth_modules(tree, f) {
                        paths.insert(m);
                    }
                    continue;
                }
                let mut dotted = String::new();
                for (k, (name, is_dir)) in comps.iter().enumerate().take(DEPTH) {
                    let Some(m) = module_name(name, *is_dir) else { break };
                    if k > 0 {
                        dotted.push('.');
                    }
                    dotted.push_str(m);
                    paths.insert(dotted.clone());
                }
            }
            for p in paths {
                found = true;
                map.add(env, p, i);
            }
            if !found {
                for t in &d.top_level {
                    map.add(env, t.replace('/', "."), i);
                }
            }
        }
        map
    }

    fn add(&mut self, env: u32, path: String, dist: usize) {
        let v = self.by_env.entry(env).or_default().entry(path).or_default();
        if !v.contains(&dist) {
            v.push(dist);
        }
    }

    /// The distributions that provide `module` (a dotted name, possibly naming a class or
    /// function after the module) in environment `env`: those under its deepest indexed prefix.
    pub fn lookup(&self, env: u32, module: &str) -> &[usize] {
        let Some(m) = self.by_env.get(&env) else { return &[] };
        let parts: Vec<&str> = module.split('.').collect();
        for k in (1..=parts.len().min(DEPTH)).rev() {
            if let Some(v) = m.get(&parts[..k].join(".")) {
                return v;
            }
        }
        &[]
    }

    /// Every top-level module name a distribution provides, in any environment.
    pub fn top_levels(&self) -> HashMap<usize, Vec<String>> {
        let mut out: HashMap<usize, Vec<String>> = HashMap::new();
        for m in self.by_env.values() {
            for (path, ds) in m {
                if path.contains('.') {
                    continue;
                }
                for &d in ds {
                    out.entry(d).or_default().push(path.clone());
                }
            }
        }
        for v in out.values_mut() {
            v.sort();
            v.dedup();
        }
        out
    }

    pub fn envs(&self) -> impl Iterator<Item = &u32> {
        self.by_env.keys()
    }
}

/// Modules a `.pth` file makes importable: the packages and modules in the directories it
/// lists (an editable install's source tree). Lines that run code (`import …`) add none.
fn pth_modules(tree: &Tree, pth: u32) -> Vec<String> {
    let Some(text) = tree.contents.get(&pth) else { return Vec::new() };
    let mut out = Vec::new();
    for line in String::from_utf8_lossy(text).lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with("import ") || line.starts_with("import\t") {
            continue;
        }
        let base = if line.starts_with('/') {
            lexical(line.as_bytes())
        } else {
            let mut p = tree.path(tree.nodes[pth as usize].parent);
            p.push(b'/');
            p.extend_from_slice(line.as_bytes());
            lexical(&p)
        };
        let Some(dir) = tree.get(&base) else { continue };
        for c in tree.children(dir) {
            let node = &tree.nodes[c as usize];
            let name = String::from_utf8_lossy(&node.name);
            if let Some(m) = module_name(&name, node.kind == Kind::Dir) {
                if node.kind != Kind::Gone {
                    out.push(m.to_string());
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_names_of_files_and_dirs() {
        assert_eq!(module_name("six.py", false), Some("six"));
        assert_eq!(module_name("_cffi_backend.cpython-311-x86_64-linux-gnu.so", false), Some("_cffi_backend"));
        assert_eq!(module_name("yaml", true), Some("yaml"));
        assert_eq!(module_name("PyYAML-6.0.2.dist-info", true), None);
        assert_eq!(module_name("__pycache__", true), None);
        assert_eq!(module_name("README.md", false), None);
        assert_eq!(module_name("__init__.py", false), None);
    }
}
