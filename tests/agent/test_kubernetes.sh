#!/usr/bin/env bash
# deploy/kubernetes, offline: every object validates against the Kubernetes
# API schema (kubernetes-models from npm, installed into $BUILD on first
# use), the DaemonSet's privileges, mounts, probes and rules volume are what
# the README says, its capability set is the one `ptrig-load run` checks for,
# and the ConfigMap's rules pass `ptrig-load check`. Broken copies (an extra
# capability, a field of the wrong type, a misspelt mountPropagation) fail.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
# shellcheck source=../lib/check.sh
source tests/lib/check.sh
T=$(mktemp -d /tmp/ptrig-k8s.XXXXXX) || exit 1
trap 'rm -rf -- "$T"' EXIT

command -v node >/dev/null && command -v npm >/dev/null || {
	echo "FAIL: node and npm are needed (tools/install-deps.sh)"
	exit 1
}
V=$BUILD/k8s-validate
if ! cmp -s tests/agent/k8s/package-lock.json "$V/package-lock.json" || [ ! -d "$V/node_modules" ]; then
	rm -rf "$V"
	mkdir -p "$V"
	cp tests/agent/k8s/package.json tests/agent/k8s/package-lock.json "$V/"
	(cd "$V" && timeout 300 npm ci --no-audit --no-fund --loglevel=error) >"$T/npm.log" 2>&1 || {
		cat "$T/npm.log"
		echo "FAIL: npm ci (kubernetes-models, yaml)"
		exit 1
	}
fi
cp tests/agent/k8s/validate.mjs "$V/"

# The capabilities `ptrig-load run` checks for, without the CAP_ prefix.
NEEDED=$(sed -n '/needed_caps\[\] = {/,/^};/p' loader/agent.c | grep -oE '"CAP_[A-Z_]+"' |
	tr -d '"' | sed 's/^CAP_//' | sort | xargs)

node "$V/validate.mjs" deploy/kubernetes "$NEEDED" --rules "$T/rules.conf" >"$T/out" 2>&1
RC=$?
cat "$T/out"
check_count_lines "$T/out"
[ $RC -eq 0 ] && pass "validate.mjs exits 0" || fail "validate.mjs exits 0 (rc $RC)"
if "${BUILD}/ptrig-load" check -c "$T/rules.conf" >/dev/null 2>"$T/check.err"; then
	pass "the ConfigMap's ptrig.conf passes ptrig-load check"
else
	fail "the ConfigMap's ptrig.conf passes ptrig-load check: $(cat "$T/check.err")"
fi

# broken NAME SED: a copy of the manifests with SED applied to the
# DaemonSet must fail validation, on a line matching EXPECT.
broken() {
	local name=$1 expr=$2 expect=$3
	rm -rf "$T/bad"
	cp -r deploy/kubernetes "$T/bad"
	sed -i "$expr" "$T/bad/daemonset.yaml"
	if cmp -s deploy/kubernetes/daemonset.yaml "$T/bad/daemonset.yaml"; then
		fail "broken copy ($name): the edit changed nothing"
		return
	fi
	if node "$V/validate.mjs" "$T/bad" "$NEEDED" >"$T/bad.out" 2>&1; then
		fail "broken copy ($name) is rejected"
	elif grep -q "^FAIL: .*$expect" "$T/bad.out"; then
		pass "broken copy ($name) is rejected: $(grep -m1 "^FAIL: .*$expect" "$T/bad.out" | cut -c7-)"
	else
		fail "broken copy ($name) is rejected for the right reason ($expect): $(grep -m1 '^FAIL' "$T/bad.out")"
	fi
}
broken "one more capability" 's/add: \["NET_ADMIN", "SYS_ADMIN"\]/add: ["NET_ADMIN", "SYS_ADMIN", "NET_RAW"]/' "capabilities add exactly"
broken "hostNetwork a string" 's/hostNetwork: true/hostNetwork: "yes"/' "hostNetwork"
broken "misspelt mountPropagation" 's/mountPropagation: HostToContainer/mountPropogation: HostToContainer/' "HostToContainer propagation"
broken "probe on another port" '/livenessProbe:/,/periodSeconds/ s/port: 9717/port: 9718/' "liveness probe"

check_summary
