/* apps/cli_mine.c — `uae mine`: MINE (uae/mine.h) on correlated Gaussians whose mutual
 * information is known, printing the true and the estimated MI, with an optional per-step trace
 * (JSON lines). For learning how the estimators behave (docs/labs/lab3-mine.md); it is not part
 * of the attack (uae attack trains its own estimators per image). */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "uae/autodiff.h"
#include "uae/io.h"
#include "uae/mine.h"
#include "uae/rng.h"

typedef struct mine_args {
    double rho;            /* --rho: correlation of each coordinate pair, |rho| < 1 */
    long long dim;         /* --dim: d, the dimension of X and of Y */
    uae_mine_estimator estimator;
    uae_mine_head head;
    long long hidden, steps, batch, eval_batches, eval_every;
    double lr;
    bool ema, train_js, json;
    const char *trace;     /* --trace FILE, or NULL */
    bool stop;          /* --help was answered: nothing to run */
} mine_args;

/* I(X; Y) of X, Y in R^d whose coordinate pairs (x_i, y_i) are independent standard Gaussians of
 * correlation rho: each pair carries -1/2 log(1 - rho^2) nats, and the pairs add up. */
static double true_mi(double rho, long long dim) { return -0.5 * (double)dim * log1p(-rho * rho); }

/* n pairs into xs, ys (n, d): x ~ N(0, I), y = rho x + sqrt(1 - rho^2) z. Batch number `batch` of
 * the data streams (stream_x, stream_x + 1) of the counter RNG: host numbers, the same on every
 * device, and every batch fresh. */
static void draw_pairs(uint64_t seed, uint64_t stream_x, uint64_t batch, const mine_args *a,
                       float *xs, float *ys) {
    int64_t nd = a->batch * a->dim;
    double s = sqrt(1.0 - a->rho * a->rho);
    for (int64_t k = 0; k < nd; k++) {
        uint64_t idx = batch * (uint64_t)nd + (uint64_t)k;
        float x = uae_rng_normal01(seed, stream_x, idx);
        float z = uae_rng_normal01(seed, stream_x + 1, idx);
        xs[k] = x;
        ys[k] = (float)(a->rho * x + s * z);
    }
}

enum {
    OPT_RHO = CLI_OPT_FIRST_COMMAND, OPT_DIM, OPT_ESTIMATOR, OPT_HEAD, OPT_HIDDEN, OPT_STEPS,
    OPT_BATCH, OPT_LR, OPT_EMA, OPT_TRAIN_JS, OPT_EVAL_BATCHES, OPT_EVAL_EVERY, OPT_TRACE, OPT_JSON,
};

static int parse_args(const cli_command *cmd, cli_globals *g, int argc, char **argv, mine_args *a) {
    static const struct option opts[] = {
        {"rho", required_argument, NULL, OPT_RHO},
        {"dim", required_argument, NULL, OPT_DIM},
        {"estimator", required_argument, NULL, OPT_ESTIMATOR},
        {"head", required_argument, NULL, OPT_HEAD},
        {"hidden", required_argument, NULL, OPT_HIDDEN},
        {"steps", required_argument, NULL, OPT_STEPS},
        {"batch", required_argument, NULL, OPT_BATCH},
        {"lr", required_argument, NULL, OPT_LR},
        {"ema", no_argument, NULL, OPT_EMA},
        {"train-js", no_argument, NULL, OPT_TRAIN_JS},
        {"eval-batches", required_argument, NULL, OPT_EVAL_BATCHES},
        {"eval-every", required_argument, NULL, OPT_EVAL_EVERY},
        {"trace", required_argument, NULL, OPT_TRACE},
        {"json", no_argument, NULL, OPT_JSON},
        {0},
    };
    cli_parser p;
    cli_parser_init(&p, cmd, g, argc, argv, opts);
    for (int c; (c = cli_next(&p)) != -1;) {
        const char *v = p.arg;
        int rc = CLI_EXIT_OK;
        switch (c) {
        case CLI_STOP: a->stop = true; return p.exit_code;
        case OPT_RHO: rc = cli_parse_float(cmd, "--rho", v, -0.9999, 0.9999, &a->rho); break;
        case OPT_DIM: rc = cli_parse_int(cmd, "--dim", v, 1, 4096, &a->dim); break;
        case OPT_ESTIMATOR:
            if (uae_mine_estimator_parse(v, &a->estimator) != UAE_OK)
                return cli_usage_error(cmd, "--estimator: %s", uae_last_error());
            break;
        case OPT_HEAD:
            if (strcmp(v, "sum") == 0) a->head = UAE_MINE_HEAD_SUM;
            else if (strcmp(v, "dot") == 0) a->head = UAE_MINE_HEAD_DOT;
            else return cli_usage_error(cmd, "--head: '%s': expected sum or dot", v);
            break;
        case OPT_HIDDEN: rc = cli_parse_int(cmd, "--hidden", v, 1, 65536, &a->hidden); break;
        case OPT_STEPS: rc = cli_parse_int(cmd, "--steps", v, 1, 10000000, &a->steps); break;
        /* 2: the marginal pairs need another sample; 4096: uae_mine_evaluate's limit */
        case OPT_BATCH: rc = cli_parse_int(cmd, "--batch", v, 2, 4096, &a->batch); break;
        case OPT_LR: rc = cli_parse_float(cmd, "--lr", v, 1e-12, 10.0, &a->lr); break;
        case OPT_EMA: a->ema = true; break;
        case OPT_TRAIN_JS: a->train_js = true; break;
        case OPT_EVAL_BATCHES:
            rc = cli_parse_int(cmd, "--eval-batches", v, 1, 100000, &a->eval_batches);
            break;
        case OPT_EVAL_EVERY: rc = cli_parse_int(cmd, "--eval-every", v, 0, 10000000, &a->eval_every); break;
        case OPT_TRACE: a->trace = v; break;
        case OPT_JSON: a->json = true; break;
        default: return CLI_EXIT_USAGE;
        }
        if (rc != CLI_EXIT_OK) return rc;
    }
    if (cli_check_positional(&p, 0) != CLI_EXIT_OK) return CLI_EXIT_USAGE;
    if ((a->ema || a->train_js) && a->estimator != UAE_MINE_EST_DV)
        return cli_usage_error(cmd, "--ema and --train-js change how the DV bound trains: they "
                               "need --estimator dv, not %s", uae_mine_estimator_name(a->estimator));
    if (a->ema && a->train_js)
        return cli_usage_error(cmd, "--ema and --train-js are two ways to train the DV bound: "
                               "give one of them");
    return CLI_EXIT_OK;
}

/* The state of one run: device memory, the estimator and the host batches. */
typedef struct run {
    uae_mine *m;
    uae_arena *ar;
    uae_tape *t;
    uae_tensor xs, ys;  /* (1, batch, dim) */
    float *hx, *hy;     /* (batch, dim) */
} run;

static void run_free(run *r) {
    free(r->hx);
    free(r->hy);
    uae_tape_free(r->t);
    uae_arena_free(r->ar);
    uae_mine_free(r->m);
}

/* The estimate of the current network: its bound on `count` fresh batches (all pairs as marginal
 * samples, uae_mine_evaluate), from the data streams (stream, stream + 1) starting at batch
 * `first`. */
static uae_status evaluate(run *r, uint64_t seed, const mine_args *a, uint64_t stream,
                           uint64_t first, int64_t count, double *mean, double *sd) {
    double s1 = 0.0, s2 = 0.0;
    for (int64_t e = 0; e < count; e++) {
        draw_pairs(seed, stream, first + (uint64_t)e, a, r->hx, r->hy);
        UAE_TRY(uae_tensor_write(&r->xs, r->hx));
        UAE_TRY(uae_tensor_write(&r->ys, r->hy));
        float b;
        UAE_TRY(uae_mine_evaluate(r->m, r->t, &r->xs, &r->ys, &b));
        s1 += b;
        s2 += (double)b * b;
    }
    *mean = s1 / (double)count;
    *sd = count > 1 ? sqrt(fmax(0.0, (s2 - s1 * s1 / (double)count) / (double)(count - 1))) : 0.0;
    return UAE_OK;
}

static json_t *number_or_null(double v) { return isfinite(v) ? json_real(v) : json_null(); }

typedef struct result {
    double truth, estimate, estimate_sd, last_bounds;
} result;

static uae_status run_mine(uae_backend *be, uint64_t seed, const mine_args *a, uae_jsonl *trace,
                           result *res) {
    uae_mine_config mc;
    uae_mine_config_default(UAE_MINE_NET_DENSE, &mc);
    mc.estimator = a->estimator;
    mc.head = a->head;
    mc.hidden = (int)a->hidden;
    mc.ema = a->ema;
    mc.train_js = a->train_js;
    mc.opt.p.lr = (float)a->lr;
    run r = {0};
    uae_status st = uae_mine_create(be, &mc, 1, a->batch, 1, 1, (int)a->dim, &r.m);
    if (st == UAE_OK) st = uae_mine_reset(r.m, seed, 0);
    if (st == UAE_OK) st = uae_arena_create(be, 1 << 20, &r.ar);
    if (st == UAE_OK) st = uae_tape_create(r.ar, &r.t);
    int64_t shape[3] = {1, a->batch, a->dim};
    if (st == UAE_OK) st = uae_arena_tensor(r.ar, 3, shape, &r.xs);
    if (st == UAE_OK) st = uae_arena_tensor(r.ar, 3, shape, &r.ys);
    size_t nd = (size_t)(a->batch * a->dim);
    if (st == UAE_OK) {
        r.hx = malloc(nd * sizeof *r.hx);
        r.hy = malloc(nd * sizeof *r.hy);
        if (!r.hx || !r.hy) st = uae_fail(UAE_ERR_NOMEM, "uae mine: out of host memory");
    }
    res->truth = true_mi(a->rho, a->dim);
    /* The training bounds are noisy: report the mean of the last tenth of the steps. */
    int64_t last = a->steps / 10 > 0 ? a->steps / 10 : 1;
    res->last_bounds = 0.0;
    /* Streams 0, 1: training batches; 2, 3: the trace's estimates; 4, 5: the final estimate (the
     * same batches whatever --eval-every says). */
    uint64_t next_eval = 0; /* the trace's evaluation batches used so far: each one fresh */
    for (int64_t step = 0; st == UAE_OK && step < a->steps; step++) {
        draw_pairs(seed, 0, (uint64_t)step, a, r.hx, r.hy);
        st = uae_tensor_write(&r.xs, r.hx);
        if (st == UAE_OK) st = uae_tensor_write(&r.ys, r.hy);
        float bound = NAN;
        if (st == UAE_OK) st = uae_mine_train_step(r.m, r.t, &r.xs, &r.ys, &bound);
        if (st != UAE_OK) break;
        if (step >= a->steps - last) res->last_bounds += bound / (double)last;
        if (!trace) continue;
        /* The bound is that of the weights before this step, on this step's batch. */
        json_t *o = json_object();
        json_object_set_new(o, "step", json_integer((json_int_t)step));
        json_object_set_new(o, "bound", number_or_null(bound));
        json_object_set_new(o, "true_mi", json_real(res->truth));
        if (a->eval_every > 0 && (step + 1) % a->eval_every == 0) {
            double mean, sd;
            st = evaluate(&r, seed, a, 2, next_eval, 1, &mean, &sd);
            next_eval++;
            json_object_set_new(o, "estimate", number_or_null(mean));
        }
        if (st == UAE_OK) st = uae_jsonl_write(trace, o);
        json_decref(o);
    }
    if (st == UAE_OK)
        st = evaluate(&r, seed, a, 4, 0, a->eval_batches, &res->estimate, &res->estimate_sd);
    if (st == UAE_OK && trace)
        st = uae_jsonl_writef(trace, "{s:b, s:f, s:f, s:f, s:f}", "end", 1, "true_mi", res->truth,
                              "estimate", res->estimate, "estimate_sd", res->estimate_sd,
                              "last_bounds", res->last_bounds);
    run_free(&r);
    return st;
}

static const char *unit_of(const mine_args *a) {
    return a->estimator == UAE_MINE_EST_JS ? "(JS bound, not in nats)" : "nats";
}

static int run_mine_cmd(const cli_command *cmd, cli_globals *g, int argc, char **argv) {
    mine_args a = {.rho = 0.9, .dim = 5, .estimator = UAE_MINE_EST_DV, .head = UAE_MINE_HEAD_SUM,
                   .hidden = 64, .steps = 1000, .batch = 256, .eval_batches = 8, .lr = 1e-3};
    int rc = parse_args(cmd, g, argc, argv, &a);
    if (rc != CLI_EXIT_OK || a.stop) return rc;
    uae_backend *be = NULL;
    rc = cli_open_device(cmd, g, &be);
    if (rc != CLI_EXIT_OK) return rc;
    uae_jsonl *trace = NULL;
    uae_status st = a.trace ? uae_jsonl_open(a.trace, false, &trace) : UAE_OK;
    result res = {0};
    if (st == UAE_OK) st = run_mine(be, g->seed, &a, trace, &res);
    uae_status cst = uae_jsonl_close(trace);
    if (st == UAE_OK) st = cst;
    if (st != UAE_OK) {
        fprintf(stderr, "uae mine: %s\n", uae_last_error());
        uae_backend_free(be);
        return CLI_EXIT_FAILURE;
    }
    const char *est = uae_mine_estimator_name(a.estimator);
    if (a.json) {
        json_t *o = json_pack("{s:s, s:f, s:I, s:s, s:I, s:I, s:f, s:s, s:f, s:f, s:f, s:f}",
                              "estimator", est, "rho", a.rho, "dim", (json_int_t)a.dim, "head",
                              a.head == UAE_MINE_HEAD_DOT ? "dot" : "sum", "steps",
                              (json_int_t)a.steps, "batch", (json_int_t)a.batch, "lr", a.lr,
                              "device", uae_backend_name(be), "true_mi", res.truth, "estimate",
                              res.estimate, "estimate_sd", res.estimate_sd, "last_bounds",
                              res.last_bounds);
        char *text = o ? json_dumps(o, JSON_PRESERVE_ORDER) : NULL;
        json_decref(o);
        if (text) puts(text);
        free(text);
    } else {
        printf("uae mine: %s bound%s, rho %g, dim %lld, batch %lld, %lld steps, lr %g, hidden %lld,"
               " head %s, device %s\n", est, a.ema ? " (EMA gradient)" : a.train_js ?
               " (trained on JS)" : "", a.rho, a.dim, a.batch, a.steps, a.lr, a.hidden,
               a.head == UAE_MINE_HEAD_DOT ? "dot" : "sum", uae_backend_name(be));
        printf("true MI:     %.4f nats   (-dim/2 log(1 - rho^2))\n", res.truth);
        printf("estimate:    %.4f %s   (std %.4f over %lld fresh batches, all pairs)\n",
               res.estimate, unit_of(&a), res.estimate_sd, a.eval_batches);
        printf("last bounds: %.4f %s   (training bound, mean of the last tenth of the steps)\n",
               res.last_bounds, unit_of(&a));
        if (a.estimator == UAE_MINE_EST_INFONCE)
            printf("note: InfoNCE is at most log(batch) = %.4f nats\n", log((double)a.batch));
    }
    uae_backend_free(be);
    return CLI_EXIT_OK;
}

const cli_command cli_cmd_mine = {
    .name = "mine",
    .summary = "estimate a known mutual information with MINE (correlated Gaussians)",
    .usage = "mine [--rho R] [--dim D] [--estimator dv|js|infonce] [--steps N] [--batch B] "
             "[--lr X] [--trace FILE] [OPTIONS]",
    .help =
        "Trains one MINE statistics network (the dense \"mine-dense\" net of uae attack) on\n"
        "pairs (x, y) in R^D with x ~ N(0, I) and y = rho x + sqrt(1 - rho^2) z, whose mutual\n"
        "information is known: I(X; Y) = -D/2 log(1 - rho^2) nats. Every step draws a fresh\n"
        "batch (counter RNG, --seed); after training the bound is evaluated on fresh batches\n"
        "with all pairs of a batch as marginal samples. Prints the true MI and the estimate.\n\n"
        "Options:\n"
        "  --rho R            correlation of each coordinate pair, |R| < 1 (default 0.9)\n"
        "  --dim D            dimension of x and of y (default 5)\n"
        "  --estimator E      dv (Donsker-Varadhan, nats), js (Jensen-Shannon: a training\n"
        "                     signal, not in nats) or infonce (nats, at most log B) (default dv)\n"
        "  --head H           sum (T = w . relu(fx + fy), the official net) or dot (T = fx . fy,\n"
        "                     a separable critic) (default sum)\n"
        "  --hidden H         width of each branch's hidden layer (default 64)\n"
        "  --steps N          training steps, one fresh batch each (default 1000)\n"
        "  --batch B          samples per batch, 2..4096 (default 256)\n"
        "  --lr X             Adam's learning rate (default 0.001)\n"
        "  --ema              DV only: the moving-average-corrected gradient of the MINE paper\n"
        "  --train-js         DV only: train on the JS bound, report the DV bound of that T\n"
        "  --eval-batches K   fresh batches for the final estimate (default 8)\n"
        "  --eval-every K     with --trace: an estimate on one fresh batch every K steps\n"
        "                     (\"estimate\" in the trace), 0 = never (default 0)\n"
        "  --trace FILE       one JSON line per step: step, bound (before the step, on its\n"
        "                     batch), true_mi [, estimate]; then an end record\n"
        "  --json             print the result as one JSON object\n",
    .run = run_mine_cmd,
};
