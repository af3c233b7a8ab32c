#!/usr/bin/env python3
"""Clients and servers of tests/t2s/run.sh (every wait bounded).

  reqresp-server HOST PORT      answers each line "ping N" with "pong N"
  halfclose-server HOST PORT    reads to EOF, then answers "got N SHA256" and closes
  stream-server HOST PORT       sends a line every 50 ms until the peer closes
  sink-server HOST PORT         reads and drops until EOF
  garbage-server HOST PORT      answers whatever comes with an HTTP error
  silent-server HOST PORT       reads and never answers
  upload HOST PORT SECS         sends until an error or SECS; prints the
                                error's errno name or "completed"
  many HOST PORT N              N connections at once, each one ping/pong;
                                prints "ok N" when all N answered right
  errno HOST PORT               connects; prints the errno name or "connected"
  readall HOST PORT SECS        connects, reads until the end; prints "eof N"
                                (N bytes, then a FIN), or the error's errno
                                name (ETIMEDOUT after SECS without a byte)
  halfclose HOST PORT NBYTES    sends NBYTES, shuts its write side, prints
                                the answer (the server still reaches us)
  midgreet-server HOST PORT     a "SOCKS server" that answers half of the
                                method selection (0x05) and closes
  banner-server HOST PORT       a SOCKS5 server (no auth, any CONNECT) that
                                sends its success reply and a 19-byte
                                banner in one write (a server that speaks
                                first, its first bytes in the reply's
                                segment), then closes
  pipeline-server HOST PORT     a SOCKS5 server that says nothing until the
                                greeting (no auth) and an IPv4 CONNECT have
                                both come (a pipelining client); then both
                                replies and a 15-byte banner in one write,
                                and it closes. A client that waits for the
                                method choice first is closed on after 2 s
  syns SRC DST PORT0 PORT1 [N]  raw IPv4 SYNs from SRC (spoofed: nobody
                                answers the SYN-ACKs) to DST, ports PORT0..
                                PORT1, N rounds (default 1); prints "sent K"
  hold HOST PORT N MODE SECS    opens N connections one after the other
                                (MODE idle: nothing sent; halfclose: shuts
                                its write side; noread: sends an HTTP GET
                                of /big.bin and never reads); prints
                                "connected C refused R other O", then holds
                                them SECS seconds (or until killed)
  pausedget HOST PORT N PATH SHA GO LASTPORT
                                N connections (8 KB receive buffers; the
                                last to LASTPORT), each sends an HTTP GET of
                                PATH and reads nothing; prints "connected
                                N"; once the file GO exists (60 s at most)
                                reads each to its end and prints "ok N" if
                                every body's SHA-256 is SHA
  delayed-server HOST PORT SECS FILE
                                reads a request (to its empty line), waits
                                SECS, answers "HTTP/1.0 200 OK" and FILE
"""
import asyncio
import errno
import hashlib
import os
import socket
import sys


async def reqresp(reader, writer):
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            n = line.split()[1]
            writer.write(b"pong " + n + b"\n")
            await writer.drain()
    except (ConnectionError, IndexError):
        pass
    writer.close()


async def halfclose(reader, writer):
    data = await reader.read()  # to EOF: the client's FIN came through
    h = hashlib.sha256(data).hexdigest()
    writer.write(b"got %d %s\n" % (len(data), h.encode()))
    await writer.drain()
    writer.close()


async def stream(reader, writer):
    try:
        for i in range(100000):
            writer.write(b"line %d\n" % i)
            await writer.drain()
            await asyncio.sleep(0.05)
    except ConnectionError:
        pass
    writer.close()


async def sink(reader, writer):
    try:
        while await reader.read(65536):
            pass
    except ConnectionError:
        pass
    writer.close()


async def garbage(reader, writer):
    # a "SOCKS server" that answers the greeting with an HTTP error
    await reader.read(16)
    writer.write(b"HTTP/1.0 400 Bad Request\r\n\r\n")
    await writer.drain()
    writer.close()


async def silent(reader, writer):
    # a "SOCKS server" that takes the greeting and never answers
    while await reader.read(4096):
        pass
    writer.close()


def delayed(secs, path):
    async def handler(reader, writer):
        # reads the request (to its empty line), waits SECS, answers
        # "HTTP/1.0 200" and the file at PATH
        try:
            await reader.readuntil(b"\r\n\r\n")
            await asyncio.sleep(secs)
            with open(path, "rb") as f:
                body = f.read()
            writer.write(b"HTTP/1.0 200 OK\r\n\r\n" + body)
            await writer.drain()
        except ConnectionError:
            pass
        writer.close()
    return handler


async def midgreet(reader, writer):
    await reader.read(16)
    writer.write(b"\x05")
    await writer.drain()
    writer.close()


async def banner(reader, writer):
    try:
        await reader.readexactly(3)        # VER NMETHODS X'00'
        writer.write(b"\x05\x00")
        await writer.drain()
        await reader.readexactly(10)       # CONNECT to an IPv4 address
        writer.write(b"\x05\x00\x00\x01\x00\x00\x00\x00\x00\x00" + b"220 synfin banner\r\n")
        await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    writer.close()


async def pipeline(reader, writer):
    try:
        got = await asyncio.wait_for(reader.readexactly(3 + 10), 2)
        if got[:3] == b"\x05\x01\x00" and got[3:7] == b"\x05\x01\x00\x01":
            writer.write(b"\x05\x00" + b"\x05\x00\x00\x01\x00\x00\x00\x00\x00\x00" +
                         b"220 pipelined\r\n")
            await writer.drain()
    except (ConnectionError, asyncio.IncompleteReadError, asyncio.TimeoutError):
        pass
    writer.close()


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(int.from_bytes(b[i:i + 2], "big") for i in range(0, len(b), 2))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def syns(src, dst, p0, p1, rounds):
    import struct
    import time
    r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    sa, da = socket.inet_aton(src), socket.inet_aton(dst)
    sent = 0
    for rnd in range(rounds):
        for port in range(p0, p1 + 1):
            sport = 1024 + (port + rnd * 7919) % 60000
            tcp = struct.pack("!HHIIBBHHH", sport, port, 0x1000 + port, 0, 5 << 4, 0x02, 65535, 0, 0)
            c = csum(sa + da + struct.pack("!BBH", 0, 6, len(tcp)) + tcp)
            tcp = tcp[:16] + struct.pack("!H", c) + tcp[18:]
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), port & 0xffff, 0, 64, 6, 0, sa, da)
            ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
            try:
                r.sendto(ip + tcp, (dst, 0))
                sent += 1
            except OSError:
                time.sleep(0.001)
            if sent % 200 == 0:
                time.sleep(0.002)  # paced: the TUN's queue (500) is not the test
    print("sent", sent, flush=True)


def hold(host, port, n, mode, secs):
    import time
    conns, refused, other = [], 0, 0
    for i in range(n):
        s = socket.socket(socket.AF_INET)
        s.settimeout(5)
        if mode == "noread":  # a small window: the engine holds the rest
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        try:
            s.connect((host, port))
        except ConnectionRefusedError:
            refused += 1
            s.close()
            continue
        except OSError:
            other += 1
            s.close()
            continue
        if mode == "halfclose":
            s.shutdown(socket.SHUT_WR)
        elif mode == "noread":
            s.sendall(b"GET /big.bin HTTP/1.0\r\n\r\n")
        conns.append(s)
    print("connected", len(conns), "refused", refused, "other", other, flush=True)
    time.sleep(secs)
    for s in conns:
        s.close()


async def serve(handler, host, port):
    srv = await asyncio.start_server(handler, host, int(port), backlog=4096,
                                     reuse_address=True)
    print("listening", flush=True)
    async with srv:
        await srv.serve_forever()


async def many(host, port, n):
    async def one(i):
        r, w = await asyncio.open_connection(host, int(port))
        w.write(b"ping %d\n" % i)
        await w.drain()
        line = await r.readline()
        w.close()
        return line == b"pong %d\n" % i
    res = await asyncio.wait_for(
        asyncio.gather(*(one(i) for i in range(n)), return_exceptions=True), 60)
    good = sum(1 for x in res if x is True)
    bad = [x for x in res if x is not True][:3]
    print("ok" if good == n else "FAILED", good, "of", n, bad)
    return good == n


def pausedget(host, port, n, path, sha, go, lastport):
    import threading
    import time
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
        s.settimeout(10)
        s.connect((host, lastport if len(socks) == n - 1 else port))
        socks.append(s)
    get = b"GET /%s HTTP/1.0\r\n\r\n" % path.encode()
    for s in socks:
        s.sendall(get)
    print("connected", n, flush=True)
    end = time.monotonic() + 60
    while not os.path.exists(go) and time.monotonic() < end:
        time.sleep(0.1)
    res = [None] * n

    def read(i):
        got = bytearray()
        try:
            while True:
                b = socks[i].recv(65536)
                if not b:
                    break
                got += b
        except OSError as e:
            res[i] = errno.errorcode.get(e.errno, str(e.errno))
            return
        body = bytes(got).split(b"\r\n\r\n", 1)[-1]
        res[i] = hashlib.sha256(body).hexdigest() == sha or "%d bytes" % len(body)
    t0 = time.monotonic()
    ts = [threading.Thread(target=read, args=(i,), daemon=True) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(max(0.1, t0 + 60 - time.monotonic()))
    good = sum(1 for r in res if r is True)
    print("ok" if good == n else "FAILED", good, "of", n, [r for r in res if r is not True][:3],
          "read in %.1f s" % (time.monotonic() - t0))
    sys.exit(0 if good == n else 1)


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "delayed-server":
        asyncio.run(serve(delayed(float(args[2]), args[3]), args[0], args[1]))
    elif cmd.endswith("-server"):
        h = {"reqresp-server": reqresp, "halfclose-server": halfclose,
             "stream-server": stream, "sink-server": sink,
             "garbage-server": garbage, "silent-server": silent,
             "midgreet-server": midgreet, "banner-server": banner,
             "pipeline-server": pipeline}[cmd]
        asyncio.run(serve(h, *args))
    elif cmd == "syns":
        syns(args[0], args[1], int(args[2]), int(args[3]), int(args[4]) if len(args) > 4 else 1)
    elif cmd == "hold":
        hold(args[0], int(args[1]), int(args[2]), args[3], float(args[4]))
    elif cmd == "many":
        sys.exit(0 if asyncio.run(many(args[0], args[1], int(args[2]))) else 1)
    elif cmd == "errno":
        s = socket.socket(socket.AF_INET6 if ":" in args[0] else socket.AF_INET)
        s.settimeout(float(os.environ.get("T2S_TIMEOUT", "5")))
        try:
            s.connect((args[0], int(args[1])))
            print("connected")
        except socket.timeout:
            print("ETIMEDOUT")
        except OSError as e:
            print(errno.errorcode.get(e.errno, str(e.errno)))
    elif cmd == "pausedget":
        pausedget(args[0], int(args[1]), int(args[2]), args[3], args[4], args[5], int(args[6]))
    elif cmd == "upload":
        # sends until an error or SECS; prints the error's name
        import time
        s = socket.create_connection((args[0], int(args[1])), timeout=10)
        end = time.monotonic() + float(args[2])
        buf = b"x" * 65536
        try:
            while time.monotonic() < end:
                s.send(buf)
            print("completed")
        except socket.timeout:
            print("ETIMEDOUT")
        except OSError as e:
            print(errno.errorcode.get(e.errno, str(e.errno)))
    elif cmd == "readall":
        s = socket.create_connection((args[0], int(args[1])), timeout=float(args[2]))
        print("connected", flush=True)
        n = 0
        try:
            while True:
                b = s.recv(65536)
                if not b:
                    print("eof", n)
                    break
                n += len(b)
        except socket.timeout:
            print("ETIMEDOUT", n)
        except OSError as e:
            print(errno.errorcode.get(e.errno, str(e.errno)), n)
    elif cmd == "halfclose":
        s = socket.create_connection((args[0], int(args[1])), timeout=10)
        data = os.urandom(int(args[2]))
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        got = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            got += b
        want = b"got %d %s\n" % (len(data), hashlib.sha256(data).hexdigest().encode())
        print("ok" if got == want else "FAILED: %r" % got)
        sys.exit(0 if got == want else 1)
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
