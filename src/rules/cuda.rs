//! cuda-on-cpu: torch's CUDA build (and its nvidia-* and triton wheels) in an image that
//! nothing targets at a GPU; the saving is measured against the CPU wheel's size (rules.toml
//! `cpu_torch`).

use super::view::View;
use super::{CpuTorch, Draft, RuleSet, step};
use crate::attribute::python::Dist;
use crate::model::analysis::Action;
use crate::show::human;

fn gpu_hints(v: &View) -> Vec<String> {
    let mut hints = Vec::new();
    let cfg = v.a.image.config.config.clone().unwrap_or_default();
    for e in cfg.env.iter().flatten() {
        let k = e.split('=').next().unwrap_or("");
        if matches!(k, "NVIDIA_VISIBLE_DEVICES" | "NVIDIA_DRIVER_CAPABILITIES" | "CUDA_VERSION" | "NV_CUDA_LIB_VERSION" | "NVIDIA_REQUIRE_CUDA") {
            hints.push(format!("ENV {k}"));
        }
    }
    for k in cfg.labels.iter().flatten().map(|(k, _)| k) {
        if k.starts_with("com.nvidia.") {
            hints.push(format!("LABEL {k}"));
        }
    }
    for h in v.a.image.config.history.iter().flatten() {
        let c = h.created_by.as_deref().unwrap_or("");
        if c.contains("--gpus") || c.contains("nvidia/cuda") {
            hints.push("a build step mentions a GPU".into());
        }
    }
    if v.a.tree.get(b"usr/local/cuda").is_some() {
        hints.push("/usr/local/cuda exists (a CUDA base image)".into());
    }
    hints
}

/// Files of the CUDA torch wheel that its CPU wheel does not have.
fn cuda_only(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["cuda", "cudnn", "nccl", "nvrtc", "cublas", "cusparse", "cufft", "curand", "cusolver", "nvtoolsext", "cupti", "nvjitlink"].iter().any(|k| n.contains(k))
}

/// The CPU-wheel row for a torch release: its own, else the nearest earlier release in the table,
/// else the nearest later one. The bool is true for an exact match.
fn cpu_torch_row<'a>(rows: &'a [CpuTorch], release: &[u64]) -> Option<(&'a CpuTorch, bool)> {
    let parsed: Vec<(Vec<u64>, &CpuTorch)> = rows.iter().filter_map(|r| r.version.parse::<pep440_rs::Version>().ok().map(|v| (v.release().to_vec(), r))).collect();
    if let Some((_, r)) = parsed.iter().find(|(v, _)| v.as_slice() == release) {
        return Some((r, true));
    }
    let below = parsed.iter().filter(|(v, _)| v.as_slice() < release).max_by(|a, b| a.0.cmp(&b.0));
    let above = parsed.iter().filter(|(v, _)| v.as_slice() > release).min_by(|a, b| a.0.cmp(&b.0));
    below.or(above).map(|(_, r)| (*r, false))
}

pub(super) fn cuda_on_cpu(set: &RuleSet, v: &View, out: &mut Vec<Draft>) {
    for (ti, torch) in v.dists().iter().enumerate().filter(|(_, d)| d.name == "torch") {
        // A local version label tells the build: 2.5.1+cpu, 2.5.1+cu124.
        let local: Vec<String> = torch.parsed.as_ref().map(|v| v.local().iter().map(|l| l.to_string()).collect()).unwrap_or_default();
        if local.iter().any(|l| l == "cpu") {
            continue;
        }
        let env_dists: Vec<&Dist> = v.dists().iter().filter(|d| d.env == torch.env).collect();
        let nvidia: Vec<&Dist> = env_dists.iter().copied().filter(|d| d.name.starts_with("nvidia-")).collect();
        let triton: Vec<&Dist> = env_dists.iter().copied().filter(|d| d.name == "triton" || d.name == "pytorch-triton").collect();
        let torch_all = v.dist_inodes(torch);
        let torch_cuda: Vec<u32> = torch_all
            .iter()
            .copied()
            .filter(|&i| {
                let p = v.path(i);
                p.contains("/torch/lib/") && cuda_only(p.rsplit('/').next().unwrap_or(""))
            })
            .collect();
        if nvidia.is_empty() && torch_cuda.is_empty() {
            continue;
        }
        let hints = gpu_hints(v);
        if !hints.is_empty() {
            continue;
        }
        let mut stack = Vec::new();
        let mut owners = vec![format!("python:torch {}", torch.version)];
        for d in nvidia.iter().chain(&triton) {
            stack.extend(v.dist_inodes(d));
            owners.push(format!("python:{} {}", d.name, d.version));
        }
        // The table is of Linux x86_64 wheels; an image of another architecture, or a torch
        // version that does not parse, is estimated from its own files instead.
        let platform = &v.a.analysis.image.platform;
        let x86 = platform.ends_with("/amd64") || !platform.contains('/') || platform.ends_with("/unknown");
        let row = torch.parsed.as_ref().filter(|_| x86).and_then(|p| cpu_torch_row(&set.cpu_torch, p.release()));
        let own_estimate = v.bytes(&torch_all) - v.bytes(&torch_cuda);
        let (removed, added, how) = match row {
            Some((r, exact)) => {
                // Bytecode pip compiled at install is not in a wheel; the CPU wheel's .py files
                // are the same, so this image's torch bytecode is added back as it is.
                let bytecode: u64 = torch_all.iter().filter(|&&i| v.path(i).contains("/__pycache__/")).map(|&i| v.size(i)).sum();
                let which = if exact { String::new() } else { format!(", from its nearest row ({}): no public size of torch {}'s CPU wheel was found", r.version, torch.version) };
                // The saving is the same either way (torch, nvidia-*, triton, less the CPU
                // wheel); the files listed as going are the CUDA ones unless the CPU wheel is
                // smaller than what would stay of this one, so that a finding taking torch
                // whole (heavy-dependency) still counts the rest of torch in the totals.
                let cpu = r.installed + bytecode;
                let (mut removed, added) = if cpu >= own_estimate { (torch_cuda.clone(), cpu - own_estimate) } else { (torch_all.clone(), cpu) };
                removed.extend(&stack);
                let how = format!(
                    "The CPU wheel replaces torch and takes no nvidia-* wheels and no triton. Its installed size comes from the cpu_torch table (docs/cpu-torch/){which}. torch {}'s CPU wheel (Linux x86_64, {}) downloads at {} MB as pip printed it in {}; × {:.4}, the ratio of installed to zipped bytes of the files a CPU wheel also has in PyPI's {}, gives {} installed, plus this image's torch bytecode ({}). For comparison, this image's torch without its CUDA libraries is {}.",
                    r.version,
                    r.wheel_tag,
                    r.wheel_mb,
                    r.source,
                    r.expansion,
                    r.pypi_wheel,
                    human(r.installed),
                    human(bytecode),
                    human(own_estimate)
                );
                (removed, added, how)
            }
            None => {
                let mut removed = torch_cuda.clone();
                removed.extend(&stack);
                let why = if !x86 {
                    "the cpu_torch table is of Linux x86_64 wheels and this image is another platform"
                } else if torch.parsed.is_none() {
                    "torch's version is not a PEP 440 version to look up in the cpu_torch table"
                } else {
                    "the cpu_torch table has no rows"
                };
                let how = format!(
                    "Estimated from the image's own files ({why}): the CPU wheel of torch taken as this wheel without its CUDA libraries (torch/lib/*cuda*, *cudnn*, *nccl*, *nvrtc*, *cublas*...), and no nvidia-* wheels or triton. On x86_64 this undercounts the CPU wheel by 72-138 MB across the torch versions measured (docs/cpu-torch/)."
                );
                (removed, 0, how)
            }
        };
        let mut notes = Vec::new();
        for d in v.required_by(ti) {
            notes.push(format!("torch ← {d}"));
        }
        notes.push(format!("{} nvidia-* wheels, {} of CUDA libraries inside torch/lib", nvidia.len(), human(v.bytes(&torch_cuda))));
        let mut packages = vec!["torch".to_string()];
        for extra in ["torchvision", "torchaudio"] {
            if env_dists.iter().any(|d| d.name == extra) {
                packages.push(extra.into());
            }
        }
        let saved = v.bytes(&removed).saturating_sub(added);
        let cuda_bytes = v.bytes(&stack) + v.bytes(&torch_cuda);
        out.push(Draft::new(
            "cuda-on-cpu",
            format!("torch {} is the CUDA build ({} of CUDA libraries) but nothing in the image targets a GPU", torch.version, human(cuda_bytes)),
            removed.clone(),
            added,
            format!("{how} No GPU hint was found (CUDA base image, NVIDIA_* variables, com.nvidia labels, --gpus). Estimated saving {}.", human(saved)),
            v.evidence(&removed, owners, vec![step(v.a, v.layer_of_dist(torch))], notes),
            format!(
                "Install the CPU wheels: pip install {} --index-url https://download.pytorch.org/whl/cpu (before the packages that depend on torch, so pip keeps them).",
                packages.join(" ")
            ),
            Action::PipIndexUrl { packages, index_url: "https://download.pytorch.org/whl/cpu".into() },
        ));
    }
}
