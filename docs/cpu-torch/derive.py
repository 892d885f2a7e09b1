#!/usr/bin/env python3
"""Derive the installed size of PyTorch's CPU wheels (Linux x86_64) per torch version, for the
[[cpu_torch]] table in src/rules/rules.toml that the cuda-on-cpu rule (SLIM001) reads.

The CPU wheels live on download.pytorch.org, which slim's build machine cannot reach, and no
public source states their installed size. What public sources do state is their download size,
as pip prints it (`Downloading .../torch-2.5.1%2Bcpu-cp311-cp311-linux_x86_64.whl (174.7 MB)`,
MB = 10^6 bytes): SOURCES below, each with where it was printed. The installed size is then

    installed ≈ download size × expansion

where `expansion` is measured on the same version's PyPI wheel (the CUDA build), over the members
a CPU wheel also has: every member except the CUDA libraries in torch/lib (the same name test as
the rule's `cuda_only`). It is the uncompressed bytes of those members over the bytes they take in
the zip (compressed data plus the local and central headers). The PyPI wheel is never downloaded:
its central directory is read with HTTP range requests (PyPI's JSON simple index gives the URL).

Usage: python3 docs/cpu-torch/derive.py > /tmp/rows.toml   (prints the TOML rows and, on stderr,
the measurements: members, bytes, the CUDA-library bytes left out, the ratio).
"""
import io
import json
import sys
import urllib.request
import zipfile

# version, python tag of the logged wheel, pip's printed size in MB (10^6 bytes), where printed.
SOURCES = [
    ("2.0.0", "cp310", 195.4, "Render build log in the EkaTechKB/lavanya_tts deployment guide (commit 7da623e): 'Using cached https://download.pytorch.org/whl/cpu/torch-2.0.0%2Bcpu-cp310-cp310-linux_x86_64.whl (195.4 MB)'"),
    ("2.1.1", "cp311", 184.9, "https://github.com/astral-sh/uv/issues/1497: 'Using cached https://download.pytorch.org/whl/cpu/torch-2.1.1%2Bcpu-cp311-cp311-linux_x86_64.whl (184.9 MB)'"),
    ("2.2.0", "cp311", 186.8, "https://github.com/astral-sh/uv/issues/2538 (2024-03-19): 'Downloading https://download.pytorch.org/whl/cpu/torch-2.2.0%2Bcpu-cp311-cp311-linux_x86_64.whl (186.8 MB)'"),
    ("2.2.1", "cp310", 186.8, "a public pip log: 'Downloading https://download.pytorch.org/whl/cpu/torch-2.2.1%2Bcpu-cp310-cp310-linux_x86_64.whl (186.8 MB)'"),
    ("2.2.2", "cp38", 186.8, "a public notebook's pip output: 'Using cached https://download.pytorch.org/whl/cpu/torch-2.2.2%2Bcpu-cp38-cp38-linux_x86_64.whl (186.8 MB)'"),
    ("2.3.1", "cp312", 190.4, "a public GitHub Actions log: 'Downloading https://download-r2.pytorch.org/whl/cpu/torch-2.3.1%2Bcpu-cp312-cp312-linux_x86_64.whl (190.4 MB)'"),
    ("2.4.1", "cp312", 194.8, "welshDog/HYPER-SILLs-By-WelshDog status report: 'Using cached https://download-r2.pytorch.org/whl/cpu/torch-2.4.1%2Bcpu-cp312-cp312-linux_x86_64.whl (194.8 MB)' (cp38: 194.9 MB in another log)"),
    ("2.5.0", "cp313", 174.7, "freedv-gui install notes: 'Using cached https://download.pytorch.org/whl/cpu/torch-2.5.0%2Bcpu-cp313-cp313-linux_x86_64.whl (174.7 MB)'"),
    ("2.5.1", "cp311", 174.7, "a public Docker build log: 'Downloading https://download.pytorch.org/whl/cpu/torch-2.5.1%2Bcpu-cp311-cp311-linux_x86_64.whl (174.7 MB)'"),
    ("2.6.0", "cp312", 178.6, "a public Docker build log: 'Downloading https://download.pytorch.org/whl/cpu/torch-2.6.0%2Bcpu-cp312-cp312-linux_x86_64.whl (178.6 MB)'"),
    ("2.8.0", "cp310", 184.0, "a public docker compose log: 'Downloading https://download.pytorch.org/whl/cpu/torch-2.8.0%2Bcpu-cp310-cp310-manylinux_2_28_x86_64.whl (184.0 MB)'"),
    ("2.9.0", "cp311", 184.5, "david-xinyuwei/llm-memory-estimator GOLDEN_PATH_COMPLIANCE.md (commit f21d09e): 'Downloading torch-2.9.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl (184.5 MB)'"),
    ("2.10.0", "cp312", 188.9, "a public Docker build log: 'Downloading https://download.pytorch.org/whl/cpu/torch-2.10.0%2Bcpu-cp312-cp312-manylinux_2_28_x86_64.whl (188.9 MB)'"),
    ("2.12.0", "cp312", 192.3, "two public build logs: 'Downloading https://download-r2.pytorch.org/whl/cpu/torch-2.12.0%2Bcpu-cp312-cp312-manylinux_2_28_x86_64.whl (192.3 MB)'"),
    ("2.13.0", "cp311", 191.8, "a public environment report: 'Downloading https://download-r2.pytorch.org/whl/cpu/torch-2.13.0%2Bcpu-cp311-cp311-manylinux_2_28_x86_64.whl (191.8 MB)'"),
    ("2.14.1", "cp311", 196.2, "a GitHub Actions log of BrooklynD23/HealthCentral (job 110113890519): 'Downloading torch-2.14.1%2Bcpu-cp311-cp311-manylinux_2_28_x86_64.whl (196.2 MB)'"),
]

CUDA_WORDS = ["cuda", "cudnn", "nccl", "nvrtc", "cublas", "cusparse", "cufft", "curand", "cusolver", "nvtoolsext", "cupti", "nvjitlink"]


def cuda_only(member):
    name = member.rsplit("/", 1)[-1].lower()
    return member.startswith("torch/lib/") and any(w in name for w in CUDA_WORDS)


class Remote(io.RawIOBase):
    """A read-only, seekable view of a URL through HTTP range requests, in 1 MiB blocks."""

    BLOCK = 1 << 20

    def __init__(self, url, size):
        self.url, self.size, self.pos, self.blocks = url, size, 0, {}

    def seekable(self):
        return True

    def readable(self):
        return True

    def tell(self):
        return self.pos

    def seek(self, off, whence=0):
        self.pos = {0: off, 1: self.pos + off, 2: self.size + off}[whence]
        return self.pos

    def block(self, k):
        if k not in self.blocks:
            lo, hi = k * self.BLOCK, min(self.size, (k + 1) * self.BLOCK) - 1
            req = urllib.request.Request(self.url, headers={"Range": f"bytes={lo}-{hi}"})
            with urllib.request.urlopen(req, timeout=60) as r:
                if r.status != 206:
                    raise OSError(f"{self.url}: no range support (HTTP {r.status})")
                self.blocks[k] = r.read()
        return self.blocks[k]

    def readinto(self, b):
        n = min(len(b), self.size - self.pos)
        got = 0
        while got < n:
            k, off = divmod(self.pos + got, self.BLOCK)
            chunk = self.block(k)[off : off + n - got]
            b[got : got + len(chunk)] = chunk
            got += len(chunk)
        self.pos += n
        return n


def pypi_wheel(index, version, tag):
    for want in (tag, "cp311"):
        for f in index["files"]:
            fn = f["filename"]
            if fn.startswith(f"torch-{version}-{want}-{want}-") and fn.endswith("x86_64.whl") and "linux" in fn:
                return f
    raise SystemExit(f"derive.py: no PyPI Linux x86_64 wheel of torch {version}")


def main():
    req = urllib.request.Request("https://pypi.org/simple/torch/", headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    index = json.load(urllib.request.urlopen(req, timeout=60))
    for version, tag, mb, source in SOURCES:
        f = pypi_wheel(index, version, tag)
        z = zipfile.ZipFile(io.BufferedReader(Remote(f["url"], f["size"]), 1 << 20))
        kept = [i for i in z.infolist() if not cuda_only(i.filename)]
        cuda = [i for i in z.infolist() if cuda_only(i.filename)]
        # Bytes a member takes in the zip: its data, a local header (30 + name + extra) and a
        # central one (46 + name + extra + comment); extras are approximated by the central ones.
        def stored(i):
            return i.compress_size + 30 + 46 + 2 * len(i.filename.encode()) + 2 * len(i.extra) + len(i.comment)
        uncompressed = sum(i.file_size for i in kept)
        expansion = round(uncompressed / sum(stored(i) for i in kept), 4)
        installed = round(mb * 1e6 * expansion)
        print(
            f"torch {version}: PyPI {f['filename']} {f['size']} B; {len(kept)} members kept, {uncompressed} B uncompressed; "
            f"{len(cuda)} CUDA members, {sum(i.file_size for i in cuda)} B left out; expansion {expansion:.4f}; "
            f"CPU wheel {mb} MB ({tag}) -> {installed} B installed",
            file=sys.stderr,
        )
        print("[[cpu_torch]]")
        print(f'version = "{version}"')
        print(f"wheel_mb = {mb}")
        print(f'wheel_tag = "{tag}"')
        print(f"expansion = {expansion:.4f}")
        print(f"installed = {installed}")
        print(f"pypi_wheel = {json.dumps(f['filename'])}")
        print(f"pypi_kept_uncompressed = {uncompressed}")
        print(f"source = {json.dumps(source)}")
        print()


if __name__ == "__main__":
    main()
