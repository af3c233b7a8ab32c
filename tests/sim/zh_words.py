#!/usr/bin/env python3
"""Reads `synfin sim --lang zh` output on stdin; prints every ASCII word
that is not allowed in Chinese text and exits 1 if there is one.
Allowed (they stay as the RFCs and the tool write them): state names,
TCP flags, the segment's fields and option names, command-line names
(synfin sim, scenario names, --options), RFC acronyms, socket calls and
errno names, counter names (A_B), addresses.
Usage: zh_words.py SCENARIO... < output (the scenario names it may hold)"""
import re
import sys

STATES = "CLOSED LISTEN SYN_SENT SYN_RCVD ESTABLISHED FIN_WAIT_1 FIN_WAIT_2 CLOSE_WAIT CLOSING LAST_ACK TIME_WAIT"
FLAGS = "SYN ACK FIN RST PSH URG ECE CWR"
FIELDS = "seq ack win len mss sackOK TS val ecr wscale sack"  # the ladder's segment labels
# RFC 9293 names and acronyms, the socket calls and errnos the text cites
TERMS = ("RFC MSL MSS MTU ISN RTO SRTT TCP IP IPv4 IPv6 ICMP ECN CE UDP PAWS RCV NXT SND UNA WND "
         "OPEN SEND CLOSE ABORT SO_LINGER connect listen close shutdown recv EOF "
         "ECONNRESET ECONNREFUSED ETIMEDOUT SACK D max_tw R1 R2 "
         "cwnd ssthresh "  # RFC 5681's variables, as snd_una is RFC 9293's
         "Home End "  # the page's key names (and its one-letter keys, below)
         "cookie")  # "SYN cookie": the term as Chinese texts write it (RFC 4987)
ALLOWED = set((STATES + " " + FLAGS + " " + FIELDS + " " + TERMS).split())

names = sorted(sys.argv[1:], key=len, reverse=True)
bad = {}
for n, line in enumerate(sys.stdin, 1):
    s = line.replace("synfin sim", " ").replace("synfin ladder", " ")
    for name in names:
        s = s.replace(name, " ")
    s = re.sub(r"--[a-z][a-z0-9-]*", " ", s)  # option names
    s = re.sub(r"\[[0-9a-f:]+\](:\d+)?", " ", s)  # [IPv6]:port
    s = re.sub(r"\b[0-9a-f]*:[0-9a-f:]*::[0-9a-fxy:]*", " ", s)  # 2001:db8:66::x:y
    s = re.sub(r"\b\d+\.\d+\.[0-9x]+\.[0-9y]+(:\d+)?", " ", s)  # 10.66.x.y, a.b.c.d:port
    for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", s):
        # counter names (--stats: SEG_OUT, ECN_CE_RCVD) are identifiers
        if w not in ALLOWED and len(w) > 1 and not re.fullmatch(r"[A-Z][A-Z0-9]*(_[A-Z0-9]+)+", w):
            bad.setdefault(w, (n, line.rstrip()))
for w, (n, line) in sorted(bad.items()):
    print(f"  English word '{w}' (line {n}): {line[:150]}")
sys.exit(1 if bad else 0)
