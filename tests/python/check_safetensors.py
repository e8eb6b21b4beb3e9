#!/usr/bin/env python3
"""Checks that uaekit's .safetensors and .npy files are the real formats, both ways.

A manual developer check, not run by `meson test` (CI has no numpy or safetensors). Run it after
changing core/io_safetensors.c or core/io_npy.c:

    pip install safetensors numpy
    ninja -C build && python3 tests/python/check_safetensors.py build/tests/test_io

1. `test_io --write-interop DIR` writes uae.safetensors, uae.npy and uae_rows.npy (an appended file
   with a trailing partial row); this script opens them with safetensors.numpy.load_file and
   numpy.load and compares the values bit for bit, and recomputes uaekit's CRC-32 checksum.
2. This script writes py.safetensors and py.npy with the Python libraries, and
   `test_io --read-interop DIR` reads them with uaekit and checks their values.
Prints "ok" and exits 0 if everything matches.
"""
import json
import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file, save_file


def check(cond, what):
    if not cond:
        sys.exit(f"FAILED: {what}")


def main():
    test_io = sys.argv[1] if len(sys.argv) > 1 else "build/tests/test_io"
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)

        # 1. uaekit writes, Python reads.
        subprocess.run([test_io, "--write-interop", tmp], check=True)
        f32 = np.float32
        w = (np.arange(24, dtype=f32) * f32(0.25) - f32(3)).reshape(4, 6)
        b = f32(1) / np.arange(1, 8, dtype=f32)

        tensors = load_file(d / "uae.safetensors")
        check(sorted(tensors) == ["layer.b", "layer.w"], f"tensor names {sorted(tensors)}")
        check(tensors["layer.w"].dtype == np.float32 and tensors["layer.w"].shape == (4, 6),
              "layer.w dtype/shape")
        check(tensors["layer.w"].tobytes() == w.tobytes(), "layer.w values")
        check(tensors["layer.b"].tobytes() == b.tobytes(), "layer.b values")
        with safe_open(d / "uae.safetensors", framework="np") as f:
            meta = f.metadata()
        check(meta["producer"] == "uaekit test_io", f"metadata {meta}")

        # The checksum is the CRC-32 of everything after the header.
        raw = (d / "uae.safetensors").read_bytes()
        (n,) = struct.unpack("<Q", raw[:8])
        check(n % 8 == 0, "header length is a multiple of 8")
        header = json.loads(raw[8:8 + n])
        check(header["__metadata__"]["uae.checksum"] == f"crc32:{zlib.crc32(raw[8 + n:]):08x}",
              "uae.checksum equals zlib.crc32 of the data area")

        a = np.load(d / "uae.npy")
        check(a.dtype == np.float32 and a.shape == (4, 6), f"uae.npy is {a.dtype} {a.shape}")
        check(a.tobytes() == w.tobytes(), "uae.npy values")
        rows = np.load(d / "uae_rows.npy")
        check(rows.shape == (5, 2, 2), f"uae_rows.npy shape {rows.shape} (partial row ignored)")
        check(rows.tobytes() == np.arange(20, dtype=f32).tobytes(), "uae_rows.npy values")

        # 2. Python writes, uaekit reads.
        m = (np.arange(12, dtype=f32) * f32(0.5) - f32(1)).reshape(3, 4)
        v = f32(1) / np.arange(1, 6, dtype=f32)
        save_file({"m": m, "v": v}, d / "py.safetensors", metadata={"source": "python"})
        np.save(d / "py.npy", (np.arange(24, dtype=f32) * f32(0.5) - f32(1)).reshape(2, 3, 4))
        subprocess.run([test_io, "--read-interop", tmp], check=True)
    print("ok")


if __name__ == "__main__":
    main()
