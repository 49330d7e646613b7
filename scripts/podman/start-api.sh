#!/usr/bin/env bash
# Start podman's Docker-compatible API on DIR/podman.sock with storage under DIR, and the two
# containers.conf settings these machines need (runc; explicit ulimits). Prints the DOCKER_HOST.
#   usage: start-api.sh DIR        stop: kill "$(cat DIR/podman.pid)"
set -euo pipefail
dir=$(realpath -m "${1:?usage: start-api.sh DIR}")
mkdir -p "$dir"
cat >"$dir/containers.conf" <<'CONF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
CONF
export CONTAINERS_CONF="$dir/containers.conf"
socket="$dir/podman.sock"
rm -f "$socket"
podman --root "$dir/storage" --runroot "$dir/runroot" system service --time=0 "unix://$socket" \
  >"$dir/podman-service.log" 2>&1 &
echo $! >"$dir/podman.pid"
# Up to 60 s: on a busy machine the service takes well over the second it takes on a quiet one.
for _ in $(seq 1 600); do
  [ -S "$socket" ] && { echo "unix://$socket"; exit 0; }
  sleep 0.1
done
echo "podman API did not start in 60 s; $dir/podman-service.log says:" >&2
cat "$dir/podman-service.log" >&2
exit 1
