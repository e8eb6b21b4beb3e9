/* models/augment_report.c — the files the experiment (augment_experiment.c) writes for people
 * and NumPy users: per seed uae.safetensors (pairs), examples.png/.csv; for the run results.json
 * and results.md. Not here: computing any of what they hold. */
#include "uae/augment.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "augment_impl.h"
#include "uae/image.h"
#include "uae/io.h"

/* SEED/uae.safetensors: what a NumPy user needs beside uae.npy to pair each adversarial example
 * with its original: x (the clean rows), x_adv (= uae.npy) and index (int64, the rows in the
 * training split given to uae_augment_run). */
uae_status uae_augment_write_pairs(const seed_run *s, const uae_dataset *train) {
    int64_t *index = malloc((size_t)(s->sub.n > 0 ? s->sub.n : 1) * sizeof *index);
    if (!index) return uae_fail(UAE_ERR_NOMEM, "augment: out of memory");
    uae_status st = uae_data_subset_indices(train->n, s->sub.n, s->seed, index);
    char path[320];
    snprintf(path, sizeof path, "%s/uae.safetensors", s->dir);
    const int64_t n = s->n;
    uae_st_tensor t[3] = {
        {.name = "x", .ndim = 4, .shape = {n, s->sub.c, s->sub.h, s->sub.w}, .data = s->sub.x},
        {.name = "x_adv", .ndim = 4, .shape = {n, s->sub.c, s->sub.h, s->sub.w}, .data = s->xadv},
        {.name = "index", .ndim = 1, .shape = {n}, .data = index, .dtype = UAE_ST_I64},
    };
    uae_st_meta meta[1] = {{"uae.index", "rows of the training split"}};
    if (st == UAE_OK) st = uae_safetensors_write(path, t, 3, meta, 1);
    free(index);
    return st;
}

/* x, x' and |x' - x| (a heat map) of the first few examples, as one PNG. */
uae_status uae_augment_write_grid(const char *path, const seed_run *s) {
    int k = s->n < 10 ? (int)s->n : 10;
    const int64_t d = s->d, plane = (int64_t)s->sub.h * s->sub.w;
    float *delta = malloc((size_t)(2 * k * d) * sizeof *delta);
    if (!delta) return uae_fail(UAE_ERR_NOMEM, "augment: out of memory");
    float *scale = delta + k * d; /* (k, c, h, w) the colour scale: 0 at the left to hi */
    for (int64_t i = 0; i < k * d; i++) delta[i] = fabsf(s->xadv[i] - s->sub.x[i]);
    /* The heat map's range, 0 .. the largest |delta| of a pixel (its mean over the channels, as
     * the colour map takes it), shared with the scale row. */
    float hi = 0.0f;
    for (int64_t i = 0; i < k; i++)
        for (int64_t p = 0; p < plane; p++) {
            float v = 0.0f;
            for (int ch = 0; ch < s->sub.c; ch++) v += delta[i * d + ch * plane + p];
            v /= (float)s->sub.c;
            if (v > hi) hi = v;
        }
    const int64_t span = (int64_t)k * s->sub.w - 1;
    for (int64_t i = 0; i < k; i++)
        for (int ch = 0; ch < s->sub.c; ch++)
            for (int64_t y = 0; y < s->sub.h; y++)
                for (int64_t x = 0; x < s->sub.w; x++)
                    scale[i * d + ch * plane + y * s->sub.w + x] =
                        span > 0 ? hi * (float)(i * s->sub.w + x) / (float)span : hi;
    float top = hi > 0.0f ? hi : 1.0f; /* no perturbation: all dark, not a division by 0 */
    uae_image_row rows[4] = {
        {s->sub.x, k, UAE_CMAP_NONE, 0, 0},
        {s->xadv, k, UAE_CMAP_NONE, 0, 0},
        {delta, k, UAE_CMAP_VIRIDIS, 0.0f, top},
        {scale, k, UAE_CMAP_VIRIDIS, 0.0f, top},
    };
    char range[48];
    snprintf(range, sizeof range, "0..%.3g", (double)hi);
    const char *labels[4] = {"x", "x'", "|\xce\xb4|", range};
    uae_status st = uae_image_write_grid_labelled(path, rows, labels, 4, s->sub.c, s->sub.h,
                                                  s->sub.w, 2, 3);
    free(delta);
    return st;
}

/* A table's first (up to) 10 examples as CSV: per example its x, x' and |x' - x| rows, labelled,
 * the features named as in the data set (the values are the scaled ones the model saw). */
uae_status uae_augment_write_examples_csv(const char *path, const seed_run *s) {
    int k = s->n < 10 ? (int)s->n : 10;
    uae_atomic_file *af;
    UAE_TRY(uae_atomic_file_open(path, &af));
    FILE *f = uae_atomic_file_stream(af);
    fputs("example,row", f);
    for (int64_t j = 0; j < s->d; j++) {
        /* a name with a comma or a quote is quoted, its quotes doubled */
        const char *name = s->sub.feature_names ? s->sub.feature_names[j] : NULL;
        if (!name) {
            fprintf(f, ",f%lld", (long long)j);
            continue;
        }
        fputs(",\"", f);
        for (const char *c = name; *c; c++) {
            if (*c == '"') fputc('"', f);
            fputc(*c, f);
        }
        fputc('"', f);
    }
    fputc('\n', f);
    static const char *const what[3] = {"x", "x_adv", "abs_delta"};
    for (int i = 0; i < k; i++)
        for (int r = 0; r < 3; r++) {
            fprintf(f, "%d,%s", i, what[r]);
            for (int64_t j = 0; j < s->d; j++) {
                float x = s->sub.x[i * s->d + j], xa = s->xadv[i * s->d + j];
                fprintf(f, ",%.9g", (double)(r == 0 ? x : r == 1 ? xa : fabsf(xa - x)));
            }
            fputc('\n', f);
        }
    return uae_atomic_file_commit(af);
}

/* See augment_impl.h. */
uae_attack_samples uae_augment_effective_samples(const uae_augment_options *o,
                                                 const uae_model_config *cfg) {
    return uae_model_has_first_layer(cfg) ? o->attack.samples : UAE_ATTACK_SAMPLES_RANDOM;
}

/* A number for JSON: null where it is NaN (JSON has no NaN; jansson refuses it). */
void uae_augment_mean_std(const double *v, int n, double *mean, double *std) {
    double s = 0.0;
    for (int i = 0; i < n; i++) s += v[i];
    *mean = s / n;
    double q = 0.0;
    for (int i = 0; i < n; i++) q += (v[i] - *mean) * (v[i] - *mean);
    *std = !isfinite(*mean) ? NAN : n > 1 ? sqrt(q / (n - 1)) : 0.0;
}

uae_augment_paired uae_augment_pair(const uae_augment_metric *mt, int nseeds,
                                    uae_augment_arm other) {
    uae_augment_paired p = {.mean = NAN, .std = NAN};
    double finite[UAE_AUGMENT_MAX_SEEDS];
    for (int k = 0; k < nseeds; k++) {
        p.d[k] = mt->value[UAE_ARM_UAE][k] - mt->value[other][k];
        if (!isfinite(p.d[k])) continue;
        finite[p.seeds++] = p.d[k];
        if (mt->higher_is_better ? p.d[k] > 0.0 : p.d[k] < 0.0) p.uae_better++;
    }
    if (p.seeds > 0) uae_augment_mean_std(finite, p.seeds, &p.mean, &p.std);
    return p;
}

/* The arms the uae arm is compared with, in table order. */
static const uae_augment_arm paired_with[] = {UAE_ARM_ORIGINAL, UAE_ARM_DUPLICATE, UAE_ARM_NOISE};
enum { N_PAIRED = sizeof paired_with / sizeof paired_with[0] };

static json_t *json_number_or_null(double v) {
    return isfinite(v) ? json_real(v) : json_null();
}

/* results.json: the settings, the metrics, per-seed values, means and standard deviations. */
uae_status uae_augment_write_json(const char *path, const uae_augment_options *o,
                                  const uae_model_config *cfg, const uae_augment_report *rep,
                                  int64_t n_train, int64_t n, int64_t n_test, int64_t negatives_n) {
    json_t *root = json_object();
    json_t *settings = json_pack(
        "{s:s, s:s, s:I, s:I, s:I, s:i, s:i, s:I, s:f, s:s, s:s, s:i, s:i, s:i, s:i, s:f, s:s}",
        "task", uae_augment_task_name(o->task), "preset", cfg->preset, "n_train", (json_int_t)n_train, "n",
        (json_int_t)n, "n_test", (json_int_t)n_test, "epochs", cfg->epochs, "retrain_epochs",
        o->retrain_epochs > 0 ? o->retrain_epochs : cfg->epochs, "batch", (json_int_t)cfg->batch,
        "noise_sigma", (double)o->noise_sigma, "target",
        o->task == UAE_TASK_CONTRASTIVE       ? "n/a"
        : o->target == UAE_TARGET_CLEAN       ? "clean"
                                              : "self",
        "attack", uae_attack_method_name(o->attack.method), "iterations", o->attack.iterations,
        "mine_steps", o->attack.mine_steps, "mine_hidden", o->attack.mine.hidden,
        "mine_conv_filters", o->attack.mine.conv_filters, "eps", (double)o->attack.eps,
        "samples", uae_attack_samples_name(uae_augment_effective_samples(o, cfg)));
    json_t *seeds = json_array();
    for (int k = 0; k < rep->nseeds; k++) json_array_append_new(seeds, json_integer((json_int_t)o->seeds[k]));
    json_object_set_new(settings, "seeds", seeds);
    json_object_set_new(settings, "mine_warmup", json_integer(o->attack.mine_warmup));
    json_object_set_new(settings, "mine_lr", json_real(o->attack.mine.opt.p.lr));
    if (uae_augment_effective_samples(o, cfg) == UAE_ATTACK_SAMPLES_RANDOM) {
        json_object_set_new(settings, "proj_count", json_integer(o->attack.proj_count));
        json_object_set_new(settings, "proj_dim", json_integer(o->attack.proj_dim));
    }
    if (o->task == UAE_TASK_REPRESENTATION) {
        json_object_set_new(settings, "select_k", json_integer(cfg->select_k));
        json_object_set_new(settings, "total_steps", json_integer((json_int_t)cfg->total_steps));
    }
    if (o->task == UAE_TASK_CONTRASTIVE)
        json_object_set_new(settings, "negatives_n", json_integer((json_int_t)negatives_n));
    if (o->task != UAE_TASK_RECONSTRUCTION)
        json_object_set_new(settings, "probe",
                            json_pack("{s:i, s:I, s:f}", "epochs", o->probe.epochs, "batch",
                                      (json_int_t)o->probe.batch, "lr", (double)o->probe.lr));
    json_object_set_new(root, "settings", settings);
    json_object_set_new(root, "labels", json_boolean(rep->labels));
    json_t *metrics = json_array();
    for (int j = 0; j < rep->nmetrics; j++) {
        const uae_augment_metric *mt = &rep->metric[j];
        json_array_append_new(
            metrics, json_pack("{s:s, s:s, s:s, s:b}", "name", mt->name, "text", mt->text,
                               "better", mt->higher_is_better ? "higher" : "lower", "available",
                               !mt->needs_labels || rep->labels));
    }
    json_object_set_new(root, "metrics", metrics);
    json_t *arms = json_object();
    for (int a = 0; a < UAE_ARM_COUNT; a++) {
        json_t *arm = json_pack("{s:s}", "what", uae_augment_arm_text[a]);
        for (int j = 0; j < rep->nmetrics; j++) {
            const uae_augment_metric *mt = &rep->metric[j];
            json_t *vals = json_array();
            for (int k = 0; k < rep->nseeds; k++)
                json_array_append_new(vals, json_number_or_null(mt->value[a][k]));
            json_object_set_new(arm, mt->name,
                                json_pack("{s:o, s:o, s:o}", "values", vals, "mean",
                                          json_number_or_null(mt->mean[a]), "std",
                                          json_number_or_null(mt->std[a])));
        }
        json_object_set_new(arms, uae_augment_arm_name((uae_augment_arm)a), arm);
    }
    json_object_set_new(root, "arms", arms);
    /* "paired": per metric and control arm, uae minus the control per seed (uae_augment_pair). */
    json_t *paired = json_object();
    for (int j = 0; j < rep->nmetrics; j++) {
        const uae_augment_metric *mt = &rep->metric[j];
        json_t *per = json_object();
        for (int c = 0; c < N_PAIRED; c++) {
            uae_augment_paired p = uae_augment_pair(mt, rep->nseeds, paired_with[c]);
            json_t *d = json_array();
            for (int k = 0; k < rep->nseeds; k++) json_array_append_new(d, json_number_or_null(p.d[k]));
            json_object_set_new(per, uae_augment_arm_name(paired_with[c]),
                                json_pack("{s:o, s:o, s:o, s:i, s:i}", "uae_minus_arm", d, "mean",
                                          json_number_or_null(p.mean), "std",
                                          json_number_or_null(p.std), "seeds", p.seeds,
                                          "uae_better_seeds", p.uae_better));
        }
        json_object_set_new(paired, mt->name, per);
    }
    json_object_set_new(root, "paired", paired);
    json_t *succ = json_array();
    for (int k = 0; k < rep->nseeds; k++) json_array_append_new(succ, json_real(rep->success_rate[k]));
    json_object_set_new(root, "attack_success_rate", succ);
    json_object_set_new(root, "seconds", json_real(rep->seconds));
    uae_atomic_file *f;
    uae_status st = uae_atomic_file_open(path, &f);
    if (st == UAE_OK) {
        if (json_dumpf(root, uae_atomic_file_stream(f), JSON_INDENT(2)) != 0) {
            uae_atomic_file_abort(f);
            st = uae_fail(UAE_ERR_IO, "%s: cannot write", path);
        } else {
            fputc('\n', uae_atomic_file_stream(f));
            st = uae_atomic_file_commit(f);
        }
    }
    json_decref(root);
    return st;
}

/* A value for the tables: "0.01234", or "n/a" where it is NaN. */
static void put_value(FILE *out, double v) {
    if (isfinite(v))
        fprintf(out, "%.5f", v);
    else
        fprintf(out, "n/a");
}

/* results.md: the table, mean ± std over seeds, one column pair per metric. */
uae_status uae_augment_write_md(const char *path, const uae_augment_options *o,
                                const uae_model_config *cfg, const uae_augment_report *rep,
                                int64_t n_train, int64_t n, int64_t n_test) {
    uae_atomic_file *f;
    UAE_TRY(uae_atomic_file_open(path, &f));
    FILE *out = uae_atomic_file_stream(f);
    fprintf(out, "# uae augment: %s with %s\n\n", uae_augment_task_name(o->task), cfg->preset);
    const bool random = uae_augment_effective_samples(o, cfg) == UAE_ATTACK_SAMPLES_RANDOM;
    fprintf(out, "%lld training examples per seed, %lld adversarial examples (%s, %d iterations, "
            "MINE hidden %d, %d MINE steps, %s MINE samples", (long long)n_train, (long long)n,
            uae_attack_method_name(o->attack.method), o->attack.iterations, o->attack.mine.hidden,
            o->attack.mine_steps,
            uae_attack_samples_name(random ? UAE_ATTACK_SAMPLES_RANDOM : o->attack.samples));
    if (random)
        fprintf(out, " (%d projections to %d dimensions)", o->attack.proj_count,
                o->attack.proj_dim);
    const int repochs = o->retrain_epochs > 0 ? o->retrain_epochs : cfg->epochs;
    fprintf(out, ", eps %g), base %d epoch%s, retraining %d epoch%s, noise sigma %g",
            (double)o->attack.eps, cfg->epochs, PLURAL(cfg->epochs), repochs, PLURAL(repochs),
            (double)o->noise_sigma);
    if (o->attack.mine_warmup > 0 || o->attack.mine.opt.p.lr != 1.5e-5f)
        fprintf(out, ", MINE warm-up %d steps, MINE lr %g", o->attack.mine_warmup,
                (double)o->attack.mine.opt.p.lr);
    if (o->task != UAE_TASK_CONTRASTIVE)
        fprintf(out, ", augmented inputs target %s",
                o->target == UAE_TARGET_CLEAN ? "their clean original" : "themselves");
    if (o->task == UAE_TASK_REPRESENTATION)
        fprintf(out, ", %d features selected (temperature annealed over %lld steps)",
                cfg->select_k, (long long)cfg->total_steps);
    if (o->task != UAE_TASK_RECONSTRUCTION)
        fprintf(out, ", linear probes: %d epochs of Adam (lr %g, batch %lld) on the training "
                "subset", o->probe.epochs, (double)o->probe.lr, (long long)o->probe.batch);
    fprintf(out, ". Test set: %lld examples. Seeds:", (long long)n_test);
    for (int k = 0; k < rep->nseeds; k++)
        fprintf(out, " %llu", (unsigned long long)o->seeds[k]);
    fprintf(out, ".\n\n| arm | what |");
    for (int j = 0; j < rep->nmetrics; j++)
        fprintf(out, " %s, %s is better (mean ± std) | per seed |", rep->metric[j].text,
                rep->metric[j].higher_is_better ? "higher" : "lower");
    fprintf(out, "\n|---|---|");
    for (int j = 0; j < rep->nmetrics; j++) fprintf(out, "---|---|");
    fprintf(out, "\n");
    for (int a = 0; a < UAE_ARM_COUNT; a++) {
        fprintf(out, "| %s | %s |", uae_augment_arm_name((uae_augment_arm)a), uae_augment_arm_text[a]);
        for (int j = 0; j < rep->nmetrics; j++) {
            const uae_augment_metric *mt = &rep->metric[j];
            if (mt->needs_labels && !rep->labels) {
                fprintf(out, " n/a (no labels) | |");
                continue;
            }
            fprintf(out, " ");
            put_value(out, mt->mean[a]);
            fprintf(out, " ± ");
            put_value(out, mt->std[a]);
            fprintf(out, " |");
            for (int k = 0; k < rep->nseeds; k++) {
                fprintf(out, " ");
                put_value(out, mt->value[a][k]);
            }
            fprintf(out, " |");
        }
        fprintf(out, "\n");
    }
    /* The paired differences: what a reader compares, with the seed-to-seed spread taken out. */
    fprintf(out, "\nPaired differences over the seeds: uae minus each control, per seed, as "
            "mean ± std (seeds where uae is better):\n\n| metric |");
    for (int c = 0; c < N_PAIRED; c++)
        fprintf(out, " uae − %s |", uae_augment_arm_name(paired_with[c]));
    fprintf(out, "\n|---|");
    for (int c = 0; c < N_PAIRED; c++) fprintf(out, "---|");
    fprintf(out, "\n");
    for (int j = 0; j < rep->nmetrics; j++) {
        const uae_augment_metric *mt = &rep->metric[j];
        fprintf(out, "| %s (%s is better) |", mt->text, mt->higher_is_better ? "higher" : "lower");
        for (int c = 0; c < N_PAIRED; c++) {
            uae_augment_paired p = uae_augment_pair(mt, rep->nseeds, paired_with[c]);
            if (p.seeds == 0) {
                fprintf(out, " n/a |");
                continue;
            }
            fprintf(out, " %+.5f ± %.5f (%d of %d) |", p.mean, p.std, p.uae_better, p.seeds);
        }
        fprintf(out, "\n");
    }
    fprintf(out, "\nAttack success rate per seed:");
    for (int k = 0; k < rep->nseeds; k++) fprintf(out, " %.3f", rep->success_rate[k]);
    fprintf(out, ". Wall time: %.0f s.\n", rep->seconds);
    return uae_atomic_file_commit(f);
}
