#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build the test VM's initramfs for one kernel: busybox-static, tools/vm/init
# and the modules needed to reach the host root over virtio-9p, in
# dependency order (taken from that kernel's modules.dep), decompressed.
#
#   tools/vm/mkinitramfs.sh KVER OUT.cpio
set -euo pipefail

kver=$1
out=$2
HERE=$(cd "$(dirname "$0")" && pwd)
moddir=/lib/modules/$kver
BUSYBOX=${BUSYBOX:-/bin/busybox}

# Modules the init needs, in the order it wants them; dependencies are
# added in front of each from modules.dep.
WANT=(virtio_pci 9pnet_virtio 9p configfs)

[ -f "$moddir/modules.dep" ] || { echo "mkinitramfs: no $moddir/modules.dep" >&2; exit 1; }
if [ ! -x "$BUSYBOX" ] || readelf -l "$BUSYBOX" 2>/dev/null | grep -q INTERP; then
	echo "mkinitramfs: $BUSYBOX is not busybox-static" >&2
	exit 1
fi

# norm PATH: module name with '-' as '_', in $N (no subshell: modules.dep
# has thousands of lines)
norm() {
	N=${1##*/}
	N=${N%%.ko*}
	N=${N//-/_}
}

declare -A path_of deps_of builtin done_
while IFS= read -r line; do
	mod=${line%%:*}
	norm "$mod"
	path_of[$N]=$mod
	deps_of[$N]=${line#*:}
done <"$moddir/modules.dep"
if [ -f "$moddir/modules.builtin" ]; then
	while IFS= read -r line; do
		norm "$line"
		builtin[$N]=1
	done <"$moddir/modules.builtin"
fi

order=()
visit() {
	local n=$1 d
	[ -z "${done_[$n]:-}" ] || return 0
	done_[$n]=1
	if [ -n "${builtin[$n]:-}" ]; then
		return 0
	fi
	[ -n "${path_of[$n]:-}" ] ||
		{ echo "mkinitramfs: module $n not found for $kver" >&2; exit 1; }
	for d in ${deps_of[$n]}; do
		norm "$d"
		visit "$N"
	done
	order+=("$n")
}
for m in "${WANT[@]}"; do
	visit "${m//-/_}"
done

stage=$(mktemp -d "${out}.stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/mods" "$stage/proc" "$stage/sys" "$stage/dev" \
	"$stage/newroot" "$stage/results"
cp "$BUSYBOX" "$stage/bin/busybox"
ln -s busybox "$stage/bin/sh"
install -m 0755 "$HERE/init" "$stage/init"

i=0
for n in "${order[@]}"; do
	p=$moddir/${path_of[$n]}
	dst=$stage/mods/$(printf '%02d' "$i")-$n.ko
	case $p in
	*.ko.xz) xz -dc "$p" >"$dst" ;;
	*.ko.zst) zstd -qdc "$p" >"$dst" ;;
	*.ko.gz) gzip -dc "$p" >"$dst" ;;
	*.ko) cp "$p" "$dst" ;;
	*) echo "mkinitramfs: unknown module format $p" >&2; exit 1 ;;
	esac
	i=$((i + 1))
done
echo "${order[*]}" >"$stage/mods/ORDER"

(cd "$stage" && find . -print0 | LC_ALL=C sort -z |
	cpio --null -o -H newc --quiet -R 0:0) >"$out.tmp"
mv "$out.tmp" "$out"
echo "initramfs $out: ${order[*]}"
