#!/usr/bin/env bash
# Training throughput, Java (this library on TF Java 1.1.0 = TF 2.18 runtime) against Python
# TensorFlow on the same machine: the same DeepLab networks, crop, batch and output stride, full
# training steps (forward, loss, gradients, momentum update, batch-norm updates) on a fixed random
# batch, images/s after warm-up, and the ratio java/python.
#
# Usage: tools/bench/train_bench.sh            (PYTHON=... to choose the interpreter, default python3)
#        STEPS=20 tools/bench/train_bench.sh   (more timed steps)
#        ROUNDS=3 tools/bench/train_bench.sh   (java, python, java, python, ...; median of the ratios)
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-python3}
STEPS=${STEPS:-10}
WARMUP=${WARMUP:-3}
ROUNDS=${ROUNDS:-1}

mvn -q -B -o -DskipTests -pl deeplab-bench -am compile dependency:build-classpath \
  -Dmdep.outputFile=target/bench-classpath.txt -Dmdep.includeScope=test >/dev/null
CP="deeplab-core/target/classes:deeplab-bench/target/classes:$(cat deeplab-bench/target/bench-classpath.txt)"
export TF_CPP_MIN_LOG_LEVEL=2
# Both sides on TF's Eigen kernels: oneDNN's conv gradients are wrong on AVX-512 CPUs (README).
export TF_ENABLE_ONEDNN_OPTS="${TF_ENABLE_ONEDNN_OPTS:-0}"
# Both sides with transparent huge pages for their tensors, as tools/deeplab runs (README, "Speed").
export GLIBC_TUNABLES="${GLIBC_TUNABLES:-glibc.malloc.hugetlb=1}"

echo "cores: $(nproc), load $(cut -d' ' -f1 /proc/loadavg), TF_ENABLE_ONEDNN_OPTS=$TF_ENABLE_ONEDNN_OPTS, GLIBC_TUNABLES=$GLIBC_TUNABLES, $($PYTHON -c 'import tensorflow as tf; print("python TF", tf.__version__)' 2>/dev/null)"

images_per_second() { sed -n 's/.*: \([0-9.]*\) images\/s.*/\1/p'; }

bench() {  # variant crop batch steps
  local variant=$1 crop=$2 batch=$3 steps=$4
  local j p ji pi r ratios=""
  for r in $(seq "$ROUNDS"); do
    # The JVM options tools/deeplab starts every command with (README, "Speed").
    j=$(java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp "$CP" dev.deeplab.bench.TrainBenchmark \
        "$variant" "$crop" "$batch" "$steps" "$WARMUP" 16 2>/dev/null | tail -1)
    p=$("$PYTHON" tools/bench/train_python.py --variant "$variant" --crop "$crop" --batch "$batch" \
        --steps "$steps" --warmup "$WARMUP" --output-stride 16 2>/dev/null | tail -1)
    echo "round $r: $j"
    echo "round $r: $p"
    ji=$(echo "$j" | images_per_second)
    pi=$(echo "$p" | images_per_second)
    ratios="$ratios $(awk -v j="$ji" -v p="$pi" 'BEGIN { printf "%.2f", j / p }')"
  done
  echo "$ratios" | tr ' ' '\n' | sed '/^$/d' | sort -n | awk -v m="$variant" -v c="$crop" -v b="$batch" \
    '{ v[NR] = $1; all = all " " $1 }
     END { med = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
           printf "ratio java/python %s crop %d batch %d: %.2f (median of%s)\n\n", m, c, b, med, all }'
}

bench mobilenet_v2 321 4 "$STEPS"
bench xception_65 129 2 "$(( (STEPS + 1) / 2 ))"
