#!/usr/bin/env bash
# tests/test_plot.sh — `uae plot`: a line chart of JSON lines and a bar chart of an array inside a
# JSON document are well-formed SVG (parsed with python3's xml module) holding one polyline per
# series with the right number of segments, the legend names, the title and axis labels; --where
# and --by choose the records and split the series; the PNG is a PNG of the picture's size; bad
# input is a usage error (2) or a failure (1) with a message.
# Usage: test_plot.sh PATH/TO/uae
set -u
UAE=${1:?usage: test_plot.sh PATH/TO/uae}
. "$(dirname "$0")/cli_lib.sh"

# A trace: two examples, 5 iterations each; an end record without the fields (skipped).
python3 - "$tmp" <<'PY'
import json, sys
with open(sys.argv[1] + "/t.jsonl", "w") as f:
    for i in range(2):
        for t in range(5):
            f.write(json.dumps({"index": i, "t": t, "I": 0.5 - 0.1 * t * (i + 1), "c": 1e-3,
                                "success": t > 2}) + "\n")
    f.write(json.dumps({"end": True}) + "\n")
json.dump({"host": {"cpu": "x"}, "devices": [{"id": "cpu"}],
           "results": [{"case": "gemm 32", "device": "cpu", "gflops": 50.0},
                       {"case": "gemm 32", "device": "2", "gflops": 2.0},
                       {"case": "conv", "device": "cpu", "gflops": -3.0}]},
          open(sys.argv[1] + "/b.json", "w"))
PY

expect 0 "a line chart, one series per example" -- "$UAE" plot "$tmp/t.jsonl" --x t --y I --by index \
    --title "I over t" --out "$tmp/t.svg" --out "$tmp/t.png"
contains "2 series, 10 points" "the points plotted"
expect 0 "--where picks one example" -- "$UAE" plot "$tmp/t.jsonl" --x t --y I,success \
    --where index=1 --out "$tmp/w.svg"
contains "2 series, 10 points" "--where index=1 and two --y fields (5 records)"
expect 0 "a bar chart of a JSON document's records" -- "$UAE" plot "$tmp/b.json" --bar --x case \
    --y gflops --by device --ylabel "GFLOP/s" --out "$tmp/b.svg"
contains "2 series, 3 points" "the bars"

mkdir -p "$tmp/a" "$tmp/b" && cp "$tmp/t.jsonl" "$tmp/a/s.jsonl" && cp "$tmp/t.jsonl" "$tmp/b/s.jsonl"
expect 0 "two files of the same name" -- "$UAE" plot "$tmp/a/s.jsonl" "$tmp/b/s.jsonl" --x t --y I \
    --where index=0 --out "$tmp/two.svg"
contains "2 series, 10 points" "one series per file, named by the path"
python3 - "$tmp" <<'PY' || fail "the SVG files"
import sys, xml.etree.ElementTree as ET
d = sys.argv[1]
NS = "{http://www.w3.org/2000/svg}"
def load(name):
    root = ET.parse(d + "/" + name).getroot()   # raises on malformed XML
    assert root.tag == NS + "svg", root.tag
    texts = [t.text for t in root.iter(NS + "text")]
    return root, texts
root, texts = load("t.svg")
for want in ["I over t", "t", "I", "index=0", "index=1", "0", "4"]:
    assert want in texts, (want, texts)
# each series: 4 segments of width 2 in its own colour (the first two colours of the palette)
strokes = [l.get("stroke") for l in root.iter(NS + "line") if l.get("stroke-width") == "2.0"]
assert strokes.count("#1f77b4") == 4 and strokes.count("#d62728") == 4, strokes
root, texts = load("w.svg")
assert "I" in texts and "success" in texts and "index=0" not in texts, texts
root, texts = load("b.svg")
for want in ["GFLOP/s", "case", "gemm 32", "conv", "device=cpu", "device=2"]:
    assert want in texts, (want, texts)
fills = [r.get("fill") for r in root.iter(NS + "rect")]
# 3 bars (cpu: 2, device 2: 1) and the legend's 2 swatches
assert fills.count("#1f77b4") == 3 and fills.count("#d62728") == 2, fills
PY
python3 - "$tmp/t.png" <<'PY' || fail "the PNG"
import struct, sys
raw = open(sys.argv[1], "rb").read()
assert raw[:8] == b"\x89PNG\r\n\x1a\n", raw[:8]
w, h = struct.unpack(">II", raw[16:24])
assert (w, h) == (880, 520), (w, h)
PY

expect 2 "no --y" -- "$UAE" plot "$tmp/t.jsonl" --out "$tmp/x.svg"
contains "--y FIELD is required" "the missing --y"
expect 2 "no --out" -- "$UAE" plot "$tmp/t.jsonl" --y I
expect 2 "--out of an unknown kind" -- "$UAE" plot "$tmp/t.jsonl" --y I --out "$tmp/x.jpg"
contains ".svg or .png" "the --out message"
expect 2 "--where without =" -- "$UAE" plot "$tmp/t.jsonl" --y I --where index --out "$tmp/x.svg"
expect 2 "no input file" -- "$UAE" plot --y I --out "$tmp/x.svg"
expect 1 "a missing file" -- "$UAE" plot "$tmp/none.jsonl" --y I --out "$tmp/x.svg"
contains "cannot open" "the missing file's message"
printf '{"a": 1}\nnot json\n' > "$tmp/bad.jsonl"
expect 1 "a line that is not JSON" -- "$UAE" plot "$tmp/bad.jsonl" --y a --out "$tmp/x.svg"
contains "bad.jsonl:2:" "the bad line's number"
expect 1 "a field no record has" -- "$UAE" plot "$tmp/t.jsonl" --y nope --out "$tmp/x.svg"
contains "no record has a number at --y nope" "the missing field's message"
[ ! -e "$tmp/x.svg" ] || fail "a failed plot left a file"
expect 1 "--records that is not an array" -- "$UAE" plot "$tmp/b.json" --records host --y gflops --out "$tmp/x.svg"

[ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "all ok"
