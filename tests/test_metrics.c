/* test_metrics: fer_metrics_compute against a plain recount done here, on
 * seeded random label pairs over awkward class counts, and the edge cases
 * (a class never predicted, never present, ignored pairs); fer_metrics_argmax. */
#include <stdint.h>

#include "check.h"
#include "metrics.h"

/* The reference: per class, count tp, predicted and actual straight from
 * the pairs (no confusion matrix), then the scikit-learn formulas with
 * zero_division=0, everything in double. */
typedef struct ref {
    long n, tp[FER_METRICS_MAXK], pred[FER_METRICS_MAXK], act[FER_METRICS_MAXK];
    double acc, p[FER_METRICS_MAXK], r[FER_METRICS_MAXK], f[FER_METRICS_MAXK];
    double mp, mr, mf, wp, wr, wf;
} ref;

static int valid(int k, int32_t t, int32_t p)
{
    return t >= 0 && t < k && p >= 0 && p < k;
}

static void recount(ref *o, int k, const int32_t *t, const int32_t *p, size_t n)
{
    long right = 0, total = 0;
    memset(o, 0, sizeof *o);
    for (int c = 0; c < k; c++) {
        for (size_t i = 0; i < n; i++) {
            if (!valid(k, t[i], p[i]))
                continue;
            o->tp[c] += t[i] == c && p[i] == c;
            o->pred[c] += p[i] == c;
            o->act[c] += t[i] == c;
        }
        o->p[c] = o->pred[c] ? (double)o->tp[c] / o->pred[c] : 0;
        o->r[c] = o->act[c] ? (double)o->tp[c] / o->act[c] : 0;
        o->f[c] = o->p[c] + o->r[c] > 0 ? 2 * o->p[c] * o->r[c] / (o->p[c] + o->r[c]) : 0;
        o->mp += o->p[c];
        o->mr += o->r[c];
        o->mf += o->f[c];
        o->wp += o->p[c] * o->act[c];
        o->wr += o->r[c] * o->act[c];
        o->wf += o->f[c] * o->act[c];
        total += o->act[c];
    }
    for (size_t i = 0; i < n; i++)
        if (valid(k, t[i], p[i])) {
            o->n++;
            right += t[i] == p[i];
        }
    o->acc = o->n ? (double)right / o->n : 0;
    o->mp /= k;
    o->mr /= k;
    o->mf /= k;
    if (total) {
        o->wp /= total;
        o->wr /= total;
        o->wf /= total;
    }
}

/* Every figure of m against the recount; the first mismatch is reported. */
static void compare(const fer_metrics *m, const ref *o, int k, const int32_t *t,
                    const int32_t *p, size_t n)
{
    const double tol = 1e-12;
    CHECK(m->k == k, "k=%d, want %d", m->k, k);
    CHECK(m->n == o->n, "n=%ld, want %ld", m->n, o->n);
    CHECK_CLOSE(m->accuracy, o->acc, tol, 0);
    for (int a = 0; a < k; a++)
        for (int b = 0; b < k; b++) {
            long want = 0;
            for (size_t i = 0; i < n; i++)
                want += valid(k, t[i], p[i]) && t[i] == a && p[i] == b;
            CHECK(m->cm[a][b] == want, "k=%d cm[%d][%d]=%ld, want %ld", k, a, b, m->cm[a][b],
                  want);
        }
    for (int c = 0; c < k; c++) {
        CHECK(m->support[c] == o->act[c], "k=%d support[%d]=%ld, want %ld", k, c, m->support[c],
              o->act[c]);
        CHECK_CLOSE(m->precision[c], o->p[c], tol, 0);
        CHECK_CLOSE(m->recall[c], o->r[c], tol, 0);
        CHECK_CLOSE(m->f1[c], o->f[c], tol, 0);
    }
    CHECK_CLOSE(m->macro_p, o->mp, tol, 0);
    CHECK_CLOSE(m->macro_r, o->mr, tol, 0);
    CHECK_CLOSE(m->macro_f1, o->mf, tol, 0);
    CHECK_CLOSE(m->weighted_p, o->wp, tol, 0);
    CHECK_CLOSE(m->weighted_r, o->wr, tol, 0);
    CHECK_CLOSE(m->weighted_f1, o->wf, tol, 0);
}

/* Random pairs, right about half the time so that every figure is
 * neither 0 nor 1, over class counts 1..32 and awkward sizes. */
static void test_random_pairs(void)
{
    static const int ks[] = {1, 2, 3, 7, 13, 31, 32};
    static const size_t ns[] = {1, 5, 97, 1001, 4099};
    static int32_t t[4099], p[4099];
    static fer_metrics m;
    static ref o;
    check_seed(0x6d657472);
    for (size_t a = 0; a < sizeof ks / sizeof *ks; a++)
        for (size_t b = 0; b < sizeof ns / sizeof *ns; b++) {
            int k = ks[a];
            size_t n = ns[b];
            for (size_t i = 0; i < n; i++) {
                t[i] = (int32_t)(check_uniform() * k);
                p[i] = check_uniform() < 0.5 ? t[i] : (int32_t)(check_uniform() * k);
            }
            fer_metrics_compute(&m, k, t, p, n);
            recount(&o, k, t, p, n);
            compare(&m, &o, k, t, p, n);
        }
}

/* Class 2 is never predicted (precision 0, not NaN), class 4 never present
 * (recall 0, support 0, but still in the macro average), class 5 neither
 * (all zeros). Figures worked out by hand from the table below. */
static void test_never_predicted_never_present(void)
{
    /*           true: 0 0 1 1 2 2 2 3 3 3 */
    static const int32_t t[] = {0, 0, 1, 1, 2, 2, 2, 3, 3, 3};
    static const int32_t p[] = {0, 4, 1, 0, 0, 1, 3, 3, 3, 4};
    static fer_metrics m;
    static ref o;
    const int k = 6;
    fer_metrics_compute(&m, k, t, p, 10);
    recount(&o, k, t, p, 10);
    compare(&m, &o, k, t, p, 10);
    CHECK(m.precision[2] == 0 && m.recall[2] == 0 && m.f1[2] == 0 && m.support[2] == 3,
          "class 2: p %g r %g f %g s %ld", m.precision[2], m.recall[2], m.f1[2], m.support[2]);
    CHECK(m.precision[4] == 0 && m.recall[4] == 0 && m.f1[4] == 0 && m.support[4] == 0,
          "class 4: p %g r %g f %g s %ld", m.precision[4], m.recall[4], m.f1[4], m.support[4]);
    CHECK(m.precision[5] == 0 && m.recall[5] == 0 && m.support[5] == 0, "class 5");
    /* class 0: tp 1, predicted 3, actual 2; class 3: tp 2, predicted 3, actual 3 */
    CHECK_CLOSE(m.precision[0], 1.0 / 3, 1e-15, 0);
    CHECK_CLOSE(m.recall[0], 0.5, 1e-15, 0);
    CHECK_CLOSE(m.f1[0], 0.4, 1e-15, 0);
    CHECK_CLOSE(m.precision[3], 2.0 / 3, 1e-15, 0);
    CHECK_CLOSE(m.accuracy, 0.4, 1e-15, 0);
    /* macro over all 6 classes: p = (1/3 + 1/2 + 0 + 2/3 + 0 + 0) / 6 */
    CHECK_CLOSE(m.macro_p, (1.0 / 3 + 0.5 + 2.0 / 3) / 6, 1e-15, 0);
    /* weighted recall equals accuracy */
    CHECK_CLOSE(m.weighted_r, m.accuracy, 1e-15, 0);
}

/* Pairs with a label outside 0..k-1 (-1 = unknown) do not count at all. */
static void test_ignored_pairs(void)
{
    static const int32_t t[] = {-1, 0, 1, 5, 2, 1, -3};
    static const int32_t p[] = {0, 0, 2, 1, 2, 7, 1};
    static const int32_t kt[] = {0, 1, 2}, kp[] = {0, 2, 2};
    static fer_metrics m, want;
    fer_metrics_compute(&m, 3, t, p, 7);
    fer_metrics_compute(&want, 3, kt, kp, 3);
    CHECK(m.n == 3, "n=%ld, want 3", m.n);
    CHECK(!memcmp(&m, &want, sizeof m), "differs from the set without the ignored pairs");
}

/* No pairs at all: every figure 0, nothing NaN. */
static void test_empty(void)
{
    static fer_metrics m;
    int32_t none = 0;
    fer_metrics_compute(&m, 7, &none, &none, 0);
    CHECK(m.n == 0 && m.accuracy == 0, "n=%ld acc=%g", m.n, m.accuracy);
    CHECK(m.macro_f1 == 0 && m.weighted_p == 0 && m.weighted_f1 == 0, "averages not 0");
}

/* All right: every figure of a present class is 1. */
static void test_perfect(void)
{
    static int32_t t[301];
    static fer_metrics m;
    check_seed(77);
    for (int i = 0; i < 301; i++)
        t[i] = (int32_t)(check_uniform() * 5);
    fer_metrics_compute(&m, 5, t, t, 301);
    CHECK(m.accuracy == 1, "accuracy %g", m.accuracy);
    for (int c = 0; c < 5; c++)
        CHECK(m.precision[c] == 1 && m.recall[c] == 1 && m.f1[c] == 1, "class %d", c);
    CHECK_CLOSE(m.weighted_f1, 1, 1e-15, 0);
}

static void test_argmax(void)
{
    static const float a[] = {0.1f, 0.7f, 0.2f}, tie[] = {0.3f, 0.1f, 0.3f, 0.3f};
    static const float neg[] = {-5, -2, -3}, one[] = {42};
    static float r[37];
    CHECK(fer_metrics_argmax(a, 3) == 1, "argmax a");
    CHECK(fer_metrics_argmax(tie, 4) == 0, "the first of equal values wins");
    CHECK(fer_metrics_argmax(neg, 3) == 1, "argmax of negatives");
    CHECK(fer_metrics_argmax(one, 1) == 0, "argmax of one");
    check_seed(5);
    for (int rep = 0; rep < 50; rep++) {
        int want = 0;
        for (int i = 0; i < 37; i++) {
            r[i] = check_randf(-1, 1);
            if (r[i] > r[want])
                want = i;
        }
        CHECK(fer_metrics_argmax(r, 37) == want, "random rep %d", rep);
    }
}

int main(void)
{
    RUN(test_random_pairs);
    RUN(test_never_predicted_never_present);
    RUN(test_ignored_pairs);
    RUN(test_empty);
    RUN(test_perfect);
    RUN(test_argmax);
    return check_done();
}
