/* core/data_png.c — a folder of PNG images with one sub-folder per class (labels = the sorted
 * sub-folder names), read with uae_image_read_png. Every image must have the size of the first;
 * channels are converted to the dataset's count. */
#include <string.h>
#include <strings.h>

#include "data_impl.h"
#include "data_util.h"
#include "uae/image.h"

/* The PNG files of a folder tree: paths and labels, in class order, then file-name order. */
typedef struct png_list {
    char **paths;
    int32_t *labels;
    int64_t n, cap;
} png_list;

static void png_list_free(png_list *l) {
    data_free_names(l->paths, l->n);
    free(l->labels);
    memset(l, 0, sizeof *l);
}

static uae_status png_list_add(png_list *l, char *path, int32_t label) {
    if (l->n == l->cap) {
        int64_t cap = l->cap ? 2 * l->cap : 256;
        char **p = realloc(l->paths, (size_t)cap * sizeof *p);
        if (p) l->paths = p;
        int32_t *y = realloc(l->labels, (size_t)cap * sizeof *y);
        if (y) l->labels = y;
        if (!p || !y) {
            free(path);
            return uae_fail(UAE_ERR_NOMEM, "listing PNG files: out of memory");
        }
        l->cap = cap;
    }
    l->paths[l->n] = path;
    l->labels[l->n] = label;
    l->n++;
    return UAE_OK;
}

static bool is_png_name(const char *s) {
    size_t n = strlen(s);
    return n > 4 && strcasecmp(s + n - 4, ".png") == 0;
}

/* Lists dir/<class>/<file>.png for the sub-folders of dir; each sub-folder's name must be one of
 * classes[0..nclasses). */
static uae_status list_pngs(const char *dir, char **classes, int64_t nclasses, png_list *out) {
    memset(out, 0, sizeof *out);
    char **subs;
    int64_t nsub;
    UAE_TRY(data_list_dir(dir, true, &subs, &nsub));
    uae_status st = UAE_OK;
    for (int64_t s = 0; s < nsub && st == UAE_OK; s++) {
        int64_t label = -1;
        for (int64_t k = 0; k < nclasses; k++)
            if (strcmp(subs[s], classes[k]) == 0) label = k;
        if (label < 0) {
            st = uae_fail(UAE_ERR_FORMAT, "%s: class folder '%s' is not one of the %lld train classes",
                          dir, subs[s], (long long)nclasses);
            break;
        }
        char *sub = data_join(dir, subs[s]);
        char **files = NULL;
        int64_t nfiles = 0;
        st = sub ? data_list_dir(sub, false, &files, &nfiles) : uae_fail(UAE_ERR_NOMEM, "out of memory");
        for (int64_t f = 0; st == UAE_OK && f < nfiles; f++) {
            if (!is_png_name(files[f])) continue;
            char *path = data_join(sub, files[f]);
            st = path ? png_list_add(out, path, (int32_t)label) : uae_fail(UAE_ERR_NOMEM, "out of memory");
        }
        data_free_names(files, nfiles);
        free(sub);
    }
    data_free_names(subs, nsub);
    if (st != UAE_OK) png_list_free(out);
    return st;
}

/* Decodes the listed images into *ds. *c, *h, *w: the shape to expect, or 0 to take the first
 * image's (then set to it). */
static uae_status decode_pngs(const char *dir, const png_list *l, int *c, int *h, int *w,
                              uae_dataset *ds) {
    memset(ds, 0, sizeof *ds);
    if (l->n == 0)
        return uae_fail(UAE_ERR_FORMAT, "%s: no .png images in its class sub-folders", dir);
    uae_status st = UAE_OK;
    for (int64_t i = 0; i < l->n && st == UAE_OK; i++) {
        float *pix;
        int ic, ih, iw;
        st = uae_image_read_png(l->paths[i], *c, &pix, &ic, &ih, &iw);
        if (st != UAE_OK) {
            st = uae_fail_context(st, "PNG folder %s, image %lld", dir, (long long)i);
            break;
        }
        if (i == 0 && ds->x == NULL) {
            if (*h == 0) {
                *c = ic;
                *h = ih;
                *w = iw;
            }
            st = data_alloc(ds, l->n, *c, *h, *w, true);
        }
        if (st == UAE_OK && (ih != *h || iw != *w))
            st = uae_fail(UAE_ERR_FORMAT, "%s: image %lld is %d x %d (width x height), expected %d x %d "
                          "like the first image %s", l->paths[i], (long long)i, iw, ih, *w, *h,
                          l->paths[0]);
        if (st == UAE_OK) {
            memcpy(ds->x + i * ds->d, pix, (size_t)ds->d * sizeof(float));
            ds->y[i] = l->labels[i];
        }
        free(pix);
    }
    if (st != UAE_OK) uae_dataset_free(ds);
    return st;
}

uae_status data_load_png_pair(const char *train_dir, const char *test_dir, int channels,
                              uae_dataset *train, uae_dataset *test) {
    memset(train, 0, sizeof *train);
    if (test) memset(test, 0, sizeof *test);
    char **classes;
    int64_t nclasses;
    UAE_TRY(data_list_dir(train_dir, true, &classes, &nclasses));
    if (nclasses == 0) {
        data_free_names(classes, nclasses);
        return uae_fail(UAE_ERR_FORMAT, "%s: no class sub-folders (a PNG dataset has one sub-folder "
                        "of images per class)", train_dir);
    }
    png_list l;
    int c = channels, h = 0, w = 0;
    uae_status st = list_pngs(train_dir, classes, nclasses, &l);
    if (st == UAE_OK) {
        st = decode_pngs(train_dir, &l, &c, &h, &w, train);
        png_list_free(&l);
    }
    if (st == UAE_OK && test_dir) {
        st = list_pngs(test_dir, classes, nclasses, &l);
        if (st == UAE_OK) {
            st = decode_pngs(test_dir, &l, &c, &h, &w, test);
            png_list_free(&l);
        }
    }
    if (st == UAE_OK) {
        train->num_classes = (int)nclasses;
        st = data_copy_names(classes, nclasses, &train->class_names);
    }
    if (st == UAE_OK && test) {
        test->num_classes = (int)nclasses;
        st = data_copy_names(classes, nclasses, &test->class_names);
    }
    data_free_names(classes, nclasses);
    if (st != UAE_OK) {
        uae_dataset_free(train);
        if (test) uae_dataset_free(test);
    }
    return st;
}

uae_status uae_data_load_png_folder(const char *dir, int channels, uae_dataset *out) {
    if (channels != 0 && channels != 1 && channels != 3)
        return uae_fail(UAE_ERR_INVALID, "%s: channels %d, expected 0, 1 or 3", dir, channels);
    return data_load_png_pair(dir, NULL, channels, out, NULL);
}
