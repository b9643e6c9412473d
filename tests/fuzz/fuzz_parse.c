/* fuzz_parse: the checked parsers behind every tool's options and the
 * model and checkpoint meta text (parse.h), and the option words the
 * library names (optim.h, dataset.h). fer-train's and fer-detect's
 * getopt_long tables live in cmd/ and end in these calls.
 *
 * The input is one option argument, or a meta text and a key split at
 * the first NUL. */
#include "fuzz.h"   /* first: it asks for memfd_create */

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dataset.h"
#include "optim.h"
#include "parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    char *s = malloc(n + 1), buf[64];
    const char *key;
    long l;
    double d;
    size_t len;
    int k;
    if (!s)
        return 0;
    memcpy(s, data, n);
    s[n] = 0;
    len = strlen(s);
    if (!fer_parse_long(s, -100000, 9007199254740991L, &l) && (l < -100000 || l > 9007199254740991L))
        abort();
    if (!fer_parse_long(s, 0, 0, &l) && l != 0)
        abort();
    if (!fer_parse_double(s, -1e9, 1e9, &d) && (!isfinite(d) || d < -1e9 || d > 1e9))
        abort();
    if (!fer_parse_double(s, 0.05, 20, &d) && (d < 0.05 || d > 20))
        abort();
    (void)fer_optim_parse(s);
    if ((k = fer_dataset_usage_parse(s)) >= 0 && strcmp(fer_dataset_usage_name(k), s))
        abort();
    /* meta text, then the key after the first NUL (or a fixed one) */
    key = len < n ? s + len + 1 : "classes";
    k = fer_parse_meta(s, key, buf, sizeof buf);
    if (k >= 0 && strlen(buf) != (size_t)(k < (int)sizeof buf ? k : (int)sizeof buf - 1))
        abort();
    (void)fer_parse_meta(s, "train.command", buf, 1);
    free(s);
    return 0;
}
