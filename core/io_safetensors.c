/* core/io_safetensors.c — reading and writing .safetensors files of float32 tensors (see uae/io.h).
 * The header is JSON, built and parsed with jansson. Not here: memory mapping, lazy loading and
 * dtypes other than F32 (they are recognised and validated, but cannot be read). */
#include "uae/io.h"

#include <errno.h>
#include <jansson.h>
#include <string.h>
#include <sys/stat.h>

#include "io_internal.h"

/* Every dtype name of the format with its size in bytes, so that foreign files can be validated
 * even where uaekit cannot use their tensors. */
static const struct {
    const char *name;
    int size;
} dtypes[] = {
    {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1},
    {"I16", 2},  {"U16", 2}, {"F16", 2}, {"BF16", 2},    {"I32", 4},
    {"U32", 4},  {"F32", 4}, {"I64", 8}, {"U64", 8},     {"F64", 8},
};

static int dtype_size(const char *name) {
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (strcmp(dtypes[i].name, name) == 0) return dtypes[i].size;
    return 0;
}

/* ---- Writing ------------------------------------------------------------------------------- */

/* What uae_safetensors_write writes for each uae_st_dtype (host order, as for F32). */
static const char *const st_dtype_name[] = {"F32", "I64", "U8"};
static const size_t st_dtype_size[] = {sizeof(float), sizeof(int64_t), sizeof(uint8_t)};
_Static_assert(sizeof st_dtype_name / sizeof *st_dtype_name == UAE_ST_DTYPE_COUNT, "a name per dtype");
_Static_assert(sizeof st_dtype_size / sizeof *st_dtype_size == UAE_ST_DTYPE_COUNT, "a size per dtype");

static void put_le64(unsigned char out[8], uint64_t v) {
    for (int i = 0; i < 8; i++) out[i] = (unsigned char)(v >> (8 * i));
}

/* Builds the header object; checks names, shapes and metadata on the way. Returns a new
 * reference in *out. crc is the checksum of the data area, already computed. */
static uae_status build_header(const char *path, const uae_st_tensor *ts, size_t n,
                               const uae_st_meta *meta, size_t n_meta, uint32_t crc,
                               json_t **out) {
    json_t *root = json_object(), *md = json_object();
    uae_status st = UAE_OK;
    if (!root || !md) {
        st = uae_fail(UAE_ERR_NOMEM, "%s: out of memory building the header", path);
        goto done;
    }
    for (size_t i = 0; i < n_meta && st == UAE_OK; i++) {
        UAE_ASSERT(meta[i].key && meta[i].value);
        if (strcmp(meta[i].key, UAE_SAFETENSORS_CHECKSUM_KEY) == 0)
            st = uae_fail(UAE_ERR_INVALID, "%s: metadata key '%s' is reserved for uaekit's checksum",
                          path, meta[i].key);
        else if (json_object_set_new(md, meta[i].key, json_string(meta[i].value)) != 0)
            st = uae_fail(UAE_ERR_INVALID, "%s: metadata '%s' is not a valid UTF-8 key and value",
                          path, meta[i].key);
    }
    char hex[32];
    snprintf(hex, sizeof hex, "crc32:%08x", (unsigned)crc);
    if (st == UAE_OK && json_object_set_new(md, UAE_SAFETENSORS_CHECKSUM_KEY, json_string(hex)))
        st = uae_fail(UAE_ERR_NOMEM, "%s: out of memory building the header", path);
    // The metadata goes first, where a person reading the header with `head -c` sees it.
    if (st == UAE_OK && json_object_set(root, "__metadata__", md) != 0)
        st = uae_fail(UAE_ERR_NOMEM, "%s: out of memory building the header", path);

    uint64_t offset = 0;
    for (size_t i = 0; i < n && st == UAE_OK; i++) {
        const char *name = ts[i].name;
        UAE_ASSERT(name);
        int64_t numel;
        if (name[0] == '\0' || strcmp(name, "__metadata__") == 0) {
            st = uae_fail(UAE_ERR_INVALID, "%s: tensor %zu has the name '%s', which is not allowed",
                          path, i, name);
            break;
        }
        if (json_object_get(root, name)) {
            st = uae_fail(UAE_ERR_INVALID, "%s: two tensors are called '%s'", path, name);
            break;
        }
        if (ts[i].ndim < 0 || ts[i].ndim > UAE_IO_MAX_DIMS ||
            !uae_io_numel(ts[i].ndim, ts[i].shape, &numel)) {
            st = uae_fail(UAE_ERR_INVALID, "%s: tensor '%s' has a bad shape (ndim %d; expected 0 "
                          "to %d dimensions, each >= 0)", path, name, ts[i].ndim, UAE_IO_MAX_DIMS);
            break;
        }
        UAE_ASSERT(ts[i].data || numel == 0);
        UAE_ASSERT((unsigned)ts[i].dtype < UAE_ST_DTYPE_COUNT);
        json_t *shape = json_array();
        for (int d = 0; d < ts[i].ndim; d++) json_array_append_new(shape, json_integer(ts[i].shape[d]));
        uint64_t end = offset + (uint64_t)numel * st_dtype_size[ts[i].dtype];
        json_t *entry = json_pack("{s:s, s:o, s:[I,I]}", "dtype", st_dtype_name[ts[i].dtype], "shape", shape,
                                  "data_offsets", (json_int_t)offset, (json_int_t)end);
        if (!entry || json_object_set_new(root, name, entry) != 0)
            st = uae_fail(UAE_ERR_INVALID, "%s: cannot add tensor '%s' to the header (not valid "
                          "UTF-8, or out of memory)", path, name);
        offset = end;
    }
done:
    json_decref(md);
    if (st != UAE_OK) {
        json_decref(root);
        return st;
    }
    *out = root;
    return UAE_OK;
}

uae_status uae_safetensors_write(const char *path, const uae_st_tensor *ts, size_t n,
                                 const uae_st_meta *meta, size_t n_meta) {
    UAE_ASSERT(path && (ts || n == 0) && (meta || n_meta == 0));
    // The checksum covers the data area, which is the tensors' bytes back to back in this order.
    uint32_t crc = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t numel;
        if (ts[i].ndim >= 0 && ts[i].ndim <= UAE_IO_MAX_DIMS &&
            uae_io_numel(ts[i].ndim, ts[i].shape, &numel) && ts[i].data)
            crc = uae_crc32(crc, ts[i].data, (size_t)numel * st_dtype_size[ts[i].dtype]);
    }
    json_t *root;
    UAE_TRY(build_header(path, ts, n, meta, n_meta, crc, &root));
    char *text = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    if (!text) return uae_fail(UAE_ERR_NOMEM, "%s: out of memory writing the header", path);

    // Pad with spaces so that the data starts 8-byte aligned (8 length bytes + a multiple of 8).
    size_t len = strlen(text), padded = (len + 7) / 8 * 8;
    unsigned char len_bytes[8];
    put_le64(len_bytes, padded);
    static const char spaces[8] = "        ";

    uae_atomic_file *f;
    uae_status st = uae_atomic_file_open(path, &f);
    if (st != UAE_OK) {
        free(text);
        return st;
    }
    FILE *fp = uae_atomic_file_stream(f);
    bool ok = fwrite(len_bytes, 1, 8, fp) == 8 && fwrite(text, 1, len, fp) == len &&
              fwrite(spaces, 1, padded - len, fp) == padded - len;
    free(text);
    for (size_t i = 0; i < n && ok; i++) {
        int64_t numel;
        uae_io_numel(ts[i].ndim, ts[i].shape, &numel);  // checked in build_header
        // (An empty tensor may have data == NULL, which fwrite must not be given.)
        size_t size = st_dtype_size[ts[i].dtype];
        ok = numel == 0 || fwrite(ts[i].data, size, (size_t)numel, fp) == (size_t)numel;
    }
    if (!ok) {
        st = uae_fail(UAE_ERR_IO, "%s: write failed: %s", path, strerror(errno));
        uae_atomic_file_abort(f);
        return st;
    }
    return uae_atomic_file_commit(f);
}

/* ---- Reading ------------------------------------------------------------------------------- */

typedef struct st_entry {
    const char *name;               /* points into the header's JSON (owned by root) */
    const char *dtype;              /* likewise */
    int elem_size;                  /* bytes per element of dtype */
    int ndim;
    int64_t shape[UAE_IO_MAX_DIMS];
    uint64_t begin, end;            /* byte offsets into the data area */
} st_entry;

struct uae_safetensors {
    char *path;                     /* for error messages (owned) */
    json_t *root;                   /* the parsed header (owned reference) */
    json_t *meta;                   /* root's "__metadata__" object, or NULL (borrowed) */
    st_entry *tensors;              /* n entries, sorted by begin (owned) */
    size_t n;
    unsigned char *data;            /* the data area (owned) */
    uint64_t data_size;
};

void uae_safetensors_close(uae_safetensors *st) {
    if (!st) return;
    free(st->path);
    json_decref(st->root);
    free(st->tensors);
    free(st->data);
    free(st);
}

/* Reads an integer >= 0 from a JSON value; false for anything else (a float, a negative, a
 * string). */
static bool get_count(const json_t *v, uint64_t *out) {
    if (!json_is_integer(v) || json_integer_value(v) < 0) return false;
    *out = (uint64_t)json_integer_value(v);
    return true;
}

/* Checks one tensor's entry in the header and fills e. data_size bounds the offsets. */
static uae_status parse_entry(const char *path, const char *name, const json_t *v,
                              uint64_t data_size, st_entry *e) {
    e->name = name;
    if (!json_is_object(v))
        return uae_fail(UAE_ERR_FORMAT, "%s: tensor '%s': header entry is not a JSON object",
                        path, name);
    const json_t *dtype = json_object_get(v, "dtype"), *shape = json_object_get(v, "shape"),
                 *offs = json_object_get(v, "data_offsets");
    if (!json_is_string(dtype) || !json_is_array(shape) || !json_is_array(offs))
        return uae_fail(UAE_ERR_FORMAT, "%s: tensor '%s': expected \"dtype\" (a string), \"shape\" "
                        "and \"data_offsets\" (arrays)", path, name);
    e->dtype = json_string_value(dtype);
    e->elem_size = dtype_size(e->dtype);
    if (e->elem_size == 0)
        return uae_fail(UAE_ERR_UNSUPPORTED, "%s: tensor '%s': unknown dtype '%s' (uaekit reads F32)",
                        path, name, e->dtype);

    size_t nd = json_array_size(shape);
    if (nd > UAE_IO_MAX_DIMS)
        return uae_fail(UAE_ERR_UNSUPPORTED, "%s: tensor '%s': %zu dimensions, at most %d supported",
                        path, name, nd, UAE_IO_MAX_DIMS);
    e->ndim = (int)nd;
    for (size_t d = 0; d < nd; d++) {
        uint64_t dim;
        if (!get_count(json_array_get(shape, d), &dim) || dim > (uint64_t)UAE_IO_MAX_NUMEL)
            return uae_fail(UAE_ERR_FORMAT, "%s: tensor '%s': shape entry %zu is not an integer "
                            ">= 0", path, name, d);
        e->shape[d] = (int64_t)dim;
    }
    int64_t numel;
    if (!uae_io_numel(e->ndim, e->shape, &numel))
        return uae_fail(UAE_ERR_FORMAT, "%s: tensor '%s': shape has over 2^60 elements", path, name);

    if (json_array_size(offs) != 2 || !get_count(json_array_get(offs, 0), &e->begin) ||
        !get_count(json_array_get(offs, 1), &e->end))
        return uae_fail(UAE_ERR_FORMAT, "%s: tensor '%s': data_offsets must be [begin, end], two "
                        "integers >= 0", path, name);
    if (e->begin > e->end || e->end > data_size)
        return uae_fail(UAE_ERR_FORMAT, "%s: tensor '%s': data_offsets [%llu, %llu] are outside "
                        "the data area [0, %llu]", path, name, (unsigned long long)e->begin,
                        (unsigned long long)e->end, (unsigned long long)data_size);
    // numel <= 2^60 and elem_size <= 8, so the product fits in 64 bits.
    uint64_t want = (uint64_t)numel * (uint64_t)e->elem_size;
    if (e->end - e->begin != want) {
        char sh[200];
        return uae_fail(UAE_ERR_FORMAT, "%s: tensor '%s': shape %s of %s needs %llu bytes, "
                        "data_offsets [%llu, %llu] hold %llu", path, name,
                        uae_io_shape_str(e->ndim, e->shape, sh, sizeof sh), e->dtype,
                        (unsigned long long)want, (unsigned long long)e->begin,
                        (unsigned long long)e->end, (unsigned long long)(e->end - e->begin));
    }
    return UAE_OK;
}

static int by_offsets(const void *pa, const void *pb) {
    const st_entry *a = pa, *b = pb;
    if (a->begin != b->begin) return a->begin < b->begin ? -1 : 1;
    if (a->end != b->end) return a->end < b->end ? -1 : 1;
    return strcmp(a->name, b->name);  // empty tensors at one offset: a fixed order all the same
}

/* The tensors, sorted by offset, must tile the data area exactly: no overlap, no gap, nothing
 * left over at the end. */
static uae_status check_tiling(const char *path, const st_entry *t, size_t n, uint64_t data_size) {
    uint64_t covered = 0;
    for (size_t i = 0; i < n; i++) {
        if (t[i].begin < covered)
            return uae_fail(UAE_ERR_FORMAT, "%s: tensor '%s' at bytes [%llu, %llu) overlaps tensor "
                            "'%s' which ends at %llu", path, t[i].name,
                            (unsigned long long)t[i].begin, (unsigned long long)t[i].end,
                            t[i - 1].name, (unsigned long long)covered);
        if (t[i].begin > covered)
            return uae_fail(UAE_ERR_FORMAT, "%s: bytes [%llu, %llu) before tensor '%s' belong to no "
                            "tensor", path, (unsigned long long)covered,
                            (unsigned long long)t[i].begin, t[i].name);
        covered = t[i].end;
    }
    if (covered != data_size)
        return uae_fail(UAE_ERR_FORMAT, "%s: the data area has %llu bytes but the tensors cover "
                        "only %llu", path, (unsigned long long)data_size,
                        (unsigned long long)covered);
    return UAE_OK;
}

/* Checks the metadata (an object of strings) and the uaekit checksum if there is one. */
static uae_status check_metadata(uae_safetensors *st) {
    if (!st->meta) return UAE_OK;
    if (!json_is_object(st->meta))
        return uae_fail(UAE_ERR_FORMAT, "%s: \"__metadata__\" is not a JSON object", st->path);
    const char *key;
    json_t *value;
    json_object_foreach(st->meta, key, value) {
        if (!json_is_string(value))
            return uae_fail(UAE_ERR_FORMAT, "%s: metadata '%s' is not a string", st->path, key);
    }
    const char *want = uae_safetensors_meta(st, UAE_SAFETENSORS_CHECKSUM_KEY);
    if (!want) return UAE_OK;  // written by another tool: nothing to verify against
    char have[32];
    snprintf(have, sizeof have, "crc32:%08x",
             (unsigned)uae_crc32(0, st->data, (size_t)st->data_size));
    if (strcmp(want, have) != 0)
        return uae_fail(UAE_ERR_FORMAT, "%s: checksum mismatch: the header says %s, the data has "
                        "%s (the file is damaged or was changed)", st->path, want, have);
    return UAE_OK;
}

/* Everything after the file is open; fills st, which the caller frees on failure. */
static uae_status load(FILE *fp, uint64_t file_size, uae_safetensors *st) {
    const char *path = st->path;
    unsigned char len_bytes[8];
    if (file_size < 8 || fread(len_bytes, 1, 8, fp) != 8)
        return uae_fail(UAE_ERR_FORMAT, "%s: %llu bytes, too short for the 8-byte header length",
                        path, (unsigned long long)file_size);
    uint64_t header_len = 0;
    for (int i = 7; i >= 0; i--) header_len = header_len << 8 | len_bytes[i];
    // A length that cannot be right in a file whose header does not start with '{' (as every
    // safetensors header does): another kind of file (text, a PNG), not a damaged one.
    if (header_len > UAE_SAFETENSORS_MAX_HEADER || header_len > file_size - 8) {
        int first = fgetc(fp);
        if (first != '{')
            return uae_fail(UAE_ERR_FORMAT, "%s: not a safetensors file (a safetensors file "
                            "starts with an 8-byte header length and a JSON header)", path);
        ungetc(first, fp);
    }
    // Checked before allocating anything, so that a damaged length cannot ask for terabytes.
    if (header_len > UAE_SAFETENSORS_MAX_HEADER)
        return uae_fail(UAE_ERR_FORMAT, "%s: header length %llu is beyond the limit of %u bytes",
                        path, (unsigned long long)header_len, UAE_SAFETENSORS_MAX_HEADER);
    if (header_len > file_size - 8)
        return uae_fail(UAE_ERR_FORMAT, "%s: header length %llu but only %llu bytes follow "
                        "(truncated file?)", path, (unsigned long long)header_len,
                        (unsigned long long)(file_size - 8));
    st->data_size = file_size - 8 - header_len;

    char *header = malloc(header_len ? header_len : 1);
    if (!header) return uae_fail(UAE_ERR_NOMEM, "%s: out of memory for the header", path);
    if (fread(header, 1, header_len, fp) != header_len) {
        free(header);
        return uae_fail(UAE_ERR_IO, "%s: cannot read the header: %s", path, strerror(errno));
    }
    json_error_t jerr;
    st->root = json_loadb(header, header_len, JSON_REJECT_DUPLICATES, &jerr);
    free(header);
    if (!st->root)
        return uae_fail(UAE_ERR_FORMAT, "%s: header is not valid JSON (line %d, column %d): %s",
                        path, jerr.line, jerr.column, jerr.text);
    if (!json_is_object(st->root))
        return uae_fail(UAE_ERR_FORMAT, "%s: header is not a JSON object", path);

    size_t n_keys = json_object_size(st->root);
    st->tensors = calloc(n_keys ? n_keys : 1, sizeof *st->tensors);
    if (!st->tensors) return uae_fail(UAE_ERR_NOMEM, "%s: out of memory for the tensor list", path);
    const char *name;
    json_t *v;
    json_object_foreach(st->root, name, v) {
        if (strcmp(name, "__metadata__") == 0) {
            st->meta = v;
            continue;
        }
        UAE_TRY(parse_entry(path, name, v, st->data_size, &st->tensors[st->n]));
        st->n++;
    }
    qsort(st->tensors, st->n, sizeof *st->tensors, by_offsets);
    UAE_TRY(check_tiling(path, st->tensors, st->n, st->data_size));

    // The data area's size is now known to equal what the tensors need, so it is safe to allocate.
    st->data = malloc(st->data_size ? st->data_size : 1);
    if (!st->data)
        return uae_fail(UAE_ERR_NOMEM, "%s: out of memory for %llu bytes of tensor data", path,
                        (unsigned long long)st->data_size);
    if (fread(st->data, 1, st->data_size, fp) != st->data_size)
        return uae_fail(UAE_ERR_IO, "%s: cannot read the tensor data: %s", path, strerror(errno));
    return check_metadata(st);
}

uae_status uae_safetensors_open(const char *path, uae_safetensors **out) {
    UAE_ASSERT(path && out);
    *out = NULL;
    uae_safetensors *st = calloc(1, sizeof *st);
    if (st) st->path = strdup(path);
    if (!st || !st->path) {
        free(st);
        return uae_fail(UAE_ERR_NOMEM, "%s: out of memory opening the file", path);
    }
    FILE *fp;
    struct stat sb;
    uae_status s = uae_file_open(path, "rb", &fp);
    if (s != UAE_OK)
        ;
    else if (fstat(fileno(fp), &sb) != 0)
        s = uae_fail(UAE_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    else
        s = load(fp, (uint64_t)sb.st_size, st);
    if (fp) fclose(fp);
    if (s != UAE_OK) {
        uae_safetensors_close(st);
        return s;
    }
    *out = st;
    return UAE_OK;
}

/* ---- Lookup -------------------------------------------------------------------------------- */

uae_status uae_safetensors_read(const uae_safetensors *st, const char *name, int ndim,
                                const int64_t *shape, float *dst) {
    UAE_ASSERT(st && name && (shape || ndim == 0));
    const st_entry *e = NULL;
    for (size_t i = 0; i < st->n && !e; i++)
        if (strcmp(st->tensors[i].name, name) == 0) e = &st->tensors[i];
    if (!e)
        return uae_fail(UAE_ERR_INVALID, "%s: no tensor named '%s' (the file has %zu tensors)",
                        st->path, name, st->n);
    if (strcmp(e->dtype, "F32") != 0)
        return uae_fail(UAE_ERR_UNSUPPORTED, "%s: tensor '%s' has dtype %s, uaekit reads only F32",
                        st->path, name, e->dtype);
    bool same = ndim == e->ndim;
    for (int d = 0; d < ndim && same; d++) same = shape[d] == e->shape[d];
    if (!same) {
        char want[200], have[200];
        return uae_fail(UAE_ERR_SHAPE, "%s: tensor '%s' has shape %s, expected %s", st->path, name,
                        uae_io_shape_str(e->ndim, e->shape, have, sizeof have),
                        uae_io_shape_str(ndim, shape, want, sizeof want));
    }
    if (e->end > e->begin) {
        UAE_ASSERT(dst);
        memcpy(dst, st->data + e->begin, (size_t)(e->end - e->begin));
    }
    return UAE_OK;
}

size_t uae_safetensors_count(const uae_safetensors *st) {
    UAE_ASSERT(st);
    return st->n;
}

uae_st_tensor uae_safetensors_info(const uae_safetensors *st, size_t i, const char **dtype) {
    UAE_ASSERT(st && i < st->n);
    const st_entry *e = &st->tensors[i];
    uae_st_tensor t = {.name = e->name, .ndim = e->ndim, .data = NULL};
    memcpy(t.shape, e->shape, sizeof t.shape);
    if (dtype) *dtype = e->dtype;
    return t;
}

const char *uae_safetensors_meta(const uae_safetensors *st, const char *key) {
    UAE_ASSERT(st && key);
    if (!st->meta) return NULL;
    return json_string_value(json_object_get(st->meta, key));  // NULL if absent or not a string
}
