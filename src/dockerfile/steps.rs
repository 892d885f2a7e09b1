//! Which Dockerfile line made which layer, so SARIF results and GitHub annotations can point at
//! the step to change. Matching is by text, kept simple:
//!
//! - only the final stage's instructions are candidates (earlier stages make no layer of the
//!   final image), and they are matched in order: a layer never maps above the line the layer
//!   below it mapped to;
//! - `RUN`: the command in the layer's history (`/bin/sh -c …`, BuildKit's `RUN /bin/sh -c … #
//!   buildkit`, with any `|N ARG=…` prefix removed) equals the Dockerfile's command with line
//!   continuations and comment lines removed, whitespace collapsed; exec form joins its words;
//! - `COPY`/`ADD`: the arguments without `--flags` are equal (BuildKit keeps them as written),
//!   or the destination is (the classic builder writes `COPY file:<hash> in /app/`; relative
//!   destinations are resolved against the `WORKDIR`s above them);
//! - any other instruction: keyword and arguments equal.
//!
//! Layers that match nothing (the base image's, steps whose text was rewritten by the builder)
//! get no line.

use super::parse::{Parsed, Step, normalise_path, resolve};
use std::collections::HashMap;

/// Layer index → the lines of the Dockerfile step that made it.
#[derive(Debug, Clone, Default)]
pub struct StepLines {
    /// The Dockerfile as named on the command line (a repository-relative path for SARIF).
    pub path: String,
    /// The final stage's `FROM` line: where results about the whole image point.
    pub from_line: usize,
    lines: HashMap<u64, (usize, usize)>,
}

impl StepLines {
    /// First and last line (1-based) of the step that made this layer.
    pub fn of(&self, layer: u64) -> Option<(usize, usize)> {
        self.lines.get(&layer).copied()
    }
}

/// Map layers (`(index, created_by)`, bottom first) to the lines of the final stage's steps.
pub fn map(path: &str, parsed: &Parsed, layers: &[(u64, Option<&str>)]) -> StepLines {
    let lines = match_steps(parsed, layers).into_iter().map(|(l, k)| (l, (parsed.steps[k].line, parsed.steps[k].last_line))).collect();
    StepLines { path: path.into(), from_line: super::line_of(&parsed.text, parsed.last().from.start), lines }
}

/// Layers (`(index, created_by)`, bottom first) and the final-stage step (index into
/// `parsed.steps`) each was made by, in order: a layer never maps above the step the layer
/// below it mapped to.
pub fn match_steps(parsed: &Parsed, layers: &[(u64, Option<&str>)]) -> Vec<(u64, usize)> {
    let steps: Vec<usize> = parsed.final_steps().filter(|&k| matches!(parsed.steps[k].keyword.as_str(), "RUN" | "COPY" | "ADD" | "WORKDIR" | "ENV" | "USER")).collect();
    let mut out = Vec::new();
    let mut next = 0;
    for &(index, created_by) in layers {
        let Some(cb) = created_by.map(History::parse) else { continue };
        if let Some(k) = (next..steps.len()).find(|&k| cb.matches(&parsed.steps[steps[k]])) {
            out.push((index, steps[k]));
            next = k + 1;
        }
    }
    out
}

impl Parsed {
    /// Tie layers to the final stage's steps (by the text of their history, see `steps`).
    /// Returns the layer-making steps no layer matched. (`name` is kept for callers that name
    /// the file; matching cannot fail on a parsed Dockerfile.)
    pub fn match_layers(&mut self, _name: &str, layers: &[(u64, Option<&str>)]) -> Result<Vec<usize>, String> {
        let matched = match_steps(self, layers);
        for s in &mut self.steps {
            s.layer = None;
        }
        for (layer, k) in matched {
            self.steps[k].layer = Some(layer);
        }
        Ok(self.final_steps().filter(|&i| Self::makes_layer(&self.steps[i]) && self.steps[i].layer.is_none()).collect())
    }
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A layer's `created_by`, taken apart.
#[derive(Debug, PartialEq)]
struct History {
    keyword: String,
    /// Arguments without flags, whitespace collapsed.
    text: String,
    /// The classic builder's `COPY <src> in <dest>`.
    dest: Option<String>,
    /// That destination as recorded (relative when the Dockerfile wrote it so).
    raw_dest: Option<String>,
}

impl History {
    fn parse(created_by: &str) -> History {
        let s = created_by.trim();
        let s = s.strip_suffix("# buildkit").unwrap_or(s).trim_end();
        if let Some(rest) = s.strip_prefix("/bin/sh -c #(nop)") {
            return History::instruction(rest.trim());
        }
        if let Some(rest) = s.strip_prefix("RUN ") {
            return History::run(rest);
        }
        if s.starts_with("/bin/sh -c ") || s.starts_with('|') {
            return History::run(s);
        }
        History::instruction(s)
    }

    fn run(s: &str) -> History {
        let s = s.trim();
        // `|2 A=1 B=2 /bin/sh -c …`: build args the step saw.
        let s = match s.strip_prefix('|').and_then(|r| r.split_once(' ')) {
            Some((n, rest)) => {
                let n: usize = n.parse().unwrap_or(0);
                let mut rest = rest;
                for _ in 0..n {
                    rest = rest.split_once(' ').map_or("", |x| x.1);
                }
                rest
            }
            None => s,
        };
        let mut s = s.strip_prefix("/bin/sh -c ").unwrap_or(s).trim_start();
        // Buildah keeps the step as written: `--mount=… ["/busybox", "sh", …]`.
        while s.starts_with("--") {
            s = s.split_once(char::is_whitespace).map_or("", |x| x.1).trim_start();
        }
        if s.starts_with('[')
            && let Ok(words) = serde_json::from_str::<Vec<String>>(s)
        {
            return History { keyword: "RUN".into(), text: collapse(&words.join(" ")), dest: None, raw_dest: None };
        }
        History { keyword: "RUN".into(), text: collapse(s), dest: None, raw_dest: None }
    }

    fn instruction(s: &str) -> History {
        let (kw, rest) = s.split_once(char::is_whitespace).unwrap_or((s, ""));
        let keyword = kw.to_ascii_uppercase();
        let words: Vec<&str> = rest.split_whitespace().filter(|w| !w.starts_with("--")).collect();
        let mut dest = None;
        let mut raw_dest = None;
        if (keyword == "COPY" || keyword == "ADD")
            && let Some(at) = words.iter().rposition(|w| *w == "in")
            && at > 0
            && at + 2 == words.len()
        {
            dest = Some(normalise_path(words[at + 1]));
            raw_dest = Some(words[at + 1].trim_end_matches('/').to_string());
        }
        History { keyword, text: words.join(" "), dest, raw_dest }
    }

    fn matches(&self, step: &Step) -> bool {
        if self.keyword != step.keyword {
            return false;
        }
        if self.text == step.args {
            return true;
        }
        let Some(c) = step.copy.as_ref() else { return false };
        if self.dest.as_ref().is_some_and(|d| *d == resolve(&step.workdir, &c.dest)) {
            return true;
        }
        // `COPY x .` under a WORKDIR: buildah records `in .`.
        let raw = c.dest.trim_end_matches('/');
        self.raw_dest.as_deref() == Some(raw) && !raw.starts_with('/')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(path: &str, text: &str, layers: &[(u64, Option<&str>)]) -> Result<StepLines, String> {
        Ok(super::map(path, &super::super::parse(path, text)?, layers))
    }

    const DOCKERFILE: &str = "\
# syntax=docker/dockerfile:1
FROM python:3.11 AS build
RUN pip wheel -r requirements.txt

FROM python:3.11-slim
WORKDIR /app
COPY requirements.txt .
RUN apt-get update && \\
    # the compiler for wheels
    apt-get install -y gcc
RUN --mount=type=cache,target=/root/.cache pip install -r requirements.txt
COPY --chown=app . .
CMD [\"python\", \"main.py\"]
";

    #[test]
    fn buildkit_history_maps_to_lines() {
        let layers = [
            (0, Some("/bin/sh -c #(nop) ADD file:abc in / ")),
            (1, Some("WORKDIR /app")),
            (2, Some("COPY requirements.txt . # buildkit")),
            (3, Some("RUN /bin/sh -c apt-get update &&     apt-get install -y gcc # buildkit")),
            (4, Some("RUN /bin/sh -c pip install -r requirements.txt # buildkit")),
            (5, Some("COPY . . # buildkit")),
        ];
        let m = map("Dockerfile", DOCKERFILE, &layers).unwrap();
        assert_eq!(m.from_line, 5);
        assert_eq!(m.of(0), None, "the base image's layer");
        assert_eq!(m.of(1), Some((6, 6)));
        assert_eq!(m.of(2), Some((7, 7)));
        assert_eq!(m.of(3), Some((8, 10)));
        assert_eq!(m.of(4), Some((11, 11)));
        assert_eq!(m.of(5), Some((12, 12)));
    }

    #[test]
    fn classic_builder_history_maps_to_lines() {
        let layers = [
            (0, Some("/bin/sh -c #(nop) COPY file:0123abcd in /app/ ")),
            (1, Some("|1 PIP_INDEX=x /bin/sh -c apt-get update &&     apt-get install -y gcc")),
            (2, Some("/bin/sh -c pip install -r requirements.txt")),
            (3, Some("/bin/sh -c #(nop) COPY dir:4567 in /app ")),
            (4, Some("/bin/sh -c echo not in the dockerfile")),
            (5, None),
        ];
        let m = map("docker/Dockerfile", DOCKERFILE, &layers).unwrap();
        assert_eq!(m.of(0), Some((7, 7)));
        assert_eq!(m.of(1), Some((8, 10)));
        assert_eq!(m.of(2), Some((11, 11)));
        assert_eq!(m.of(3), Some((12, 12)));
        assert_eq!(m.of(4), None);
        assert_eq!(m.of(5), None);
    }

    #[test]
    fn buildah_history_keeps_flags_and_exec_form() {
        let df = "FROM scratch\nWORKDIR /app\nCOPY app/ /app/\nRUN --mount=type=bind,target=/bb \\\n    [\"/bb\", \"sh\", \"-c\", \"rm x\"]\n";
        let layers = [(0, Some("/bin/sh -c #(nop) COPY dir:304e in /app/ ")), (1, Some("/bin/sh -c --mount=type=bind,target=/bb     [\"/bb\", \"sh\", \"-c\", \"rm x\"]"))];
        let m = map("Dockerfile", df, &layers).unwrap();
        assert_eq!(m.of(0), Some((3, 3)));
        assert_eq!(m.of(1), Some((4, 5)));
    }

    #[test]
    fn steps_are_matched_in_order() {
        let df = "FROM x\nRUN make\nRUN make clean\nRUN make\n";
        let layers = [(0, Some("/bin/sh -c make")), (1, Some("/bin/sh -c make"))];
        let m = map("Dockerfile", df, &layers).unwrap();
        assert_eq!(m.of(0), Some((2, 2)));
        assert_eq!(m.of(1), Some((4, 4)));
    }

    #[test]
    fn a_broken_dockerfile_is_an_error() {
        assert!(map("Dockerfile", "RUN echo no from\n", &[]).is_err());
    }

    #[test]
    fn a_step_ending_in_a_multibyte_character_maps() {
        // Found by the dockerfile fuzz target: the line of a span's last byte was cut inside 'é'.
        let m = map("Dockerfile", "FROM p\nRUN echo café", &[(0, Some("/bin/sh -c echo café"))]).unwrap();
        assert_eq!(m.of(0), Some((2, 2)));
    }
}
