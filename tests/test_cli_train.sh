#!/usr/bin/env bash
# tests/test_cli_train.sh — `uae train`, `uae eval` and `uae reconstruct` on Fashion-MNIST subsets:
# usage errors (exit 2), a run killed after its first checkpoint and resumed ends with the same
# checkpoint, bit for bit, as an uninterrupted run; the checkpoint is a plain safetensors file
# (parsed here with Python's standard library); eval, reconstruct and damaged files.
# Usage: test_cli_train.sh PATH/TO/uae. Exits 77 (skip) without the data set.
set -u
UAE=${1:?usage: test_cli_train.sh PATH/TO/uae}
DATA=${UAE_TEST_DATA:-/usr/share/datasets/fashion-mnist}
if [ ! -d "$DATA" ]; then
    echo "skip: no Fashion-MNIST in $DATA (set UAE_TEST_DATA)"
    exit 77
fi
. "$(dirname "$0")/cli_lib.sh"

# ---- usage errors ----------------------------------------------------------------------------
expect 0 "train --help" -- "$UAE" train --help
contains "--resume" "train --help documents --resume"
expect 2 "train without options" -- "$UAE" train
contains "--model" "train names the missing --model"
expect 2 "train without --out" -- "$UAE" train --model dense-ae
contains "--out" "train names the missing --out"
expect 2 "train --epochs 0" -- "$UAE" train --model dense-ae --out "$tmp/x" --epochs 0
expect 2 "train --lr abc" -- "$UAE" train --model dense-ae --out "$tmp/x" --lr abc
expect 2 "train with an unknown preset" -- "$UAE" train --model nope --out "$tmp/x" \
    --data "$DATA" --n-train 10 --n-test 10
contains "dense-ae" "an unknown preset lists the presets"
expect 2 "train --optimizer nope" -- "$UAE" train --model dense-ae --out "$tmp/x" \
    --optimizer nope --data "$DATA" --n-train 10 --n-test 10
expect 2 "eval without --model" -- "$UAE" eval
expect 1 "eval of a missing file" -- "$UAE" eval --model "$tmp/absent.safetensors"
contains "absent.safetensors" "eval names the missing file"
expect 2 "reconstruct without --out" -- "$UAE" reconstruct --model "$tmp/x"

# ---- an uninterrupted run, and the same run killed and resumed ---------------------------------
# A small dense AE on 4000 examples: about 0.2 s per epoch on one core, long enough to be killed
# during its second epoch.
run=(train --model dense-ae --hidden 32 --n-train 4000 --n-test 200 --epochs 4 --data "$DATA"
     --seed 5)
expect 0 "train, uninterrupted" -- "$UAE" "${run[@]}" --out "$tmp/a.safetensors" \
    --log "$tmp/a.jsonl"
contains "images/s" "train shows its throughput"
contains "test loss" "train shows the test metrics"
n_epoch=$(grep -c '"event":"epoch"' "$tmp/a.jsonl")
n_final=$(grep -c '"event":"final"' "$tmp/a.jsonl")
[ "$n_epoch" -eq 4 ] && [ "$n_final" -eq 1 ] ||
    fail "the log has $n_epoch epoch lines and $n_final final lines, expected 4 and 1"
grep -q '"test_mse"' "$tmp/a.jsonl" || fail "the log has the test MSE"

# The checkpoint's epoch, read from its header (a JSON object after 8 bytes of length).
ckpt_epoch() { head -c 4096 "$1" | grep -ao '"uae.epoch":"[0-9]*"' | grep -o '[0-9][0-9]*'; }

killed=0
for attempt in 1 2 3; do
    rm -f "$tmp/b.safetensors" "$tmp/b.jsonl"
    "$UAE" -q "${run[@]}" --out "$tmp/b.safetensors" --log "$tmp/b.jsonl" &
    pid=$!
    # Kill it as soon as the first epoch's checkpoint appears (the writes are atomic: the file is
    # either absent or complete).
    for _ in $(seq 1 3000); do
        [ -e "$tmp/b.safetensors" ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.01
    done
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    e=$(ckpt_epoch "$tmp/b.safetensors")
    if [ -n "$e" ] && [ "$e" -lt 4 ]; then
        killed=1
        echo "ok:   killed the run after epoch $e (attempt $attempt)"
        break
    fi
done
[ "$killed" -eq 1 ] || fail "could not kill the run before its end in 3 attempts"

expect 0 "train --resume after the kill" -- "$UAE" "${run[@]}" --out "$tmp/b.safetensors" \
    --log "$tmp/b.jsonl" --resume
contains "resuming" "train --resume says where it resumes"
if cmp -s "$tmp/a.safetensors" "$tmp/b.safetensors"; then
    echo "ok:   the resumed run's checkpoint is bit-identical to the uninterrupted run's"
else
    fail "the resumed run's checkpoint differs from the uninterrupted run's"
fi
[ "$(grep -c '"event":"final"' "$tmp/b.jsonl")" -eq 1 ] || fail "the resumed log has one final line"

# The same with a checkpoint every 5 steps (40 per epoch): killed within an epoch, most likely.
rm -f "$tmp/c.safetensors"
"$UAE" -q "${run[@]}" --out "$tmp/c.safetensors" --checkpoint-every 5 &
pid=$!
for _ in $(seq 1 3000); do
    [ -e "$tmp/c.safetensors" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.01
done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
estep=$(head -c 4096 "$tmp/c.safetensors" | grep -ao '"uae.epoch_step":"[0-9]*"' |
    grep -o '[0-9][0-9]*')
echo "note: killed with a checkpoint ${estep:-?} steps into an epoch"
expect 0 "train --resume within an epoch" -- "$UAE" "${run[@]}" --out "$tmp/c.safetensors" \
    --resume --checkpoint-every 5
cmp -s "$tmp/a.safetensors" "$tmp/c.safetensors" ||
    fail "the run resumed within an epoch differs from the uninterrupted run"

expect 0 "train --resume of a finished run does nothing" -- "$UAE" "${run[@]}" \
    --out "$tmp/b.safetensors" --resume
cmp -s "$tmp/a.safetensors" "$tmp/b.safetensors" || fail "resuming a finished run changed it"
contains "nothing to do" "resuming a finished run says so"
expect 1 "train to a folder that does not exist" -- "$UAE" train --model dense-ae --data "$DATA" \
    --n-train 10 --n-test 10 --out "$tmp/no/such/folder/x.safetensors"
contains "no/such/folder" "the unwritable checkpoint is named"
expect 2 "train --resume with other options" -- "$UAE" "${run[@]}" --hidden 16 \
    --out "$tmp/b.safetensors" --resume
contains "hidden" "a mismatched --resume names the option"
expect 2 "train --resume with another seed" -- "$UAE" "${run[@]}" --seed 6 \
    --out "$tmp/b.safetensors" --resume

# ---- the file is plain safetensors, tensor by tensor ------------------------------------------
if command -v python3 >/dev/null; then
    expect 0 "the checkpoint is a safetensors file with PyTorch names and layouts" -- python3 -c '
import json, struct, sys, zlib
def load(path):
    b = open(path, "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    return h, b[8 + n:]
h, data = load(sys.argv[1])
meta = h.pop("__metadata__")
assert meta["uae.model"] == "dense-ae" and meta["uae.epoch"] == "4", meta
cfg = json.loads(meta["uae.config"])
assert cfg["hidden"] == 32 and cfg["optimizer"] == "rmsprop", cfg
assert meta["uae.checksum"] == "crc32:%08x" % zlib.crc32(data), "checksum"
shapes = {k: v["shape"] for k, v in h.items()}
assert shapes["enc.weight"] == [32, 784] and shapes["dec.weight"] == [784, 32], shapes
for k in ["enc.weight", "enc.bias", "dec.weight", "dec.bias"]:
    for s in ["optim.state0.", "optim.state1."]:
        assert shapes[s + k] == shapes[k], k
assert all(v["dtype"] == "F32" for v in h.values())
# the resumed file, tensor by tensor (cmp said the same; this names a tensor if not)
h2, data2 = load(sys.argv[2])
h2.pop("__metadata__")
for k, v in h.items():
    a, b = v["data_offsets"], h2[k]["data_offsets"]
    assert data[a[0]:a[1]] == data2[b[0]:b[1]], "tensor %s differs" % k
' "$tmp/a.safetensors" "$tmp/b.safetensors"
fi

# ---- eval and reconstruct ------------------------------------------------------------------------
expect 0 "eval" -- "$UAE" eval --model "$tmp/a.safetensors" --n-test 500
contains "dense-ae (epoch 4" "eval names the model and epoch"
contains "mse:" "eval prints the MSE of an autoencoder"
expect 0 "eval --json" -- "$UAE" eval --model "$tmp/a.safetensors" --n-test 500 --json
contains '"mse":' "eval --json has the MSE"
if command -v python3 >/dev/null; then
    # The same 200 test examples (the subset is seeded by --seed, kept in the checkpoint) and the
    # same batches: eval must print exactly the loss of the last epoch's log line.
    "$UAE" eval --model "$tmp/a.safetensors" --n-test 200 --json >"$tmp/eval.json" 2>&1
    expect 0 "eval agrees with the training log's last test loss" -- python3 -c '
import json, sys
e = json.load(open(sys.argv[1]))
last = [j for j in map(json.loads, open(sys.argv[2])) if j["event"] == "epoch"][-1]
assert e["n"] == 200 and e["loss"] == last["test_loss"] and e["mse"] == last["test_mse"], (e, last)
' "$tmp/eval.json" "$tmp/a.jsonl"
fi
expect 0 "reconstruct" -- "$UAE" reconstruct --model "$tmp/a.safetensors" --n 20 \
    --out "$tmp/grid.png"
[ "$(head -c 4 "$tmp/grid.png" | od -An -c | tr -d ' ')" = "211PNG" ] ||
    fail "reconstruct wrote a PNG"

# A classifier (accuracy) and the conv AE, one short epoch each.
expect 0 "train a classifier" -- "$UAE" train --model classifier --n-train 64 --batch 32 \
    --n-test 32 --epochs 1 --data "$DATA" --out "$tmp/cls.safetensors"
contains "accuracy" "a classifier reports its accuracy"
expect 0 "eval a classifier" -- "$UAE" eval --model "$tmp/cls.safetensors" --n-test 100
contains "accuracy:   0." "eval prints the accuracy"
expect 1 "reconstruct with a classifier" -- "$UAE" reconstruct \
    --model "$tmp/cls.safetensors" --out "$tmp/no.png"
contains "not an autoencoder" "reconstruct says why"
expect 0 "train conv-ae" -- "$UAE" train --model conv-ae --n-train 100 --n-test 50 --epochs 1 \
    --data "$DATA" --out "$tmp/conv.safetensors"
expect 0 "reconstruct with conv-ae" -- "$UAE" reconstruct --model "$tmp/conv.safetensors" \
    --out "$tmp/conv.png"

# ---- damaged files -------------------------------------------------------------------------------
cp "$tmp/a.safetensors" "$tmp/bad.safetensors"
size=$(wc -c <"$tmp/bad.safetensors")
# One bit flipped near the end (in the data area, which ends the file).
byte=$(od -An -tu1 -j $((size - 7)) -N1 "$tmp/bad.safetensors" | tr -d ' ')
printf "\\$(printf %03o $((byte ^ 16)))" |
    dd of="$tmp/bad.safetensors" bs=1 seek=$((size - 7)) conv=notrunc 2>/dev/null
expect 1 "eval of a corrupted checkpoint" -- "$UAE" eval --model "$tmp/bad.safetensors"
contains "checksum" "a corrupted checkpoint fails its checksum"
head -c $((size / 2)) "$tmp/a.safetensors" >"$tmp/short.safetensors"
expect 1 "eval of a truncated checkpoint" -- "$UAE" eval --model "$tmp/short.safetensors"
expect 1 "train --resume from a damaged checkpoint" -- "$UAE" "${run[@]}" \
    --out "$tmp/bad.safetensors" --resume

if [ "$failures" -ne 0 ]; then
    echo "test_cli_train: $failures failure(s)"
    exit 1
fi
echo "test_cli_train: all passed"
