//! Glue between the command line and the library: read inputs, call one function, render,
//! pick the exit code. No logic of their own.

pub mod analyze;
pub mod check;
pub mod diff;
pub mod rewrite;
pub mod why;

/// The files an image's arguments name (image, groups, rules), which no output may replace.
pub fn inputs(a: &crate::cli::ImageArgs) -> crate::output::Inputs {
    let image = crate::source::local_path(&a.image).unwrap_or_else(|| a.image.clone().into());
    let mut i = crate::output::Inputs::of([image.as_path()]);
    for p in [&a.groups, &a.rules].into_iter().flatten() {
        i.add(p);
    }
    i
}

/// Analysis options from the image arguments every command shares.
pub fn options(a: &crate::cli::ImageArgs, top: usize) -> crate::error::Result<crate::analyze::Options<'static>> {
    let mut o = crate::analyze::Options::new(top);
    o.selector = crate::image::resolve::Selector { image: a.select.clone(), platform: a.platform.clone() };
    o.progress = crate::progress(a.quiet);
    o.verify = a.verify;
    o.remote = a.remote.settings();
    o.cache = cache(&a.cache, &[&a.image]);
    if let Some(f) = &a.groups {
        o.groups = crate::attribute::groups::GroupTable::with_file(f)?;
    }
    if let Some(f) = &a.rules {
        o.rules = crate::rules::RuleSet::with_file(f)?;
    }
    Ok(o)
}

/// The layer cache the flags name, unless `--no-cache`; `images` are the inputs (a cache inside
/// one is refused).
pub fn cache(a: &crate::cli::CacheArgs, images: &[&str]) -> Option<crate::cache::Cache> {
    if a.no_cache {
        return None;
    }
    let inputs: Vec<std::path::PathBuf> = images.iter().filter_map(|i| crate::source::local_path(i)).collect();
    crate::cache::Cache::open(a.cache_dir.as_deref(), a.cache_max.bytes, &inputs)
}

/// Render a model in the format a `--format` flag names.
pub fn render(doc: &crate::report::Doc, flag: impl clap::ValueEnum) -> crate::error::Result<String> {
    use crate::report::Format::*;
    let name = flag.to_possible_value().map(|v| v.get_name().to_owned()).unwrap_or_default();
    let format = match name.as_str() {
        "text" => Text,
        "json" => Json,
        "markdown" => Markdown,
        "html" => Html,
        "sarif" => Sarif,
        "junit" => Junit,
        "github" => Github,
        _ => return Err(crate::error::Error::Usage(format!("unknown format {name}"))),
    };
    crate::report::render(doc, format).ok_or_else(|| crate::error::Error::Usage(format!("this command has no {name} format")))
}
