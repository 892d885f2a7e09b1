//! Installer commands read from their words (pip, `uv pip`, uv/poetry/pdm lockfile installs,
//! `uv add`/pipx, apt-get), and the commands a Dockerfile runs or a distribution provides: what a
//! package edit may touch and what it must keep.

use super::splice::cmds;
use crate::dockerfile::Parsed;
use crate::dockerfile::shell::{Cmd, Word};
use crate::facts::Analyzed;

/// An installer command, read from its words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Tool {
    /// pip / pip3 / python -m pip install, and `uv pip install`.
    Pip {
        uv: bool,
    },
    /// `uv add`, `poetry add`, `pipx install`: named packages, no requirements files.
    Add,
    /// `uv sync`, `poetry install`, `pdm install`: everything comes from a lockfile.
    Lock,
    Apt,
}

#[derive(Debug, Clone)]
pub(super) struct Install {
    pub(super) tool: Tool,
    /// Index of the subcommand word (`install`, `sync`, `add`).
    pub(super) verb: usize,
    /// Positional package arguments (word indices).
    pub(super) pkgs: Vec<usize>,
    /// `-r FILE` values (word indices).
    pub(super) reqfiles: Vec<usize>,
    /// `-e`/local-path targets and other inputs that keep the command meaningful.
    pub(super) others: usize,
}

/// pip options that take a value (the next word, unless written `--opt=value`).
pub(super) const PIP_VALUE_OPTS: &[&str] = &[
    "-r",
    "--requirement",
    "-c",
    "--constraint",
    "-e",
    "--editable",
    "-i",
    "--index-url",
    "--extra-index-url",
    "-f",
    "--find-links",
    "-t",
    "--target",
    "--prefix",
    "--root",
    "--trusted-host",
    "--platform",
    "--python-version",
    "--implementation",
    "--abi",
    "--src",
    "--upgrade-strategy",
    "--progress-bar",
    "--log",
    "--cache-dir",
    "--proxy",
    "--retries",
    "--timeout",
    "--exists-action",
    "--cert",
    "--client-cert",
    "--global-option",
    "--config-settings",
    "-C",
    "--no-binary",
    "--only-binary",
    "--python",
    "-p",
    "--index-strategy",
    "--extra",
    "--group",
    "--keyring-provider",
    "--resolution",
    "--prerelease",
    "--link-mode",
    "--index",
    "--default-index",
    "--torch-backend",
    "--exclude-newer",
    "--report",
    "--root-user-action",
    "--build-constraint",
    "--override",
    "--overrides",
    "--refresh-package",
    "--reinstall-package",
    "--upgrade-package",
    "-P",
    "--with",
    "--python-platform",
    "--pip-args",
];
pub(super) const APT_VALUE_OPTS: &[&str] = &["-o", "--option", "-t", "--target-release", "-c", "--config-file"];

/// Words after wrappers (`sudo`, `env A=b`, `exec`, `time`).
pub(super) fn skip_wrappers(c: &Cmd) -> usize {
    let mut i = 0;
    while let Some(w) = c.words.get(i) {
        match w.text() {
            "sudo" | "exec" | "time" | "nice" | "command" => i += 1,
            "env" => {
                i += 1;
                while c.words.get(i).is_some_and(|w| w.text().contains('=') || w.text().starts_with('-')) {
                    i += 1;
                }
            }
            _ => break,
        }
    }
    i
}

pub(super) fn base_name(w: &Word) -> &str {
    w.text().rsplit('/').next().unwrap_or("")
}

pub(super) fn is_python(s: &str) -> bool {
    s == "python" || s.strip_prefix("python").is_some_and(|v| v.chars().all(|c| c.is_ascii_digit() || c == '.'))
}

pub(super) fn is_pip(s: &str) -> bool {
    s == "pip" || s.strip_prefix("pip").is_some_and(|v| v.chars().all(|c| c.is_ascii_digit() || c == '.'))
}

/// Read an installer command.
pub(super) fn install_of(c: &Cmd) -> Option<Install> {
    let w = &c.words;
    let mut i = skip_wrappers(c);
    let first = base_name(w.get(i)?).to_string();
    // python -m pip|uv ...
    if is_python(&first) && w.get(i + 1).is_some_and(|x| x.is("-m")) {
        i += 2;
    }
    let head = w.get(i).map(base_name).unwrap_or("").to_string();
    let (tool, verb) = if is_pip(&head) && w.get(i + 1).is_some_and(|x| x.is("install")) {
        (Tool::Pip { uv: false }, i + 1)
    } else if head == "uv" && w.get(i + 1).is_some_and(|x| x.is("pip")) && w.get(i + 2).is_some_and(|x| x.is("install")) {
        (Tool::Pip { uv: true }, i + 2)
    } else if (head == "uv" || head == "poetry" || head == "pdm") && w.get(i + 1).is_some_and(|x| x.is("add")) {
        (Tool::Add, i + 1)
    } else if head == "pipx" && w.get(i + 1).is_some_and(|x| x.is("install")) {
        (Tool::Add, i + 1)
    } else if (head == "uv" && w.get(i + 1).is_some_and(|x| x.is("sync"))) || ((head == "poetry" || head == "pdm") && w.get(i + 1).is_some_and(|x| x.is("install") || x.is("sync")))
    {
        (Tool::Lock, i + 1)
    } else if matches!(head.as_str(), "apt-get" | "apt") {
        // apt-get [-y -q ...] install
        let k = (i + 1..w.len()).take(4).find(|&k| w[k].is("install"))?;
        if w[i + 1..k].iter().any(|x| !x.text().starts_with('-')) {
            return None;
        }
        (Tool::Apt, k)
    } else {
        return None;
    };
    let opts = if tool == Tool::Apt { APT_VALUE_OPTS } else { PIP_VALUE_OPTS };
    let mut inst = Install { tool, verb, pkgs: vec![], reqfiles: vec![], others: 0 };
    let mut k = verb + 1;
    while k < w.len() {
        let t = w[k].text();
        if t.starts_with('-') {
            let (name, inline) = match t.split_once('=') {
                Some((n, _)) => (n, true),
                None => (t, false),
            };
            if opts.contains(&name) {
                let takes = !inline;
                if matches!(name, "-r" | "--requirement") {
                    if takes {
                        inst.reqfiles.push(k + 1);
                    } else {
                        inst.reqfiles.push(k);
                    }
                }
                if matches!(name, "-e" | "--editable") {
                    inst.others += 1;
                }
                k += if takes { 2 } else { 1 };
                continue;
            }
            k += 1;
            continue;
        }
        if tool != Tool::Apt && (t.starts_with('.') || t.starts_with('/') || t.contains("://") || t.ends_with(".whl") || t.ends_with(".tar.gz")) {
            // A local project, a wheel file or a URL: kept as it is.
            inst.others += 1;
        } else {
            inst.pkgs.push(k);
        }
        k += 1;
    }
    Some(inst)
}

/// Requirement name of a pip argument (`torch==2.5.1`, `opencv-python[extra]>=4`).
pub(super) fn req_name(word: &str) -> String {
    let n: String = word.trim().chars().take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')).collect();
    crate::attribute::python::normalize_name(&n)
}

pub(super) fn name_len(word: &str) -> usize {
    word.chars().take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')).count()
}

/// Commands the `steps` run by name: the first word of every RUN command, CMD and ENTRYPOINT.
pub(super) fn commands_run(p: &Parsed, steps: &[usize]) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    for s in steps.iter().map(|&k| &p.steps[k]) {
        for c in cmds(s) {
            let i = skip_wrappers(c);
            if let Some(w) = c.words.get(i) {
                out.push((base_name(w).to_string(), s.line));
                // `python -m NAME` runs a module of that name.
                if is_python(base_name(w)) && c.words.get(i + 1).is_some_and(|x| x.is("-m")) {
                    if let Some(m) = c.words.get(i + 2) {
                        out.push((m.text().to_string(), s.line));
                    }
                }
            }
        }
        if matches!(s.keyword.as_str(), "CMD" | "ENTRYPOINT") {
            let body = p.text[s.span.clone()][s.keyword.len()..].trim();
            let first = if body.starts_with('[') {
                serde_json::from_str::<Vec<String>>(body).ok().and_then(|v| v.into_iter().next())
            } else {
                body.split_whitespace().next().map(str::to_string)
            };
            if let Some(f) = first {
                out.push((f.rsplit('/').next().unwrap_or(&f).to_string(), s.line));
            }
        }
    }
    out
}

/// Commands a distribution installs: console scripts and files in a `bin/` directory.
pub(super) fn commands_of(a: &Analyzed, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for d in a.attribution.dists.iter().filter(|d| d.name == name) {
        let mut in_scripts = false;
        for l in d.entry_points.lines() {
            let l = l.trim();
            if l.starts_with('[') {
                in_scripts = l == "[console_scripts]" || l == "[gui_scripts]";
            } else if in_scripts {
                if let Some((n, _)) = l.split_once('=') {
                    out.push(n.trim().to_string());
                }
            }
        }
        for &f in &d.files {
            let path = a.tree.path(f);
            let path = String::from_utf8_lossy(&path);
            if let Some((dir, file)) = path.rsplit_once('/') {
                if dir.ends_with("/bin") {
                    out.push(file.to_string());
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(s: &str) -> Cmd {
        crate::dockerfile::shell::commands(s, 0, &Default::default()).unwrap().remove(0)
    }

    #[test]
    fn installers_are_read_with_their_options() {
        let i = install_of(&cmd("pip install --no-cache-dir -r req.txt -i https://x torch==2.5.1 ./local -e .")).unwrap();
        assert_eq!(i.tool, Tool::Pip { uv: false });
        assert_eq!(i.pkgs, [7]);
        assert_eq!(i.reqfiles, [4]);
        assert_eq!(i.others, 2);
        let i = install_of(&cmd("uv pip install -e .")).unwrap();
        assert_eq!(i.tool, Tool::Pip { uv: true });
        assert!(i.pkgs.is_empty(), "`uv` and `pip` are not packages");
        assert_eq!(install_of(&cmd("python3 -m pip install x")).unwrap().pkgs, [4]);
        assert_eq!(install_of(&cmd("uv sync --frozen")).unwrap().tool, Tool::Lock);
        assert_eq!(install_of(&cmd("poetry install --no-root")).unwrap().tool, Tool::Lock);
        assert_eq!(install_of(&cmd("pipx install poetry")).unwrap().tool, Tool::Add);
        let i = install_of(&cmd("apt-get -y install -o Dpkg::Options::=x gcc curl")).unwrap();
        assert_eq!((i.tool, i.pkgs), (Tool::Apt, vec![5, 6]));
        assert!(install_of(&cmd("apt-get update")).is_none());
        assert!(install_of(&cmd("pipx run x")).is_none());
    }
}
