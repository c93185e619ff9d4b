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
# Ends with the line "python checks: N passed, M failed".
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="$root/.venv"
py="$venv/bin/python"
tf_version="2.21"
# 1 stand-in test + 1 reference self-check + 10 interop checks; raise it when adding a check.
EXPECTED_CHECKS=12
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

# run NAME COMMAND...: one check, from the repository root, killed (with its process group) at
# the time limit.
run() {
  local name="$1" start=$SECONDS rc
  shift
  echo "=== $name"
  (cd "$root" && timeout --kill-after=30 "$timeout_s" "$@")
  rc=$?
  if [ "$rc" -eq 0 ]; then
    passed=$((passed + 1))
    echo "--- $name: passed in $((SECONDS - start)) s"
    return
  fi
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    echo "FAILED: $name: timed out after ${timeout_s} s"
  else
    echo "FAILED: $name (exit status $rc, after $((SECONDS - start)) s)"
  fi
  failed=$((failed + 1))
  failures+=("$name")
}

# The TF Serving REST stand-in the serving check relies on has its own tests.
run test_rest_standin "$py" -m unittest -q tools/serving/test_rest_standin.py
run deeplab_reference_self_check "$py" tools/reference/deeplab_reference.py --self-check \
  --tmp-dir "$scratch/reference"
for check in "$root"/tools/interop/check_*.py; do
  [ -e "$check" ] || continue
  run "$(basename "$check" .py)" "$py" "$check"
done
ran=$((passed + failed))
if [ "$ran" -lt "$EXPECTED_CHECKS" ]; then
  echo "FAILED: only $ran python checks ran, $EXPECTED_CHECKS expected"
  failed=$((failed + EXPECTED_CHECKS - ran))
fi
[ "${#failures[@]}" -eq 0 ] || echo "failed checks: ${failures[*]}"
echo "python checks: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
