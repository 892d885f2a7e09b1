#!/usr/bin/env python3
"""Make a variant of an OCI image archive whose top layer changed, as a CI rebuild that only
touched the app makes, without building it again: every other blob is copied as it is, the top
layer is rewritten with one more file, and the config (its diff_id) and the manifest (the
layer's digest and size, the config's) are written again, as is index.json.

    bench/change-top-layer.py IN.tar OUT.tar [--text TEXT] [--extra-layer-mib N]

--text: what the added file (app/CHANGED) holds, so two variants differ.
--extra-layer-mib N: add a layer of its own on top as well, holding N MiB of incompressible
bytes (a second image that shares the base and torch layers and has layers of its own).
"""
import argparse
import copy
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile


def sha(b):
    return hashlib.sha256(b).hexdigest()


def tar_bytes(entries):
    """A tar of (name, bytes) files and names ending in / as directories."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for name, data in entries:
            ti = tarfile.TarInfo(name.rstrip("/"))
            ti.mtime = 0
            if name.endswith("/"):
                ti.type = tarfile.DIRTYPE
                ti.mode = 0o755
                t.addfile(ti)
            else:
                ti.size = len(data)
                ti.mode = 0o644
                t.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--text", default="changed")
    ap.add_argument("--extra-layer-mib", type=int, default=0)
    a = ap.parse_args()

    with tarfile.open(a.src) as t:
        members = {m.name.lstrip("./"): m for m in t.getmembers() if m.isfile()}
        read = lambda name: t.extractfile(members[name]).read()
        index = json.loads(read("index.json"))
        mdesc = index["manifests"][0]
        blob = lambda d: "blobs/sha256/" + d.split(":", 1)[1]
        manifest = json.loads(read(blob(mdesc["digest"])))
        config = json.loads(read(blob(manifest["config"]["digest"])))
        top = manifest["layers"][-1]
        old_top = read(blob(top["digest"]))

        # The top layer again, with one more file.
        raw = gzip.decompress(old_top)
        src = tarfile.open(fileobj=io.BytesIO(raw))
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as t2:
            for m in src.getmembers():
                t2.addfile(m, src.extractfile(m) if m.isfile() else None)
            ti = tarfile.TarInfo("app/CHANGED")
            data = a.text.encode()
            ti.size, ti.mode, ti.mtime = len(data), 0o644, 0
            t2.addfile(ti, io.BytesIO(data))
        new_layers = [out.getvalue()]
        if a.extra_layer_mib:
            payload = os.urandom(a.extra_layer_mib << 20)
            new_layers.append(tar_bytes([("opt/", b""), ("opt/own/", b""), ("opt/own/data.bin", payload)]))

        new_blobs = {}
        manifest = copy.deepcopy(manifest)
        config = copy.deepcopy(config)
        manifest["layers"].pop()
        config["rootfs"]["diff_ids"].pop()
        for i, plain in enumerate(new_layers):
            gz = gzip.compress(plain, compresslevel=6, mtime=0)
            d = "sha256:" + sha(gz)
            new_blobs[blob(d)] = gz
            desc = dict(top, digest=d, size=len(gz))
            manifest["layers"].append(desc)
            config["rootfs"]["diff_ids"].append("sha256:" + sha(plain))
            if i > 0:
                config.setdefault("history", []).append({"created_by": f"COPY own-{i} /opt/own # bench/change-top-layer.py"})
        cfg = json.dumps(config, separators=(",", ":")).encode()
        manifest["config"] = dict(manifest["config"], digest="sha256:" + sha(cfg), size=len(cfg))
        new_blobs[blob(manifest["config"]["digest"])] = cfg
        man = json.dumps(manifest, separators=(",", ":")).encode()
        new_blobs[blob("sha256:" + sha(man))] = man
        index["manifests"][0] = dict(mdesc, digest="sha256:" + sha(man), size=len(man))

        dropped = {blob(top["digest"]), blob(mdesc["digest"])}
        # The old config stays only if the new one is the same (it is not).
        dropped.add(blob(json.loads(read(blob(mdesc["digest"])))["config"]["digest"]))
        tmp = a.dst + ".partial"
        with tarfile.open(tmp, "w", format=tarfile.PAX_FORMAT) as o:
            for name, m in members.items():
                if name in dropped or name == "index.json":
                    continue
                o.addfile(m, t.extractfile(m))
            for name, data in list(new_blobs.items()) + [("index.json", json.dumps(index).encode())]:
                ti = tarfile.TarInfo(name)
                ti.size, ti.mode, ti.mtime = len(data), 0o644, 0
                o.addfile(ti, io.BytesIO(data))
        os.replace(tmp, a.dst)
    print(f"{a.dst}: top layer {top['digest'][:19]}… replaced by {len(new_layers)} new layer(s)", file=sys.stderr)


if __name__ == "__main__":
    main()
