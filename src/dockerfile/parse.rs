//! The one parse of a Dockerfile: every stage (`FROM ... AS name`) and its steps with byte
//! spans, their RUN commands as the shell reads them, their COPY sources (`--from` included)
//! and the text the builder records for them. Check's annotations and the rewrite both read it.

use super::shell;
use parse_dockerfile::{Command, Instruction};
use std::ops::Range;

/// One instruction (not a FROM) of some stage.
#[derive(Debug, Clone)]
pub struct Step {
    /// Index into `Parsed::stages`.
    pub stage: usize,
    pub keyword: String,
    /// From the keyword to the end of the instruction (heredocs included), without the final
    /// newline.
    pub span: Range<usize>,
    /// A RUN's commands as the shell reads them (shell form, a heredoc script, or exec form),
    /// or why they could not be read.
    pub script: Option<Script>,
    /// COPY/ADD: sources and destination as written, and the flags' spans.
    pub copy: Option<CopyArgs>,
    /// Line (1-based) where the instruction starts.
    pub line: usize,
    /// Line (1-based) of the instruction's last argument (a heredoc's end for a RUN).
    pub last_line: usize,
    /// The arguments as an image history records them: flags left out, continuations joined,
    /// comment lines dropped, whitespace collapsed (exec form: its words joined). Layers are
    /// tied to steps by this text (see `steps`).
    pub args: String,
    /// The WORKDIR in force after this step (absolute, normalised).
    pub workdir: String,
    /// The stage's ARG and ENV values in force after this step, as written (a value naming
    /// another variable is kept as it is); build arguments given on the command line win.
    pub vars: shell::Vars,
    /// The image layer this step made, when it could be matched (final stage only).
    pub layer: Option<u64>,
}

/// The commands of a RUN and where new commands can go.
#[derive(Debug, Clone)]
pub struct Script {
    pub form: Form,
    pub cmds: Result<Vec<shell::Cmd>, String>,
    /// Where a command appended to the script goes (`None`: it cannot take one).
    pub append_at: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    Shell,
    Heredoc,
    Exec,
}

#[derive(Debug, Clone)]
pub struct CopyArgs {
    pub sources: Vec<String>,
    pub dest: String,
    pub flags: Vec<String>,
    /// Where a new flag goes: right after the keyword.
    pub flag_at: usize,
    /// `--from=NAME`: a stage (by name or index) or an image.
    pub from: Option<String>,
    pub from_stage: bool,
}

/// One `FROM` and what follows it.
#[derive(Debug, Clone)]
pub struct Stage {
    /// `AS name`, as written.
    pub name: Option<String>,
    /// The base image (or earlier stage) as written.
    pub base: String,
    /// From the FROM keyword to the end of the image name.
    pub from: Range<usize>,
    /// Its steps: a range of `Parsed::steps`.
    pub steps: Range<usize>,
}

/// The parsed Dockerfile: text, stages, and the steps of every stage in order.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub text: String,
    pub stages: Vec<Stage>,
    pub steps: Vec<Step>,
}

pub fn line_of(text: &str, off: usize) -> usize {
    text.as_bytes()[..off.min(text.len())].iter().filter(|&&b| b == b'\n').count() + 1
}

fn keyword(ins: &Instruction) -> &'static str {
    match ins {
        Instruction::Add(_) => "ADD",
        Instruction::Arg(_) => "ARG",
        Instruction::Cmd(_) => "CMD",
        Instruction::Copy(_) => "COPY",
        Instruction::Entrypoint(_) => "ENTRYPOINT",
        Instruction::Env(_) => "ENV",
        Instruction::Expose(_) => "EXPOSE",
        Instruction::From(_) => "FROM",
        Instruction::Healthcheck(_) => "HEALTHCHECK",
        Instruction::Label(_) => "LABEL",
        Instruction::Maintainer(_) => "MAINTAINER",
        Instruction::Onbuild(_) => "ONBUILD",
        Instruction::Run(_) => "RUN",
        Instruction::Shell(_) => "SHELL",
        Instruction::Stopsignal(_) => "STOPSIGNAL",
        Instruction::User(_) => "USER",
        Instruction::Volume(_) => "VOLUME",
        Instruction::Workdir(_) => "WORKDIR",
        _ => "?",
    }
}

/// Start of an instruction's keyword.
fn start_of(ins: &Instruction) -> usize {
    match ins {
        Instruction::Add(i) => i.add.span.start,
        Instruction::Arg(i) => i.arg.span.start,
        Instruction::Cmd(i) => i.cmd.span.start,
        Instruction::Copy(i) => i.copy.span.start,
        Instruction::Entrypoint(i) => i.entrypoint.span.start,
        Instruction::Env(i) => i.env.span.start,
        Instruction::Expose(i) => i.expose.span.start,
        Instruction::From(i) => i.from.span.start,
        Instruction::Healthcheck(i) => i.healthcheck.span.start,
        Instruction::Label(i) => i.label.span.start,
        Instruction::Maintainer(i) => i.maintainer.span.start,
        Instruction::Onbuild(i) => i.onbuild.span.start,
        Instruction::Run(i) => i.run.span.start,
        Instruction::Shell(i) => i.shell.span.start,
        Instruction::Stopsignal(i) => i.stopsignal.span.start,
        Instruction::User(i) => i.user.span.start,
        Instruction::Volume(i) => i.volume.span.start,
        Instruction::Workdir(i) => i.workdir.span.start,
        _ => 0,
    }
}

fn copy_args(text: &str, src: &[parse_dockerfile::Source], dest: &str, options: &[parse_dockerfile::Flag], flag_at: usize) -> CopyArgs {
    let flags: Vec<String> = options.iter().map(|f| text[f.span()].to_string()).collect();
    let from = options.iter().find(|f| f.name.value == "from").and_then(|f| f.value.as_ref()).map(|v| v.value.to_string());
    CopyArgs {
        sources: src
            .iter()
            .map(|s| match s {
                parse_dockerfile::Source::Path(p) => p.value.to_string(),
                _ => "<<heredoc".into(),
            })
            .collect(),
        dest: dest.to_string(),
        from_stage: flags.iter().any(|f| f.starts_with("--from")),
        from,
        flags,
        flag_at,
    }
}

/// The script of an exec-form RUN that runs a shell (`["sh", "-c", "SCRIPT"]`, `["/bin/bash", "-c", ...]`,
/// `["/busybox", "sh", "-c", ...]`): its offset in the Dockerfile and its text, when the JSON string holds
/// no escape (so that its bytes are the script's).
fn exec_shell_script<'t>(text: &'t str, argv: &[parse_dockerfile::UnescapedString<'_>]) -> Option<(usize, &'t str)> {
    let base = |w: &str| w.rsplit('/').next().unwrap_or(w).to_string();
    let mut args: Vec<_> = argv.iter().collect();
    if args.len() > 1 && matches!(base(&args[0].value).as_str(), "busybox" | "toybox") {
        args.remove(0);
    }
    let [sh, dash_c, script] = args[..] else { return None };
    if !matches!(base(&sh.value).as_str(), "sh" | "bash" | "dash" | "ash") || dash_c.value != "-c" {
        return None;
    }
    // the span may or may not take in the quotes
    let raw = &text[script.span.clone()];
    let (start, inner) = match raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        Some(inner) => (script.span.start + 1, inner),
        None => (script.span.start, raw),
    };
    (inner == script.value.as_ref() && !inner.contains('\\')).then_some((start, inner))
}

/// Parse a Dockerfile; the error names the file and the line.
pub fn parse(name: &str, text: &str) -> Result<Parsed, String> {
    parse_with(name, text, &shell::Vars::new())
}

/// Parse a Dockerfile, with `--build-arg` values to substitute in RUN commands; the error names
/// the file.
pub fn parse_with(name: &str, text: &str, build_args: &shell::Vars) -> Result<Parsed, String> {
    Parsed::read(text, build_args).map_err(|e| format!("{name}: {e}"))
}

/// `ARG NAME[=default] ...` / `ENV K=V ...` (or the legacy `ENV K V`) into `vars`; build
/// arguments given on the command line win over ARG defaults.
fn declare(keyword: &str, args: &str, vars: &mut shell::Vars, globals: &shell::Vars, build_args: &shell::Vars) {
    let unquote = |v: &str| v.trim_matches('"').trim_matches('\'').to_string();
    if keyword == "ENV" && !args.split_whitespace().next().unwrap_or("").contains('=') {
        if let Some((k, v)) = args.trim().split_once(char::is_whitespace) {
            vars.insert(k.to_string(), unquote(v.trim()));
        }
        return;
    }
    for w in args.split_whitespace() {
        let (k, v) = match w.split_once('=') {
            Some((k, v)) => (k, Some(unquote(v))),
            None => (w, None),
        };
        let v = if keyword == "ARG" { build_args.get(k).cloned().or(v).or_else(|| globals.get(k).cloned()) } else { v };
        if let Some(v) = v {
            vars.insert(k.to_string(), v);
        }
    }
}

/// `/app/./x/` → `/app/x`.
pub fn normalise_path(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

/// `p` resolved against the WORKDIR `wd`.
pub fn resolve(wd: &str, p: &str) -> String {
    if p.starts_with('/') { normalise_path(p) } else { normalise_path(&format!("{wd}/{p}")) }
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Shell-form text as the builder runs it: escaped newlines joined, comment lines dropped.
fn join_lines(raw: &str, escape: char) -> String {
    let mut out = String::new();
    let cont = format!("{escape}");
    for l in raw.lines() {
        let t = l.trim_start();
        if t.starts_with('#') {
            continue;
        }
        let t = l.trim_end();
        out.push_str(t.strip_suffix(cont.as_str()).unwrap_or(t));
        out.push(' ');
    }
    collapse(&out)
}

/// The recorded arguments of an instruction and the end of its last argument.
fn recorded(ins: &Instruction, text: &str, escape: char) -> (String, usize) {
    let words = |src: &[parse_dockerfile::Source], dest: &str| {
        let mut w: Vec<&str> = src
            .iter()
            .map(|s| match s {
                parse_dockerfile::Source::Path(p) => p.value.as_ref(),
                _ => "<<heredoc",
            })
            .collect();
        w.push(dest);
        collapse(&w.join(" "))
    };
    match ins {
        Instruction::Run(r) => {
            let (args, end) = match &r.arguments {
                Command::Shell(s) => (join_lines(&text[s.span.clone()], escape), s.span.end),
                #[allow(unreachable_patterns)]
                Command::Exec(e) => (collapse(&e.value.iter().map(|w| w.value.as_ref()).collect::<Vec<_>>().join(" ")), e.span.end),
                #[allow(unreachable_patterns)]
                _ => (String::new(), r.run.span.end),
            };
            (args, r.here_docs.last().map_or(end, |h| h.span.end))
        }
        Instruction::Copy(c) => (words(&c.src, &c.dest.value), c.dest.span.end),
        Instruction::Add(c) => (words(&c.src, &c.dest.value), c.dest.span.end),
        Instruction::Workdir(w) => (collapse(&w.arguments.value), w.arguments.span.end),
        Instruction::Env(e) => (collapse(&e.arguments.value), e.arguments.span.end),
        Instruction::User(u) => (collapse(&u.arguments.value), u.arguments.span.end),
        Instruction::Arg(a) => (collapse(&a.arguments.value), a.arguments.span.end),
        _ => (String::new(), start_of(ins) + keyword(ins).len()),
    }
}

impl Parsed {
    /// Parse a Dockerfile; the error says what is wrong (the caller names the file).
    pub fn read(text: &str, build_args: &shell::Vars) -> Result<Parsed, String> {
        // The parser's spans do not count a byte-order mark (editors on Windows write one): drop it,
        // so spans index the text kept.
        // Every leading one: the parser skips one more after ours, which shifted the spans again.
        let text = text.trim_start_matches('\u{feff}');
        let df = parse_dockerfile::parse(text).map_err(|e| format!("not a valid Dockerfile: {}", e.to_string().replace('\n', " ")))?;
        if df.stages().len() == 0 {
            return Err("no FROM instruction".into());
        }
        let escape = df.parser_directives.escape.as_ref().map_or('\\', |d| d.value.value);
        let ins = &df.instructions;
        let mut globals = shell::Vars::new();
        for i in ins.iter().take_while(|i| !matches!(i, Instruction::From(_))) {
            if let Instruction::Arg(a) = i {
                declare("ARG", &a.arguments.value, &mut globals, &shell::Vars::new(), build_args);
            }
        }
        let mut stages = Vec::new();
        let mut steps = Vec::new();
        let mut vars = shell::Vars::new();
        let mut workdir = String::from("/");
        for (k, i) in ins.iter().enumerate() {
            if let Instruction::From(f) = i {
                stages.push(Stage {
                    name: f.as_.as_ref().map(|(_, n)| n.value.to_string()),
                    base: f.image.value.to_string(),
                    from: f.from.span.start..f.image.span.end,
                    steps: steps.len()..steps.len(),
                });
                vars = shell::Vars::new();
                workdir = "/".into();
                continue;
            }
            let Some(stage) = stages.len().checked_sub(1) else { continue };
            match i {
                Instruction::Arg(a) => declare("ARG", &a.arguments.value, &mut vars, &globals, build_args),
                Instruction::Env(e) => declare("ENV", &e.arguments.value, &mut vars, &globals, build_args),
                Instruction::Workdir(w) => workdir = resolve(&workdir, w.arguments.value.trim().trim_matches('"')),
                _ => {}
            }
            let start = start_of(i);
            // The instruction ends where the next one starts, less trailing blank/comment lines.
            let next = ins.get(k + 1).map(start_of).unwrap_or(text.len());
            let body = &text[start..next];
            let mut kept = body.len();
            for (pos, _) in body.match_indices('\n').collect::<Vec<_>>().into_iter().rev() {
                let after = body[pos + 1..kept].trim();
                if after.is_empty() || after.lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with('#')) {
                    kept = pos;
                } else {
                    break;
                }
            }
            let end = next.min(start + kept);
            let script = match i {
                Instruction::Run(r) => Some(script_of(text, r, &vars)),
                _ => None,
            };
            let copy = match i {
                Instruction::Copy(c) => Some(copy_args(text, &c.src, &c.dest.value, &c.options, c.copy.span.end)),
                Instruction::Add(c) => Some(copy_args(text, &c.src, &c.dest.value, &c.options, c.add.span.end)),
                _ => None,
            };
            let (args, args_end) = recorded(i, text, escape);
            let line = line_of(text, start);
            // By bytes: an offset (a span's end minus one) may fall inside a multi-byte character.
            let last_line = line_of(text, args_end.saturating_sub(1)).max(line);
            steps.push(Step {
                stage,
                keyword: keyword(i).into(),
                span: start..end,
                script,
                copy,
                line,
                last_line,
                args,
                workdir: workdir.clone(),
                vars: vars.clone(),
                layer: None,
            });
            stages[stage].steps.end = steps.len();
        }
        Ok(Parsed { text: text.to_string(), stages, steps })
    }

    /// The final stage: the one the image is.
    pub fn last(&self) -> &Stage {
        self.stages.last().expect("a parsed Dockerfile has a stage")
    }

    /// The final stage's steps (indices into `steps`).
    pub fn final_steps(&self) -> Range<usize> {
        self.last().steps.clone()
    }

    /// The stage a `--from` names (by `AS` name or index), if it is a stage before `before`.
    pub fn stage_named(&self, from: &str, before: usize) -> Option<usize> {
        let by_index = from.parse::<usize>().ok().filter(|&k| k < before);
        by_index.or_else(|| self.stages[..before.min(self.stages.len())].iter().rposition(|s| s.name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(from))))
    }

    pub fn makes_layer(s: &Step) -> bool {
        matches!(s.keyword.as_str(), "RUN" | "COPY" | "ADD")
    }

    pub fn step_of_layer(&self, layer: u64) -> Option<usize> {
        self.steps.iter().position(|s| s.layer == Some(layer))
    }
}

fn script_of(text: &str, r: &parse_dockerfile::RunInstruction, vars: &shell::Vars) -> Script {
    match &r.arguments {
        Command::Shell(sh) if r.here_docs.is_empty() => {
            let end = sh.span.start + text[sh.span.clone()].trim_end().len();
            Script { form: Form::Shell, cmds: shell::commands(&text[sh.span.start..end], sh.span.start, vars), append_at: Some(end) }
        }
        Command::Shell(sh)
            if r.here_docs.len() == 1
                && (text[sh.span.clone()].trim().is_empty()
                    || text[sh.span.clone()].trim().starts_with("<<") && !text[sh.span.clone()].trim()[2..].contains(char::is_whitespace)) =>
        {
            // `RUN <<EOF` with the script as the heredoc's body.
            let h = &r.here_docs[0];
            let body = h.span.clone();
            let end = body.start + text[body.clone()].trim_end().len();
            let cmds = shell::commands(&text[body.start..end], body.start, vars);
            Script { form: Form::Heredoc, cmds, append_at: Some(end) }
        }
        Command::Shell(_) => Script { form: Form::Heredoc, cmds: Err("a RUN with heredocs that are not its script".into()), append_at: None },
        // `["sh", "-c", "SCRIPT"]` (also behind busybox): the script is shell, and while its
        // JSON string has no escapes its bytes are the Dockerfile's, so edits land in place.
        // Nothing is appended to it (append_at: None): a new line would break the string.
        #[allow(unreachable_patterns)]
        Command::Exec(e) => match exec_shell_script(text, &e.value) {
            Some((start, script)) => Script { form: Form::Shell, cmds: shell::commands(script, start, vars), append_at: None },
            None => {
                let words: Vec<shell::Word> =
                    e.value.iter().map(|w| shell::Word { span: w.span.clone(), value: Some(w.value.to_string()), raw: text[w.span.clone()].to_string() }).collect();
                let cmd = shell::Cmd { span: e.span.clone(), words, removal: Some(e.span.clone()), alone: true };
                Script { form: Form::Exec, cmds: Ok(vec![cmd]), append_at: None }
            }
        },
        #[allow(unreachable_patterns)]
        _ => Script { form: Form::Exec, cmds: Err("a RUN form this version does not read".into()), append_at: None },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_heredoc_run_is_read_as_its_script() {
        let t = "FROM python:3.11-slim\nRUN <<EOF\npip install httpx\npip install --no-deps pandas\nEOF\nCMD [\"x\"]\n";
        let p = parse("Dockerfile", t).unwrap();
        let s = p.steps[0].script.as_ref().unwrap();
        assert_eq!(s.form, Form::Heredoc);
        let cmds = s.cmds.as_ref().unwrap();
        assert_eq!(cmds.len(), 2, "{cmds:?}");
        assert_eq!(&t[cmds[1].span.clone()], "pip install --no-deps pandas");
        assert_eq!(&t[cmds[1].removal.clone().unwrap()], "\npip install --no-deps pandas");
    }

    #[test]
    fn a_byte_order_mark_does_not_shift_the_spans() {
        // Found by the dockerfile fuzz target: spans 3 bytes off, one inside a character.
        let p = parse("Dockerfile", "\u{feff}FROM h\nRUN \u{fffd}]").unwrap();
        let cmds = p.steps[0].script.as_ref().unwrap().cmds.as_ref().unwrap();
        assert_eq!(&p.text[cmds[0].span.clone()], "\u{fffd}]");
        // Found by the CI fuzz smoke: two marks, then a Dockerfile with a step, panicked slicing it.
        let p = parse("Dockerfile", "\u{feff}\u{feff}FROM h\nRUN \u{fffd}]").unwrap();
        let cmds = p.steps[0].script.as_ref().unwrap().cmds.as_ref().unwrap();
        assert_eq!(&p.text[cmds[0].span.clone()], "\u{fffd}]");
        let crash = String::from_utf8_lossy(include_bytes!("../../fuzz/regressions/dockerfile-two-byte-order-marks"));
        let _ = parse("Dockerfile", &crash);
    }

    #[test]
    fn every_stage_is_read_with_its_steps_and_copies_from_stages_are_named() {
        let t = "ARG V=3.11\nFROM python:${V}-slim AS build\nWORKDIR /src\nRUN pip install --prefix=/install arrow\n\nFROM scratch\nCOPY --from=build /install /usr/local\nWORKDIR app\nCMD [\"x\"]\n";
        let p = parse("Dockerfile", t).unwrap();
        assert_eq!(p.stages.len(), 2);
        assert_eq!(p.stages[0].name.as_deref(), Some("build"));
        assert_eq!(p.stages[1].base, "scratch");
        assert_eq!(p.stages[0].steps, 0..2);
        assert_eq!(p.final_steps(), 2..5);
        assert_eq!(p.steps[1].workdir, "/src");
        assert_eq!(p.steps[1].args, "pip install --prefix=/install arrow");
        let c = p.steps[2].copy.as_ref().unwrap();
        assert_eq!(c.from.as_deref(), Some("build"));
        assert_eq!(p.stage_named("build", 1), Some(0));
        assert_eq!(p.stage_named("0", 1), Some(0));
        assert_eq!(p.stage_named("python:3.11", 1), None);
        assert_eq!(p.steps[3].workdir, "/app", "a stage starts at /");
    }
}
