#!/usr/bin/env bash
# `make image`: the container image of the agent, from Debian packages only.
#   1. a base root filesystem from Debian bookworm (mmdebstrap: the essential
#      set, for /bin/sh and stat(1) that the bpffs init container runs, mount(8),
#      and ptrig-load's runtime libraries), cached in $BUILD/image/ until this
#      script changes;
#   2. $BUILD/image/ptrig-rootfs.tar: the base plus $BUILD/ptrig-load as
#      /usr/sbin/ptrig-load (checked to start inside it);
#   3. with podman: imported as localhost/ptrig:latest (entrypoint
#      ptrig-load) and saved as an OCI archive, $BUILD/image/ptrig-oci.tar,
#      for `podman load` / `ctr images import` on a node.
# Env: BUILD (default build), IMAGE (default localhost/ptrig:latest),
# DEBIAN_MIRROR (default: the first deb.debian.org-style URI apt uses).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
IMAGE=${IMAGE:-localhost/ptrig:latest}
OUT=$BUILD/image
BASE=$OUT/base-rootfs.tar
ROOTFS=$OUT/ptrig-rootfs.tar
# The runtime libraries of ptrig-load (see LDLIBS in the Makefile), and
# mount(8) for the bpffs init container.
LIBS=libbpf1,libelf1,zlib1g,libjson-c5,libmicrohttpd12,libsystemd0,libnftnl11,libmnl0,mount

[ -x "$BUILD/ptrig-load" ] || {
	echo "image: $BUILD/ptrig-load missing (run make)" >&2
	exit 1
}
command -v mmdebstrap >/dev/null || {
	echo "image: mmdebstrap missing (tools/install-deps.sh)" >&2
	exit 1
}
mkdir -p "$OUT"

if [ ! -s "$BASE" ] || [ "$0" -nt "$BASE" ]; then
	mirror=${DEBIAN_MIRROR:-$(sed -n 's/^URIs: *\(http[^ ]*debian\)$/\1/p' \
		/etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)}
	mirror=${mirror:-http://deb.debian.org/debian}
	echo "image: building the base root filesystem from $mirror (about a minute)"
	# No documentation, man pages or locales: a smaller image.
	mmdebstrap --variant=essential --include="$LIBS" \
		--dpkgopt='path-exclude=/usr/share/doc/*' \
		--dpkgopt='path-exclude=/usr/share/man/*' \
		--dpkgopt='path-exclude=/usr/share/locale/*' \
		--dpkgopt='path-exclude=/usr/share/info/*' \
		--customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/*' \
		bookworm "$OUT/base-rootfs.tmp.tar" "deb $mirror bookworm main" \
		"deb ${mirror%/debian}/debian-security bookworm-security main" >"$OUT/mmdebstrap.log" 2>&1 || {
		tail -20 "$OUT/mmdebstrap.log" >&2
		rm -f "$OUT/base-rootfs.tmp.tar"
		exit 1
	}
	mv "$OUT/base-rootfs.tmp.tar" "$BASE"
fi

# The binary goes in as a last tar member (owned by root, mode 0755).
stage=$(mktemp -d)
trap 'rm -rf -- "$stage"' EXIT
install -D -m 0755 "$BUILD/ptrig-load" "$stage/usr/sbin/ptrig-load"
cp "$BASE" "$ROOTFS.tmp"
tar --append -f "$ROOTFS.tmp" -C "$stage" --owner=0 --group=0 ./usr/sbin/ptrig-load
# It must find every library inside the image, not on this host.
mkdir "$stage/root"
tar -xf "$ROOTFS.tmp" -C "$stage/root"
chroot "$stage/root" /usr/sbin/ptrig-load --help >/dev/null || {
	echo "image: ptrig-load does not start inside the image" >&2
	exit 1
}
mv "$ROOTFS.tmp" "$ROOTFS"
echo "image: $ROOTFS ($(du -m "$ROOTFS" | cut -f1) MiB)"

if command -v podman >/dev/null; then
	P=(podman --cgroup-manager=cgroupfs --events-backend=file)
	{
		"${P[@]}" import --change 'ENTRYPOINT ["/usr/sbin/ptrig-load"]' "$ROOTFS" "$IMAGE" &&
			rm -f "$OUT/ptrig-oci.tar" &&
			"${P[@]}" save --format oci-archive -o "$OUT/ptrig-oci.tar" "$IMAGE"
	} >"$OUT/podman.log" 2>&1 || {
		cat "$OUT/podman.log" >&2
		exit 1
	}
	echo "image: $IMAGE, saved as $OUT/ptrig-oci.tar"
fi
