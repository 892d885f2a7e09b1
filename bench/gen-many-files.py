#!/usr/bin/env python3
"""One layer of 1,000,000 small files (10 bytes each) in 1,000 directories, as a docker save.

    bench/gen-many-files.py   (writes syn-1m-files.tar in the current directory)
"""
import hashlib, json, io, tarfile
def hdr(name, size, typ=b"0"):
    h = bytearray(512)
    n = name.encode(); h[0:len(n)] = n
    h[100:108] = b"0000644\0"; h[108:116] = b"0000000\0"; h[116:124] = b"0000000\0"
    h[124:136] = b"%011o\0" % size; h[136:148] = b"14000000000\0"
    h[148:156] = b" " * 8; h[156:157] = typ; h[257:263] = b"ustar\0"; h[263:265] = b"00"
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)
data = b"0123456789" + b"\0" * 502
with open("layer-1m.tar", "wb") as f:
    for d in range(1000):
        f.write(hdr(f"d{d}/", 0, b"5"))
        for i in range(1000):
            f.write(hdr(f"d{d}/f{i}", 10)); f.write(data)
    f.write(b"\0" * 1024)
h = hashlib.sha256(open("layer-1m.tar", "rb").read()).hexdigest()
cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {}, "rootfs": {"type": "layers", "diff_ids": ["sha256:" + h]}, "history": [{"created_by": "x"}]}).encode()
cn = hashlib.sha256(cfg).hexdigest() + ".json"
man = json.dumps([{"Config": cn, "RepoTags": ["m:1"], "Layers": ["l/layer.tar"]}]).encode()
with tarfile.open("syn-1m-files.tar", "w", format=tarfile.GNU_FORMAT) as t:
    for n, b in [("manifest.json", man), (cn, cfg)]:
        ti = tarfile.TarInfo(n); ti.size = len(b); t.addfile(ti, io.BytesIO(b))
    t.add("layer-1m.tar", arcname="l/layer.tar")
