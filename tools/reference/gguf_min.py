"""Minimal GGUF v3 reader for the reference scripts (stdlib + numpy only).

Reads metadata and the tensor types bitlm writes: F32 (0), F16 (1), BF16 (30), Q8_0 (8) and bitlm's
native packed ternary T2 (1024): per row ceil(cols/128) blocks of 32 bytes, code = w + 1, byte j of a
block holds weights j, j+32, j+64, j+96 in bits 0-1, 2-3, 4-5, 6-7; then a 32-byte tail whose first
4 bytes are the f32 per-tensor scale.
"""
import struct

import numpy as np

_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}


class Reader:
    def __init__(self, buf, pos=0):
        self.buf, self.pos = buf, pos

    def unpack(self, fmt):
        v = struct.unpack_from(fmt, self.buf, self.pos)[0]
        self.pos += struct.calcsize(fmt)
        return v

    def string(self):
        n = self.unpack("<Q")
        s = bytes(self.buf[self.pos:self.pos + n]).decode("utf-8", errors="replace")
        self.pos += n
        return s

    def value(self, vtype):
        if vtype in _SCALARS:
            return self.unpack(_SCALARS[vtype])
        if vtype == 8:
            return self.string()
        if vtype == 9:
            etype, n = self.unpack("<I"), self.unpack("<Q")
            return [self.value(etype) for _ in range(n)]
        raise ValueError(f"unknown GGUF value type {vtype}")


def decode_t2(raw, rows, cols):
    row_bytes = (cols + 127) // 128 * 32
    packed = np.frombuffer(raw[:rows * row_bytes], dtype=np.uint8).reshape(rows, -1, 32)
    shifts = np.array([0, 2, 4, 6], dtype=np.uint8)
    codes = (packed[:, :, None, :] >> shifts[None, None, :, None]) & 3  # rows, blocks, 4, 32
    w = codes.reshape(rows, -1).astype(np.int8) - 1
    scale = struct.unpack_from("<f", raw, rows * row_bytes)[0]
    return w[:, :cols], scale


def decode_q8_0(raw, n):
    blocks = np.frombuffer(raw, dtype=np.uint8)[: n // 32 * 34].reshape(-1, 34)
    d = blocks[:, :2].copy().view(np.float16).astype(np.float32)
    q = blocks[:, 2:].copy().view(np.int8).astype(np.float32)
    return (q * d).reshape(-1)


def read(path):
    """Returns (metadata dict, {name: (ggml_type, shape_outer_first, numpy array or (int8, scale))})."""
    buf = memoryview(open(path, "rb").read())
    r = Reader(buf)
    assert bytes(buf[:4]) == b"GGUF", path
    r.pos = 4
    version, n_tensors, n_kv = r.unpack("<I"), r.unpack("<Q"), r.unpack("<Q")
    assert version in (2, 3)
    meta = {}
    for _ in range(n_kv):
        key = r.string()
        meta[key] = r.value(r.unpack("<I"))
    infos = []
    for _ in range(n_tensors):
        name = r.string()
        n_dims = r.unpack("<I")
        ne = [r.unpack("<Q") for _ in range(n_dims)]
        infos.append((name, ne, r.unpack("<I"), r.unpack("<Q")))
    align = meta.get("general.alignment", 32)
    data_start = (r.pos + align - 1) // align * align
    tensors = {}
    for name, ne, ttype, off in infos:
        shape = list(reversed(ne))  # outer first, as numpy / torch
        n = int(np.prod(ne))
        raw = buf[data_start + off:]
        if ttype == 0:
            arr = np.frombuffer(raw, dtype=np.float32, count=n).reshape(shape)
        elif ttype == 1:
            arr = np.frombuffer(raw, dtype=np.float16, count=n).astype(np.float32).reshape(shape)
        elif ttype == 30:
            u = np.frombuffer(raw, dtype=np.uint16, count=n).astype(np.uint32) << 16
            arr = u.view(np.float32).reshape(shape)
        elif ttype == 8:
            arr = decode_q8_0(raw, n).reshape(shape)
        elif ttype == 1024:
            arr = decode_t2(raw, shape[0], shape[1])
        else:
            raise ValueError(f"{path}: tensor {name}: type {ttype} not supported by the reference reader")
        tensors[name] = (ttype, shape, arr)
    return meta, tensors
