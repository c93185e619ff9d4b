#!/usr/bin/env bash
# Runs the Python TensorFlow checks with Python TensorFlow 2.21 from a project virtualenv (.venv),
# installed from the machine's pip configuration (a local package index where there is one):
#   - the TF Serving REST stand-in's own tests (tools/serving/test_rest_standin.py),
#   - the independent reference's self-check (tools/reference/deeplab_reference.py --self-check:
#     its convolutions, padding, resizing and checkpoints against numpy and hand-written values),
#   - every tools/interop/check_*.py.
# Where TensorFlow 2.21 cannot be installed, prints "SKIPPED: <reason>" and exits 0, except under
# CI=true, where the stage must run: it prints "FAILED: <reason>" and exits 1. A check that fails,
# or runs longer than its time limit (CHECK_TIMEOUT seconds, default 1800), fails the stage, and so
# does a run of fewer checks than EXPECTED_CHECKS (a check file gone missing is not a pass).
# The checks run in CHECK_JOBS parallel lanes (default 2), check_tf_serving alone after them; each
# check's output is printed whole when it ends.
# Ends with the line "python checks: N passed, M failed".
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="$root/.venv"
py="$venv/bin/python"
tf_version="2.21"
# 1 stand-in test + 1 reference self-check + 10 interop checks; raise it when adding a check.
EXPECTED_CHECKS=13
timeout_s="${CHECK_TIMEOUT:-1800}"

skip() {
  if [ "${CI:-}" = "true" ]; then
    echo "FAILED: python interop checks cannot run under CI=true: $1"
    exit 1
  fi
  echo "SKIPPED: python interop checks: $1"
  exit 0
}

# The TensorFlow version the venv imports, or nothing when it does not import.
installed_tf() {
  "$py" -c "import numpy, PIL, onnx, onnxruntime, tensorflow as tf; print(tf.__version__)" 2>/dev/null | tail -1
}

command -v timeout >/dev/null || skip "the timeout command (coreutils) is missing"
command -v flock >/dev/null || skip "the flock command (util-linux) is missing"
version="$( [ -x "$py" ] && installed_tf || true)"
if [[ "$version" != "$tf_version".* ]]; then
  if [ ! -x "$py" ]; then
    command -v python3 >/dev/null || skip "python3 is not installed"
    python3 -m venv "$venv" >/dev/null 2>&1 || skip "cannot create a virtualenv (python3 -m venv failed)"
  fi
  index="$(pip config list 2>/dev/null | grep -o "file://[^ ']*" | head -1 || true)"
  args=(-q --disable-pip-version-check)
  [ -n "$index" ] && args+=(--index-url "$index")
  echo "installing tensorflow-cpu==$tf_version.0, numpy, pillow, onnx, onnxruntime into .venv (found: ${version:-none}) ..."
  if ! "$venv/bin/pip" install "${args[@]}" "tensorflow-cpu==$tf_version.0" numpy pillow onnx onnxruntime \
      >"$venv/install.log" 2>&1; then
    skip "tensorflow-cpu $tf_version.0 cannot be installed here ($(tail -1 "$venv/install.log"))"
  fi
  version="$(installed_tf || true)"
  [ -n "$version" ] || skip "tensorflow installed but does not import"
  [[ "$version" == "$tf_version".* ]] || skip "the virtualenv imports TensorFlow $version, not $tf_version"
fi
echo "Python TensorFlow $version ($py), each check limited to ${timeout_s} s"

# PyTorch and torchvision for check_pytorch_import.py (which prints SKIPPED without them, and
# fails under CI=true); installed beside TensorFlow from the same index when missing.
if ! "$py" -c "import torch, torchvision" >/dev/null 2>&1; then
  index="$(pip config list 2>/dev/null | grep -o "file://[^ ']*" | head -1 || true)"
  args=(-q --disable-pip-version-check)
  [ -n "$index" ] && args+=(--index-url "$index")
  echo "installing torch, torchvision, safetensors into .venv ..."
  "$venv/bin/pip" install "${args[@]}" torch torchvision safetensors >"$venv/install-torch.log" 2>&1 ||
    echo "torch cannot be installed here ($(tail -1 "$venv/install-torch.log"))"
fi

export TF_CPP_MIN_LOG_LEVEL=2 PYTHONPATH="$root/tools/reference${PYTHONPATH:+:$PYTHONPATH}"
passed=0
failed=0
failures=()
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

# The checks by name: the stand-in's tests, the reference's self-check, every interop check.
checks=(test_rest_standin deeplab_reference_self_check)
for check in "$root"/tools/interop/check_*.py; do
  [ -e "$check" ] || continue
  checks+=("$(basename "$check" .py)")
done
# Run alone after the others: its hostile-request timings need the machine to itself.
solo=(check_tf_serving)
# The longest first, so that the lanes finish together; the rest in name order.
longest=(check_onnx_export check_pytorch_import deeplab_reference_self_check check_frozen_graph
  check_checkpoint_import check_savedmodel_serving check_onnx_int8)

# check_command NAME: runs check NAME in the foreground, from the repository root.
check_command() {
  cd "$root" || return 1
  case "$1" in
    test_rest_standin) "$py" -m unittest -q tools/serving/test_rest_standin.py ;;
    deeplab_reference_self_check)
      "$py" tools/reference/deeplab_reference.py --self-check --tmp-dir "$scratch/reference" ;;
    *) "$py" "tools/interop/$1.py" ;;
  esac
}
export -f check_command
export root py scratch

# run NAME: one check, killed (with its process group) at the time limit; its output goes to
# $scratch/NAME.log and is printed whole when it ends (never interleaved with another's), then
# its result line, which $scratch/NAME.result keeps for the count.
run() {
  local name="$1" start=$SECONDS rc result
  timeout --kill-after=30 "$timeout_s" bash -c 'check_command "$0"' "$name" \
    >"$scratch/$name.log" 2>&1
  rc=$?
  if [ "$rc" -eq 0 ]; then
    result="--- $name: passed in $((SECONDS - start)) s"
  elif [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    result="FAILED: $name: timed out after ${timeout_s} s"
  else
    result="FAILED: $name (exit status $rc, after $((SECONDS - start)) s)"
  fi
  echo "$result" >"$scratch/$name.result"
  flock "$scratch/print.lock" bash -c 'echo "=== $0"; cat "$1"; echo "$2"' "$name" \
    "$scratch/$name.log" "$result"
}

# lane: runs checks from the queue file until it is empty.
lane() {
  local name
  while true; do
    name="$(flock "$scratch/queue.lock" bash -c 'head -n 1 "$0"; sed -i 1d "$0"' \
      "$scratch/queue")"
    [ -n "$name" ] || return 0
    run "$name"
  done
}

in_list() {
  local x="$1" y
  shift
  for y in "$@"; do [ "$x" = "$y" ] && return 0; done
  return 1
}

# CHECK_JOBS lanes (default 2) share the checks but the solo ones: much of a check's time is
# spent on one core (JVM and TensorFlow start-up, graph building, Python), so two lanes on two
# cores finish well before one would.
: >"$scratch/queue"
for name in "${longest[@]}"; do
  in_list "$name" "${checks[@]}" && echo "$name" >>"$scratch/queue"
done
for name in "${checks[@]}"; do
  in_list "$name" "${longest[@]}" "${solo[@]}" || echo "$name" >>"$scratch/queue"
done
jobs="${CHECK_JOBS:-2}"
echo "running ${#checks[@]} checks in $jobs lanes, then ${solo[*]} alone"
for ((i = 0; i < jobs; i++)); do
  lane &
done
wait
for name in "${solo[@]}"; do
  in_list "$name" "${checks[@]}" && run "$name"
done

for name in "${checks[@]}"; do
  [ -e "$scratch/$name.result" ] || continue
  if grep -q "^--- " "$scratch/$name.result"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    failures+=("$name")
  fi
done
ran=$((passed + failed))
if [ "$ran" -lt "$EXPECTED_CHECKS" ]; then
  echo "FAILED: only $ran python checks ran, $EXPECTED_CHECKS expected"
  failed=$((failed + EXPECTED_CHECKS - ran))
fi
[ "${#failures[@]}" -eq 0 ] || echo "failed checks: ${failures[*]}"
echo "python checks: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
