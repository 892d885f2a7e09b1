//! A Dockerfile rebuilt from the image's history, like `docker history --no-trunc`, for
//! images whose Dockerfile the user does not have. It is approximate and says so: the base
//! image and COPY sources are not recorded in an image.

use crate::image::resolve::Image;

/// The Dockerfile text the history describes.
pub fn from_history(image: &Image) -> String {
    let mut out = String::from(
        "# slim: RECONSTRUCTED from the image history, not the original Dockerfile.\n\
         # The base image and COPY/ADD sources are not recorded in an image: check them before building.\n\
         FROM scratch\n",
    );
    for h in image.config.history.iter().flatten() {
        let c = h.created_by.as_deref().unwrap_or("").trim();
        let c = c.strip_suffix("# buildkit").unwrap_or(c).trim_end();
        let line = if let Some(rest) = c.strip_prefix("/bin/sh -c #(nop)") {
            rest.trim().to_string()
        } else if let Some(rest) = c.strip_prefix("/bin/sh -c ").or_else(|| c.strip_prefix("RUN /bin/sh -c ")) {
            format!("RUN {}", rest.trim())
        } else if c.is_empty() {
            continue;
        } else {
            c.to_string()
        };
        // `COPY file:<hash> in /dest` names no source: keep the destination.
        let line = match line.split_once(" in ") {
            Some((head, dest)) if (head.starts_with("COPY ") || head.starts_with("ADD ")) && (head.contains("file:") || head.contains("dir:")) => {
                let kw = head.split_whitespace().next().unwrap_or("COPY");
                format!("{kw} . {}", dest.trim())
            }
            _ => line,
        };
        out.push_str(&line.replace('\n', " \\\n    "));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_becomes_instructions() {
        let img = crate::image::config::image_with_history(
            &[
                ("/bin/sh -c #(nop) WORKDIR /app", true),
                ("/bin/sh -c pip install x", false),
                ("/bin/sh -c #(nop) COPY dir:abc in /app/ ", false),
                ("RUN /bin/sh -c apt-get update # buildkit", false),
            ],
            0,
        );
        let d = from_history(&img);
        assert!(d.contains("RECONSTRUCTED"));
        assert!(d.contains("\nWORKDIR /app\nRUN pip install x\nCOPY . /app/\nRUN apt-get update\n"), "{d}");
        crate::dockerfile::parse("x", &d).unwrap();
    }
}
