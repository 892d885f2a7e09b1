//! What one Python source file imports, found by a small tokenizer rather than a parser:
//! strings (all prefixes, triple-quoted), comments, line continuations and brackets are
//! handled exactly, which is all it takes to see every `import` statement, wherever it sits
//! (in a function, a `try:` block, after a `;`), and the calls that import by name.
//!
//! Every library module of an environment goes through here (`digest`), so the scan borrows:
//! tokens are slices of the source, one logical line's tokens live in one reused buffer, and
//! the blocks around a statement become strings only for the imports that report them.

mod digest;
mod tokens;

pub use digest::{digest, digest_cutting_every_line, is_library_source, read_digest};
use std::borrow::Cow;
use tokens::{Tok, Token, Tokenizer, dotted, is_op, name};

/// An import the file makes.
#[derive(Debug, Clone, PartialEq)]
pub struct Import {
    /// The dotted module as written (without leading dots); empty for `from . import x`.
    pub module: String,
    /// Leading dots of a relative import (0 for absolute).
    pub level: usize,
    /// Names a `from` import takes (each may be a submodule); empty for `import a.b`.
    pub names: Vec<String>,
    pub line: u32,
    /// `import`, `from`, `importlib` (import_module with a literal) or `__import__`.
    pub how: &'static str,
    /// The blocks around it, innermost last: `function load`, `try`, `if`...
    pub context: Vec<String>,
}

/// An import whose module name is computed at run time.
#[derive(Debug, Clone, PartialEq)]
pub struct Dynamic {
    pub line: u32,
    /// The literal start of the name, when there is one (`f"plugins.{x}"` → `plugins.`).
    pub prefix: Option<String>,
}

/// A plugin group the code loads through entry points (`entry_points(group="x")`).
#[derive(Debug, Clone, PartialEq)]
pub struct GroupLoad {
    pub group: String,
    pub line: u32,
}

/// Everything found in one file.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    pub imports: Vec<Import>,
    pub dynamic: Vec<Dynamic>,
    pub groups: Vec<GroupLoad>,
    /// String literals that are not docstrings, with their line (for references by name,
    /// such as Django's INSTALLED_APPS or a database URL naming its driver).
    pub strings: Vec<(String, u32)>,
    /// Lines that pass `trust_remote_code=True` (a model whose own code may import anything).
    pub remote_code: Vec<u32>,
}

/// A block a compound statement opens, as its context line reads: `kind` alone (`try`, `if`)
/// or `kind name` (`function load`, `class Model`). Made a string only for an import in it.
#[derive(Debug, Clone)]
struct Block<'a> {
    kind: &'static str,
    name: Option<Cow<'a, str>>,
}

impl Block<'_> {
    fn render(&self) -> String {
        match &self.name {
            Some(n) => format!("{} {n}", self.kind),
            None => self.kind.to_string(),
        }
    }
}

/// What a compound statement's header says about the block it opens.
fn block_kind<'a>(toks: &[Token<'a>]) -> Option<Block<'a>> {
    let named = |t: Option<&Token<'a>>| {
        match t.map(|t| &t.tok) {
            Some(Tok::Name(s)) => Some(s.clone()),
            _ => None,
        }
        .or(Some(Cow::Borrowed("?")))
    };
    let first = name(toks.first())?;
    let first = if first == "async" { name(toks.get(1))? } else { first };
    let kind = match first {
        "def" => return Some(Block { kind: "function", name: named(toks.iter().skip_while(|t| name(Some(t)) != Some("def")).nth(1)) }),
        "class" => return Some(Block { kind: "class", name: named(toks.get(1)) }),
        "try" => "try",
        "except" => "except",
        "finally" => "finally",
        "if" | "elif" | "else" => "if",
        "with" => "with",
        "for" | "while" => "loop",
        "match" | "case" => "match",
        _ => return None,
    };
    Some(Block { kind, name: None })
}

/// The blocks around a statement: those open before its line, and the header of its own line
/// when it follows that header's colon (`try: import x`).
#[derive(Clone, Copy)]
struct Context<'s, 'a> {
    open: &'s [(usize, Block<'a>)],
    inline: Option<&'s Block<'a>>,
}

impl Context<'_, '_> {
    fn render(&self) -> Vec<String> {
        self.open.iter().map(|(_, b)| b).chain(self.inline).map(Block::render).collect()
    }
}

/// Scan Python source for imports, dynamic imports, plugin group loads and strings.
pub fn scan(src: &[u8]) -> Scan {
    scan_with(src, true)
}

/// `scan`, keeping string literals only when `strings` (a digest has no use for them).
///
/// Without `strings` (for a digest, which keeps imports and group loads only) a logical line is
/// cut into tokens only when it holds a word an import or a group load needs (`Words`); any
/// other line is only read past, for its indentation and the block it may open. On the ML
/// image's 8,240 library modules (165 MB) that takes the digests from 0.80 s to 0.51 s.
fn scan_with(src: &[u8], strings: bool) -> Scan {
    let mut out = Scan::default();
    let mut stack: Vec<(usize, Block)> = Vec::new();
    let mut tokenizer = Tokenizer::new(src);
    let mut toks = Vec::new();
    let mut starts = Vec::new();
    let mut words = (!strings).then(|| Words::new(src));
    loop {
        let indent = if let Some(words) = &mut words {
            let mark = tokenizer.mark();
            let Some(shape) = tokenizer.skip_line() else { break };
            if words.could_matter(shape.begin, tokenizer.at()) {
                tokenizer.reset(mark);
                tokenizer.next_line(&mut toks).expect("the line skip_line read")
            } else {
                while stack.last().is_some_and(|(ind, _)| *ind >= shape.indent) {
                    stack.pop();
                }
                // A header whose only colon ends the line opens a block (see below); the
                // block's kind and name are in its first tokens (`async def f`).
                if shape.colons == 1 && shape.ends_with_colon {
                    tokenizer.first_tokens(&shape, &mut toks, 3);
                    if let Some(h) = block_kind(&toks) {
                        stack.push((shape.indent, h));
                    }
                }
                continue;
            }
        } else {
            let Some(indent) = tokenizer.next_line(&mut toks) else { break };
            indent
        };
        while stack.last().is_some_and(|(ind, _)| *ind >= indent) {
            stack.pop();
        }
        let toks = &toks[..];
        // Statements: split at `;` and after a compound header's `:` (depth 0).
        starts.clear();
        starts.push(0usize);
        let mut depth = 0usize;
        let header = block_kind(toks);
        let mut header_colon = None;
        for (k, t) in toks.iter().enumerate() {
            match t.tok {
                Tok::Op('(' | '[' | '{') => depth += 1,
                Tok::Op(')' | ']' | '}') => depth = depth.saturating_sub(1),
                Tok::Op(';') if depth == 0 => starts.push(k + 1),
                Tok::Op(':') if depth == 0 && header.is_some() && header_colon.is_none() => {
                    header_colon = Some(k);
                    starts.push(k + 1);
                }
                _ => {}
            }
        }
        let base = stack.len();
        let mut inline = None;
        if let (Some(h), Some(c)) = (header, header_colon) {
            if c + 1 >= toks.len() {
                stack.push((indent, h));
            } else {
                // `try: import x`: the statement after the colon is inside the block.
                inline = Some(h);
            }
        }
        for (si, &s) in starts.iter().enumerate() {
            let end = starts.get(si + 1).map(|e| e - 1).unwrap_or(toks.len());
            if s >= end {
                continue;
            }
            let after_colon = header_colon.is_some_and(|c| s > c);
            let ctx = Context { open: &stack[..base], inline: inline.as_ref().filter(|_| after_colon) };
            statement(&toks[s..end], ctx, strings, &mut out);
        }
        calls(toks, &mut out);
    }
    out
}

/// The words without which `statement` and `calls` find nothing a digest keeps in a line:
/// `import` (in `import_module` and `__import__` too), and `group` or `entry_points` for a
/// group load. Found in the whole file at once; lines are asked about in order.
struct Words {
    /// Where each word starts, in order.
    at: Vec<usize>,
    /// How many of those lie before the line asked about last.
    next: usize,
}

impl Words {
    fn new(src: &[u8]) -> Self {
        static FINDERS: std::sync::OnceLock<[memchr::memmem::Finder<'static>; 3]> = std::sync::OnceLock::new();
        let finders = FINDERS.get_or_init(|| [b"import".as_slice(), b"group", b"entry_points"].map(memchr::memmem::Finder::new));
        let mut at: Vec<usize> = finders[0].find_iter(src).collect();
        let groups = at.len();
        at.extend(finders[1..].iter().flat_map(|f| f.find_iter(src)));
        if at.len() > groups {
            at.sort_unstable();
        }
        Words { at, next: 0 }
    }

    /// Does one of the words lie in `src[begin..end]`? (A word cannot span a line's end: it
    /// holds no newline.) `begin` never goes back from one question to the next.
    fn could_matter(&mut self, begin: usize, end: usize) -> bool {
        while self.at.get(self.next).is_some_and(|&a| a < begin) {
            self.next += 1;
        }
        self.at.get(self.next).is_some_and(|&a| a < end)
    }
}

fn statement(stmt: &[Token], context: Context, strings: bool, out: &mut Scan) {
    match name(stmt.first()) {
        Some("import") => {
            let mut i = 1;
            loop {
                let (m, next) = dotted(stmt, i);
                if m.is_empty() {
                    break;
                }
                out.imports.push(Import { module: m, level: 0, names: vec![], line: stmt[0].line, how: "import", context: context.render() });
                i = next;
                if name(stmt.get(i)) == Some("as") {
                    i += 2;
                }
                if is_op(stmt.get(i), ',') {
                    i += 1;
                } else {
                    break;
                }
            }
        }
        Some("from") => {
            let mut i = 1;
            let mut level = 0;
            while is_op(stmt.get(i), '.') {
                level += 1;
                i += 1;
            }
            let (m, next) = if name(stmt.get(i)) == Some("import") { (String::new(), i) } else { dotted(stmt, i) };
            i = next;
            if name(stmt.get(i)) != Some("import") || (m.is_empty() && level == 0) || m == "__future__" {
                return;
            }
            i += 1;
            let mut names = Vec::new();
            while let Some(t) = stmt.get(i) {
                match &t.tok {
                    Tok::Name(n) if n == "as" => i += 1,
                    Tok::Name(n) => {
                        if name(stmt.get(i.wrapping_sub(1))) != Some("as") {
                            names.push(n.to_string());
                        }
                    }
                    Tok::Op('*') => names.push("*".into()),
                    _ => {}
                }
                i += 1;
            }
            out.imports.push(Import { module: m, level, names, line: stmt[0].line, how: "from", context: context.render() });
        }
        _ if strings => {
            // A statement of strings alone is a docstring (or a comment written as one).
            if stmt.iter().all(|t| matches!(t.tok, Tok::Str { .. })) {
                return;
            }
            for t in stmt {
                if let Tok::Str { text, .. } = &t.tok {
                    if !text.is_empty() && text.len() <= 300 {
                        out.strings.push((text.to_string(), t.line));
                    }
                }
            }
        }
        _ => {}
    }
}

/// `importlib.import_module(...)`, `__import__(...)`, `entry_points(group=...)` anywhere.
fn calls(toks: &[Token], out: &mut Scan) {
    for (k, t) in toks.iter().enumerate() {
        // `trust_remote_code=True` or `"trust_remote_code": True`.
        let remote = match &t.tok {
            Tok::Name(n) => n == "trust_remote_code" && is_op(toks.get(k + 1), '='),
            Tok::Str { text, .. } => text == "trust_remote_code" && is_op(toks.get(k + 1), ':'),
            _ => false,
        };
        if remote && name(toks.get(k + 2)) == Some("True") && !out.remote_code.contains(&t.line) {
            out.remote_code.push(t.line);
        }
        let Tok::Name(n) = &t.tok else { continue };
        if !is_op(toks.get(k + 1), '(') {
            continue;
        }
        // `def import_module(` defines rather than calls.
        if k > 0 && name(toks.get(k - 1)) == Some("def") {
            continue;
        }
        match n.as_ref() {
            "import_module" | "__import__" => {
                let arg = toks.get(k + 2);
                let after = toks.get(k + 3);
                let literal = matches!(arg.map(|t| &t.tok), Some(Tok::Str { f: false, .. })) && (is_op(after, ',') || is_op(after, ')'));
                if literal {
                    let Some(Tok::Str { text, .. }) = arg.map(|t| &t.tok) else { unreachable!() };
                    let level = text.chars().take_while(|&c| c == '.').count();
                    out.imports.push(Import {
                        module: text[level..].to_string(),
                        level,
                        names: vec![],
                        line: t.line,
                        how: if n == "__import__" { "__import__" } else { "importlib" },
                        context: vec![],
                    });
                } else {
                    let prefix = match arg.map(|t| &t.tok) {
                        Some(Tok::Str { text, .. }) => Some(text.split('{').next().unwrap_or("").to_string()).filter(|p| !p.is_empty()),
                        _ => None,
                    };
                    out.dynamic.push(Dynamic { line: t.line, prefix });
                }
            }
            "entry_points" | "iter_entry_points" | "select" | "get_group_all" => {
                // The group: `group="x"` anywhere in the call, or the first positional string
                // of iter_entry_points("x").
                let mut depth = 0;
                let mut j = k + 1;
                while let Some(a) = toks.get(j) {
                    match &a.tok {
                        Tok::Op('(') => depth += 1,
                        Tok::Op(')') => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        Tok::Str { text, f: false } if depth == 1 => {
                            let named = name(toks.get(j.wrapping_sub(2))) == Some("group") && is_op(toks.get(j - 1), '=');
                            let positional = n == "iter_entry_points" && j == k + 2;
                            if named || positional {
                                out.groups.push(GroupLoad { group: text.to_string(), line: t.line });
                            }
                        }
                        _ => {}
                    }
                    j += 1;
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mods(s: &Scan) -> Vec<(String, usize, Vec<String>, u32)> {
        s.imports.iter().map(|i| (i.module.clone(), i.level, i.names.clone(), i.line)).collect()
    }

    #[test]
    fn plain_and_from_imports_with_lines() {
        let s = scan(b"import os, a.b as c\nfrom x.y import (p,\n    q as r)\nfrom . import sib\nfrom ..up.mod import *\n");
        assert_eq!(
            mods(&s),
            vec![
                ("os".into(), 0, vec![], 1),
                ("a.b".into(), 0, vec![], 1),
                ("x.y".into(), 0, vec!["p".into(), "q".into()], 2),
                ("".into(), 1, vec!["sib".into()], 4),
                ("up.mod".into(), 2, vec!["*".into()], 5),
            ]
        );
    }

    #[test]
    fn strings_comments_and_continuations_hide_nothing_and_invent_nothing() {
        let src = br#"
# import fake1
x = "import fake2"
y = '''
import fake3
'''
z = r"\" import fake4"
def f():
    """Docstring: import fake5."""
    import real1
w = 1 + \
    2; import real2
try:
    from real3 import thing
except ImportError:
    real4 = None
if True: import real5
s = f"{'a'} import fake6"
"#;
        let s = scan(src);
        let got: Vec<(&str, u32)> = s.imports.iter().map(|i| (i.module.as_str(), i.line)).collect();
        assert_eq!(got, vec![("real1", 10), ("real2", 12), ("real3", 14), ("real5", 17)]);
        assert_eq!(s.imports[0].context, vec!["function f"]);
        assert_eq!(s.imports[2].context, vec!["try"]);
        assert_eq!(s.imports[3].context, vec!["if"]);
        assert!(s.imports[1].context.is_empty());
    }

    #[test]
    fn importlib_literal_and_computed_names() {
        let s = scan(
            b"import importlib\nm = importlib.import_module('pkg.mod')\nn = __import__(\"other\")\nimportlib.import_module(name)\nimportlib.import_module(f\"plugins.{x}\")\n",
        );
        let lits: Vec<(&str, &str)> = s.imports.iter().skip(1).map(|i| (i.module.as_str(), i.how)).collect();
        assert_eq!(lits, vec![("pkg.mod", "importlib"), ("other", "__import__")]);
        assert_eq!(s.dynamic, vec![Dynamic { line: 4, prefix: None }, Dynamic { line: 5, prefix: Some("plugins.".into()) }]);
    }

    #[test]
    fn plugin_groups_and_reference_strings() {
        let s = scan(b"\"\"\"Module doc naming torch.\"\"\"\nfrom importlib.metadata import entry_points\nfor ep in entry_points(group=\"myapp.plugins\"):\n    ep.load()\nINSTALLED_APPS = [\"django.contrib.admin\", \"corsheaders\"]\n");
        assert_eq!(s.groups, vec![GroupLoad { group: "myapp.plugins".into(), line: 3 }]);
        let strs: Vec<&str> = s.strings.iter().map(|(t, _)| t.as_str()).collect();
        assert!(strs.contains(&"corsheaders") && !strs.iter().any(|t| t.contains("torch")), "{strs:?}");
    }

    #[test]
    fn source_that_is_not_utf8_is_mended_not_dropped() {
        // Tokens borrow from a UTF-8 source; a stray byte anywhere makes every token mended
        // (U+FFFD), the same as a lossy decoding of each token, with lines counted the same.
        let s = scan(b"import caf\xe9\nx = \"\xff ok\"\ndef f():\n    from a\xff.b import (c,\n        d)\n");
        assert_eq!(mods(&s), vec![("caf\u{fffd}".into(), 0, vec![], 1), ("a\u{fffd}.b".into(), 0, vec!["c".into(), "d".into()], 4)]);
        assert_eq!(s.imports[1].context, vec!["function f"]);
        assert_eq!(s.strings, vec![("\u{fffd} ok".to_string(), 2)]);
    }

    /// What a digest keeps, found by cutting every line into tokens.
    fn kept(s: &Scan) -> (Vec<Import>, Vec<GroupLoad>) {
        (s.imports.clone(), s.groups.clone())
    }

    #[test]
    fn reading_past_lines_finds_what_cutting_every_line_finds() {
        // Lines a digest reads past (no import word in them) still end, indent and open blocks
        // exactly as when every line is cut into tokens (`scan`): tried on pieces that bend
        // lines, strung together at random.
        let pieces: &[&str] = &[
            "import a",
            "from . import b",
            "from x.y import (c,\n d)",
            "def f(x):",
            "async def g():",
            "class K(B):",
            "try:",
            "except E:",
            "finally:",
            "if x:",
            "elif y:",
            "else:",
            "if y: import z",
            "while 1:",
            "with a as b:",
            "for i in r: pass",
            "match p:",
            "case {'a': 1}:",
            "x = {'a': 1}",
            "y = z[1:]",
            "if (w := 1):",
            "lambda: 0",
            "s = f\"{'a'} import q\"",
            "'''doc\nimport fake\n'''",
            "\"\"\"d\"\"\"",
            "# import c",
            "\\\n",
            "1.f\"{'\"'}\"",
            "a.f\"{'\"'}\"",
            "f\"{'\"'}\"",
            "t'{\"'\"}'",
            "rb'\\''",
            "f\"{x[\"k\"]}\"",
            "entry_points(group='g')",
            "iter_entry_points('h')",
            "importlib.import_module('m')",
            "__import__(n)",
            "u'abc",
            "\"open",
            "(",
            ")",
            "]",
            ":",
            ";",
            "\\",
            "x1.rf\"{'\"'}\"",
            "9rf'{\"'\"}'",
            "caf\u{e9}",
            "group = 2",
            "def import_module(x):",
            "pass",
            "return (",
            "'''",
            "\"\"\"",
        ];
        let seps: &[&str] = &["", " ", "\n", "\n    ", "\n\t", "\r\n", "\n\n  ", " # c\n", "\n        "];
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        for _ in 0..4000 {
            let mut src = String::new();
            for _ in 0..next(24) + 1 {
                src.push_str(pieces[next(pieces.len())]);
                src.push_str(seps[next(seps.len())]);
            }
            let full = scan(src.as_bytes());
            assert_eq!(kept(&scan_with(src.as_bytes(), false)), kept(&full), "{src:?}");
        }
    }

    #[test]
    fn yield_from_and_raise_from_are_not_imports() {
        let s = scan(b"def g():\n    yield from other\n    raise X from e\n");
        assert!(s.imports.is_empty());
    }

    #[test]
    fn trust_remote_code_is_seen_in_calls_and_dicts() {
        let s = scan(b"m = AutoModel.from_pretrained(NAME, trust_remote_code=True)\nkw = {\"trust_remote_code\": True}\nn = f(trust_remote_code=False)\n");
        assert_eq!(s.remote_code, vec![1, 2]);
    }
}
