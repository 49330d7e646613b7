#!/usr/bin/env bash
# Wheels for an offline image build: the project's wheel plus everything its `serve` extra needs
# (and EXTRA requirements, e.g. pyarrow), for CPython 3.11 on manylinux x86_64.
# Dependencies are cached in CACHE (default /var/tmp/mlops-image-cache/wheels); OUT receives
# copies, ready to sit in the build context as wheelhouse/.
#   usage: wheelhouse.sh OUT [EXTRA ...]
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
out=$(realpath -m "${1:?usage: wheelhouse.sh OUT [EXTRA ...]}")
shift
cache=${MLOPS_WHEEL_CACHE:-/var/tmp/mlops-image-cache/wheels}
python=${PYTHON:-$here/.venv/bin/python}
mkdir -p "$out" "$cache"
project="$cache/project"
rm -rf "$project"
"$python" -m pip wheel --quiet --no-deps --wheel-dir "$project" "$here"
requirements=$("$python" - "$project"/*.whl "$@" <<'PY'
import sys, zipfile
wheel, extra = sys.argv[1], sys.argv[2:]
with zipfile.ZipFile(wheel) as archive:
    meta = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
    lines = archive.read(meta).decode().splitlines()
needs = [l.split(":", 1)[1].strip() for l in lines if l.startswith("Requires-Dist:")]
keep = [n.split(";")[0].strip() for n in needs if "extra ==" not in n or 'extra == "serve"' in n]
print("\n".join(keep + extra))
PY
)
# shellcheck disable=SC2086
"$python" -m pip download --quiet --dest "$cache" --only-binary=:all: --python-version 3.11 \
  --implementation cp --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux_2_28_x86_64 --platform any $requirements
cp "$cache"/*.whl "$project"/*.whl "$out"/
echo "$out"
