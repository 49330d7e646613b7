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
# The overlay driver bind-mounts its own folder; release every mount below DIR, deepest first.
awk -v prefix="$dir/" 'index($2, prefix) == 1 {print $2}' /proc/mounts | sort -r |
  while read -r target; do umount "$target" 2>/dev/null || true; done
rm -rf "$dir/storage" "$dir/runroot"
