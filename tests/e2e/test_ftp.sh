#!/usr/bin/env bash
# End-to-end: active-mode FTP with real Debian programs. vsftpd runs in remote1, lftp in lanhost1 in ACTIVE mode:
# lftp listens on a port in 50000-50010 and sends `PORT 203,0,113,1,...`
# (the WAN address); vsftpd connects back to WAN:port. Rule
# `ftp tcp:21 tcp:50000-50010`: the control connection to port 21 is the
# trigger, the data connections are the inbound flows.
#   0. negative control first, ptrig not attached: download and upload fail
#      (vsftpd: "425 Failed to establish connection"), non-zero exit, fast;
#   1. with ptrig attached: a random 3 MiB download and a 2 MiB upload are
#      intact (sha256); status shows the trigger, flows the data flows.
# Env: LAB_PREFIX (default ptl-). Pins go to a private root (lib.sh).
# shellcheck disable=SC2317 # helpers run through wait_for/check
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "$0")/lib.sh"

e2e_init
e2e_need vsftpd lftp
getent passwd ftp >/dev/null || die "no 'ftp' user (vsftpd's anonymous user; the vsftpd package creates it)"
e2e_ptrig_lab

# ---- vsftpd in remote1 ------------------------------------------------------------------
# Anonymous only, active mode only, no PAM/local users, no port 20. The
# anonymous root must not be writable by the ftp user (vsftpd refuses a
# writable chroot); uploads go to pub/, downloads must be world-readable.
chmod 755 "$T"
mkdir -p "$T/ftproot/pub" "$T/empty" "$T/lan"
chmod 755 "$T/ftproot" "$T/empty"
chmod 777 "$T/ftproot/pub"
rand_payload "$T/ftproot/down.bin" $((3 * 1024 * 1024))
chmod 644 "$T/ftproot/down.bin"
rand_payload "$T/lan/up.bin" $((2 * 1024 * 1024))
cat >"$T/vsftpd.conf" <<EOF
listen=YES
listen_ipv6=NO
listen_address=$R1
background=NO
anonymous_enable=YES
local_enable=NO
no_anon_password=YES
anon_root=$T/ftproot
write_enable=YES
anon_upload_enable=YES
port_enable=YES
connect_from_port_20=NO
pasv_enable=NO
seccomp_sandbox=NO
secure_chroot_dir=$T/empty
xferlog_enable=YES
log_ftp_protocol=YES
vsftpd_log_file=$T/vsftpd.log
EOF
bg_run remote1 60 vsftpd "$T/vsftpd.conf"
wait_for 3 listening remote1 tcp 21 || die "vsftpd does not listen in remote1"

# ftp CMDS: lftp in lanhost1 (cwd $T/lan), active mode, announcing the WAN
# address, data ports 50000-50010; fails fast (short timeout, one try).
ftp() {
	# Keep the -e script on one line: written over several lines, lftp
	# never connected (no CONNECT in the vsftpd log).
	(cd "$T/lan" && lab_exec lanhost1 timeout 20 lftp -u anonymous,ptrig -e "\
set ftp:ssl-allow no; set ftp:passive-mode off; \
set ftp:port-ipv4 $WAN; set ftp:port-range 50000-50010; \
set net:timeout 3; set net:max-retries 1; set net:reconnect-interval-base 1; \
set cmd:fail-exit yes; $1; bye" "ftp://$R1")
}

# ---- 0. negative control: ptrig not attached -------------------------------------------
t0=$SECONDS
ftp "get down.bin -o neg.down" >"$T/neg1.log" 2>&1
rc=$?
assert_ne 0 "$rc" "without ptrig: active-mode download fails (exit $rc)"
check_not "without ptrig: nothing downloaded" test -s "$T/lan/neg.down"
ftp "put up.bin -o pub/neg.up" >"$T/neg2.log" 2>&1
rc=$?
assert_ne 0 "$rc" "without ptrig: active-mode upload fails (exit $rc)"
check_not "without ptrig: nothing uploaded" test -s "$T/ftproot/pub/neg.up"
check "without ptrig: vsftpd could not connect back (425)" \
	grep -q '425 Failed to establish connection' "$T/vsftpd.log"
check "without ptrig: the failures took < 15 s" test $((SECONDS - t0)) -lt 15

# ---- 1. with ptrig ----------------------------------------------------------------------
cat >"$T/ptrig.conf" <<EOF
ftp  tcp:21  tcp:50000-50010
EOF
ptrig_attach "$T/ptrig.conf"

ftp "get down.bin -o down.got; put up.bin -o pub/up.bin" >"$T/ftp.log" 2>&1
rc=$?
assert_eq 0 "$rc" "with ptrig: lftp active-mode download + upload exit 0"
[ "$rc" = 0 ] || sed 's/^/    lftp: /' "$T/ftp.log"
assert_file_sha256_eq "$T/ftproot/down.bin" "$T/lan/down.got" "download 3 MiB intact (sha256)"
assert_file_sha256_eq "$T/lan/up.bin" "$T/ftproot/pub/up.bin" "upload 2 MiB intact (sha256)"
check "vsftpd was sent PORT with the WAN address" \
	grep -q "PORT ${WAN//./,}," "$T/vsftpd.log"

assert_eq "ftp $H1 $WAN" \
	"$(status_jq '.interfaces[0].triggers[] | select(.rule == "ftp") | "\(.rule) \(.owner) \(.external)"')" \
	"status --json: trigger ftp, owner $H1, external $WAN"
# Two data connections (RETR, STOR), each a flow to a port in 50000-50010,
# still listed during their 10 s closing timeout.
F=$(ptrig flows "$LAB_WAN_IF" --json)
check "flows --json: 2 data flows from $R1 to $WAN:50000-50010, owner $H1" json_test "
	[.flows[] | select(.rule == \"ftp\" and .proto == \"tcp\" and .remote == \"$R1\"
		and .external == \"$WAN\" and .owner == \"$H1\"
		and .external_port >= 50000 and .external_port <= 50010)] | length == 2" "$F"
C=$(status_jq '.interfaces[0].rules[] | select(.name == "ftp") | .counters')
note "ftp counters: $(jq -c . <<<"$C")"
check "counters: flows_opened = 2" json_test '.flows_opened == 2' "$C"
check "counters: bytes_in >= 3 MiB (download), bytes_out >= 2 MiB (upload)" \
	json_test ".bytes_in >= $((3 * 1024 * 1024)) and .bytes_out >= $((2 * 1024 * 1024))" "$C"

e2e_finish
