/* fuzz.h: what the fuzz entry points share: the input as a stream or as
 * a file name, without touching the disk.
 *
 * Each tests/fuzz/fuzz_<parser>.c defines LLVMFuzzerTestOneInput over one
 * parser of libfer; `make fuzz` builds them with libFuzzer. An entry point
 * frees all it allocates (a leak is a finding) and prints nothing. */
#ifndef FER_FUZZ_H
#define FER_FUZZ_H

#define _GNU_SOURCE 1   /* memfd_create */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);

/* The input as a read-only stream (fclose it), or NULL. fmemopen with a
 * size of 0 fails on some C libraries: an empty input then reads from an
 * empty file instead. */
static inline FILE *fuzz_stream(const uint8_t *data, size_t n)
{
    if (n == 0)
        return fopen("/dev/null", "r");
    return fmemopen((void *)data, n, "r");
}

/* The input as a file in memory, for parsers that take a path (and may
 * open it more than once): its descriptor, the path /proc/self/fd/N in
 * path. -1 when it cannot be made. Close the descriptor after use. */
static inline int fuzz_file(const uint8_t *data, size_t n, char *path, size_t pathlen)
{
    int fd = memfd_create("fuzz", 0);
    size_t off = 0;
    if (fd < 0)
        return -1;
    while (off < n) {
        ssize_t k = write(fd, data + off, n - off);
        if (k <= 0) {
            close(fd);
            return -1;
        }
        off += (size_t)k;
    }
    snprintf(path, pathlen, "/proc/self/fd/%d", fd);
    return fd;
}

#endif
