#!/usr/bin/env python3
"""Write the fuzz targets' seed corpus from the repository's fixtures into fuzz/corpus/TARGET/
(not committed: it is made again whenever it is needed).

  archive     every packaging of the pyapp image in fixtures/images (tar, gzip, zstd, OCI, docker 24/25)
  image_json  its index, manifests and configs, digests and sizes turned into {M} {C} {L} {MS} ...
  layer       its layer blobs (uncompressed and gzip), in pairs, behind the one-byte cut
  dockerfile  every Dockerfile under fixtures/
  metadata    the METADATA and RECORD files and dpkg status of its layers, NUL-separated
  imports     every Python file under fixtures/, and the .py files in its layers
  zstd        its zstd layer blobs, the zstd-compressed docker save, and two blobs as one stream
              with a skippable frame between them
"""
import gzip
import hashlib
import io
import json
import os
import pathlib
import re
import sys
import tarfile

root = pathlib.Path(__file__).resolve().parent.parent
fixtures = root / "fixtures"
out = root / "fuzz" / "corpus"


def put(target, data):
    d = out / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


images = fixtures / "images"
for p in sorted(images.iterdir()):
    if p.is_file():
        put("archive", p.read_bytes())

oci = images / "pyapp-oci-dir"
blobs = {p.name: p.read_bytes() for p in (oci / "blobs" / "sha256").iterdir()}
index = (oci / "index.json").read_text()
manifest_digest = json.loads(index)["manifests"][0]["digest"]
manifest = blobs[manifest_digest[7:]].decode()
m = json.loads(manifest)
config_digest = m["config"]["digest"]
config = blobs[config_digest[7:]].decode()
layers = [blobs[l["digest"][7:]] for l in m["layers"]]


def template(text):
    """Digests and sizes of what image_json packages, as its placeholders."""
    text = text.replace(manifest_digest, "{M}").replace(config_digest, "{C}")
    text = re.sub(r'"size"\s*:\s*%d' % len(blobs[manifest_digest[7:]]), '"size":{MS}', text)
    text = re.sub(r'"size"\s*:\s*%d' % len(config.encode()), '"size":{CS}', text)
    return text


# OCI: index, manifest (one layer: the fuzz target's own), config (one diff_id).
m1 = dict(m, layers=[dict(m["layers"][0], digest="{L}", size=0)])
m1_text = json.dumps(m1).replace('"size": 0', '"size": {LS}').replace(config_digest, "{C}")
m1_text = re.sub(r'"size": %d' % len(config.encode()), '"size": {CS}', m1_text)
c = json.loads(config)
c["rootfs"]["diff_ids"] = ["{L}"]
c["history"] = [h for h in c.get("history", []) if h.get("empty_layer")] + [{"created_by": "COPY app /app"}]
c_text = json.dumps(c)
put("image_json", b"\x01" + template(index).encode() + b"\0" + m1_text.encode() + b"\0" + c_text.encode())
# docker save: manifest.json then the config.
put("image_json", b"\x00" + json.dumps([{"Config": "{CH}.json", "RepoTags": ["a/b:c"], "Layers": ["layer.tar"]}]).encode() + b"\0" + c_text.encode())
# An index that nests another, and one with two platforms.
nested = {"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "{M}", "size": "{MS}",
          "platform": {"architecture": "amd64", "os": "linux"}, "annotations": {"org.opencontainers.image.ref.name": "latest"}},
          {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "{M}", "size": "{MS}", "platform": {"architecture": "arm64", "os": "linux"}}]}
put("image_json", b"\x01" + json.dumps(nested).replace('"{MS}"', "{MS}").encode() + b"\0" + m1_text.encode() + b"\0" + c_text.encode())

for a, b in zip(layers, layers[1:] + layers[:1]):
    n = min(len(a) // 512, 255)
    put("layer", bytes([n]) + a[: n * 512] + b)
    put("layer", bytes([255]) + gzip.compress(a, mtime=0) + gzip.compress(b, mtime=0))

for p in sorted(fixtures.rglob("Dockerfile*")):
    put("dockerfile", p.read_bytes())

found = {"METADATA": [], "RECORD": [], "status": []}
for blob in layers:
    with tarfile.open(fileobj=io.BytesIO(blob)) as t:
        for e in t.getmembers():
            base = e.name.rsplit("/", 1)[-1]
            if e.isfile() and (base in ("METADATA", "RECORD") or e.name.endswith("var/lib/dpkg/status")):
                found["status" if base == "status" else base].append(t.extractfile(e).read())
status = found["status"][0] if found["status"] else b""
for meta, record in zip(found["METADATA"], found["RECORD"]):
    put("metadata", meta + b"\0" + record + b"\0" + status)

for p in sorted(fixtures.rglob("*.py")):
    put("imports", p.read_bytes())
for blob in layers:
    with tarfile.open(fileobj=io.BytesIO(blob)) as t:
        for e in t.getmembers():
            if e.isfile() and e.name.endswith(".py"):
                put("imports", t.extractfile(e).read())

zstd_magic = b"\x28\xb5\x2f\xfd"
with tarfile.open(images / "pyapp-oci-archive-zstd.tar") as t:
    frames = sorted((t.extractfile(e).read() for e in t.getmembers() if e.isfile()), key=len)
frames = [f for f in frames if f.startswith(zstd_magic)]
for f in frames:
    put("zstd", f)
put("zstd", (images / "pyapp-docker-archive.tar.zst").read_bytes())
skippable = (0x184D2A50).to_bytes(4, "little") + (5).to_bytes(4, "little") + b"slim!"
put("zstd", frames[0] + skippable + frames[1])

for t in sorted(out.iterdir()):
    print(f"{t.name}: {len(list(t.iterdir()))} seeds", file=sys.stderr)
