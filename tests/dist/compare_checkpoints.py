#!/usr/bin/python3
"""Largest absolute difference between the weights ("param.*" tensors) of two
training checkpoints; exits 1 when it exceeds --tolerance (or, with
--expect-different, when it does not).

    compare_checkpoints.py A.safetensors B.safetensors --tolerance 1e-5
"""
import argparse
import json
import struct
import sys

import numpy as np


def weights(path):
    with open(path, "rb") as f:
        blob = f.read()
    (header_len,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + header_len])
    data = blob[8 + header_len:]
    out = {}
    for name, entry in header.items():
        if name.startswith("param."):
            begin, end = entry["data_offsets"]
            out[name] = np.frombuffer(data[begin:end], dtype=np.float32)
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("--tolerance", type=float, required=True)
    parser.add_argument("--expect-different", action="store_true",
                        help="fail unless the difference exceeds --tolerance")
    args = parser.parse_args()
    a, b = weights(args.a), weights(args.b)
    if not a or a.keys() != b.keys():
        sys.exit(f"the checkpoints hold different tensors ({len(a)} and {len(b)})")
    worst_name, worst = max(((n, float(np.max(np.abs(a[n] - b[n])))) for n in a), key=lambda x: x[1])
    moved = max(float(np.max(np.abs(a[n]))) for n in a)
    print(f"{len(a)} tensors; largest difference {worst:.3g} ({worst_name}); largest weight {moved:.3g}")
    if args.expect_different and worst <= args.tolerance:
        sys.exit(f"difference {worst:.3g} is within {args.tolerance:g}: the weights did not move")
    if not args.expect_different and worst > args.tolerance:
        sys.exit(f"difference {worst:.3g} exceeds {args.tolerance:g}")


if __name__ == "__main__":
    main()
