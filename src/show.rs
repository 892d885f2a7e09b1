//! How facts read for people, whatever the format or the room that words them: a path from the
//! image, a size in bytes, a build step. Low in the house so analysis, rules and reports agree.

/// A path for people and JSON: `/`-rooted, valid UTF-8 kept as is, any other byte, and any
/// control character (a newline, ESC), written as `\xNN`: nothing is lost or merged, and a
/// name from the image reads the same in every format and cannot start a line of its own.
pub fn display_path(p: &[u8]) -> String {
    let mut out = String::with_capacity(p.len() + 1);
    out.push('/');
    for chunk in p.utf8_chunks() {
        crate::escape::escape_into(&mut out, chunk.valid(), false);
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// Bytes in IEC units (KiB, MiB, GiB), one style everywhere in text output.
pub fn human(bytes: u64) -> String {
    bytesize::ByteSize::b(bytes).display().iec().to_string()
}

/// Shorten a Dockerfile step to one line of at most `max` characters.
pub fn short_step(step: Option<&str>, max: usize) -> String {
    let Some(s) = step else {
        return "(unknown: no history for this layer)".into();
    };
    let s = s.trim();
    let s = s.strip_prefix("/bin/sh -c #(nop) ").unwrap_or(s);
    let s = s.strip_prefix("/bin/sh -c ").map(|r| format!("RUN {r}")).unwrap_or_else(|| s.to_string());
    let one: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() <= max {
        one
    } else {
        let cut: String = one.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_shortened_to_one_line() {
        assert_eq!(short_step(Some("/bin/sh -c #(nop)  CMD [\"python\"]"), 60), "CMD [\"python\"]");
        assert_eq!(short_step(Some("/bin/sh -c apt-get update &&\n  apt-get install -y gcc"), 60), "RUN apt-get update && apt-get install -y gcc");
        assert_eq!(short_step(Some("RUN abcdefghij"), 8), "RUN abc…");
        assert!(short_step(None, 60).contains("unknown"));
    }
}
