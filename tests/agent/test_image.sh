#!/usr/bin/env bash
# The agent's container image (tools/image.sh, `make image`: Debian packages
# plus ptrig-load) run with podman in the lab the way the DaemonSet runs it:
# the capability set, read-only root filesystem, /sys/fs/bpf with
# HostToContainer propagation, the rules directory read-only, the DaemonSet's
# args (the node address and the interface replaced by the lab's), the
# router's network namespace as the host network:
#   1. ready (/readyz), a trigger opens and an inbound connection reaches
#      the LAN host; a ConfigMap-style update of the rules directory is
#      applied; `podman stop` (SIGTERM) exits 0 and the datapath stays;
#   2. without CAP_SYS_ADMIN the container exits 1 and its log names it;
#   3. the init container's command, privileged, with Bidirectional
#      propagation, mounts bpffs on a host directory that has none, and
#      leaves one that has it alone.
# The base root filesystem is built on the first run (about a minute, from
# Debian's mirror) and cached in $BUILD/image.
# shellcheck disable=SC2317 # helpers run through wait_for/check
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

e2e_init
e2e_need podman runc mmdebstrap curl
IMAGE=localhost/ptrig:test-$$
P=(podman --cgroup-manager=cgroupfs --events-backend=file --runtime runc)
NAME=ptrig-agent-test-$$
FAKE=
image_cleanup() {
	"${P[@]}" rm -f "$NAME" "$NAME-nocap" >/dev/null 2>&1
	"${P[@]}" rmi -f "$IMAGE" >/dev/null 2>&1
	if [ -n "$FAKE" ]; then
		umount "$FAKE" 2>/dev/null
		umount "$FAKE" 2>/dev/null
	fi
}
IMAGE=$IMAGE BUILD=$E2E_BUILD bash "$E2E_ROOT/tools/image.sh" >"$E2E_TMP/image.log" 2>&1 || {
	cat "$E2E_TMP/image.log"
	die "tools/image.sh builds the image"
}
pass "tools/image.sh: $(grep -o 'ptrig-rootfs.tar ([0-9]* MiB)' "$E2E_TMP/image.log"), imported as $IMAGE"
e2e_ptrig_lab
lab_on_down image_cleanup

DS=$E2E_ROOT/deploy/kubernetes/daemonset.yaml
CAPS=$(sed -n 's/^ *add: \[\(.*\)\]$/\1/p' "$DS" | tr -d '" ' | tr ',' ' ')
ARGS=$(sed -n 's/^ *args: \[\(.*\)\]$/\1/p' "$DS" | tr -d '",')
check "the DaemonSet's capabilities ($CAPS) and args ($ARGS) found" test -n "$CAPS" -a -n "$ARGS"
grep -q 'readOnlyRootFilesystem: true' "$DS" || fail "the DaemonSet has a read-only root filesystem"
# The lab's node address and WAN interface.
# shellcheck disable=SC2001
ARGS=$(echo "$ARGS" | sed "s/\$(NODE_IP):9717/127.0.0.1:$AGENT_PORT/; s/ eth1\$/ $LAB_WAN_IF/")
note "podman run ... $IMAGE $ARGS"

# A ConfigMap volume: ptrig.conf -> ..data/ptrig.conf, ..data -> ..v1.
CM=$T/cm
mkdir -p "$CM/..v1"
printf '%s\n' "irc   tcp:6660-6669  tcp:113" >"$CM/..v1/ptrig.conf"
ln -s ..v1 "$CM/..data"
ln -s ..data/ptrig.conf "$CM/ptrig.conf"

# pod NAME CAP...: the agent container, detached.
pod() {
	local name=$1 c add=()
	shift
	for c in "$@"; do add+=(--cap-add "$c"); done
	# shellcheck disable=SC2086 # ARGS: one word per argument
	"${P[@]}" run -d --name "$name" --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 \
		--network "ns:/run/netns/$LAB_ROUTER" --cap-drop all "${add[@]}" \
		--read-only --security-opt no-new-privileges \
		-v /sys/fs/bpf:/sys/fs/bpf:rslave -v "$CM:/etc/ptrig:ro" \
		-e PTRIG_PIN_ROOT="$PTRIG_PIN_ROOT" "$IMAGE" $ARGS >/dev/null
}
pod_ready() { [ "$(lab_exec router curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$AGENT_PORT/readyz")" = 200 ]; }
names_are() { [ "$(status_jq '[.interfaces[0].rules[].name] | join(",")')" = "$1" ]; }

# ---- 1. as the DaemonSet runs it ------------------------------------------------------
# shellcheck disable=SC2086
pod "$NAME" $CAPS || die "podman run"
wait_for 10 pod_ready || {
	"${P[@]}" logs "$NAME"
	die "the container is ready"
}
pass "the container is ready (/readyz 200) with only $CAPS"
assert_eq "$(printf '%016x' $(( (1 << 12) | (1 << 21) )))" \
	"$("${P[@]}" exec "$NAME" sed -n 's/^CapEff:\t//p' /proc/1/status)" \
	"its effective capabilities are exactly CAP_NET_ADMIN (12) and CAP_SYS_ADMIN (21)"
irc_trigger || die "irc trigger from lanhost1"
pass "irc trigger open (owner lanhost1)"
check "inbound remote1 -> $WAN:113 reaches lanhost1 (1 MiB, sha256)" xfer_tcp remote1 lanhost1 "$WAN" 113 1048576
mkdir -p "$CM/..v2"
printf '%s\n' "irc   tcp:6660-6669  tcp:113" "game  tcp:7000  tcp:7001" >"$CM/..v2/ptrig.conf"
ln -s ..v2 "$CM/..data_tmp"
mv -T "$CM/..data_tmp" "$CM/..data"
wait_for 5 names_are irc,game
assert_eq irc,game "$(status_jq '[.interfaces[0].rules[].name] | join(",")')" \
	"a ConfigMap update reaches the container and is applied"
"${P[@]}" stop -t 10 "$NAME" >/dev/null
assert_eq 0 "$("${P[@]}" inspect -f '{{.State.ExitCode}}' "$NAME")" "podman stop (SIGTERM): exit 0"
check "the datapath stays attached" xdp_attached

# ---- 2. without CAP_SYS_ADMIN ---------------------------------------------------------------
pod "$NAME-nocap" NET_ADMIN || die "podman run (no SYS_ADMIN)"
for ((i = 0; i < 50; i++)); do
	[ "$("${P[@]}" inspect -f '{{.State.Running}}' "$NAME-nocap")" = false ] && break
	sleep 0.1
done
assert_eq 1 "$("${P[@]}" inspect -f '{{.State.ExitCode}}' "$NAME-nocap")" "without CAP_SYS_ADMIN: exit 1"
check "without CAP_SYS_ADMIN: the log names it" \
	grep -q "missing capability CAP_SYS_ADMIN" <<<"$("${P[@]}" logs "$NAME-nocap" 2>&1)"

# ---- 3. the init container --------------------------------------------------------------------
INIT=$(sed -n '/- name: bpffs/,/securityContext/ s/^ *command: \["\/bin\/sh", "-c", "\(.*\)"\]$/\1/p' "$DS" | sed 's/\\"/"/g; s/\$\$/$/g')
check "the init container's command found ($INIT)" test -n "$INIT"
FAKE=$T/hostbpf
mkdir -p "$FAKE"
# A host directory without bpffs, shared like the host's /sys/fs/bpf.
mount --bind "$FAKE" "$FAKE" && mount --make-shared "$FAKE"
init() {
	"${P[@]}" run --rm --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 --network none \
		--privileged -v "$FAKE:/sys/fs/bpf:rshared" --entrypoint /bin/sh "$IMAGE" -c "$INIT"
}
init
assert_eq 0 $? "init container: exit 0"
assert_eq bpf_fs "$(stat -f -c %T "$FAKE")" "init container: bpffs now mounted on the host directory (Bidirectional)"
init
assert_eq 1 "$(findmnt -n -t bpf -o TARGET | grep -cx "$FAKE")" "run again: it mounts nothing more"
e2e_finish
