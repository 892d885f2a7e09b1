//! The build moved into a builder stage: the runtime stage keeps the app and its runtime
//! packages and copies the venv the builder made, so the toolchain does not ship.

use super::install::{Tool, install_of};
use super::splice::{cmds, line_start};
use crate::dockerfile::shell::word_removal;
use crate::dockerfile::{Step, parse};
use crate::model::analysis::Finding;

pub(super) fn is_toolchain_word(w: &str, packages: &[String]) -> bool {
    packages.iter().any(|p| p == w) || w == "build-essential"
}

/// Move the build into a builder stage: it keeps the final stage's steps up to the last
/// install, installing into a venv; the runtime stage keeps the rest and copies the venv.
/// Runtime apt packages stay; toolchain packages do not.
/// The Dockerfile with its build moved into a builder stage, the indices (into `text`'s steps)
/// of the RUN steps left behind in the builder whose files the runtime stage does not copy, and
/// how many steps `text`'s final stage has (for mapping those indices back).
pub fn to_multi_stage(text: &str, toolchain: &[String], f: &Finding) -> Result<(String, Vec<usize>, usize), String> {
    let parsed = parse("Dockerfile", text)?;
    let p = parsed.last();
    let steps = &parsed.steps[parsed.final_steps()];
    let is_py = |s: &Step| cmds(s).iter().any(|c| install_of(c).is_some_and(|i| matches!(i.tool, Tool::Pip { .. } | Tool::Add | Tool::Lock)));
    let last = steps.iter().rposition(is_py).ok_or("no pip install to move into a builder stage")?;
    let first = steps.iter().position(is_py).unwrap();
    if steps.iter().any(|s| cmds(s).iter().any(|c| install_of(c).is_some_and(|i| matches!(i.tool, Tool::Lock | Tool::Add)))) {
        return Err("the packages are installed by uv or poetry, which manage their own environment: a builder stage for them is not written yet; drop the toolchain by hand after checking what needs it".into());
    }
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
    let mut out = String::new();
    out.push_str(&text[..head_end]);
    out.push_str(&format!("# slim: {} {}: build in a stage of its own, ship only the venv\n", f.id, f.rule));
    out.push_str(&format!("FROM {} AS slim-builder\n", p.base));
    for (k, s) in steps[..=last].iter().enumerate() {
        if k == first {
            out.push_str("RUN python3 -m venv --without-pip /opt/venv\nENV PATH=/opt/venv/bin:$PATH PIP_PYTHON=/opt/venv/bin/python\n");
        }
        let b = body(s).replace("python3 -m pip install", "pip install").replace("python -m pip install", "pip install");
        out.push_str(&b);
        out.push('\n');
    }
    out.push('\n');
    // The runtime stage.
    out.push_str(from_line);
    out.push('\n');
    let pip_text: String = steps[..=last].iter().filter(|x| is_py(x)).map(|x| &text[x.span.clone()]).collect::<Vec<_>>().join(" ");
    let copied_by_pip = |s: &Step| {
        let c = s.copy.as_ref().unwrap();
        c.sources.iter().all(|src| {
            let name = src.rsplit('/').find(|x| !x.is_empty()).unwrap_or(src);
            name.starts_with("requirements") || name.starts_with("constraints") || matches!(name, "pyproject.toml" | "setup.py" | "setup.cfg" | "poetry.lock" | "uv.lock")
        }) || pip_text.contains(c.dest.trim_end_matches('/'))
    };
    let mut gone = Vec::new();
    for (k, s) in steps[..=last].iter().enumerate() {
        match s.keyword.as_str() {
            "WORKDIR" | "ENV" | "ARG" | "USER" | "LABEL" | "EXPOSE" | "SHELL" => {
                out.push_str(body(s));
                out.push('\n');
            }
            "COPY" | "ADD" if !copied_by_pip(s) => {
                out.push_str(body(s));
                out.push('\n');
            }
            "RUN" if !is_py(s) => {
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
    out.push_str("COPY --from=slim-builder /opt/venv /opt/venv\nENV PATH=/opt/venv/bin:$PATH\n");
    for s in &steps[last + 1..] {
        out.push_str(body(s));
        out.push('\n');
    }
    // What followed the last step (trailing comments) stays.
    if let Some(s) = steps.last() {
        let rest = text[s.span.end..].trim_start_matches('\n');
        out.push_str(rest);
    }
    Ok((out, gone, steps.len()))
}
