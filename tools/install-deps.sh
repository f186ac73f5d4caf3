#!/usr/bin/env bash
# Installs every Debian package that the build, tests, demo, lab and benchmarks need.
# Idempotent: apt-get runs only when a package is missing, and `apt-get update` at most once.
set -euo pipefail

PACKAGES=(
	# build
	make gcc libc6-dev clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev pkg-config libjson-c-dev
	# unit tests
	libcmocka-dev
	# fixtures that create conntrack entries with chosen TCP window flags
	libnetfilter-conntrack-dev
	# reading nftables flowtables (hardware offload on the WAN) over netlink
	libnftnl-dev libmnl-dev
	# fuzzing (clang's libFuzzer and sanitizer runtimes)
	libclang-rt-dev
	# lab, end-to-end tests and demo
	iproute2 nftables ethtool conntrack socat coreutils procps util-linux kmod jq
	vsftpd lftp
	# captures of ICMP errors in the lab (tests/e2e/test_pmtud.sh)
	tcpdump
	# kernel lab: Debian kernels under qemu (tools/vm.sh)
	qemu-system-x86 busybox-static cpio
	# WAN link types in the guest: PPPoE (server and kernel-plugin client), WireGuard
	ppp pppoe wireguard-tools
	# the agent (ptrig-load run): metrics endpoint, systemd readiness; its tests
	libmicrohttpd-dev libsystemd-dev curl prometheus strace
	# Kubernetes manifest validation (kubernetes-models from npm)
	nodejs
	# the agent's container image (make image) and running it in the lab
	mmdebstrap podman runc
	# benchmarks
	iperf3 netsniff-ng gnuplot-nox
)

# A nodejs from elsewhere (e.g. NodeSource) brings its own npm, which Debian's
# npm package would conflict with.
command -v npm >/dev/null || PACKAGES+=(npm)

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all packages present"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages: ${missing[*]}; run as root (sudo make deps)" >&2
	exit 1
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# vsftpd starts a listener on install; the lab runs its own instance inside a namespace.
printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d.ptrig
if [ ! -e /usr/sbin/policy-rc.d ]; then
	install -m 0755 /usr/sbin/policy-rc.d.ptrig /usr/sbin/policy-rc.d
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
rm -f /usr/sbin/policy-rc.d.ptrig
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
