/* test_plan.c: the inference plan (shared output blocks) gives the same
 * logits, bit for bit, as the training plan in eval mode, for the three
 * architectures and a batch smaller than planned; and a net can go back
 * and forth between the two plans. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "net_test.h"
#include "error.h"
#include "model.h"
#include "rng.h"

static void same_logits(const char *arch, double width, int n)
{
    fer_model m;
    fer_model_opts o;
    fer_rng rng;
    float *x, *a, *b;
    size_t in = 48 * 48 * (size_t)n;
    fer_model_defaults(arch, &o);
    o.width = width;
    fer_rng_seed(&rng, 77);
    CHECK(fer_model_build(&m, arch, &o, &rng) == 0, "%s: %s", arch, fer_error());
    /* random running statistics, so that eval-mode batch norm does something */
    for (int i = 0; i < fer_net_nparams(m.net); i++) {
        const fer_param *p = fer_net_param(m.net, i);
        float *w = param_w(m.net, i);
        if (strstr(p->name, "running_var"))
            for (size_t j = 0; j < p->n; j++)
                w[j] = 0.5f + fer_rng_float(&rng);
        else if (strstr(p->name, "running_mean"))
            for (size_t j = 0; j < p->n; j++)
                w[j] = fer_rng_float(&rng) - 0.5f;
    }
    x = malloc(in * sizeof *x), a = malloc(n * 7 * sizeof *a), b = malloc(n * 7 * sizeof *b);
    for (size_t i = 0; i < in; i++)
        x[i] = check_randf(-2, 2);
    CHECK(fer_net_plan(m.net, n + 3) == 0, "plan: %s", fer_error());
    CHECK(fer_net_forward(m.net, x, n, 0, 0, 0, a) == 0, "forward: %s", fer_error());
    CHECK(fer_net_plan_infer(m.net, n + 3) == 0, "plan_infer: %s", fer_error());
    CHECK(fer_net_max_batch(m.net) == n + 3, "max batch %d", fer_net_max_batch(m.net));
    CHECK(fer_net_forward(m.net, x, n, 0, 0, 0, b) == 0, "forward: %s", fer_error());
    for (int i = 0; i < n * 7; i++)
        CHECK(a[i] == b[i], "%s logit %d: %.9g with the inference plan, %.9g without", arch, i,
              b[i], a[i]);
    /* back to the training plan: a training pass still runs */
    CHECK(fer_net_plan(m.net, n + 3) == 0, "re-plan: %s", fer_error());
    CHECK(fer_net_forward(m.net, x, n, 0, 0, 0, b) == 0, "forward: %s", fer_error());
    CHECK(!memcmp(b, a, n * 7 * sizeof *a), "%s: logits changed after re-planning", arch);
    free(x), free(a), free(b);
    fer_model_free(&m);
}

static void cnn(void) { check_seed(1); same_logits("cnn", 0.25, 5); }
static void ff(void) { check_seed(2); same_logits("ff", 0.5, 9); }
static void resnet18(void) { check_seed(3); same_logits("resnet18", 0.125, 3); }

int main(void)
{
    RUN(cnn);
    RUN(ff);
    RUN(resnet18);
    return check_done();
}
