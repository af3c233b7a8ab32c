#!/usr/bin/env python3
"""One TCP connection of the Linux kernel over 127.0.0.1:PORT (or the
loopback address given second, e.g. ::1), with a short exchange both ways
and a close started by the client, for a tcpdump capture that `synfin
ladder` must draw. Bounded: every socket has a timeout."""
import socket, sys, threading

port = int(sys.argv[1]) if len(sys.argv) > 1 else 9999
addr = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
srv = socket.socket(fam, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((addr, port))
srv.listen(1)
srv.settimeout(5)

def serve():
    c, _ = srv.accept()
    c.settimeout(5)
    data = c.recv(100)
    c.sendall(b"pong:" + data)
    while c.recv(100):   # until the client's FIN
        pass
    c.close()

t = threading.Thread(target=serve)
t.start()
cl = socket.create_connection((addr, port), timeout=5)
cl.sendall(b"ping")
assert cl.recv(100) == b"pong:ping"
cl.close()
t.join(5)
srv.close()
