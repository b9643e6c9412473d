/* util.c: see util.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "gemm.h"
#include "parse.h"
#include "util.h"

const char *fer_cmd = "fer";

void fer_cmd_fail(int status, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", fer_cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(status);
}

double fer_cmd_num(const char *opt, const char *s, double lo, double hi)
{
    double v;
    if (fer_parse_double(s, lo, hi, &v))
        fer_cmd_fail(2, "--%s: %s", opt, fer_error());
    return v;
}

long fer_cmd_whole(const char *opt, const char *s, long lo, long hi)
{
    long v;
    if (fer_parse_long(s, lo, hi, &v))
        fer_cmd_fail(2, "--%s: %s", opt, fer_error());
    return v;
}

void fer_cmd_precision(const char *argv0, const char *name, int quiet)
{
    if (fer_gemm_set_precision(name)) {
        fprintf(stderr, "%s: --precision: %s\n", argv0, fer_error());
        exit(2);
    }
    if (!strcmp(name, "bf16") && !fer_gemm_bf16_native() && !quiet)
        fprintf(stderr, "%s: bf16 without AVX512_BF16 (kernel %s): rounded operands on the "
                "fp32 kernel, no faster than fp32\n", argv0, fer_gemm_kernel_name());
}

/* A broken invariant in the library names itself before the abort. */
static void say_assert(const char *file, int line, const char *expr)
{
    fprintf(stderr, "%s: %s:%d: assertion failed: %s\n", fer_cmd, file, line, expr);
}

__attribute__((constructor)) static void install_assert_hook(void)
{
    fer_set_assert_hook(say_assert);
}
