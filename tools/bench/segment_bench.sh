#!/usr/bin/env bash
# `segment` throughput against the network alone: N photos (the bundled ones, cycled, default 100)
# through `deeplab segment` with the pretrained model, per-photo wall time against the network's
# median latency from `deeplab bench` at 513x513 (the photos are fitted to that), and the ratio.
# With BASELINE=<git revision>, the same runs of that revision's distribution interleave with the
# current one (current, baseline, current, ...) so that the two are compared side by side.
#
# Usage: tools/bench/segment_bench.sh                 (N=100 ROUNDS=2 BASELINE=<rev> to change)
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${N:-100}
ROUNDS=${ROUNDS:-2}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

build() {  # source-dir -> launcher path
  (cd "$1" && mvn -q -B -o -DskipTests package -pl deeplab-cli -am >/dev/null)
  echo "$1/deeplab-cli/target/$(ls "$1/deeplab-cli/target" | grep -E '^deeplab-[0-9].*[^.]$' | grep -v '\.jar$' | head -1)/bin/deeplab"
}

mkdir -p "$work/in"
photos=(examples/photos/*.jpg examples/photos/*.png)
for i in $(seq 0 $((N - 1))); do
  src=${photos[$((i % ${#photos[@]}))]}
  cp "$src" "$work/in/$(printf '%03d' "$i")_$(basename "$src")"
done

current=$(build .)
launchers=("current:$current")
if [[ -n "${BASELINE:-}" ]]; then
  git worktree add -q --detach "$work/baseline" "$BASELINE"
  trap 'git worktree remove --force "$work/baseline" >/dev/null 2>&1; rm -rf "$work"' EXIT
  launchers+=("baseline($BASELINE):$(build "$work/baseline")")
fi

export TF_CPP_MIN_LOG_LEVEL=2
echo "cores: $(nproc), load $(cut -d' ' -f1 /proc/loadavg), $N photos, $ROUNDS rounds"
network=$("$current" bench --model savedmodels/deeplabv3_mnv2_pascal --size 513 --runs 30 \
  --warmup 5 --json 2>/dev/null | tail -1 \
  | python3 -c 'import json, sys; print("%.1f" % json.load(sys.stdin)["results"][0]["median_ms"])')
echo "network alone (deeplab bench, 513x513, batch 1): median ${network} ms"
for round in $(seq 1 "$ROUNDS"); do
  for entry in "${launchers[@]}"; do
    name=${entry%%:*}
    launcher=${entry#*:}
    rm -rf "$work/out"
    start=$(date +%s.%N)
    "$launcher" segment -o "$work/out" "$work"/in/* >/dev/null 2>&1
    end=$(date +%s.%N)
    python3 - "$name" "$round" "$start" "$end" "$N" "$network" <<'PY'
import sys
name, rnd, start, end, n, net = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
per = (end - start) * 1000 / n
print(f"round {rnd} {name}: {end - start:.1f} s for {n} photos, {per:.1f} ms per photo = {per / net:.2f} x the network")
PY
  done
done
