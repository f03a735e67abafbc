# shellcheck shell=bash
# tests/integration/apply_watch_lib.bash: shared by the apply --watch live
# scenarios, sourced after lib.sh (not .sh, so that tests/run-integration
# does not run it as a scenario).  nginx_start runs a
# real nginx (Debian nginx-light) with the caller's server blocks.  The port
# scenarios use start_nginx: a reverse proxy to one upstream on loopback,
# with wrk as the load generator.  The upstream answers after 10 ms (the echo
# module), so a wrk of 8 connections asks for about 800 new upstream
# connections a second at most: enough to exhaust a 50-port range in well
# under a second, too few to fill the 55296 ports reverse-proxy opens.
# The proxy opens a new upstream connection per request and closes it
# first (HTTP/1.1 without an upstream keepalive pool), so TIME_WAIT piles up
# on the proxy's ephemeral ports, as on a real reverse proxy.

# watch_scenario CMD... -- SCRIPT-ARGS: the start of every apply --watch
# scenario: root and the commands it needs (nginx and ss always, CMD... more),
# a private network namespace with tmpfs over /etc/sysctl.d and /var/lib
# (the managed file and the store), the store, and W, a scratch directory
# removed at exit.  Sourced before enter_netns, whose re-execution runs it
# again inside.
watch_scenario() {
	local cmds=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do cmds+=("$1"); shift; done
	[ "${1:-}" = -- ] && shift
	need_root
	need_cmds jq nginx ss "${cmds[@]}"
	enter_netns --tmpfs /etc/sysctl.d --tmpfs /var/lib -- "$@"
	need_store
	W=$(mktemp -d /tmp/apply-watch.XXXXXX) || fail "mktemp -d failed"
	trap 'tt_cleanup; rm -rf "$W"' EXIT
}

PROXY_PORT=8080	# outside every range used here (40000-40049, 10240-65535, 32768-60999)
UP_PORT=9090

# nginx_start SERVERS PORT: nginx (Debian nginx-light, the echo module
# loaded) in the foreground (start_bg), one worker, logs, pid and temp files
# in $W; SERVERS is the text of its server { } blocks (and any other http
# directives); waits (TT_HANG) until http://127.0.0.1:PORT/ answers 200.
# NGINX_WORKER_CONNECTIONS (4096) and NGINX_HTTP (extra http directives)
# may be set before.  Sets NGINX (its pid).
nginx_start() {
	local d end servers=$1 port=$2
	for d in cb pt ft ut st; do mkdir -p "$W/$d" || fail "mkdir $W/$d"; done
	cat >"$W/nginx.conf" <<CONF || fail "cannot write $W/nginx.conf"
load_module /usr/lib/nginx/modules/ngx_http_echo_module.so;
daemon off;
master_process off;
worker_processes 1;
pid $W/nginx.pid;
error_log $W/error.log error;
events { worker_connections ${NGINX_WORKER_CONNECTIONS:-4096}; }
http {
	access_log off;
	client_body_temp_path $W/cb; proxy_temp_path $W/pt; fastcgi_temp_path $W/ft;
	uwsgi_temp_path $W/ut; scgi_temp_path $W/st;
	${NGINX_HTTP:-}
$servers
}
CONF
	start_bg nginx -e "$W/error.log" -p "$W" -c "$W/nginx.conf"
	NGINX=$TT_LAST_PID
	end=$((SECONDS + TT_HANG))
	until [ "$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/")" = 200 ]; do
		tt_is_child "$NGINX" || fail "nginx exited: $(tail -n 5 "$W/error.log")"
		[ "$SECONDS" -lt "$end" ] || fail "nginx did not answer 200 on :$port within $TT_HANG s"
		sleep 0.1
	done
}

# start_nginx: the reverse proxy of the port scenarios (above): PROXY_PORT
# proxies to one upstream on UP_PORT that answers after 10 ms.
start_nginx() {
	nginx_start "
	server {
		listen 127.0.0.1:$UP_PORT;
		location / { echo_sleep 0.01; echo ok; }
	}
	server {
		listen 127.0.0.1:$PROXY_PORT;
		location / {
			proxy_pass http://127.0.0.1:$UP_PORT;
			proxy_http_version 1.1;
			proxy_set_header Connection \"\";
		}
	}" "$PROXY_PORT"
}

# load SECS OUT: one bounded wrk run against the proxy; OUT gets its output.
load() {
	run_bounded $(($1 + TT_HANG)) wrk -t1 -c8 -d"$1"s --timeout 5s "http://127.0.0.1:$PROXY_PORT/" >"$2" 2>&1 ||
		fail "wrk failed: $(cat "$2")"
}

# wrk's figures from OUT: requests in all, and the non-2xx answers (502s).
wrk_requests() { awk '/requests in/ { print $1 }' "$1"; }
wrk_bad() { awk '/Non-2xx or 3xx responses:/ { print $NF; f = 1 } END { if (!f) print 0 }' "$1"; }

# eaddrnotavail: how many connect() failures nginx has logged so far.
eaddrnotavail() { grep -c 'Cannot assign requested address' "$W/error.log"; }

# expect_kept_in_history ID FACT SECS: entry ID was kept by --watch SECS with
# FACT better, as `history --format json` records it, `history show ID` prints
# the figure and `history` the effect line.
expect_kept_in_history() {
	local id=$1 fact=$2 secs=$3
	"$BIN" history --format json >"$W/hist.json" || fail "history --format json failed"
	jq -e --arg id "$id" --arg f "$fact" '.[] | select(.id == $id) | .effect.verdict == "kept" and
		(.effect.figures | map(select(.fact == $f and .change == "better")) | length == 1)' \
		"$W/hist.json" >/dev/null ||
		fail "history lacks the effect of $id: $(jq -c --arg id "$id" '.[] | select(.id == $id)' "$W/hist.json")"
	"$BIN" history show "$id" >"$W/show.txt" || fail "history show $id failed"
	grep -qF "$fact" "$W/show.txt" && grep -q "^ *$fact .* better" "$W/show.txt" ||
		fail "history show $id lacks the figure $fact: $(cat "$W/show.txt")"
	"$BIN" history | grep -qF "effect (--watch $secs s): kept" ||
		fail "history lacks the effect line: $("$BIN" history)"
}
