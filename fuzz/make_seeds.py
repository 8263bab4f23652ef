#!/usr/bin/env python3
"""Writes the safetensors seeds of fuzz/corpus/safetensors/ (each < 1 KB).

regress_number_overflow.safetensors is not written here: it is the input the
fuzzer found (docs/FUZZING.md), kept as it was. The other targets' seeds are
plain files written by hand. Run from anywhere: python3 fuzz/make_seeds.py
"""
import json
import os
import struct

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "safetensors")


def safetensors(header, data=b"", pad=True):
    text = json.dumps(header, separators=(",", ":")).encode()
    if pad:
        text += b" " * ((8 - (8 + len(text)) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + data


def tensors(specs, metadata=None):
    """specs: (name, dtype, shape, bytes) in order; offsets follow one another."""
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in specs:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    return header, data


def f32(*values):
    return struct.pack("<%df" % len(values), *values)


seeds = {}
# Valid files.
seeds["valid_f32"] = safetensors(*tensors([("encoder.embed.weight", "F32", [2, 3], f32(0, 1, -1, 0.5, 1e30, -0.0))]))
seeds["valid_model_like"] = safetensors(*tensors(
    [("encoder.layers.0.ffn.linear1.bias", "F32", [4], f32(1, 2, 3, 4)),
     ("encoder.layers.0.ffn.linear1.weight", "F32", [4, 2], f32(*range(8))),
     ("generator.bias", "F32", [3], f32(0.1, 0.2, 0.3))],
    metadata={"format": "pt", "note": "fuzz seed"}))
seeds["valid_batch_ints"] = safetensors(*tensors(
    [("src_ids", "I64", [2, 3], struct.pack("<6q", 2, 5, 3, 2, 3, 0)),
     ("src_lengths", "I32", [2], struct.pack("<2i", 3, 2)),
     ("tgt_ids", "I32", [2, 2], struct.pack("<4i", 2, 7, 2, 0))]))
seeds["valid_other_dtypes"] = safetensors(*tensors(
    [("a", "F16", [2], b"\x00\x3c\x00\xc0"), ("b", "BF16", [1], b"\x80\x3f"), ("c", "U8", [3], b"abc"),
     ("d", "BOOL", [2], b"\x00\x01"), ("e", "F64", [1], struct.pack("<d", 2.5)), ("f", "I8", [1], b"\xff"),
     ("g", "I16", [1], b"\x01\x00")]))
seeds["valid_empty_tensors"] = safetensors(*tensors(
    [("empty", "F32", [0], b""), ("zero_rows", "I64", [0, 5], b""), ("scalar", "F32", [], f32(7))]))
seeds["valid_no_tensors"] = safetensors({})
seeds["valid_unpadded"] = safetensors(*tensors([("x", "F32", [1], f32(1))]), pad=False)
# Invalid files: each breaks one rule of docs/FORMATS.md.
seeds["bad_truncated_data"] = safetensors(*tensors([("x", "F32", [4], f32(1, 2, 3, 4))]))[:-5]
seeds["bad_short"] = b"\x10\x00\x00"
seeds["bad_header_size"] = struct.pack("<Q", 1 << 40) + b"{}"
seeds["bad_overlap"] = safetensors({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                                    "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, f32(1, 2, 3))
seeds["bad_shape_mismatch"] = safetensors({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, f32(1, 2))
seeds["bad_dtype"] = safetensors({"a": {"dtype": "F8", "shape": [1], "data_offsets": [0, 1]}}, b"\x01")
seeds["bad_negative_dim"] = safetensors({"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 0]}}, b"")
seeds["bad_huge_dims"] = safetensors(
    {"a": {"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 0]}}, b"")
seeds["regress_zero_times_huge"] = safetensors(
    {"a": {"dtype": "F32", "shape": [0, 18446744073709551615], "data_offsets": [0, 0]}}, b"")
seeds["bad_metadata"] = safetensors({"__metadata__": {"k": 1}})
seeds["bad_duplicate_key"] = (lambda t: struct.pack("<Q", len(t)) + t)(
    b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'
) + f32(1)
seeds["bad_extra_field"] = safetensors(
    {"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4], "extra": 1}}, f32(1))
seeds["bad_json"] = (lambda t: struct.pack("<Q", len(t)) + t)(b'{"a": {"dtype": "F32", "shape": [1')

os.makedirs(OUT, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(OUT, name + ".safetensors"), "wb") as f:
        f.write(data)
print("wrote %d seeds to %s" % (len(seeds), OUT))
