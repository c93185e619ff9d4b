#!/usr/bin/env bash
# Cluster training throughput on this machine: `deeplab train --benchmark --cluster` with 1, 2 and
# 3 processes (a chief, plus 1 or 2 `deeplab server` workers on loopback ports), one replica of
# PER images per process (global batch PER x processes), and for 2 and 3 processes the time of
# the step's transfers alone (inputs to the workers, variables to them, gradients back; see
# ClusterTransferBenchmark). Process counts are interleaved round by round (1, 2, 3, 1, 2, 3...)
# because the machine is shared: compare the ratios within a round, not absolute figures.
#
# Usage: tools/bench/cluster_bench.sh   (ROUNDS=2 STEPS=10 PER=2 VARIANT=mobilenet_v2 DM=0.5
#                                        CROP=129 to change)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-2}
STEPS=${STEPS:-10}
PER=${PER:-2}
VARIANT=${VARIANT:-mobilenet_v2}
DM=${DM:-0.5}
CROP=${CROP:-129}
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
export TF_CPP_MIN_LOG_LEVEL=2
tools/deeplab --version >/dev/null  # builds when the sources changed

free_ports() {  # n -> n free loopback ports
  python3 -c 'import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks: s.close()' "$1"
}

echo "cores: $(nproc), load $(cut -d' ' -f1 /proc/loadavg); $VARIANT dm $DM, crop $CROP, $PER images per process, $STEPS timed steps"
for round in $(seq 1 "$ROUNDS"); do
  for procs in 1 2 3; do
    read -r -a ports <<<"$(free_ports "$procs")"
    workers=""
    for i in $(seq 1 $((procs - 1))); do
      workers="$workers${workers:+, }\"127.0.0.1:${ports[$i]}\""
    done
    spec="$work/cluster-$procs.json"
    if [[ -n "$workers" ]]; then
      echo "{\"cluster\": {\"chief\": [\"127.0.0.1:${ports[0]}\"], \"worker\": [$workers]}}" >"$spec"
    else
      echo "{\"cluster\": {\"chief\": [\"127.0.0.1:${ports[0]}\"]}}" >"$spec"
    fi
    pids=()
    for i in $(seq 0 $((procs - 2))); do
      tools/deeplab server --cluster "$spec" --job worker --task "$i" >"$work/worker-$i.log" 2>&1 &
      pids+=($!)
    done
    out=$(tools/deeplab train --benchmark --cluster "$spec" --variant "$VARIANT" \
      --depth-multiplier "$DM" --crop-size "$CROP" --batch-size $((PER * procs)) \
      --steps "$STEPS" 2>&1)
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    pids=()
    python3 - "$round" "$procs" "$PER" <<PY
import re, sys
rnd, procs, per = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
out = """$out"""
m = re.search(r"([0-9.]+) images/s", out)
if not m:
    print(f"round {rnd}, {procs} process(es): FAILED\n{out}")
    sys.exit(1)
ips = float(m.group(1))
step = procs * per / ips
t = re.search(r"transfers alone: .*?([0-9.]+) MB per step, ([0-9.]+) ms per step", out)
transfer = f"; transfers alone {float(t.group(2)):.0f} ms per step ({t.group(1)} MB) = {float(t.group(2)) / 1000 / step:.0%} of the step" if t else ""
print(f"round {rnd}, {procs} process(es), batch {procs * per}: {ips:.2f} images/s, {step * 1000:.0f} ms per step{transfer}")
PY
  done
done
