#!/usr/bin/env bash
# `segment` throughput against the network alone: N photos (the bundled ones, cycled, default 100)
# through `deeplab segment` with the pretrained model, per-photo wall time against the network's
# median latency from `deeplab bench` at 513x513 on segment's default engine (ONNX Runtime; the
# photos are fitted to that), and the ratio.
# With BASELINE=<git revision>, the same runs of that revision's distribution interleave with the
# current one (current, baseline, current, ...) so that the two are compared side by side.
# Each round also runs the first SMALL photos (default 10; 0: not): the difference of the two
# runs' times over N - SMALL photos is the steady state per photo, without the JVM's start and the
# model's load.
#
# The network's median is measured anew in each round, before its runs.
#
# Usage: tools/bench/segment_bench.sh         (N=100 ROUNDS=2 SMALL=10 BASELINE=<rev> to change)
set -euo pipefail
cd "$(dirname "$0")/../.."
N=${N:-100}
ROUNDS=${ROUNDS:-2}
SMALL=${SMALL:-10}
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
# the network alone, measured again in each round (the machine's load moves)
network() {
  "$current" bench --model savedmodels/deeplabv3_mnv2_pascal --engine onnxruntime --size 513 --runs 30 \
    --warmup 5 --json 2>/dev/null | tail -1 \
    | python3 -c 'import json, sys; print("%.1f" % json.load(sys.stdin)["results"][0]["median_ms"])'
}
# run LAUNCHER COUNT: seconds of wall time for `segment` of the first COUNT photos
run() {
  rm -rf "$work/out"
  local start end
  start=$(date +%s.%N)
  "$1" segment -o "$work/out" $(ls "$work"/in/* | head -"$2") >/dev/null 2>&1
  end=$(date +%s.%N)
  python3 -c "print($end - $start)"
}
for round in $(seq 1 "$ROUNDS"); do
  network=$(network)
  echo "round $round: load $(cut -d' ' -f1 /proc/loadavg); network alone (deeplab bench, 513x513," \
    "batch 1): median ${network} ms"
  for entry in "${launchers[@]}"; do
    name=${entry%%:*}
    launcher=${entry#*:}
    total=$(run "$launcher" "$N")
    small=0
    if [[ "$SMALL" -gt 0 && "$SMALL" -lt "$N" ]]; then
      small=$(run "$launcher" "$SMALL")
    fi
    python3 - "$name" "$round" "$total" "$small" "$N" "$SMALL" "$network" <<'PY'
import sys
name, rnd = sys.argv[1], sys.argv[2]
total, small, n, k, net = (float(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5]),
                           int(sys.argv[6]), float(sys.argv[7]))
per = total * 1000 / n
line = (f"round {rnd} {name}: {total:.1f} s for {n} photos, {per:.1f} ms per photo = "
        f"{per / net:.2f} x the network")
if small > 0:
    steady = (total - small) * 1000 / (n - k)
    line += f"; {small:.1f} s for {k}: steady state {steady:.1f} ms = {steady / net:.2f} x"
print(line)
PY
  done
done
echo "load at the end: $(cut -d' ' -f1 /proc/loadavg)"
