//! The commands of a RUN step as the shell reads them, with byte spans, so a rewrite can drop
//! one argument or one command of an `&&` chain and leave the rest as written. Parsed with
//! tree-sitter-bash: quoting, subshells, pipelines, comments and line continuations are the
//! grammar's job, not a hand-written scanner's.

use std::collections::HashMap;
use std::ops::Range;
use tree_sitter::{Node, Parser};

/// One word of a command: where it is and what the shell makes of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Word {
    pub span: Range<usize>,
    /// Quotes removed and known variables substituted; `None` when it depends on something
    /// unknown (a command substitution, an unset variable, a glob).
    pub value: Option<String>,
    /// The text as written.
    pub raw: String,
}

impl Word {
    pub fn is(&self, s: &str) -> bool {
        self.value.as_deref() == Some(s)
    }
    pub fn text(&self) -> &str {
        self.value.as_deref().unwrap_or(&self.raw)
    }
}

/// A simple command.
#[derive(Debug, Clone, PartialEq)]
pub struct Cmd {
    pub span: Range<usize>,
    /// The command name first, then its arguments (prefix assignments left out).
    pub words: Vec<Word>,
    /// What to delete to take this command out of its `&&`/`||`/`;` chain with the operator
    /// that joins it; `None` inside a pipeline or another construct where it cannot just go.
    pub removal: Option<Range<usize>>,
    /// True when this command is the only one at the top level (removing it empties the RUN).
    pub alone: bool,
}

impl Cmd {
    pub fn name(&self) -> &str {
        self.words.first().map_or("", |w| w.text())
    }
}

/// Shell variables known at the step (ARG and ENV values).
pub type Vars = HashMap<String, String>;

/// Parse a shell text. `base` is added to every span (the text's offset in the Dockerfile).
/// Fails when the grammar finds an error: such a RUN is left as it is.
pub fn commands(text: &str, base: usize, vars: &Vars) -> Result<Vec<Cmd>, String> {
    let mut parser = Parser::new();
    parser.set_language(&tree_sitter_bash::LANGUAGE.into()).map_err(|e| e.to_string())?;
    let tree = parser.parse(text, None).ok_or("the shell parser gave up")?;
    let root = tree.root_node();
    if root.has_error() {
        return Err("the shell text does not parse".into());
    }
    let mut out = Vec::new();
    let cx = Cx { text, base, vars };
    cx.sequence(root, true, &mut out);
    Ok(out)
}

struct Cx<'a> {
    text: &'a str,
    base: usize,
    vars: &'a Vars,
}

impl Cx<'_> {
    fn abs(&self, r: Range<usize>) -> Range<usize> {
        r.start + self.base..r.end + self.base
    }

    /// The elements of a chain: `list` nodes nest to the left, `program` and `subshell` hold
    /// statements separated by `;`, `&` or newlines.
    fn flatten<'t>(&self, n: Node<'t>, out: &mut Vec<Node<'t>>) {
        let mut c = n.walk();
        for ch in n.named_children(&mut c) {
            if ch.kind() == "list" {
                self.flatten(ch, out);
            } else if ch.kind() != "comment" {
                out.push(ch);
            }
        }
    }

    fn sequence(&self, n: Node, top: bool, out: &mut Vec<Cmd>) {
        let mut elems = Vec::new();
        self.flatten(n, &mut elems);
        let alone = top && elems.len() == 1;
        for (k, e) in elems.iter().enumerate() {
            let removal = if elems.len() == 1 {
                top.then(|| 0..self.text.len())
            } else if k + 1 < elems.len() {
                Some(e.start_byte()..elems[k + 1].start_byte())
            } else {
                Some(elems[k - 1].end_byte()..e.end_byte())
            };
            self.element(*e, removal, alone, out);
        }
    }

    fn element(&self, e: Node, removal: Option<Range<usize>>, alone: bool, out: &mut Vec<Cmd>) {
        match e.kind() {
            "command" => out.push(self.command(e, removal, alone)),
            "subshell" | "compound_statement" => self.sequence(e, false, out),
            "redirected_statement" => {
                // `cmd > log`: the command goes with its redirection.
                if let Some(body) = e.child_by_field_name("body") {
                    if body.kind() == "command" {
                        let mut c = self.command(body, removal, alone);
                        c.span = e.byte_range();
                        c.span = self.abs(c.span);
                        out.push(c);
                    } else {
                        self.element(body, None, false, out);
                    }
                }
            }
            _ => {
                // Pipelines, if/while/for, functions: their commands are read, never removed.
                let mut c = e.walk();
                for ch in e.named_children(&mut c) {
                    if ch.kind() == "command" {
                        out.push(self.command(ch, None, false));
                    } else if ch.kind() != "comment" {
                        self.element(ch, None, false, out);
                    }
                }
            }
        }
    }

    fn command(&self, n: Node, removal: Option<Range<usize>>, alone: bool) -> Cmd {
        let mut words = Vec::new();
        let mut c = n.walk();
        for ch in n.named_children(&mut c) {
            match ch.kind() {
                "variable_assignment" | "file_redirect" | "heredoc_redirect" | "herestring_redirect" | "comment" => {}
                "command_name" => {
                    let w = ch.named_child(0).unwrap_or(ch);
                    words.push(self.word(w));
                }
                _ => words.push(self.word(ch)),
            }
        }
        // `busybox rm x` (and `/bin/busybox rm x`, toybox alike) runs the applet `rm`: read it as
        // `rm x`, so that images without a shell of their own get the same edits.
        if words.len() > 1 && matches!(words[0].text().rsplit('/').next(), Some("busybox" | "toybox")) {
            words.remove(0);
        }
        Cmd { span: self.abs(n.byte_range()), words, removal: removal.map(|r| self.abs(r)), alone }
    }

    fn word(&self, n: Node) -> Word {
        Word { span: self.abs(n.byte_range()), value: self.value(n), raw: self.text[n.byte_range()].to_string() }
    }

    fn value(&self, n: Node) -> Option<String> {
        let t = &self.text[n.byte_range()];
        match n.kind() {
            "word" | "number" => {
                if t.contains(['*', '?', '[']) && !t.starts_with('-') {
                    // A glob: its value depends on the filesystem (package names never glob).
                    return None;
                }
                Some(unescape(t))
            }
            "raw_string" => Some(t[1..t.len() - 1].to_string()),
            "string" => {
                let mut s = String::new();
                let mut c = n.walk();
                let mut last = n.start_byte() + 1;
                for ch in n.named_children(&mut c) {
                    // Text between named children is literal.
                    s.push_str(&self.text[last..ch.start_byte()]);
                    match ch.kind() {
                        "string_content" => s.push_str(&self.text[ch.byte_range()]),
                        _ => s.push_str(&self.value(ch)?),
                    }
                    last = ch.end_byte();
                }
                s.push_str(&self.text[last..n.end_byte() - 1]);
                Some(s)
            }
            "concatenation" => {
                let mut s = String::new();
                let mut c = n.walk();
                for ch in n.children(&mut c) {
                    s.push_str(&self.value(ch)?);
                }
                Some(s)
            }
            "simple_expansion" | "expansion" => {
                // $NAME, ${NAME}, ${NAME:-default}
                let inner = t.trim_start_matches('$').trim_start_matches('{').trim_end_matches('}');
                let (name, default) = match inner.split_once(":-").or_else(|| inner.split_once('-')) {
                    Some((n, d)) => (n, Some(d)),
                    None => (inner, None),
                };
                if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    return None;
                }
                match (self.vars.get(name), default) {
                    (Some(v), _) if !v.is_empty() || default.is_none() => Some(v.clone()),
                    (_, Some(d)) => Some(unescape(d)),
                    _ => None,
                }
            }
            _ => None,
        }
    }
}

/// Backslash escapes of an unquoted word removed (a backslash-newline is a continuation).
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.next() {
                Some('\n') | None => {}
                Some(n) => out.push(n),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// What to delete to take one argument out of a command: the word with the blanks before it,
/// or its whole line when it stands alone on a continuation line.
pub fn word_removal(text: &str, w: &Range<usize>) -> Range<usize> {
    let before = &text[..w.start];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let after = &text[w.end..];
    let line_end_rel = after.find('\n').unwrap_or(after.len());
    let rest = after[..line_end_rel].trim();
    if before[line_start..].trim().is_empty() && line_start > 0 {
        if rest == "\\" {
            // `    gcc \` on a line of its own: the line goes.
            return line_start..w.end + line_end_rel + 1;
        }
        let prev = before[..line_start - 1].trim_end_matches([' ', '\t']);
        if rest.is_empty() && prev.ends_with('\\') {
            // The last word, alone on the last line: the continuation before it goes too.
            let cut = prev[..prev.len() - 1].trim_end_matches([' ', '\t']).len();
            return cut..w.end;
        }
    }
    let blank = before.len() - before.trim_end_matches([' ', '\t']).len();
    if blank > 0 {
        return w.start - blank..w.end;
    }
    // The first thing on its line: take the blanks after it instead.
    let after_blank = after.len() - after.trim_start_matches([' ', '\t']).len();
    w.start..w.end + after_blank
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmds(s: &str) -> Vec<Cmd> {
        commands(s, 0, &Vars::new()).unwrap()
    }

    fn names(s: &str) -> Vec<Vec<String>> {
        cmds(s).iter().map(|c| c.words.iter().map(|w| w.text().to_string()).collect()).collect()
    }

    #[test]
    fn a_busybox_applet_reads_as_the_command_it_runs() {
        assert_eq!(names("/busybox rm /app/x && busybox chmod -R g=u /app && busybox"), [vec!["rm", "/app/x"], vec!["chmod", "-R", "g=u", "/app"], vec!["busybox"]]);
    }

    #[test]
    fn commands_of_a_chain_with_quotes_subshells_and_continuations() {
        let s = "DEBIAN_FRONTEND=noninteractive apt-get update && apt-get install -y gcc \\\n    \"g++\" 'curl' \\\n && (cd /x; rm -rf a) ; echo 'a && b' | tee x";
        assert_eq!(
            names(s),
            [vec!["apt-get", "update"], vec!["apt-get", "install", "-y", "gcc", "g++", "curl"], vec!["cd", "/x"], vec!["rm", "-rf", "a"], vec!["echo", "a && b"], vec!["tee", "x"],]
        );
        let c = cmds(s);
        assert_eq!(c[4].removal, None, "a pipeline's command is not removed alone");
        // Removing the second command takes its `&&` with it.
        let r = c[1].removal.clone().unwrap();
        let mut t = s.to_string();
        t.replace_range(r, "");
        assert!(t.starts_with("DEBIAN_FRONTEND=noninteractive apt-get update && (cd /x"), "{t}");
    }

    #[test]
    fn the_last_command_goes_with_the_operator_before_it() {
        let s = "pip install a \\\n && pip install b";
        let c = cmds(s);
        let mut t = s.to_string();
        t.replace_range(c[1].removal.clone().unwrap(), "");
        assert_eq!(t, "pip install a");
        assert!(!c[0].alone);
        assert!(cmds("pip install x")[0].alone);
    }

    #[test]
    fn variables_are_substituted_when_known() {
        let mut v = Vars::new();
        v.insert("TORCH".into(), "2.5.1".into());
        let c = commands("pip install torch==${TORCH} numpy==$NP \"x==${Y:-3}\"", 0, &v).unwrap();
        let vals: Vec<Option<&str>> = c[0].words.iter().map(|w| w.value.as_deref()).collect();
        assert_eq!(vals, [Some("pip"), Some("install"), Some("torch==2.5.1"), None, Some("x==3")]);
    }

    #[test]
    fn a_word_alone_on_its_line_goes_with_the_line() {
        let s = "apt-get install -y \\\n    gcc \\\n    curl";
        let c = cmds(s);
        let gcc = &c[0].words[3];
        let mut t = s.to_string();
        t.replace_range(word_removal(s, &gcc.span), "");
        assert_eq!(t, "apt-get install -y \\\n    curl");
        let curl = &c[0].words[4];
        let mut t = s.to_string();
        t.replace_range(word_removal(s, &curl.span), "");
        assert_eq!(t, "apt-get install -y \\\n    gcc");
        let s = "apt-get install -y gcc curl";
        let w = &cmds(s)[0].words[3];
        let mut t = s.to_string();
        t.replace_range(word_removal(s, &w.span), "");
        assert_eq!(t, "apt-get install -y curl");
    }

    #[test]
    fn broken_shell_is_an_error() {
        assert!(commands("echo 'unterminated", 0, &Vars::new()).is_err());
    }
}
