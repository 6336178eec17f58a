#!/usr/bin/env bash
# Install the Debian packages named on the command line that are missing; do nothing when all are there.
# A package counts as present when dpkg has it installed or a command of the same name is on PATH.
#
#   scripts/ensure_apt.sh chromium xmlsec1
set -euo pipefail

missing=()
for pkg in "$@"; do
    if ! command -v "$pkg" >/dev/null 2>&1 &&
        ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "ensure_apt: installing ${missing[*]}" >&2
if [ "$(id -u)" -eq 0 ]; then
    sudo=()
elif command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
else
    echo "ensure_apt: ERROR: ${missing[*]} missing; run as root: apt-get install -y ${missing[*]}" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update
"${sudo[@]}" apt-get install -y "${missing[@]}"
