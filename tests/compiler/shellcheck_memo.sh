#!/usr/bin/env bash
# A memoised shellcheck for actionlint: one real answer per distinct script and arguments.
#
# actionlint runs shellcheck once per `run:` step; the property test's 200 generated specs give
# ~5,600 steps but 461 distinct scripts (they come from a handful of templates).
# A repeated script gets the saved stdout and exit code of the real run. SHELLCHECK_REAL names
# the real tool, SHELLCHECK_MEMO a folder for the answers (actionlint runs several of these at
# once: answers are renamed into place). A hit costs one sha256sum besides bash itself: the
# script, answer and exit code are read with builtins (shellcheck takes ~20 ms of CPU a script).
set -euo pipefail
IFS= read -r -d '' script || true
key=$(printf '%s\0' "$@" "$script" | sha256sum)
answer="$SHELLCHECK_MEMO/${key%% *}"
if [[ ! -f "$answer.rc" ]]; then
  rc=0
  printf '%s' "$script" | "$SHELLCHECK_REAL" "$@" >"$answer.out.$$" || rc=$?
  mv "$answer.out.$$" "$answer.out"
  echo "$rc" >"$answer.rc.$$"
  mv "$answer.rc.$$" "$answer.rc"
fi
IFS= read -r -d '' out <"$answer.out" || true
read -r rc <"$answer.rc"
printf '%s' "$out"
exit "$rc"
