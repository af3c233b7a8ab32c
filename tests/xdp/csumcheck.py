#!/usr/bin/env python3
"""The TCP checksums synfin's AF_XDP link sends (tests/xdp/run.sh, the
csum cases; docs/xdp.md "Checksum offload").

  csumcheck.py capture IFACE SRC   (until SIGTERM, or 60 s)
      Reads every IPv4 TCP frame from SRC arriving on IFACE through a
      packet socket with PACKET_VNET_HDR, so that each comes with the
      kernel's view of its checksum: a virtio_net_hdr whose NEEDS_CSUM
      says the skb is CHECKSUM_PARTIAL (the checksum left to the device,
      csum_start and csum_offset from the Ethernet header on). Each frame
      is completed as that header says (RFC 1071: the one's complement
      sum from csum_start on, stored at csum_start + csum_offset) and then
      checked as the receiver would (RFC 9293 3.1, over the pseudo-header).
      Prints one line: frames, partial, partial at the TCP header's
      checksum field (start 34 + IP options, offset 16), bad after
      completion. Exit 1 if any is bad or none came.

  csumcheck.py pcap FILE
      Checks every TCP checksum in a pcap of raw IPv4 datagrams (synfin's
      --pcap). Prints one line: TCP datagrams, bad. Exit 1 if any is bad
      or none is there.

  csumcheck.py gso IFACE DSTMAC SRC DST PORT LEN
      Sends one TCP segment (ACK) of LEN bytes of payload from SRC to
      DST:PORT out of IFACE as a single GSO frame (a virtio_net_hdr with
      GSO TCPV4 and NEEDS_CSUM through PACKET_VNET_HDR): on a device with
      TSO on (a veth: ethtool -K IFACE tx on) it crosses whole, larger
      than the MTU, as a kernel's TSO frame would. The multi-buffer case
      of tests/xdp/run.sh: a chain longer than the MTU allows.
"""
import signal
import socket
import struct
import sys
import time

ETH_P_ALL = 3
SOL_PACKET = 263
PACKET_VNET_HDR = 15
NEEDS_CSUM = 1


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def tcp_ok(ip):
    """Whether the TCP checksum of IPv4 datagram ip verifies."""
    ihl = (ip[0] & 15) * 4
    tot = struct.unpack("!H", ip[2:4])[0]
    seg = ip[ihl:tot]
    pseudo = ip[12:20] + struct.pack("!BBH", 0, 6, len(seg))
    return csum(pseudo + seg) == 0xFFFF


def complete(frame, start, offset):
    """The frame with its checksum completed as a device would."""
    f = bytearray(frame)
    s = csum(bytes(f[start:]))
    struct.pack_into("!H", f, start + offset, (~s) & 0xFFFF)
    return bytes(f)


def capture(ifname, src):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.bind((ifname, 0))
    s.settimeout(0.2)
    print("ready", file=sys.stderr, flush=True)
    want = socket.inet_aton(src)
    n = partial = at_field = bad = 0
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    end = time.monotonic() + 60
    while not stop and time.monotonic() < end:
        try:
            b = s.recv(70000)
        except socket.timeout:
            continue
        except InterruptedError:
            continue
        if len(b) < 10 + 14 + 40:
            continue
        flags, _gso, _hl, _gs, start, offset = struct.unpack("<BBHHHH", b[:10])
        frame = b[10:]
        ip = frame[14:]
        if frame[12:14] != b"\x08\x00" or ip[9] != 6 or ip[12:16] != want:
            continue
        n += 1
        if flags & NEEDS_CSUM:
            partial += 1
            ihl = (ip[0] & 15) * 4
            at_field += start == 14 + ihl and offset == 16
            frame = complete(frame, start, offset)
        bad += not tcp_ok(frame[14:])
    print("frames %d partial %d at-tcp-field %d bad %d" % (n, partial, at_field, bad))
    return 0 if n and not bad else 1


def pcap(path):
    d = open(path, "rb").read()
    magic = struct.unpack("<I", d[:4])[0]
    end = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    off, n, bad = 24, 0, 0
    while off + 16 <= len(d):
        incl = struct.unpack(end + "I", d[off + 8:off + 12])[0]
        ip = d[off + 16:off + 16 + incl]
        off += 16 + incl
        if len(ip) >= 40 and ip[0] >> 4 == 4 and ip[9] == 6:
            n += 1
            bad += not tcp_ok(ip)
    print("tcp %d bad %d" % (n, bad))
    return 0 if n and not bad else 1


def gso(ifname, dstmac, src, dst, port, n):
    mss = 1400
    pay = bytes(i % 251 for i in range(n))
    tcp = struct.pack("!HHIIBBHHH", 40000, port, 1, 1, 5 << 4, 0x10, 65535, 0, 0) + pay
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0x4000, 64, 6, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", (~csum(ip)) & 0xFFFF) + ip[12:]
    # NEEDS_CSUM: the field holds the pseudo-header sum (RFC 9293 3.1)
    ph = csum(ip[12:20] + struct.pack("!BBH", 0, 6, len(tcp)))
    tcp = tcp[:16] + struct.pack("!H", ph) + tcp[18:]
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    s.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
    s.bind((ifname, 0))
    mac = bytes.fromhex(dstmac.replace(":", ""))
    me = open("/sys/class/net/%s/address" % ifname).read().strip()
    eth = mac + bytes.fromhex(me.replace(":", "")) + b"\x08\x00"
    # virtio_net_hdr: flags NEEDS_CSUM, gso_type TCPV4 (1), hdr_len,
    # gso_size, csum_start (from the Ethernet header), csum_offset
    vh = struct.pack("<BBHHHH", NEEDS_CSUM, 1, 14 + 40, mss, 14 + 20, 16)
    s.send(vh + eth + ip + tcp)
    print("sent one GSO frame of %d bytes" % (14 + len(ip) + len(tcp)))
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "capture":
        sys.exit(capture(sys.argv[2], sys.argv[3]))
    if len(sys.argv) == 8 and sys.argv[1] == "gso":
        sys.exit(gso(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5],
                     int(sys.argv[6]), int(sys.argv[7])))
    if len(sys.argv) == 3 and sys.argv[1] == "pcap":
        sys.exit(pcap(sys.argv[2]))
    sys.exit(__doc__)
