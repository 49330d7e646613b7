#!/usr/bin/env bash
# Make the local Python base image (no registry can be reached here): a minimal Debian bookworm
# root file system with python3 and venv, imported into podman's storage under DIR.
# The tarball is cached in CACHE (default /var/tmp/mlops-image-cache) across runs (~40 s to make).
#   usage: base-image.sh DIR [TAG] [CACHE]
set -euo pipefail
dir=$(realpath -m "${1:?usage: base-image.sh DIR [TAG] [CACHE]}")
tag=${2:-localhost/python-base:3.11}
cache=${3:-/var/tmp/mlops-image-cache}
mkdir -p "$cache"
tarball="$cache/python-base-bookworm.tar"
partial="$cache/partial-python-base.tar"  # the .tar suffix tells mmdebstrap the format
if [ ! -s "$tarball" ]; then
  # shellcheck disable=SC2016  # mmdebstrap expands "$1" (the chroot) itself
  mmdebstrap --variant=minbase --include=python3,python3-venv \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
    bookworm "$partial" "deb http://deb.debian.org/debian bookworm main" 2>"$cache/mmdebstrap.log"
  mv "$partial" "$tarball"
fi
export CONTAINERS_CONF="$dir/containers.conf"
podman --root "$dir/storage" --runroot "$dir/runroot" import --quiet \
  --change 'CMD ["python3"]' "$tarball" "$tag" >/dev/null
echo "$tag"
