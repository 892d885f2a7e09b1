//! The pipeline behind `slim analyze`: open the input, resolve the image, scan its layers,
//! merge them into one tree, and describe the result as the typed model.

use crate::attribute::{self, groups::GroupTable};
use crate::error::{Error, Result};
use crate::facts::Analyzed;
use crate::image::resolve::{self, Image, Selector};
use crate::image::store::Source;
use crate::layers::tree::{Kind, Tree};
use crate::layers::walk::{Capture, Keep, LayerScan};
use crate::model::analysis::{Analysis, DirBytes, FileBytes, ImageInfo, Layer, Totals, Verified, WastedFile};
use crate::rules::{self, RuleSet};
use crate::show::display_path;
use indicatif::ProgressBar;

pub struct Options<'a> {
    pub selector: Selector,
    /// How many rows the lists in the model keep.
    pub top: usize,
    pub capture: Capture<'a>,
    pub progress: ProgressBar,
    pub groups: GroupTable,
    pub rules: RuleSet,
    /// Hash uncompressed layers of seekable inputs too (`--verify`).
    pub verify: bool,
    /// Build the bounded tree of the final filesystem the HTML report draws.
    pub treemap: bool,
    /// How to reach registries.
    pub remote: crate::source::Settings,
    /// Where layers already read are kept (none by default). Its entries hold what the
    /// default `capture` keeps: a caller with another capture leaves it out.
    pub cache: Option<crate::cache::Cache>,
}

impl Options<'static> {
    /// Defaults: no selection, attribution's capture, built-in groups, no progress bar.
    pub fn new(top: usize) -> Self {
        Options {
            selector: Selector::default(),
            top,
            capture: &capture,
            progress: ProgressBar::hidden(),
            groups: GroupTable::builtin(),
            rules: RuleSet::builtin(),
            verify: false,
            treemap: false,
            remote: crate::source::Settings::default(),
            cache: None,
        }
    }
}

/// What the analysis keeps of each file while layers are read: the metadata attribution reads
/// and the app's source whole, installed packages' own code as its imports only, and small
/// source archives (to see whether they are sdists).
pub fn capture(path: &[u8], size: u64) -> Keep {
    if attribute::wants(path, size) {
        Keep::All
    } else if crate::deps::imports::is_library_source(path, size) {
        Keep::Digest(crate::deps::imports::digest)
    } else if rules::archives::wants(path, size) {
        Keep::All
    } else {
        Keep::Nothing
    }
}

pub fn run(input: &str, opts: &Options) -> Result<Analyzed> {
    let (mut src, select) = crate::source::open(input, &opts.remote, opts.capture, &opts.progress)?;
    src.verify = opts.verify;
    match select {
        // `oci:DIR:REF` and friends name the image unless --image does.
        Some(image) if opts.selector.image.is_none() => {
            let sel = Selector { image: Some(image), platform: opts.selector.platform.clone() };
            let image = resolve::resolve(&src, &sel)?;
            finish(src, image, opts)
        }
        _ => run_source(src, opts),
    }
}

fn finish(mut src: Source, image: Image, opts: &Options) -> Result<Analyzed> {
    // A config not checked against a digest is bound to the image by its diff_ids: every layer
    // is hashed (a full read of uncompressed ones) and must match.
    if !image.config_verified {
        src.verify = true;
    }
    src.digest_named = image.layers.iter().filter(|l| l.digest.is_some()).map(|l| l.name.clone()).collect();
    let diff_ids = image.diff_ids();
    let created_by = image.created_by();
    let mut tree = Tree::new();
    let mut layers = Vec::with_capacity(image.layers.len());
    let mut failed: Option<Error> = None;
    let mut verified = Verified { config: image.config_verified, config_by: image.config_verified.then(|| "digest".into()), ..Verified::default() };
    // Each layer is merged into the tree as soon as it and those below it are scanned, and its
    // entries dropped: the peak holds the tree and the layers still waiting, not every layer.
    let (cache, layer_refs) = (opts.cache.as_ref(), &image.layers);
    crate::cache::scan::scan_layers_each(&src, cache, layer_refs, &diff_ids, opts.verify, opts.capture, &opts.progress, &mut |i, scan| {
        if failed.is_some() {
            return;
        }
        let lref = &image.layers[i];
        let at = format!("{i} ({})", lref.name);
        let merged = scan.and_then(|scan| {
            let (blob, diff) = verify(&src, &scan, lref, diff_ids[i].as_deref())?;
            for (done, list) in [(blob, &mut verified.layer_blobs), (diff, &mut verified.diff_ids)] {
                if done {
                    list.push(i as u64);
                }
            }
            if !blob && !diff {
                verified.not_verified.push(i as u64);
            }
            tree.apply(&scan)?;
            Ok(Layer {
                index: i as u64,
                digest: diff_ids[i].clone().or_else(|| lref.digest.clone()).or_else(|| scan.digest.clone()).unwrap_or_default(),
                blob_digest: lref.digest.clone().or_else(|| scan.digest.clone()),
                created_by: created_by[i].clone(),
                compression: scan.compression.name().into(),
                compressed_bytes: scan.blob_bytes,
                tar_bytes: scan.tar_bytes,
                file_bytes: 0,
                files_added: 0,
                files_changed: 0,
                files_removed: 0,
                wasted_bytes: 0,
            })
        });
        match merged {
            Ok(l) => layers.push(l),
            Err(what) => failed = Some(Error::layer(&src.display, &at, what)),
        }
    });
    opts.progress.finish_and_clear();
    if let Some(e) = failed {
        return Err(e);
    }
    for (l, s) in layers.iter_mut().zip(&tree.layers) {
        l.file_bytes = s.file_bytes;
        l.files_added = s.files_added;
        l.files_changed = s.files_changed;
        l.files_removed = s.files_removed;
        l.wasted_bytes = s.wasted_bytes;
    }
    let env = image.config.config.as_ref().and_then(|c| c.env.clone()).unwrap_or_default();
    let attribution = attribute::attribute(&mut tree, &opts.groups, &env);
    let mut analysis = describe(&src, &image, &tree, layers, opts.top);
    if !verified.config && !analysis.layers.is_empty() && verified.diff_ids.len() == analysis.layers.len() {
        verified.config = true;
        verified.config_by = Some("diff_ids".into());
    }
    for w in src.budget_warnings() {
        eprintln!("slim: warning: {}: {w}", crate::escape::escape(&src.display));
        analysis.warnings.push(w);
    }
    analysis.image.verified = Some(verified);
    analysis.owners = attribute::owner_rows(&tree, &attribution, &opts.groups);
    analysis.groups = attribution.groups.clone();
    analysis.models = attribution.models.clone();
    if opts.treemap {
        analysis.treemap = Some(crate::treemap::build(&tree, &attribution, &opts.groups));
    }
    let usage = crate::deps::Usage::compute(&mut tree, &attribution, &image);
    analysis.app = Some(usage.summary(&attribution));
    analysis.unused_packages = crate::deps::why::unused_rows(&usage, &attribution, &analysis.layers);
    let dupes = match rules::dupes::find(&src, &image, &tree) {
        Ok(Some(d)) => Some(d),
        Ok(None) => {
            analysis.warnings.push("duplicate-files was not checked: a one-pass input (stdin or a compressed archive) cannot be read again".into());
            None
        }
        Err(what) => return Err(Error::input(&src.display, format!("reading files again to compare them: {what}"))),
    };
    let mut done = Analyzed { analysis, plans: Vec::new(), attribution, image, tree, usage };
    let (findings, reclaimable, plans) = rules::evaluate(&opts.rules, &done, dupes.as_ref());
    done.analysis.findings = findings;
    done.plans = plans;
    done.analysis.totals.reclaimable_bytes = reclaimable;
    Ok(done)
}

/// Check what was read against what the manifest and config promised: the size always; the
/// blob's digest when the blob was read in full (sha512 ones by reading it again); the diff_id
/// when the tar stream was hashed (one-pass inputs; compressed blobs no manifest digest names;
/// every blob with `--verify` or a config checked by its diff_ids). Returns (blob digest
/// checked, diff_id checked).
fn verify(src: &Source, scan: &LayerScan, lref: &resolve::LayerRef, diff_id: Option<&str>) -> Result<(bool, bool), String> {
    if let Some(size) = lref.size {
        if size != scan.blob_bytes {
            return Err(format!("size mismatch: the manifest says {size} bytes, the blob has {}", scan.blob_bytes));
        }
    }
    let mut blob = false;
    if let Some(want) = lref.digest.as_deref() {
        let got = if want.starts_with("sha256:") {
            scan.digest.clone()
        } else {
            match src.blob_digest(&lref.name, want) {
                Some(r) => r?,
                None => return Err(format!("its {} digest cannot be checked in a one-pass input; save the image to a file first", want.split(':').next().unwrap_or(""))),
            }
        };
        if let Some(got) = got {
            if got != want {
                return Err(format!("digest mismatch: expected {want}, got {got}"));
            }
            blob = true;
        }
    }
    let mut diff = false;
    if let (Some(want), Some(got)) = (diff_id, &scan.diff_digest) {
        if want != got {
            return Err(format!("diff_id mismatch: the config says {want}, the uncompressed layer is {got}"));
        }
        diff = true;
    }
    Ok((blob, diff))
}

fn describe(src: &Source, image: &Image, tree: &Tree, layers: Vec<Layer>, top: usize) -> Analysis {
    let (final_bytes, final_files) = tree.final_totals();
    let layer_file_bytes: u64 = layers.iter().map(|l| l.file_bytes).sum();

    let mut files: Vec<(u64, u32)> = tree.final_files().into_iter().map(|n| (tree.inodes[tree.nodes[n as usize].inode as usize].size, n)).collect();
    files.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let largest_files = files.iter().take(top).map(|&(bytes, n)| FileBytes { path: display_path(&tree.path(n)), bytes, layer: u64::from(tree.nodes[n as usize].layer) }).collect();

    let (dir_bytes, dir_files) = tree.dir_sizes();
    let mut dirs: Vec<u32> = (1..tree.nodes.len() as u32).filter(|&n| tree.nodes[n as usize].kind == Kind::Dir).collect();
    let final_dirs = dirs.len() as u64;
    dirs.sort_unstable_by(|&a, &b| dir_bytes[b as usize].cmp(&dir_bytes[a as usize]).then(a.cmp(&b)));
    let largest_dirs = dirs.iter().take(top).map(|&n| DirBytes { path: display_path(&tree.path(n)), bytes: dir_bytes[n as usize], files: dir_files[n as usize] }).collect();

    let mut waste: Vec<&crate::layers::tree::Waste> = tree.waste.iter().collect();
    waste.sort_unstable_by(|a, b| b.bytes.cmp(&a.bytes).then(a.node.cmp(&b.node)));
    let wasted_files = waste
        .iter()
        .take(top)
        .map(|w| WastedFile { path: display_path(&tree.path(w.node)), bytes: w.bytes, added_in: u64::from(w.added_in), hidden_in: u64::from(w.hidden_in) })
        .collect();

    Analysis {
        schema_version: crate::model::ANALYSIS_SCHEMA,
        image: ImageInfo {
            source: src.display.clone(),
            format: image.format.name().into(),
            compression: src.outer.name().into(),
            reference: image.reference.as_deref().map(crate::escape::escape),
            platform: crate::escape::escape(&image.platform),
            config_digest: image.config_digest.clone(),
            verified: None,
        },
        totals: Totals {
            layers: layers.len() as u64,
            compressed_bytes: layers.iter().map(|l| l.compressed_bytes).sum(),
            tar_bytes: layers.iter().map(|l| l.tar_bytes).sum(),
            layer_file_bytes,
            final_bytes,
            final_files,
            final_dirs,
            wasted_bytes: layer_file_bytes - final_bytes,
            wasted_files: tree.waste.len() as u64,
            efficiency: tree.efficiency(),
            reclaimable_bytes: 0,
        },
        layers,
        largest_files,
        largest_dirs,
        wasted_files,
        owners: Vec::new(),
        groups: Vec::new(),
        models: Vec::new(),
        findings: Vec::new(),
        app: None,
        unused_packages: Vec::new(),
        warnings: tree.warnings.clone(),
        treemap: None,
    }
}

/// Analyse an already opened source (used for readers other than files and stdin).
pub fn run_source(src: Source, opts: &Options) -> Result<Analyzed> {
    let image = resolve::resolve(&src, &opts.selector)?;
    finish(src, image, opts)
}
