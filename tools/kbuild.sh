#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build an out-of-tree module of this repo against one kernel, in its own
# output tree, so that builds for several kernels coexist.
#
#   tools/kbuild.sh kver KDIR              print the kernel release of KDIR
#   tools/kbuild.sh mbatch  KDIR OUT [make args]   -> OUT/kmod/mbatch.ko
#   tools/kbuild.sh control KDIR OUT [make args]   -> OUT/mbatch_control.ko
#
# OUT holds symlinks to the sources; objects are written next to them.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)

kver() {
	sed -n 's/^#define UTS_RELEASE "\(.*\)"$/\1/p' \
		"$1/include/generated/utsrelease.h"
}

# link_tree DEST SRCDIR PATTERN...: symlink matching files, drop stale links
link_tree() {
	local dest=$1 srcdir=$2 f
	shift 2
	mkdir -p "$dest"
	find "$dest" -maxdepth 1 -type l -delete
	for f in "$@"; do
		[ -e "$srcdir/$f" ] || continue
		ln -s "$srcdir/$f" "$dest/$f"
	done
}

names() {
	(cd "$1" && shopt -s nullglob && echo Kbuild ./*.c ./*.h) |
		tr ' ' '\n' | sed 's|^\./||'
}

cmd=$1
kdir=${2:-}
if [ -z "$kdir" ] || [ ! -f "$kdir/Makefile" ]; then
	echo "kbuild: no kernel build tree at '$kdir'" >&2
	exit 1
fi

case $cmd in
kver)
	kver "$kdir"
	exit 0
	;;
mbatch)
	out=$3
	shift 3
	if ! compgen -G "$SRC/kmod/*.c" >/dev/null; then
		echo "kbuild: kmod/ has no sources yet" >&2
		exit 1
	fi
	mkdir -p "$out"
	ln -sfn "$SRC/Kbuild" "$out/Kbuild"
	ln -sfn "$SRC/include" "$out/include"
	mapfile -t files < <(names "$SRC/kmod")
	link_tree "$out/kmod" "$SRC/kmod" "${files[@]}"
	;;
control)
	out=$3
	shift 3
	mapfile -t files < <(names "$SRC/selftests/control")
	link_tree "$out" "$SRC/selftests/control" "${files[@]}"
	;;
*)
	echo "usage: $0 kver|mbatch|control KDIR [OUT [make args]]" >&2
	exit 2
	;;
esac

out=$(cd "$out" && pwd)
exec make -C "$kdir" M="$out" "$@" modules
