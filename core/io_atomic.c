/* core/io_atomic.c — atomic file replacement (temp file + fsync + rename), CRC-32, and the shape
 * helpers of io_internal.h (see uae/io.h). POSIX only; this is the one place in uaekit that knows
 * how a file is made durable. It knows no file format. */
#include "uae/io.h"

#include "io_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

/* The formats in this module are little-endian and the code copies floats with memcpy. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "uaekit's file formats assume a little-endian host"
#endif

struct uae_atomic_file {
    char *path;      /* the target (owned copy) */
    char *tmp_path;  /* "<path>.tmp.XXXXXX" (owned) */
    FILE *fp;        /* open on tmp_path */
};

static void atomic_free(uae_atomic_file *f) {
    free(f->path);
    free(f->tmp_path);
    free(f);
}

/* mkstemp's alphabet: the six characters that replace XXXXXX. */
static bool is_tmp_suffix(const char *s) {
    for (int i = 0; i < 6; i++) {
        char c = s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
            return false;
    }
    return s[6] == '\0';
}

/* Removes "<path>.tmp.XXXXXX" files that an earlier, killed writer of path left behind (see
 * uae_atomic_file_open in uae/io.h). Best effort: a folder that cannot be listed is left alone,
 * since the write itself may still succeed. */
static void remove_stale_temporaries(const char *path) {
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t dir_len = slash ? (size_t)(slash - path) + 1 : 0; /* with the '/' */
    size_t base_len = strlen(base);
    char dir[PATH_MAX], stale[PATH_MAX];
    if (dir_len + base_len + sizeof ".tmp.XXXXXX" > sizeof stale) return;
    if (dir_len == 0) strcpy(dir, ".");
    else if (dir_len == 1) strcpy(dir, "/");
    else {
        memcpy(dir, path, dir_len - 1);
        dir[dir_len - 1] = '\0';
    }
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        const char *n = e->d_name;
        if (strncmp(n, base, base_len) != 0 || strncmp(n + base_len, ".tmp.", 5) != 0 ||
            !is_tmp_suffix(n + base_len + 5))
            continue;
        memcpy(stale, path, dir_len);
        snprintf(stale + dir_len, sizeof stale - dir_len, "%s", n);
        struct stat sb;
        if (lstat(stale, &sb) == 0 && S_ISREG(sb.st_mode)) (void)unlink(stale);
    }
    closedir(d);
}

uae_status uae_file_open(const char *path, const char *mode, FILE **out) {
    UAE_ASSERT(path && mode && out);
    *out = NULL;
    bool plus = strchr(mode, '+') != NULL;
    int flags;
    switch (mode[0]) {
    case 'r': flags = plus ? O_RDWR : O_RDONLY; break;
    case 'w': flags = (plus ? O_RDWR : O_WRONLY) | O_CREAT | O_TRUNC; break;
    case 'a': flags = (plus ? O_RDWR : O_WRONLY) | O_CREAT | O_APPEND; break;
    default: return uae_fail(UAE_ERR_INVALID, "%s: open mode '%s', expected r, w or a", path, mode);
    }
    /* A non-regular file is refused before open: opening a FIFO blocks until the other end opens
     * (forever, for a FIFO nobody writes). The check after open (O_NONBLOCK, so that even a FIFO
     * swapped in between returns at once) covers a file replaced in between. */
    struct stat sb;
    int saved;
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) goto not_regular;
    int fd = open(path, flags | O_NONBLOCK | O_CLOEXEC, 0666);
    if (fd < 0) {
        saved = errno;
        uae_fail(UAE_ERR_IO, "%s: cannot open%s: %s", path, mode[0] == 'r' ? "" : " for writing",
                 strerror(saved));
        errno = saved;
        return UAE_ERR_IO;
    }
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        goto not_regular;
    }
    int fl = fcntl(fd, F_GETFL);
    FILE *f = fl >= 0 && fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == 0 ? fdopen(fd, mode) : NULL;
    if (!f) {
        saved = errno;
        close(fd);
        uae_fail(UAE_ERR_IO, "%s: cannot open: %s", path, strerror(saved));
        errno = saved;
        return UAE_ERR_IO;
    }
    *out = f;
    return UAE_OK;
not_regular:
    uae_fail(UAE_ERR_IO, "%s: not a regular file (%s); expected a file", path,
             S_ISDIR(sb.st_mode) ? "a folder" : S_ISFIFO(sb.st_mode) ? "a FIFO" :
             S_ISSOCK(sb.st_mode) ? "a socket" : "a device or other special file");
    errno = EINVAL;
    return UAE_ERR_IO;
}

uae_status uae_file_read_text(const char *path, char *buf, size_t cap, bool *exists) {
    UAE_ASSERT(path && buf && cap > 0 && exists);
    buf[0] = '\0';
    *exists = false;
    FILE *f;
    if (uae_file_open(path, "rb", &f) != UAE_OK) return errno == ENOENT ? UAE_OK : UAE_ERR_IO;
    *exists = true;
    size_t len = fread(buf, 1, cap - 1, f);
    bool more = len == cap - 1 && fgetc(f) != EOF, failed = ferror(f) != 0;
    fclose(f);
    buf[len] = '\0';
    if (failed) return uae_fail(UAE_ERR_IO, "%s: read failed", path);
    if (more)
        return uae_fail(UAE_ERR_FORMAT, "%s: longer than %zu bytes, expected a short settings "
                        "record", path, cap - 1);
    if (strlen(buf) != len)
        return uae_fail(UAE_ERR_FORMAT, "%s: byte offset %zu: a NUL byte, expected text", path,
                        strlen(buf));
    if (len > 0 && buf[len - 1] == '\n') buf[len - 1] = '\0';
    return UAE_OK;
}

uae_status uae_atomic_file_open(const char *path, uae_atomic_file **out) {
    UAE_ASSERT(path && out);
    *out = NULL;
    uae_atomic_file *f = calloc(1, sizeof *f);
    size_t len = strlen(path);
    if (f) f->path = malloc(len + 1);
    if (f) f->tmp_path = malloc(len + sizeof ".tmp.XXXXXX");
    if (!f || !f->path || !f->tmp_path) {
        if (f) atomic_free(f);
        return uae_fail(UAE_ERR_NOMEM, "%s: out of memory opening a temporary file", path);
    }
    memcpy(f->path, path, len + 1);
    memcpy(f->tmp_path, path, len);
    memcpy(f->tmp_path + len, ".tmp.XXXXXX", sizeof ".tmp.XXXXXX");
    remove_stale_temporaries(path);

    // mkstemp creates the file with mode 0600; give it the old file's mode, or the usual 0644.
    int fd = mkstemp(f->tmp_path);
    if (fd < 0) {
        uae_status st = uae_fail(UAE_ERR_IO, "%s: cannot create a temporary file in its folder: %s",
                                 path, strerror(errno));
        atomic_free(f);
        return st;
    }
    struct stat old;
    mode_t mode = stat(path, &old) == 0 ? (old.st_mode & 07777) : 0644;
    if (fchmod(fd, mode) != 0 || !(f->fp = fdopen(fd, "wb"))) {
        uae_status st = uae_fail(UAE_ERR_IO, "%s: cannot set up temporary file %s: %s", path,
                                 f->tmp_path, strerror(errno));
        close(fd);
        unlink(f->tmp_path);
        atomic_free(f);
        return st;
    }
    *out = f;
    return UAE_OK;
}

FILE *uae_atomic_file_stream(uae_atomic_file *f) {
    UAE_ASSERT(f);
    return f->fp;
}

/* fsync of the folder makes the rename itself durable. Some file systems refuse to fsync a folder
 * (EINVAL); the rename has happened by then, so that is not reported as a failure. */
static void sync_folder(const char *path) {
    const char *slash = strrchr(path, '/');
    char dir[PATH_MAX];
    if (!slash) {
        strcpy(dir, ".");
    } else {
        size_t n = slash == path ? 1 : (size_t)(slash - path);
        if (n >= sizeof dir) return;
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return;
    (void)fsync(fd);
    close(fd);
}

void uae_io_test_pause(const char *path, const char *where) {
    static _Atomic int commits;
    const char *spec = getenv("UAE_TEST_PAUSE_COMMIT");
    char *suffix = NULL;
    long n = spec ? strtol(spec, &suffix, 10) : 0;
    if (n < 1 || !suffix || *suffix != ':') return;
    suffix++;
    size_t len = strlen(path), slen = strlen(suffix);
    if (len < slen || strcmp(path + len - slen, suffix) != 0) return;
    if (++commits != n) return;
    fprintf(stderr, "uae: UAE_TEST_PAUSE_COMMIT: paused in the write of %s (%s)\n", path, where);
    fflush(stderr);
    for (int i = 0; i < 600; i++) sleep(1);
}

uae_status uae_atomic_file_commit(uae_atomic_file *f) {
    UAE_ASSERT(f);
    uae_io_test_pause(f->path, f->tmp_path);
    uae_status st = UAE_OK;
    // ferror catches a write that failed earlier, even if the caller did not check fwrite.
    if (fflush(f->fp) != 0 || ferror(f->fp))
        st = uae_fail(UAE_ERR_IO, "%s: write failed: %s", f->path, strerror(errno));
    else if (fsync(fileno(f->fp)) != 0)
        st = uae_fail(UAE_ERR_IO, "%s: fsync failed: %s", f->path, strerror(errno));
    if (fclose(f->fp) != 0 && st == UAE_OK)
        st = uae_fail(UAE_ERR_IO, "%s: close failed: %s", f->path, strerror(errno));
    if (st == UAE_OK && rename(f->tmp_path, f->path) != 0)
        st = uae_fail(UAE_ERR_IO, "%s: cannot rename %s over it: %s", f->path, f->tmp_path,
                      strerror(errno));
    if (st == UAE_OK)
        sync_folder(f->path);
    else
        unlink(f->tmp_path);
    atomic_free(f);
    return st;
}

void uae_atomic_file_abort(uae_atomic_file *f) {
    if (!f) return;
    fclose(f->fp);
    unlink(f->tmp_path);
    atomic_free(f);
}

uint32_t uae_crc32(uint32_t crc, const void *data, size_t n) {
    // zlib takes a uInt length, so feed it in chunks that fit one.
    const unsigned char *p = data;
    while (n > 0) {
        uInt chunk = n > (size_t)UINT_MAX ? UINT_MAX : (uInt)n;
        crc = (uint32_t)crc32(crc, p, chunk);
        p += chunk;
        n -= chunk;
    }
    return crc;
}

bool uae_io_numel(int ndim, const int64_t *shape, int64_t *numel) {
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0) return false;
        // Checked before multiplying, so that the product itself never overflows.
        if (shape[d] > 0 && n > UAE_IO_MAX_NUMEL / shape[d]) return false;
        n *= shape[d];
    }
    *numel = n;
    return true;
}

const char *uae_io_shape_str(int ndim, const int64_t *shape, char *buf, size_t cap) {
    size_t len = (size_t)snprintf(buf, cap, "(");
    for (int d = 0; d < ndim && len < cap; d++)
        len += (size_t)snprintf(buf + len, cap - len, d ? ", %lld" : "%lld", (long long)shape[d]);
    if (len < cap) snprintf(buf + len, cap - len, ndim == 1 ? ",)" : ")");
    return buf;
}
