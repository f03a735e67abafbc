#!/bin/bash
# nat.gateway: forwarding with conntrack makes a gateway only where it is not
# explained by local containers alone (dockerd turns ip_forward on for them).
# --root trees built from the rules table's healthy host (conntrack loaded),
# each with its sys/class/net and forwarding switches:
#   docker host:   ip_forward 1, eth0 (a NIC), docker0, br-1a2b, veth  -> 0
#   router:        ip_forward 1, eth0 and eth1 (NICs)                  -> 1
#   docker router: ip_forward 1, eth0, eth1, docker0                   -> 1
#   IPv6 router:   ip_forward 0, IPv6 forwarding 1, eth0, eth1         -> 1
#   plain server:  nothing forwarded, eth0                             -> 0
# and the docker host serving the web is recommended web-server, not
# nat-gateway.
set -u
. "$(dirname "$0")/lib.sh"
need_scratch

# tree NAME IPV4 IPV6 IFACE...: IFACE "eth0" is a NIC (has a device link).
tree() {
	local r=$W/$1 i
	rules_root "$r"
	echo "$2" >"$r/proc/sys/net/ipv4/ip_forward"
	mkdir -p "$r/proc/sys/net/ipv6/conf/all" && echo "$3" >"$r/proc/sys/net/ipv6/conf/all/forwarding"
	shift 3
	mkdir -p "$r/sys/class/net/lo"
	for i in "$@"; do
		mkdir -p "$r/sys/class/net/$i"
		case $i in eth*) ln -s ../../../devices/pci0000:00/0000:00:03.0 "$r/sys/class/net/$i/device" ;; esac
	done
}
gateway() { "$BIN" --root "$W/$1" check --format json 2>/dev/null | jq '.facts["nat.gateway"]'; }
expect_gw() {
	local got
	got=$(gateway "$1")
	[ "$got" = "$2" ] || fail "$1: nat.gateway $got, want $2 ($("$BIN" --root "$W/$1" check --format json 2>/dev/null |
		jq -c '.facts | with_entries(select(.key | startswith("nat.")))'))"
}
tree docker 1 0 eth0 docker0 br-1a2b vethab12
tree router 1 0 eth0 eth1
tree dockerrouter 1 0 eth0 eth1 docker0
tree v6router 0 1 eth0 eth1
tree server 0 0 eth0
expect_gw docker 0
expect_gw router 1
expect_gw dockerrouter 1
expect_gw v6router 1
expect_gw server 0
[ "$(jq -n --argjson f "$("$BIN" --root "$W/docker" check --format json 2>/dev/null | jq .facts)" \
	'[$f["nat.uplinks"], $f["nat.container_bridges"], $f["nat.ip_forward"]]' | tr -d ' \n')" = "[1,2,1]" ] ||
	fail "docker: uplinks, bridges, ip_forward are not 1, 2, 1"

# The docker host with a web server's TIME_WAIT: web-server, not nat-gateway.
cp -a "$TT_ROOT/tests/fixtures/rules/tw-reuse-ineffective/fires/." "$W/docker/" || fail "no web-server-like overlay"
rec=$("$BIN" --root "$W/docker" recommend --format json 2>/dev/null | jq -r .profile)
[ "$rec" != nat-gateway ] || fail "a docker host serving the web is recommended nat-gateway"
echo "ok: nat.gateway 0 for a docker host (recommended $rec), 1 for IPv4, IPv6 and docker routers, 0 for a plain server"
