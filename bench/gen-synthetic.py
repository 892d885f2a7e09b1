#!/usr/bin/env python3
"""Write a synthetic docker-archive (docker save, legacy layout) for benchmarks at scale.

    bench/gen-synthetic.py OUT.tar [--preset scale|smoke] [--bytes N] [--files N] [--layers N]
                           [--big-file N] [--seed N]

  --preset scale  10 GB of file data, 500 000 file entries, 50 layers, one 8.25 GiB file
  --preset smoke  100 MB, 5 000 file entries, 10 layers, no big file (CI's bench smoke)

What a real image has and a reader must get right, at any scale: whiteouts (`.wh.NAME`, of files
and of whole directories), opaque directories (`.wh..wh..opq`), files overwritten by later
layers, hard links (in one layer and to a file of a lower layer), symlinks, paths longer than
100 bytes (PAX `path`), and with `--big-file` a file over 8 GiB (a PAX `size` record: ustar's
size field stops at 8 GiB), so its layer blob is over 4 GiB and over 8 GiB in the outer tar too.

It streams: each layer is written straight to OUT (its outer header written last, in space kept
for it), hashed on the way for the config's diff_ids; only the list of live paths is kept in
memory. File data is zeros after a 16-byte marker that makes each file's content its own (a few
files are deliberate copies, for duplicate detection); runs of zeros of 1 MiB and more are left
as holes in OUT, so the 10 GB image needs about 2 GB of disk and writes fast. Deterministic for
a given seed.
"""

import argparse
import hashlib
import json
import os
import random
import sys

BLOCK = 512
ZERO_CHUNK = memoryview(bytes(1 << 20))
HOLE_MIN = 1 << 20
MTIME = 1_700_000_000

PRESETS = {
    "scale": dict(bytes=10_000_000_000, files=500_000, layers=50, big_file=int(8.25 * (1 << 30))),
    "smoke": dict(bytes=100_000_000, files=5_000, layers=10, big_file=0),
}


def octal(n, width):
    s = b"%o" % n
    if len(s) > width - 1:
        raise ValueError(f"{n} does not fit an octal field of {width}")
    return s.rjust(width - 1, b"0") + b"\0"


def pax_record(key, value):
    body = b" %s=%s\n" % (key.encode(), value)
    n = len(body)
    while True:
        rec = b"%d%s" % (n, body)
        if len(rec) == n:
            return rec
        n = len(rec)


def ustar(name, size, typ, link=b"", mode=0o644):
    h = bytearray(BLOCK)
    h[0:len(name)] = name
    h[100:108] = octal(mode, 8)
    h[108:116] = octal(0, 8)
    h[116:124] = octal(0, 8)
    h[124:136] = octal(size, 12)
    h[136:148] = octal(MTIME, 12)
    h[148:156] = b" " * 8
    h[156:157] = typ
    h[157:157 + len(link)] = link
    h[257:265] = b"ustar\x0000"
    h[265:269] = b"root"
    h[297:301] = b"root"
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)


def headers(name, size, typ, link=b"", mode=0o644):
    """ustar header, preceded by a PAX one when a field does not fit ustar."""
    recs = b""
    if len(name) > 100:
        recs += pax_record("path", name)
        name = name[:99]
    if len(link) > 100:
        recs += pax_record("linkpath", link)
        link = link[:99]
    if size >= 8 ** 11:
        recs += pax_record("size", b"%d" % size)
    out = b""
    if recs:
        out = ustar(b"PaxHeaders/" + name[-80:], len(recs), b"x") + recs + bytes(-len(recs) % BLOCK)
    return out + ustar(name, size if size < 8 ** 11 else 0, typ, link, mode)


class Out:
    """The output file: counts and (per layer) hashes what is written; zeros may be holes."""

    def __init__(self, f):
        self.f = f
        self.hasher = None
        self.written = 0

    def write(self, b):
        self.f.write(b)
        self.written += len(b)
        if self.hasher:
            self.hasher.update(b)

    def zeros(self, n):
        if self.hasher:
            left = n
            while left:
                k = min(left, len(ZERO_CHUNK))
                self.hasher.update(ZERO_CHUNK[:k])
                left -= k
        if n >= HOLE_MIN:
            self.f.seek(n, os.SEEK_CUR)
        else:
            self.f.write(bytes(n))
        self.written += n


class Gen:
    def __init__(self, args):
        self.a = args
        self.rng = random.Random(args.seed)
        self.live = {}  # path -> (size, marker) of live regular files
        self.dirs = {}  # leaf dir -> set of file names directly in it
        self.counter = 0
        self.entries = 0

    def marker(self):
        self.counter += 1
        return b"slim-synth%06d" % (self.counter % 1_000_000)

    def file_entry(self, out, path, size, marker=None):
        marker = marker or self.marker()
        out.write(headers(path, size, b"0"))
        head = marker[:size]
        out.write(head)
        out.zeros(size - len(head))
        out.zeros(-size % BLOCK)
        self.entries += 1
        return marker

    def sizes(self, count, total):
        w = [min(self.rng.paretovariate(1.1), 5e4) for _ in range(count)]
        s = sum(w)
        return [int(x / s * total) for x in w]

    def run(self):
        a = self.a
        layers = a.layers
        regular = max(a.files, layers)
        sizes = self.sizes(regular, max(a.bytes - a.big_file, 0))
        # files per layer: the base layer takes a third, the rest are spread evenly
        per = [regular // 3] + [0] * (layers - 1)
        rest = regular - per[0]
        for i in range(1, layers):
            per[i] = rest // (layers - 1) + (1 if i - 1 < rest % (layers - 1) else 0)
        big_layer = 1 if layers > 1 else 0
        diff_ids, names, history = [], [], []
        with open(a.out, "wb") as f:
            out = Out(f)
            it = iter(sizes)
            for li in range(layers):
                start = f.tell()
                f.seek(3 * BLOCK, os.SEEK_CUR)  # room for the outer PAX + ustar headers
                out.hasher = hashlib.sha256()
                layer_start = out.written
                what = self.layer(out, li, [next(it) for _ in range(per[li])],
                                  a.big_file if li == big_layer else 0)
                out.write(bytes(2 * BLOCK))  # end of the layer's archive
                size = out.written - layer_start
                digest = out.hasher.hexdigest()
                out.hasher = None
                name = f"{digest}/layer.tar".encode()
                recs = pax_record("size", b"%d" % size)
                hdr = (ustar(b"PaxHeaders/" + name, len(recs), b"x") + recs + bytes(-len(recs) % BLOCK)
                       + ustar(name, size if size < 8 ** 11 else 0, b"0"))
                end = f.tell()
                f.seek(start)
                f.write(hdr)
                f.seek(end)
                out.zeros(-size % BLOCK)
                diff_ids.append("sha256:" + digest)
                names.append(name.decode())
                history.append({"created": "2024-01-01T00:00:00Z", "created_by": f"/bin/sh -c #(nop) {what}"})
                print(f"layer {li}: {size} bytes, {what}", file=sys.stderr)
            config = {
                "architecture": "amd64",
                "os": "linux",
                "config": {"Env": ["PATH=/usr/local/bin:/usr/bin:/bin"], "Cmd": ["/bin/sh"]},
                "rootfs": {"type": "layers", "diff_ids": diff_ids},
                "history": history,
            }
            cfg = json.dumps(config).encode()
            cfg_name = hashlib.sha256(cfg).hexdigest() + ".json"
            manifest = json.dumps([{"Config": cfg_name, "RepoTags": ["slim-synthetic:latest"], "Layers": names}]).encode()
            for n, data in ((cfg_name.encode(), cfg), (b"manifest.json", manifest)):
                out.write(ustar(n, len(data), b"0"))
                out.write(data + bytes(-len(data) % BLOCK))
            out.write(bytes(2 * BLOCK))
            f.truncate(f.tell())
        print(f"{a.out}: {out.written} bytes, {self.entries} file entries, {layers} layers", file=sys.stderr)

    def layer(self, out, li, sizes, big):
        rng = self.rng
        ops = {"files": 0, "overwrites": 0, "whiteouts": 0, "dir-whiteouts": 0, "opaque": 0, "hardlinks": 0}
        if li > 1 and self.live:
            # deletions first in the tar, as a runtime may meet them anywhere in a layer
            paths = rng.sample(sorted(self.live), min(len(self.live), max(1, len(sizes) // 50)))
            for p in paths:
                if p in self.live:
                    d, n = p.rsplit(b"/", 1)
                    out.write(headers(d + b"/.wh." + n, 0, b"0"))
                    self.forget(p)
                    ops["whiteouts"] += 1
            if li % 7 == 3 and self.dirs:
                d = rng.choice(sorted(self.dirs))
                parent, n = d.rsplit(b"/", 1)
                out.write(headers(parent + b"/.wh." + n, 0, b"0"))
                for name in list(self.dirs.pop(d)):
                    self.live.pop(d + b"/" + name, None)
                ops["dir-whiteouts"] += 1
            if li % 5 == 4 and self.dirs:
                d = rng.choice(sorted(self.dirs))
                out.write(headers(d + b"/", 0, b"5", mode=0o755))
                out.write(headers(d + b"/.wh..wh..opq", 0, b"0"))
                for name in list(self.dirs[d]):
                    self.live.pop(d + b"/" + name, None)
                self.dirs[d] = set()
                ops["opaque"] += 1
        layer_files = []
        pkg = f"usr/lib/python3.11/site-packages/pkg{li:02d}".encode()
        out.write(headers(b"usr/", 0, b"5", mode=0o755))
        out.write(headers(pkg + b"/", 0, b"5", mode=0o755))
        if big:
            p = pkg + b"/weights/model-big.safetensors"
            out.write(headers(pkg + b"/weights/", 0, b"5", mode=0o755))
            self.add(p, big, self.file_entry(out, p, big))
            ops["files"] += 1
        sub = None
        for i, size in enumerate(sizes):
            if i % 200 == 0:
                sub = pkg + b"/mod%05d" % (i // 200)
                if i % 1000 == 0 and i:
                    sub += b"/" + b"deeply_nested_directory_name_" * 3 + b"%d" % i  # PAX path
                out.write(headers(sub + b"/", 0, b"5", mode=0o755))
            if li > 0 and self.live and rng.random() < 0.05:
                # overwrite a file of a lower layer with new content
                p = rng.choice(self.sample_live())
                self.forget(p)
                self.add(p, size, self.file_entry(out, p, size))
                ops["overwrites"] += 1
                continue
            p = sub + b"/file%06d.py" % i
            if layer_files and rng.random() < 0.01 and size >= 1 << 20:
                # a copy of a file of this layer: same size, same content
                src, ssize, smarker = layer_files[-1]
                self.add(p, ssize, self.file_entry(out, p, ssize, smarker))
            else:
                m = self.file_entry(out, p, size)
                self.add(p, size, m)
                layer_files.append((p, size, m))
            ops["files"] += 1
            if rng.random() < 0.01:
                out.write(headers(p + b".link", 0, b"1", p))
                self.add(p + b".link", *self.live[p])
                ops["hardlinks"] += 1
            if rng.random() < 0.005:
                out.write(headers(p + b".sym", 0, b"2", p.rsplit(b"/", 1)[1]))
        if li > 1 and self.live:
            # a hard link to a file a lower layer wrote
            t = rng.choice(self.sample_live())
            d = pkg + b"/links"
            out.write(headers(d + b"/", 0, b"5", mode=0o755))
            out.write(headers(d + b"/lower", 0, b"1", t))
            self.add(d + b"/lower", *self.live[t])
            ops["hardlinks"] += 1
        return ", ".join(f"{v} {k}" for k, v in ops.items() if v)

    def sample_live(self):
        # random.choice over a dict's keys needs a sequence: sample a few without copying all
        keys = []
        it = iter(self.live)
        skip = self.rng.randrange(max(1, len(self.live) - 64))
        for _ in range(skip):
            next(it)
        for k in it:
            keys.append(k)
            if len(keys) == 64:
                break
        return keys

    def add(self, path, size, marker):
        self.live[path] = (size, marker)
        d, n = path.rsplit(b"/", 1)
        self.dirs.setdefault(d, set()).add(n)

    def forget(self, path):
        self.live.pop(path, None)
        d, n = path.rsplit(b"/", 1)
        self.dirs.get(d, set()).discard(n)


def size_arg(s):
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    if s[-1:].upper() in mult:
        return int(float(s[:-1]) * mult[s[-1].upper()])
    return int(float(s))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("out")
    p.add_argument("--preset", choices=sorted(PRESETS), default="smoke")
    p.add_argument("--bytes", type=size_arg)
    p.add_argument("--files", type=int)
    p.add_argument("--layers", type=int)
    p.add_argument("--big-file", type=size_arg)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    for k, v in PRESETS[a.preset].items():
        if getattr(a, k) is None:
            setattr(a, k, v)
    if a.layers < 1 or a.files < 0:
        p.error("need at least one layer")
    Gen(a).run()


if __name__ == "__main__":
    main()
