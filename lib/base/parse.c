/* parse.c: checked number parsing and meta-text lookup. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "parse.h"

int fer_parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    long v;
    if (!s || !*s)
        return fer_seterr("empty number");
    if (isspace((unsigned char)*s))   /* strtol would skip it */
        return fer_seterr("'%s': not an integer", s);
    errno = 0;
    v = strtol(s, &end, 10);
    if (*end || end == s)
        return fer_seterr("'%s': not an integer", s);
    if (errno == ERANGE || v < min || v > max)
        return fer_seterr("'%s': out of range %ld..%ld", s, min, max);
    *out = v;
    return 0;
}

int fer_parse_double(const char *s, double min, double max, double *out)
{
    char *end;
    double v;
    if (!s || !*s)
        return fer_seterr("empty number");
    /* strtod would skip a blank and take hexadecimal */
    if (isspace((unsigned char)*s) || strpbrk(s, "xX"))
        return fer_seterr("'%s': not a number", s);
    errno = 0;
    v = strtod(s, &end);
    if (*end || end == s || !isfinite(v))
        return fer_seterr("'%s': not a number", s);
    if (v < min || v > max)
        return fer_seterr("'%s': out of range %g..%g", s, min, max);
    *out = v;
    return 0;
}

int fer_parse_meta(const char *meta, const char *key, char *buf, int n)
{
    size_t klen = strlen(key);
    const char *p = meta;
    while (p && *p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        if (len > klen && p[klen] == '=' && !strncmp(p, key, klen)) {
            size_t vlen = len - klen - 1;
            size_t c = vlen < (size_t)n - 1 ? vlen : (size_t)n - 1;
            if (n > 0) {
                memcpy(buf, p + klen + 1, c);
                buf[c] = 0;
            }
            return (int)vlen;
        }
        p = eol ? eol + 1 : NULL;
    }
    return -1;
}
