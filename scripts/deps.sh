#!/usr/bin/env bash
# Install the Debian packages this project needs, only those missing.
# Runs apt-get as root, or through sudo. Idempotent and quiet when all present.
set -euo pipefail
PKGS="build-essential cmake pkg-config openssl libssl-dev libevent-dev libcjson-dev
libsqlite3-dev libcmocka-dev clang libclang-rt-14-dev openssh-server openssh-client
procps iproute2 socat"
missing=""
for p in $PKGS; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done
[ -z "$missing" ] && exit 0
echo "deps: installing:$missing" >&2
SUDO=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "deps: need root or sudo to install:$missing" >&2; exit 1; }
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
