#!/usr/bin/env python3
"""Regenerate the seed corpora under tests/fuzz/corpus/<target>/ from the
repository's fixtures and shipped YAML.  Each seed is named by the SHA-1 of its
content (as libFuzzer names inputs), so reruns are idempotent.  Run from the
repository root: python3 tests/fuzz/seed-corpus.py.  Needs PyYAML only to pull
`when`/`match` expressions out of the YAML for the rule_expr target."""
import glob
import hashlib
import os
import struct
import sys

OUT = "tests/fuzz/corpus"


def add(target, data):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


def files(*patterns):
    seen = []
    for p in patterns:
        for f in sorted(glob.glob(p, recursive=True)):
            if os.path.isfile(f) and f not in seen:
                seen.append(f)
    return seen


def read(f):
    with open(f, "rb") as fh:
        return fh.read()


SOCK_DIAG_BY_FAMILY = 20
TCPDIAG_GETSOCK = 18


def as_one_dump(buf):
    """The same recv() buffer as the one dump for both families sends it:
    every SOCK_DIAG_BY_FAMILY message retyped TCPDIAG_GETSOCK, the type its
    replies echo (docs/KERNEL.md §18.1)."""
    out = bytearray(buf)
    off = 0
    while off + 16 <= len(out):
        (n, t) = struct.unpack_from("=IH", out, off)
        if t == SOCK_DIAG_BY_FAMILY:
            struct.pack_into("=H", out, off + 4, TCPDIAG_GETSOCK)
        if n < 16:
            break
        off += (n + 3) & ~3
    return bytes(out)


def main():
    shipped_rules = files("rules/*.yaml")
    shipped_profiles = files("profiles/*.yaml")
    fixture_profiles = files("tests/fixtures/profiles/**/*.yaml")

    for f in shipped_rules:
        add("rules_yaml", read(f))
    for f in shipped_profiles + fixture_profiles:
        add("profiles_yaml", read(f))
    for f in files("tests/fixtures/yaml/*") + shipped_rules + shipped_profiles + fixture_profiles:
        add("yaml", read(f))
    for f in files("tests/fixtures/**/proc/net/tcp", "tests/fixtures/**/proc/net/tcp6",
                   "tests/fixtures/proctcp/*"):
        add("proctcp", read(f))
    for f in files("tests/fixtures/**/proc/net/sockstat", "tests/fixtures/**/proc/net/sockstat6",
                   "tests/fixtures/**/proc/net/netstat"):
        add("sockstat_netstat", read(f))
    for f in files("tests/fixtures/**/manifest.json"):
        add("manifest", read(f))
    for f in files("tests/fixtures/**/sysctl.d/*.conf", "tests/fixtures/**/etc/sysctl.conf",
                   "tests/fixtures/**/etc/ufw/sysctl.conf", "tests/fixtures/**/etc/ufw/custom.conf"):
        add("sysctld", read(f))

    # scenario.bin: a sequence of 4-byte native-endian length + that many bytes,
    # one per recv() buffer.
    blob = read("tests/fixtures/sockdiag/scenario.bin")
    off = 0
    while off + 4 <= len(blob):
        (n,) = struct.unpack_from("=I", blob, off)
        off += 4
        if off + n > len(blob):
            sys.exit("scenario.bin: truncated record at %d" % (off - 4))
        add("sockdiag", blob[off:off + n])
        add("sockdiag", as_one_dump(blob[off:off + n]))
        off += n
    if off != len(blob):
        sys.exit("scenario.bin: %d trailing bytes" % (len(blob) - off))

    try:
        import yaml
    except ImportError:
        print("PyYAML missing: rule_expr seeds not regenerated", file=sys.stderr)
        return
    for f in shipped_rules + shipped_profiles + fixture_profiles:
        try:
            doc = yaml.safe_load(read(f))
        except yaml.YAMLError:
            continue
        stack = [doc]
        while stack:
            n = stack.pop()
            if isinstance(n, dict):
                for k, v in n.items():
                    if k in ("when", "match") and isinstance(v, str):
                        add("rule_expr", v)
                    else:
                        stack.append(v)
            elif isinstance(n, list):
                stack.extend(n)


if __name__ == "__main__":
    main()
