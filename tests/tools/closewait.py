"""CLOSE_WAIT sockets for the integration scenarios.

close_wait(n): n TCP sockets on loopback whose peers have closed first, so
that each sits in CLOSE_WAIT, held by the caller (who must keep the list).
The listener is closed again; only the client ends remain.  A scenario
copies this file next to its own script, which imports it from there."""
import socket


def close_wait(n):
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(64)
    held = []
    for _ in range(n):
        c = socket.create_connection(ls.getsockname())
        a, _ = ls.accept()
        a.close()            # our client end gets the FIN: CLOSE_WAIT
        held.append(c)
    ls.close()
    return held
