# shellcheck shell=bash
# Little-endian u32/u64 and network-order IPv4, as bpftool hex bytes.
le32() {
	local v=$1
	printf '%02x %02x %02x %02x' $((v & 255)) $(((v >> 8) & 255)) \
		$(((v >> 16) & 255)) $(((v >> 24) & 255))
}
le64() { echo "$(le32 $(($1 & 0xffffffff))) $(le32 $((($1 >> 32) & 0xffffffff)))"; }
ipbe() {
	local IFS=.
	# shellcheck disable=SC2086
	set -- $1
	printf '%02x %02x %02x %02x' "$1" "$2" "$3" "$4"
}
