//! `slim rewrite IMAGE [--dockerfile FILE]`.

use crate::cli::RewriteArgs;
use crate::dockerfile::{self, reconstruct, rewrite};
use crate::error::{Error, Result};
use crate::model::rewrite::Outputs;
use crate::report::Doc;
use crate::{analyze, output};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub fn run(a: RewriteArgs) -> Result<ExitCode> {
    // Outputs are opened first: a bad path fails before any work.
    let mut inputs = super::inputs(&a.image);
    if let Some(f) = &a.dockerfile {
        inputs.add(f);
    }
    let out = output::Sink::open(a.output.as_deref(), &inputs)?;
    let ignore_path: Option<PathBuf> = a.dockerignore.clone().or_else(|| a.output.as_ref().map(|o| PathBuf::from(format!("{}.dockerignore", o.display()))));
    if let Some(p) = &ignore_path {
        // Refused now, not after the analysis: it is written beside the image more often.
        inputs.check(p)?;
    }
    let (name, text, context) = match &a.dockerfile {
        Some(f) => {
            let t = std::fs::read_to_string(f).map_err(|e| Error::input(f.display(), e))?;
            let ctx = a.context.clone().unwrap_or_else(|| f.parent().map(Path::to_path_buf).filter(|p| !p.as_os_str().is_empty()).unwrap_or_else(|| ".".into()));
            (f.display().to_string(), Some(t), ctx)
        }
        None => ("(reconstructed)".to_string(), None, a.context.clone().unwrap_or_else(|| ".".into())),
    };
    if let Some(t) = &text {
        // Parse before the (long) analysis: a broken Dockerfile is a usage error.
        dockerfile::Parsed::read(t, &Default::default()).map_err(|e| Error::input(&name, e))?;
    }
    let opts = super::options(&a.image, 10)?;
    let done = analyze::run(&a.image.image, &opts)?;
    let reconstructed = text.is_none();
    if reconstructed {
        eprintln!("slim: WARNING: no --dockerfile given; rewriting a Dockerfile RECONSTRUCTED from the image history (check its FROM line and COPY sources)");
    }
    let text = text.unwrap_or_else(|| reconstruct::from_history(&done.image));
    let mut build_args = dockerfile::shell::Vars::new();
    for b in &a.build_args {
        let (k, v) = b.split_once('=').ok_or_else(|| Error::Usage(format!("--build-arg {b}: expected NAME=VALUE")))?;
        build_args.insert(k.to_string(), v.to_string());
    }
    let req = rewrite::Request {
        image: &a.image.image,
        name: &name,
        text: &text,
        reconstructed,
        build_args: &build_args,
        context: &context,
        force: a.force,
        options: rewrite::Options { dockerignore: ignore_path.is_some(), requirements_dir: None },
    };
    let (outcome, mut report) = rewrite::plan(&req, &done)?;

    // A rewritten requirements file goes into the build context (the output COPYs it from
    // there): never over a file of the user's. One this rewrite would write the same is fine.
    for (file, body) in &outcome.requirements {
        let p = context.join(file);
        if std::fs::symlink_metadata(&p).is_ok() && std::fs::read(&p).ok().as_deref() != Some(body.as_bytes()) {
            return Err(Error::input(p.display(), "exists and is not what this rewrite writes there (the rewritten requirements the output COPYs); move it away and run again"));
        }
    }

    // Write the .dockerignore and requirements files beside the output.
    let mut outputs = Outputs { dockerfile: a.output.as_ref().map(|p| p.display().to_string()), ..Outputs::default() };
    if let (Some(body), Some(path)) = (&outcome.dockerignore, &ignore_path) {
        output::Sink::open(Some(path), &inputs)?.finish(body.as_bytes())?;
        outputs.dockerignore = Some(path.display().to_string());
    }
    // Rewritten requirements files go into the build context, beside the files they replace,
    // so that the emitted Dockerfile builds as it is.
    for (file, body) in &outcome.requirements {
        let p = context.join(file);
        output::Sink::open(Some(&p), &inputs)?.finish(body.as_bytes())?;
        outputs.requirements.push(p.display().to_string());
    }
    // Edited project files (their lock must be regenerated) go beside the output.
    let out_dir = a.output.as_ref().and_then(|o| o.parent().map(Path::to_path_buf)).unwrap_or_else(|| ".".into());
    for (file, body) in &outcome.projects {
        let p = out_dir.join(file);
        output::Sink::open(Some(&p), &inputs)?.finish(body.as_bytes())?;
        outputs.projects.push(p.display().to_string());
    }
    let diff = a.diff.then(|| {
        similar::TextDiff::from_lines(&text, &outcome.dockerfile)
            .unified_diff()
            .header(&name, &a.output.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "slimmed".into()))
            .to_string()
    });
    report.outputs = outputs;
    report.diff = diff;
    let body = super::render(&Doc::Rewrite(&report), a.format)?;
    match a.output {
        Some(_) => {
            out.finish(outcome.dockerfile.as_bytes())?;
            output::Sink::open(None, &inputs)?.finish(body.as_bytes())?;
        }
        None => {
            out.finish(outcome.dockerfile.as_bytes())?;
            eprint!("{body}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
