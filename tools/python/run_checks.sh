#!/usr/bin/env bash
# Runs every tools/interop/check_*.py with Python TensorFlow 2.21 from a project virtualenv
# (.venv), installed from the machine's pip configuration (a local package index where there is
# one). Where TensorFlow cannot be installed, prints "SKIPPED: <reason>" and exits 0, except under
# CI=true, where the stage must run: it prints "FAILED: <reason>" and exits 1. A failing check
# exits 1. Ends with the line "python checks: N passed, M failed".
set -uo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="$root/.venv"
py="$venv/bin/python"

skip() {
  if [ "${CI:-}" = "true" ]; then
    echo "FAILED: python interop checks cannot run under CI=true: $1"
    exit 1
  fi
  echo "SKIPPED: python interop checks: $1"
  exit 0
}

if ! "$py" -c "import tensorflow, numpy, PIL" >/dev/null 2>&1; then
  command -v python3 >/dev/null || skip "python3 is not installed"
  python3 -m venv "$venv" >/dev/null 2>&1 || skip "cannot create a virtualenv (python3 -m venv failed)"
  index="$(pip config list 2>/dev/null | grep -o "file://[^ ']*" | head -1 || true)"
  args=(-q --disable-pip-version-check)
  [ -n "$index" ] && args+=(--index-url "$index")
  echo "installing tensorflow-cpu==2.21.0, numpy, pillow into .venv ..."
  if ! "$venv/bin/pip" install "${args[@]}" tensorflow-cpu==2.21.0 numpy pillow >"$venv/install.log" 2>&1; then
    skip "tensorflow-cpu 2.21.0 cannot be installed here ($(tail -1 "$venv/install.log"))"
  fi
  "$py" -c "import tensorflow" >/dev/null 2>&1 || skip "tensorflow installed but does not import"
fi

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
# The TF Serving REST stand-in the serving check relies on has its own tests.
echo "=== test_rest_standin"
if (cd "$root" && "$py" -m unittest -q tools/serving/test_rest_standin.py); then
  passed=$((passed + 1))
else
  echo "FAILED: test_rest_standin"
  failed=$((failed + 1))
fi
for check in "$root"/tools/interop/check_*.py; do
  [ -e "$check" ] || continue
  name="$(basename "$check" .py)"
  echo "=== $name"
  if (cd "$root" && "$py" "$check"); then
    passed=$((passed + 1))
  else
    echo "FAILED: $name"
    failed=$((failed + 1))
  fi
done
echo "python checks: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
