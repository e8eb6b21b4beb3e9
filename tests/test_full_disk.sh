#!/usr/bin/env bash
# tests/test_full_disk.sh — `uae train` and `uae attack` on a full disk (docs/reliability.md): a
# tmpfs of a few pages stands for the disk. The commands must stop with exit status 1 and the
# cause ("No space left on device", not a later symptom), leave no temporary file and no partial
# checkpoint, and the attack, run again once there is room, must end with the same bytes as a run
# that never stopped. Needs root and mount(8); exits 77 (skipped) where it cannot mount a tmpfs.
# Usage: test_full_disk.sh PATH/TO/uae
set -u
UAE=${1:?usage: test_full_disk.sh PATH/TO/uae}
. "$(dirname "$0")/cli_lib.sh"
export OMP_NUM_THREADS=1
disk=$tmp/disk
mkdir "$disk"
if [ "$(id -u)" -ne 0 ] || ! mount -t tmpfs -o size=4k tmpfs "$disk" 2>/dev/null; then
    echo "skip: cannot mount a tmpfs (needs root and mount permission) to stand for a full disk"
    exit 77
fi
trap 'umount "$disk" 2>/dev/null; rm -rf "$tmp"' EXIT
ENOSPC="No space left on device"

make_table "$tmp/t.csv"

no_temporaries() {
    local left
    left=$(find "$1" -name '*.tmp.??????' | head -5)
    if [ -n "$left" ]; then fail "$2: temporary files remain: $left"; else echo "ok:   $2: no temporary file"; fi
}

# ---- a checkpoint that does not fit (one 4 KiB page; the checkpoint is 5 KiB) ---------------------
train=(-q train --model dense-ae --hidden 8 --data "$tmp/t.csv" --epochs 2 --batch 20 --seed 3)
expect 1 "train onto a full disk fails" -- "$UAE" "${train[@]}" --out "$disk/m.safetensors"
contains "$ENOSPC" "train names the full disk"
contains "m.safetensors" "train names the file"
[ ! -e "$disk/m.safetensors" ] || fail "a partial checkpoint was left on the full disk"
no_temporaries "$disk" "train on a full disk"

# ---- an attack that runs out of room in the middle ---------------------------------------------
expect 0 "train the attacked model" -- "$UAE" "${train[@]}" --out "$tmp/m.safetensors"
attack=(-q attack --model "$tmp/m.safetensors" --data "$tmp/t.csv" --n 96 --batch 2
        --iterations 4 --mine-steps 2 --mine-hidden 16 --proj-count 8 --proj-dim 4)
expect 0 "attack, on a disk with room" -- "$UAE" "${attack[@]}" --out "$tmp/atk-a"
# Four pages: settings.json, the .npy (96 rows of 64 bytes) and stats.jsonl (some 150 bytes a line)
# outgrow them about half-way.
mount -o remount,size=16k "$disk"
expect 1 "attack onto a disk that fills up" -- "$UAE" "${attack[@]}" --out "$disk/atk"
contains "$ENOSPC" "the attack names the full disk (the first cause, not a later symptom)"
n_rows=$(python3 -c '
import ast, sys
h = open(sys.argv[1], "rb").read(256)
print(ast.literal_eval(h[10:10 + int.from_bytes(h[8:10], "little")].decode())["shape"][0])' \
    "$disk/atk/adversarial.npy" 2>/dev/null || echo "?")
echo "note: the full disk stopped the attack with $n_rows of 96 rows counted"
no_temporaries "$disk" "attack on a full disk"
mount -o remount,size=1m "$disk"
expect 0 "the attack, run again with room" -- "$UAE" "${attack[@]}" --out "$disk/atk"
for f in adversarial.npy adversarial.safetensors settings.json; do
    if cmp -s "$tmp/atk-a/$f" "$disk/atk/$f"; then echo "ok:   $f == the uninterrupted run's"
    else fail "$f differs from the uninterrupted run's"; fi
done
no_temporaries "$disk" "the attack run again"

if [ "$failures" -gt 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "all full-disk checks passed"
