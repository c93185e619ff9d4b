# Shared by the check scripts in this directory (sourced, not run): a temporary directory outside
# the repository, removed at exit, and the helpers that report. The caller sets `check` (its name in
# messages) and `repo` first.
tmp="$(mktemp -d "${TMPDIR:-/tmp}/deeplab-$check.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT

fail() {
  echo "$check check: FAILED: $*" >&2
  exit 1
}
ok() {
  echo "  ok: $*"
}
# Prints the last lines of a log, indented, after a failure.
show() {
  echo "  --- last lines of $(basename "$1"):" >&2
  tail -n "${2:-30}" "$1" | sed 's/^/  | /' >&2
}
limit=()
if command -v timeout >/dev/null 2>&1; then
  limit=(timeout 600)
fi

case "$tmp/" in
  "$repo"/*) fail "the temporary directory $tmp is inside the repository; set TMPDIR elsewhere" ;;
esac
