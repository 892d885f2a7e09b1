#!/usr/bin/env bash
# slim reading an image from a registry against slim reading the same image as a local archive,
# side by side in one run, and the way a user does it today (skopeo copy, then slim analyze).
#
#   bench/registry.sh IMAGE.tar [ROUNDS]      (an oci-archive, e.g. /work/bench-images/ml-oci-gzip.tar)
#
# Starts Debian's docker-registry on a loopback port with its storage in a temporary directory,
# pushes the image with skopeo, then runs the three rows ROUNDS times (default 3), interleaved,
# under GNU time, and prints a markdown table of the medians (wall s, user+sys s, peak RSS MB)
# with each row's ratio to the local read. Checks that the three analyses are equal but for
# the fields naming the source. Needs ~2x the image's size free in $TMPDIR.
set -euo pipefail
img=${1:?usage: bench/registry.sh IMAGE.tar [ROUNDS]}
rounds=${2:-3}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
slim=${SLIM:-$here/../target/release/slim}
tmp=$(mktemp -d)
trap 'kill "$reg" 2>/dev/null || true; rm -rf "$tmp"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:%s\n' "$tmp/store" "$port" >"$tmp/config.yml"
docker-registry serve "$tmp/config.yml" >"$tmp/registry.log" 2>&1 &
reg=$!
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.2; done
ref=127.0.0.1:$port/bench:latest
t0=$(date +%s.%N)
skopeo copy --quiet --dest-tls-verify=false "oci-archive:$img" "docker://$ref"
echo "pushed in $(python3 -c "print(round($(date +%s.%N) - $t0, 1))") s"

run() { # name, then the command; appends "name wall cpu rss" to rows
  local name=$1; shift
  /usr/bin/time -f "%e %U %S %M" -o "$tmp/time" "$@" >/dev/null
  read -r wall user sys rss <"$tmp/time"
  echo "$name $wall $(python3 -c "print($user + $sys)") $rss" >>"$tmp/rows"
}
for r in $(seq "$rounds"); do
  run local "$slim" analyze "$img" --quiet --format json -o "$tmp/local.json"
  run registry "$slim" analyze "registry:$ref" --insecure-registry "127.0.0.1:$port" --quiet --format json -o "$tmp/registry.json"
  rm -f "$tmp/copy.tar"
  run skopeo-copy skopeo copy --quiet --src-tls-verify=false "docker://$ref" "oci-archive:$tmp/copy.tar"
  run then-analyze "$slim" analyze "$tmp/copy.tar" --quiet --format json -o "$tmp/copy.json"
done
python3 - "$tmp" <<'PY'
import json, statistics, sys
tmp = sys.argv[1]
rows = {}
for line in open(f"{tmp}/rows"):
    name, wall, cpu, rss = line.split()
    rows.setdefault(name, []).append((float(wall), float(cpu), int(rss)))
med = {k: tuple(statistics.median(x[i] for x in v) for i in range(3)) for k, v in rows.items()}
def diff(a, b, at=""):
    """Paths where two JSON values differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b)) for d in diff(a.get(k), b.get(k), f"{at}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in diff(x, y, f"{at}[{i}]")]
    return [] if a == b else [at]
local = json.load(open(f"{tmp}/local.json"))
differ = sorted(set(diff(local, json.load(open(f"{tmp}/registry.json"))) + diff(local, json.load(open(f"{tmp}/copy.json")))))
base = med["local"][0]
print(f"| row | wall s | user+sys s | peak RSS MB | wall / local |\n|---|---:|---:|---:|---:|")
for k in ["local", "registry", "skopeo-copy", "then-analyze"]:
    w, c, r = med[k]
    print(f"| {k} | {w:.2f} | {c:.2f} | {r/1024:.0f} | {w/base:.2f}x |")
w = med["skopeo-copy"][0] + med["then-analyze"][0]
print(f"| skopeo copy + analyze | {w:.2f} | | | {w/base:.2f}x |")
print(f"fields that differ from the local analysis: {', '.join(differ) or 'none'}; rounds: {len(rows['local'])}")
PY
