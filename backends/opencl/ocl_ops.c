/* backends/opencl/ocl_ops.c — every op of uae/ops.h on an OpenCL device: supports() and the one
 * dispatch point compute(), one small launcher per op. GEMM and the convolutions go through
 * CLBlast (or, on devices where CLBlast cannot run, the plain kernel of ocl_gemm.cl); everything
 * else is a kernel of the .cl files. Nothing here waits for the device. */
#include <limits.h>
#include <string.h>

#include "backends/opencl/opencl_internal.h" /* first: it sets CL_TARGET_OPENCL_VERSION */

#include <clblast_c.h>

#include "core/pointwise_math.h" /* uae_optim_consts_of */

/* ---- Kernel arguments and launches --------------------------------------------------------- */

/* One kernel argument: its size and a pointer to its value. A NULL tensor is a cl_mem that is
 * NULL, which OpenCL 1.2 passes to the kernel as a NULL __global pointer. */
typedef struct karg {
    size_t size;
    const void *value;
} karg;
#define ARG(v) ((karg){sizeof(v), &(v)})

/* A tensor as a kernel sees it: the buffer and the offset of its first float. */
typedef struct tbuf {
    cl_mem mem;
    cl_int off;
} tbuf;

static tbuf tbuf_of(const uae_tensor *t) {
    tbuf b = {NULL, 0};
    if (t) {
        b.mem = (cl_mem)t->buf;
        b.off = (cl_int)t->offset;
    }
    return b;
}

static uae_status set_args(ocl_ctx *c, ocl_kernel_id k, const karg *args, int nargs) {
    for (int i = 0; i < nargs; i++) {
        cl_int err = clSetKernelArg(c->kernels[k], (cl_uint)i, args[i].size, args[i].value);
        if (err != CL_SUCCESS)
            return uae_ocl_fail(err, "clSetKernelArg", "kernel %s, argument %d",
                                uae_ocl_kernel_name(k), i);
    }
    return UAE_OK;
}

static size_t pow2_floor(size_t v) {
    size_t p = 1;
    while (p * 2 <= v) p *= 2;
    return p;
}

/* Enqueues kernel k. Pointwise kernels (per_group false) get one work-item per element of
 * `count`; reduction kernels (per_group true) get `count` work-groups of a power-of-two size.
 * The work-group size starts from the device's limits and is halved when the driver answers
 * CL_INVALID_WORK_GROUP_SIZE or CL_OUT_OF_RESOURCES (registers, local memory). */
static uae_status enqueue(ocl_ctx *c, ocl_kernel_id k, const karg *args, int nargs, size_t count,
                          bool per_group) {
    if (count == 0) return UAE_OK;
    UAE_TRY(set_args(c, k, args, nargs));
    size_t limit = c->kernel_wg[k] < c->max_wg ? c->kernel_wg[k] : c->max_wg;
    size_t want = per_group ? c->tune.reduce_wg : c->tune.pointwise_wg;
    size_t local = pow2_floor(want < limit ? want : limit);
    for (;;) {
        size_t global = per_group ? count * local : (count + local - 1) / local * local;
        cl_int err = uae_ocl_fault_hit(&c->fault, OCL_FAULT_LAUNCH, (int)k)
                         ? CL_OUT_OF_RESOURCES
                         : clEnqueueNDRangeKernel(c->queue, c->kernels[k], 1, NULL, &global, &local,
                                                  0, NULL, NULL);
        if (err == CL_SUCCESS) {
            c->counters.launches++;
            return UAE_OK;
        }
        if ((err == CL_INVALID_WORK_GROUP_SIZE || err == CL_OUT_OF_RESOURCES) && local > 1) {
            local /= 2;
            continue;
        }
        return uae_ocl_fail(err, "clEnqueueNDRangeKernel", "kernel %s, %zu %s, work-group %zu, "
                            "on %s", uae_ocl_kernel_name(k), count, per_group ? "groups" : "items",
                            local, c->info.name);
    }
}

#define LAUNCH(c, k, count, ...)                                                                   \
    enqueue((c), (k), (const karg[]){__VA_ARGS__},                                                 \
            (int)(sizeof((karg[]){__VA_ARGS__}) / sizeof(karg)), (size_t)(count), false)
#define LAUNCH_GROUPS(c, k, count, ...)                                                            \
    enqueue((c), (k), (const karg[]){__VA_ARGS__},                                                 \
            (int)(sizeof((karg[]){__VA_ARGS__}) / sizeof(karg)), (size_t)(count), true)

/* ---- GEMM (CLBlast) ------------------------------------------------------------------------ */

/* A row-major strided-batched GEMM on buffers, offsets in floats. With beta == 0, CLBlast does not
 * let NaN or Inf in C through (checked for 1.5.3: tests/test_opencl.c test_gemm_nan, on every
 * device the tests run on), so C needs no zeroing first. */
typedef struct gemm_call {
    bool ta, tb;
    size_t m, n, k;
    float alpha, beta;
    cl_mem a, b, c;
    size_t aoff, boff, coff, lda, ldb, ldc, sa, sb, sc, batch;
} gemm_call;

/* The plain kernel of ocl_gemm.cl: one work-item per element of C. */
static uae_status gemm_builtin(ocl_ctx *c, const gemm_call *g) {
    cl_int aoff = (cl_int)g->aoff, lda = (cl_int)g->lda, sa = (cl_int)g->sa, boff = (cl_int)g->boff,
           ldb = (cl_int)g->ldb, sb = (cl_int)g->sb, coff = (cl_int)g->coff, ldc = (cl_int)g->ldc,
           sc = (cl_int)g->sc, batch = (cl_int)g->batch, m = (cl_int)g->m, n = (cl_int)g->n,
           k = (cl_int)g->k, ta = g->ta, tb = g->tb;
    return LAUNCH(c, OCL_K_GEMM_BUILTIN, g->batch * g->m * g->n, ARG(g->a), ARG(aoff), ARG(lda),
                  ARG(sa), ARG(g->b), ARG(boff), ARG(ldb), ARG(sb), ARG(g->c), ARG(coff), ARG(ldc),
                  ARG(sc), ARG(batch), ARG(m), ARG(n), ARG(k), ARG(ta), ARG(tb), ARG(g->alpha),
                  ARG(g->beta));
}

/* CLBlast's answers that mean "this device cannot run my kernels" (rather than a bad argument or
 * a full memory): its work-groups are too large or its local memory too big for the device, its
 * kernels do not compile there, or it has no parameters for it. */
static bool clblast_unsuitable(CLBlastStatusCode st) {
    return st == CLBlastInvalidLocalThreadsTotal || st == CLBlastInvalidLocalThreadsDim ||
           st == CLBlastInvalidLocalMemUsage || st == CLBlastOpenCLBuildProgramFailure ||
           st == CLBlastNotImplemented || st == CLBlastDatabaseError;
}

static uae_status gemm_run(ocl_ctx *c, const gemm_call *g) {
    if (c->gemm_builtin) return gemm_builtin(c, g);
    CLBlastTranspose ta = g->ta ? CLBlastTransposeYes : CLBlastTransposeNo;
    CLBlastTranspose tb = g->tb ? CLBlastTransposeYes : CLBlastTransposeNo;
    CLBlastStatusCode st;
    const char *call;
    if (g->batch == 1) {
        call = "CLBlastSgemm";
        st = CLBlastSgemm(CLBlastLayoutRowMajor, ta, tb, g->m, g->n, g->k, g->alpha, g->a, g->aoff,
                          g->lda, g->b, g->boff, g->ldb, g->beta, g->c, g->coff, g->ldc, &c->queue,
                          NULL);
    } else {
        call = "CLBlastSgemmStridedBatched";
        st = CLBlastSgemmStridedBatched(CLBlastLayoutRowMajor, ta, tb, g->m, g->n, g->k, g->alpha,
                                        g->a, g->aoff, g->lda, g->sa, g->b, g->boff, g->ldb, g->sb,
                                        g->beta, g->c, g->coff, g->ldc, g->sc, g->batch, &c->queue,
                                        NULL);
    }
    if (st == CLBlastSuccess) c->counters.blas_calls++;
    if (clblast_unsuitable(st)) {
        /* From now on this device does its GEMMs with the builtin kernel (slower, but it runs
         * wherever our other kernels run). A failed CLBlast call has written nothing. */
        c->gemm_builtin = true;
        return gemm_builtin(c, g);
    }
    if (st != CLBlastSuccess)
        return uae_fail(st == CLBlastTempBufferAllocFailure || st == CLBlastOpenCLOutOfResources
                            ? UAE_ERR_NOMEM
                            : UAE_ERR_DEVICE,
                        "opencl: %s failed with %s (%d): m=%zu n=%zu k=%zu batch=%zu", call,
                        uae_clblast_error_name(st), (int)st, g->m, g->n, g->k, g->batch);
    return UAE_OK;
}

static uae_status gemm_ocl(ocl_ctx *c, const uae_op *op) {
    const uae_gemm_params *p = &op->p.gemm;
    /* Leading dimensions and strides are explicit here (uae_op_normalise). */
    gemm_call g = {.ta = p->trans_a,
                   .tb = p->trans_b,
                   .m = (size_t)p->m,
                   .n = (size_t)p->n,
                   .k = (size_t)p->k,
                   .alpha = p->alpha,
                   .beta = p->beta,
                   .a = tbuf_of(op->src[0]).mem,
                   .b = tbuf_of(op->src[1]).mem,
                   .c = tbuf_of(op->dst[0]).mem,
                   .aoff = op->src[0]->offset,
                   .boff = op->src[1]->offset,
                   .coff = op->dst[0]->offset,
                   .lda = (size_t)p->lda,
                   .ldb = (size_t)p->ldb,
                   .ldc = (size_t)p->ldc,
                   .sa = (size_t)p->stride_a,
                   .sb = (size_t)p->stride_b,
                   .sc = (size_t)p->stride_c,
                   .batch = (size_t)p->batch};
    return gemm_run(c, &g);
}

/* ---- Convolutions: im2col + GEMM per weight set, in chunks of images ----------------------- */
/* With several weight sets (MINE's per-estimator networks: wsets = S), as many whole sets as fit
 * in the scratch go through it together: one im2col, one strided-batched GEMM over the sets and
 * one unpack for all of them, instead of three launches per set; the launches per convolution no
 * longer grow with the number of sets while they fit. */

/* The geometry of one convolution, and how many images go through the scratch at once. */
typedef struct conv_geom {
    int n, ch, h, w, g, k, r, s, p, q; /* N, C, H, W, wsets G, filters per set K, R, S, P, Q */
    int ng;                            /* images per weight set, N / G */
    int chunk;                         /* images per im2col chunk (of one weight set) */
    int sets;                          /* weight sets per chunk: > 1 only when chunk == ng */
    cl_int4 st;                        /* stride_h, stride_w, pad_h, pad_w */
} conv_geom;

static conv_geom conv_geometry(const ocl_ctx *c, const uae_op *op, const uae_tensor *x,
                               const uae_tensor *w, const uae_tensor *y) {
    const uae_conv_params *cp = &op->p.conv;
    conv_geom g = {.n = (int)x->shape[0], .ch = (int)x->shape[1], .h = (int)x->shape[2],
                   .w = (int)x->shape[3], .g = cp->wsets, .r = (int)w->shape[2],
                   .s = (int)w->shape[3], .p = (int)y->shape[2], .q = (int)y->shape[3]};
    g.k = (int)w->shape[0] / g.g;
    g.ng = g.n / g.g;
    g.st = (cl_int4){{cp->stride_h, cp->stride_w, cp->pad_h, cp->pad_w}};
    /* The larger of the two scratch matrices per image decides how many images fit. */
    size_t per_image =
        (size_t)g.p * g.q * (size_t)(g.ch * g.r * g.s > g.k ? g.ch * g.r * g.s : g.k);
    size_t fit = c->tune.scratch_floats / per_image;
    g.chunk = fit < 1 ? 1 : (fit > (size_t)g.ng ? g.ng : (int)fit);
    /* Whole sets go through a scratch of up to set_scratch_floats together: each set is its own
     * product of the strided-batched GEMM, so how many share a chunk changes no sum, only the
     * number of launches (three per chunk). The images of one set are chunked by the tuned size
     * alone, since that decides the GEMM's shape and with it the order of its sums. */
    size_t sets = g.chunk == g.ng ? c->set_scratch_floats / per_image / (size_t)g.ng : 1;
    g.sets = sets < 1 ? 1 : (sets > (size_t)g.g ? g.g : (int)sets);
    return g;
}

static uae_status conv_scratch(ocl_ctx *c, const conv_geom *g, cl_mem *col, cl_mem *tmp) {
    size_t cols = (size_t)g->sets * g->chunk * g->p * g->q;
    UAE_TRY(uae_ocl_scratch(c, 0, (size_t)g->ch * g->r * g->s * cols * sizeof(float), col));
    return uae_ocl_scratch(c, 1, (size_t)g->k * cols * sizeof(float), tmp);
}

/* im2col of images [img, img + cnt) of x into col (C*R*S, cnt*P*Q). */
static uae_status im2col(ocl_ctx *c, const conv_geom *g, tbuf x, int img, int cnt, cl_mem col) {
    cl_int xoff = x.off + img * g->ch * g->h * g->w;
    cl_int4 a = {{g->ch, g->h, g->w, g->r}}, b = {{g->s, g->p, g->q, cnt}};
    size_t total = (size_t)g->ch * g->r * g->s * cnt * g->p * g->q;
    return LAUNCH(c, OCL_K_IM2COL, total, ARG(x.mem), ARG(xoff), ARG(col), ARG(a), ARG(b),
                  ARG(g->st));
}

/* (cnt, K, PQ) images of dy starting at img -> tmp (K, cnt*PQ). */
static uae_status pack_dy(ocl_ctx *c, const conv_geom *g, tbuf dy, int img, int cnt, cl_mem tmp) {
    cl_int off = dy.off + img * g->k * g->p * g->q, k = g->k, pq = g->p * g->q, nb = cnt;
    return LAUNCH(c, OCL_K_PACK_NKQ, (size_t)cnt * k * pq, ARG(dy.mem), ARG(off), ARG(tmp), ARG(nb),
                  ARG(k), ARG(pq));
}

static uae_status conv2d_ocl(ocl_ctx *c, const uae_op *op) {
    conv_geom g = conv_geometry(c, op, op->src[0], op->src[1], op->dst[0]);
    tbuf x = tbuf_of(op->src[0]), w = tbuf_of(op->src[1]), bias = tbuf_of(op->src[2]),
         y = tbuf_of(op->dst[0]);
    cl_mem col, tmp;
    UAE_TRY(conv_scratch(c, &g, &col, &tmp));
    size_t crs = (size_t)g.ch * g.r * g.s, pq = (size_t)g.p * g.q;
    for (int set = 0; set < g.g; set += g.sets)
        for (int n0 = 0; n0 < g.ng; n0 += g.chunk) {
            int gs = g.g - set < g.sets ? g.g - set : g.sets;
            int cnt = g.ng - n0 < g.chunk ? g.ng - n0 : g.chunk, img = set * g.ng + n0;
            size_t imgs = (size_t)gs * cnt; /* gs > 1 only with cnt == ng: whole sets */
            UAE_TRY(im2col(c, &g, x, img, (int)imgs, col));
            /* for each of the gs sets: tmp_set (K, cnt*PQ) = w_set (K, CRS) @ col_set (CRS,
             * cnt*PQ), the sets side by side in the columns of tmp and col */
            gemm_call gc = {.m = (size_t)g.k, .n = cnt * pq, .k = crs, .alpha = 1.0f, .beta = 0.0f,
                            .a = w.mem, .aoff = (size_t)w.off + set * g.k * crs, .lda = crs,
                            .sa = g.k * crs, .b = col, .ldb = imgs * pq, .sb = cnt * pq, .c = tmp,
                            .ldc = imgs * pq, .sc = cnt * pq, .batch = (size_t)gs};
            UAE_TRY(gemm_run(c, &gc));
            cl_int boff = bias.off + set * g.k, yoff = y.off + img * g.k * (int)pq,
                   nb = (cl_int)imgs, k = g.k, pqi = (int)pq, per_set = cnt;
            UAE_TRY(LAUNCH(c, OCL_K_UNPACK_KNQ, imgs * k * pq, ARG(tmp), ARG(bias.mem),
                           ARG(boff), ARG(y.mem), ARG(yoff), ARG(nb), ARG(k), ARG(pqi),
                           ARG(per_set)));
        }
    return UAE_OK;
}

static uae_status conv2d_bwd_data_ocl(ocl_ctx *c, const uae_op *op) {
    conv_geom g = conv_geometry(c, op, op->dst[0], op->src[1], op->src[0]);
    tbuf dy = tbuf_of(op->src[0]), w = tbuf_of(op->src[1]), dx = tbuf_of(op->dst[0]);
    cl_mem col, tmp;
    UAE_TRY(conv_scratch(c, &g, &col, &tmp));
    size_t crs = (size_t)g.ch * g.r * g.s, pq = (size_t)g.p * g.q;
    float beta = op->p.conv.beta;
    for (int set = 0; set < g.g; set += g.sets)
        for (int n0 = 0; n0 < g.ng; n0 += g.chunk) {
            int gs = g.g - set < g.sets ? g.g - set : g.sets;
            int cnt = g.ng - n0 < g.chunk ? g.ng - n0 : g.chunk, img = set * g.ng + n0;
            size_t imgs = (size_t)gs * cnt; /* gs > 1 only with cnt == ng: whole sets */
            UAE_TRY(pack_dy(c, &g, dy, img, (int)imgs, tmp));
            /* for each of the gs sets: col_set (CRS, cnt*PQ) = w_set^T (CRS, K) @ tmp_set (K,
             * cnt*PQ) */
            gemm_call gc = {.ta = true, .m = crs, .n = cnt * pq, .k = (size_t)g.k, .alpha = 1.0f,
                            .beta = 0.0f, .a = w.mem, .aoff = (size_t)w.off + set * g.k * crs,
                            .lda = crs, .sa = g.k * crs, .b = tmp, .ldb = imgs * pq,
                            .sb = cnt * pq, .c = col, .ldc = imgs * pq, .sc = cnt * pq,
                            .batch = (size_t)gs};
            UAE_TRY(gemm_run(c, &gc));
            cl_int off = dx.off + img * g.ch * g.h * g.w;
            cl_int4 a = {{g.ch, g.h, g.w, g.r}}, b = {{g.s, g.p, g.q, (cl_int)imgs}};
            UAE_TRY(LAUNCH(c, OCL_K_COL2IM, imgs * g.ch * g.h * g.w, ARG(col), ARG(dx.mem),
                           ARG(off), ARG(a), ARG(b), ARG(g.st), ARG(beta)));
        }
    return UAE_OK;
}

/* Forward declaration: the bias gradient is a reduction. */
static uae_status reduce_launch(ocl_ctx *c, tbuf x, tbuf y, int fn, const int *shape, int ndim,
                                unsigned axes, float beta);

static uae_status conv2d_bwd_weight_ocl(ocl_ctx *c, const uae_op *op) {
    conv_geom g = conv_geometry(c, op, op->src[0], op->dst[0], op->src[1]);
    tbuf x = tbuf_of(op->src[0]), dy = tbuf_of(op->src[1]), dw = tbuf_of(op->dst[0]),
         db = tbuf_of(op->dst[1]);
    cl_mem col, tmp;
    UAE_TRY(conv_scratch(c, &g, &col, &tmp));
    size_t crs = (size_t)g.ch * g.r * g.s, pq = (size_t)g.p * g.q;
    for (int set = 0; set < g.g; set += g.sets)
        for (int n0 = 0; n0 < g.ng; n0 += g.chunk) {
            int gs = g.g - set < g.sets ? g.g - set : g.sets;
            int cnt = g.ng - n0 < g.chunk ? g.ng - n0 : g.chunk, img = set * g.ng + n0;
            size_t imgs = (size_t)gs * cnt; /* gs > 1 only with cnt == ng: whole sets */
            UAE_TRY(im2col(c, &g, x, img, (int)imgs, col));
            UAE_TRY(pack_dy(c, &g, dy, img, (int)imgs, tmp));
            /* for each of the gs sets: dw_set (K, CRS) = beta' * dw_set + tmp_set (K, cnt*PQ) @
             * col_set^T (cnt*PQ, CRS): the chunks of one set are added in order, so the sum's
             * order is fixed. */
            gemm_call gc = {.tb = true, .m = (size_t)g.k, .n = crs, .k = cnt * pq, .alpha = 1.0f,
                            .beta = n0 == 0 ? op->p.conv.beta : 1.0f, .a = tmp,
                            .lda = imgs * pq, .sa = cnt * pq, .b = col, .ldb = imgs * pq,
                            .sb = cnt * pq, .c = dw.mem, .coff = (size_t)dw.off + set * g.k * crs,
                            .ldc = crs, .sc = g.k * crs, .batch = (size_t)gs};
            UAE_TRY(gemm_run(c, &gc));
        }
    if (!db.mem) return UAE_OK;
    /* db[set*K + k] = sum over the set's images and (p, q) of dy: dy seen as (G, N/G, K, PQ),
     * reduced over dimensions 1 and 3. */
    int shape[4] = {g.g, g.ng, g.k, g.p * g.q};
    return reduce_launch(c, dy, db, UAE_REDUCE_SUM, shape, 4, 0xAu, op->p.conv.beta);
}

/* ---- Pooling and upsampling ---------------------------------------------------------------- */

static uae_status pool_ocl(ocl_ctx *c, const uae_op *op) {
    const uae_tensor *x = op->src[0];
    cl_int nc = (cl_int)(x->shape[0] * x->shape[1]), h = (cl_int)x->shape[2],
           w = (cl_int)x->shape[3];
    tbuf s0 = tbuf_of(op->src[0]), s1 = tbuf_of(op->src[1]), d0 = tbuf_of(op->dst[0]);
    switch (op->kind) {
    case UAE_OP_MAXPOOL2:
        return LAUNCH(c, OCL_K_MAXPOOL2, (size_t)nc * (h / 2) * (w / 2), ARG(s0.mem), ARG(s0.off),
                      ARG(d0.mem), ARG(d0.off), ARG(nc), ARG(h), ARG(w));
    case UAE_OP_MAXPOOL2_BWD:
        return LAUNCH(c, OCL_K_MAXPOOL2_BWD, (size_t)nc * h * w, ARG(s0.mem), ARG(s0.off),
                      ARG(s1.mem), ARG(s1.off), ARG(d0.mem), ARG(d0.off), ARG(nc), ARG(h), ARG(w));
    case UAE_OP_UPSAMPLE2: /* x is the small side here */
        return LAUNCH(c, OCL_K_UPSAMPLE2, (size_t)nc * 4 * h * w, ARG(s0.mem), ARG(s0.off),
                      ARG(d0.mem), ARG(d0.off), ARG(nc), ARG(h), ARG(w));
    default: { /* UPSAMPLE2_BWD: sizes of dx, the small side */
        const uae_tensor *dx = op->dst[0];
        nc = (cl_int)(dx->shape[0] * dx->shape[1]);
        h = (cl_int)dx->shape[2];
        w = (cl_int)dx->shape[3];
        return LAUNCH(c, OCL_K_UPSAMPLE2_BWD, (size_t)nc * h * w, ARG(s0.mem), ARG(s0.off),
                      ARG(d0.mem), ARG(d0.off), ARG(nc), ARG(h), ARG(w));
    }
    }
}

/* ---- Pointwise ops ------------------------------------------------------------------------- */

/* The shape of t padded with leading 1s to four dimensions. */
static void shape4(const uae_tensor *t, int out[4]) {
    for (int d = 0; d < 4; d++) out[d] = 1;
    for (int d = 0; d < t->ndim; d++) out[4 - t->ndim + d] = (int)t->shape[d];
}

static uae_status binary_ocl(ocl_ctx *c, const uae_op *op) {
    int as[4], bs[4];
    shape4(op->src[0], as);
    shape4(op->src[1], bs);
    /* b's row-major strides, 0 along the dimensions where it is broadcast. */
    cl_int4 shape, bstride;
    int stride = 1;
    for (int d = 3; d >= 0; d--) {
        shape.s[d] = as[d];
        bstride.s[d] = bs[d] == 1 ? 0 : stride;
        stride *= bs[d];
    }
    tbuf a = tbuf_of(op->src[0]), b = tbuf_of(op->src[1]), y = tbuf_of(op->dst[0]);
    cl_int n = (cl_int)uae_tensor_numel(op->src[0]), fn = (cl_int)op->p.binary.fn;
    return LAUNCH(c, OCL_K_BINARY, n, ARG(a.mem), ARG(a.off), ARG(b.mem), ARG(b.off), ARG(y.mem),
                  ARG(y.off), ARG(n), ARG(fn), ARG(shape), ARG(bstride));
}

static uae_status unary_ocl(ocl_ctx *c, const uae_op *op) {
    const uae_unary_params *u = &op->p.unary;
    cl_int n = (cl_int)uae_tensor_numel(op->src[0]), fn = (cl_int)u->fn;
    tbuf x = tbuf_of(op->src[0]), y = tbuf_of(op->dst[0]);
    if (op->kind == UAE_OP_UNARY)
        return LAUNCH(c, OCL_K_UNARY, n, ARG(x.mem), ARG(x.off), ARG(y.mem), ARG(y.off), ARG(n),
                      ARG(fn), ARG(u->alpha), ARG(u->beta));
    tbuf fy = tbuf_of(op->src[1]), dy = tbuf_of(op->src[2]);
    return LAUNCH(c, OCL_K_UNARY_BWD, n, ARG(x.mem), ARG(x.off), ARG(fy.mem), ARG(fy.off),
                  ARG(dy.mem), ARG(dy.off), ARG(y.mem), ARG(y.off), ARG(n), ARG(fn), ARG(u->alpha));
}

static uae_status fill_ocl(ocl_ctx *c, const uae_op *op) {
    tbuf y = tbuf_of(op->dst[0]);
    cl_int n = (cl_int)uae_tensor_numel(op->dst[0]);
    return LAUNCH(c, OCL_K_FILL, n, ARG(y.mem), ARG(y.off), ARG(n), ARG(op->p.fill.value));
}

static uae_status clamp_ocl(ocl_ctx *c, const uae_op *op) {
    tbuf x = tbuf_of(op->src[0]), y = tbuf_of(op->dst[0]);
    cl_int n = (cl_int)uae_tensor_numel(op->src[0]);
    return LAUNCH(c, OCL_K_CLAMP, n, ARG(x.mem), ARG(x.off), ARG(y.mem), ARG(y.off), ARG(n),
                  ARG(op->p.clamp.lo), ARG(op->p.clamp.hi));
}

static uae_status optim_ocl(ocl_ctx *c, const uae_op *op) {
    const uae_optim_params *o = &op->p.optim;
    tbuf g = tbuf_of(op->src[0]), p = tbuf_of(op->dst[0]), s1 = tbuf_of(op->dst[1]),
         s2 = tbuf_of(op->dst[2]);
    cl_int n = (cl_int)uae_tensor_numel(op->src[0]), fn = (cl_int)o->fn, nesterov = o->nesterov;
    /* The state tensors this optimizer uses (the caller may pass more). */
    if (o->fn == UAE_OPTIM_SGD && o->momentum == 0.0f) s1.mem = NULL;
    if (o->fn == UAE_OPTIM_SGD || o->fn == UAE_OPTIM_RMSPROP) s2.mem = NULL;
    uae_optim_consts k = uae_optim_consts_of(o); /* Adam's bias corrections as the CPU's */
    cl_float4 h = {{k.lr, k.momentum, k.weight_decay, k.beta1}};
    cl_float4 h2 = {{k.beta2, k.rho, k.eps, 0.0f}};
    cl_float2 bc = {{k.bc1, k.bc2}};
    return LAUNCH(c, OCL_K_OPTIM, n, ARG(g.mem), ARG(g.off), ARG(p.mem), ARG(p.off), ARG(s1.mem),
                  ARG(s1.off), ARG(s2.mem), ARG(s2.off), ARG(n), ARG(fn), ARG(nesterov), ARG(h),
                  ARG(h2), ARG(bc));
}

static uae_status attack_ocl(ocl_ctx *c, const uae_op *op) {
    const uae_attack_params *a = &op->p.attack;
    tbuf x = tbuf_of(op->src[0]), g = tbuf_of(op->src[1]), lr = tbuf_of(op->src[2]),
         d = tbuf_of(op->dst[0]), xa = tbuf_of(op->dst[1]);
    cl_int n = (cl_int)uae_tensor_numel(op->src[0]), dim = (cl_int)op->src[0]->shape[1],
           sign = a->sign;
    cl_float4 p = {{a->lr, a->eps, a->lo, a->hi}};
    return LAUNCH(c, OCL_K_ATTACK_STEP, n, ARG(x.mem), ARG(x.off), ARG(g.mem), ARG(g.off),
                  ARG(lr.mem), ARG(lr.off), ARG(d.mem), ARG(d.off), ARG(xa.mem), ARG(xa.off),
                  ARG(n), ARG(dim), ARG(p), ARG(sign));
}

static uae_status rows_ocl(ocl_ctx *c, const uae_op *op) {
    bool gather = op->kind == UAE_OP_GATHER_ROWS;
    const uae_tensor *big = gather ? op->src[0] : op->dst[0];
    tbuf s = tbuf_of(op->src[0]), idx = tbuf_of(op->src[1]), d = tbuf_of(op->dst[0]);
    cl_int nb = (cl_int)big->shape[0], nbig = (cl_int)big->shape[1], dim = (cl_int)big->shape[2],
           m = (cl_int)op->src[1]->shape[1];
    return LAUNCH(c, gather ? OCL_K_GATHER_ROWS : OCL_K_SCATTER_ROWS, (size_t)nb * m * dim,
                  ARG(s.mem), ARG(s.off), ARG(idx.mem), ARG(idx.off), ARG(d.mem), ARG(d.off),
                  ARG(nb), ARG(nbig), ARG(m), ARG(dim));
}

/* ---- Reductions ----------------------------------------------------------------------------- */

/* Reduces x (shape[0..ndim)) over the dimensions in axes into y, one work-group per output.
 * Kept and reduced dimensions are listed separately, each padded in front to four. */
static uae_status reduce_launch(ocl_ctx *c, tbuf x, tbuf y, int fn, const int *shape, int ndim,
                                unsigned axes, float beta) {
    int stride[4], ks[4] = {1, 1, 1, 1}, kst[4] = {0}, rs[4] = {1, 1, 1, 1}, rst[4] = {0};
    int s = 1;
    for (int d = ndim - 1; d >= 0; d--) {
        stride[d] = s;
        s *= shape[d];
    }
    int nk = 0, nr = 0;
    for (int d = ndim - 1; d >= 0;
         d--) { /* fill from the back: the last dimension varies fastest */
        if (axes >> d & 1) {
            rs[3 - nr] = shape[d];
            rst[3 - nr++] = stride[d];
        } else {
            ks[3 - nk] = shape[d];
            kst[3 - nk++] = stride[d];
        }
    }
    cl_int4 kshape = {{ks[0], ks[1], ks[2], ks[3]}}, kstride = {{kst[0], kst[1], kst[2], kst[3]}};
    cl_int4 rshape = {{rs[0], rs[1], rs[2], rs[3]}}, rstride = {{rst[0], rst[1], rst[2], rst[3]}};
    cl_int m = rs[0] * rs[1] * rs[2] * rs[3], f = fn;
    size_t outputs = (size_t)ks[0] * ks[1] * ks[2] * ks[3];
    return LAUNCH_GROUPS(c, OCL_K_REDUCE, outputs, ARG(x.mem), ARG(x.off), ARG(y.mem), ARG(y.off),
                         ARG(f), ARG(m), ARG(kshape), ARG(kstride), ARG(rshape), ARG(rstride),
                         ARG(beta));
}

static uae_status reduce_ocl(ocl_ctx *c, const uae_op *op) {
    const uae_tensor *x = op->src[0];
    int shape[UAE_MAX_DIMS];
    for (int d = 0; d < x->ndim; d++) shape[d] = (int)x->shape[d];
    return reduce_launch(c, tbuf_of(x), tbuf_of(op->dst[0]), (int)op->p.reduce.fn, shape, x->ndim,
                         op->p.reduce.axes, 0.0f);
}

static uae_status softmax_ocl(ocl_ctx *c, const uae_op *op) {
    const uae_tensor *x = op->src[0];
    tbuf xb = tbuf_of(x), y = tbuf_of(op->dst[0]);
    cl_int n = (cl_int)x->shape[x->ndim - 1], logsm = op->p.softmax.log;
    size_t rows = (size_t)(uae_tensor_numel(x) / n);
    return LAUNCH_GROUPS(c, OCL_K_SOFTMAX, rows, ARG(xb.mem), ARG(xb.off), ARG(y.mem), ARG(y.off),
                         ARG(n), ARG(logsm));
}

static uae_status mine_ocl(ocl_ctx *c, const uae_op *op) {
    tbuf tj = tbuf_of(op->src[0]), tm = tbuf_of(op->src[1]), up = tbuf_of(op->src[2]),
         bound = tbuf_of(op->dst[0]), dtj = tbuf_of(op->dst[1]), dtm = tbuf_of(op->dst[2]);
    cl_int n = (cl_int)op->src[0]->shape[1], m = (cl_int)op->src[1]->shape[1],
           kind = (cl_int)op->p.mine.kind;
    return LAUNCH_GROUPS(c, OCL_K_MINE_BOUND, (size_t)op->src[0]->shape[0], ARG(tj.mem),
                         ARG(tj.off), ARG(tm.mem), ARG(tm.off), ARG(up.mem), ARG(up.off),
                         ARG(bound.mem), ARG(bound.off), ARG(dtj.mem), ARG(dtj.off), ARG(dtm.mem),
                         ARG(dtm.off), ARG(n), ARG(m), ARG(kind));
}

/* ---- Random numbers ------------------------------------------------------------------------ */

static uae_status rng_ocl(ocl_ctx *c, const uae_op *op) {
    const uae_rng_params *r = &op->p.rng;
    tbuf y = tbuf_of(op->dst[0]);
    cl_ulong seed = r->seed, stream = r->stream, counter = r->counter;
    if (op->kind == UAE_OP_RNG) {
        cl_int n = (cl_int)uae_tensor_numel(op->dst[0]), dist = (cl_int)r->dist;
        return LAUNCH(c, OCL_K_RNG, n, ARG(y.mem), ARG(y.off), ARG(n), ARG(dist), ARG(seed),
                      ARG(stream), ARG(counter), ARG(r->a), ARG(r->b));
    }
    cl_int rows = (cl_int)op->dst[0]->shape[0], n = (cl_int)op->dst[0]->shape[1];
    return LAUNCH(c, OCL_K_PERMUTATION, rows, ARG(y.mem), ARG(y.off), ARG(rows), ARG(n), ARG(seed),
                  ARG(stream), ARG(counter));
}

/* ---- supports() and the dispatch point ------------------------------------------------------ */

typedef uae_status (*ocl_op_fn)(ocl_ctx *c, const uae_op *op);

/* The launcher of each op kind; NULL: not on this device (the core runs it on the host). */
static const ocl_op_fn op_table[] = {
    [UAE_OP_GEMM] = gemm_ocl,
    [UAE_OP_CONV2D] = conv2d_ocl,
    [UAE_OP_CONV2D_BWD_DATA] = conv2d_bwd_data_ocl,
    [UAE_OP_CONV2D_BWD_WEIGHT] = conv2d_bwd_weight_ocl,
    [UAE_OP_MAXPOOL2] = pool_ocl,
    [UAE_OP_MAXPOOL2_BWD] = pool_ocl,
    [UAE_OP_UPSAMPLE2] = pool_ocl,
    [UAE_OP_UPSAMPLE2_BWD] = pool_ocl,
    [UAE_OP_BINARY] = binary_ocl,
    [UAE_OP_UNARY] = unary_ocl,
    [UAE_OP_UNARY_BWD] = unary_ocl,
    [UAE_OP_REDUCE] = reduce_ocl,
    [UAE_OP_SOFTMAX] = softmax_ocl,
    [UAE_OP_FILL] = fill_ocl,
    [UAE_OP_CLAMP] = clamp_ocl,
    [UAE_OP_OPTIM] = optim_ocl,
    [UAE_OP_RNG] = rng_ocl,
    [UAE_OP_PERMUTATION] = rng_ocl,
    [UAE_OP_GATHER_ROWS] = rows_ocl,
    [UAE_OP_SCATTER_ROWS] = rows_ocl,
    [UAE_OP_MINE_BOUND] = mine_ocl,
    [UAE_OP_ATTACK_STEP] = attack_ocl,
    /* not run here: the caller runs gemm then optim (uae_gemm_optim_op), the same bits */
    [UAE_OP_GEMM_OPTIM] = NULL,
};
_Static_assert(sizeof op_table / sizeof op_table[0] == UAE_OP_COUNT, "one entry per op");

/* Kernels index with ints: every tensor must end below INT_MAX floats into its buffer. */
static bool fits_int(const uae_tensor *t) {
    return !t || (int64_t)t->offset + uae_tensor_numel(t) <= (int64_t)INT_MAX;
}

bool uae_ocl_supports(void *ctx, const uae_op *op) {
    (void)ctx;
    if ((unsigned)op->kind >= UAE_OP_COUNT || !op_table[op->kind]) return false;
    for (int i = 0; i < UAE_OP_MAX_SRC; i++)
        if (!fits_int(op->src[i])) return false;
    for (int i = 0; i < UAE_OP_MAX_DST; i++)
        if (!fits_int(op->dst[i])) return false;
    return true;
}

uae_status uae_ocl_compute(void *ctx, const uae_op *op) {
    uae_status st = op_table[op->kind](ctx, op);
    if (st != UAE_OK) return uae_fail_context(st, "%s on OpenCL", uae_op_name(op->kind));
    return UAE_OK;
}
