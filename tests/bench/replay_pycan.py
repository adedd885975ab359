#!/usr/bin/python3
"""The Python baseline for tests/bench/bench_replay.sh: python-can's log reader
(Debian's python3-can) plus a straightforward decode of what rsgw replay's
core shows: EEC1 engine speed (SPN 190) and DM1 SPN/FMI through a minimal BAM
reassembly. Prints frames, seconds and frames/s as one line of key=value."""
import sys
import time

import can

TP_CM, TP_DT, DM1, EEC1 = 0xEC00, 0xEB00, 0xFECA, 0xF004


def pgn_of(arbid):
    pf = (arbid >> 16) & 0xFF
    pgn = (arbid >> 8) & 0x3FFFF
    return pgn & 0x3FF00 if pf < 240 else pgn


def dm1_dtcs(data):
    out = []
    for i in range(2, len(data) - 3, 4):
        b = data[i:i + 4]
        spn = b[0] | b[1] << 8 | (b[2] & 0xE0) << 11
        fmi = b[2] & 0x1F
        if (spn, fmi) != (0, 0) and b != b"\xff\xff\xff\xff":
            out.append((spn, fmi))
    return out


def main(path):
    bams = {}  # source -> [pgn, size, packets, bytearray, next]
    rpm = None
    dm1 = {}
    frames = 0
    start = time.perf_counter()
    for msg in can.LogReader(path):
        frames += 1
        if not msg.is_extended_id or msg.is_error_frame:
            continue
        arbid = msg.arbitration_id
        pgn, sa, d = pgn_of(arbid), arbid & 0xFF, msg.data
        if pgn == EEC1 and len(d) >= 5:
            raw = d[3] | d[4] << 8
            rpm = raw * 0.125 if raw <= 0xFAFF else None
        elif pgn == DM1:
            dm1[sa] = dm1_dtcs(bytes(d))
        elif pgn == TP_CM and (arbid >> 8) & 0xFF == 0xFF and len(d) == 8 and d[0] == 0x20:
            bams[sa] = [d[5] | d[6] << 8 | d[7] << 16, d[1] | d[2] << 8, d[3], bytearray(), 1]
        elif pgn == TP_DT and (arbid >> 8) & 0xFF == 0xFF and sa in bams and len(d) == 8:
            s = bams[sa]
            if d[0] != s[4]:
                del bams[sa]
                continue
            s[3] += d[1:8]
            s[4] += 1
            if d[0] == s[2]:
                del bams[sa]
                if s[0] == DM1:
                    dm1[sa] = dm1_dtcs(bytes(s[3][: s[1]]))
    secs = time.perf_counter() - start
    print(f"frames={frames} seconds={secs:.3f} rate={frames / secs:.0f} rpm={rpm} "
          f"dm1_sources={len(dm1)} dm1_dtcs={sum(len(v) for v in dm1.values())}")


if __name__ == "__main__":
    main(sys.argv[1])
