#!/usr/bin/env bash
# Installs the external tools the test suite drives for real: podman (image builds), promtool and
# prometheus, wrk/hey (load), mmdebstrap (local base image), chromium (the HTML report as a browser
# renders it), and checkov in its own venv.
# Run as root (CI, or `sudo make tools`). Idempotent: skips what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(podman buildah runc crun fuse-overlayfs slirp4netns uidmap containernetworking-plugins
          catatonit mmdebstrap prometheus prometheus-pushgateway wrk hey chromium)
missing=()
for package in "${packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if ((${#missing[@]})); then
  echo "installing system packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x .venv-checkov/bin/checkov ]; then
  echo "installing checkov into .venv-checkov"
  python3 -m venv .venv-checkov
  # This machine's pip config lists local index folders that may not exist; drop only that warning.
  .venv-checkov/bin/pip install -q --upgrade pip 2> >(grep -v "^WARNING: Location '" >&2)
  .venv-checkov/bin/pip install -q 'checkov>=3.2' 2> >(grep -v "^WARNING: Location '" >&2)
fi

for tool in podman promtool prometheus prometheus-pushgateway wrk kubectl mmdebstrap chromium; do
  command -v "$tool" >/dev/null || { echo "required tool missing after install: $tool" >&2; exit 1; }
done
.venv-checkov/bin/checkov --version >/dev/null
echo "tools ready"
