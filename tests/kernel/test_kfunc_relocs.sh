#!/usr/bin/env bash
# The BPF object never loads a kfunc's address. Code like `if (!kfunc)`
# compiles to an ld_imm64 of the kfunc (an R_BPF_64_64 relocation against it);
# kernels before 6.4 reject that for every kfunc ("invalid btf_id" when the
# kfunc lives in a module, as nf_conntrack's do on Debian 12's 6.1), so the
# programs would not load there. Calls (R_BPF_64_32) are fine.
#
# Usage: test_kfunc_relocs.sh [OBJECT]   (default $BUILD/ptrig.bpf.o)
# The check is first run on a two-line program that takes a kfunc's address,
# which it must flag. Output: PASS/FAIL lines, then "N passed, M failed".
set -u
cd "$(dirname "$0")/../.." || exit 1
BUILD=${BUILD:-build}
OBJ=${1:-$BUILD/ptrig.bpf.o}
# shellcheck source=../lib/check.sh
source tests/lib/check.sh
finish() {
	check_summary
	exit
}

# kfuncs OBJ: the extern functions of OBJ (its kfuncs), from its BTF.
kfuncs() {
	bpftool btf dump file "$1" | sed -n "s/^\[[0-9]*\] FUNC '\([^']*\)' .*linkage=extern$/\1/p" | sort -u
}

# addr_taken OBJ: the kfuncs of OBJ some instruction loads the address of.
addr_taken() {
	local k
	k=$(kfuncs "$1" | tr '\n' ' ')
	llvm-readelf -r "$1" | awk -v k=" $k" '
		/^Relocation section/ { dbg = ($3 ~ /\.rel\.(debug|BTF)/) }
		!dbg && $3 == "R_BPF_64_64" && index(k, " " $5 " ") { print $5 }' | sort -u
}

for c in bpftool llvm-readelf clang; do
	command -v $c >/dev/null || {
		fail "$c missing (tools/install-deps.sh)"
		finish
	}
done
T=$(mktemp -d) || exit 1
trap 'rm -rf -- "$T"' EXIT

# The check itself must notice an address taken.
cat >"$T/neg.bpf.c" <<'EOF'
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
extern struct nf_conn *bpf_xdp_ct_lookup(struct xdp_md *, struct bpf_sock_tuple *, __u32,
					 struct bpf_ct_opts *, __u32) __ksym __weak;
SEC("xdp") int neg(struct xdp_md *ctx)
{
	return bpf_xdp_ct_lookup ? XDP_PASS : XDP_DROP;
}
char LICENSE[] SEC("license") = "GPL";
EOF
if clang -O2 -g -target bpf -Ivmlinux -c "$T/neg.bpf.c" -o "$T/neg.bpf.o" 2>"$T/cc.err"; then
	n=$(addr_taken "$T/neg.bpf.o")
	if [ "$n" = bpf_xdp_ct_lookup ]; then
		pass "the check flags \`if (!kfunc)\` (ld_imm64 of bpf_xdp_ct_lookup)"
	else
		fail "the check missed the ld_imm64 of bpf_xdp_ct_lookup in a test object (found '$n')"
	fi
else
	fail "compiling the test object: $(head -3 "$T/cc.err")"
fi

[ -e "$OBJ" ] || {
	fail "$OBJ missing (run make)"
	finish
}
k=$(kfuncs "$OBJ" | tr '\n' ' ')
if [ -n "$k" ]; then
	pass "$OBJ calls kfuncs: $k"
else
	fail "$OBJ: no kfuncs found in its BTF (the check would prove nothing)"
fi
n=$(addr_taken "$OBJ" | tr '\n' ' ')
if [ -z "$n" ]; then
	pass "$OBJ loads no kfunc's address (no ld_imm64 of a kfunc)"
else
	fail "$OBJ loads the address of kfuncs: $n (kernels before 6.4 refuse to load it)"
fi
finish
