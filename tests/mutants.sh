#!/usr/bin/env bash
# tests/mutants.sh — mutation testing: plants one plausible one-line bug at a time in a scratch copy
# of the tree, rebuilds incrementally, runs a list of tests and reports whether they caught it
# ("killed", and by which test) or not ("SURVIVED"). Not part of CI's pass/fail: a habit to run
# after changing the method or its tests (docs/reliability.md, "Mutation testing").
#
# Usage: tests/mutants.sh [MUTANT_ID...]         (default: every mutant)
#   UAE_MUTANT_DIR    the scratch copy (default /tmp/uae-mutants; its build/ is kept between
#                     runs, so later runs rebuild only what a mutant touches)
#   UAE_MUTANT_TESTS  the meson tests to run, space-separated (default: the method-relevant ones,
#                     below); the first that fails kills the mutant, the rest are skipped
#   UAE_MUTANT_LIST   print the mutants and exit when set to 1
# A mutant is "ID@FILE@TEXT@REPLACEMENT@WHAT": TEXT must occur exactly once in FILE (else the
# mutant is reported "not applied": the code moved, update the list). The copy is restored after
# every mutant. Exit status: 0, or 1 if the tree does not build or its tests fail unmutated.
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
DIR=${UAE_MUTANT_DIR:-/tmp/uae-mutants}
TESTS=${UAE_MUTANT_TESTS:-method golden_augment trace pointwise_semantics attack ops autodiff rng data mine augment bufcache fused_step}

MUTANTS=(
# -- the attack's rules (models/attack.c)
"A1@models/attack.c@return violation == 0.0f && (supervised@return violation >= 0.0f && (supervised@success ignores the constraint l(x') <= l(x)"
"A2@models/attack.c@(tr->supervised ? mi > best->mi : mi < best->mi)@(tr->supervised ? mi > best->mi : mi > best->mi)@unsupervised selection keeps the largest I"
"A3@models/attack.c@float next = (1.0f - decay) * c + rate * violation;@float next = (1.0f + decay) * c + rate * violation;@dual update: the regulariser's sign"
"A4@models/attack.c@if (violation < fall->violation) {@if (violation > fall->violation || fall->iter < 0) {@fallback keeps the largest violation"
# -- the attack's loop (models/attack_run.c)
"R1@models/attack_run.c@uae_var *gap = uae_ad_sub(r->t, loss, uae_ad_const(r->t, &r->lclean));@uae_var *gap = uae_ad_sub(r->t, uae_ad_const(r->t, &r->lclean), loss);@violation l(x) - l(x') instead of l(x') - l(x)"
"R2@models/attack_run.c@obj = r->cfg->supervised ? uae_ad_sub(t, pen, I) : uae_ad_add(t, pen, I);@obj = r->cfg->supervised ? uae_ad_sub(t, pen, I) : uae_ad_sub(t, pen, I);@unsupervised objective c g - I (maximises I)"
"R3@models/attack_run.c@r->c[b] = uae_attack_dual_update(r->c[b], r->viol[b], it, cfg->dual_rate,@r->c[b] = uae_attack_dual_update(r->c[b], r->viol[b], 0, cfg->dual_rate,@dual update always at t = 0 (no decay schedule)"
"R4@models/attack_run.c@r->obj_ys = r->mine ? samples_of(r, img) : NULL;@r->obj_ys = r->mine ? samples_of(r, as_image(r, uae_ad_const(t, &r->x))) : NULL;@MINE and the objective see samples of x, not of x'"
"R5@models/attack_run.c@(float)(bits >> s & 1u ? s : KEEP_DISCARD);@(float)(bits >> s & 1u ? UAE_TRACK_FALLBACK : KEEP_DISCARD);@the returned x' is not the selected iterate's"
"R6@models/attack_run.c@r->cfg->seed, r->proj_draws++, &r->P));@r->cfg->seed, r->proj_draws, &r->P));@random mode: the same projection every iteration"
"R7@models/attack_run.c@st = step_delta(r, cfg->lr, cfg->eps, false);@st = step_delta(r, cfg->lr, cfg->eps, true);@MinMax takes sign steps (PGD's) instead of gradient steps"
# -- MINE (models/mine.c)
"M1@models/mine.c@    m->draws++;@    (void)0;@the same marginal pairing at every step"
"M2@models/mine.c@op.p.rng.counter = draw * (uint64_t)n;@op.p.rng.counter = draw;@overlapping permutation draws (counter not times n)"
"M3@models/mine.c@r.tm = head(m, t, pv, fx, uae_ad_gather_rows(t, fy, uae_ad_value(perm)));@r.tm = head(m, t, pv, uae_ad_gather_rows(t, fx, uae_ad_value(perm)), fy);@marginal pairs (x_pi(k), y_k) instead of (x_k, y_pi(k))"
"M4@models/mine.c@st = uae_optimizer_backward_step(&m->opt, m->P, t, objective, -1.0f);@st = uae_optimizer_backward_step(&m->opt, m->P, t, objective, 1.0f);@MINE minimises its bound (the fused step, MINE's default)"
"M5@models/mine.c@float lim = (float)sqrt(6.0 / (fan_in + fan_out));@float lim = (float)sqrt(2.0 / (fan_in + fan_out));@MINE's Glorot limit too small"
"M6@models/mine.c@    m->draws = 0;@    m->draws = 1;@a reset does not restart the permutation counter"
# -- the experiment (models/augment_experiment.c)
"G1@models/augment_experiment.c@[UAE_ARM_DUPLICATE] = s->sub.x,@[UAE_ARM_DUPLICATE] = NULL,@the duplicate (control) arm trains on the originals only"
"G2@models/augment_experiment.c@float x = s->sub.x[i] + o->noise_sigma * uae_rng_normal01(@float x = s->sub.x[i] + 0.1f * uae_rng_normal01(@the noise arm ignores --noise-sigma"
"G3@models/augment_experiment.c@(a == UAE_ARM_NOISE || a == UAE_ARM_UAE);@(a == UAE_ARM_NOISE);@UAEs target themselves, not their clean originals"
"G4@models/augment_experiment.c@memcpy(*targets + s->sub.n * s->d, s->sub.x, extra_bytes);@memcpy(*targets + s->sub.n * s->d, extra, extra_bytes);@augmented rows target themselves"
"G6@models/augment_experiment.c@(done[a] = arm_load(path, keys[a], rep, vals[a], why)))@(done[a] = false && arm_load(path, keys[a], rep, vals[a], why)))@a rerun retrains the arms an earlier run finished"
"G7@models/augment_report.c@if (mt->higher_is_better ? p.d[k] > 0.0 : p.d[k] < 0.0) p.uae_better++;@if (mt->higher_is_better ? p.d[k] > 0.0 : p.d[k] > 0.0) p.uae_better++;@the paired comparison counts the seeds where uae is worse"
"N1@models/augment_generate.c@before[0] && strcmp(before, now) != 0)@before[0] && strcmp(before, now) == 0)@a resume warns on the same kernel path, not on another"
"G8@models/augment_experiment.c@root ? uae_folder_lock_take(s->dir, &s->lock) : UAE_OK@UAE_OK@a second process may run on a seed folder another holds"
"G5@models/augment_experiment.c@st = uae_augment_generate(m, &ac, s->sub.x, NULL, s->n, 0, &go, &gs);@st = uae_augment_generate(m, &ac, s->sub.x + s->d, NULL, s->n, 0, &go, &gs);@UAEs made from the wrong subset rows"
# -- data (core/data.c)
"D1@core/data.c@uae_status st = choose(ds->n, n, seed, STREAM_SUBSET, chosen);@uae_status st = choose(ds->n, n, 0, STREAM_SUBSET, chosen);@the subset ignores the seed"
"D2@core/data.c@for (int64_t i = 0; i < k; i++) chosen[perm[i]] = true;@for (int64_t i = 0; i < k; i++) chosen[i] = true;@splits and subsets take the first rows"
"D3@core/data.c@uae_rng_permutation(seed, STREAM_SHUFFLE + epoch, 0, n, perm);@uae_rng_permutation(seed, STREAM_SHUFFLE, 0, n, perm);@every epoch in the same order"
# -- backends (backends/cpu)
"B1@core/pointwise_math.h@float d = uae_clampf_nan(delta - lr * s, -eps, eps);@float d = uae_clampf_nan(delta + lr * s, -eps, eps);@the attack step ascends (delta + lr g; ref and cpu share the formula)"
"B2@backends/cpu/omp_pointwise.c@bound[b] = (float)(sj / (double)n - ((double)mx + log(sm / (double)m)));@bound[b] = (float)(sj / (double)n - ((double)mx + log(sm)));@DV bound: log-sum-exp instead of log-mean-exp (cpu backend)"
"B3@core/pointwise_math.h@return uae_clampf_nan(d, lo - x, hi - x);@return uae_clampf_nan(d, lo - x, hi);@the box constraint x + delta <= hi is lost"
"B4@backends/cpu/omp_rng.c@uint64_t stream = p->stream + (uint64_t)r;@uint64_t stream = p->stream;@every row of a permutation op draws the same permutation (cpu backend)"
"B6@backends/cpu/cpu_bufcache.c@            bc->kept_bytes -= want;@            (void)want;@the buffer cache forgets that a reused buffer left it (kept bytes wrong, cap broken)"
"B5@core/pointwise_math.h@case UAE_UNARY_RELU: return x > 0.0f ? dy : 0.0f;@case UAE_UNARY_RELU: return x >= 0.0f ? dy : 0.0f;@ReLU's gradient at exactly 0 is 1, not 0"
# -- core (core/)
"C1@core/autodiff.c@    if (tm->requires_grad) UAE_TRY(add_into(t, tm, &sm));@    (void)0;@the DV bound's gradient through the marginal scores is dropped"
"C3@core/autodiff.c@    p->tape->recording = p->was_recording;@    p->tape->recording = false;@a pass leaves recording off behind it (the bug that kept MINE from learning)"
"C2@core/rng.c@uint64_t j = counter + (uint64_t)(n - 1 - i);@uint64_t j = counter + (uint64_t)i;@the host permutation uses its words in another order than the op"
"M7@models/mine.c@cfg->opt.p.lr = 1.5e-5f;@cfg->opt.p.lr = 1.5e-4f;@MINE's default learning rate 10x the official"
)

if [ "${UAE_MUTANT_LIST:-0}" = 1 ]; then
    for m in "${MUTANTS[@]}"; do IFS='@' read -r id file _ _ what <<<"$m"; printf '%-3s %-32s %s\n' "$id" "$file" "$what"; done
    exit 0
fi

# Which mutants: the arguments, or all.
want=" $* "
log() { printf '%s\n' "$*"; }

log "mutants: copying $SRC to $DIR"
mkdir -p "$DIR"
# the tracked and new files of the working tree (no build/, no .git), copied over the old copy:
# files that did not change keep their times, so the build stays incremental
(cd "$SRC" && git ls-files -co --exclude-standard -z | tar --null -T - -cf -) |
    (mkdir -p "$DIR/src" && cd "$DIR/src" && tar -xf -)
# A run stopped mid-mutant left an object built from the mutated file, older than the restored
# source's time: make that file newer, so that it is rebuilt.
if [ -f "$DIR/mutating" ]; then touch "$DIR/src/$(cat "$DIR/mutating")"; rm -f "$DIR/mutating"; fi
if [ ! -f "$DIR/build/build.ninja" ]; then
    meson setup "$DIR/build" "$DIR/src" >"$DIR/setup.log" 2>&1 || { log "meson setup failed: $DIR/setup.log"; exit 1; }
fi
# Runs the tests; prints the first that fails (empty if none).
run_tests() {
    for t in $TESTS; do
        if ! meson test -C "$DIR/build" --no-rebuild -q "$t" >"$DIR/test.log" 2>&1; then
            if grep -q "No tests defined\|Unknown test" "$DIR/test.log"; then continue; fi
            echo "$t"
            return
        fi
    done
}
log "mutants: building and testing the unmutated tree"
ninja -C "$DIR/build" >"$DIR/build.log" 2>&1 || { log "the tree does not build: $DIR/build.log"; exit 1; }
first=$(run_tests)
if [ -n "$first" ]; then log "the unmutated tree fails $first: fix that first ($DIR/test.log)"; exit 1; fi

killed=0 survived=0 skipped=0 total=0
printf '%-4s %-10s %-16s %s\n' ID RESULT "KILLED BY" WHAT
for m in "${MUTANTS[@]}"; do
    IFS='@' read -r id file text repl what <<<"$m"
    if [ -n "$*" ] && [[ "$want" != *" $id "* ]]; then continue; fi
    total=$((total + 1))
    f="$DIR/src/$file"
    cp "$f" "$DIR/orig"
    echo "$file" >"$DIR/mutating"
    applied=$(python3 - "$f" "$text" "$repl" <<'EOF'
import sys
path, text, repl = sys.argv[1:4]
s = open(path).read()
if s.count(text) != 1:
    print("no")
else:
    open(path, "w").write(s.replace(text, repl))
    print("yes")
EOF
)
    if [ "$applied" != yes ]; then
        printf '%-4s %-10s %-16s %s\n' "$id" "NOT-APPLIED" "-" "$what ($file: text not found once)"
        skipped=$((skipped + 1))
        continue
    fi
    t0=$(date +%s)
    if ! ninja -C "$DIR/build" >"$DIR/build.log" 2>&1; then
        res=killed by=build
    else
        by=$(run_tests)
        if [ -n "$by" ]; then res=killed; else res=SURVIVED by=-; fi
    fi
    cp "$DIR/orig" "$f"
    touch "$f"
    rm -f "$DIR/mutating"
    if [ "$res" = killed ]; then killed=$((killed + 1)); else survived=$((survived + 1)); fi
    printf '%-4s %-10s %-16s %s (%ss)\n' "$id" "$res" "$by" "$what" "$(( $(date +%s) - t0 ))"
done
ninja -C "$DIR/build" >/dev/null 2>&1
log "mutants: $total tried, $killed killed, $survived survived, $skipped not applied (tests: $TESTS)"
