//! The house is one-way: no module of src/ reaches, through its imports, back to itself.
//!
//! Reads every `crate::` and `super::` path in src/ (use trees expanded, `#[cfg(test)]` modules left
//! out) plus a parent's bare `child::` paths, resolves each to the module file it names, and looks for
//! cycles twice: between top-level rooms (`rules` → `analyze` → `rules`) and between files. A child
//! using its own parent (`use super::X`) is the Rust idiom for shared items and is not an edge.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type Module = Vec<String>;

/// Every module file of src/ (not main.rs) and its text, test modules cut off.
fn modules() -> BTreeMap<Module, String> {
    fn walk(dir: &Path, out: &mut BTreeMap<Module, String>, root: &Path) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out, root);
                continue;
            }
            if p.extension().is_none_or(|x| x != "rs") || p.file_name().unwrap() == "main.rs" {
                continue;
            }
            let rel = p.strip_prefix(root).unwrap().with_extension("");
            let mut m: Module = rel.iter().map(|c| c.to_string_lossy().into_owned()).collect();
            if matches!(m.last().map(String::as_str), Some("mod" | "lib")) {
                m.pop();
            }
            out.insert(m, code_of(&std::fs::read_to_string(&p).unwrap()));
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeMap::new();
    walk(&root, &mut out, &root);
    out
}

/// The file's code without line comments and without `#[cfg(test)]` items, which sit at the end.
fn code_of(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let t = line.trim_start();
        if t.starts_with("#[cfg(test)]") {
            break;
        }
        if t.starts_with("//") {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

fn ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Expand the path (or use tree) that starts at `s`: `a::b::{c, d::{e, f}}` → [a::b::c, a::b::d::e, ...].
fn paths_at(s: &str) -> Vec<Vec<String>> {
    fn tree(s: &[char], i: &mut usize, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
        let mut path = prefix;
        loop {
            while *i < s.len() && s[*i].is_whitespace() {
                *i += 1;
            }
            if *i < s.len() && s[*i] == '{' {
                *i += 1;
                loop {
                    tree(s, i, path.clone(), out);
                    while *i < s.len() && s[*i].is_whitespace() {
                        *i += 1;
                    }
                    match s.get(*i) {
                        Some(',') => *i += 1,
                        Some('}') => {
                            *i += 1;
                            return;
                        }
                        _ => return,
                    }
                    while *i < s.len() && s[*i].is_whitespace() {
                        *i += 1;
                    }
                    if s.get(*i) == Some(&'}') {
                        *i += 1;
                        return;
                    }
                }
            }
            let start = *i;
            while *i < s.len() && ident_char(s[*i]) {
                *i += 1;
            }
            if *i > start {
                path.push(s[start..*i].iter().collect());
            }
            if s.get(*i) == Some(&':') && s.get(*i + 1) == Some(&':') {
                *i += 2;
                continue;
            }
            out.push(path);
            // Skip an `as name` and anything else up to the next separator.
            while *i < s.len() && !matches!(s[*i], ',' | '}' | ';') {
                if s[*i] == '{' {
                    return;
                }
                *i += 1;
            }
            return;
        }
    }
    let chars: Vec<char> = s.chars().take(4000).collect();
    let mut out = Vec::new();
    tree(&chars, &mut 0, Vec::new(), &mut out);
    out
}

/// The module each path in `code` names (the longest known prefix), as seen from `from`.
fn imports(from: &Module, code: &str, known: &BTreeSet<Module>) -> BTreeSet<Module> {
    let mut out = BTreeSet::new();
    let children: Vec<String> = known.iter().filter(|m| m.len() == from.len() + 1 && m.starts_with(from)).map(|m| format!("{}::", m.last().unwrap())).collect();
    let bytes: Vec<(usize, char)> = code.char_indices().collect();
    for (k, &(at, _)) in bytes.iter().enumerate() {
        if k > 0 && ident_char(bytes[k - 1].1) {
            continue;
        }
        let rest = &code[at..];
        let (base, tail): (Module, &str) = if let Some(t) = rest.strip_prefix("crate::") {
            (Vec::new(), t)
        } else if rest.starts_with("super::") {
            let mut base = from.clone();
            let mut t = rest;
            while let Some(r) = t.strip_prefix("super::") {
                base.pop();
                t = r;
            }
            (base, t)
        } else if (k == 0 || bytes[k - 1].1 != ':') && children.iter().any(|c| rest.starts_with(c.as_str())) {
            (from.clone(), rest)
        } else {
            continue;
        };
        for p in paths_at(tail) {
            let mut full = base.clone();
            full.extend(p);
            while !full.is_empty() && !known.contains(&full) {
                full.pop();
            }
            out.insert(full);
        }
    }
    out
}

/// The import graph between module files: an edge for every import but a child's use of its ancestors.
fn graph() -> BTreeMap<Module, BTreeSet<Module>> {
    let mods = modules();
    let known: BTreeSet<Module> = mods.keys().cloned().collect();
    mods.iter()
        .map(|(m, code)| {
            let to = imports(m, code, &known).into_iter().filter(|t| t != m && !m.starts_with(t)).collect();
            (m.clone(), to)
        })
        .collect()
}

/// Every cycle's members, one strongly connected component of two or more nodes each (Tarjan).
fn cycles<N: Ord + Clone>(g: &BTreeMap<N, BTreeSet<N>>) -> Vec<Vec<N>> {
    struct St<N> {
        index: BTreeMap<N, usize>,
        low: BTreeMap<N, usize>,
        stack: Vec<N>,
        on: BTreeSet<N>,
        out: Vec<Vec<N>>,
    }
    fn visit<N: Ord + Clone>(v: &N, g: &BTreeMap<N, BTreeSet<N>>, st: &mut St<N>) {
        let i = st.index.len();
        st.index.insert(v.clone(), i);
        st.low.insert(v.clone(), i);
        st.stack.push(v.clone());
        st.on.insert(v.clone());
        for w in g.get(v).into_iter().flatten() {
            if !st.index.contains_key(w) {
                visit(w, g, st);
                let l = st.low[v].min(st.low[w]);
                st.low.insert(v.clone(), l);
            } else if st.on.contains(w) {
                let l = st.low[v].min(st.index[w]);
                st.low.insert(v.clone(), l);
            }
        }
        if st.low[v] == st.index[v] {
            let mut comp = Vec::new();
            loop {
                let w = st.stack.pop().unwrap();
                st.on.remove(&w);
                comp.push(w.clone());
                if w == *v {
                    break;
                }
            }
            if comp.len() > 1 {
                comp.sort();
                st.out.push(comp);
            }
        }
    }
    let mut st = St { index: BTreeMap::new(), low: BTreeMap::new(), stack: Vec::new(), on: BTreeSet::new(), out: Vec::new() };
    for v in g.keys() {
        if !st.index.contains_key(v) {
            visit(v, g, &mut st);
        }
    }
    st.out
}

fn show(c: &[Module]) -> String {
    c.iter().map(|m| if m.is_empty() { "crate".to_string() } else { m.join("::") }).collect::<Vec<_>>().join(" ↔ ")
}

/// Cycles still being taken apart; each entry goes when its cycle does.
const KNOWN: &[&str] = &[];

#[test]
fn no_room_reaches_back() {
    let g = graph();
    let mut rooms: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (from, to) in &g {
        let Some(r) = from.first() else { continue };
        let e = rooms.entry(vec![r.clone()]).or_default();
        for t in to {
            if let Some(tr) = t.first().filter(|tr| *tr != r) {
                e.insert(vec![tr.clone()]);
            }
        }
    }
    let all: Vec<String> = cycles(&rooms).iter().map(|c| show(c)).collect();
    let found: Vec<&String> = all.iter().filter(|c| !KNOWN.contains(&c.as_str())).collect();
    assert!(found.is_empty(), "import cycles between rooms:\n{found:#?}");
    let mut all = all;
    all.extend(cycles(&graph()).iter().map(|c| show(c)));
    let gone: Vec<&&str> = KNOWN.iter().filter(|k| !all.iter().any(|c| c == *k)).collect();
    assert!(gone.is_empty(), "no longer cycles, take them off KNOWN: {gone:?}");
}

#[test]
fn no_file_reaches_back() {
    let found: Vec<String> = cycles(&graph()).iter().map(|c| show(c)).filter(|c| !KNOWN.contains(&c.as_str())).collect();
    assert!(found.is_empty(), "import cycles between files:\n{found:#?}");
}

#[test]
fn the_reader_sees_imports() {
    let known: BTreeSet<Module> = [vec![], vec!["a".into()], vec!["a".into(), "b".into()], vec!["c".into()], vec!["c".into(), "d".into()]].into_iter().collect();
    let from: Module = vec!["a".into(), "b".into()];
    let got = imports(&from, "use crate::{c::d::{X, Y}, a};\nuse super::Z;\nfn f() { crate::c::g(); }\n", &known);
    let want: BTreeSet<Module> = [vec!["c".into(), "d".into()], vec!["a".into()], vec!["c".into()]].into_iter().collect();
    assert_eq!(got, want);
    let parent: Module = vec!["c".into()];
    let got = imports(&parent, "fn f() { d::run(); }\n", &known);
    assert_eq!(got, [vec!["c".to_string(), "d".to_string()]].into_iter().collect());
}
