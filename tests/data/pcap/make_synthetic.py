#!/usr/bin/python3
"""Writes wireshark_rules.synthetic.pcap: hand-made TCP exchanges for the Wireshark analysis
rules that recorded captures rarely show (fast retransmission after duplicate ACKs, out-of-order
within the iRTT, previous segment not captured, ACKed unseen segment, a one-byte zero-window
probe and its ACK, ports reused with a new ISN, sequence numbers wrapping), plus IPv6 with a
hop-by-hop header, an 802.1Q tag, a GSO frame whose IPv4 length is 0 and a capture that starts
mid-connection. Addresses 198.18.0.1/2
and 2001:2::1/2 only. tshark's reading of it (regen.sh) is the oracle; checksums are not
computed (tshark does not check them by default). Deterministic: no randomness."""
import struct
import sys

A4, B4 = bytes([198, 18, 0, 1]), bytes([198, 18, 0, 2])
A6 = bytes.fromhex("20010002000000000000000000000001")
B6 = bytes.fromhex("20010002000000000000000000000002")
MAC_A, MAC_B = bytes.fromhex("020000000001"), bytes.fromhex("020000000002")
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
T0 = 1_700_000_000 * 10**9  # file timestamps, nanoseconds since the epoch
SNAPLEN = 128

records = []


def opts_syn(sack=True, ts=None):
    o = struct.pack("!BBH", 2, 4, 1460)
    if sack:
        o += bytes([4, 2])
    if ts is not None:
        o += struct.pack("!BBII", 8, 10, ts, 0)
    o += bytes([1, 3, 3, 7])  # NOP, window scale 7
    while len(o) % 4:
        o += b"\x01"
    return o


def opts_sack(blocks):
    o = bytes([1, 1, 5, 2 + 8 * len(blocks)])
    for l, r in blocks:
        o += struct.pack("!II", l & 0xFFFFFFFF, r & 0xFFFFFFFF)
    return o


def tcp(sport, dport, seq, ack, flags, win, opts=b""):
    hl = 20 + len(opts)
    return struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, (hl // 4) << 4, flags,
                       win, 0, 0) + opts


def frame(t_ns, src, dst, sport, dport, seq, ack, flags, win, payload=0, opts=b"", vlan=None, hopbyhop=False,
          zero_ip_length=False):
    th = tcp(sport, dport, seq, ack, flags, win, opts)
    if len(src) == 4:
        total = 20 + len(th) + payload
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 0 if zero_ip_length else total, 1, 0x4000, 64, 6, 0, src, dst)
        ethertype = 0x0800
    else:
        ext = bytes([6, 0, 1, 4, 0, 0, 0, 0]) if hopbyhop else b""  # hop-by-hop: a PadN option
        nh = 0 if hopbyhop else 6
        ip = struct.pack("!IHBB16s16s", 0x60000000, len(ext) + len(th) + payload, nh, 64, src, dst) + ext
        ethertype = 0x86DD
    macs = (MAC_B + MAC_A) if src in (A4, A6) else (MAC_A + MAC_B)
    eth = macs + (struct.pack("!HH", 0x8100, vlan) if vlan is not None else b"") + struct.pack("!H", ethertype)
    wire = eth + ip + th + b"\x00" * payload
    records.append((T0 + t_ns, wire[:SNAPLEN], len(wire)))


class Flow:
    """One connection A(own) <-> B with absolute sequence numbers kept by the caller."""

    def __init__(self, sport, dport, isn_a, isn_b, v6=False, vlan=None):
        self.sport, self.dport, self.a, self.b = sport, dport, isn_a, isn_b
        self.src, self.dst = (A6, B6) if v6 else (A4, B4)
        self.vlan = vlan

    def a_to_b(self, t, seq, ack, flags, win, payload=0, opts=b"", **kw):
        frame(t, self.src, self.dst, self.sport, self.dport, self.a + seq, self.b + ack, flags, win, payload, opts,
              vlan=self.vlan, **kw)

    def b_to_a(self, t, seq, ack, flags, win, payload=0, opts=b"", **kw):
        frame(t, self.dst, self.src, self.dport, self.sport, self.b + seq, self.a + ack, flags, win, payload, opts,
              vlan=self.vlan, **kw)

    def handshake(self, t, rtt, sack=True):
        self.a_to_b(t, 0, 0, SYN, 64240, opts=opts_syn(sack))
        self.b_to_a(t + rtt // 2, 0, 1, SYN | ACK, 65160, opts=opts_syn(sack))
        self.a_to_b(t + rtt, 1, 1, ACK, 502)


MS = 1_000_000
US = 1_000

# 1. Fast retransmission: a lost segment, an ACK and two duplicates with SACK, the retransmission
#    within 20 ms of the last one. The ISN is just below 2^32: the sequence numbers wrap.
f = Flow(40001, 9000, 0xFFFFFF00, 1000)
f.handshake(0, 2 * MS)
t = 10 * MS
f.a_to_b(t, 1, 1, PSH | ACK, 502, 100)
#    (seq 101..201 is "lost": not in the capture)
f.a_to_b(t + 10 * US, 201, 1, PSH | ACK, 502, 100)  # previous segment not captured
f.a_to_b(t + 20 * US, 301, 1, PSH | ACK, 502, 100)
f.b_to_a(t + 2 * MS, 1, 101, ACK, 510)
f.b_to_a(t + 2 * MS + 10 * US, 1, 101, ACK, 510, opts=opts_sack([(f.a + 201, f.a + 301)]))
f.b_to_a(t + 2 * MS + 20 * US, 1, 101, ACK, 510, opts=opts_sack([(f.a + 201, f.a + 401)]))
f.a_to_b(t + 2 * MS + 100 * US, 101, 1, PSH | ACK, 502, 100)  # fast retransmission
f.b_to_a(t + 4 * MS, 1, 401, ACK, 510)
f.a_to_b(t + 5 * MS, 401, 1, FIN | ACK, 502)
f.b_to_a(t + 6 * MS, 1, 402, FIN | ACK, 510)
f.a_to_b(t + 7 * MS, 402, 2, ACK, 502)

# 2. Out-of-order within the iRTT (10 ms), and an ACK of data the capture never saw.
f = Flow(40002, 9000, 5000, 7000)
f.handshake(100 * MS, 10 * MS)
t = 120 * MS
f.a_to_b(t, 1, 1, ACK, 502, 100)
f.a_to_b(t + 100 * US, 201, 1, ACK, 502, 100)  # previous segment not captured
f.a_to_b(t + 500 * US, 101, 1, ACK, 502, 100)  # out of order (0.4 ms after, iRTT 10 ms)
f.b_to_a(t + 6 * MS, 1, 301, ACK, 510)
f.b_to_a(t + 7 * MS, 1, 401, ACK, 510)  # ACKed unseen segment
f.b_to_a(t + 8 * MS, 1, 401, ACK, 510)  # duplicate ACKs of it (counted from 1 again)
f.b_to_a(t + 9 * MS, 1, 401, ACK, 510)
f.a_to_b(t + 30 * MS, 101, 1, ACK, 502, 100)  # a plain retransmission, long after (spurious: acked)
f.a_to_b(t + 40 * MS, 401, 1, ACK, 502, 100)

# 3. A one-byte zero-window probe (Wireshark's kind), its ACK, the window update, a window
#    update that is also a duplicate of nothing, and a 1-byte keep-alive (Windows style).
f = Flow(40003, 9000, 20000, 30000)
f.handshake(200 * MS, 1 * MS)
t = 210 * MS
f.a_to_b(t, 1, 1, PSH | ACK, 502, 1000)
f.b_to_a(t + 1 * MS, 1, 1001, ACK, 0)  # zero window
f.a_to_b(t + 200 * MS, 1001, 1, ACK, 502, 1)  # zero window probe (one byte)
f.b_to_a(t + 201 * MS, 1, 1001, ACK, 0)  # zero window probe ACK
f.a_to_b(t + 600 * MS, 1001, 1, ACK, 502, 1)  # again
f.b_to_a(t + 601 * MS, 1, 1001, ACK, 0)
f.b_to_a(t + 700 * MS, 1, 1001, ACK, 300)  # window update
f.a_to_b(t + 701 * MS, 1001, 1, PSH | ACK, 502, 300)
f.b_to_a(t + 702 * MS, 1, 1301, ACK, 300)
f.a_to_b(t + 900 * MS, 1300, 1, ACK, 502, 1)  # a keep-alive with one byte
f.b_to_a(t + 901 * MS, 1, 1301, ACK, 300)  # its ACK
f.b_to_a(t + 950 * MS, 1, 1301, ACK, 300)  # then a duplicate ACK
f.a_to_b(t + 960 * MS, 1300, 1, PSH | ACK, 502, 200)  # new data from one byte below nextseq
f.b_to_a(t + 961 * MS, 1, 1500, ACK, 300)

# 4. A connection closed, then the same ports with a new ISN (reused ports, a new stream),
#    whose SYN is sent again with the same ISN (a retransmission, not a reuse).
f = Flow(40004, 9000, 111111, 222222)
f.handshake(1300 * MS, 1 * MS)
t = 1310 * MS
f.a_to_b(t, 1, 1, PSH | ACK, 502, 10)
f.b_to_a(t + 1 * MS, 1, 11, ACK, 510)
f.a_to_b(t + 2 * MS, 11, 1, FIN | ACK, 502)
f.b_to_a(t + 3 * MS, 1, 12, FIN | ACK, 510)
f.a_to_b(t + 4 * MS, 12, 2, ACK, 502)
g = Flow(40004, 9000, 999999, 888888)
g.a_to_b(t + 100 * MS, 0, 0, SYN, 64240, opts=opts_syn())
g.a_to_b(t + 1100 * MS, 0, 0, SYN, 64240, opts=opts_syn())  # SYN retransmission
g.b_to_a(t + 1101 * MS, 0, 1, SYN | ACK, 65160, opts=opts_syn())
g.a_to_b(t + 1102 * MS, 1, 1, ACK, 502)
g.a_to_b(t + 1103 * MS, 1, 1, RST | ACK, 502)

# 5. IPv6 with a hop-by-hop header, a keep-alive and its ACK, and a data retransmission.
f = Flow(40005, 9000, 3000000, 4000000, v6=True)
f.handshake(2500 * MS, 1 * MS)
t = 2510 * MS
f.a_to_b(t, 1, 1, PSH | ACK, 502, 500, hopbyhop=True)
f.b_to_a(t + 1 * MS, 1, 501, ACK, 510)
f.a_to_b(t + 1000 * MS, 500, 1, ACK, 502)  # keep-alive
f.b_to_a(t + 1001 * MS, 1, 501, ACK, 510)  # keep-alive ACK
f.a_to_b(t + 1100 * MS, 501, 1, PSH | ACK, 502, 200)
f.a_to_b(t + 1310 * MS, 501, 1, PSH | ACK, 502, 200)  # RTO retransmission

# 6. An 802.1Q-tagged flow whose big (GSO) segment has IPv4 total length 0 (the length comes
#    from the frame then), acknowledged.
f = Flow(40006, 9000, 7777, 8888, vlan=42)
f.handshake(4000 * MS, 1 * MS)
t = 4010 * MS
f.a_to_b(t, 1, 1, ACK, 502, 70000, zero_ip_length=True)
f.b_to_a(t + 1 * MS, 1, 70001, ACK, 510)

# 7. A capture that starts mid-connection (no handshake, so no iRTT): a segment sent again
#    2 ms later is out of order (the 3 ms default), 10 ms later a retransmission; a RST
#    beyond nextseq is not a lost segment.
f = Flow(40007, 9000, 60000, 70000)
t = 4100 * MS
f.a_to_b(t, 1, 1, PSH | ACK, 502, 100)
f.a_to_b(t + 100 * US, 101, 1, PSH | ACK, 502, 100)
f.a_to_b(t + 2 * MS, 1, 1, PSH | ACK, 502, 100)  # out of order
f.a_to_b(t + 12 * MS, 1, 1, PSH | ACK, 502, 100)  # retransmission
f.b_to_a(t + 13 * MS, 1, 101, ACK, 510)
f.b_to_a(t + 14 * MS, 1, 101, ACK, 510)  # duplicate ACK
f.b_to_a(t + 15 * MS, 1, 101, ACK, 600)  # window update
f.b_to_a(t + 16 * MS, 500, 101, RST | ACK, 0)  # a RST far ahead

# 8. Duplicate ACKs, then the retransmission only 30 ms later: not "fast" (Wireshark's 20 ms);
#    the receiver then closes its window with the same ACK: a zero window, not an update.
f = Flow(40008, 9000, 90000, 95000)
f.handshake(4200 * MS, 1 * MS)
t = 4210 * MS
f.a_to_b(t, 1, 1, PSH | ACK, 502, 100)
f.a_to_b(t + 10 * US, 101, 1, PSH | ACK, 502, 100)
f.a_to_b(t + 20 * US, 201, 1, PSH | ACK, 502, 100)
f.b_to_a(t + 1 * MS, 1, 1, ACK, 510)
f.b_to_a(t + 1 * MS + 10 * US, 1, 1, ACK, 510, opts=opts_sack([(f.a + 101, f.a + 201)]))
f.b_to_a(t + 1 * MS + 20 * US, 1, 1, ACK, 510, opts=opts_sack([(f.a + 101, f.a + 301)]))
f.a_to_b(t + 31 * MS, 1, 1, PSH | ACK, 502, 100)  # a retransmission, not a fast one
f.b_to_a(t + 32 * MS, 1, 301, ACK, 510)
f.b_to_a(t + 33 * MS, 1, 301, ACK, 0)  # zero window, same ACK

records.sort(key=lambda r: r[0])
out = sys.argv[1] if len(sys.argv) > 1 else "wireshark_rules.synthetic.pcap"
with open(out, "wb") as fh:
    fh.write(struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, SNAPLEN, 1))
    for ts, data, wire in records:
        fh.write(struct.pack("<IIII", ts // 10**9, ts % 10**9, len(data), wire))
        fh.write(data)
