# shellcheck shell=bash
# tests/integration/apply_watch_lib.bash: shared by the apply --watch live
# scenarios, sourced after lib.sh inside enter_netns (not .sh, so that
# tests/run-integration does not run it as a scenario).  A real nginx
# (Debian nginx-light) as a reverse proxy to one upstream on loopback, and
# wrk as the load generator.  The upstream answers after 10 ms (the echo
# module), so a wrk of 8 connections asks for about 800 new upstream
# connections a second at most: enough to exhaust a 50-port range in well
# under a second, too few to fill the 55296 ports reverse-proxy opens.
# The proxy opens a new upstream connection per request and closes it
# first (HTTP/1.1 without an upstream keepalive pool), so TIME_WAIT piles up
# on the proxy's ephemeral ports, as on a real reverse proxy.

PROXY_PORT=8080	# outside every range used here (40000-40049, 10240-65535, 32768-60999)
UP_PORT=9090

# start_nginx: nginx in the foreground (start_bg), logs and temp files in $W;
# waits (TT_HANG) until the proxy answers 200.  Sets NGINX (its pid).
start_nginx() {
	local d end
	for d in cb pt ft ut st; do mkdir -p "$W/$d" || fail "mkdir $W/$d"; done
	cat >"$W/nginx.conf" <<CONF || fail "cannot write $W/nginx.conf"
load_module /usr/lib/nginx/modules/ngx_http_echo_module.so;
daemon off;
master_process off;
worker_processes 1;
pid $W/nginx.pid;
error_log $W/error.log error;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $W/cb; proxy_temp_path $W/pt; fastcgi_temp_path $W/ft;
	uwsgi_temp_path $W/ut; scgi_temp_path $W/st;
	server {
		listen 127.0.0.1:$UP_PORT;
		location / { echo_sleep 0.01; echo ok; }
	}
	server {
		listen 127.0.0.1:$PROXY_PORT;
		location / {
			proxy_pass http://127.0.0.1:$UP_PORT;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
		}
	}
}
CONF
	start_bg nginx -e "$W/error.log" -p "$W" -c "$W/nginx.conf"
	NGINX=$TT_LAST_PID
	end=$((SECONDS + TT_HANG))
	until [ "$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PROXY_PORT/")" = 200 ]; do
		tt_is_child "$NGINX" || fail "nginx exited: $(tail -n 5 "$W/error.log")"
		[ "$SECONDS" -lt "$end" ] || fail "nginx did not answer 200 on :$PROXY_PORT within $TT_HANG s"
		sleep 0.1
	done
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
