#!/usr/bin/env python3
"""Layouts of sysctl.d for the boot differential test (tests/integration/
boot_differential.sh), and the comparison of what the real programs set with
what `tcptune check --format json` predicts.

  bootgen.py gen DIR SEED COUNT   write DIR/NNNN/<root tree>: the fixed cases
                                  (one per behaviour class) then COUNT-fixed
                                  random layouts from SEED
  bootgen.py run DIR TCPTUNE WORKERS
                                  run every case (as root): WORKERS processes,
                                  each in its own mount namespace with tmpfs
                                  over the configuration directories; each
                                  program of each case in a fresh network
                                  namespace of its own; TT_BOOT_FRESH=0: one
                                  network namespace per worker instead, the
                                  keys reset to its initial values before
                                  each program (about 30% less CPU)
  bootgen.py compare DIR SEED     compare DIR/NNNN/{systemd,procps,tcptune.json};
                                  print each mismatch with the seed and a
                                  reproducer, exit 1 if any

Only per-network-namespace keys (net.*) are ever written: the test runs the
programs in throwaway network namespaces (docs/KERNEL.md §2.2)."""
import ctypes
import json
import os
import random
import re
import shutil
import subprocess
import sys

# Tracked keys compared (the key table's per-netns keys; nf_conntrack needs
# a module; tcp_tw_reuse_delay exists since 6.14 and compares as absent
# before).
KEYS = [
    "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_tw_reuse", "net.ipv4.tcp_max_tw_buckets",
    "net.ipv4.tcp_orphan_retries", "net.ipv4.tcp_max_syn_backlog", "net.ipv4.tcp_syncookies",
    "net.ipv4.tcp_timestamps", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
    "net.core.somaxconn", "net.ipv4.tcp_tw_reuse_delay",
]
# Untracked per-netns keys and absent ones, as the rest of a real file.
OTHER = ["net.ipv4.tcp_syn_retries", "net.ipv4.tcp_synack_retries", "net.ipv4.tcp_sack",
         "net.ipv4.conf.eno1.rp_filter", "net.ipv4.tcp_tw_recycle", "net.ipv4.conf.all.rp_filter"]
# Globs that match only per-netns keys.
GLOBS = ["net.ipv4.tcp_keepalive_*", "net.ipv4.tcp_fin_time*", "net.ipv4.tcp_*_retries",
         "net.ipv4.tcp_tw_*", "net.ipv4.ip_*_port*", "net.ipv4.tcp_max_*", "net.core.somaxcon?",
         "net.ipv4.tcp_syncookie[s]", "net/ipv4/tcp_keepalive_*"]
DIRS = ["etc/sysctl.d", "run/sysctl.d", "usr/local/lib/sysctl.d", "usr/lib/sysctl.d"]


def spell(rng, key):
    """The key as an admin might write it."""
    c = rng.random()
    if c < 0.6:
        return key
    if c < 0.75:
        return key.replace(".", "/")
    if c < 0.8:
        return "." + key
    if c < 0.85:
        return key + "."
    if c < 0.9:
        return key.replace(".", "..", 1)
    if c < 0.95:
        return "/" + key.replace(".", "/")
    return key.replace(".", "/") + "/"


def int_value(rng):
    c = rng.random()
    n = rng.choice([0, 1, 2, 3, 5, 7, 9, 25, 30, 60, 75, 128, 255, 256, 1024, 4096, 65535, 65536, 100000])
    if c < 0.45:
        return str(n)
    return rng.choice([
        "0%o" % n, "0x%x" % n, "0X%X" % n, "-%d" % n, "+%d" % n, "%d   # comment" % n, "%d#x" % n,
        "%d ; semi" % n, "%ds" % n, "%d,%d" % (n, n), "%d %d" % (n, n + 1), "", "abc", "08", "0x",
        "-", " %d\t" % n, "%d\f" % n, "\f%d" % n, "%d\r" % n, "%d\rjunk" % n, "-0",
        "0000000000000000000%d" % n, "99999999999999999999", "2147483648", "-2147483648", "4294967296",
    ])


def range_value(rng):
    lo = rng.choice([1, 1023, 1024, 2000, 10000, 32768, 40000, 61000, 65535, 0, 65536])
    hi = rng.choice([1024, 5000, 40000, 60999, 65535, 65536, 1])
    return rng.choice([
        "%d %d" % (lo, hi), "%d %d" % (lo, hi), "%d\t%d" % (lo, hi), "%d" % lo, "%d %d %d" % (lo, hi, hi),
        "%d %d   # ports" % (lo, hi), "%d,%d" % (lo, hi), "0%o %d" % (lo, hi), "%d -%d" % (lo, hi),
        "%d %dx" % (lo, hi), "%d  " % lo,
    ])


def value_for(rng, key):
    if key.endswith("ip_local_port_range") or (key.startswith("net.ipv4.ip_*") and rng.random() < 0.5):
        return range_value(rng)
    if key.endswith("ip_unprivileged_port_start"):
        return str(rng.choice([0, 1024, 1500, 2000, 30000, 40000, 65535, 65536]))
    return int_value(rng)


def line(rng):
    c = rng.random()
    if c < 0.06:
        return rng.choice(["# a comment", "; old style", "", "   ", "not an assignment", "= 5"])
    if c < 0.16:
        g = rng.choice(GLOBS)
        return "%s = %s" % (g, int_value(rng) if "port" not in g else range_value(rng))
    if c < 0.21:
        return "-" + rng.choice(KEYS + OTHER)
    key = rng.choice(KEYS * 3 + OTHER)
    v = value_for(rng, key)
    sep = rng.choice([" = ", "=", " =", "= ", "\t=\t", " == "] if rng.random() < 0.1 else [" = ", "="])
    pre = "-" if rng.random() < 0.08 else ""
    return "%s%s%s%s" % (pre, spell(rng, key), sep, v)


def eol(rng):
    return rng.choice(["\n"] * 12 + ["\r\n", "\r", "\f\n"])


def content(rng):
    lines = [line(rng) for _ in range(rng.randint(0, 8))]
    out = ""
    for ln in lines:
        out += ln + eol(rng)
    if rng.random() < 0.03:
        out = out.replace("\n", "\0\n", 1)
    return out


def write(root, rel, data, mode="w"):
    p = os.path.join(root, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f:
        f.write(data.encode("latin-1") if isinstance(data, str) else data)


def random_layout(rng, root):
    names = ["10-a.conf", "20-b.conf", "50-net.conf", "99-z.conf", "30-x.conf", ".hidden.conf",
             "40-g[1].conf", "40-g1.conf", "60-c?.conf", "60-c1.conf"]
    for _ in range(rng.randint(1, 6)):
        d = rng.choice(DIRS)
        n = rng.choice(names)
        c = rng.random()
        p = os.path.join(root, d, n)
        if os.path.lexists(p):
            continue
        os.makedirs(os.path.join(root, d), exist_ok=True)
        if c < 0.05:
            os.symlink("/dev/null", p)
        elif c < 0.08:
            open(p, "w").close()
        elif c < 0.10:
            os.mkdir(p)
        else:
            write(root, os.path.join(d, n), content(rng))
    if rng.random() < 0.5:
        write(root, "etc/sysctl.conf", content(rng))
        if rng.random() < 0.6 and not os.path.lexists(os.path.join(root, "etc/sysctl.d/99-sysctl.conf")):
            os.makedirs(os.path.join(root, "etc/sysctl.d"), exist_ok=True)
            os.symlink("../sysctl.conf", os.path.join(root, "etc/sysctl.d/99-sysctl.conf"))


# One case per behaviour class of issue #13 (docs/KERNEL.md §10.3).
FIXED = {
    "comment-after-value": {"etc/sysctl.d/10.conf": "net.ipv4.tcp_fin_timeout = 25   # shorter\n"},
    "octal-hex": {"etc/sysctl.d/10.conf": "net.ipv4.tcp_keepalive_time = 010\nnet.ipv4.tcp_keepalive_intvl = 0x1e\n"},
    "signs": {"etc/sysctl.d/10.conf": "net.core.somaxconn = +5\nnet.ipv4.tcp_keepalive_intvl = -5\nnet.ipv4.tcp_tw_reuse = -0\n"},
    "text-after-number": {"etc/sysctl.d/10.conf": "net.ipv4.tcp_max_syn_backlog = 12abc\nnet.ipv4.tcp_keepalive_probes = 7 8\n"},
    "port-range-out-of-range": {"etc/sysctl.d/10.conf": "net.ipv4.ip_local_port_range = 1024 65536\n"},
    "port-range-too-few": {"etc/sysctl.d/10.conf": "net.ipv4.ip_local_port_range = 40000\n"},
    "port-range-too-many": {"etc/sysctl.d/10.conf": "net.ipv4.ip_local_port_range = 40000 50000 60000\n"},
    "out-of-range": {"etc/sysctl.d/10.conf": "net.ipv4.tcp_tw_reuse = 3\nnet.ipv4.tcp_keepalive_probes = 256\n"},
    "write-order-unpriv-then-range": {"etc/sysctl.d/10.conf": "net.ipv4.ip_unprivileged_port_start = 2000\nnet.ipv4.ip_local_port_range = 1500 40000\n"},
    "write-order-range-then-unpriv": {"etc/sysctl.d/10.conf": "net.ipv4.ip_local_port_range = 1500 40000\nnet.ipv4.ip_unprivileged_port_start = 2000\n"},
    "systemd-repeated-moves-to-end": {"etc/sysctl.d/10-a.conf": "net.ipv4.ip_local_port_range = 30000 40000\nnet.ipv4.ip_unprivileged_port_start = 2000\n",
                                      "etc/sysctl.d/20-b.conf": "net.ipv4.ip_local_port_range = 1500 40000\n"},
    "systemd-repeated-same-value": {"etc/sysctl.d/10-a.conf": "net.ipv4.ip_unprivileged_port_start = 2000\nnet.ipv4.ip_local_port_range = 1500 40000\n",
                                    "etc/sysctl.d/20-b.conf": "net.ipv4.ip_unprivileged_port_start = 2000\n"},
    "spelling": {"etc/sysctl.d/10.conf": "net.ipv4..tcp_fin_timeout = 11\n.net.ipv4.tcp_keepalive_time = 12\nnet.ipv4.tcp_keepalive_intvl. = 13\n"
                 "net/ipv4.tcp_keepalive_probes = 14\n/net/ipv4/tcp_max_syn_backlog = 15\nnet.core//somaxconn = 16\nnet/ipv4/tcp_orphan_retries/ = 4\n"},
    "exclusion": {"etc/sysctl.d/10.conf": "net.ipv4.tcp_keepalive_* = 11\n-net.ipv4.tcp_keepalive_probes\n"},
    "glob-vs-explicit-earlier": {"etc/sysctl.d/05.conf": "net.ipv4.tcp_keepalive_time = 22\n", "etc/sysctl.d/10.conf": "net.ipv4.tcp_keepalive_* = 11\n"},
    "glob-vs-explicit-in-sysctl-conf": {"etc/sysctl.d/10.conf": "net.ipv4.tcp_keepalive_* = 11\n", "etc/sysctl.conf": "net.ipv4.tcp_keepalive_intvl = 22\n"},
    "dir-shadows-file": {"etc/sysctl.d/50-d.conf/": None, "usr/lib/sysctl.d/50-d.conf": "net.ipv4.tcp_tw_reuse = 0\n"},
    "hidden-file": {"etc/sysctl.d/.hidden.conf": "net.ipv4.tcp_fin_timeout = 33\n"},
    "glob-file-name": {"etc/sysctl.d/60-a[1].conf": "net.ipv4.tcp_orphan_retries = 3\n", "etc/sysctl.d/60-a1.conf": "net.ipv4.tcp_syncookies = 0\n"},
    "big-file": {"etc/sysctl.d/20.conf": "net.ipv4.tcp_keepalive_probes = 14\n" + "# filler\n" * 150000 + "net.ipv4.tcp_max_syn_backlog = 15\n"},
    "long-line": {"etc/sysctl.d/20.conf": "net.ipv4.tcp_keepalive_probes = 14\n" + "#" * 1100000 + "\nnet.ipv4.tcp_max_syn_backlog = 15\n"},
    "nul-byte": {"etc/sysctl.d/10.conf": "net.ipv4.tcp_fin_timeout = 11\nnet.ipv4.tcp_keepalive_time = 12\0\nnet.ipv4.tcp_keepalive_intvl = 13\n"},
    "cr-only": {"etc/sysctl.d/10.conf": "net.ipv4.tcp_fin_timeout = 11\rnet.ipv4.tcp_keepalive_time = 12\r\nnet.ipv4.tcp_keepalive_intvl = 13 \r 14\n"},
    "form-feed": {"etc/sysctl.d/10.conf": "net.ipv4.tcp_keepalive_intvl = 13\fnet.ipv4.tcp_keepalive_probes = 14\n\fnet.ipv4.tcp_max_syn_backlog = 15\n"
                  "net.core.somaxconn = 16\f\nnet.ipv4.tcp_orphan_retries\f= 4\nnet.ipv4.tcp_syn_retries =\f5\n"},
    "mask-and-link": {"etc/sysctl.d/30-m.conf@": "/dev/null", "usr/lib/sysctl.d/30-m.conf": "net.ipv4.tcp_fin_timeout = 11\n",
                      "run/sysctl.d/40-e.conf": "", "usr/lib/sysctl.d/40-e.conf": "net.ipv4.tcp_keepalive_time = 12\n",
                      "etc/sysctl.conf": "net.ipv4.tcp_keepalive_intvl = 13\n", "etc/sysctl.d/99-sysctl.conf@": "../sysctl.conf"},
    "glob-vs-explicit-later": {"etc/sysctl.d/10.conf": "net.ipv4.tcp_keepalive_* = 11\n", "etc/sysctl.d/20.conf": "net.ipv4.tcp_keepalive_time = 22\n"},
    "glob-vs-refused-explicit": {"etc/sysctl.d/10.conf": "net.ipv4.tcp_keepalive_* = 11\nnet.ipv4.tcp_keepalive_intvl = 12abc\nnet.ipv4.tcp_keepalive_probes =\n"},
    "glob-empty-value": {"etc/sysctl.d/10.conf": "net.ipv4.tcp_fin_time* =\n"},
    "empty-key": {"etc/sysctl.d/10.conf": "= 5\n= 5\r\n= 5\rnet.ipv4.tcp_orphan_retries = 4\n"},
    "empty-components": {"etc/sysctl.d/10.conf": "net.ipv4..tcp_fin_timeout = 11\nnet//core//somaxconn = 16\nnet.ipv4.tcp_keepalive_* = 5\nnet..ipv4.tcp_keepalive_time = 12\n"},
    "leading-separators": {"etc/sysctl.d/10.conf": ".net.ipv4.tcp_fin_timeout = 11\n/net/ipv4/tcp_keepalive_time = 12\nnet.ipv4.tcp_keepalive_* = 5\n.net.ipv4.tcp_keepalive_intvl = 13\n"},
    "trailing-separators": {"etc/sysctl.d/10.conf": "net.ipv4.tcp_fin_timeout. = 11\nnet/ipv4/tcp_keepalive_time/ = 12\nnet.ipv4.tcp_keepalive_* = 5\nnet.ipv4.tcp_keepalive_intvl. = 13\n"},
    "slash-spelling": {"etc/sysctl.d/10.conf": "net/ipv4/tcp_fin_timeout = 11\nnet/ipv4.tcp_keepalive_probes = 14\nnet.ipv4/tcp_keepalive_time = 12\n"},
    "repeated-same-key": {"etc/sysctl.d/10.conf": "net.ipv4.tcp_fin_timeout = 11\nnet.ipv4.tcp_fin_timeout = 12\nnet.ipv4.tcp_fin_timeout = 11\n",
                          "etc/sysctl.d/20.conf": "net.ipv4.tcp_fin_timeout = 300abc\n"},
    "glob-file-name-question": {"etc/sysctl.d/60-c?.conf": "net.ipv4.tcp_orphan_retries = 3\n", "etc/sysctl.d/60-c1.conf": "net.ipv4.tcp_syncookies = 0\n",
                                "usr/lib/sysctl.d/60-c2.conf": "net.ipv4.tcp_fin_timeout = 44\n"},
    "glob-file-name-nomatch": {"etc/sysctl.d/70-[x].conf": "net.ipv4.tcp_orphan_retries = 5\n"},
    "hidden-directory": {"etc/sysctl.d/.h.conf/": None, "usr/lib/sysctl.d/.h.conf": "net.ipv4.tcp_fin_timeout = 33\n"},
    # The jiffies bound is INT_MAX / HZ seconds, HZ read by tcptune from the
    # kernel's configuration (docs/KERNEL.md §1.2): 5000000 passes where HZ
    # is at most 429 and fails at HZ=1000, 8589935 fails at HZ=250 and 300
    # and passes at 100, 21474837 (> INT_MAX / 100) fails on every usual HZ.
    "jiffies-bound": {"etc/sysctl.d/10.conf": "net.ipv4.tcp_keepalive_time = 5000000\nnet.ipv4.tcp_keepalive_intvl = 21474837\nnet.ipv4.tcp_fin_timeout = 8589935\nnet.ipv4.tcp_fin_timeout = -1\n"},
    "overflow": {"etc/sysctl.d/10.conf": "net.core.somaxconn = 2147483648\nnet.ipv4.tcp_max_syn_backlog = 99999999999999999999\nnet.ipv4.tcp_max_tw_buckets = 000000000000000000001\n"},
    "unsigned-signs": {"etc/sysctl.d/10.conf": "net.ipv4.tcp_keepalive_probes = -0\nnet.ipv4.tcp_syncookies = -1\nnet.ipv4.tcp_tw_reuse_delay = -5\n"},
    "base-prefixes": {"etc/sysctl.d/10.conf": "net.ipv4.tcp_keepalive_time = 08\nnet.ipv4.tcp_keepalive_intvl = 0x\nnet.ipv4.tcp_fin_timeout = 0X1E\nnet.core.somaxconn = 0777\n"},
    "port-range-forms": {"etc/sysctl.d/10.conf": "net.ipv4.ip_local_port_range = 40000 50000x\nnet.ipv4.ip_local_port_range = 50000 40000\nnet.ipv4.ip_local_port_range = 40000,50000\nnet.ipv4.ip_local_port_range = 0x9c40 0141520\n"},
    "unpriv-above-range": {"etc/sysctl.d/10.conf": "net.ipv4.ip_unprivileged_port_start = 40000\n"},
    "unknown-and-removed": {"etc/sysctl.d/10.conf": "net.ipv4.tcp_tw_recycle = 1\nnet.ipv4.tcp_bogus_knob = 3\n-net.ipv4.tcp_other_bogus = 4\n"},
    "interface-absent": {"etc/sysctl.d/10.conf": "net.ipv4.conf.eno1.rp_filter = 1\nnet.ipv4.tcp_fin_timeout = 30\n"},
}


def fixed_layout(root, files):
    for rel, data in files.items():
        if rel.endswith("@"):
            p = os.path.join(root, rel[:-1])
            os.makedirs(os.path.dirname(p), exist_ok=True)
            os.symlink(data, p)
        elif rel.endswith("/"):
            os.makedirs(os.path.join(root, rel), exist_ok=True)
        else:
            write(root, rel, data)


def gen(out, seed, count):
    names = list(FIXED)
    for i in range(count):
        root = os.path.join(out, "%04d" % i)
        for d in DIRS:
            os.makedirs(os.path.join(root, d), exist_ok=True)
        if i < len(names):
            fixed_layout(root, FIXED[names[i]])
            label = "class " + names[i]
        else:
            random_layout(random.Random("%s-%d" % (seed, i)), root)
            label = "random %s-%d" % (seed, i)
        with open(os.path.join(root, "label"), "w") as f:
            f.write(label + "\n")
        with open(os.path.join(out, "keys"), "w") as f:
            f.write("\n".join(KEYS) + "\n")


def read_vals(p):
    vals = {}
    with open(p, errors="replace") as f:
        for ln in f:
            k, _, v = ln.rstrip("\n").partition("=")
            vals[k] = " ".join(v.split())
    return vals


def reproducer(root):
    out = []
    for dp, dns, fns in os.walk(root):
        for n in sorted(dns + fns):
            p = os.path.join(dp, n)
            rel = os.path.relpath(p, root)
            if rel in ("label", "systemd", "procps", "tcptune.json", "tcptune.err", "default", "systemd.log",
                       "procps.log", "procps-p.log") or rel.endswith("/"):
                continue
            if os.path.islink(p):
                out.append("  ln -s %r %s" % (os.readlink(p), rel))
            elif os.path.isdir(p):
                if not any(rel == d or d.startswith(rel + "/") for d in DIRS):
                    out.append("  mkdir %s" % rel)
            elif os.path.isfile(p):
                data = open(p, "rb").read()
                if len(data) > 400:
                    data = data[:200] + b"...(%d bytes)..." % len(data) + data[-100:]
                out.append("  printf %%s %r > %s" % (data.decode("latin-1"), rel))
    return "\n".join(out)


def dotted(path):
    """A key or /proc/sys path as printed by a program, in the key table's
    spelling: separators traded, empty components dropped."""
    if path.startswith("/proc/sys/"):
        path = path[len("/proc/sys/"):]
    sep = min((i for i in (path.find("."), path.find("/")) if i >= 0), default=-1)
    if sep >= 0 and path[sep] == "/":
        path = path.translate(str.maketrans("./", "/."))
    return ".".join(x for x in path.split(".") if x)


def host_file(root, path):
    """A file as a program named it, as the file to edit: links resolved
    inside the case's tree (99-sysctl.conf -> ../sysctl.conf)."""
    real = os.path.realpath(os.path.join(root, path.lstrip("/")))
    rroot = os.path.realpath(root)
    return "/" + os.path.relpath(real, rroot) if real.startswith(rroot + "/") else path


def printed(root, tracked):
    """What the programs said: per program the tracked keys whose write the
    kernel refused, the keys that do not exist, and systemd's complaints
    about lines (file, line)."""
    sd_rej, sd_missing, sd_lines, sd_empty, sd_unread = set(), set(), set(), 0, set()
    with open(os.path.join(root, "systemd.log"), errors="replace", newline="\n") as f:
        for ln in f:
            ln = ln.rstrip("\n")
            m = re.match(r"Couldn't write '(.*)' to '([^']*)'(, ignoring)?: (.*)$", ln, re.S)
            if m:
                key = dotted(m.group(2))
                if m.group(4) == "No such file or directory":
                    sd_missing.add(key)
                elif key == "":
                    sd_empty += 1
                elif key in tracked:
                    sd_rej.add((key, m.group(1)))
                continue
            m = re.match(r"Failed to read file '(.*)', ignoring: ", ln)
            if m:
                sd_unread.add(host_file(root, m.group(1)))
                continue
            m = re.match(r"(/[^:]*):(\d+): ", ln)
            if m:
                sd_lines.add((host_file(root, m.group(1)), int(m.group(2))))
    pp_rej, pp_missing = set(), set()
    with open(os.path.join(root, "procps.log"), errors="replace", newline="\n") as f:
        for ln in f:
            m = re.match(r'sysctl: setting key "(.*)": ', ln)
            if m and dotted(m.group(1)) in tracked:
                pp_rej.add(dotted(m.group(1)))
    with open(os.path.join(root, "procps-p.log"), errors="replace", newline="\n") as f:
        for ln in f:
            m = re.match(r"sysctl: cannot stat (.*): No such file or directory$", ln.rstrip("\n"))
            if m:
                pp_missing.add(dotted(m.group(1)))
    return sd_rej, sd_missing, sd_lines, sd_empty, sd_unread, pp_rej, pp_missing


def compare_messages(root, tj):
    """tcptune's boot.rejected, boot.stale and boot.warnings against what
    the programs printed; a list of differences."""
    diffs = []
    sd_rej, sd_missing, sd_lines, sd_empty, sd_unread, pp_rej, pp_missing = printed(root, set(tj["sysctl"]))
    boot = tj["boot"]
    ours_sd = set((r["key"], r["value"]) for r in boot["rejected"] if "systemd" in r["by"])
    ours_pp = set(r["key"] for r in boot["rejected"] if "procps" in r["by"])
    if ours_sd != sd_rej:
        diffs.append("systemd refused %s, tcptune says rejected %s" % (sorted(sd_rej - ours_sd), sorted(ours_sd - sd_rej)))
    if ours_pp != pp_rej:
        diffs.append("procps refused %s, tcptune says rejected %s" % (sorted(pp_rej - ours_pp), sorted(ours_pp - pp_rej)))
    stale = set(dotted(x["key"]) for x in boot["stale"])
    real = sd_missing | pp_missing
    if stale != real:
        diffs.append("missing keys: systemd %s, procps %s; tcptune stale %s" % (
            sorted(sd_missing - stale), sorted(pp_missing - stale), sorted(stale - real)))
    long_line = "line longer than 1 MiB"
    ours_lines = set((w["file"], w["line"]) for w in boot["warnings"]
                     if w["line"] > 0 and not w["text"].startswith(("empty key", long_line)))
    sd_files = set(f["path"] for f in boot["files"] if f["systemd"])
    ours_unread = set(w["file"] for w in boot["warnings"]
                      if w["text"].startswith(long_line) or w["text"].startswith("a directory") or
                      (w["line"] == 0 and "skipped" in w["text"] and w["file"] in sd_files))
    if ours_unread != sd_unread:
        diffs.append("systemd stopped reading %s, tcptune says it stops reading %s" % (
            sorted(sd_unread), sorted(ours_unread)))
    if ours_lines != sd_lines:
        diffs.append("systemd complained about lines %s, tcptune warns about %s" % (
            sorted(sd_lines - ours_lines), sorted(ours_lines - sd_lines)))
    # systemd keeps one entry per key, the empty one too: one write for
    # any number of "= V" lines.
    ours_empty = sum(1 for w in boot["warnings"] if w["text"].startswith("empty key"))
    if (ours_empty > 0) != (sd_empty > 0):
        diffs.append("systemd wrote %d empty keys, tcptune warns about %d" % (sd_empty, ours_empty))
    return diffs


def compare(out, seed):
    cases = sorted(d for d in os.listdir(out) if d.isdigit())
    bad = 0
    for c in cases:
        root = os.path.join(out, c)
        label = open(os.path.join(root, "label")).read().strip()
        try:
            tj = json.load(open(os.path.join(root, "tcptune.json")))
            got = {"systemd": read_vals(os.path.join(root, "systemd")),
                   "procps": read_vals(os.path.join(root, "procps"))}
            default = read_vals(os.path.join(root, "default"))
        except (OSError, ValueError) as e:
            print("MISMATCH %s (%s): no result: %s" % (c, label, e))
            bad += 1
            continue
        diffs = []
        for k in KEYS:
            e = tj["sysctl"].get(k)
            if e is None:
                continue
            for prog, field in (("systemd", "boot"), ("procps", "boot_procps")):
                b = e[field]
                want = default.get(k) if b is None else " ".join(str(b["value"]).split())
                if got[prog].get(k) != want:
                    diffs.append("%s %s: real %r, tcptune %r%s" % (
                        prog, k, got[prog].get(k), want, "" if b is None else " (%s:%s)" % (b["file"], b["line"])))
        diffs += compare_messages(root, tj)
        if diffs:
            bad += 1
            print("MISMATCH case %s (%s), seed %s" % (c, label, seed))
            for d in diffs:
                print("  " + d)
            print(" reproducer (under an empty root):\n" + reproducer(root))
    print("compared %d layouts: %d mismatches" % (len(cases), bad))
    return 1 if bad else 0


CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
SD = "/lib/systemd/systemd-sysctl"
LIBC = ctypes.CDLL(None, use_errno=True)


def unshare(flags):
    if LIBC.unshare(flags) != 0:
        raise OSError(ctypes.get_errno(), "unshare")


def netns_ino(pid):
    return os.stat("/proc/%s/ns/net" % pid).st_ino


def host_netns():
    """PID 1's network namespace, or kthreadd's (PID 2, always the initial
    one) where PID 1's is not readable."""
    try:
        return netns_ino(1)
    except OSError:
        with open("/proc/2/comm") as f:
            if f.read().strip() != "kthreadd":
                raise
        return netns_ino(2)


def mounted(path, fstype=None):
    with open("/proc/self/mounts") as f:
        for ln in f:
            p = ln.split()
            if p[1] == path and (fstype is None or p[2] == fstype):
                return True
    return False


def dump(path):
    with open(path, "w") as out:
        for k in KEYS:
            try:
                with open("/proc/sys/" + k.replace(".", "/")) as f:
                    v = f.read().strip()
            except OSError:
                v = ""
            out.write("%s=%s\n" % (k, v))


def in_netns(host, fn):
    """Run fn in a child process in a new network namespace; the child
    refuses to run anything unless its namespace differs from the host's."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            unshare(CLONE_NEWNET)
            if netns_ino("self") == host:
                sys.stderr.write("GUARD: still in the host's network namespace\n")
                os._exit(99)
            code = fn()
        except BaseException as e:
            sys.stderr.write("netns child: %r\n" % (e,))
        os._exit(code)
    _, st = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(st)


def place(case, scratch_conf):
    for d in DIRS:
        dst = "/" + d
        for n in os.listdir(dst):
            p = os.path.join(dst, n)
            if os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p)
            else:
                os.unlink(p)
        src = os.path.join(case, d)
        if os.path.isdir(src):
            for n in os.listdir(src):
                s, t = os.path.join(src, n), os.path.join(dst, n)
                if os.path.islink(s):
                    os.symlink(os.readlink(s), t)
                elif os.path.isdir(s):
                    os.mkdir(t)
                else:
                    shutil.copyfile(s, t)
    src = os.path.join(case, "etc/sysctl.conf")
    data = open(src, "rb").read() if os.path.isfile(src) else b""
    with open("/etc/sysctl.conf", "wb") as f:
        f.write(data)


def read_keys():
    vals = {}
    for k in KEYS:
        try:
            with open("/proc/sys/" + k.replace(".", "/")) as f:
                vals[k] = f.read().strip()
        except OSError:
            vals[k] = ""
    return vals


def reset(default):
    """Put every compared key back to the namespace's initial value; the
    unprivileged port start goes to 0 first so that any port range is
    accepted (docs/KERNEL.md §1.4)."""
    def w(k, v):
        with open("/proc/sys/" + k.replace(".", "/"), "w") as f:
            f.write(v + "\n")
    w("net.ipv4.ip_unprivileged_port_start", "0")
    for k in KEYS:
        if default[k] != "":
            w(k, default[k])
    if read_keys() != default:
        raise SystemExit("cannot reset the keys to their initial values")


def worker(cases, tcptune, host, scratch, fresh):
    unshare(CLONE_NEWNS | (0 if fresh else CLONE_NEWNET))
    if not fresh and netns_ino("self") == host:
        raise SystemExit("GUARD: still in the host's network namespace")
    subprocess.run(["mount", "--make-rprivate", "/"], check=True)
    for parent in ("/run", "/usr/local/lib"):
        if not os.path.isdir(parent + "/sysctl.d"):
            subprocess.run(["mount", "-t", "tmpfs", "tmpfs", parent], check=True)
            os.mkdir(parent + "/sysctl.d")
    for d in DIRS:
        subprocess.run(["mount", "-t", "tmpfs", "tmpfs", "/" + d], check=True)
    if os.path.isdir("/lib/sysctl.d") and not os.path.islink("/lib"):
        subprocess.run(["mount", "-t", "tmpfs", "tmpfs", "/lib/sysctl.d"], check=True)
    open(scratch, "w").close()
    if not os.path.exists("/etc/sysctl.conf"):
        open("/etc/sysctl.conf", "w").close()
    subprocess.run(["mount", "--bind", scratch, "/etc/sysctl.conf"], check=True)
    # Never clear a directory that is not our own tmpfs.
    for d in DIRS:
        if not mounted("/" + d, "tmpfs"):
            raise SystemExit("/%s is not a tmpfs here: refusing to continue" % d)
    if not mounted("/etc/sysctl.conf"):
        raise SystemExit("/etc/sysctl.conf is not a bind mount here: refusing to continue")
    default = None if fresh else read_keys()
    for c in cases:
        place(c, scratch)

        def systemd():
            if default is not None:
                reset(default)
            dump(os.path.join(c, "default"))
            with open(os.path.join(c, "tcptune.json"), "w") as out, open(os.path.join(c, "tcptune.err"), "w") as err:
                r = subprocess.run([tcptune, "check", "--format", "json"], stdout=out, stderr=err)
            if r.returncode > 2:
                return 1
            # Debug level: the unknown keys ("No such file or directory")
            # and the '-' lines' failures are logged too.
            with open(os.path.join(c, "systemd.log"), "w") as log:
                subprocess.run([SD], stdout=subprocess.DEVNULL, stderr=log,
                               env=dict(os.environ, SYSTEMD_LOG_LEVEL="debug", SYSTEMD_LOG_COLOR="0"))
            dump(os.path.join(c, "systemd"))
            return 0

        def procps():
            if default is not None:
                reset(default)
            with open(os.path.join(c, "procps.log"), "w") as log:
                subprocess.run(["sysctl", "--system"], stdout=log, stderr=subprocess.STDOUT)
            dump(os.path.join(c, "procps"))
            # --system does not say which keys are missing; `sysctl -p` over
            # the same files (the names as --system printed them) does.
            files = []
            with open(os.path.join(c, "procps.log"), errors="replace") as f:
                for ln in f:
                    if ln.startswith("* Applying ") and ln.rstrip().endswith(" ..."):
                        files.append(ln.rstrip()[len("* Applying "):-len(" ...")])
            with open(os.path.join(c, "procps-p.log"), "w") as log:
                if files:
                    subprocess.run(["sysctl", "-p"] + files, stdout=subprocess.DEVNULL, stderr=log)
            return 0

        if fresh:
            ok = in_netns(host, systemd) == 0 and in_netns(host, procps) == 0
        else:
            # The batch's own namespace: checked again before every run.
            ok = netns_ino("self") != host and systemd() == 0 and procps() == 0
        if not ok:
            raise SystemExit("case %s: a namespace run failed" % c)
    return 0


def run(out, tcptune, workers, fresh):
    host = host_netns()
    cases = sorted(os.path.join(out, d) for d in os.listdir(out) if d.isdigit())
    pids = []
    for w in range(workers):
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = worker(cases[w::workers], tcptune, host, os.path.join(out, "sysctl.conf.%d" % w), fresh)
            except BaseException as e:
                sys.stderr.write("worker %d: %s\n" % (w, e))
            os._exit(code)
        pids.append(pid)
    bad = 0
    for pid in pids:
        _, st = os.waitpid(pid, 0)
        bad += os.waitstatus_to_exitcode(st) != 0
    return 1 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "gen":
        gen(sys.argv[2], sys.argv[3], int(sys.argv[4]))
        sys.exit(0)
    if len(sys.argv) == 5 and sys.argv[1] == "run":
        sys.exit(run(sys.argv[2], sys.argv[3], int(sys.argv[4]), os.environ.get("TT_BOOT_FRESH", "1") != "0"))
    if len(sys.argv) == 4 and sys.argv[1] == "compare":
        sys.exit(compare(sys.argv[2], sys.argv[3]))
    sys.exit(__doc__)
