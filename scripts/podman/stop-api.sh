#!/usr/bin/env bash
# Stop the API started by start-api.sh DIR and delete its storage (images, containers, mounts).
#   usage: stop-api.sh DIR
set -euo pipefail
dir=$(realpath -m "${1:?usage: stop-api.sh DIR}")
if [ -s "$dir/podman.pid" ]; then
  kill "$(cat "$dir/podman.pid")" 2>/dev/null || true
  rm -f "$dir/podman.pid"
fi
export CONTAINERS_CONF="$dir/containers.conf"
podman --root "$dir/storage" --runroot "$dir/runroot" system reset --force >/dev/null 2>&1 || true
rm -rf "$dir/storage" "$dir/runroot"
