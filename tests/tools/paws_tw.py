#!/usr/bin/env python3
"""paws_tw.py PORT COUNT: make the kernel reject COUNT SYNs by PAWS.

Run as root inside a private network namespace (tests/integration/
check_paws.sh), on loopback only.  Steps:

 1. A server on 127.0.0.1:PORT and a client bound to 127.0.0.1:PORT+1
    exchange data; the client reads its current timestamp value (getsockopt
    TCP_TIMESTAMP: the TSval it sends, offset included).  The server closes
    first, so its side of the 4-tuple enters TIME_WAIT holding that TSval as
    ts_recent (docs/KERNEL.md §19.5).
 2. COUNT SYNs for the same 4-tuple are sent through a raw socket with a
    timestamp option 100000 below that TSval: what a second client behind
    the same NAT address with a clock further behind would send.  The
    TIME_WAIT socket rejects each by PAWS and answers with an ACK, the
    later ones within tcp_invalid_ratelimit (500 ms) of the first not at all
    (TCPACKSkippedTimeWait).

The caller must drop the RSTs the client side answers those ACKs with
(there is no socket any more), or the first RST ends TIME_WAIT.  Prints
"tw-ready" after step 1 and waits for a line on stdin before step 2, then
prints "sent N".  Bounded: one connection, COUNT <= 1000 packets.
"""
import socket
import struct
import sys

TCP_TIMESTAMP = 24  # include/uapi/linux/tcp.h


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def syn(src, sport, dst, dport, seq, tsval):
    # Options: NOP NOP TS(10) -> 12 bytes; header 32 bytes.
    opts = struct.pack("!BBBBII", 1, 1, 8, 10, tsval & 0xFFFFFFFF, 0)
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, 0, (8 << 4), 0x02, 65535, 0, 0) + opts
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(hdr))
    c = csum(pseudo + hdr)
    return hdr[:16] + struct.pack("!H", c) + hdr[18:]


def main():
    port, count = int(sys.argv[1]), int(sys.argv[2])
    if not 0 < count <= 1000:
        sys.exit("paws_tw.py: COUNT must be 1..1000")
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(1)
    cli = socket.socket()
    cli.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    cli.bind(("127.0.0.1", port + 1))
    cli.connect(("127.0.0.1", port))
    conn, _ = srv.accept()
    cli.sendall(b"hello")
    conn.recv(16)
    conn.sendall(b"world")
    cli.recv(16)
    tsval = cli.getsockopt(socket.IPPROTO_TCP, TCP_TIMESTAMP) & 0xFFFFFFFF
    conn.close()            # the server closes first: its side gets TIME_WAIT
    cli.recv(16)            # the FIN
    cli.close()
    srv.close()
    print("tw-ready %d" % tsval, flush=True)
    sys.stdin.readline()
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    old = (tsval - 100000) & 0xFFFFFFFF
    for i in range(count):
        pkt = syn("127.0.0.1", port + 1, "127.0.0.1", port, 0x10000000 + i * 1000, old)
        raw.sendto(pkt, ("127.0.0.1", 0))
    print("sent %d" % count, flush=True)


if __name__ == "__main__":
    main()
