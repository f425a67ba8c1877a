#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Install every build and test dependency of mbatch on Debian bookworm.
# Idempotent: does nothing when everything is already present.
set -euo pipefail

newest_612() {
	apt-cache search --names-only '^linux-image-6\.12\..*\+deb12-amd64$' |
		awk '{print $1}' | sed 's/^linux-image-//' | sort -V | tail -n 1
}

PKGS=(build-essential bc kmod cpio xz-utils zstd qemu-system-x86
      busybox-static linux-image-amd64 linux-headers-amd64
      libnl-3-dev libnl-genl-3-dev libjson-c-dev libssl-dev pkg-config
      linux-source-6.1 sparse coccinelle shellcheck fio liburing-dev
      iproute2 procps python3 python3-yaml dkms)

missing() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
			grep -q '^install ok installed$' || echo "$p"
	done
}

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive

if ! apt-cache show linux-image-amd64 >/dev/null 2>&1 ||
   [ -z "$(newest_612 2>/dev/null)" ]; then
	$SUDO apt-get update -q
fi
k612=$(newest_612)
[ -n "$k612" ] || { echo "deps: no 6.12 kernel in apt" >&2; exit 1; }
PKGS+=("linux-image-$k612" "linux-headers-$k612")

mapfile -t need < <(missing "${PKGS[@]}")
if [ "${#need[@]}" -gt 0 ]; then
	echo "deps: installing ${need[*]}" >&2
	$SUDO apt-get install -y -q --no-install-recommends "${need[@]}" ||
		{ $SUDO apt-get update -q &&
		  $SUDO apt-get install -y -q --no-install-recommends "${need[@]}"; }
fi
echo "deps: ok (6.12 = $k612)" >&2
