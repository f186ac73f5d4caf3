#!/usr/bin/env bash
# vm.sh: run a command as root inside a Debian kernel under qemu, with this
# machine's root filesystem as the guest's root. For testing ptrig on the
# kernels users run (Debian 12's 6.1, where conntrack is a module).
#
#   bash tools/vm.sh [OPTIONS] [--] CMD [ARGS...]   run CMD in the guest
#   bash tools/vm.sh prepare                        only fetch and unpack
#
# Options (and the environment variables that set their defaults):
#   -k PKG   kernel package, by exact name   VM_KERNEL_PKG, linux-image-6.1.0-57-amd64
#   -t SECS  kill the guest after SECS       VM_TIMEOUT, 900
#   -m MB    guest memory                    VM_MEM, 2048
#   -s N     guest CPUs                      VM_SMP, 2
#   -a ACCEL tcg or kvm                      VM_ACCEL, tcg (same speed everywhere;
#            kvm needs working (nested) KVM, which the development VM lacks)
#   -C DIR   working directory in the guest  (default: the current one; not
#            under /tmp, /run, /dev, /proc or /sys: the guest has its own)
#   -e VAR=VALUE   set VAR in the guest (repeatable); BUILD, PTRIG_* and LAB_*
#                  pass through from the caller's environment
#   -v       show the guest's kernel console after the run
#
# The command's output streams to stdout; the exit status is the command's,
# 124 if the timeout killed the guest, 125 if the guest could not run it
# (the kernel console is printed then). Cache: $VM_CACHE (default
# $BUILD/vm): the .deb, the unpacked kernel and the initramfs.
#
# How the guest is built (everything from Debian packages: the kernel,
# qemu-system-x86, busybox-static, cpio, kmod):
#  - the kernel package is downloaded by exact name (`apt-get download`; a
#    glob would fetch every ABI) and unpacked with dpkg-deb; depmod indexes
#    its modules;
#  - a busybox initramfs loads the modules the boot needs (virtio PCI, 9p,
#    overlay: modules in Debian's kernels), in the order modprobe computes;
#  - it mounts this machine's / read-only over 9p (multidevs=remap: / spans
#    several filesystems) under a tmpfs overlay, so the guest may write
#    anywhere and nothing reaches the host; the kernel's own /lib/modules is
#    a second 9p share, so modprobe and module auto-loading work; a third,
#    writable share is the run directory (the command, its output, its exit
#    status);
#  - it runs the command chrooted into that root (kernel-side module loading
#    goes through a helper that enters the same root), then powers off.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in /*) ABS_BUILD=$BUILD ;; *) ABS_BUILD=$ROOT/$BUILD ;; esac
VM_CACHE=${VM_CACHE:-$ABS_BUILD/vm}
PKG=${VM_KERNEL_PKG:-linux-image-6.1.0-57-amd64}
TIMEOUT=${VM_TIMEOUT:-900}
MEM=${VM_MEM:-2048}
SMP=${VM_SMP:-2}
ACCEL=${VM_ACCEL:-tcg}
CWD=$PWD
VERBOSE=0
EXTRA_ENV=()

# Modules the initramfs loads (with their dependencies) before it can mount.
BOOT_MODULES="virtio_pci 9pnet_virtio 9p overlay"

die() {
	echo "vm.sh: $*" >&2
	exit 125
}

usage() {
	sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//' >&2
	exit 2
}

# ---- kernel package and initramfs (cached) ----------------------------------

# prepare: sets KVER, KDIR (the unpacked package) and INITRD.
prepare() {
	local deb mods m stage
	command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing (tools/install-deps.sh)"
	[ -x /bin/busybox ] || die "busybox missing (package busybox-static; tools/install-deps.sh)"
	command -v cpio >/dev/null || die "cpio missing (tools/install-deps.sh)"
	case "$PKG" in
	linux-image-*[!a-zA-Z0-9.+-]* | *'*'* | *'?'*) die "-k wants one exact package name, got '$PKG'" ;;
	linux-image-?*) ;;
	*) die "-k wants a linux-image-* package name, got '$PKG'" ;;
	esac
	mkdir -p "$VM_CACHE/deb" "$VM_CACHE/kernels" || die "cannot create $VM_CACHE"
	# One preparation at a time; later runs find everything done.
	exec 9>"$VM_CACHE/.lock"
	flock 9
	KDIR=$VM_CACHE/kernels/$PKG
	if [ ! -e "$KDIR/.done" ]; then
		deb=$(find "$VM_CACHE/deb" -maxdepth 1 -name "${PKG}_*.deb" | head -1)
		if [ -z "$deb" ]; then
			echo "vm.sh: downloading $PKG" >&2
			(cd "$VM_CACHE/deb" && apt-get download -q "$PKG" >/dev/null 2>&1) ||
				(apt-get update -qq && cd "$VM_CACHE/deb" && apt-get download -q "$PKG" >/dev/null) ||
				die "apt-get download $PKG failed (is it in \`apt-cache policy $PKG\`?)"
			deb=$(find "$VM_CACHE/deb" -maxdepth 1 -name "${PKG}_*.deb" | head -1)
		fi
		rm -rf "$KDIR"
		dpkg-deb -x "$deb" "$KDIR" || die "dpkg-deb -x $deb failed"
		KVER=$(find "$KDIR/lib/modules" -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | head -1)
		if [ -z "$KVER" ] || [ ! -e "$KDIR/boot/vmlinuz-$KVER" ]; then
			die "$deb: no kernel and modules inside"
		fi
		depmod -b "$KDIR" "$KVER" || die "depmod failed"
		touch "$KDIR/.done"
	fi
	KVER=$(find "$KDIR/lib/modules" -mindepth 1 -maxdepth 1 -printf '%f\n' | head -1)
	INITRD=$KDIR/initrd.gz
	# Rebuilt when this script changes (the init below lives here).
	if [ ! -e "$INITRD" ] || [ "${BASH_SOURCE[0]}" -nt "$INITRD" ]; then
		stage=$(mktemp -d) || die "mktemp"
		mkdir -p "$stage"/{bin,dev,proc,sys,newroot,lower,mods,run} || die "staging the initramfs"
		cp /bin/busybox "$stage/bin/busybox" || die "staging the initramfs"
		# --show-depends lists each module after its dependencies; a
		# module shared by two chains appears twice, so keep the first.
		# shellcheck disable=SC2086
		mods=$(modprobe -d "$KDIR" -S "$KVER" -a --show-depends $BOOT_MODULES |
			awk '$1 == "insmod" && !seen[$2]++ { print $2 }') || die "modprobe --show-depends"
		: >"$stage/mods/order"
		for m in $mods; do
			cp "$m" "$stage/mods/" || die "copy $m"
			basename "$m" >>"$stage/mods/order"
		done
		write_init >"$stage/init" && chmod 755 "$stage/init"
		(cd "$stage" && find . | cpio -o -H newc --quiet | gzip -1) >"$INITRD.tmp" ||
			die "building the initramfs"
		mv "$INITRD.tmp" "$INITRD" || die "building the initramfs"
		rm -rf "$stage"
	fi
	flock -u 9
}

# The guest's /init (busybox sh, PID 1).
write_init() {
	cat <<'EOF'
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs dev /dev
fail() { echo "vm-init: $*"; echo "vm-init: rc=125"; poweroff -f; sleep 10; }
for m in $(cat /mods/order); do
	insmod "/mods/$m" || fail "insmod $m"
done
o=trans=virtio,version=9p2000.L,msize=262144
mount -t 9p -o "$o,ro,cache=loose" root /lower || fail "mount root over 9p"
mount -t tmpfs -o mode=755 overlay-rw /run || fail "tmpfs"
mkdir -p /run/upper /run/work
mount -t overlay -o lowerdir=/lower,upperdir=/run/upper,workdir=/run/work overlay /newroot ||
	fail "overlay mount"
R=/newroot
mkdir -p $R/usr/lib/modules $R/run $R/tmp $R/sys/fs/bpf
mount -t 9p -o "$o,ro" modules $R/usr/lib/modules || fail "mount modules over 9p"
mount -t proc proc $R/proc
mount -t sysfs sysfs $R/sys
mount -t bpf bpf $R/sys/fs/bpf
mount -t devtmpfs dev $R/dev
mkdir -p $R/dev/pts $R/dev/shm
mount -t devpts devpts $R/dev/pts
mount -t tmpfs tmpfs $R/dev/shm
# What udev would add: bash's process substitution opens /dev/fd/N.
ln -s /proc/self/fd $R/dev/fd
ln -s /proc/self/fd/0 $R/dev/stdin
ln -s /proc/self/fd/1 $R/dev/stdout
ln -s /proc/self/fd/2 $R/dev/stderr
mount -t tmpfs -o mode=755 tmpfs $R/run
mount -t tmpfs -o mode=1777 tmpfs $R/tmp
mkdir -p $R/run/ptrig-vm $R/run/netns $R/run/lock
mount -t 9p -o "$o" run $R/run/ptrig-vm || fail "mount the run directory over 9p"
# Module loading from the kernel (request_module) runs in this initramfs's
# root; send it to the guest system's modprobe and modules.
printf '#!/bin/sh\nexec /bin/chroot /newroot /sbin/modprobe "$@"\n' >/bin/modprobe-chroot
chmod 755 /bin/modprobe-chroot
echo /bin/modprobe-chroot >/proc/sys/kernel/modprobe
hostname ptrig-vm
ip link set lo up
echo "vm-init: running the command"
chroot $R /bin/bash /run/ptrig-vm/cmd.sh </dev/null >>$R/run/ptrig-vm/out 2>&1
rc=$?
echo $rc >$R/run/ptrig-vm/rc
sync
echo "vm-init: rc=$rc"
poweroff -f
sleep 10
EOF
}

# ---- running ----------------------------------------------------------------

# The guest-side script: the caller's directory and environment, then CMD.
write_cmd() {
	local v
	echo "cd $(printf '%q' "$CWD") || exit 125"
	echo "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 TERM=dumb"
	for v in $(compgen -e); do
		case "$v" in BUILD | PTRIG_* | LAB_*) echo "export $v=$(printf '%q' "${!v}")" ;; esac
	done
	for v in "${EXTRA_ENV[@]}"; do
		echo "export $(printf '%q' "${v%%=*}")=$(printf '%q' "${v#*=}")"
	done
	printf 'exec'
	printf ' %q' "$@"
	echo
}

run() {
	local run_dir qpid tpid rc start accel cpu
	[ "$(id -u)" -eq 0 ] || die "needs root (qemu's 9p server must read the whole filesystem)"
	prepare
	run_dir=$(mktemp -d /tmp/ptrig-vm.XXXXXX) || die "mktemp"
	# shellcheck disable=SC2064 # expand now
	trap "rm -rf -- '$run_dir'" EXIT
	write_cmd "$@" >"$run_dir/cmd.sh"
	: >"$run_dir/out"
	case "$ACCEL" in
	tcg) accel=tcg cpu=${VM_CPU:-max} ;;
	kvm)
		[ -w /dev/kvm ] || die "-a kvm: /dev/kvm is not usable"
		accel=kvm cpu=${VM_CPU:-host}
		;;
	*) die "-a wants tcg or kvm, got '$ACCEL'" ;;
	esac
	start=$(date +%s.%N)
	timeout --kill-after=5 "$TIMEOUT" qemu-system-x86_64 \
		-machine "q35,accel=$accel" -cpu "$cpu" -smp "$SMP" -m "$MEM" \
		-nodefaults -no-user-config -display none -no-reboot -nic none \
		-serial "file:$run_dir/console" \
		-kernel "$KDIR/boot/vmlinuz-$KVER" -initrd "$INITRD" \
		-append "console=ttyS0 loglevel=4 panic=-1 rdinit=/init" \
		-fsdev "local,id=root,path=/,readonly=on,security_model=none,multidevs=remap" \
		-device virtio-9p-pci,fsdev=root,mount_tag=root \
		-fsdev "local,id=modules,path=$KDIR/lib/modules,readonly=on,security_model=none" \
		-device virtio-9p-pci,fsdev=modules,mount_tag=modules \
		-fsdev "local,id=run,path=$run_dir,security_model=none" \
		-device virtio-9p-pci,fsdev=run,mount_tag=run \
		</dev/null >"$run_dir/qemu.log" 2>&1 &
	qpid=$!
	# timeout(1) runs in a process group of its own: pass a kill on.
	# shellcheck disable=SC2064 # expand now
	trap "kill $qpid 2>/dev/null; wait $qpid; rm -rf -- '$run_dir'; exit 143" TERM INT HUP
	tail -n +1 -f --pid=$qpid "$run_dir/out" &
	tpid=$!
	wait $qpid
	rc=$?
	wait $tpid
	if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
		echo "vm.sh: timeout: the guest ran longer than ${TIMEOUT}s; killed" >&2
		rc=124
	elif [ -s "$run_dir/rc" ]; then
		rc=$(cat "$run_dir/rc")
	else
		echo "vm.sh: the guest did not run the command (qemu exit $rc)" >&2
		rc=125
	fi
	if [ "$rc" -eq 125 ] || [ "$rc" -eq 124 ] || [ "$VERBOSE" = 1 ]; then
		echo "vm.sh: guest console ($PKG, $ACCEL):" >&2
		sed 's/^/  | /' "$run_dir/qemu.log" "$run_dir/console" | tail -40 >&2
	fi
	[ "$VERBOSE" = 1 ] &&
		echo "vm.sh: $(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }')s in the guest" >&2
	return "$rc"
}

while getopts "k:t:m:s:a:C:e:vh" opt; do
	case "$opt" in
	k) PKG=$OPTARG ;;
	t) TIMEOUT=$OPTARG ;;
	m) MEM=$OPTARG ;;
	s) SMP=$OPTARG ;;
	a) ACCEL=$OPTARG ;;
	C) CWD=$(cd "$OPTARG" && pwd) || die "-C $OPTARG: no such directory" ;;
	e)
		case "$OPTARG" in
		[A-Za-z_]*=*) EXTRA_ENV+=("$OPTARG") ;;
		*) die "-e wants VAR=VALUE, got '$OPTARG'" ;;
		esac
		;;
	v) VERBOSE=1 ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || usage
case "$TIMEOUT" in '' | *[!0-9]*) die "-t wants seconds, got '$TIMEOUT'" ;; esac
if [ "$1" = prepare ] && [ $# -eq 1 ]; then
	prepare
	echo "vm.sh: $PKG ready: $KDIR (kernel $KVER)"
	exit 0
fi
run "$@"
