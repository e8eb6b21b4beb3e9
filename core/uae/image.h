/* uae/image.h — PNG images in and out: reading a PNG into floats, writing float images, grids of
 * images (originals, adversarial examples, |delta| as a heat map) and feature masks. Host memory
 * only. Images are float (c, h, w) planes with c = 1 (gray) or 3 (RGB), values in [0, 1].
 *
 *     // Row 1: 8 originals; row 2: their adversarial versions; row 3: |x_adv - x| as a heat map.
 *     uae_image_row rows[3] = {
 *         {x,     8, UAE_CMAP_NONE,    0, 0},
 *         {x_adv, 8, UAE_CMAP_NONE,    0, 0},
 *         {delta, 8, UAE_CMAP_VIRIDIS, 0, 0},   // lo == hi: scaled to the row's own range
 *     };
 *     uae_status st = uae_image_write_grid("examples.png", rows, 3, 1, 28, 28, 2, 3);
 *     if (st) fprintf(stderr, "uae: %s\n", uae_last_error());
 *
 * Every writer is atomic: it writes a temporary file in the same folder and renames it, so a
 * crash leaves the old file or the new one, never half of one.
 */
#ifndef UAE_IMAGE_H
#define UAE_IMAGE_H

#include "uae/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Images with more pixels than this, or a side above 65536, are refused by uae_image_read_png
 * before any pixel is decoded. */
#define UAE_IMAGE_MAX_PIXELS (1 << 26)

/* Writes a (c, h, w) image, c = 1 or 3, as an 8-bit gray or RGB PNG; values are clamped to
 * [0, 1] (NaN is written as 0). pix is not owned. */
uae_status uae_image_write_png(const char *path, const float *pix, int c, int h, int w);

/* Reads any PNG (gray, gray+alpha, palette, RGB, RGBA; 1 to 16 bits) into a new (c, h, w) buffer
 * with values in [0, 1]. want_c = 1 or 3 converts to that many channels (RGB to gray by the luma
 * weights 0.299, 0.587, 0.114; gray to RGB by copying); want_c = 0 keeps the file's (1 for gray,
 * 3 for colour). Alpha is dropped. The caller frees *pix with free(). A file that is not a
 * readable PNG gives UAE_ERR_FORMAT with libpng's message and the byte offset reached. */
uae_status uae_image_read_png(const char *path, int want_c, float **pix, int *c, int *h, int *w);

/* How a grid row turns values into colours. */
typedef enum uae_colormap {
    UAE_CMAP_NONE,    /* the pixels as they are (gray or RGB), clamped to [0, 1] */
    UAE_CMAP_GRAY,    /* the channel mean, from lo (black) to hi (white) */
    UAE_CMAP_VIRIDIS, /* the channel mean, from lo (dark blue) to hi (yellow) */
    UAE_CMAP_BWR,     /* the channel mean, from lo (blue) through white to hi (red) */
    UAE_CMAP_COUNT
} uae_colormap;

typedef struct uae_image_row {
    const float *images; /* (n, c, h, w); not owned */
    int n;               /* images in this row (rows may differ in length) */
    uae_colormap cmap;
    /* The values mapped to the two ends of the colour map. lo == hi: the row's own minimum and
     * maximum (for BWR: -m..m with m the largest magnitude, so that 0 is white). */
    float lo, hi;
} uae_image_row;

/* Writes the rows as one RGB PNG grid: image j of row i at column j, gap pixels of white
 * between cells, every pixel drawn as a scale x scale block (scale >= 1). */
uae_status uae_image_write_grid(const char *path, const uae_image_row *rows, int nrows, int c,
                                int h, int w, int gap, int scale);

/* The same with a label left of each row (labels[i] NULL or "": none; labels NULL: no column),
 * drawn in black in a 3 x 5 pixel font that has the digits, '.', '-', '+', 'e', 'x', ''', '|',
 * ' ' and the Greek delta (UTF-8); other characters are left blank. */
uae_status uae_image_write_grid_labelled(const char *path, const uae_image_row *rows,
                                         const char *const *labels, int nrows, int c, int h, int w,
                                         int gap, int scale);

/* Writes a feature mask (h, w) as a gray PNG: |weight| divided by the largest |weight| (so a 0/1
 * mask of selected features is black and white), each pixel a scale x scale block. */
uae_status uae_image_write_mask(const char *path, const float *weights, int h, int w, int scale);

#ifdef __cplusplus
}
#endif
#endif /* UAE_IMAGE_H */
