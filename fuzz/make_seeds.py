#!/usr/bin/env python3
"""Writes the safetensors seeds of fuzz/corpus/safetensors/ and the prepared
corpora of fuzz/corpus/prepared_corpus/ (each < 1 KB).

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


# Prepared corpora (docs/FORMATS.md, "Prepared corpora"), written from the
# layout the page documents: a second writer, so the seeds also check the page.
PREPARED_OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "prepared_corpus")


def prepared(pairs, vocab_size=24, id_bytes=2, path=b"spm.model", version=1, pick=0, offsets=None, tokens=None,
             magic=b"TFCORPUS"):
    """pairs: (source ids, target ids); pick: reserved byte 100, which the fuzz target reads as its options."""
    ids = [i for s, t in pairs for i in s + t]
    lengths = [n for s, t in pairs for n in (len(s), len(t))]
    if offsets is None:
        offsets, at = [], 0
        for s, t in pairs:
            offsets.append(at)
            at += len(s) + len(t)
    header = magic + struct.pack("<IIQQIIQQQQQQ", version, id_bytes, len(pairs), len(ids) if tokens is None else tokens,
                                 vocab_size, len(path), 0x0123456789ABCDEF, 1000, len(pairs) + 1, 1, 0, 0)
    header += bytes(128 - len(header))
    header = header[:100] + bytes([pick]) + header[101:]

    def pad(b):
        return b + bytes(-len(b) % 8)

    return (header + pad(path) + pad(struct.pack("<%d%s" % (len(ids), "H" if id_bytes == 2 else "I"), *ids))
            + struct.pack("<%dI" % len(lengths), *lengths) + struct.pack("<%dQ" % len(offsets), *offsets))


three = [([5, 6, 7], [8, 9]), ([10], [11, 12, 13, 14]), ([15, 16], [17])]
seeds = {
    "valid_u16": prepared(three),
    "valid_u16_wrapped": prepared(three, pick=0b00101011),  # BOS and EOS around sources, max_tokens 12
    "valid_u32": prepared([([69999, 4], [65536]), ([5], [6, 7])], vocab_size=70000, id_bytes=4, pick=0b01000001),
    "valid_empty_sides": prepared([([], [4]), ([5], []), ([6, 7], [8])], pick=0b00010010),
    "bad_id": prepared([([5, 24], [6])]),
    "bad_offset": prepared(three, offsets=[0, 6, 10]),
    "bad_tokens": prepared(three, tokens=12),
    "bad_version": prepared(three, version=2),
    "bad_magic": prepared(three, magic=b"TFCORPUZ"),
    "truncated": prepared(three)[:-5],
    "trailing": prepared(three) + b"\0" * 8,
}
os.makedirs(PREPARED_OUT, exist_ok=True)
for name, data in seeds.items():
    with open(os.path.join(PREPARED_OUT, name), "wb") as f:
        f.write(data)
print("wrote %d seeds to %s" % (len(seeds), PREPARED_OUT))
