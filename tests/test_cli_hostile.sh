#!/usr/bin/env bash
# tests/test_cli_hostile.sh — `uae` given FIFOs where it expects files (docs/reliability.md): as
# --model, as an image of a class folder, as settings.json or stats.jsonl of an attack folder. Each
# must fail at once with "not a regular file", not block in open() (each command runs under
# `timeout 20`: 124 would be a hang). The library side is tests/test_reliability.c.
# Usage: test_cli_hostile.sh PATH/TO/uae
set -u
UAE=${1:?usage: test_cli_hostile.sh PATH/TO/uae}
. "$(dirname "$0")/cli_lib.sh"
export OMP_NUM_THREADS=1
make_table "$tmp/t.csv"
expect 0 "train a small model" -- "$UAE" -q train --model dense-ae --hidden 4 --epochs 1 \
    --data "$tmp/t.csv" --out "$tmp/m.safetensors"

mkfifo "$tmp/fifo.safetensors"
expect 1 "eval --model FIFO" -- timeout 20 "$UAE" eval --model "$tmp/fifo.safetensors" \
    --data "$tmp/t.csv"
contains "not a regular file" "eval says the model is not a regular file"
expect 1 "attack --model FIFO" -- timeout 20 "$UAE" attack --model "$tmp/fifo.safetensors" \
    --data "$tmp/t.csv" --n 2 --out "$tmp/atk0"
contains "fifo.safetensors" "attack names the FIFO"

# A class folder with a FIFO named like an image.
mkdir -p "$tmp/png/a" "$tmp/png/b"
python3 - "$tmp/png" <<'PY'
import struct, sys, zlib
def png(path, v):
    def chunk(k, d): return struct.pack(">I", len(d)) + k + d + struct.pack(">I", zlib.crc32(k + d))
    raw = b"".join(b"\x00" + bytes([v] * 4) for _ in range(4))
    open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 0, 0, 0, 0))
                           + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
for i in range(4):
    png("%s/a/%d.png" % (sys.argv[1], i), 10 * i)
    png("%s/b/%d.png" % (sys.argv[1], i), 200 - 10 * i)
PY
mkfifo "$tmp/png/b/z.png"
expect 1 "train on a folder with a FIFO image" -- timeout 20 "$UAE" -q train --model dense-ae \
    --hidden 4 --epochs 1 --data "$tmp/png" --out "$tmp/p.safetensors"
contains "z.png" "train names the FIFO image"
contains "not a regular file" "train says it is not a regular file"

# An attack folder whose settings.json, then stats.jsonl, is a FIFO.
attack=(-q attack --model "$tmp/m.safetensors" --data "$tmp/t.csv" --n 4 --batch 2 --iterations 2
        --mine-steps 1 --mine-hidden 8 --proj-count 4 --proj-dim 2)
mkdir "$tmp/atk1"
mkfifo "$tmp/atk1/settings.json"
expect 1 "attack with a FIFO settings.json" -- timeout 20 "$UAE" "${attack[@]}" --out "$tmp/atk1"
contains "settings.json" "attack names settings.json"
contains "not a regular file" "attack says settings.json is not a regular file"
expect 0 "attack, to be continued" -- "$UAE" "${attack[@]}" --out "$tmp/atk2"
rm "$tmp/atk2/stats.jsonl"
mkfifo "$tmp/atk2/stats.jsonl"
expect 1 "attack continued with a FIFO stats.jsonl" -- timeout 20 "$UAE" "${attack[@]}" \
    --out "$tmp/atk2"
contains "stats.jsonl" "attack names stats.jsonl"

if [ "$failures" -gt 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "all hostile-file checks passed"
