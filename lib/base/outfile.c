/* outfile.c: write to path.XXXXXX, rename on success. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "error.h"
#include "outfile.h"

int fer_outfile_open(fer_outfile *o, const char *path)
{
    int fd;
    memset(o, 0, sizeof *o);
    o->path = strdup(path);
    if (!o->path)
        return fer_seterr("out of memory");
    /* on any failure below, o is left zeroed and nothing needs freeing */
    if (!strcmp(path, "-")) {
        o->f = stdout;
        return 0;
    }
    {
        /* a device or FIFO (/dev/null, a named pipe) is written in place:
         * renaming over it would replace it */
        struct stat st;
        if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
            o->f = fopen(path, "wb");
            if (!o->f) {
                fer_seterr("%s: %s", path, strerror(errno));
                fer_outfile_abort(o);
                return -1;
            }
            return 0;
        }
    }
    o->tmp = malloc(strlen(path) + 16);
    if (!o->tmp) {
        fer_outfile_abort(o);
        return fer_seterr("out of memory");
    }
    sprintf(o->tmp, "%s.tmp.XXXXXX", path);
    fd = mkstemp(o->tmp);
    if (fd < 0) {
        int e = errno;
        fer_seterr("%s: %s", path, strerror(e));
        fer_outfile_abort(o);
        return -1;
    }
    {
        /* mkstemp makes the file 0600; give it the mode open() would */
        mode_t mask = umask(0);
        umask(mask);
        fchmod(fd, 0666 & ~mask);
    }
    o->f = fdopen(fd, "wb");
    if (!o->f) {
        fer_seterr("%s: %s", path, strerror(errno));
        close(fd);
        fer_outfile_abort(o);
        return -1;
    }
    return 0;
}

int fer_outfile_commit(fer_outfile *o)
{
    int bad;
    if (!o->f)
        return fer_seterr("%s: not open", o->path ? o->path : "?");
    bad = fflush(o->f) != 0 || ferror(o->f);
    if (o->f == stdout) {
        o->f = NULL;
        free(o->path);
        o->path = NULL;
        return bad ? fer_seterr("standard output: write error") : 0;
    }
    if (!o->tmp) {   /* a device or FIFO written in place */
        bad |= fclose(o->f) != 0;
        o->f = NULL;
        if (bad)
            fer_seterr("%s: write error", o->path);
        free(o->path);
        o->path = NULL;
        return bad ? -1 : 0;
    }
    if (fclose(o->f) != 0)
        bad = 1;
    o->f = NULL;
    if (bad || rename(o->tmp, o->path) != 0) {
        int e = errno;
        unlink(o->tmp);
        fer_seterr("%s: %s", o->path, bad ? "write error" : strerror(e));
        free(o->tmp);
        free(o->path);
        o->tmp = o->path = NULL;
        return -1;
    }
    free(o->tmp);
    free(o->path);
    o->tmp = o->path = NULL;
    return 0;
}

void fer_outfile_abort(fer_outfile *o)
{
    if (o->f && o->f != stdout)
        fclose(o->f);
    else if (o->f)
        fflush(o->f);
    if (o->tmp)
        unlink(o->tmp);
    free(o->tmp);
    free(o->path);
    memset(o, 0, sizeof *o);
}

/* path with its folder resolved, into a malloc'd string; NULL when the
 * folder does not resolve. */
static char *resolved(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir, *real, *out;
    if (!slash)
        dir = strdup(".");
    else
        dir = slash == path ? strdup("/") : strndup(path, slash - path);
    if (!dir)
        return NULL;
    real = realpath(dir, NULL);
    free(dir);
    if (!real)
        return NULL;
    out = malloc(strlen(real) + strlen(path) + 2);
    if (out)
        sprintf(out, "%s/%s", real, slash ? slash + 1 : path);
    free(real);
    return out;
}

int fer_outfile_same(const char *a, const char *b)
{
    struct stat sa, sb;
    int ea, eb, same;
    char *ra, *rb;
    if (!strcmp(a, "-") || !strcmp(b, "-"))
        return 0;
    ea = stat(a, &sa) == 0;
    eb = stat(b, &sb) == 0;
    if (ea && eb)
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    if (ea || eb)
        return 0;
    ra = resolved(a);
    rb = resolved(b);
    same = ra && rb ? !strcmp(ra, rb) : !strcmp(a, b);
    free(ra);
    free(rb);
    return same;
}
