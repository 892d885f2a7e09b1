#!/usr/bin/env bash
# Build the realistic ML benchmark image (bench/ml-image: python:3.11-slim + sentence-transformers,
# torch and its nvidia-* CUDA wheels, pip run without --no-cache-dir on purpose: ~6 GB) and export
# the one built image four ways:
#
#   ml-docker.tar       docker-archive (what `docker save` writes)
#   ml-oci-gzip.tar     oci-archive, gzip layers
#   ml-oci-zstd.tar     oci-archive, zstd layers
#   ml-oci-dir/         OCI layout, uncompressed layers (tag "latest"), input for
#                       fixtures/oracle/rootfs_walk.py (re-exported with skopeo from the buildah
#                       store: build-image's `--compress none` still gzips oci-dir layers)
#
#   bench/build-ml-image.sh [OUT_DIR] [--force]
#
# OUT_DIR defaults to /work/bench-images and must be outside the repository. Outputs that already
# exist are kept unless --force. The image is built by /work/shared/tools/build-image (override with
# $BUILD_IMAGE), which runs `buildah bud --layers` on every call: only the first call builds, the
# others must reuse the cached layers, and this script checks that every export comes from the same
# image ID and that all four outputs carry the same layers (diff_ids). The image ID is kept in
# OUT_DIR/ml-image.id so that a later partial run cannot mix outputs of two different builds.
# Needs ~40 GB free: the buildah store, two uncompressed copies and two compressed ones.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
ctx=$here/ml-image
build_image=${BUILD_IMAGE:-/work/shared/tools/build-image}
tag=localhost/slim-bench-ml:latest
min_free_gb=${SLIM_BENCH_MIN_FREE_GB:-40}

usage() { sed -n 's|^#   \(bench/build-ml-image.sh .*\)|usage: \1|p' "$0" >&2; exit 2; }
out="" force=0
for arg in "$@"; do
  case $arg in
    --force) force=1 ;;
    -h|--help) usage ;;
    -*) usage ;;
    *) [[ -z $out ]] || usage; out=$arg ;;
  esac
done
out=$(realpath -m "${out:-/work/bench-images}")
case $out/ in
  "$(realpath "$repo")"/*) echo "build-ml-image: $out is inside the repository; pick a directory outside it" >&2; exit 2 ;;
esac
[[ -x $build_image ]] || { echo "build-ml-image: $build_image not found" >&2; exit 2; }
for t in buildah skopeo jq python3; do
  command -v $t >/dev/null || { echo "build-ml-image: $t is required" >&2; exit 2; }
done
[[ -f $ctx/Dockerfile ]] || { echo "build-ml-image: no Dockerfile in $ctx" >&2; exit 2; }
mkdir -p "$out"

# The same buildah store build-image uses, to read the image ID after each call.
root=${SLIM_BUILDAH_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/slim-buildah}
bh() { buildah --root "$root/storage" --runroot "$root/run" --storage-driver "${SLIM_BUILDAH_DRIVER:-overlay}" "$@"; }
image_id() { bh inspect --type image --format '{{.FromImageID}}' "$tag"; }

# true when an OCI layout's "latest" manifest has a layer that is not a plain tar
oci_dir_compressed() {
  local digest
  digest=$(jq -r '.manifests[] | select(.annotations."org.opencontainers.image.ref.name" == "latest") | .digest' "$1/index.json")
  jq -e '[.layers[].mediaType | select(endswith("+gzip") or endswith("+zstd"))] | length > 0' \
    "$1/blobs/${digest%%:*}/${digest#*:}" >/dev/null
}

log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# name  build-image arguments
exports=(
  "ml-docker.tar|--format docker-archive"
  "ml-oci-gzip.tar|--format oci-archive --compress gzip"
  "ml-oci-zstd.tar|--format oci-archive --compress zstd"
  "ml-oci-dir|--format oci-dir --compress none"
)

todo=()
for e in "${exports[@]}"; do
  name=${e%%|*}
  if [[ -e $out/$name && $force -eq 0 ]]; then
    log "$name exists, skipped (--force to redo)"
  else
    todo+=("$e")
  fi
done

if ((${#todo[@]})); then
  free_gb=$(df -P -BG "$out" | awk 'NR == 2 {sub("G", "", $4); print $4}')
  if ((free_gb < min_free_gb)); then
    echo "build-ml-image: only ${free_gb} GB free on $out, need ~${min_free_gb} GB (SLIM_BENCH_MIN_FREE_GB)" >&2
    exit 1
  fi
  ((force)) && rm -f "$out/ml-image.id"
  want_id=""
  [[ -f $out/ml-image.id ]] && want_id=$(<"$out/ml-image.id")
  first=1
  for e in "${todo[@]}"; do
    name=${e%%|*}
    read -ra args <<<"${e#*|}"
    tmp=$out/.$name.partial
    rm -rf "$tmp"
    if ((first)); then log "$name: building the image (pip downloads ~2.5 GB unless cached) and exporting"
    else log "$name: exporting (the build must come from the layer cache)"; fi
    start=$SECONDS
    "$build_image" "$ctx" "$tmp" --tag "$tag" "${args[@]}" >/dev/null
    secs=$((SECONDS - start))
    id=$(image_id)
    if [[ -z $want_id ]]; then
      want_id=$id
    elif [[ $id != "$want_id" ]]; then
      rm -rf "$tmp"
      if ((first)); then
        echo "build-ml-image: the image built now ($id) is not the one the existing outputs in $out" \
             "come from ($want_id); rerun with --force to redo them all" >&2
      else
        echo "build-ml-image: $name came from image $id, not $want_id: build-image rebuilt instead of" \
             "reusing its cached layers" >&2
      fi
      exit 1
    fi
    if [[ $name == ml-oci-dir ]] && oci_dir_compressed "$tmp"; then
      # `buildah push --disable-compression` still gzips layers for an oci: destination (containers/image
      # compresses unless SystemContext.OCIAcceptUncompressedLayers is set, which buildah 1.28 never
      # sets): export the same image again straight from the buildah store, keeping its layers as is.
      log "$name: build-image wrote compressed layers (${secs}s); exporting uncompressed with skopeo"
      rm -rf "$tmp"
      skopeo copy --quiet --dest-oci-accept-uncompressed-layers \
        "containers-storage:[${SLIM_BUILDAH_DRIVER:-overlay}@$root/storage+$root/run]$tag" "oci:$tmp:latest"
      oci_dir_compressed "$tmp" && { echo "build-ml-image: $name still has compressed layers" >&2; exit 1; }
      secs=$((SECONDS - start))
    fi
    rm -rf "${out:?}/$name"
    mv "$tmp" "$out/$name"
    echo "$want_id" >"$out/ml-image.id"
    log "$name: done in ${secs}s ($(du -sh --apparent-size "$out/$name" | cut -f1), image ${id:0:12})"
    first=0
  done
fi

# All four outputs must carry the same layers: compare the configs' rootfs.diff_ids (uncompressed
# layer digests), read straight from the tarballs / layout without unpacking them.
log "checking that the four outputs hold the same layers"
python3 - "$out" <<'PY'
import json, os, sys, tarfile

out = sys.argv[1]

def blob(read, digest):
    algo, hexd = digest.split(":", 1)
    return json.loads(read(f"blobs/{algo}/{hexd}"))

def oci_diff_ids(read):
    index = json.loads(read("index.json"))
    desc = next(m for m in index["manifests"]
                if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == "latest")
    manifest = blob(read, desc["digest"])
    return blob(read, manifest["config"]["digest"])["rootfs"]["diff_ids"], manifest["layers"]

def tar_reader(path):
    tf = tarfile.open(path)
    members = {m.name[2:] if m.name.startswith("./") else m.name: m for m in tf.getmembers()}
    return lambda name: tf.extractfile(members[name]).read()

def docker_diff_ids(path):
    read = tar_reader(path)
    manifest = json.loads(read("manifest.json"))[0]
    return json.loads(read(manifest["Config"]))["rootfs"]["diff_ids"]

results = {
    "ml-docker.tar": docker_diff_ids(os.path.join(out, "ml-docker.tar")),
}
layers = {}
for name in ("ml-oci-gzip.tar", "ml-oci-zstd.tar"):
    results[name], layers[name] = oci_diff_ids(tar_reader(os.path.join(out, name)))
d = os.path.join(out, "ml-oci-dir")
results["ml-oci-dir"], layers["ml-oci-dir"] = oci_diff_ids(
    lambda name: open(os.path.join(d, name), "rb").read())

ref = results["ml-docker.tar"]
bad = [n for n, ids in results.items() if ids != ref]
if bad:
    sys.exit(f"build-ml-image: layers differ from ml-docker.tar in: {', '.join(bad)}")
if any(l["mediaType"] != "application/vnd.oci.image.layer.v1.tar" for l in layers["ml-oci-dir"]):
    sys.exit("build-ml-image: ml-oci-dir has compressed layers; rerun with --force")
for name, ls in layers.items():
    kinds = sorted({l["mediaType"].rsplit(".", 1)[-1] for l in ls})
    print(f"{name}: {len(ls)} layers, {', '.join(kinds)}", file=sys.stderr)
print(f"all four outputs: {len(ref)} layers, same diff_ids", file=sys.stderr)
PY
ls -l "$out"
