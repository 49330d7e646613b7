#!/usr/bin/env bash
# Wheels for an offline image build of this checkout: REQUIREMENTs as the generated Dockerfile
# installs them (e.g. 'mlops-yaml[serve,monitor]==0.1.0'), with mlops-yaml resolved to a wheel
# built from this checkout, for CPython 3.11 on manylinux x86_64. OUT then sits in the build
# context as wheelhouse/. Downloads go through pip's own cache.
# MLOPS_WHEELS names a folder already holding that wheel (`pip wheel --no-deps .` of this
# checkout, as the test session builds once): it is used instead of building the wheel again.
#   usage: [MLOPS_WHEELS=DIR] wheelhouse.sh OUT REQUIREMENT...
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
out=$(realpath -m "${1:?usage: wheelhouse.sh OUT REQUIREMENT...}")
shift
[ "$#" -gt 0 ] || { echo "usage: wheelhouse.sh OUT REQUIREMENT..." >&2; exit 2; }
python=${PYTHON:-$here/.venv/bin/python}
mkdir -p "$out"
if [ -n "${MLOPS_WHEELS:-}" ]; then
  project=$(realpath "$MLOPS_WHEELS")
  ls "$project"/mlops_yaml-*.whl >/dev/null 2>&1 \
    || { echo "MLOPS_WHEELS=$MLOPS_WHEELS holds no mlops_yaml-*.whl" >&2; exit 2; }
else
  project=$(mktemp -d)
  trap 'rm -rf "$project"' EXIT
  "$python" -m pip wheel --quiet --no-deps --wheel-dir "$project" "$here"
fi
"$python" -m pip download --quiet --disable-pip-version-check --dest "$out" \
  --find-links "$project" --only-binary=:all: --python-version 3.11 --implementation cp \
  --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 \
  --platform manylinux_2_28_x86_64 --platform any "$@"
echo "$out"
