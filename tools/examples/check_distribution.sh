#!/usr/bin/env bash
# Checks the runnable distribution that `mvn package` builds in deeplab-cli/target/deeplab-VERSION/
# as a user gets it: copied elsewhere, run from a directory outside the repository with the
# repository off the PATH and an empty model cache, directly and through symlinks.
#   tools/examples/check_distribution.sh
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

check=distribution
# shellcheck source=tools/examples/common.sh
source "$repo/tools/examples/common.sh"

# The distribution directory: the one deeplab-cli/target/deeplab-*/ with a bin/deeplab.
dists=()
for dir in "$repo"/deeplab-cli/target/deeplab-*/; do
  if [ -f "$dir/bin/deeplab" ]; then
    dists+=("${dir%/}")
  fi
done
[ "${#dists[@]}" -gt 0 ] ||
  fail "no distribution in deeplab-cli/target/deeplab-*/ (run 'mvn package' or 'mvn install' first)"
[ "${#dists[@]}" -eq 1 ] || fail "more than one distribution, expected one: ${dists[*]}"
name="$(basename "${dists[0]}")"
version="${name#deeplab-}"

mkdir -p "$tmp/dist"
cp -R "${dists[0]}" "$tmp/dist/"
home="$tmp/dist/$name"
ok "copied deeplab-cli/target/$name to $home"

for file in bin/deeplab LICENSE NOTICE README.md photos/NOTICE photos/pets.jpg photos/owl.jpg \
    "lib/deeplab-cli-$version.jar" "lib/deeplab-core-$version.jar" \
    lib/tensorflow-core-native-1.1.0-linux-x86_64.jar; do
  [ -f "$home/$file" ] || fail "the distribution has no $file"
done
[ -x "$home/bin/deeplab" ] || fail "bin/deeplab is not executable"
ok "it holds bin/deeplab (executable), lib/ with TensorFlow's linux-x86_64 native jar, photos/, LICENSE, NOTICE, README.md"

# The user's environment: a working directory outside the repository, the repository off the
# PATH, a fresh model cache, and no DEEPLAB_CLASSPATH (tools/deeplab's way into the launcher).
work="$tmp/work"
cache="$tmp/cache"
mkdir -p "$work"
path=""
IFS=':' read -r -a entries <<<"$PATH"
for entry in "${entries[@]}"; do
  case "$entry" in
    "" | . | "$repo" | "$repo"/*) ;;
    *) path="${path:+$path:}$entry" ;;
  esac
done
command -v java >/dev/null 2>&1 || fail "no java on the PATH"

# Runs a command in the user's environment: deeplab CMD... ; stdout/stderr to $tmp/NAME.out/.err.
run() {
  local name="$1"
  shift
  set +e
  (cd "$work" && env -u DEEPLAB_CLASSPATH PATH="$path" DEEPLAB_CACHE="$cache" \
    ${limit[@]+"${limit[@]}"} "$@" </dev/null >"$tmp/$name.out" 2>"$tmp/$name.err")
  status=$?
  set -e
}
expect_status() {
  local name="$1" expected="$2" what="$3"
  if [ "$status" -ne "$expected" ]; then
    show "$tmp/$name.out"
    show "$tmp/$name.err"
    fail "$what exited with $status, expected $expected"
  fi
}

# --version: the version from the jar's manifest.
run version "$home/bin/deeplab" --version
expect_status version 0 "deeplab --version"
grep -qx "deeplab $version" "$tmp/version.out" ||
  fail "deeplab --version printed no line 'deeplab $version': $(cat "$tmp/version.out")"
ok "bin/deeplab --version prints 'deeplab $version' (run from $work, repository off the PATH)"

# segment with the bundled pretrained model: no --model.
run segment "$home/bin/deeplab" segment "$home/photos/pets.jpg" -o out
expect_status segment 0 "deeplab segment photos/pets.jpg -o out"
sed 's/^/  | /' "$tmp/segment.out"
for file in out/pets_mask.png out/pets_overlay.png; do
  [ -s "$work/$file" ] || fail "deeplab segment photos/pets.jpg -o out wrote no $file"
  signature="$(od -An -tx1 -N8 "$work/$file" | tr -d ' \n')"
  [ "$signature" = "89504e470d0a1a0a" ] || fail "$file is not a PNG (first bytes $signature)"
done
grep -q "dog" "$tmp/segment.out" || fail "deeplab segment photos/pets.jpg does not mention dog"
model="$(cd "$cache" 2>/dev/null && find . -path '*/1/saved_model.pb' | sed 's|^\./||' |
  grep -E '^deeplabv3_mnv2_pascal-[0-9a-f]{16}/1/saved_model\.pb$' || true)"
[ -n "$model" ] || fail "the pretrained model was not unpacked into DEEPLAB_CACHE ($cache)"
ok "segment photos/pets.jpg -o out (no --model): exit 0, out/pets_mask.png and out/pets_overlay.png, mentions dog; the model unpacked into DEEPLAB_CACHE/$model"

# segment --json with two images.
run json "$home/bin/deeplab" segment --json "$home/photos/pets.jpg" "$home/photos/owl.jpg" -o out2
expect_status json 0 "deeplab segment --json photos/pets.jpg photos/owl.jpg -o out2"
if command -v python3 >/dev/null 2>&1 && python3 -c 'pass' 2>/dev/null; then
  if ! python3 -c 'import json, sys; d = json.load(sys.stdin); assert len(d["images"]) == 2, d' \
      <"$tmp/json.out" 2>"$tmp/json.check"; then
    show "$tmp/json.out"
    show "$tmp/json.check" 5
    fail "deeplab segment --json printed no valid JSON with two \"images\""
  fi
  how="valid JSON with two images (python3)"
else
  grep -q '"images"' "$tmp/json.out" || { show "$tmp/json.out"; fail "deeplab segment --json printed no \"images\""; }
  how="has \"images\" (no python3 to parse it)"
fi
for file in out2/pets_mask.png out2/pets_overlay.png out2/owl_mask.png out2/owl_overlay.png; do
  [ -s "$work/$file" ] || fail "deeplab segment --json ... -o out2 wrote no $file"
done
ok "segment --json photos/pets.jpg photos/owl.jpg -o out2: exit 0, $how, four PNGs in out2/"

# Through symlinks: an absolute one called by its path, a relative one found on the PATH.
mkdir -p "$tmp/links" "$tmp/bin"
ln -s "$home/bin/deeplab" "$tmp/links/deeplab"
ln -s "../dist/$name/bin/deeplab" "$tmp/bin/deeplab"
run link "$tmp/links/deeplab" --version
expect_status link 0 "a symlink to bin/deeplab (--version)"
grep -qx "deeplab $version" "$tmp/link.out" ||
  fail "a symlink to bin/deeplab printed no 'deeplab $version': $(cat "$tmp/link.out" "$tmp/link.err")"
path_before="$path"
path="$tmp/bin:$path"
run onpath deeplab --version
path="$path_before"
expect_status onpath 0 "deeplab --version through a relative symlink on the PATH"
grep -qx "deeplab $version" "$tmp/onpath.out" ||
  fail "a relative symlink on the PATH printed no 'deeplab $version': $(cat "$tmp/onpath.out" "$tmp/onpath.err")"
ok "symlinks to bin/deeplab work: absolute ($tmp/links/deeplab) and relative, found on the PATH"

# A usage error: exit 2 and picocli's message on stderr.
run usage "$home/bin/deeplab" segment
expect_status usage 2 "deeplab segment (no image)"
grep -q "^deeplab segment: Missing required parameter" "$tmp/usage.err" || {
  show "$tmp/usage.err"
  fail "deeplab segment (no image) printed no line starting 'deeplab segment: Missing required parameter' on stderr"
}
ok "segment with no image: exit 2, stderr: $(grep "^deeplab segment: Missing required parameter" "$tmp/usage.err")"

# The launcher's stderr filter: TensorFlow's two start-up lines dropped, everything else kept, and
# carriage-return progress updates passed on at once (a line-buffered filter held them back until
# the end, so a live progress bar sat at 0%). A stand-in "java" (JAVA_HOME) writes what TF and the
# progress bar write, two seconds apart; each chunk reaching the launcher's stderr is time-stamped.
mkdir -p "$tmp/fakejava/bin"
cat >"$tmp/fakejava/bin/java" <<'FAKE'
#!/usr/bin/env bash
echo "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR" >&2
echo "I0000 00:00:1796160000.000000 1 mlir_graph_optimization_pass.cc:401] MLIR V1 optimization pass is not enabled" >&2
printf '\rsegment  50%%' >&2
sleep 2
printf '\rsegment 100%%\n' >&2
echo "[INFO] done" >&2
FAKE
chmod +x "$tmp/fakejava/bin/java"
stamp() {
  perl -e '$| = 1; $t0 = time; while (sysread(STDIN, $b, 4096)) { printf "%d %s\n", time - $t0, unpack("H*", $b) }'
}
JAVA_HOME="$tmp/fakejava" "$home/bin/deeplab" segment x.png 2> >(stamp >"$tmp/stamps") || true
sleep 1
first_half="$(printf '\rsegment  50%%' | od -An -tx1 | tr -d ' \n')"
# the chunks of second 0, joined: a loaded machine may split '\r' from the rest
before_pause="$(awk '$1 == 0 {printf "%s", $2}' "$tmp/stamps")"
[[ "$before_pause" == *"$first_half"* ]] ||
  fail "the launcher held back a progress-bar update (no '50%' before the program's 2-second pause): $(cat "$tmp/stamps")"
decoded="$(awk '{print $2}' "$tmp/stamps" | perl -ne 'chomp; print pack("H*", $_)')"
case "$decoded" in
  *absl::InitializeLog*|*mlir_graph_optimization_pass*)
    fail "the launcher let TensorFlow's start-up lines through: $decoded" ;;
esac
case "$decoded" in
  *"[INFO] done"*) ;;
  *) fail "the launcher dropped other stderr lines: $decoded" ;;
esac
ok "the launcher passes progress-bar updates through at once and drops only TensorFlow's two start-up lines"

echo "distribution check: OK"
