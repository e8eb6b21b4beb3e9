/* backends/cpu/cpu_backend.c — the two host backends: "ref" (every op by its scalar reference)
 * and "cpu" (every op by its OpenMP version, with the context of cpu_ctx.h: the instruction set
 * chosen when it opens, threads, scratch). Memory is plain aligned host memory. */
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/cpu_opstats.h"
#include "backends/cpu/cpu_ops.h"
#include "core/backend_impl.h"

#define TABLE_ENTRY_REF(kind, stem) [kind] = uae_##stem##_ref,
#define TABLE_ENTRY_OMP(kind, stem) [kind] = uae_##stem##_omp,
static const uae_cpu_op_fn ref_table[] = {UAE_CPU_OP_LIST(TABLE_ENTRY_REF)};
static const uae_cpu_omp_fn omp_table[] = {UAE_CPU_OP_LIST(TABLE_ENTRY_OMP)};
_Static_assert(sizeof ref_table / sizeof ref_table[0] == UAE_OP_COUNT, "one reference per op");
_Static_assert(sizeof omp_table / sizeof omp_table[0] == UAE_OP_COUNT, "one OpenMP version per op");

static void cpu_free(void *ctx) {
    cpu_ctx *c = ctx;
    uae_cpu_opstats_close(c->stats, c);
    uae_cpu_ctx_release(ctx);
    free(ctx);
}

static uae_status cpu_alloc(void *ctx, size_t bytes, void **buf) {
    *buf = uae_cpu_bufcache_alloc(&((cpu_ctx *)ctx)->bufs, bytes);
    if (!*buf) return uae_fail(UAE_ERR_NOMEM, "cpu backend: cannot allocate %zu bytes", bytes);
    return UAE_OK;
}

static void cpu_buf_free(void *ctx, void *buf) {
    uae_cpu_bufcache_free(&((cpu_ctx *)ctx)->bufs, buf);
}

static uae_status cpu_write(void *ctx, void *buf, size_t off, size_t bytes, const void *src) {
    (void)ctx;
    memmove((char *)buf + off, src, bytes);
    return UAE_OK;
}

static uae_status cpu_read(void *ctx, void *buf, size_t off, size_t bytes, void *dst) {
    (void)ctx;
    memmove(dst, (const char *)buf + off, bytes);
    return UAE_OK;
}

static uae_status cpu_copy(void *ctx, void *dst, size_t doff, void *src, size_t soff, size_t bytes) {
    (void)ctx;
    memmove((char *)dst + doff, (const char *)src + soff, bytes);
    return UAE_OK;
}

static float *cpu_host_ptr(void *ctx, void *buf) {
    (void)ctx;
    return buf;
}

static uae_status cpu_compute(void *ctx, const uae_op *op) {
    cpu_ctx *c = ctx;
    if (c->reference) return ref_table[op->kind](op);
    if (c->stats) return uae_cpu_opstats_run(c->stats, c, op, omp_table[op->kind]);
    return omp_table[op->kind](c, op);
}

/* Reads the processor's model name from /proc/cpuinfo (Linux); "host CPU" elsewhere. */
static void cpu_model_name(char *out, size_t cap) {
    snprintf(out, cap, "host CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0) {
            char *colon = strchr(line, ':');
            if (colon) {
                colon++;
                while (*colon == ' ') colon++;
                colon[strcspn(colon, "\n")] = '\0';
                snprintf(out, cap, "%s", colon);
            }
            break;
        }
    }
    fclose(f);
}

static void cpu_info(void *ctx, uae_device_info *info) {
    const cpu_ctx *c = ctx;
    memset(info, 0, sizeof *info);
    snprintf(info->backend, sizeof info->backend, "%s", c->reference ? "ref" : "cpu");
    snprintf(info->platform, sizeof info->platform, "host");
    cpu_model_name(info->name, sizeof info->name);
    if (c->reference)
        snprintf(info->vendor, sizeof info->vendor, "uaekit scalar reference");
    else
        snprintf(info->vendor, sizeof info->vendor, "uaekit OpenMP, %s kernels; cpu:N for N threads",
                 uae_cpu_isa_name(c->isa));
    snprintf(info->type, sizeof info->type, "cpu");
    snprintf(info->kernels, sizeof info->kernels, "%s",
             c->reference ? "scalar" : uae_cpu_isa_name(c->isa));
    info->compute_units = c->reference ? 1 : uae_cpu_ctx_threads(c);
    FILE *f = fopen("/proc/meminfo", "r");
    if (f) {
        unsigned long long kb = 0;
        if (fscanf(f, "MemTotal: %llu kB", &kb) == 1) info->global_mem_bytes = kb * 1024ull;
        fclose(f);
    }
    info->max_alloc_bytes = info->global_mem_bytes;
}

static const uae_backend_iface cpu_iface = {
    .kind = "cpu",
    .free = cpu_free,
    .buf_alloc = cpu_alloc,
    .buf_free = cpu_buf_free,
    .buf_write = cpu_write,
    .buf_read = cpu_read,
    .buf_copy = cpu_copy,
    .host_ptr = cpu_host_ptr,
    .supports = NULL, /* every op */
    .compute = cpu_compute,
    .sync = NULL,
    .info = cpu_info,
};

/* The reference backend: the same table; cpu_compute picks the scalar versions. */
static const uae_backend_iface ref_iface = {
    .kind = "ref",
    .free = cpu_free,
    .buf_alloc = cpu_alloc,
    .buf_free = cpu_buf_free,
    .buf_write = cpu_write,
    .buf_read = cpu_read,
    .buf_copy = cpu_copy,
    .host_ptr = cpu_host_ptr,
    .supports = NULL,
    .compute = cpu_compute,
    .sync = NULL,
    .info = cpu_info,
};
uae_status uae_cpu_backend_create(bool reference, int threads, uae_backend **out) {
    cpu_ctx *c = calloc(1, sizeof *c);
    if (!c) return uae_fail(UAE_ERR_NOMEM, "cpu backend: out of host memory");
    if (reference) {
        uae_cpu_ctx_init(c, UAE_CPU_ISA_GENERIC, 1);
    } else {
        uae_status st = uae_cpu_ctx_open(c, threads);
        if (st != UAE_OK) {
            free(c);
            return st;
        }
        c->stats = uae_cpu_opstats_open();
    }
    c->reference = reference;
    return uae_backend_wrap(reference ? &ref_iface : &cpu_iface, c, out);
}
