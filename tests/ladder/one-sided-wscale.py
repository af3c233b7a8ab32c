#!/usr/bin/env python3
"""Writes a raw-IP pcap (argv[1]) of a handshake where only the client's SYN
carries Window Scale (shift 7) and the server's SYN-ACK does not: RFC 7323
2.2 leaves scaling off both ways, so the windows after the handshake (511,
1000) are bytes as they stand. Addresses in 198.18.0.0/15."""
import struct
import sys

CLI, SRV = bytes([198, 18, 0, 1]), bytes([198, 18, 0, 2])


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def seg(src, dst, sport, dport, seq, ack, flags, win, opts=b""):
    off = (20 + len(opts)) // 4
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, off << 4, flags,
                      win, 0, 0) + opts
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0x4000, 64,
                     6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return ip + tcp


MSS = b"\x02\x04\x05\xb4"
SYN, ACK = 0x02, 0x10
pkts = [
    seg(CLI, SRV, 40000, 80, 1000, 0, SYN, 65535, MSS + b"\x01\x03\x03\x07"),
    seg(SRV, CLI, 80, 40000, 5000, 1001, SYN | ACK, 65535, MSS),
    seg(CLI, SRV, 40000, 80, 1001, 5001, ACK, 511),
    seg(SRV, CLI, 80, 40000, 5001, 1001, ACK, 1000),
]
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101))
    for i, p in enumerate(pkts):
        f.write(struct.pack("<IIII", 1, i * 1000, len(p), len(p)) + p)
