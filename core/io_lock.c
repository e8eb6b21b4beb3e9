/* core/io_lock.c — folder locks (see uae/io.h): flock(2) on "<folder>/.lock", which the kernel
 * drops when the holder ends, however it ends. POSIX + flock (Linux, the BSDs, macOS). */
#include "uae/io.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

struct uae_folder_lock {
    int fd; /* open on <folder>/.lock, holding the flock */
};

uae_status uae_folder_lock_take(const char *folder, uae_folder_lock **out) {
    *out = NULL;
    char path[4096];
    if (snprintf(path, sizeof path, "%s/.lock", folder) >= (int)sizeof path)
        return uae_fail(UAE_ERR_INVALID, "%s: folder name too long", folder);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return uae_fail(UAE_ERR_IO, "%s: cannot make the lock file (%s)", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        const int err = errno;
        /* The holder wrote its pid when it took the lock (a lock taken by another tool, flock(1)
         * say, leaves the file empty). */
        char pid[24] = "";
        ssize_t got = pread(fd, pid, sizeof pid - 1, 0);
        pid[got > 0 ? got : 0] = '\0';
        pid[strcspn(pid, "\n")] = '\0';
        close(fd);
        if (err != EWOULDBLOCK)
            return uae_fail(UAE_ERR_IO, "%s: cannot lock (%s)", path, strerror(err));
        return uae_fail(UAE_ERR_IO, "%s: locked: another process%s%s%s is working in this folder; "
                        "wait for it to end (a resumed run continues where it stopped) or give "
                        "this run another --out", folder, *pid ? " (pid " : "", pid,
                        *pid ? ")" : "");
    }
    uae_folder_lock *l = malloc(sizeof *l);
    if (!l) {
        close(fd); /* drops the lock */
        return uae_fail(UAE_ERR_NOMEM, "%s: out of memory", folder);
    }
    l->fd = fd;
    /* Our pid, for the message of whoever finds the folder busy (best effort: the lock holds
     * without it). */
    char pid[24];
    int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    const bool wrote = ftruncate(fd, 0) == 0 && pwrite(fd, pid, (size_t)len, 0) == len;
    (void)wrote;
    *out = l;
    return UAE_OK;
}

void uae_folder_lock_release(uae_folder_lock *l) {
    if (!l) return;
    close(l->fd); /* closing the only descriptor of the open file drops the flock */
    free(l);
}
