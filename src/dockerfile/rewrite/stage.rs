//! The build moved into a builder stage: the runtime stage keeps the app and its runtime
//! packages and copies the venv the builder made, so the toolchain does not ship.

use super::context::abs_at;
use super::install::{Tool, base_name, commands_run, install_of, req_name, skip_wrappers};
use super::splice::{cmds, line_start};
use crate::dockerfile::shell::Cmd;
use crate::dockerfile::shell::word_removal;
use crate::dockerfile::{Step, parse};
use crate::model::analysis::Finding;

pub(super) fn is_toolchain_word(w: &str, packages: &[String]) -> bool {
    packages.iter().any(|p| p == w) || w == "build-essential"
}

/// Where the builder installs, and so what the runtime stage copies from it.
#[derive(Debug, Clone, PartialEq)]
enum Env {
    /// A venv the builder makes at /opt/venv after the installer itself is installed (pip,
    /// `uv pip install`, poetry into the active environment); the runtime stage puts it first
    /// on PATH. `poetry`: poetry finds it through VIRTUAL_ENV, in both stages.
    Made { uv_pip: bool, poetry: bool },
    /// The project's own environment, at the same path in both stages (`uv sync`: `.venv` in
    /// the WORKDIR or UV_PROJECT_ENVIRONMENT; poetry with in-project venvs; a venv the
    /// Dockerfile makes itself for `uv pip install`).
    Project(String),
}

const VENV: &str = "/opt/venv";

/// Packages that install an installer: a step installing only these is the installer's, not
/// the project's.
fn is_installer_name(name: &str) -> bool {
    matches!(name, "uv" | "poetry" | "pdm" | "pipx" | "virtualenv") || name.starts_with("poetry-plugin-")
}

/// Commands an installer's package provides.
fn installer_commands(name: &str) -> &'static [&'static str] {
    match name {
        "uv" => &["uv", "uvx"],
        "poetry" => &["poetry"],
        "pdm" => &["pdm"],
        "pipx" => &["pipx"],
        "virtualenv" => &["virtualenv"],
        _ => &[],
    }
}

/// The installers a step installs, when installing them is all its Python installs do.
fn installs_installer(s: &Step) -> Vec<String> {
    let mut names = Vec::new();
    for c in cmds(s) {
        let Some(i) = install_of(c).filter(|i| matches!(i.tool, Tool::Pip { .. } | Tool::Add)) else { continue };
        if !i.reqfiles.is_empty() || i.others > 0 || i.pkgs.is_empty() {
            return vec![];
        }
        for &k in &i.pkgs {
            let n = req_name(c.words[k].text());
            if !is_installer_name(&n) {
                return vec![];
            }
            names.push(n);
        }
    }
    names
}

/// The ARG or ENV value `name` has after the last of `steps` (the parse's own reading; none
/// when it names another variable: slim does not know where that points).
fn env_value(steps: &[Step], name: &str) -> Option<String> {
    steps.last()?.vars.get(name).filter(|v| !v.contains('$') && !v.is_empty()).cloned()
}

fn truthy(v: &str) -> bool {
    matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on")
}

/// Whether every command step `si` runs is one of `names`.
fn only_runs(p: &crate::dockerfile::Parsed, si: usize, names: &[&str]) -> bool {
    let run = commands_run(p, &[si]);
    !run.is_empty() && run.iter().all(|(c, _)| names.contains(&c.as_str()))
}

/// Where the project's installs go: the environment the builder fills and the runtime copies.
fn env_of(steps: &[Step], project: &[usize]) -> Env {
    let insts: Vec<(usize, &Cmd, Tool)> = project.iter().flat_map(|&k| cmds(&steps[k]).iter().filter_map(move |c| install_of(c).map(|i| (k, c, i.tool)))).collect();
    let head = |c: &Cmd| base_name(&c.words[skip_wrappers(c)]).to_string();
    let uv_project = insts.iter().find(|(_, c, t)| matches!(t, Tool::Lock | Tool::Add) && head(c) == "uv");
    if let Some(&(k, _, _)) = uv_project {
        let env = env_value(steps, "UV_PROJECT_ENVIRONMENT").unwrap_or_else(|| ".venv".into());
        return Env::Project(abs_at(&steps[k].workdir, &env));
    }
    let poetry = insts.iter().find(|(_, c, t)| matches!(t, Tool::Lock | Tool::Add) && head(c) == "poetry");
    if let Some(&(k, _, _)) = poetry {
        let in_project = env_value(steps, "POETRY_VIRTUALENVS_IN_PROJECT").is_some_and(|v| truthy(&v))
            || steps[..=k].iter().flat_map(cmds).any(|c| {
                let w: Vec<&str> = c.words.iter().map(|w| w.text()).collect();
                w.windows(3).any(|x| x[0] == "config" && x[1] == "virtualenvs.in-project" && truthy(x[2]))
            });
        return if in_project { Env::Project(abs_at(&steps[k].workdir, ".venv")) } else { Env::Made { uv_pip: false, poetry: true } };
    }
    // `uv pip install` into a venv the Dockerfile makes or names.
    if let Some(v) = env_value(steps, "VIRTUAL_ENV") {
        return Env::Project(v);
    }
    let first = project.first().copied().unwrap_or(0);
    for s in &steps[..=first] {
        for c in cmds(s) {
            let i = skip_wrappers(c);
            if c.words.get(i).is_some_and(|w| base_name(w) == "uv") && c.words.get(i + 1).is_some_and(|w| w.is("venv")) {
                let w: Vec<&str> = c.words[i + 2..].iter().map(|w| w.text()).collect();
                let takes_value = |k: usize| k > 0 && matches!(w[k - 1], "-p" | "--python" | "--prompt" | "--index-url" | "--seed-python");
                let dir = (0..w.len()).find(|&k| !w[k].starts_with('-') && !takes_value(k)).map_or(".venv", |k| w[k]);
                return Env::Project(abs_at(&s.workdir, dir));
            }
        }
    }
    let uv_pip = insts.iter().any(|(_, _, t)| *t == Tool::Pip { uv: true });
    Env::Made { uv_pip, poetry: false }
}

/// Move the build into a builder stage: it keeps the final stage's steps up to the last
/// install, installing into an environment the runtime stage copies (a venv it makes, or the
/// project's own for uv and in-project poetry); the runtime stage keeps the rest and copies the
/// environment. Runtime apt packages stay; toolchain packages do not; an installer (uv,
/// poetry) stays only when a later step, CMD or ENTRYPOINT runs it.
/// Returns the Dockerfile with its build moved into a builder stage; the indices (into
/// `text`'s final steps) of the steps left behind in the builder whose files the runtime stage
/// does not copy; the indices of the install steps whose environment it copies (and nothing
/// else of theirs); how many steps `text`'s final stage has (for mapping indices back); and
/// the environment copied.
pub fn to_multi_stage(text: &str, toolchain: &[String], f: &Finding) -> Result<Staged, String> {
    let parsed = parse("Dockerfile", text)?;
    let p = parsed.last();
    let fin = parsed.final_steps();
    let steps = &parsed.steps[fin.clone()];
    let installer_of: Vec<Vec<String>> = steps.iter().map(installs_installer).collect();
    let is_py = |k: usize| installer_of[k].is_empty() && cmds(&steps[k]).iter().any(|c| install_of(c).is_some_and(|i| matches!(i.tool, Tool::Pip { .. } | Tool::Add | Tool::Lock)));
    let project: Vec<usize> = (0..steps.len()).filter(|&k| is_py(k)).collect();
    let (Some(&first), Some(&last)) = (project.first(), project.last()) else {
        return Err("no pip, uv or poetry install to move into a builder stage".into());
    };
    if project.iter().any(|&k| cmds(&steps[k]).iter().any(|c| install_of(c).is_some_and(|i| i.tool == Tool::Lock && base_name(&c.words[skip_wrappers(c)]) == "pdm"))) {
        return Err("the packages are installed by pdm: a builder stage for it is not written yet; drop the toolchain by hand after checking what needs it".into());
    }
    let env = env_of(steps, &project);
    // Commands run after the build: by the runtime stage's own steps, CMD and ENTRYPOINT.
    let later: Vec<usize> = (fin.start + last + 1..fin.end).collect();
    let run_later: Vec<String> = commands_run(&parsed, &later).into_iter().map(|(c, _)| c).collect();
    let keep_installer = |k: usize| installer_of[k].iter().any(|n| installer_commands(n).iter().any(|c| run_later.iter().any(|r| r == c)));
    // A step's text, with the `# slim:` notes written above it.
    let body = |s: &Step| {
        let mut start = line_start(text, s.span.start);
        while start > 0 {
            let prev = line_start(text, start - 1);
            if text[prev..start].starts_with("# slim:") {
                start = prev;
            } else {
                break;
            }
        }
        &text[start..s.span.end]
    };
    let head_end = line_start(text, p.from.start);
    let from_line_end = text[p.from.end..].find('\n').map_or(text.len(), |i| p.from.end + i);
    let from_line = &text[head_end..from_line_end];
    let env_dir = match &env {
        Env::Made { .. } => VENV.to_string(),
        Env::Project(d) => d.clone(),
    };
    let mut out = String::new();
    out.push_str(&text[..head_end]);
    out.push_str(&format!("# slim: {} {}: build in a stage of its own, ship only the environment {env_dir}\n", f.id, f.rule));
    out.push_str(&format!("FROM {} AS slim-builder\n", p.base));
    for (k, s) in steps[..=last].iter().enumerate() {
        if k == first {
            match env {
                Env::Made { uv_pip, poetry } => {
                    out.push_str(&format!("RUN python3 -m venv --without-pip {VENV}\n"));
                    if poetry {
                        // poetry installs into the active venv (it is installed itself already).
                        out.push_str(&format!("ENV VIRTUAL_ENV={VENV} PATH={VENV}/bin:$PATH\n"));
                    } else if uv_pip {
                        // `uv pip install` finds the venv through VIRTUAL_ENV; `--system` is taken
                        // out below, since uv never installs into a venv it finds on PATH then.
                        out.push_str(&format!("ENV VIRTUAL_ENV={VENV} PATH={VENV}/bin:$PATH PIP_PYTHON={VENV}/bin/python UV_SYSTEM_PYTHON=0\n"));
                    } else {
                        out.push_str(&format!("ENV PATH={VENV}/bin:$PATH PIP_PYTHON={VENV}/bin/python\n"));
                    }
                }
                Env::Project(_) => {}
            }
        }
        let mut b = body(s).to_string();
        if matches!(env, Env::Made { uv_pip: true, .. }) && is_py(k) {
            // `uv pip install --system` goes into the builder's venv: the flag goes.
            let at = s.span.end - b.len();
            let flags: Vec<_> =
                cmds(s).iter().filter(|c| install_of(c).is_some_and(|i| i.tool == Tool::Pip { uv: true })).flat_map(|c| c.words.iter().filter(|w| w.is("--system"))).collect();
            for w in flags.iter().rev() {
                let r = word_removal(text, &w.span);
                b.replace_range(r.start - at..r.end - at, "");
            }
        }
        let b = b.replace("python3 -m pip install", "pip install").replace("python -m pip install", "pip install");
        out.push_str(&b);
        out.push('\n');
    }
    out.push('\n');
    // The runtime stage.
    out.push_str(from_line);
    out.push('\n');
    let pip_text: String = project.iter().map(|&k| &text[steps[k].span.clone()]).collect::<Vec<_>>().join(" ");
    let copied_by_pip = |s: &Step| {
        let c = s.copy.as_ref().unwrap();
        c.sources.iter().all(|src| {
            let name = src.rsplit('/').find(|x| !x.is_empty()).unwrap_or(src);
            name.starts_with("requirements") || name.starts_with("constraints") || matches!(name, "pyproject.toml" | "setup.py" | "setup.cfg" | "poetry.lock" | "uv.lock")
        }) || pip_text.contains(c.dest.trim_end_matches('/'))
    };
    let kept_installer = (0..=last).any(keep_installer);
    let dropped_commands: Vec<&str> = (0..=last).filter(|&k| !keep_installer(k)).flat_map(|k| installer_of[k].iter().flat_map(|n| installer_commands(n).iter().copied())).collect();
    let mut gone = Vec::new();
    for (k, s) in steps[..=last].iter().enumerate() {
        match s.keyword.as_str() {
            "WORKDIR" | "ENV" | "ARG" | "USER" | "LABEL" | "EXPOSE" | "SHELL" => {
                out.push_str(body(s));
                out.push('\n');
            }
            // The project's files stay where its installer runs again (`uv run`, `poetry run`).
            "COPY" | "ADD" if kept_installer || !copied_by_pip(s) => {
                out.push_str(body(s));
                out.push('\n');
            }
            "COPY" | "ADD" => gone.push(k),
            "RUN" if !installer_of[k].is_empty() => {
                if keep_installer(k) {
                    out.push_str(body(s));
                    out.push('\n');
                } else {
                    gone.push(k);
                }
            }
            // A step that only runs an installer left behind (`poetry config ...`, `uv venv`)
            // is the build's: it stays in the builder.
            "RUN" if !is_py(k) && !kept_installer && only_runs(&parsed, fin.start + k, &dropped_commands) => gone.push(k),
            "RUN" if !is_py(k) => {
                // Keep runtime apt packages; leave the toolchain behind.
                let Some(Ok(cs)) = s.script.as_ref().map(|x| &x.cmds) else {
                    out.push_str(body(s));
                    out.push('\n');
                    continue;
                };
                let mut keep = Vec::new();
                let mut any_apt = false;
                let mut runtime_pkgs = false;
                for c in cs {
                    let seg = &text[c.span.clone()];
                    match install_of(c).filter(|i| i.tool == Tool::Apt) {
                        Some(inst) => {
                            any_apt = true;
                            let tools: Vec<usize> = inst.pkgs.iter().copied().filter(|&k| is_toolchain_word(c.words[k].text(), toolchain)).collect();
                            if tools.len() < inst.pkgs.len() {
                                runtime_pkgs = true;
                                let mut t = seg.to_string();
                                for &k in tools.iter().rev() {
                                    let r = word_removal(text, &c.words[k].span);
                                    t.replace_range(r.start - c.span.start..r.end - c.span.start, "");
                                }
                                keep.push(t);
                            }
                        }
                        None => keep.push(seg.to_string()),
                    }
                }
                if any_apt && !runtime_pkgs {
                    gone.push(k);
                    continue;
                }
                out.push_str(&format!("RUN {}\n", keep.join(" \\\n && ")));
            }
            _ => {}
        }
    }
    out.push_str(&format!("COPY --from=slim-builder {env_dir} {env_dir}\n"));
    match env {
        Env::Made { poetry: true, .. } => out.push_str(&format!("ENV VIRTUAL_ENV={VENV} PATH={VENV}/bin:$PATH\n")),
        Env::Made { .. } => out.push_str(&format!("ENV PATH={VENV}/bin:$PATH\n")),
        Env::Project(_) => {}
    }
    if run_later.iter().any(|c| c == "uv") {
        // `uv run` syncs the project environment first, and a path dependency it compiled is
        // built again there: without the toolchain, the app would not start.
        out.push_str("# slim: the environment comes whole from the builder: uv run must not sync it again (that would compile without the toolchain)\nENV UV_NO_SYNC=1\n");
    }
    for s in &steps[last + 1..] {
        out.push_str(body(s));
        out.push('\n');
    }
    // What followed the last step (trailing comments) stays.
    if let Some(s) = steps.last() {
        let rest = text[s.span.end..].trim_start_matches('\n');
        out.push_str(rest);
    }
    Ok(Staged { dockerfile: out, gone, moved: project, steps: steps.len(), env: env_dir })
}

/// A Dockerfile split into a builder and a runtime stage (see `to_multi_stage`).
#[derive(Debug, Clone)]
pub struct Staged {
    pub dockerfile: String,
    /// Final-stage steps left in the builder whose files the runtime stage does not copy.
    pub gone: Vec<usize>,
    /// Final-stage install steps of which the runtime stage copies only the environment.
    pub moved: Vec<usize>,
    /// How many steps the input's final stage has.
    pub steps: usize,
    /// The environment the runtime stage copies.
    pub env: String,
}
