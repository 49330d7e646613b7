#!/usr/bin/env bash
# Stop the API started by start-api.sh DIR and delete its storage (images, containers, mounts).
#   usage: stop-api.sh DIR
set -euo pipefail
dir=$(realpath -m "${1:?usage: stop-api.sh DIR}")
if [ -s "$dir/podman.pid" ]; then
  pid=$(cat "$dir/podman.pid")
  kill "$pid" 2>/dev/null || true
  # Wait for the service to let go of its storage (up to 10 s) before resetting it.
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$dir/podman.pid"
fi
# conmon of exec sessions (healthchecks, `podman exec`) outlives the service and later runs a
# delayed `podman container cleanup` that mounts the storage again: stop everything using it.
pkill -9 -f -- "$dir/storage" 2>/dev/null || true
export CONTAINERS_CONF="$dir/containers.conf"
podman --root "$dir/storage" --runroot "$dir/runroot" system reset --force >/dev/null 2>&1 || true
# The overlay driver bind-mounts its own folder; release every mount below DIR, deepest first.
awk -v prefix="$dir/" 'index($2, prefix) == 1 {print $2}' /proc/mounts | sort -r |
  while read -r target; do umount "$target" 2>/dev/null || umount -l "$target" 2>/dev/null || true; done
rm -rf "$dir/storage" "$dir/runroot"
