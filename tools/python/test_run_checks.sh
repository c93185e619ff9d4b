#!/usr/bin/env bash
# Tests of run_checks.sh's rules on a fake checkout (no TensorFlow needed): a fake .venv whose
# python reports a chosen TensorFlow version and whose pip cannot install, fake checks that pass,
# fail or hang (shell snippets, which the fake python runs with bash, to keep this fast). Checks that under CI=true a missing or wrong TensorFlow fails the stage (outside
# CI it is SKIPPED and passes), that a missing check, a failing one and one past its time limit
# fail it, and that a complete run passes with the expected count.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
passed=0
failed=0

# make_checkout DIR N_CHECKS: the script, a stand-in test, a reference and N passing checks.
make_checkout() {
  local dir="$1" n="$2" i
  mkdir -p "$dir/tools/python" "$dir/tools/interop" "$dir/tools/reference" "$dir/tools/serving" \
    "$dir/.venv/bin"
  cp "$here/run_checks.sh" "$dir/tools/python/"
  echo 'exit 0' >"$dir/tools/serving/test_rest_standin.py"
  echo 'echo "self-check $*"' >"$dir/tools/reference/deeplab_reference.py"
  for ((i = 1; i <= n; i++)); do
    echo 'echo fine' >"$dir/tools/interop/check_$i.py"
  done
  cat >"$dir/.venv/bin/python" <<'PY'
#!/usr/bin/env bash
if [ "$1" = "-c" ]; then
  [ -n "${FAKE_TF_VERSION:-}" ] || exit 1
  echo "$FAKE_TF_VERSION"; exit 0
fi
[ "$1" = "-m" ] && exit 0   # python -m unittest FILE: the stand-in's tests
exec bash "$@"
PY
  printf '#!/bin/sh\necho "ERROR: No matching distribution found for tensorflow-cpu"\nexit 1\n' \
    >"$dir/.venv/bin/pip"
  chmod +x "$dir/.venv/bin/python" "$dir/.venv/bin/pip"
}

# expect NAME STATUS PATTERN ENV... -- DIR: runs DIR's run_checks.sh with ENV, checks the exit
# status and that the output has PATTERN.
expect() {
  local name="$1" want="$2" pattern="$3" dir="${*: -1}" out rc
  shift 3
  local envs=("${@:1:$#-1}")
  out="$(env -u CI "${envs[@]}" bash "$dir/tools/python/run_checks.sh" 2>&1)"
  rc=$?
  if [ "$rc" -eq "$want" ] && grep -q -- "$pattern" <<<"$out"; then
    passed=$((passed + 1))
    echo "ok   $name"
  else
    failed=$((failed + 1))
    echo "FAIL $name: exit $rc (want $want), no '$pattern' in:"
    sed 's/^/     | /' <<<"$out"
  fi
}

# the count run_checks.sh expects: the stand-in test, the self-check and the interop checks
expected="$(sed -n 's/^EXPECTED_CHECKS=\([0-9]*\)$/\1/p' "$here/run_checks.sh")"
interop=$((expected - 2))

make_checkout "$work/full" "$interop"
expect "complete run passes" 0 "python checks: $expected passed, 0 failed" FAKE_TF_VERSION=2.21.0 "$work/full"
expect "self-check is one of the checks" 0 "=== deeplab_reference_self_check" \
  FAKE_TF_VERSION=2.21.0 "$work/full"
expect "no TensorFlow outside CI: SKIPPED" 0 "^SKIPPED: .*cannot be installed" "$work/full"
expect "no TensorFlow under CI: FAILED" 1 "^FAILED: .*CI=true" CI=true "$work/full"
expect "TensorFlow 2.20 under CI: FAILED" 1 "^FAILED: .*CI=true" CI=true FAKE_TF_VERSION=2.20.1 \
  "$work/full"
expect "TensorFlow 2.20 outside CI: SKIPPED" 0 "^SKIPPED: " FAKE_TF_VERSION=2.20.1 "$work/full"

make_checkout "$work/short" $((interop - 1))
expect "a missing check fails" 1 "only $((expected - 1)) python checks ran, $expected expected" CI=true \
  FAKE_TF_VERSION=2.21.0 "$work/short"

make_checkout "$work/failing" "$interop"
echo 'exit 3' >"$work/failing/tools/interop/check_3.py"
expect "a failing check fails" 1 "python checks: $((expected - 1)) passed, 1 failed" FAKE_TF_VERSION=2.21.0 \
  "$work/failing"

make_checkout "$work/hanging" "$interop"
echo 'sleep 60' >"$work/hanging/tools/interop/check_5.py"
expect "a hanging check is killed at its limit" 1 "FAILED: check_5: timed out after 2 s" \
  CHECK_TIMEOUT=2 FAKE_TF_VERSION=2.21.0 "$work/hanging"

echo "run_checks.sh tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
