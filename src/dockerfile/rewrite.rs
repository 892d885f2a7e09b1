//! Apply findings' actions to a parsed Dockerfile. Simple fixes are splices at byte spans; a
//! build toolchain that compiled something is moved into a builder stage, which rewrites the
//! final stage from its instructions' own text. Every change is tied to its finding.

use super::{Parsed, Step, parse};
use crate::analyze::Analyzed;
use crate::report::model::{Action, Finding};
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

/// What happened to one finding.
#[derive(Debug, Clone)]
pub struct Change {
    /// Index into `analysis.findings`.
    pub finding: usize,
    pub applied: bool,
    /// What was changed, or why not.
    pub what: String,
    /// Dockerfile lines touched (of the original).
    pub lines: Vec<usize>,
}

#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub dockerfile: String,
    /// The new .dockerignore, when patterns were added.
    pub dockerignore: Option<String>,
    /// Rewritten requirements files: (file name to write beside the output, content).
    pub requirements: Vec<(String, String)>,
    pub changes: Vec<Change>,
}

struct Edit {
    span: Range<usize>,
    text: String,
    finding: usize,
}

/// Ranges of the `&&`/`;`/`||`-separated commands in a shell text (outside quotes), trimmed.
pub fn segments(s: &str) -> Vec<Range<usize>> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let (mut start, mut i, mut quote) = (0, 0, 0u8);
    while i < b.len() {
        let c = b[i];
        if quote != 0 {
            if c == quote {
                quote = 0;
            }
        } else if c == b'\'' || c == b'"' {
            quote = c;
        } else if (c == b'&' || c == b'|') && b.get(i + 1) == Some(&c) || c == b';' {
            out.push(start..i);
            i += if c == b';' { 1 } else { 2 };
            start = i;
            continue;
        }
        i += 1;
    }
    out.push(start..b.len());
    out.into_iter()
        .map(|r| {
            let t = &s[r.clone()];
            let lead = t.len() - t.trim_start_matches(|c: char| c.is_whitespace() || c == '\\').len();
            let trail = t.len() - t.trim_end_matches(|c: char| c.is_whitespace() || c == '\\').len();
            r.start + lead..(r.end - trail).max(r.start + lead)
        })
        .filter(|r| !r.is_empty())
        .collect()
}

/// Offset just past `install` in a `pip install` / `python -m pip install` command.
fn pip_install_end(cmd: &str) -> Option<usize> {
    let words: Vec<(usize, &str)> = word_spans(cmd);
    for (k, (_, w)) in words.iter().enumerate() {
        let pip = matches!(*w, "pip" | "pip3") || w.ends_with("/pip") || w.ends_with("/pip3");
        if pip && words.get(k + 1).map(|x| x.1) == Some("install") {
            let (at, w) = words[k + 1];
            return Some(at + w.len());
        }
    }
    None
}

fn apt_install_end(cmd: &str) -> Option<usize> {
    let words = word_spans(cmd);
    for (k, (_, w)) in words.iter().enumerate() {
        if matches!(*w, "apt-get" | "apt") {
            if let Some(&(at, "install")) = words.get(k + 1).map(|x| (x.0, x.1)).as_ref() {
                return Some(at + "install".len());
            }
            // apt-get -y install
            if let Some(pos) = words[k + 1..].iter().take(3).position(|x| x.1 == "install") {
                let (at, _) = words[k + 1 + pos];
                return Some(at + "install".len());
            }
        }
    }
    None
}

/// Insert ` FLAG` after every install command (found by `end_of`) of a shell-form RUN that
/// lacks it. True when something was inserted.
fn add_flag(text: &str, s: &Step, end_of: fn(&str) -> Option<usize>, flag: &str, finding: usize, edits: &mut Vec<Edit>) -> bool {
    let Some(sh) = s.shell.clone() else { return false };
    let t = &text[sh.clone()];
    let mut added = false;
    for r in segments(t) {
        let seg = &t[r.clone()];
        if let Some(end) = end_of(seg) {
            if !seg.contains(flag) {
                let at = sh.start + r.start + end;
                edits.push(Edit { span: at..at, text: format!(" {flag}"), finding });
                added = true;
            }
        }
    }
    added
}

fn word_spans(s: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in s.char_indices() {
        if c.is_whitespace() || c == '\\' {
            if let Some(st) = start.take() {
                out.push((st, &s[st..i]));
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(st) = start {
        out.push((st, &s[st..]));
    }
    out
}

/// Requirement name of a pip argument (`torch==2.5.1`, `opencv-python[extra]>=4`).
fn req_name(word: &str) -> String {
    let n: String = word.chars().take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')).collect();
    crate::attribute::python::normalize_name(&n)
}

/// Every argument naming requirement `name` (normalised) in the `pip install` commands of the
/// shell-form RUN steps: (the step's line, the argument's offset in `text`, the argument).
fn pip_args_naming<'t>(p: &Parsed, text: &'t str, name: &str) -> Vec<(usize, usize, &'t str)> {
    let mut out = Vec::new();
    for s in &p.steps {
        let Some(sh) = s.shell.clone() else { continue };
        let t = &text[sh.clone()];
        for r in segments(t) {
            if pip_install_end(&t[r.clone()]).is_none() {
                continue;
            }
            for (at, w) in word_spans(&t[r.clone()]) {
                if !w.starts_with('-') && req_name(w) == name {
                    out.push((s.line, sh.start + r.start + at, w));
                }
            }
        }
    }
    out
}

fn line_start(text: &str, off: usize) -> usize {
    text[..off].rfind('\n').map_or(0, |i| i + 1)
}

/// Rewrite `p` for the findings of `a`. `context` is the build context (for requirements
/// files and an existing .dockerignore).
pub fn rewrite(p: &Parsed, a: &Analyzed, context: &Path) -> Result<Outcome, String> {
    let findings = &a.analysis.findings;
    let mut edits: Vec<Edit> = Vec::new();
    let mut changes: Vec<Change> = Vec::new();
    let mut ignore: Vec<(String, String)> = Vec::new();
    let mut requirements = Vec::new();
    let mut multi_stage: Option<(usize, Vec<String>)> = None;
    let text = &p.text;

    // RUN steps of the final stage that this finding's layers made (all of them if none).
    let runs_for = |f: &Finding, pred: &dyn Fn(&str) -> bool| -> Vec<&Step> {
        let mine: Vec<&Step> = f.evidence.layers.iter().filter_map(|l| p.step_of_layer(l.index)).map(|i| &p.steps[i]).filter(|s| p.shell_text(s).is_some_and(|t| pred(t))).collect();
        if !mine.is_empty() {
            return mine;
        }
        p.steps.iter().filter(|s| p.shell_text(s).is_some_and(|t| pred(t))).collect()
    };
    let has_pip = |t: &str| segments(t).iter().any(|r| pip_install_end(&t[r.clone()]).is_some());
    let has_apt = |t: &str| segments(t).iter().any(|r| apt_install_end(&t[r.clone()]).is_some());

    for (fi, f) in findings.iter().enumerate() {
        let mut lines = Vec::new();
        let mut what = Vec::new();
        let mut applied = false;
        let mut not = String::new();
        match &f.fix.action {
            Action::PipNoCacheDir => {
                for s in runs_for(f, &has_pip) {
                    if add_flag(text, s, pip_install_end, "--no-cache-dir", fi, &mut edits) {
                        applied = true;
                        lines.push(s.line);
                    }
                }
                what.push("pip install --no-cache-dir".to_string());
            }
            Action::AptCleanup => {
                for s in runs_for(f, &has_apt) {
                    add_flag(text, s, apt_install_end, "--no-install-recommends", fi, &mut edits);
                    let sh = s.shell.clone().unwrap();
                    let t = &text[sh.clone()];
                    if !t.contains("/var/lib/apt/lists") || !t.contains("apt-get clean") {
                        let end = sh.start + t.trim_end().len();
                        edits.push(Edit { span: end..end, text: " \\\n && apt-get clean && rm -rf /var/lib/apt/lists/*".into(), finding: fi });
                    }
                    applied = true;
                    lines.push(s.line);
                }
                what.push("apt-get install --no-install-recommends, then apt-get clean and rm -rf /var/lib/apt/lists/* in the same RUN".into());
            }
            Action::NoBytecode => {
                if !text.contains("PYTHONDONTWRITEBYTECODE") {
                    let at = text[p.final_from.end..].find('\n').map_or(text.len(), |i| p.final_from.end + i + 1);
                    edits.push(Edit { span: at..at, text: format!("# slim: {} {}\nENV PYTHONDONTWRITEBYTECODE=1\n", f.id, f.rule), finding: fi });
                    applied = true;
                    lines.push(super::line_of(text, p.final_from.start));
                    what.push("ENV PYTHONDONTWRITEBYTECODE=1".into());
                } else {
                    not = "PYTHONDONTWRITEBYTECODE is already set".into();
                }
            }
            Action::PipIndexUrl { packages, index_url } => {
                let pins: Vec<String> = packages
                    .iter()
                    .map(|n| match a.attribution.dists.iter().find(|d| &d.name == n) {
                        Some(d) => format!("{n}=={}", d.version.split('+').next().unwrap_or(&d.version)),
                        None => n.clone(),
                    })
                    .collect();
                if let Some(s) = p.steps.iter().find(|s| p.shell_text(s).is_some_and(|t| has_pip(t))) {
                    let sh = s.shell.clone().unwrap();
                    let t = &text[sh.clone()];
                    let r = segments(t).into_iter().find(|r| pip_install_end(&t[r.clone()]).is_some()).unwrap();
                    let pip = t[r.clone()].split_whitespace().take_while(|w| *w != "install").collect::<Vec<_>>().join(" ");
                    edits.push(Edit { span: sh.start + r.start..sh.start + r.start, text: format!("{pip} install --no-cache-dir {} --index-url {index_url} \\\n && ", pins.join(" ")), finding: fi });
                    applied = true;
                    lines.push(s.line);
                    what.push(format!("install {} from {index_url} first", pins.join(" ")));
                } else {
                    not = "no RUN pip install in the final stage".into();
                }
            }
            Action::PackageSwap { from, to } => {
                let from_n = req_name(from);
                for (line, start, w) in pip_args_naming(p, text, &from_n) {
                    let name_len = w.chars().take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')).count();
                    edits.push(Edit { span: start..start + name_len, text: to.clone(), finding: fi });
                    applied = true;
                    lines.push(line);
                }
                // Requirements files the final stage copies in.
                for s in p.steps.iter().filter(|s| s.copy.as_ref().is_some_and(|c| !c.from_stage)) {
                    let c = s.copy.as_ref().unwrap();
                    for src in &c.sources {
                        let path = context.join(src);
                        let Ok(body) = std::fs::read_to_string(&path) else { continue };
                        if !src.ends_with(".txt") {
                            continue;
                        }
                        let mut hit = false;
                        let new: Vec<String> = body
                            .lines()
                            .map(|l| {
                                if !l.trim_start().starts_with('#') && req_name(l.trim()) == from_n && !l.trim().is_empty() {
                                    hit = true;
                                    let n = l.trim().chars().take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')).count();
                                    format!("{}{}", to, &l.trim()[n..])
                                } else {
                                    l.to_string()
                                }
                            })
                            .collect();
                        if hit {
                            let file = Path::new(src).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                            let (stem, ext) = file.rsplit_once('.').unwrap_or((&file, "txt"));
                            let out = format!("{stem}.slim.{ext}");
                            requirements.push((out.clone(), new.join("\n") + "\n"));
                            what.push(format!("{src}: {from} → {to} (rewritten as {out} beside the output: copy it over {src})"));
                            applied = true;
                            lines.push(s.line);
                        }
                    }
                }
                if applied {
                    what.push(format!("{from} → {to}"));
                } else {
                    not = format!("{from} is not named in a RUN pip install or a copied requirements file");
                }
            }
            Action::MergeRuns { create_layer, delete_layer } => {
                let (Some(ci), Some(di)) = (p.step_of_layer(*create_layer), p.step_of_layer(*delete_layer)) else {
                    changes.push(Change { finding: fi, applied: false, what: "the layers are not steps of this Dockerfile's final stage".into(), lines: vec![] });
                    continue;
                };
                let (cs, ds) = (&p.steps[ci], &p.steps[di]);
                let Some(dsh) = ds.shell.clone() else {
                    changes.push(Change { finding: fi, applied: false, what: "the deleting step is not a shell-form RUN".into(), lines: vec![ds.line] });
                    continue;
                };
                let dt = &text[dsh.clone()];
                let segs = segments(dt);
                let rm: Vec<Range<usize>> = segs.iter().filter(|r| dt[(*r).clone()].trim_start().starts_with("rm ")).cloned().collect();
                if rm.is_empty() {
                    changes.push(Change { finding: fi, applied: false, what: "no rm command in the deleting step".into(), lines: vec![ds.line] });
                    continue;
                }
                let rm_text: Vec<&str> = rm.iter().map(|r| &dt[r.clone()]).collect();
                // The deleting step loses its rm commands (the whole step if that is all it does).
                if rm.len() == segs.len() {
                    let start = line_start(text, ds.span.start);
                    let end = text[ds.span.end..].find('\n').map_or(text.len(), |i| ds.span.end + i + 1);
                    edits.push(Edit { span: start..end, text: String::new(), finding: fi });
                } else {
                    for r in &rm {
                        let k = segs.iter().position(|s| s == r).unwrap();
                        let span = if k + 1 < segs.len() { r.start..segs[k + 1].start } else { segs[k - 1].end..r.end };
                        edits.push(Edit { span: dsh.start + span.start..dsh.start + span.end, text: String::new(), finding: fi });
                    }
                }
                match (&cs.keyword[..], cs.shell.clone(), cs.copy.clone()) {
                    ("RUN", Some(csh), _) => {
                        let end = csh.start + text[csh.clone()].trim_end().len();
                        edits.push(Edit { span: end..end, text: format!(" \\\n && {}", rm_text.join(" && ")), finding: fi });
                        what.push(format!("moved `{}` into the RUN that creates the files", rm_text.join(" && ")));
                    }
                    (_, _, Some(c)) if !c.from_stage => {
                        // The files came from the build context: keep them out instead.
                        for r in &rm_text {
                            for w in r.split_whitespace().skip(1).filter(|w| !w.starts_with('-')) {
                                if let Some(rel) = context_path(&c, w) {
                                    ignore.push((rel, format!("{} {}", f.id, f.rule)));
                                }
                            }
                        }
                        what.push(format!("keep what `{}` deletes out of the build context (.dockerignore) and drop the rm", rm_text.join(" && ")));
                    }
                    _ => {
                        changes.push(Change { finding: fi, applied: false, what: "the creating step is neither a RUN nor a COPY from the context".into(), lines: vec![cs.line, ds.line] });
                        continue;
                    }
                }
                applied = true;
                lines.extend([cs.line, ds.line]);
            }
            Action::CopyChown { layer } => {
                let Some(si) = p.step_of_layer(*layer) else {
                    changes.push(Change { finding: fi, applied: false, what: "the layer is not a step of this Dockerfile's final stage".into(), lines: vec![] });
                    continue;
                };
                let s = &p.steps[si];
                let Some(sh) = s.shell.clone() else {
                    changes.push(Change { finding: fi, applied: false, what: "not a shell-form RUN".into(), lines: vec![s.line] });
                    continue;
                };
                let t = &text[sh.clone()];
                let segs = segments(t);
                let mut moved = Vec::new();
                let mut gone = Vec::new();
                for (k, r) in segs.iter().enumerate() {
                    let w: Vec<&str> = t[r.clone()].split_whitespace().collect();
                    let (cmd, flag) = match w.as_slice() {
                        [c, "-R", arg, path] if *c == "chown" || *c == "chmod" => ((*c, *arg), *path),
                        _ => continue,
                    };
                    let octal = cmd.1.chars().all(|c| c.is_ascii_digit()) && cmd.1.len() <= 4;
                    if cmd.0 == "chmod" && !octal {
                        continue;
                    }
                    let target = flag.trim_end_matches('/');
                    let copies: Vec<&Step> = p.steps[..si].iter().filter(|c| c.copy.as_ref().is_some_and(|c| dest_abs(p, c).trim_end_matches('/') == target || dest_abs(p, c).starts_with(&format!("{target}/")))).collect();
                    if copies.is_empty() {
                        continue;
                    }
                    for c in copies {
                        let ca = c.copy.as_ref().unwrap();
                        let opt = if cmd.0 == "chown" { "--chown" } else { "--chmod" };
                        if !ca.flags.iter().any(|f| f.starts_with(opt)) {
                            edits.push(Edit { span: ca.flag_at..ca.flag_at, text: format!(" {opt}={}", cmd.1), finding: fi });
                            lines.push(c.line);
                        }
                    }
                    moved.push(t[r.clone()].to_string());
                    gone.push(k);
                }
                if gone.is_empty() {
                    not = "no chown -R/chmod -R (octal mode) of a copied directory".into();
                } else {
                    if gone.len() == segs.len() {
                        let start = line_start(text, s.span.start);
                        let end = text[s.span.end..].find('\n').map_or(text.len(), |i| s.span.end + i + 1);
                        edits.push(Edit { span: start..end, text: String::new(), finding: fi });
                    } else {
                        for &k in &gone {
                            let r = &segs[k];
                            let span = if k + 1 < segs.len() { r.start..segs[k + 1].start } else { segs[k - 1].end..r.end };
                            edits.push(Edit { span: sh.start + span.start..sh.start + span.end, text: String::new(), finding: fi });
                        }
                    }
                    applied = true;
                    lines.push(s.line);
                    what.push(format!("`{}` done by COPY flags instead", moved.join(" && ")));
                }
            }
            Action::DropToolchain { packages, multi_stage: ms } => {
                if *ms {
                    multi_stage = Some((fi, packages.clone()));
                    continue;
                }
                let mut dropped = Vec::new();
                for s in p.steps.iter() {
                    let Some(sh) = s.shell.clone() else { continue };
                    let t = &text[sh.clone()];
                    let segs = segments(t);
                    let mut emptied = Vec::new();
                    for (k, r) in segs.iter().enumerate() {
                        let seg = &t[r.clone()];
                        let Some(end) = apt_install_end(seg) else { continue };
                        let words = word_spans(seg);
                        let pkgs: Vec<&(usize, &str)> = words.iter().filter(|(at, w)| *at >= end && !w.starts_with('-')).collect();
                        let tools: Vec<&&(usize, &str)> = pkgs.iter().filter(|(_, w)| is_toolchain_word(w, packages)).collect();
                        if tools.is_empty() {
                            continue;
                        }
                        lines.push(s.line);
                        dropped.extend(tools.iter().map(|(_, w)| w.to_string()));
                        if tools.len() == pkgs.len() {
                            emptied.push(k);
                        } else {
                            for (at, w) in tools {
                                let start = sh.start + r.start + at;
                                edits.push(Edit { span: start..start + w.len(), text: String::new(), finding: fi });
                            }
                        }
                    }
                    // An install left with no package goes; a RUN left with only `apt-get
                    // update` and cleanup goes too.
                    let rest: Vec<&str> = segs.iter().enumerate().filter(|(k, _)| !emptied.contains(k)).map(|(_, r)| t[r.clone()].trim()).collect();
                    let idle = rest.iter().all(|c| c.starts_with("apt-get update") || c.starts_with("apt-get clean") || c.starts_with("rm -rf /var/lib/apt/lists"));
                    if !emptied.is_empty() && idle {
                        let start = line_start(text, s.span.start);
                        let end = text[s.span.end..].find('\n').map_or(text.len(), |i| s.span.end + i + 1);
                        edits.push(Edit { span: start..end, text: String::new(), finding: fi });
                    } else {
                        for &k in &emptied {
                            let r = &segs[k];
                            let span = if k + 1 < segs.len() { r.start..segs[k + 1].start } else if k > 0 { segs[k - 1].end..r.end } else { r.clone() };
                            edits.push(Edit { span: sh.start + span.start..sh.start + span.end, text: String::new(), finding: fi });
                        }
                    }
                }
                if dropped.is_empty() {
                    not = "none of the toolchain packages is named in an apt-get install of the final stage".into();
                } else {
                    applied = true;
                    what.push(format!("dropped {} from apt-get install (nothing was compiled in the image)", dropped.join(", ")));
                }
            }
            Action::Dockerignore { patterns } => {
                for pat in patterns {
                    ignore.push((pat.clone(), format!("{} {}", f.id, f.rule)));
                }
                applied = true;
                what.push(format!(".dockerignore: {}", patterns.join(", ")));
            }
            Action::DropPackage { name } => {
                for (line, start, w) in pip_args_naming(p, text, &req_name(name)) {
                    if w != "install" {
                        edits.push(Edit { span: start..start + w.len(), text: String::new(), finding: fi });
                        applied = true;
                        lines.push(line);
                    }
                }
                if applied {
                    what.push(format!("removed {name} from pip install"));
                } else {
                    not = format!("{name} is not named in a RUN pip install");
                }
            }
            Action::AdviceOnly => {
                changes.push(Change { finding: fi, applied: false, what: "advice only".into(), lines: vec![] });
                continue;
            }
            Action::DropModel { .. } => {
                changes.push(Change { finding: fi, applied: false, what: "not applied: the rewrite does not remove baked models yet (the fix text says how)".into(), lines: vec![] });
                continue;
            }
        }
        lines.sort();
        lines.dedup();
        changes.push(Change { finding: fi, applied, what: if applied { what.join("; ") } else if not.is_empty() { not } else { "nothing in this Dockerfile to change".into() }, lines });
    }

    // Comments naming the findings above each changed step.
    let mut notes: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for e in &edits {
        if let Some(s) = p.steps.iter().find(|s| s.span.start <= e.span.start && e.span.start <= s.span.end) {
            let v = notes.entry(line_start(text, s.span.start)).or_default();
            if !v.contains(&e.finding) {
                v.push(e.finding);
            }
        }
    }
    // Notes go first so that, among insertions at one point, they land right above the step.
    let mut all: Vec<Edit> = Vec::new();
    for (at, fs) in notes {
        let mut ids: Vec<String> = fs.iter().map(|&i| format!("{} {}", findings[i].id, findings[i].rule)).collect();
        ids.dedup();
        // A step removed entirely gets no comment.
        if edits.iter().any(|e| e.span.start == at && e.text.is_empty() && e.span.end > at) {
            continue;
        }
        all.push(Edit { span: at..at, text: format!("# slim: {}\n", ids.join(", ")), finding: fs[0] });
    }
    all.extend(edits);
    let mut out = splice(text, all);

    if let Some((fi, packages)) = multi_stage {
        let f = &findings[fi];
        match to_multi_stage(&out, &packages, f) {
            Ok(ms) => {
                out = ms;
                changes.push(Change { finding: fi, applied: true, what: "the build moves to a builder stage that makes a venv; the runtime stage copies the venv and the app, without the toolchain".into(), lines: p.steps.iter().filter(|s| s.keyword == "RUN").map(|s| s.line).collect() });
            }
            Err(why) => changes.push(Change { finding: fi, applied: false, what: why, lines: vec![] }),
        }
    }
    changes.sort_by_key(|c| c.finding);

    let dockerignore = if ignore.is_empty() {
        None
    } else {
        let mut body = std::fs::read_to_string(context.join(".dockerignore")).unwrap_or_default();
        if !body.is_empty() && !body.ends_with('\n') {
            body.push('\n');
        }
        for (pat, why) in ignore {
            if !body.lines().any(|l| l.trim() == pat) {
                body.push_str(&format!("# slim: {why}\n{pat}\n"));
            }
        }
        Some(body)
    };
    Ok(Outcome { dockerfile: out, dockerignore, requirements, changes })
}

/// Absolute destination of a COPY (relative ones resolved against the WORKDIRs above).
fn dest_abs(p: &Parsed, c: &super::CopyArgs) -> String {
    if c.dest.starts_with('/') {
        return c.dest.clone();
    }
    let mut wd = "/".to_string();
    for s in &p.steps {
        if s.keyword == "WORKDIR" {
            let t = p.text[s.span.clone()].trim_start_matches("WORKDIR").trim().to_string();
            wd = if t.starts_with('/') { t } else { format!("{}/{t}", wd.trim_end_matches('/')) };
        }
        if s.copy.as_ref().is_some_and(|x| std::ptr::eq(x, c)) {
            break;
        }
    }
    format!("{}/{}", wd.trim_end_matches('/'), c.dest.trim_start_matches("./"))
}

/// The context path a COPY brought to image path `abs` (for a single-source directory COPY).
fn context_path(c: &super::CopyArgs, abs: &str) -> Option<String> {
    let [src] = c.sources.as_slice() else { return None };
    let dest = c.dest.trim_end_matches('/');
    let rest = abs.strip_prefix(dest)?.trim_start_matches('/');
    let src = src.trim_end_matches('/').trim_start_matches("./");
    Some(if src == "." || src.is_empty() { rest.to_string() } else { format!("{src}/{rest}") })
}

fn splice(text: &str, edits: Vec<Edit>) -> String {
    // The same edit asked for twice (two findings, one fix) is made once; anything inside a
    // range that is deleted goes with it.
    let mut uniq: Vec<Edit> = Vec::new();
    for e in edits {
        if !uniq.iter().any(|u| u.span == e.span && u.text == e.text) {
            uniq.push(e);
        }
    }
    let deletions: Vec<Range<usize>> = uniq.iter().filter(|e| !e.span.is_empty() && e.text.is_empty()).map(|e| e.span.clone()).collect();
    let mut edits: Vec<Edit> = uniq
        .into_iter()
        .filter(|e| !deletions.iter().any(|d| *d != e.span && d.start <= e.span.start && e.span.end <= d.end && (d.start < e.span.start || e.span.end < d.end)))
        .collect();
    // Later edits first; among insertions at one point, keep their order.
    edits.sort_by(|a, b| b.span.start.cmp(&a.span.start).then(b.span.end.cmp(&a.span.end)));
    let mut out = text.to_string();
    let mut floor = usize::MAX;
    for e in edits {
        if e.span.end > floor {
            continue; // overlaps an edit already made
        }
        out.replace_range(e.span.clone(), &e.text);
        floor = e.span.start;
    }
    out
}

fn is_toolchain_word(w: &str, packages: &[String]) -> bool {
    packages.iter().any(|p| p == w) || w == "build-essential"
}

/// Move the build into a builder stage: it keeps the final stage's steps up to the last
/// `pip install`, installing into a venv; the runtime stage keeps the rest and copies the
/// venv. Runtime apt packages stay; toolchain packages do not.
pub fn to_multi_stage(text: &str, toolchain: &[String], f: &Finding) -> Result<String, String> {
    let p = parse("Dockerfile", text)?;
    let is_pip = |s: &Step| p.shell_text(s).is_some_and(|t| segments(t).iter().any(|r| pip_install_end(&t[r.clone()]).is_some()));
    let last = p.steps.iter().rposition(is_pip).ok_or("no RUN pip install to move into a builder stage")?;
    let first = p.steps.iter().position(is_pip).unwrap();
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
    let head_end = line_start(text, p.final_from.start);
    let from_line_end = text[p.final_from.end..].find('\n').map_or(text.len(), |i| p.final_from.end + i);
    let from_line = &text[head_end..from_line_end];
    let mut out = String::new();
    out.push_str(&text[..head_end]);
    out.push_str(&format!("# slim: {} {}: build in a stage of its own, ship only the venv\n", f.id, f.rule));
    out.push_str(&format!("FROM {} AS slim-builder\n", p.base));
    for (k, s) in p.steps[..=last].iter().enumerate() {
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
    let copied_by_pip = |s: &Step| {
        let c = s.copy.as_ref().unwrap();
        let pip_text: String = p.steps[..=last].iter().filter(|x| is_pip(x)).filter_map(|x| p.shell_text(x)).collect::<Vec<_>>().join(" ");
        c.sources.iter().all(|src| {
            let name = src.rsplit('/').find(|x| !x.is_empty()).unwrap_or(src);
            name.starts_with("requirements") || name.starts_with("constraints") || matches!(name, "pyproject.toml" | "setup.py" | "setup.cfg" | "poetry.lock" | "uv.lock")
        }) || pip_text.contains(c.dest.trim_end_matches('/'))
    };
    for s in &p.steps[..=last] {
        match s.keyword.as_str() {
            "WORKDIR" | "ENV" | "ARG" | "USER" | "LABEL" | "EXPOSE" | "SHELL" => {
                out.push_str(body(s));
                out.push('\n');
            }
            "COPY" | "ADD" if !copied_by_pip(s) => {
                out.push_str(body(s));
                out.push('\n');
            }
            "RUN" if !is_pip(s) => {
                // Keep runtime apt packages; leave the toolchain behind.
                let Some(t) = p.shell_text(s) else {
                    out.push_str(body(s));
                    out.push('\n');
                    continue;
                };
                let mut keep = Vec::new();
                let mut any_apt = false;
                let mut runtime_pkgs = false;
                for r in segments(t) {
                    let seg = &t[r.clone()];
                    if let Some(end) = apt_install_end(seg) {
                        any_apt = true;
                        let rest: Vec<&str> = seg[end..].split_whitespace().filter(|w| *w != "\\").filter(|w| !is_toolchain_word(w, toolchain)).collect();
                        if rest.iter().any(|w| !w.starts_with('-')) {
                            runtime_pkgs = true;
                            keep.push(format!("{} {}", &seg[..end], rest.join(" ")));
                        }
                    } else {
                        keep.push(seg.to_string());
                    }
                }
                if any_apt && !runtime_pkgs {
                    continue;
                }
                out.push_str(&format!("RUN {}\n", keep.join(" \\\n && ")));
            }
            _ => {}
        }
    }
    out.push_str("COPY --from=slim-builder /opt/venv /opt/venv\nENV PATH=/opt/venv/bin:$PATH\n");
    for s in &p.steps[last + 1..] {
        out.push_str(body(s));
        out.push('\n');
    }
    // What followed the last step (trailing comments) stays.
    if let Some(s) = p.steps.last() {
        let rest = text[s.span.end..].trim_start_matches('\n');
        out.push_str(rest);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only requirement arguments of `pip install` are found: not options, not other commands,
    /// not exec-form RUNs; names compare normalised.
    #[test]
    fn pip_args_naming_finds_requirements_of_pip_install_only() {
        let text = "FROM python:3.11-slim\nRUN pip install --no-cache-dir Opencv_Python==4.10 numpy && echo opencv-python\nRUN [\"pip\", \"install\", \"opencv-python\"]\nRUN pip3 install \\\n    opencv-python[extra]\n";
        let p = crate::dockerfile::parse("Dockerfile", text).unwrap();
        let found: Vec<(usize, &str)> = pip_args_naming(&p, text, &req_name("opencv-python")).into_iter().map(|(line, at, w)| {
            assert_eq!(&text[at..at + w.len()], w);
            (line, w)
        }).collect();
        assert_eq!(found, [(2, "Opencv_Python==4.10"), (4, "opencv-python[extra]")], "lines are where the steps start");
    }

    #[test]
    fn segments_split_on_operators_outside_quotes() {
        let s = "apt-get update && apt-get install -y gcc \\\n    && echo 'a && b'; rm -rf /x";
        let segs: Vec<&str> = segments(s).into_iter().map(|r| &s[r]).collect();
        assert_eq!(segs, ["apt-get update", "apt-get install -y gcc", "echo 'a && b'", "rm -rf /x"]);
    }

    #[test]
    fn pip_and_apt_commands_are_found() {
        assert_eq!(pip_install_end("pip install -r r.txt"), Some(11));
        assert_eq!(pip_install_end("python -m pip install x").map(|e| &"python -m pip install x"[..e]), Some("python -m pip install"));
        assert_eq!(pip_install_end("pipx install x"), None);
        assert_eq!(apt_install_end("apt-get -y install gcc").map(|e| &"apt-get -y install gcc"[..e]), Some("apt-get -y install"));
    }

    #[test]
    fn context_paths_follow_the_copy() {
        let c = super::super::CopyArgs { sources: vec!["app/".into()], dest: "/app/".into(), flags: vec![], flag_at: 0, from_stage: false };
        assert_eq!(context_path(&c, "/app/obsolete.py").as_deref(), Some("app/obsolete.py"));
        let c = super::super::CopyArgs { sources: vec![".".into()], dest: "/srv".into(), flags: vec![], flag_at: 0, from_stage: false };
        assert_eq!(context_path(&c, "/srv/tmp").as_deref(), Some("tmp"));
    }
}
