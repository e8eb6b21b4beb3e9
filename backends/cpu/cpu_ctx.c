/* backends/cpu/cpu_ctx.c — the CPU backend's context: which instruction set this processor runs
 * (cpuid for the instructions, xgetbv for the operating system saving the wider registers),
 * $UAE_CPU_ISA, the kernel table, the thread count and the grow-only scratch. */
#include "backends/cpu/cpu_ctx.h"
#include "uae/tensor.h"

#include <stdlib.h>
#include <string.h>

#ifdef __linux__
#include <sys/mman.h>
#endif

#ifdef _OPENMP
#include <omp.h>
#endif

/* Built by meson with the x86 kernel files (x86_avx2.c, x86_avx512.c) on x86-64 with GCC/clang. */
#if UAE_CPU_X86_KERNELS
#include <cpuid.h>
#endif

static const char *const isa_names[] = {"generic", "avx2", "avx512"};
_Static_assert(sizeof isa_names / sizeof isa_names[0] == UAE_CPU_ISA_COUNT, "one name per ISA");

const char *uae_cpu_isa_name(uae_cpu_isa isa) {
    return (unsigned)isa < UAE_CPU_ISA_COUNT ? isa_names[isa] : "?";
}

#if UAE_CPU_X86_KERNELS
/* XCR0: which register states the OS saves and restores on a context switch. */
static uint64_t xgetbv0(void) {
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (uint64_t)hi << 32 | lo;
}
#endif

bool uae_cpu_isa_supported(uae_cpu_isa isa) {
    if (isa == UAE_CPU_ISA_GENERIC) return true;
#if UAE_CPU_X86_KERNELS
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
    bool fma = c >> 12 & 1, osxsave = c >> 27 & 1, avx = c >> 28 & 1;
    if (!fma || !osxsave || !avx) return false;
    uint64_t xcr0 = xgetbv0();
    if ((xcr0 & 0x6) != 0x6) return false; /* XMM and YMM state */
    if (__get_cpuid_max(0, NULL) < 7) return false;
    __cpuid_count(7, 0, a, b, c, d);
    bool avx2 = b >> 5 & 1;
    if (isa == UAE_CPU_ISA_AVX2) return avx2;
    bool f = b >> 16 & 1, dq = b >> 17 & 1, bw = b >> 30 & 1, vl = b >> 31 & 1;
    /* Opmask, upper halves of ZMM0-15, ZMM16-31. */
    bool zmm_state = (xcr0 & 0xe6) == 0xe6;
    return isa == UAE_CPU_ISA_AVX512 && avx2 && f && dq && bw && vl && zmm_state;
#else
    return false;
#endif
}

uae_cpu_isa uae_cpu_isa_best(void) {
    for (int i = UAE_CPU_ISA_COUNT - 1; i > 0; i--)
        if (uae_cpu_isa_supported((uae_cpu_isa)i)) return (uae_cpu_isa)i;
    return UAE_CPU_ISA_GENERIC;
}

static const uae_cpu_kernels *kernels_of(uae_cpu_isa isa) {
#if UAE_CPU_X86_KERNELS
    if (isa == UAE_CPU_ISA_AVX512) return &uae_cpu_kernels_avx512;
    if (isa == UAE_CPU_ISA_AVX2) return &uae_cpu_kernels_avx2;
#endif
    (void)isa;
    return &uae_cpu_kernels_generic;
}

void uae_cpu_ctx_init(cpu_ctx *ctx, uae_cpu_isa isa, int threads) {
    UAE_ASSERT(uae_cpu_isa_supported(isa) && threads >= 0);
    memset(ctx, 0, sizeof *ctx);
    ctx->isa = isa;
    ctx->k = kernels_of(isa);
    ctx->threads = threads;
    uae_cpu_bufcache_init(&ctx->bufs);
}

uae_status uae_cpu_ctx_open(cpu_ctx *ctx, int threads) {
    uae_cpu_isa isa = uae_cpu_isa_best();
    const char *env = getenv("UAE_CPU_ISA");
    const char *nosimd = getenv("UAE_CPU_NOSIMD");
    if (env && *env && strcmp(env, "auto") != 0) {
        int found = -1;
        for (int i = 0; i < UAE_CPU_ISA_COUNT; i++)
            if (strcmp(env, isa_names[i]) == 0) found = i;
        if (found < 0)
            return uae_fail(UAE_ERR_INVALID,
                            "cpu backend: UAE_CPU_ISA=%s is not an instruction set; expected "
                            "generic, avx2, avx512 or auto (unset UAE_CPU_ISA for the best one)",
                            env);
        if (!uae_cpu_isa_supported((uae_cpu_isa)found))
            return uae_fail(UAE_ERR_UNSUPPORTED,
                            "cpu backend: UAE_CPU_ISA=%s, but this %s does not run it (the best it "
                            "runs is %s); set UAE_CPU_ISA=%s or unset it",
                            env,
#if UAE_CPU_X86_KERNELS
                            "processor (cpuid/xgetbv)",
#else
                            "build (no x86 kernels compiled in)",
#endif
                            isa_names[isa], isa_names[isa]);
        isa = (uae_cpu_isa)found;
    } else if (nosimd && *nosimd && strcmp(nosimd, "0") != 0) {
        isa = UAE_CPU_ISA_GENERIC; /* the older switch, kept for scripts that set it */
    }
    uae_cpu_ctx_init(ctx, isa, threads);
    return UAE_OK;
}

void uae_cpu_ctx_release(cpu_ctx *ctx) {
    uae_cpu_bufcache_release(&ctx->bufs);
    free(ctx->scratch);
    ctx->scratch = NULL;
    ctx->scratch_bytes = 0;
}

int uae_cpu_ctx_threads(const cpu_ctx *ctx) {
    if (ctx->threads > 0) return ctx->threads;
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

int uae_cpu_ctx_threads_for(const cpu_ctx *ctx, const uae_op *op) {
    int64_t floats = 0;
    for (int i = 0; i < UAE_OP_MAX_SRC; i++)
        if (op->src[i]) floats += uae_tensor_numel(op->src[i]);
    for (int i = 0; i < UAE_OP_MAX_DST; i++)
        if (op->dst[i]) floats += uae_tensor_numel(op->dst[i]);
    return floats < UAE_CPU_PAR_MIN_FLOATS ? 1 : uae_cpu_ctx_threads(ctx);
}

void *uae_cpu_host_alloc(size_t bytes) {
    const size_t huge = (size_t)2 << 20;
    if (bytes < UAE_CPU_HUGE_MIN_BYTES) return aligned_alloc(64, bytes ? (bytes + 63) / 64 * 64 : 64);
    size_t rounded = (bytes + huge - 1) / huge * huge;
    void *p = aligned_alloc(huge, rounded);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (p) (void)madvise(p, rounded, MADV_HUGEPAGE); /* a hint: failure changes nothing */
#endif
    return p;
}

uae_status uae_cpu_scratch(cpu_ctx *ctx, size_t bytes, float **out) {
    if (bytes > ctx->scratch_bytes) {
        /* Grow by at least half again, so that a run of slowly growing requests reallocates
         * only a few times. */
        size_t want = bytes > ctx->scratch_bytes / 2 * 3 ? bytes : ctx->scratch_bytes / 2 * 3;
        want = (want + 63) / 64 * 64;
        float *p = uae_cpu_host_alloc(want);
        if (!p)
            return uae_fail(UAE_ERR_NOMEM, "cpu backend: cannot allocate %zu bytes of scratch",
                            want);
        free(ctx->scratch);
        ctx->scratch = p;
        ctx->scratch_bytes = want;
    }
    *out = ctx->scratch;
    return UAE_OK;
}
