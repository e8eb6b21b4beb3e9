#!/usr/bin/env bash
# tests/test_crash.sh — crash consistency of `uae train` and `uae attack` (docs/reliability.md):
# each is killed with SIGKILL at several moments — in the middle of a checkpoint write (the test
# hook UAE_TEST_PAUSE_COMMIT stops the N-th atomic write before its data is flushed), between
# writes, in the middle of the .npy — then run again with the same command; the outputs must be
# byte-identical to an uninterrupted run's, the target of an interrupted write must be the old
# file (or none), and no temporary file (*.tmp.XXXXXX) may remain after the next run. Needs no data
# set: a generated table of 600 rows. Usage: test_crash.sh PATH/TO/uae
set -u
UAE=${1:?usage: test_crash.sh PATH/TO/uae}
. "$(dirname "$0")/cli_lib.sh"
export OMP_NUM_THREADS=1

make_table "$tmp/t.csv"

kills=0
# Runs "$@" in the background with stderr in $tmp/bg.err; $bg is its pid.
start_bg() {
    : >"$tmp/bg.err" # emptied here: the background job opens it later than the next grep may run
    "$@" >/dev/null 2>>"$tmp/bg.err" &
    bg=$!
}

# Waits (up to 60 s) until the background process has paused in a write (the hook's message) or
# ended; kills it with SIGKILL. Succeeds if it was paused.
kill_when_paused() {
    local paused=1
    for _ in $(seq 1 6000); do
        if grep -q "UAE_TEST_PAUSE_COMMIT: paused" "$tmp/bg.err"; then paused=0; break; fi
        kill -0 "$bg" 2>/dev/null || break
        sleep 0.01
    done
    kill -9 "$bg" 2>/dev/null
    wait "$bg" 2>/dev/null
    [ "$paused" -eq 0 ] && kills=$((kills + 1))
    return "$paused"
}

# No *.tmp.XXXXXX file in folder $1.
no_temporaries() {
    local left
    left=$(find "$1" -name '*.tmp.??????' | head -5)
    if [ -n "$left" ]; then fail "$2: temporary files remain: $left"; else echo "ok:   $2: no temporary file"; fi
}

same_bytes() {
    if cmp -s "$1" "$2"; then echo "ok:   $3"; else fail "$3: $1 differs from $2"; fi
}

# ---- uae train ---------------------------------------------------------------------------------
# 480 training rows in batches of 20: 24 steps an epoch, a checkpoint every 4 steps and at each
# epoch's end (6 writes an epoch, 36 in all).
train=(-q train --model dense-ae --hidden 8 --data "$tmp/t.csv" --epochs 6 --batch 20 --seed 3
       --checkpoint-every 4)
expect 0 "train, uninterrupted" -- "$UAE" "${train[@]}" --out "$tmp/a.safetensors"

# Killed in the middle of checkpoint write N (1: the first, no old file; 6: an epoch's end; 20: in
# epoch 4), then resumed; the interrupted write left its temporary behind, the target is the old
# checkpoint (or none) and reads as one.
for n in 1 6 20; do
    rm -f "$tmp/b.safetensors"
    start_bg env UAE_TEST_PAUSE_COMMIT="$n:b.safetensors" "$UAE" "${train[@]}" \
        --out "$tmp/b.safetensors"
    if ! kill_when_paused; then
        fail "train did not pause in checkpoint write $n"
        continue
    fi
    echo "ok:   train killed in the middle of checkpoint write $n"
    [ -n "$(find "$tmp" -name 'b.safetensors.tmp.??????')" ] ||
        fail "write $n: the killed write left no temporary (was it killed inside the write?)"
    if [ "$n" -eq 1 ]; then
        [ ! -e "$tmp/b.safetensors" ] || fail "write 1: a checkpoint appeared before its write ended"
    else
        expect 0 "write $n: the old checkpoint is whole" -- "$UAE" eval --model "$tmp/b.safetensors" \
            --data "$tmp/t.csv"
    fi
    expect 0 "train --resume after a kill in write $n" -- "$UAE" "${train[@]}" \
        --out "$tmp/b.safetensors" --resume
    same_bytes "$tmp/a.safetensors" "$tmp/b.safetensors" "write $n: resumed == uninterrupted"
    no_temporaries "$tmp" "train after a kill in write $n"
done

# Killed between writes, at times spread over the run (no hook), three times in a row, resumed
# each time.
rm -f "$tmp/c.safetensors"
for delay in 0.05 0.15 0.3; do
    start_bg "$UAE" "${train[@]}" --out "$tmp/c.safetensors" --resume
    sleep "$delay"
    kill -9 "$bg" 2>/dev/null && kills=$((kills + 1))
    wait "$bg" 2>/dev/null
done
expect 0 "train --resume after three kills" -- "$UAE" "${train[@]}" --out "$tmp/c.safetensors" \
    --resume
same_bytes "$tmp/a.safetensors" "$tmp/c.safetensors" "three kills: resumed == uninterrupted"
no_temporaries "$tmp" "train after three kills"

# ---- uae attack --------------------------------------------------------------------------------
attack=(-q attack --model "$tmp/a.safetensors" --data "$tmp/t.csv" --n 96 --batch 2
        --iterations 20 --mine-steps 2 --mine-hidden 16 --proj-count 8 --proj-dim 4)
expect 0 "attack, uninterrupted" -- "$UAE" "${attack[@]}" --out "$tmp/atk-a"

# Killed in the middle of writing settings.json (the first write); between the rows and the header
# of adversarial.npy, twice; in the middle of rewriting stats.jsonl (a resume rewrites it
# atomically); in the middle of adversarial.safetensors (the last write).
rm -rf "$tmp/atk-b"
pause_attack() {
    start_bg env UAE_TEST_PAUSE_COMMIT="$1" "$UAE" "${attack[@]}" --out "$tmp/atk-b"
    if kill_when_paused; then
        echo "ok:   attack killed in the middle of writing ${1#*:}"
    else
        fail "attack did not pause in the write of ${1#*:}"
    fi
    [ -n "$(find "$tmp/atk-b" -name '*.tmp.??????')" ] ||
        fail "${1#*:}: the killed write left no temporary"
}
pause_attack "1:settings.json"
# The .npy is appended to, not replaced: paused after the rows of sync N are on disk and before the
# header counts them (a batch of 2 rows per sync): 4 (8 rows) and, resumed from there, 20 more.
for n in 4 20; do
    start_bg env UAE_TEST_PAUSE_COMMIT="$n:adversarial.npy" "$UAE" "${attack[@]}" --out "$tmp/atk-b"
    if kill_when_paused; then echo "ok:   attack killed between the rows and the header of sync $n"
    else fail "attack did not pause in sync $n of adversarial.npy"; fi
done
pause_attack "1:stats.jsonl"
pause_attack "1:adversarial.safetensors"
expect 0 "attack, run again after the kills" -- "$UAE" "${attack[@]}" --out "$tmp/atk-b"
for f in adversarial.npy adversarial.safetensors settings.json; do
    same_bytes "$tmp/atk-a/$f" "$tmp/atk-b/$f" "attack: $f resumed == uninterrupted"
done
# The statistics hold each example's wall-clock seconds: equal apart from those.
python3 - "$tmp/atk-a/stats.jsonl" "$tmp/atk-b/stats.jsonl" <<'EOF' &&
import json, sys
a, b = ([{k: v for k, v in json.loads(l).items() if k != "seconds"} for l in open(p)] for p in sys.argv[1:])
sys.exit(0 if a == b and len(a) == 96 else 1)
EOF
    echo "ok:   attack: stats.jsonl resumed == uninterrupted (without the seconds)" ||
    fail "attack: stats.jsonl differs from the uninterrupted run's"
no_temporaries "$tmp/atk-b" "attack after the kills"

echo "processes killed with SIGKILL: $kills"
if [ "$failures" -gt 0 ]; then
    echo "$failures failure(s)"
    exit 1
fi
echo "all crash-consistency checks passed"
