//! Edits at byte spans of the original text and how they are spliced: removing commands from a
//! RUN's `&&` chain (or the whole step when nothing useful stays), collisions between findings,
//! and where original offsets land in the output.

use crate::dockerfile::Step;
use crate::dockerfile::shell::Cmd;
use std::collections::BTreeSet;
use std::ops::Range;

#[derive(Debug, Clone)]
pub(super) struct Edit {
    pub(super) span: Range<usize>,
    pub(super) text: String,
    pub(super) finding: usize,
}

pub(super) fn line_start(text: &str, off: usize) -> usize {
    text[..off].rfind('\n').map_or(0, |i| i + 1)
}

pub(super) fn line_end(text: &str, off: usize) -> usize {
    if off > 0 && text.as_bytes().get(off - 1) == Some(&b'\n') {
        return off;
    }
    text[off..].find('\n').map_or(text.len(), |i| off + i)
}

/// The whole instruction with its line ending, for removing a step.
pub(super) fn step_removal(text: &str, s: &Step) -> Range<usize> {
    let start = line_start(text, s.span.start);
    let end = text[s.span.end..].find('\n').map_or(text.len(), |i| s.span.end + i + 1);
    start..end
}

pub(super) fn cmds(s: &Step) -> &[Cmd] {
    match s.script.as_ref().map(|x| &x.cmds) {
        Some(Ok(c)) => c,
        _ => &[],
    }
}

/// Commands that only refresh or clean apt's state: a RUN left with nothing else does nothing.
pub(super) fn idle(c: &Cmd) -> bool {
    let t: Vec<&str> = c.words.iter().map(|w| w.text()).collect();
    matches!(t.as_slice(), ["apt-get" | "apt", "update", ..] | ["apt-get" | "apt", "clean", ..] | ["apt-get" | "apt", "autoremove", ..])
        || (t.first() == Some(&"rm") && t[1..].iter().all(|w| w.starts_with('-') || w.starts_with("/var/lib/apt/lists") || w.starts_with("/var/cache/apt")))
}

/// Edits that take `gone` commands out of step `s`: the whole step when nothing useful stays.
pub(super) fn remove_cmds(text: &str, s: &Step, gone: &BTreeSet<usize>, finding: usize, edits: &mut Vec<Edit>) -> Result<(), String> {
    let all = cmds(s);
    let rest: Vec<&Cmd> = all.iter().enumerate().filter(|(k, _)| !gone.contains(k)).map(|(_, c)| c).collect();
    if rest.iter().all(|c| idle(c)) {
        edits.push(Edit { span: step_removal(text, s), text: String::new(), finding });
        return Ok(());
    }
    for &k in gone {
        let c = &all[k];
        let Some(r) = c.removal.clone() else {
            return Err(format!("`{}` is inside a pipeline or a compound command", c.words.iter().map(|w| w.raw.as_str()).collect::<Vec<_>>().join(" ")));
        };
        edits.push(Edit { span: r, text: String::new(), finding });
    }
    Ok(())
}

/// An edit that was made, and where the text after it moved.
#[derive(Debug, Clone)]
pub(super) struct Made {
    pub(super) edit: Edit,
}

impl Made {
    pub(super) fn delta(&self) -> isize {
        self.edit.text.len() as isize - self.edit.span.len() as isize
    }

    /// Where original offset `off` is in the output (offsets inside a replaced range go to its
    /// start; an insertion at `off` counts as after it).
    pub(super) fn map(off: usize, made: &[Made]) -> usize {
        let mut d: isize = 0;
        for m in made {
            if m.edit.span.end <= off && !(m.edit.span.is_empty() && m.edit.span.start == off) {
                d += m.delta();
            } else if m.edit.span.start < off && off < m.edit.span.end {
                d += m.edit.span.start as isize - off as isize;
            }
        }
        (off as isize + d) as usize
    }

    /// Like `map`, but insertions at `off` count as before it.
    pub(super) fn map_end(off: usize, made: &[Made]) -> usize {
        let extra: isize = made.iter().filter(|m| m.edit.span.is_empty() && m.edit.span.start == off).map(|m| m.delta()).sum();
        (Self::map(off, made) as isize + extra) as usize
    }
}

/// Make `edits` on `text`. The same edit asked for twice is made once; an edit inside a range
/// another deletes goes with it. Two edits that overlap otherwise are a collision: `Err((later
/// finding, earlier finding, offset))`.
pub(super) fn splice(text: &str, edits: Vec<Edit>) -> Result<(String, Vec<Made>), (usize, usize, usize)> {
    let mut uniq: Vec<Edit> = Vec::new();
    for e in edits {
        if !uniq.iter().any(|u| u.span == e.span && u.text == e.text) {
            uniq.push(e);
        }
    }
    let deletions: Vec<Edit> = uniq.iter().filter(|e| !e.span.is_empty() && e.text.is_empty()).cloned().collect();
    // An edit inside a range another deletes goes with it (an insertion at either end of it stays).
    let swallowed = |e: &Edit, d: &Edit| {
        d.span != e.span && d.span.start <= e.span.start && e.span.end <= d.span.end && !(e.span.is_empty() && (e.span.start == d.span.start || e.span.start == d.span.end))
    };
    let mut kept: Vec<Edit> = uniq.into_iter().filter(|e| !deletions.iter().any(|d| swallowed(e, d))).collect();
    kept.sort_by(|a, b| a.span.start.cmp(&b.span.start).then(a.span.end.cmp(&b.span.end)));
    for w in kept.windows(2) {
        let (x, y) = (&w[0], &w[1]);
        if y.span.start < x.span.end {
            let (later, earlier) = if x.finding > y.finding { (x.finding, y.finding) } else { (y.finding, x.finding) };
            if later == earlier {
                continue;
            }
            return Err((later, earlier, y.span.start));
        }
    }
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    let mut made = Vec::new();
    for e in kept {
        if e.span.start < at {
            continue; // overlaps an edit of the same finding already made
        }
        out.push_str(&text[at..e.span.start]);
        out.push_str(&e.text);
        at = e.span.end;
        made.push(Made { edit: e });
    }
    out.push_str(&text[at..]);
    Ok((out, made))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colliding_edits_are_refused_and_nested_ones_go_with_their_deletion() {
        let e = |r: Range<usize>, t: &str, f: usize| Edit { span: r, text: t.into(), finding: f };
        let text = "0123456789";
        // A word deleted inside a whole-step deletion: swallowed; an insertion at the end stays.
        let (out, made) = splice(text, vec![e(2..8, "", 0), e(3..4, "", 1), e(8..8, "X", 2)]).unwrap();
        assert_eq!(out, "01X89");
        assert_eq!(made.len(), 2);
        // Overlapping replacements of two findings: the later one is named.
        assert_eq!(splice(text, vec![e(2..5, "a", 0), e(4..6, "b", 1)]).unwrap_err().0, 1);
    }
}
