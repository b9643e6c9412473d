/* opt.c: see opt.h. */
#include <stdio.h>
#include <string.h>

#include "backend_cuda.h"
#include "dataset.h"
#include "error.h"
#include "gemm.h"
#include "opt.h"
#include "parse.h"
#include "util.h"

double fer_cmd_num(const char *opt, const char *s, double lo, double hi)
{
    double v;
    if (fer_parse_double(s, lo, hi, &v))
        usage_error("--%s: %s", opt, fer_error());
    return v;
}

long fer_cmd_whole(const char *opt, const char *s, long lo, long hi)
{
    long v;
    if (fer_parse_long(s, lo, hi, &v))
        usage_error("--%s: %s", opt, fer_error());
    return v;
}

double fer_cmd_positive(const char *opt, const char *s, double hi)
{
    double v = fer_cmd_num(opt, s, 0, hi);
    if (!(v > 0))
        usage_error("--%s: '%s': must be above 0", opt, s);
    return v;
}

void fer_cmd_range(const char *opt, const char *s, double lo, double hi, double *a, double *b)
{
    char buf[128], *colon;
    if (snprintf(buf, sizeof buf, "%s", s) >= (int)sizeof buf || !(colon = strchr(buf, ':')))
        usage_error("--%s: '%s': want A:B", opt, s);
    *colon = 0;
    *a = fer_cmd_num(opt, buf, lo, hi);
    *b = fer_cmd_num(opt, colon + 1, lo, hi);
    if (*a > *b)
        usage_error("--%s: '%s': A is above B", opt, s);
}

int fer_cmd_pick(const char *opt, const char *s, const char *const *names)
{
    char list[256];
    size_t len = 0;
    int n = 0;
    for (; names[n]; n++)
        if (!strcmp(s, names[n]))
            return n;
    list[0] = 0;
    for (int i = 0; i < n && len < sizeof list; i++)
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%s",
                                i == 0 ? "" : i == n - 1 ? " or " : ", ", names[i]);
    usage_error("--%s: '%s': use %s", opt, s, list);
}

unsigned fer_cmd_usage_bit(const char *s)
{
    int u = fer_dataset_usage_parse(s);
    if (u < 0)
        usage_error("--usage: '%s': use Training, PublicTest or PrivateTest", s);
    return 1u << u;
}

void fer_cmd_precision(const char *name, int quiet)
{
    if (fer_gemm_set_precision(name))
        usage_error("--precision: %s", fer_error());
    if (!strcmp(name, "bf16") && !fer_gemm_bf16_native() && !quiet)
        fprintf(stderr, "%s: bf16 without AVX512_BF16 (kernel %s): rounded operands on the "
                "fp32 kernel, no faster than fp32\n", fer_cmd, fer_gemm_kernel_name());
}

const fer_backend *fer_cmd_backend(const char *device, const char *precision, const char *gemm,
                                   int quiet)
{
    if (!device || !strcmp(device, "cpu")) {
        if (gemm)
            usage_error("--gemm: chooses the GPU's products; add --device cuda");
        if (!strcmp(precision, "tf32"))
            usage_error("--precision tf32: a GPU precision; add --device cuda, or use fp32 "
                        "or bf16");
        fer_cmd_precision(precision, quiet);
        return NULL;
    }
    long n = 0;
    if (!strncmp(device, "cuda:", 5))
        n = fer_cmd_whole("device", device + 5, 0, 63);
    else if (strcmp(device, "cuda"))
        usage_error("--device: '%s': use cpu, cuda or cuda:N", device);
    if (gemm && strcmp(gemm, "ours") && strcmp(gemm, "cublas"))
        usage_error("--gemm: '%s': use ours or cublas", gemm);
    if (strcmp(precision, "fp32") && strcmp(precision, "tf32") && strcmp(precision, "bf16"))
        usage_error("--precision: '%s': use fp32, tf32 or bf16", precision);
    const fer_backend *be = fer_backend_cuda_open((int)n);
    if (!be || fer_backend_cuda_precision(precision) || fer_backend_cuda_gemm(gemm ? gemm : "ours"))
        die("--device %s: %s", device, fer_error());
    return be;
}

void fer_cmd_move(fer_net *net, const fer_backend *be)
{
    if (be && fer_net_set_backend(net, be))
        die("moving the net to %s: %s", be->name, fer_error());
}
