#!/usr/bin/env bash
# Checks that a Java project can use the library as a plain Maven dependency: builds
# examples/segment-photo against the INSTALLED dev.deeplab:deeplab-core (run `mvn install` first),
# checks what that brings onto the application's classpath, then runs the example from a directory
# outside the repository with a fresh model cache and checks its output, mask and cache.
#   tools/examples/check_consumer.sh
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
example="$repo/examples/segment-photo"
# The project's version (root pom) must be the one the example depends on.
version="$(sed -n '/<artifactId>deeplab-parent<\/artifactId>/{n;s/.*<version>\(.*\)<\/version>.*/\1/p;}' "$repo/pom.xml")"
main_class="dev.deeplab.examples.SegmentPhoto"

check=consumer
# shellcheck source=tools/examples/common.sh
source "$repo/tools/examples/common.sh"

[ -n "$version" ] || fail "cannot read the project's version from pom.xml"
grep -q "<deeplab.version>$version</deeplab.version>" "$example/pom.xml" ||
  fail "examples/segment-photo/pom.xml does not depend on the project's version $version (property deeplab.version)"

# 1. Build the example against the installed artifact.
if ! mvn -B -ntp -f "$example/pom.xml" package dependency:build-classpath \
    -Dmdep.includeScope=runtime -Dmdep.outputFile="$tmp/classpath.txt" >"$tmp/build.log" 2>&1; then
  show "$tmp/build.log"
  fail "building examples/segment-photo failed (did 'mvn install' run? it needs dev.deeplab:deeplab-core:$version in the local Maven repository)"
fi
jar="$example/target/segment-photo.jar"
[ -f "$jar" ] || fail "the build made no $jar"
classpath="$(cat "$tmp/classpath.txt")"
core_jar="$(tr ':' '\n' <"$tmp/classpath.txt" | grep -E "/deeplab-core-$version\.jar$" || true)"
[ -n "$core_jar" ] || fail "deeplab-core-$version.jar is not on the example's classpath: $classpath"
case "$core_jar" in
  */dev/deeplab/deeplab-core/"$version"/deeplab-core-"$version".jar) ;;
  *) fail "deeplab-core comes from $core_jar, not from the local Maven repository" ;;
esac
case ":$classpath:" in
  *"$repo/deeplab-"*) fail "the example's classpath reaches into the source tree: $classpath" ;;
esac
ok "examples/segment-photo builds against the installed $core_jar"

# 2. What the library brings onto an application's classpath (compile + runtime scopes).
if ! mvn -B -ntp -f "$example/pom.xml" dependency:tree -Dscope=runtime \
    -DoutputFile="$tmp/tree.txt" >"$tmp/tree.log" 2>&1; then
  show "$tmp/tree.log"
  fail "mvn dependency:tree failed for examples/segment-photo"
fi
grep -q "dev.deeplab:deeplab-core:jar:$version:compile" "$tmp/tree.txt" ||
  fail "the dependency tree has no dev.deeplab:deeplab-core:$version: $(cat "$tmp/tree.txt")"
grep -q "org.tensorflow:tensorflow-core-native:jar:linux-x86_64:1.1.0:runtime" "$tmp/tree.txt" ||
  fail "the dependency tree has no tensorflow-core-native linux-x86_64 (runtime): $(cat "$tmp/tree.txt")"
unwanted=(
  "info.picocli:"                           # the CLI's argument parser
  "me.tongfei:progressbar"                  # the CLI's progress bars
  "org.slf4j:slf4j-simple"                  # SLF4J bindings: the application chooses one
  "ch.qos.logback:logback-classic"
  "org.slf4j:slf4j-reload4j"
  "org.slf4j:slf4j-jdk14"
  "org.apache.logging.log4j:log4j-slf4j"    # log4j-slf4j-impl, log4j-slf4j2-impl
  "org.tensorflow:tensorflow-core-platform" # every platform's native library at once
)
for artifact in "${unwanted[@]}"; do
  if grep -F "$artifact" "$tmp/tree.txt" >"$tmp/found.txt"; then
    fail "deeplab-core brings $artifact onto an application's classpath: $(tr -s ' ' <"$tmp/found.txt")"
  fi
done
ok "dependency tree (compile+runtime): deeplab-core and the chosen native library; no picocli, progressbar, SLF4J binding or tensorflow-core-platform ($(grep -c -- '- ' "$tmp/tree.txt") artifacts)"

# 3. Run the example from a directory outside the repository, with an empty model cache.
work="$tmp/work"
cache="$tmp/cache"
mkdir -p "$work"
photo="$repo/examples/photos/pets.jpg"
mask="$tmp/pets_mask.png"
set +e
(cd "$work" && DEEPLAB_CACHE="$cache" ${limit[@]+"${limit[@]}"} java -cp "$jar:$classpath" "$main_class" \
  "$photo" "$mask" >"$tmp/run.out" 2>"$tmp/run.err")
status=$?
set -e
if [ "$status" -ne 0 ]; then
  show "$tmp/run.out"
  show "$tmp/run.err"
  fail "SegmentPhoto pets.jpg exited with $status, expected 0"
fi
sed 's/^/  | /' "$tmp/run.out"
ok "SegmentPhoto ran from $work (outside the repository) and exited 0"

dog="$(sed -n 's/^dog \([0-9][0-9.]*\)%$/\1/p' "$tmp/run.out")"
[ -n "$dog" ] || fail "SegmentPhoto printed no line 'dog <share>%' for pets.jpg"
awk -v s="$dog" 'BEGIN { exit !(s >= 12 && s <= 18) }' ||
  fail "dog covers $dog% of pets.jpg, expected 12-18% (the pretrained model gives 15.1%)"
ok "dog share $dog% (expected 12-18%)"

[ -s "$mask" ] || fail "SegmentPhoto wrote no mask $mask"
# A PNG starts with its 8-byte signature, then the IHDR chunk: length (4), "IHDR", width, height.
signature="$(od -An -tx1 -N16 "$mask" | tr -d ' \n')"
[ "$signature" = "89504e470d0a1a0a0000000d49484452" ] ||
  fail "the mask is not a PNG (first bytes: $signature)"
read -r w1 w2 w3 w4 h1 h2 h3 h4 < <(od -An -tu1 -j16 -N8 "$mask")
width=$(((w1 << 24) | (w2 << 16) | (w3 << 8) | w4))
height=$(((h1 << 24) | (h2 << 16) | (h3 << 8) | h4))
[ "$width" -eq 512 ] && [ "$height" -eq 430 ] ||
  fail "the mask is ${width}x${height}, expected 512x430 (the photo's size)"
ok "the mask is a PNG of ${width}x${height}"

model="$(cd "$cache" 2>/dev/null && find . -path '*/1/saved_model.pb' | sed 's|^\./||' |
  grep -E '^deeplabv3_mnv2_pascal-[0-9a-f]{16}/1/saved_model\.pb$' || true)"
[ -n "$model" ] ||
  fail "the cache $cache holds no deeplabv3_mnv2_pascal-<16 hex>/1/saved_model.pb: $(cd "$cache" 2>/dev/null && find . | head -20 | tr '\n' ' ')"
ok "DEEPLAB_CACHE now holds $model"

# 4. A missing photo: exit 1 and one line on stderr, no stack trace.
set +e
(cd "$work" && DEEPLAB_CACHE="$cache" ${limit[@]+"${limit[@]}"} java -cp "$jar:$classpath" "$main_class" \
  "$work/no-such-photo.jpg" "$tmp/none_mask.png" >"$tmp/missing.out" 2>"$tmp/missing.err")
status=$?
set -e
[ "$status" -eq 1 ] || { show "$tmp/missing.err"; fail "a missing photo exited with $status, expected 1"; }
lines="$(wc -l <"$tmp/missing.err" | tr -d ' ')"
[ "$lines" -eq 1 ] || { show "$tmp/missing.err"; fail "a missing photo printed $lines lines on stderr, expected 1"; }
grep -q "no-such-photo.jpg" "$tmp/missing.err" ||
  fail "the error does not name the missing photo: $(cat "$tmp/missing.err")"
[ ! -e "$tmp/none_mask.png" ] || fail "a missing photo still wrote a mask"
ok "a missing photo: exit 1, one line on stderr: $(cat "$tmp/missing.err")"

echo "consumer check: OK"
