/* core/image.c — PNG reading and writing with libpng, image grids with colour maps, and feature
 * masks (see uae/image.h). libpng reports errors by longjmp; each setjmp below is commented. */
#include <errno.h>
#include <math.h>
#include <png.h>
#include <stdint.h>
#include <string.h>

#include "uae/image.h"
#include "uae/io.h"

/* ---- libpng error handling ---- */

typedef struct png_ctx {
    FILE *f;
    const char *path;
    long long offset; /* bytes read or written so far: the position reported in errors */
    char warning[128]; /* libpng's last warning: often the detail behind an error */
    char msg[320];     /* libpng's error message */
} png_ctx;

static void on_error(png_structp png, png_const_charp msg) {
    png_ctx *ctx = png_get_error_ptr(png);
    if (ctx->warning[0]) snprintf(ctx->msg, sizeof ctx->msg, "%s (%s)", msg, ctx->warning);
    else snprintf(ctx->msg, sizeof ctx->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg) {
    /* Warnings (an unknown chunk, a bad gamma) do not stop us; the last one is kept for the
     * message of an error that may follow ("Invalid IHDR data" after "width exceeds limit"). */
    png_ctx *ctx = png_get_error_ptr(png);
    snprintf(ctx->warning, sizeof ctx->warning, "%s", msg);
}

static void read_fn(png_structp png, png_bytep data, size_t n) {
    png_ctx *ctx = png_get_io_ptr(png);
    size_t got = fread(data, 1, n, ctx->f);
    ctx->offset += (long long)got;
    if (got != n) png_error(png, "unexpected end of file");
}

static void write_fn(png_structp png, png_bytep data, size_t n) {
    png_ctx *ctx = png_get_io_ptr(png);
    if (fwrite(data, 1, n, ctx->f) != n) png_error(png, "write failed");
    ctx->offset += (long long)n;
}

static void flush_fn(png_structp png) {
    png_ctx *ctx = png_get_io_ptr(png);
    if (fflush(ctx->f) != 0) png_error(png, "flush failed");
}

/* ---- reading ---- */

uae_status uae_image_read_png(const char *path, int want_c, float **pix, int *c, int *h, int *w) {
    *pix = NULL;
    if (want_c != 0 && want_c != 1 && want_c != 3)
        return uae_fail(UAE_ERR_INVALID, "%s: cannot convert to %d channels (1 or 3)", path, want_c);
    /* The context lives on the heap: it changes after setjmp (the offset, the message), and a
     * local that changes after setjmp is indeterminate after longjmp unless it is volatile. */
    png_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return uae_fail(UAE_ERR_NOMEM, "%s: out of memory", path);
    ctx->path = path;
    uae_status open_st = uae_file_open(path, "rb", &ctx->f);
    if (open_st != UAE_OK) {
        free(ctx);
        return open_st;
    }
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, ctx, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        fclose(ctx->f);
        free(ctx);
        return uae_fail(UAE_ERR_NOMEM, "%s: cannot create a PNG reader", path);
    }
    /* Assigned after setjmp and read after a longjmp, so volatile (see above). */
    unsigned char *volatile data = NULL;
    png_bytep *volatile rows = NULL;
    float *volatile out = NULL;
    if (setjmp(png_jmpbuf(png))) {
        /* libpng failed somewhere below: ctx->msg says why, ctx->offset where. */
        png_destroy_read_struct(&png, &info, NULL);
        fclose(ctx->f);
        free(data);
        free(rows);
        free(out);
        uae_status st = uae_fail(UAE_ERR_FORMAT, "%s: not a readable PNG: %s (near byte offset %lld)",
                                 path, ctx->msg, ctx->offset);
        free(ctx);
        return st;
    }
    png_set_read_fn(png, ctx, read_fn);
    /* No side above 65536 (refused while the header is read); the pixel count is checked below. */
    png_set_user_limits(png, 1 << 16, 1 << 16);
    png_read_info(png, info);
    png_uint_32 width = png_get_image_width(png, info), height = png_get_image_height(png, info);
    int type = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
    if ((uint64_t)width * height > UAE_IMAGE_MAX_PIXELS) {
        snprintf(ctx->msg, sizeof ctx->msg, "%u x %u pixels is above the limit of %d", (unsigned)width,
                 (unsigned)height, UAE_IMAGE_MAX_PIXELS);
        png_longjmp(png, 1);
    }
    /* Normalise to 8 or 16-bit gray or RGB. Transparency is dropped: an alpha channel, and the
     * tRNS chunk of a palette or gray image (which png_set_palette_to_rgb would expand into an
     * alpha channel), mean nothing to the models; the colour values are kept as stored. */
    if (type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (type == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (type & PNG_COLOR_MASK_ALPHA) png_set_strip_alpha(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_strip_alpha(png);
    png_set_interlace_handling(png); /* Adam7 files: png_read_image then fills whole rows */
    png_read_update_info(png, info);
    int file_c = png_get_channels(png, info);
    int bytes = png_get_bit_depth(png, info) == 16 ? 2 : 1;
    size_t rowbytes = png_get_rowbytes(png, info);
    /* If a libpng version left an alpha channel in, it is skipped below (stride file_c, colour
     * channels color_c); anything else is a file we do not understand, never an abort. */
    int color_c = file_c == 2 || file_c == 4 ? file_c - 1 : file_c;
    if ((color_c != 1 && color_c != 3) || rowbytes != (size_t)width * file_c * bytes) {
        snprintf(ctx->msg, sizeof ctx->msg, "%d channels of %d bytes in rows of %zu bytes after "
                 "conversion (colour type %d, bit depth %d), expected gray or RGB", file_c, bytes,
                 rowbytes, type, depth);
        png_longjmp(png, 1);
    }
    int oc = want_c ? want_c : color_c;
    data = malloc(rowbytes * height);
    rows = malloc(height * sizeof(png_bytep));
    out = malloc((size_t)oc * width * height * sizeof(float));
    if (!data || !rows || !out) {
        snprintf(ctx->msg, sizeof ctx->msg, "out of memory for %u x %u pixels", (unsigned)width,
                 (unsigned)height);
        png_longjmp(png, 1);
    }
    for (png_uint_32 y = 0; y < height; y++) rows[y] = data + y * rowbytes;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    fclose(ctx->f);
    free(ctx);

    /* Interleaved integer samples -> planar floats in [0, 1] (16-bit samples are big-endian). */
    /* A division, not a multiplication by 1/255: k / 255.0f is the value that IDX and CIFAR
     * pixels get too, and that writing rounds back to k exactly. */
    const float maxval = bytes == 2 ? 65535.0f : 255.0f;
    const size_t plane = (size_t)width * height;
    float *o = out;
    for (size_t p = 0; p < plane; p++) {
        float v[3] = {0, 0, 0};
        for (int k = 0; k < color_c; k++) {
            const unsigned char *s = data + (p * file_c + k) * bytes;
            v[k] = (float)(bytes == 2 ? (s[0] << 8 | s[1]) : s[0]) / maxval;
        }
        if (color_c == 1 && oc == 3) {
            o[p] = o[plane + p] = o[2 * plane + p] = v[0];
        } else if (color_c == 3 && oc == 1) {
            o[p] = 0.299f * v[0] + 0.587f * v[1] + 0.114f * v[2];
        } else {
            for (int k = 0; k < oc; k++) o[k * plane + p] = v[k];
        }
    }
    free(data);
    free(rows);
    *pix = o;
    *c = oc;
    *h = (int)height;
    *w = (int)width;
    return UAE_OK;
}

/* ---- writing ---- */

/* The error path of write_png8: frees everything and removes the temporary file. */
static uae_status write_failed(png_structp png, png_infop info, png_ctx *ctx, uae_atomic_file *af,
                               png_bytep *rows, const char *path) {
    png_destroy_write_struct(&png, &info);
    uae_atomic_file_abort(af);
    uae_status st = uae_fail(UAE_ERR_IO, "%s: writing the PNG failed: %s (at byte offset %lld)", path,
                             ctx->msg, ctx->offset);
    free(ctx);
    free(rows);
    return st;
}

/* Writes 8-bit interleaved pixels (h rows of w * c bytes) to path atomically (uae/io.h: a
 * temporary file in the same folder, renamed at the end). */
static uae_status write_png8(const char *path, const unsigned char *pixels, int c, int h, int w) {
    png_bytep *rows = malloc((size_t)h * sizeof *rows);
    /* On the heap for the same reason as in uae_image_read_png: it changes after setjmp. */
    png_ctx *ctx = calloc(1, sizeof *ctx);
    uae_atomic_file *af = NULL;
    uae_status st = rows && ctx ? uae_atomic_file_open(path, &af)
                                : uae_fail(UAE_ERR_NOMEM, "%s: out of memory", path);
    if (st != UAE_OK) {
        free(rows);
        free(ctx);
        return st;
    }
    ctx->path = path;
    ctx->f = uae_atomic_file_stream(af);
    for (int y = 0; y < h; y++) rows[y] = (png_bytep)(pixels + (size_t)y * w * c);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, ctx, on_error, on_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        snprintf(ctx->msg, sizeof ctx->msg, "cannot create a PNG writer");
        return write_failed(png, info, ctx, af, rows, path);
    }
    /* Every local that the error path uses was set before setjmp and is not changed after it. */
    if (setjmp(png_jmpbuf(png))) return write_failed(png, info, ctx, af, rows, path);
    png_set_write_fn(png, ctx, write_fn, flush_fn);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8,
                 c == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    free(ctx);
    return uae_atomic_file_commit(af);
}

static unsigned char to_byte(float v) {
    if (!(v > 0)) return 0; /* also NaN */
    if (v >= 1) return 255;
    return (unsigned char)lrintf(v * 255.0f);
}

static uae_status check_size(const char *path, int c, int h, int w) {
    if ((c != 1 && c != 3) || h <= 0 || w <= 0 || (int64_t)h * w > UAE_IMAGE_MAX_PIXELS)
        return uae_fail(UAE_ERR_INVALID, "%s: cannot write a (%d, %d, %d) image: expected 1 or 3 "
                        "channels and at most %d pixels", path, c, h, w, UAE_IMAGE_MAX_PIXELS);
    return UAE_OK;
}

uae_status uae_image_write_png(const char *path, const float *pix, int c, int h, int w) {
    UAE_TRY(check_size(path, c, h, w));
    size_t plane = (size_t)h * w;
    unsigned char *bytes = malloc(plane * c);
    if (!bytes) return uae_fail(UAE_ERR_NOMEM, "%s: out of memory", path);
    for (size_t p = 0; p < plane; p++)
        for (int k = 0; k < c; k++) bytes[p * c + k] = to_byte(pix[k * plane + p]);
    uae_status st = write_png8(path, bytes, c, h, w);
    free(bytes);
    return st;
}

/* ---- colour maps ---- */

/* Viridis (matplotlib) at 9 evenly spaced points; colours in between are interpolated. */
static const unsigned char viridis[9][3] = {
    {68, 1, 84},    {71, 44, 122},  {59, 81, 139},  {44, 113, 142}, {33, 144, 141},
    {39, 173, 129}, {92, 200, 99},  {170, 220, 50}, {253, 231, 37},
};

/* The colour of t in [0, 1] under cmap (not NONE), as RGB bytes. */
static void colour(uae_colormap cmap, float t, unsigned char rgb[3]) {
    if (!(t > 0)) t = 0;
    if (t > 1) t = 1;
    switch (cmap) {
    case UAE_CMAP_VIRIDIS: {
        float s = t * 8;
        int i = s >= 8 ? 7 : (int)s;
        float f = s - (float)i;
        for (int k = 0; k < 3; k++)
            rgb[k] = (unsigned char)lrintf((1 - f) * viridis[i][k] + f * viridis[i + 1][k]);
        break;
    }
    case UAE_CMAP_BWR: /* blue (0, 0, 1) -> white -> red (1, 0, 0) */
        if (t < 0.5f) {
            rgb[0] = rgb[1] = to_byte(2 * t);
            rgb[2] = 255;
        } else {
            rgb[0] = 255;
            rgb[1] = rgb[2] = to_byte(2 * (1 - t));
        }
        break;
    default:
        rgb[0] = rgb[1] = rgb[2] = to_byte(t);
    }
}

/* A 3 x 5 pixel font for row labels: each glyph is 5 rows of 3 bits (the high bit on the left). */
static const struct {
    const char *utf8;
    unsigned char rows[5];
} glyphs[] = {
    {"0", {7, 5, 5, 5, 7}}, {"1", {2, 6, 2, 2, 7}}, {"2", {7, 1, 7, 4, 7}}, {"3", {7, 1, 7, 1, 7}},
    {"4", {5, 5, 7, 1, 1}}, {"5", {7, 4, 7, 1, 7}}, {"6", {7, 4, 7, 5, 7}}, {"7", {7, 1, 1, 1, 1}},
    {"8", {7, 5, 7, 5, 7}}, {"9", {7, 5, 7, 1, 7}}, {".", {0, 0, 0, 0, 2}}, {"-", {0, 0, 7, 0, 0}},
    {"+", {0, 2, 7, 2, 0}}, {"e", {7, 5, 7, 4, 7}}, {"x", {0, 5, 2, 5, 0}}, {"'", {2, 2, 0, 0, 0}},
    {"|", {2, 2, 2, 2, 2}}, {"\xce\xb4", {3, 4, 7, 5, 7}}, {" ", {0, 0, 0, 0, 0}},
};

/* The glyph at s (advancing *len bytes), or -1 for a character the font lacks. */
static int glyph_at(const char *s, size_t *len) {
    for (size_t g = 0; g < sizeof glyphs / sizeof glyphs[0]; g++) {
        size_t n = strlen(glyphs[g].utf8);
        if (strncmp(s, glyphs[g].utf8, n) == 0) {
            *len = n;
            return (int)g;
        }
    }
    *len = 1;
    return -1;
}

/* Glyphs in a label (UTF-8 sequences count once). */
static int label_glyphs(const char *s) {
    int n = 0;
    for (size_t len; s && *s; s += len, n++) glyph_at(s, &len);
    return n;
}

/* Draws text in black into img (H, W, 3 bytes), glyph pixels of gs x gs, top-left at (x0, y0). */
static void draw_text(unsigned char *img, int64_t W, int64_t H, int64_t x0, int64_t y0, int gs,
                      const char *s) {
    for (size_t len; *s; s += len, x0 += 4 * gs) {
        int g = glyph_at(s, &len);
        for (int r = 0; g >= 0 && r < 5; r++)
            for (int b = 0; b < 3; b++) {
                if (!(glyphs[g].rows[r] >> (2 - b) & 1)) continue;
                for (int64_t y = y0 + r * gs; y < y0 + (r + 1) * gs && y < H; y++)
                    for (int64_t x = x0 + b * gs; x < x0 + (b + 1) * gs && x < W; x++)
                        memset(img + (y * W + x) * 3, 0, 3);
            }
    }
}

uae_status uae_image_write_grid(const char *path, const uae_image_row *rows, int nrows, int c,
                                int h, int w, int gap, int scale) {
    return uae_image_write_grid_labelled(path, rows, NULL, nrows, c, h, w, gap, scale);
}

uae_status uae_image_write_grid_labelled(const char *path, const uae_image_row *rows,
                                         const char *const *labels, int nrows, int c, int h, int w,
                                         int gap, int scale) {
    UAE_TRY(check_size(path, c, h, w));
    int ncols = 0;
    for (int i = 0; i < nrows; i++) {
        if (rows[i].n < 0 || (unsigned)rows[i].cmap >= UAE_CMAP_COUNT)
            return uae_fail(UAE_ERR_INVALID, "%s: grid row %d: bad count %d or colour map %d", path, i,
                            rows[i].n, (int)rows[i].cmap);
        if (rows[i].n > ncols) ncols = rows[i].n;
    }
    if (nrows <= 0 || ncols == 0 || gap < 0 || scale < 1)
        return uae_fail(UAE_ERR_INVALID, "%s: a grid needs rows and images, gap >= 0 and scale >= 1 "
                        "(got %d rows, %d columns, gap %d, scale %d)", path, nrows, ncols, gap, scale);
    int64_t cw = (int64_t)w * scale, ch = (int64_t)h * scale;
    /* The labels' column: glyphs as large as the pixels (smaller where a row is low). */
    int gs = ch >= 7 * scale ? scale : ch >= 7 ? (int)(ch / 7) : 1, most = 0;
    for (int i = 0; labels && i < nrows; i++)
        if (label_glyphs(labels[i]) > most) most = label_glyphs(labels[i]);
    const int64_t lw = most ? (int64_t)(4 * most + 2) * gs : 0; /* left of the first column */
    int64_t W = lw + ncols * cw + (ncols - 1) * (int64_t)gap;
    int64_t H = nrows * ch + (nrows - 1) * (int64_t)gap;
    if (W * H > UAE_IMAGE_MAX_PIXELS)
        return uae_fail(UAE_ERR_INVALID, "%s: a %lld x %lld grid is above the limit of %d pixels", path,
                        (long long)W, (long long)H, UAE_IMAGE_MAX_PIXELS);
    unsigned char *img = malloc((size_t)(W * H * 3));
    if (!img) return uae_fail(UAE_ERR_NOMEM, "%s: out of memory", path);
    memset(img, 255, (size_t)(W * H * 3)); /* white gaps */
    const int64_t plane = (int64_t)h * w;
    for (int i = 0; i < nrows; i++) {
        const uae_image_row *r = &rows[i];
        /* The value range of a colour-mapped row: given, or the row's own. */
        float lo = r->lo, hi = r->hi;
        if (r->cmap != UAE_CMAP_NONE && lo == hi) {
            lo = INFINITY;
            hi = -INFINITY;
            for (int64_t k = 0; k < (int64_t)r->n * c * plane; k++) {
                if (r->images[k] < lo) lo = r->images[k];
                if (r->images[k] > hi) hi = r->images[k];
            }
            if (r->cmap == UAE_CMAP_BWR) {
                float m = fabsf(lo) > fabsf(hi) ? fabsf(lo) : fabsf(hi);
                lo = -m;
                hi = m;
            }
            if (!(hi > lo)) hi = lo + 1; /* a constant (or empty) row: avoid dividing by 0 */
        }
        for (int j = 0; j < r->n; j++) {
            const float *im = r->images + (int64_t)j * c * plane;
            for (int64_t y = 0; y < ch; y++)
                for (int64_t x = 0; x < cw; x++) {
                    int64_t p = (y / scale) * w + x / scale;
                    unsigned char rgb[3];
                    if (r->cmap == UAE_CMAP_NONE) {
                        for (int k = 0; k < 3; k++) rgb[k] = to_byte(im[(c == 3 ? k : 0) * plane + p]);
                    } else {
                        float v = 0;
                        for (int k = 0; k < c; k++) v += im[k * plane + p];
                        colour(r->cmap, (v / (float)c - lo) / (hi - lo), rgb);
                    }
                    unsigned char *dst = img + (((i * (ch + gap) + y) * W) + lw + j * (cw + gap) + x) * 3;
                    memcpy(dst, rgb, 3);
                }
        }
    }
    for (int i = 0; labels && i < nrows; i++)
        if (labels[i]) draw_text(img, W, H, gs, i * (ch + gap) + (ch - 5 * gs) / 2, gs, labels[i]);
    uae_status st = write_png8(path, img, 3, (int)H, (int)W);
    free(img);
    return st;
}

uae_status uae_image_write_mask(const char *path, const float *weights, int h, int w, int scale) {
    UAE_TRY(check_size(path, 1, h, w));
    if (scale < 1 || (int64_t)h * w * scale * scale > UAE_IMAGE_MAX_PIXELS)
        return uae_fail(UAE_ERR_INVALID, "%s: mask scale %d must be >= 1 and keep the image under %d "
                        "pixels", path, scale, UAE_IMAGE_MAX_PIXELS);
    float m = 0;
    for (int64_t p = 0; p < (int64_t)h * w; p++)
        if (fabsf(weights[p]) > m) m = fabsf(weights[p]);
    if (!(m > 0)) m = 1; /* an all-zero mask is all black */
    int64_t H = (int64_t)h * scale, W = (int64_t)w * scale;
    unsigned char *img = malloc((size_t)(H * W));
    if (!img) return uae_fail(UAE_ERR_NOMEM, "%s: out of memory", path);
    for (int64_t y = 0; y < H; y++)
        for (int64_t x = 0; x < W; x++)
            img[y * W + x] = to_byte(fabsf(weights[(y / scale) * w + x / scale]) / m);
    uae_status st = write_png8(path, img, 1, (int)H, (int)W);
    free(img);
    return st;
}
