//! Find the application in an image: its Python source outside every environment (the
//! WORKDIR, what CMD/ENTRYPOINT runs, PYTHONPATH, and directories such as /app, /src, /code,
//! /srv, /workspace), the directories it imports from, and what its command line names
//! (`python -m pkg`, `uvicorn app.main:app`, a console script, a shell entrypoint).

use super::imports::{self, Scan};
use crate::attribute::app_files::outside_system;
use crate::attribute::{Attribution, OwnerKind};
use crate::image::resolve::Config;
use crate::layers::tree::{Kind, Tree, lexical};
use crate::show::display_path;
use hashbrown::HashSet;

/// One source file of the application, scanned.
pub struct AppFile {
    pub node: u32,
    /// Tree path (no leading slash).
    pub path: Vec<u8>,
    pub shown: String,
    /// The package it belongs to (dotted components), for relative imports.
    pub package: Vec<String>,
    pub scan: Scan,
}

/// Something the command line names.
#[derive(Debug, Clone, PartialEq)]
pub enum Named {
    /// A word that may be a console script (its base name).
    Script(String),
    /// A module: `python -m X`, `app.main:app`, `uvicorn.workers.UvicornWorker`.
    Module(String),
}

#[derive(Debug, Clone)]
pub struct CommandRef {
    pub named: Named,
    /// Where it was named: `CMD`, `ENTRYPOINT` or `/app/start.sh:3`.
    pub origin: String,
    /// The text around it, for showing.
    pub text: String,
}

pub struct App {
    pub files: Vec<AppFile>,
    /// Directories the files were found in, for the report.
    pub roots: Vec<String>,
    /// Directories on the app's import path (tree paths).
    pub import_roots: Vec<Vec<u8>>,
    /// Directories holding app files (and their ancestors up to the import roots).
    dirs: HashSet<Vec<u8>>,
    paths: HashSet<Vec<u8>>,
    pub command: Vec<CommandRef>,
    /// The command line as the image config gives it.
    pub argv: Vec<String>,
}

fn env_value<'a>(env: &'a [String], key: &str) -> Option<&'a str> {
    env.iter().rev().find_map(|e| e.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
}

/// Words of a shell command: split at blanks and operators, quotes removed.
fn shell_words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    for c in s.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => cur.push(c),
            None => match c {
                '\'' | '"' => quote = Some(c),
                c if c.is_whitespace() || matches!(c, ';' | '&' | '|' | '(' | ')' | '<' | '>' | '`') => {
                    if !cur.is_empty() {
                        out.push(std::mem::take(&mut cur));
                    }
                }
                c => cur.push(c),
            },
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn is_python(word: &str) -> bool {
    let base = word.rsplit('/').next().unwrap_or(word);
    base == "python" || base.strip_prefix("python").is_some_and(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit() || c == '.'))
}

fn is_dotted_ident(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|p| {
            let mut cs = p.chars();
            cs.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_') && cs.all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
}

/// A module a command-line word names: `app.main:app`, `pkg.mod.Class` (not file names).
fn module_word(w: &str) -> Option<String> {
    let w = w.split_once('=').map(|(k, v)| if k.starts_with('-') { v } else { w }).unwrap_or(w);
    let (m, attr) = w.split_once(':').map(|(m, a)| (m, Some(a))).unwrap_or((w, None));
    if !is_dotted_ident(m) || (!m.contains('.') && attr.is_none()) {
        return None;
    }
    if [".py", ".sh", ".txt", ".json", ".yaml", ".yml", ".toml", ".cfg", ".ini", ".conf", ".log"].iter().any(|e| m.ends_with(e)) {
        return None;
    }
    Some(m.to_string())
}

impl App {
    pub fn find(tree: &mut Tree, attribution: &Attribution, config: &Config) -> App {
        let rc = config.config.clone().unwrap_or_default();
        let env = rc.env.clone().unwrap_or_default();
        let workdir = lexical(rc.working_dir.clone().unwrap_or_default().as_bytes());
        let mut argv: Vec<String> = rc.entrypoint.clone().unwrap_or_default();
        argv.extend(rc.cmd.clone().unwrap_or_default());

        // Source files no package owns.
        let mut files: Vec<AppFile> = Vec::new();
        // Each path built once: a sort keyed by `tree.path` builds two per comparison.
        let mut nodes: Vec<(Vec<u8>, u32)> = tree
            .contents
            .keys()
            .copied()
            .filter(|&n| tree.nodes[n as usize].kind == Kind::File && tree.nodes[n as usize].name.ends_with(b".py"))
            .map(|n| (tree.path(n), n))
            .collect();
        nodes.sort_unstable();
        for (path, n) in nodes {
            let owner = attribution.by_inode[tree.nodes[n as usize].inode as usize];
            if attribution.owners[owner as usize].kind != OwnerKind::Category || !outside_system(&path) {
                continue;
            }
            let scan = imports::scan(&tree.contents[&n]);
            files.push(AppFile { node: n, shown: display_path(&path), path, package: Vec::new(), scan });
        }

        let mut app = App { files, roots: Vec::new(), import_roots: Vec::new(), dirs: HashSet::new(), paths: HashSet::new(), command: Vec::new(), argv: argv.clone() };
        for f in &app.files {
            app.paths.insert(f.path.clone());
            let mut p = f.path.as_slice();
            while let Some(i) = p.iter().rposition(|&b| b == b'/') {
                p = &p[..i];
                if !app.dirs.insert(p.to_vec()) {
                    break;
                }
            }
        }

        // The import path: WORKDIR, PYTHONPATH, directories .pth files add, the directory
        // above each top-level package, and the directory of a script the command runs.
        let mut roots: Vec<Vec<u8>> = Vec::new();
        if !workdir.is_empty() {
            roots.push(workdir.clone());
        }
        for p in env_value(&env, "PYTHONPATH").unwrap_or("").split(':') {
            let p = lexical(p.as_bytes());
            if !p.is_empty() {
                roots.push(p);
            }
        }
        let pths: Vec<u32> = tree.contents.keys().copied().filter(|&n| tree.nodes[n as usize].name.ends_with(b".pth")).collect();
        for n in pths {
            let base = tree.path(tree.nodes[n as usize].parent);
            for line in String::from_utf8_lossy(&tree.contents[&n]).lines().map(str::trim) {
                if line.is_empty() || line.starts_with('#') || line.starts_with("import") {
                    continue;
                }
                let p = if line.starts_with('/') { lexical(line.as_bytes()) } else { lexical(&[&base[..], b"/", line.as_bytes()].concat()) };
                if app.dirs.contains(&p) {
                    roots.push(p);
                }
            }
        }
        for f in &mut app.files {
            let mut pkg: Vec<String> = Vec::new();
            let mut dir = parent(&f.path);
            while !dir.is_empty() && tree.get(&[&dir[..], b"/__init__.py"].concat()).is_some() {
                pkg.push(String::from_utf8_lossy(last(&dir)).into_owned());
                dir = parent(&dir);
            }
            pkg.reverse();
            if !pkg.is_empty() {
                roots.push(dir);
            }
            f.package = pkg;
        }

        // The command line, and the shell scripts it starts.
        let mut words: Vec<(String, String)> = Vec::new();
        let ep_len = rc.entrypoint.as_ref().map_or(0, Vec::len);
        for (i, a) in argv.iter().enumerate() {
            let origin = if i < ep_len { "ENTRYPOINT" } else { "CMD" };
            // `sh -c "…"` and exec-form words alike: split every word as a shell would.
            for w in shell_words(a) {
                words.push((w, origin.to_string()));
            }
        }
        let mut scripts_read: HashSet<Vec<u8>> = HashSet::new();
        let mut k = 0;
        while k < words.len() {
            let (w, origin) = words[k].clone();
            let text = words[k..(k + 4).min(words.len())].iter().map(|(w, _)| w.as_str()).collect::<Vec<_>>().join(" ");
            k += 1;
            if w.contains('=') && !w.starts_with('-') && !w.contains(':') {
                continue; // VAR=value
            }
            if is_python(&w) {
                // Interpreter options, then -m MODULE, -c CODE or a script.
                while k < words.len() && words[k].0.starts_with('-') && !matches!(words[k].0.as_str(), "-m" | "-c") {
                    let takes = matches!(words[k].0.as_str(), "-X" | "-W" | "-Q");
                    k += if takes { 2 } else { 1 };
                }
                match words.get(k).map(|(w, _)| w.as_str()) {
                    Some("-m") => {
                        if let Some((m, _)) = words.get(k + 1) {
                            app.command.push(CommandRef { named: Named::Module(m.clone()), origin: origin.clone(), text: text.clone() });
                        }
                        k += 2;
                    }
                    Some("-c") => {
                        if let Some((code, _)) = words.get(k + 1) {
                            for i in imports::scan(code.as_bytes()).imports {
                                app.command.push(CommandRef { named: Named::Module(i.module), origin: origin.clone(), text: text.clone() });
                            }
                        }
                        k += 2;
                    }
                    Some(script) => {
                        let p = resolve_word(script, &workdir);
                        if app.paths.contains(&p) {
                            roots.push(parent(&p));
                        }
                        k += 1;
                    }
                    None => {}
                }
                continue;
            }
            if let Some(m) = module_word(&w) {
                app.command.push(CommandRef { named: Named::Module(m), origin: origin.clone(), text: text.clone() });
                continue;
            }
            if w.starts_with('-') {
                continue;
            }
            // A shell script in the image: read its words too (once).
            let p = resolve_word(&w, &workdir);
            if let Some(n) = tree.resolve(&p) {
                if let Some(body) = tree.contents.get(&n).filter(|_| !tree.nodes[n as usize].name.ends_with(b".py")) {
                    if scripts_read.insert(p.clone()) {
                        let shown = display_path(&tree.path(n));
                        let body = String::from_utf8_lossy(body).into_owned();
                        let mut more = Vec::new();
                        for (ln, line) in body.lines().enumerate() {
                            let line = line.split(" #").next().unwrap_or("");
                            if line.trim_start().starts_with('#') {
                                continue;
                            }
                            for w in shell_words(line) {
                                more.push((w, format!("{shown}:{}", ln + 1)));
                            }
                        }
                        words.splice(k..k, more);
                    }
                    continue;
                }
                if app.paths.contains(&tree.path(n)) {
                    continue;
                }
            }
            let base = w.rsplit('/').next().unwrap_or(&w).to_string();
            if !base.is_empty() {
                app.command.push(CommandRef { named: Named::Script(base), origin, text });
            }
        }

        roots.sort();
        roots.dedup();
        app.import_roots = roots;
        let mut shown: Vec<String> = app
            .files
            .iter()
            .map(|f| {
                let best = app.import_roots.iter().filter(|r| f.path.starts_with(r) && f.path.get(r.len()) == Some(&b'/')).min_by_key(|r| r.len());
                match best {
                    Some(r) => display_path(r),
                    None => display_path(top_dir(&f.path)),
                }
            })
            .collect();
        shown.sort();
        shown.dedup();
        app.roots = shown;
        app
    }

    /// Is `top` (the first component of an absolute import) a module of the app itself?
    pub fn is_local(&self, top: &str) -> bool {
        self.import_roots.iter().any(|r| {
            let base = if r.is_empty() { top.as_bytes().to_vec() } else { [&r[..], b"/", top.as_bytes()].concat() };
            self.paths.contains(&[&base[..], b".py"].concat()) || self.dirs.contains(&base)
        })
    }

    /// The absolute module a relative import in `f` names.
    pub fn resolve_relative(f: &AppFile, level: usize, module: &str) -> String {
        let keep = f.package.len().saturating_sub(level.saturating_sub(1));
        let mut parts: Vec<&str> = f.package[..keep].iter().map(String::as_str).collect();
        if !module.is_empty() {
            parts.push(module);
        }
        parts.join(".")
    }
}

fn parent(p: &[u8]) -> Vec<u8> {
    match p.iter().rposition(|&b| b == b'/') {
        Some(i) => p[..i].to_vec(),
        None => Vec::new(),
    }
}

fn last(p: &[u8]) -> &[u8] {
    p.rsplit(|&b| b == b'/').next().unwrap_or(p)
}

/// `/app` for `app/x/y.py`; two levels under /opt, /home, /srv, /usr/src.
fn top_dir(p: &[u8]) -> &[u8] {
    let comps: Vec<&[u8]> = p.split(|&b| b == b'/').collect();
    let keep = if comps.len() > 2 && matches!(comps[0], b"opt" | b"home" | b"srv" | b"usr" | b"var") { 2 } else { 1 };
    let len: usize = comps[..keep.min(comps.len() - 1).max(1)].iter().map(|c| c.len() + 1).sum::<usize>() - 1;
    &p[..len]
}

fn resolve_word(w: &str, workdir: &[u8]) -> Vec<u8> {
    if w.starts_with('/') { lexical(w.as_bytes()) } else { lexical(&[workdir, b"/", w.as_bytes()].concat()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_words() {
        assert_eq!(shell_words("exec gunicorn -k 'uvicorn.workers.UvicornWorker' app:app && echo"), ["exec", "gunicorn", "-k", "uvicorn.workers.UvicornWorker", "app:app", "echo"]);
        assert_eq!(module_word("app.main:app").as_deref(), Some("app.main"));
        assert_eq!(module_word("uvicorn.workers.UvicornWorker").as_deref(), Some("uvicorn.workers.UvicornWorker"));
        assert_eq!(module_word("--worker-class=uvicorn.workers.UvicornWorker").as_deref(), Some("uvicorn.workers.UvicornWorker"));
        assert_eq!(module_word("main.py"), None);
        assert_eq!(module_word("0.0.0.0"), None);
        assert_eq!(module_word("worker"), None);
        assert!(is_python("/usr/local/bin/python3.11") && is_python("python") && !is_python("pythonic"));
        assert_eq!(top_dir(b"app/src/x.py"), b"app");
        assert_eq!(top_dir(b"opt/app/x.py"), b"opt/app");
    }
}
