#!/bin/bash
# The Debian package (debian/, `make deb`) in a clean Debian bookworm tree:
# install, use, upgrade to a second version, remove, purge, with dpkg itself,
# and what each leaves behind checked against what README.md ("The Debian
# package") and the maintainer scripts promise.
#
# The tree: TT_DEB_CHROOT (default /var/tmp/fresh-deb, a debootstrap
# --variant=minbase bookworm); when it is absent, one is made once with
# debootstrap into /var/cache/tcptune-test/bookworm-minbase and reused.  It is
# never written: every run mounts an overlay over it with the upper layer on
# a tmpfs, inside new network and mount namespaces, so the packages are never
# installed on the host and `apply` writes only the namespace's sysctls and
# the overlay's /etc.
#
# The packages: build/deb/*.deb from `make deb`, which reuses them when it
# is up to date, else `make deb` builds them (one to two minutes).  The second
# version is built from that copy with dpkg-buildpackage -nc (no clean, so
# only what the new version touches is compiled again), with a rule file
# changed.  The libraries the package depends on come from `apt-get download`
# (cached in build/deb-deps/).
. "$(dirname "$0")/lib.sh"
need_root
need_cmds dpkg-deb dpkg-parsechangelog jq

CHROOT=${TT_DEB_CHROOT:-/var/tmp/fresh-deb}
V1=$(dpkg-parsechangelog -l "$TT_ROOT/debian/changelog" -S Version) || fail "cannot read debian/changelog"
V2=$V1+upgradetest1
DEB=$TT_ROOT/build/deb
DEPS=$TT_ROOT/build/deb-deps

if [ -z "${TT_NETNS_OUTER:-}" ]; then
	need_cmds dpkg-buildpackage dh lintian apt-get
	# --- the clean tree ----------------------------------------------------
	if [ ! -x "$CHROOT/usr/bin/dpkg" ]; then
		need_cmds debootstrap
		CHROOT=/var/cache/tcptune-test/bookworm-minbase
		if [ ! -x "$CHROOT/usr/bin/dpkg" ]; then
			# Downloading and unpacking ~90 packages: 2 minutes on an
			# idle machine, over 5 on a loaded one; the bound only
			# catches a hang, below run-integration's 1800 s without
			# output.
			echo "making $CHROOT with debootstrap (once)"
			rm -rf "$CHROOT.tmp" && mkdir -p "$CHROOT.tmp" &&
				run_bounded 1500 debootstrap --variant=minbase bookworm "$CHROOT.tmp" \
					>"$CHROOT.log" 2>&1 && mv "$CHROOT.tmp" "$CHROOT" ||
				{ tail -n 20 "$CHROOT.log" >&2; fail "debootstrap failed (log: $CHROOT.log)"; }
		fi
	fi
	export TT_DEB_CHROOT=$CHROOT
	echo "clean tree: $CHROOT ($(cat "$CHROOT/etc/debian_version"))"

	# --- version 1: make deb (again only if a file that goes into it changed)
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -C "$TT_ROOT" deb >"$TT_ROOT/build/deb.log" 2>&1 ||
		{ tail -n 30 "$TT_ROOT/build/deb.log" >&2; fail "make deb failed"; }
	grep -qx 'lintian: no errors, no warnings' "$DEB/lintian.log" ||
		fail "make deb: lintian did not pass: $(tail -n 5 "$DEB/lintian.log")"
	echo "version 1: build/deb/tcptune_${V1}_amd64.deb (make deb); lintian: no errors, no warnings"
	[ -f "$DEB/tcptune_${V1}_amd64.deb" ] || fail "no $DEB/tcptune_${V1}_amd64.deb"

	# --- version 2: the same tree, a new version and a changed rule file ---
	U=$DEB/upgrade
	if [ "$U/tcptune_${V2}_amd64.deb" -nt "$DEB/stamp" ]; then
		echo "version 2: $U/tcptune_${V2}_amd64.deb, built from this version 1"
	else
	rm -rf "$U" && mkdir -p "$U" && cp -a "$DEB/src" "$U/src" || fail "cannot copy $DEB/src"
	(
		cd "$U/src" || exit 1
		rm -rf debian/tcptune debian/.debhelper debian/debhelper-build-stamp debian/files debian/*.substvars
		{
			printf 'tcptune (%s) unstable; urgency=medium\n\n  * Upgrade test.\n\n' "$V2"
			printf ' -- %s  %s\n\n' "$(dpkg-parsechangelog -S Maintainer)" "$(date -R)"
			cat debian/changelog
		} >debian/changelog.new && mv debian/changelog.new debian/changelog
		echo "# changed in $V2" >>rules/ports.yaml
		echo "# changed in $V2" >>rules/timewait.yaml
		# The version is compiled into these (the Makefile does not track flags).
		touch $(grep -rl TCPTUNE_VERSION advisor)
		DEB_BUILD_OPTIONS="noautodbgsym nocheck" dpkg-buildpackage -us -uc -b -nc
	) >"$U/build.log" 2>&1 || { tail -n 30 "$U/build.log" >&2; fail "building version $V2 failed"; }
	[ -f "$U/tcptune_${V2}_amd64.deb" ] || fail "no $U/tcptune_${V2}_amd64.deb"
	echo "version 2: $U/tcptune_${V2}_amd64.deb (dpkg-buildpackage -b -nc)"
	fi

	# --- the libraries it depends on, for a tree with no network ----------
	mkdir -p "$DEPS" || fail "mkdir $DEPS"
	for p in libyaml-0-2 libmnl0 libjansson4; do
		ls "$DEPS/${p}_"*.deb >/dev/null 2>&1 && continue
		(cd "$DEPS" && apt-get download "$p" >/dev/null 2>&1) || fail "apt-get download $p failed"
	done
fi
enter_netns --tmpfs /tmp -- "$@"

T=$(mktemp -d) || fail "mktemp -d"
mkdir "$T/upper" "$T/work" "$T/root" || fail "mkdir"
R=$T/root
mount -t overlay tcptune-deb -o "lowerdir=$TT_DEB_CHROOT,upperdir=$T/upper,workdir=$T/work" "$R" ||
	fail "cannot mount an overlay over $TT_DEB_CHROOT"
mount -t proc proc "$R/proc" && mount -t sysfs sysfs "$R/sys" && mount --bind /dev "$R/dev" ||
	fail "cannot mount proc, sys or dev in the tree"
mkdir -p "$R/tmp/debs" && cp "$DEB/tcptune_${V1}_amd64.deb" "$DEB/upgrade/tcptune_${V2}_amd64.deb" "$DEPS"/*.deb "$R/tmp/debs/" ||
	fail "cannot copy the packages into the tree"
in_root() { chroot "$R" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 "$@"; }
dpkg_status() { in_root dpkg-query -W -f='${db:Status-Abbrev}' tcptune 2>/dev/null | tr -d ' '; }

# --- install --------------------------------------------------------------------
in_root dpkg -i $(cd "$R" && ls tmp/debs/libyaml-0-2_*.deb tmp/debs/libmnl0_*.deb tmp/debs/libjansson4_*.deb | sed 's|^|/|') >"$T/deps.log" 2>&1 ||
	{ cat "$T/deps.log" >&2; fail "installing the libraries failed"; }
[ ! -e "$R/var/lib/tcptune" ] || fail "the clean tree already has /var/lib/tcptune"
in_root dpkg -i "/tmp/debs/tcptune_${V1}_amd64.deb" >"$T/install.log" 2>&1 ||
	{ cat "$T/install.log" >&2; fail "dpkg -i tcptune_$V1 failed"; }
[ "$(dpkg_status)" = ii ] || fail "after dpkg -i, status is '$(dpkg_status)', not ii"
[ "$(in_root tcptune --version)" = "tcptune $V1" ] || fail "installed tcptune --version: '$(in_root tcptune --version)'"
[ "$(stat -c '%a %U:%G %F' "$R/var/lib/tcptune")" = "700 root:root directory" ] ||
	fail "/var/lib/tcptune is '$(stat -c '%a %U:%G %F' "$R/var/lib/tcptune")', not 700 root:root directory"
for f in /usr/share/man/man8/tcptune.8.gz /usr/share/bash-completion/completions/tcptune \
	/usr/share/doc/tcptune/copyright; do
	[ -f "$R$f" ] || fail "the package did not install $f"
done
in_root dpkg-query -W -f='${Conffiles}\n' tcptune | awk 'NF { print $1 }' | sort >"$T/conffiles"
(cd "$TT_ROOT" && ls rules/*.yaml profiles/*.yaml | sed 's|^|/etc/tcptune/|') | sort >"$T/conffiles.want"
diff -u "$T/conffiles.want" "$T/conffiles" >&2 || fail "conffiles differ from rules/ and profiles/ under /etc/tcptune (- want, + dpkg)"
echo "install $V1: ok; /var/lib/tcptune 700 root:root; $(wc -l <"$T/conffiles") conffiles under /etc/tcptune"

# It runs from the installed files: check, then a real apply (the namespace's
# sysctls, the overlay's /etc) that leaves an entry to keep or delete later.
in_root tcptune check --format json >"$T/check.json" 2>"$T/check.err"
rc=$?
[ "$rc" -le 2 ] || { cat "$T/check.err" >&2; fail "tcptune check in the tree exited $rc"; }
jq -e '.rule_errors == [] and (.findings | type == "array")' "$T/check.json" >/dev/null ||
	fail "tcptune check in the tree: rule errors or no findings array"
mkdir -p "$R/etc/sysctl.d"
in_root tcptune apply --yes web-server >"$T/apply.log" 2>&1 ||
	{ cat "$T/apply.log" >&2; fail "tcptune apply --yes web-server in the tree failed"; }
[ -f "$R/etc/sysctl.d/99-tcptune.conf" ] || fail "apply wrote no /etc/sysctl.d/99-tcptune.conf"
n_entries=$(find "$R/var/lib/tcptune" -mindepth 1 -maxdepth 1 -type d -name '[0-9]*' | wc -l)
[ "$n_entries" -ge 1 ] || fail "apply left no entry in /var/lib/tcptune"
[ "$n_entries" = 1 ] && said_entries="1 entry" || said_entries="$n_entries entries"
echo "check: exit $rc, status $(jq -r .status "$T/check.json"); apply web-server: $n_entries entry in /var/lib/tcptune"

# --- upgrade: an edited conffile is kept, an untouched one follows -------------
echo "# the admin's edit" >>"$R/etc/tcptune/rules/timewait.yaml"
cp "$R/etc/tcptune/rules/timewait.yaml" "$T/timewait.admin"
in_root dpkg -i --force-confdef --force-confold "/tmp/debs/tcptune_${V2}_amd64.deb" >"$T/upgrade.log" 2>&1 ||
	{ cat "$T/upgrade.log" >&2; fail "dpkg -i tcptune_$V2 (upgrade) failed"; }
[ "$(dpkg_status)" = ii ] || fail "after the upgrade, status is '$(dpkg_status)'"
[ "$(in_root tcptune --version)" = "tcptune $V2" ] || fail "after the upgrade, --version: '$(in_root tcptune --version)'"
cmp -s "$T/timewait.admin" "$R/etc/tcptune/rules/timewait.yaml" || fail "the upgrade replaced the admin's timewait.yaml"
tail -n 1 "$R/etc/tcptune/rules/timewait.yaml.dpkg-dist" 2>/dev/null | grep -qx "# changed in $V2" ||
	fail "the upgrade left no timewait.yaml.dpkg-dist with the new version's file"
tail -n 1 "$R/etc/tcptune/rules/ports.yaml" | grep -qx "# changed in $V2" ||
	fail "the upgrade did not update the untouched conffile ports.yaml"
[ "$(find "$R/var/lib/tcptune" -mindepth 1 -maxdepth 1 -type d -name '[0-9]*' | wc -l)" = "$n_entries" ] ||
	fail "the upgrade changed the rollback history"
in_root tcptune history >"$T/history" 2>&1 || { cat "$T/history" >&2; fail "tcptune history after the upgrade failed"; }
grep -q web-server "$T/history" || fail "tcptune history after the upgrade does not show the web-server apply"
in_root tcptune check --format json >"$T/check2.json" 2>"$T/check2.err"
[ $? -le 2 ] && jq -e '.rule_errors == []' "$T/check2.json" >/dev/null ||
	{ cat "$T/check2.err" >&2; fail "tcptune check after the upgrade (with a .dpkg-dist beside the rules) failed"; }
echo "upgrade $V1 -> $V2: ok; the edited timewait.yaml kept (new one as .dpkg-dist), ports.yaml updated, history kept"

# --- remove: the program goes; configuration, history and the managed file stay -
in_root dpkg -r tcptune >"$T/remove.log" 2>&1 || { cat "$T/remove.log" >&2; fail "dpkg -r tcptune failed"; }
[ "$(dpkg_status)" = rc ] || fail "after dpkg -r, status is '$(dpkg_status)', not rc"
[ ! -e "$R/usr/sbin/tcptune" ] || fail "dpkg -r left /usr/sbin/tcptune"
[ -f "$R/etc/tcptune/rules/ports.yaml" ] || fail "dpkg -r removed the conffiles"
[ -d "$R/var/lib/tcptune" ] && [ -f "$R/etc/sysctl.d/99-tcptune.conf" ] ||
	fail "dpkg -r removed the rollback history or 99-tcptune.conf"
grep -q "^tcptune: keeping /var/lib/tcptune, the rollback history ($said_entries)" "$T/remove.log" ||
	{ cat "$T/remove.log" >&2; fail "dpkg -r did not say it keeps /var/lib/tcptune"; }
echo "remove: ok; said:"
grep '^tcptune:' "$T/remove.log" | sed 's/^/    /'

# --- purge: the history is deleted, as said; the applied file stays, as said ----
in_root dpkg -P tcptune >"$T/purge.log" 2>&1 || { cat "$T/purge.log" >&2; fail "dpkg -P tcptune failed"; }
[ -z "$(dpkg_status)" ] || [ "$(dpkg_status)" = un ] || [ "$(dpkg_status)" = pn ] ||
	fail "after dpkg -P, status is '$(dpkg_status)'"
grep -q "^tcptune: purge: deleting /var/lib/tcptune, the rollback history ($said_entries)" "$T/purge.log" ||
	{ cat "$T/purge.log" >&2; fail "dpkg -P did not say it deletes /var/lib/tcptune"; }
[ ! -e "$R/var/lib/tcptune" ] || fail "dpkg -P said it deletes /var/lib/tcptune but it is still there"
grep -q "^tcptune: purge: keeping /etc/sysctl.d/99-tcptune.conf" "$T/purge.log" ||
	fail "dpkg -P did not say what it does with 99-tcptune.conf"
[ -f "$R/etc/sysctl.d/99-tcptune.conf" ] || fail "dpkg -P said it keeps 99-tcptune.conf but removed it"
left=$(find "$R/etc/tcptune" 2>/dev/null)
[ -z "$left" ] || fail "dpkg -P left under /etc/tcptune: $left"
echo "purge: ok; said:"
grep '^tcptune:' "$T/purge.log" | sed 's/^/    /'
echo "PASS: package_deb"
