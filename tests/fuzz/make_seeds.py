#!/usr/bin/env python3
"""tests/fuzz/make_seeds.py — writes the seed corpora of the fuzz targets into tests/fuzz/corpus/.

Small valid files of each format (and a few near misses), so that the fuzzers start past the
magic numbers. The checkpoint seed (corpus/{safetensors,checkpoint}/dense-ae.safetensors) was
written by uae_checkpoint_save (a dense-ae of 1 x 4 x 4 inputs, hidden 2) and is kept as is.
Crashing inputs found later are added by hand as regressions (crash-<target>-<what>)."""
import gzip, json, os, struct, sys, zlib

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(target, name, data):
    d = os.path.join(root, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def idx(dtype, dims, payload):
    return struct.pack(">BBBB", 0, 0, dtype, len(dims)) + b"".join(
        struct.pack(">I", d) for d in dims) + payload


images = idx(0x08, [2, 3, 3], bytes(range(18)))
labels = idx(0x08, [2], bytes([1, 0]))
put("idx", "images", images)
put("idx", "images-labels", images + b"\n--\n" + labels)
put("idx", "images.gz", gzip.compress(images))
put("idx", "images-labels.gz", gzip.compress(images) + b"\n--\n" + gzip.compress(labels))
put("idx", "float32", idx(0x0D, [1, 2, 2], struct.pack(">4f", 0, 0.5, 1, 0.25)))
put("idx_gz", "images", images)
put("idx_gz", "one", idx(0x08, [1, 1, 1], b"\x80"))

put("csv", "numeric", b"\x00a,b,label\n1,2,0\n3.5,-4e-3,1\n")
put("csv", "categorical", b"\x01colour,size,label\nred,1,cat\nblue,2,dog\n\"gr\"\"een\",3,cat\n")
put("csv", "missing", b"\x06a,b,label\n1,,0\nNA,2,1\n3,4,?\n")
put("csv", "crlf", b"\x40x,y\r\n1,2\r\n3,4\r\n")


def png(width, height, ctype, depth, rows, plte=None, trns=None):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\x00" + r for r in rows)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, ctype, 0, 0, 0))
    if plte: out += chunk(b"PLTE", plte)
    if trns: out += chunk(b"tRNS", trns)
    return out + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


put("png", "gray8", png(3, 2, 0, 8, [b"\x00\x80\xff", b"\x10\x20\x30"]))
put("png", "rgb8", png(2, 2, 2, 8, [bytes(range(6)), bytes(range(6, 12))]))
put("png", "rgba16", png(1, 1, 6, 16, [bytes(range(8))]))
put("png", "palette-trns", png(2, 1, 3, 8, [b"\x00\x01"], plte=b"\xff\x00\x00\x00\xff\x00", trns=b"\x00"))
put("png", "gray2-trns", png(4, 1, 0, 2, [b"\x1b"], trns=b"\x00\x01"))

rec10 = bytes([3]) + bytes(i % 256 for i in range(3072))
rec100 = bytes([1, 42]) + bytes((7 * i) % 256 for i in range(3072))
put("cifar", "cifar10", b"\x00" + rec10 * 2)
put("cifar", "cifar100", b"\x01" + rec100)


def npy(shape, values, header_pad=0):
    h = "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }" % (
        ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else ""))
    h += " " * header_pad
    total = 10 + len(h) + 1
    h += " " * ((64 - total % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h.encode() + struct.pack("<%df" % len(values), *values)


put("npy", "rows", b"\x00" + npy((2, 1, 2, 2), [float(i) for i in range(8)], header_pad=21))
put("npy", "vector", b"\x04" + npy((3,), [1.0, 2.0, 3.0]))
put("npy", "empty", b"\x00" + npy((0, 1, 2, 2), [], header_pad=21))


def stats(i, success=True, mi=0.5):
    return json.dumps({"index": i, "success": success, "I": mi, "loss_clean": 0.1, "loss_adv": 0.05,
                       "selected_iter": 3, "iterations": 20, "seconds": 0.01}) + "\n"


put("stats", "three", b"\x00\x03" + (stats(0) + stats(1, False, None) + stats(2)).encode())
put("stats", "offset", b"\x02\x02" + (stats(2) + stats(3)).encode())
put("stats", "partial", b"\x00\x02" + (stats(0) + stats(1))[:-30].encode())

put("settings", "attack", json.dumps({"model": "m.safetensors", "data": "fashion", "split": "test",
                                      "first": 0, "n": 8, "seed": 1, "attack": "minmax", "eps": 0.1},
                                     sort_keys=True, separators=(",", ":")) + "\n")
put("settings", "seed", '{"preset":"conv-ae","n_train":500,"n":500,"epochs":20,"batch":100}\n')

configs = [
    {"preset": "dense-ae", "kind": "autoencoder", "optimizer": "rmsprop", "channels": 1, "height": 28,
     "width": 28, "classes": 0, "hidden": 128, "lr": 0.0025, "epochs": 20, "batch": 100},
    {"preset": "concrete-ae", "channels": 1, "height": 1, "width": 20, "classes": 0, "select_k": 5,
     "temp_start": 10, "temp_end": 0.01, "total_steps": 1000},
    {"preset": "classifier", "channels": 3, "height": 32, "width": 32, "classes": 10, "dropout": 0.5,
     "nesterov": True, "momentum": 0.9},
]
for i, c in enumerate(configs):
    put("config", "config%d" % i, json.dumps(c, separators=(",", ":")))
