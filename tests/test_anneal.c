/* test_anneal: the search of fer-anneal in process: option parsing, the
 * acceptance rule and cooling against a hand-computed sequence, the moves,
 * the median stopping rule, log rows, replay, and annealing against
 * random search over many seeds. */
#include <math.h>
#include <stdint.h>

#include "anneal.h"
#include "anneal_log.h"
#include "check.h"
#include "error.h"
#include "optim.h"

static fer_anneal_space space_study(void)
{
    fer_anneal_space sp;
    memset(&sp, 0, sizeof sp);
    fer_anneal_parse_lr("1e-4:1e-1", &sp);
    fer_anneal_parse_epochs("2:30", &sp);
    fer_anneal_parse_batch("16,32,64,128,256", &sp);
    fer_anneal_parse_optim("adam", &sp);
    return sp;
}

static void test_parse_options(void)
{
    fer_anneal_space sp;
    static const char *const bad_lr[] = {"1:0", "0:1", "0", "-1:1", "abc", "1e-3:", ":1e-2",
                                         "1e-3:1e-2:3", "", "1e-3:200"};
    static const char *const bad_ep[] = {"5:1", "0:3", "2:30:0", "1:2:3:4", "", "x", "2:",
                                         "3:200000"};
    static const char *const bad_batch[] = {"", "32,,64", "32,", ",32", "1", "32,32", "abc",
                                            "64 ,32", "70000"};
    static const char *const bad_optim[] = {"", "adam,foo", "adam,adam", "Adam", "sgd,",
                                            "sgd,adam,adamw,sgd"};
    memset(&sp, 0, sizeof sp);
    CHECK(fer_anneal_parse_lr("1e-4:0.1", &sp) == 0 && sp.lr_lo == 1e-4 && sp.lr_hi == 0.1,
          "lr %g:%g", sp.lr_lo, sp.lr_hi);
    CHECK(fer_anneal_parse_lr("3e-3", &sp) == 0 && sp.lr_lo == 3e-3 && sp.lr_hi == 3e-3,
          "one lr");
    CHECK(fer_anneal_parse_epochs("2:30:4", &sp) == 0 && sp.ep_lo == 2 && sp.ep_hi == 30 &&
              sp.ep_step == 4, "epochs");
    CHECK(fer_anneal_parse_epochs("5:9", &sp) == 0 && sp.ep_step == 1, "step 1");
    CHECK(fer_anneal_parse_batch("128,32,64", &sp) == 0 && sp.nbatch == 3 &&
              sp.batch[0] == 32 && sp.batch[1] == 64 && sp.batch[2] == 128, "batch sorted");
    CHECK(fer_anneal_parse_optim("adamw,sgd", &sp) == 0 && sp.noptim == 2 &&
              sp.optim[0] == FER_ADAMW && sp.optim[1] == FER_SGD, "optim");
    for (size_t i = 0; i < sizeof bad_lr / sizeof *bad_lr; i++)
        CHECK(fer_anneal_parse_lr(bad_lr[i], &sp) == -1 && *fer_error(), "lr '%s' taken",
              bad_lr[i]);
    for (size_t i = 0; i < sizeof bad_ep / sizeof *bad_ep; i++)
        CHECK(fer_anneal_parse_epochs(bad_ep[i], &sp) == -1, "epochs '%s' taken", bad_ep[i]);
    for (size_t i = 0; i < sizeof bad_batch / sizeof *bad_batch; i++)
        CHECK(fer_anneal_parse_batch(bad_batch[i], &sp) == -1, "batch '%s' taken",
              bad_batch[i]);
    for (size_t i = 0; i < sizeof bad_optim / sizeof *bad_optim; i++)
        CHECK(fer_anneal_parse_optim(bad_optim[i], &sp) == -1, "optim '%s' taken",
              bad_optim[i]);
    fer_anneal_parse_batch("32,,64", &sp);
    CHECK(strstr(fer_error(), "empty item") != NULL, "message '%s'", fer_error());
    fer_anneal_parse_lr("1:0", &sp);
    CHECK(strstr(fer_error(), "lower bound") != NULL, "message '%s'", fer_error());
}

/* Injected acceptance draws. */
static const double *draws;
static int ndraw;
static double next_draw(void *ctx)
{
    (void)ctx;
    return draws[ndraw++];
}

/* The acceptance rule and the cooling schedule over ten trials of one
 * chain, t0 2 points, cooling 0.85, the uniform draws injected. By hand,
 * T_k = 2 * 0.85^(k-1) and p = exp(-100 (current - score) / T):
 *  1  T 2          0.500  no current point yet           accepted, cur 0.500
 *  2  T 1.7        0.520  better                          accepted, cur 0.520
 *  3  T 1.445      0.505  1.5 points, p = exp(-1.038) = 0.354 > u 0.3   accepted
 *  4  T 1.22825    0.490  1.5 points, p = exp(-1.221) = 0.295 > u 0.1   accepted
 *  5  T 1.0440125  0.530  better                          accepted, cur 0.530
 *  6  T 0.8874106  0.515  1.5 points, p = exp(-1.690) = 0.184 < u 0.2   rejected
 *  7  T 0.7542990  failed                                 rejected, cur 0.530
 *  8  T 0.6411542  0.529  0.1 point, p = exp(-0.156) = 0.856 > u 0.6    accepted
 *  9  T 0.5449811  0.509  2 points, p = exp(-3.670) = 0.0255 < u 0.03   rejected
 * 10  T 0.4632339  0.528  0.1 point, p = exp(-0.216) = 0.806 > u 0.8    accepted */
static void test_accept_sequence(void)
{
    static const double score[10] = {0.5, 0.52, 0.505, 0.49, 0.53, 0.515, NAN, 0.529, 0.509,
                                     0.528};
    static const double u[10] = {0.9, 0.9, 0.3, 0.1, 0.5, 0.2, 0.99, 0.6, 0.03, 0.8};
    static const double temp[10] = {2, 1.7, 1.445, 1.22825, 1.0440125, 0.887410625,
                                    0.75429903125, 0.6411541765625, 0.544981050078125,
                                    0.46323389256640625};
    static const int accepted[10] = {1, 1, 1, 1, 1, 0, 0, 1, 0, 1};
    static const double current[10] = {0.5, 0.52, 0.505, 0.49, 0.53, 0.53, 0.53, 0.529, 0.529,
                                       0.528};
    static const double best[10] = {0.5, 0.52, 0.52, 0.52, 0.53, 0.53, 0.53, 0.53, 0.53, 0.53};
    fer_anneal_opts o;
    fer_anneal s;
    fer_anneal_trial t;
    fer_anneal_defaults(&o);
    o.iters = 10;
    o.seed = 77;
    o.space = space_study();
    o.draw = next_draw;
    draws = u;
    ndraw = 0;
    CHECK(fer_anneal_init(&s, &o) == 0, "%s", fer_error());
    for (int k = 0; k < 10; k++) {
        fer_anneal_row r;
        memset(&r, 0, sizeof r);
        if (!fer_anneal_next(&s, 1, &t)) {
            CHECK(0, "no trial %d", k + 1);
            break;
        }
        CHECK(t.trial == k + 1 && t.chain == 1, "trial %d chain %d", t.trial, t.chain);
        CHECK_CLOSE(t.temperature, temp[k], 0, 1e-12);
        CHECK_CLOSE(fer_anneal_temperature(2, 0.85, k), temp[k], 0, 1e-12);
        r.score = score[k];
        CHECK(fer_anneal_record(&s, &t, &r) == 0, "%s", fer_error());
        CHECK(r.accepted == accepted[k], "trial %d accepted %d, want %d", k + 1, r.accepted,
              accepted[k]);
        CHECK_CLOSE(r.current, current[k], 1e-12, 0);
        CHECK_CLOSE(r.best, best[k], 1e-12, 0);
    }
    CHECK(ndraw == 10, "%d draws, one per decision", ndraw);
    CHECK(!fer_anneal_next(&s, 1, &t), "an 11th trial");
    CHECK(s.done == 10 && s.failed == 1 && s.best_trial == 5, "done %d failed %d best %d",
          s.done, s.failed, s.best_trial);
    fer_anneal_free(&s);
    /* the rule alone, on its edges */
    CHECK(fer_anneal_accept(NAN, 0.1, 1, 0.999) == 1, "first point");
    CHECK(fer_anneal_accept(0.5, NAN, 1e9, 0) == 0, "failed trial");
    CHECK(fer_anneal_accept(0.5, 0.5, 1e-9, 0.999) == 1, "a tie");
    CHECK(fer_anneal_accept(0.5, 0.49, 1, exp(-1) - 1e-9) == 1, "just below p");
    CHECK(fer_anneal_accept(0.5, 0.49, 1, exp(-1) + 1e-9) == 0, "just above p");
}

/* The default cooling ends near 1% of t0 after the default 30 trials. */
static void test_default_cooling(void)
{
    double end = fer_anneal_temperature(FER_ANNEAL_T0, FER_ANNEAL_COOLING,
                                        FER_ANNEAL_ITERS - 1) / FER_ANNEAL_T0;
    CHECK(end > 0.005 && end < 0.015, "T_30 / t0 = %g", end);
    CHECK(FER_ANNEAL_ITERS == 30, "the study's 30 iterations");
}

/* A random space: lr range, epoch grid, batch list, optimisers. */
static fer_anneal_space random_space(void)
{
    static const char *const optims[] = {"adam", "sgd,adam", "adam,adamw,sgd"};
    fer_anneal_space sp;
    char buf[256];
    double lo = pow(10, -5 + 3 * check_uniform());
    int k = 0, n;
    memset(&sp, 0, sizeof sp);
    snprintf(buf, sizeof buf, "%.3g:%.3g", lo, lo * pow(10, 0.5 + 3 * check_uniform()));
    CHECK(fer_anneal_parse_lr(buf, &sp) == 0, "%s: %s", buf, fer_error());
    snprintf(buf, sizeof buf, "%d:%d:%d", 1 + (int)(5 * check_uniform()),
             8 + (int)(40 * check_uniform()), 1 + (int)(4 * check_uniform()));
    CHECK(fer_anneal_parse_epochs(buf, &sp) == 0, "%s: %s", buf, fer_error());
    n = 2 + (int)(6 * check_uniform());
    for (int i = 0, b = 2 + (int)(10 * check_uniform()); i < n; i++, b = b * 2 + 1)
        k += snprintf(buf + k, sizeof buf - k, "%s%d", i ? "," : "", b);
    CHECK(fer_anneal_parse_batch(buf, &sp) == 0, "%s: %s", buf, fer_error());
    CHECK(fer_anneal_parse_optim(optims[(int)(3 * check_uniform())], &sp) == 0, "optim");
    return sp;
}

static int idx(const int *list, int n, int v)
{
    for (int i = 0; i < n; i++)
        if (list[i] == v)
            return i;
    return -1;
}

/* Moves stay in the space: lr by at most a sixth of the log range (the
 * same factor at small and large rates), epochs by at most m grid steps,
 * batch to a neighbour in the list, the optimiser rarely. */
static void test_perturb(void)
{
    check_seed(0x5eed1);
    for (int sps = 0; sps < 40; sps++) {
        fer_anneal_space sp = random_space();
        fer_rng r;
        double w = log10(sp.lr_hi / sp.lr_lo) / FER_ANNEAL_LR_STEP;
        int ng = (sp.ep_hi - sp.ep_lo) / sp.ep_step + 1;
        int m = (int)(ng / (double)FER_ANNEAL_EPOCH_STEP + 0.5);
        int moves = 0, optim_moves = 0, up = 0, down = 0;
        double wmax_lo = 0, wmax_mid = 0;
        if (m < 1)
            m = 1;
        fer_rng_seed(&r, 1000 + sps);
        for (int i = 0; i < 400; i++) {
            fer_anneal_point cur, p;
            fer_anneal_sample(&sp, &r, &cur);
            if (i % 4 == 0)     /* some at the lower end of the range */
                cur.lr = sp.lr_lo;
            if (i % 4 == 1)
                cur.lr = fer_anneal_round_lr(&sp, sqrt(sp.lr_lo * sp.lr_hi));
            fer_anneal_perturb(&sp, &cur, &r, &p);
            CHECK(fer_anneal_contains(&sp, &p), "space %d: %s", sps, fer_error());
            CHECK(memcmp(&p, &cur, sizeof p) != 0, "space %d: no move", sps);
            {
                double d = fabs(log10(p.lr / cur.lr));
                CHECK(d <= w + 0.0025, "space %d: lr %g -> %g, %g decades > %g", sps, cur.lr,
                      p.lr, d, w);
                if (i % 4 == 0 && d > wmax_lo)
                    wmax_lo = d;
                if (i % 4 == 1 && d > wmax_mid)
                    wmax_mid = d;
                if (i % 4 == 1 && p.lr > cur.lr)
                    up++;
                if (i % 4 == 1 && p.lr < cur.lr)
                    down++;
            }
            {
                int a = (cur.epochs - sp.ep_lo) / sp.ep_step, b = (p.epochs - sp.ep_lo) / sp.ep_step;
                CHECK(abs(a - b) <= m, "space %d: epochs %d -> %d, more than %d steps", sps,
                      cur.epochs, p.epochs, m);
            }
            CHECK(abs(idx(sp.batch, sp.nbatch, p.batch) - idx(sp.batch, sp.nbatch, cur.batch)) <= 1,
                  "space %d: batch %d -> %d is no neighbour", sps, cur.batch, p.batch);
            optim_moves += p.optim != cur.optim;
            moves++;
        }
        /* the step is the same in decades at the bottom of the range as in
         * its middle: multiplicative, not additive */
        CHECK(wmax_lo > 0.8 * w && wmax_mid > 0.8 * w, "space %d: widest lr steps %g, %g of %g",
              sps, wmax_lo, wmax_mid, w);
        CHECK(up > 5 && down > 5, "space %d: lr up %d, down %d from the middle", sps, up, down);
        if (sp.noptim > 1)
            CHECK(optim_moves > 0.04 * moves && optim_moves < 0.2 * moves,
                  "space %d: optimiser changed in %d of %d moves", sps, optim_moves, moves);
        else
            CHECK(optim_moves == 0, "space %d: one optimiser changed", sps);
    }
    {
        /* a space of one point stays put */
        fer_anneal_space sp;
        fer_anneal_point cur, p;
        fer_rng r;
        memset(&sp, 0, sizeof sp);
        fer_anneal_parse_lr("2e-3", &sp);
        fer_anneal_parse_epochs("7", &sp);
        fer_anneal_parse_batch("48", &sp);
        fer_anneal_parse_optim("sgd", &sp);
        fer_rng_seed(&r, 3);
        fer_anneal_sample(&sp, &r, &cur);
        fer_anneal_perturb(&sp, &cur, &r, &p);
        CHECK(p.lr == 2e-3 && p.epochs == 7 && p.batch == 48 && p.optim == FER_SGD,
              "one point: %g %d %d", p.lr, p.epochs, p.batch);
    }
}

/* Wiring of a search: each chain's trials after its first are neighbours
 * of its current point (the last one accepted), the chains start from
 * different points, and a recorded score is what the log holds (6
 * decimals), so that a replay decides the same. */
static void test_chain_wiring(void)
{
    fer_anneal_opts o;
    fer_anneal s;
    fer_anneal_point cur[4], first[4];
    int have[4] = {0}, m = (int)(29.0 / FER_ANNEAL_EPOCH_STEP + 0.5), n = 0;
    double w = 3.0 / FER_ANNEAL_LR_STEP;    /* decades: the range is 1e-4..1e-1 */
    /* the grid 2..30 has 29 points */
    fer_anneal_defaults(&o);
    o.iters = 60;
    o.chains = 4;
    o.seed = 8;
    o.space = space_study();
    fer_anneal_parse_optim("adam,sgd", &o.space);
    CHECK(fer_anneal_init(&s, &o) == 0, "%s", fer_error());
    check_seed(0xc4a1);
    for (int c = 1; c <= 4; c++) {
        fer_anneal_trial t;
        while (fer_anneal_next(&s, c, &t)) {
            fer_anneal_row r;
            double raw = 0.3 + 0.4 * check_uniform() + 1.234e-8;
            memset(&r, 0, sizeof r);
            CHECK(t.chain == c && (t.trial - 1) % 4 + 1 == c, "trial %d in chain %d", t.trial, c);
            if (!have[c - 1]) {
                first[c - 1] = t.p;
            } else {
                const fer_anneal_point *a = &cur[c - 1], *b = &t.p;
                int ia = idx(o.space.batch, o.space.nbatch, a->batch);
                int ib = idx(o.space.batch, o.space.nbatch, b->batch);
                CHECK(fabs(log10(b->lr / a->lr)) <= w + 0.0025 && abs(b->epochs - a->epochs) <= m &&
                          abs(ia - ib) <= 1,
                      "trial %d (lr %g, %d epochs, batch %d) is no neighbour of the current "
                      "point (lr %g, %d epochs, batch %d)", t.trial, b->lr, b->epochs, b->batch,
                      a->lr, a->epochs, a->batch);
            }
            r.score = raw;
            CHECK(fer_anneal_record(&s, &t, &r) == 0, "%s", fer_error());
            CHECK(r.score == fer_anneal_round6(raw) && r.score != raw, "score %.12g kept as %.12g",
                  raw, r.score);
            if (r.accepted) {
                cur[c - 1] = t.p;
                have[c - 1] = 1;
            }
            CHECK(!r.accepted || r.current == r.score, "current %g after accepting %g", r.current,
                  r.score);
            n++;
        }
    }
    CHECK(n == 60, "%d trials", n);
    for (int a = 0; a < 4; a++)
        for (int b = a + 1; b < 4; b++)
            CHECK(memcmp(&first[a], &first[b], sizeof first[a]) != 0,
                  "chains %d and %d start from the same point", a + 1, b + 1);
    fer_anneal_free(&s);
}

/* Random search's draws: lr log-uniform, the grid and lists uniform. */
static void test_sample(void)
{
    fer_anneal_space sp = space_study();
    fer_rng r;
    int below = 0, n = 6000, ep[31] = {0}, ba[5] = {0};
    double gm = sqrt(sp.lr_lo * sp.lr_hi);
    fer_rng_seed(&r, 99);
    for (int i = 0; i < n; i++) {
        fer_anneal_point p;
        fer_anneal_sample(&sp, &r, &p);
        CHECK(fer_anneal_contains(&sp, &p), "%s", fer_error());
        below += p.lr < gm;
        ep[p.epochs]++;
        ba[idx(sp.batch, sp.nbatch, p.batch)]++;
        CHECK(p.lr == fer_anneal_round_lr(&sp, p.lr), "lr %.17g not rounded", p.lr);
    }
    /* linear-uniform draws would put 3% below the geometric middle */
    CHECK(fabs(below / (double)n - 0.5) < 0.03, "%d of %d below the geometric middle", below, n);
    for (int e = 2; e <= 30; e++)
        CHECK(ep[e] > n / 29 / 2 && ep[e] < 2 * n / 29, "epochs %d drawn %d times", e, ep[e]);
    for (int b = 0; b < 5; b++)
        CHECK(ba[b] > n / 5 * 0.8 && ba[b] < n / 5 * 1.2, "batch %d drawn %d times", b, ba[b]);
}

/* The median stopping rule on hand-made histories. At epoch 3 the trials
 * that reached it had 0.50, 0.35, 0.45: median 0.45. */
static void test_median_rule(void)
{
    static const double a[] = {0.30, 0.40, 0.50, 0.55}, b[] = {0.20, 0.30, 0.35},
                        c[] = {0.25, 0.35, 0.45, 0.50, 0.52}, d[] = {0.10, 0.20},
                        e[] = {0.30, 0.30, 0.40, 0.60};
    fer_anneal_curve h[5] = {{a, 4}, {b, 3}, {c, 5}, {d, 2}, {e, 4}};
    double x1[] = {0.20, 0.30, 0.44}, x2[] = {0.46, 0.30, 0.40}, x3[] = {0.20, 0.30, 0.45};
    double zero[6] = {0};
    double y1[] = {0.20, 0.30, 0.42}, y2[] = {0.20, 0.30, 0.43};
    CHECK(fer_anneal_median_stop(h, 4, x1, 3, 10) == 1, "0.44 < median 0.45: stop");
    CHECK(fer_anneal_median_stop(h, 4, x2, 3, 10) == 0, "best so far 0.46 >= 0.45: go on");
    CHECK(fer_anneal_median_stop(h, 4, x3, 3, 10) == 0, "equal to the median: go on");
    CHECK(fer_anneal_median_stop(h, 4, zero, 2, 10) == 0, "epoch 2 < the minimum 3");
    CHECK(fer_anneal_median_stop(h, 4, zero, 1, 10) == 0, "epoch 1");
    CHECK(fer_anneal_median_stop(h, 4, zero, 4, 10) == 0, "epoch 4: only 2 trials reached it");
    CHECK(fer_anneal_median_stop(h, 4, x1, 3, 3) == 0, "its last epoch");
    CHECK(fer_anneal_median_stop(h, 2, zero, 3, 10) == 0, "2 earlier trials only");
    CHECK(fer_anneal_median_stop(h + 1, 3, x1, 3, 10) == 0, "b, c reach epoch 3, d not");
    /* with e: 0.35 0.40 0.45 0.50, median 0.425 */
    CHECK(fer_anneal_median_stop(h, 5, y1, 3, 10) == 1, "0.42 < 0.425: stop");
    CHECK(fer_anneal_median_stop(h, 5, y2, 3, 10) == 0, "0.43 > 0.425: go on");
    /* epoch 4 with e: a 0.55, c 0.50, e 0.60 -> 0.55 */
    {
        double z[] = {0.1, 0.2, 0.3, 0.54}, z2[] = {0.1, 0.2, 0.3, 0.55};
        CHECK(fer_anneal_median_stop(h, 5, z, 4, 9) == 1, "epoch 4: 0.54 < 0.55");
        CHECK(fer_anneal_median_stop(h, 5, z2, 4, 9) == 0, "epoch 4: 0.55 = 0.55");
    }
}

static int rows_equal(const fer_anneal_row *x, const fer_anneal_row *y, char *why, size_t n)
{
    snprintf(why, n, "trial %d/%d", x->t.trial, y->t.trial);
    if (x->t.trial != y->t.trial || x->t.chain != y->t.chain || x->t.p.lr != y->t.p.lr ||
        x->t.p.epochs != y->t.p.epochs || x->t.p.batch != y->t.p.batch ||
        x->t.p.optim != y->t.p.optim || x->accepted != y->accepted ||
        x->stopped_early != y->stopped_early || x->epochs_run != y->epochs_run ||
        strcmp(x->status, y->status) || x->nacc != y->nacc)
        return 0;
    if (!(isnan(x->score) ? isnan(y->score) : fabs(x->score - y->score) < 5e-7) ||
        !(isnan(x->current) ? isnan(y->current) : fabs(x->current - y->current) < 5e-7) ||
        !(isnan(x->best) ? isnan(y->best) : fabs(x->best - y->best) < 5e-7) ||
        !(isnan(x->t.temperature) ? isnan(y->t.temperature)
                                  : fabs(x->t.temperature - y->t.temperature) <=
                                        1e-5 * x->t.temperature) ||
        !(isnan(x->start) ? isnan(y->start) : fabs(x->start - y->start) < 0.0051) ||
        fabs(x->seconds - y->seconds) > 0.0051)
        return 0;
    for (int i = 0; i < x->nacc; i++)
        if (fabs(x->acc[i] - y->acc[i]) > 5e-7)
            return 0;
    return 1;
}

/* A random row that satisfies the log's rules. */
static void random_row(fer_anneal_row *r, double *acc, int random_search, int failed)
{
    static const char *const st[] = {"ok", "stopped", "exit-1", "signal-9", "short"};
    memset(r, 0, sizeof *r);
    r->t.trial = 1 + (int)(check_uniform() * 5000);
    r->t.chain = 1 + (int)(check_uniform() * 16);
    r->t.p.lr = pow(10, -6 + 5 * check_uniform()) * (1 + check_uniform());  /* 17 digits */
    r->t.p.epochs = 1 + (int)(check_uniform() * 60);
    r->t.p.batch = 2 + (int)(check_uniform() * 500);
    r->t.p.optim = (int)(check_uniform() * 3);
    r->t.temperature = random_search ? NAN : 10 * check_uniform() + 1e-4;
    r->accepted = random_search ? -1 : check_uniform() < 0.5;
    r->epochs_run = 1 + (int)(check_uniform() * r->t.p.epochs);
    r->score = NAN;
    if (!failed) {
        r->nacc = r->epochs_run;
        r->acc = acc;
        r->score = 0;
        for (int i = 0; i < r->nacc; i++) {
            acc[i] = fer_anneal_round6(0.1 + 0.8 * check_uniform());
            r->score = acc[i] > r->score ? acc[i] : r->score;
        }
    }
    r->current = random_search || check_uniform() < 0.1 ? NAN : fer_anneal_round6(check_uniform());
    r->best = fer_anneal_round6(check_uniform());
    r->seconds = floor(1e5 * check_uniform()) / 100;
    r->start = check_uniform() < 0.2 ? NAN : 1.7e9 + floor(1e7 * check_uniform()) / 100;
    r->stopped_early = check_uniform() < 0.3;
    snprintf(r->status, sizeof r->status, "%s", st[(int)(check_uniform() * 5)]);
}

static void test_row_roundtrip(void)
{
    double acc[64];
    check_seed(0xab1e);
    for (int i = 0; i < 300; i++) {
        fer_anneal_row r, back;
        char *line, why[64];
        random_row(&r, acc, i % 3 == 0, i % 7 == 0);
        line = fer_anneal_row_format(&r);
        CHECK(line && line[strlen(line) - 1] == '\n', "no line");
        if (!line)
            return;
        CHECK(fer_anneal_row_parse(line, &back) == 0, "'%s': %s", line, fer_error());
        CHECK(rows_equal(&r, &back, why, sizeof why), "%s differs: %s", why, line);
        CHECK(back.t.p.lr == r.t.p.lr, "lr %.17g back as %.17g", r.t.p.lr, back.t.p.lr);
        {
            /* a row read back is written the same */
            char *again = fer_anneal_row_format(&back);
            CHECK(again && !strcmp(again, line), "'%s' then '%s'", line, again);
            free(again);
        }
        fer_anneal_row_free(&back);
        free(line);
    }
    CHECK(fer_anneal_header_check(FER_ANNEAL_LOG_HEADER "\n") == 0, "header");
    CHECK(fer_anneal_header_check(FER_ANNEAL_LOG_HEADER "\r\n") == 0, "CRLF header");
    CHECK(fer_anneal_header_check("trial,chain,lr,epochs,batch,optim,score") == -1,
          "a short header");
    CHECK(fer_anneal_header_check("epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds") ==
              -1, "fer-train's header");
}

/* Malformed rows, each with the column the message must name. */
static void test_row_malformed(void)
{
    static const char good[] = "3,1,0.003,12,64,adam,0.6,1,0.6,0.6,1.445,4.20,0,3,ok,"
                               "1700000000.00,0.4 0.55 0.6\n";
    static const struct { const char *line, *msg; } bad[] = {
        {"3,1,0.003,12,64,adam,0.6,1,0.6,0.6,1.445,4.20,0,3,ok,1700000000.00", "fields"},
        {"3,1,0.003,12,64,adam,0.6,1,0.6,0.6,1.445,4.20,0,3,ok,1,0.4 0.55 0.6,x", "fields"},
        {"", "fields"},
        {"x,1,0.003,12,64,adam,0.6,1,0.6,0.6,1.445,4.20,0,3,ok,,0.4 0.55 0.6", "trial"},
        {"0,1,0.003,12,64,adam,0.6,1,0.6,0.6,1.445,4.20,0,3,ok,,0.4 0.55 0.6", "trial"},
        {"3,0,0.003,12,64,adam,0.6,1,0.6,0.6,1.445,4.20,0,3,ok,,0.4 0.55 0.6", "chain"},
        {"3,1,0,12,64,adam,0.6,1,0.6,0.6,1.445,4.20,0,3,ok,,0.4 0.55 0.6", "lr"},
        {"3,1,3e-3x,12,64,adam,0.6,1,0.6,0.6,1.445,4.20,0,3,ok,,0.4 0.55 0.6", "lr"},
        {"3,1,0.003,0,64,adam,0.6,1,0.6,0.6,1.445,4.20,0,3,ok,,0.4 0.55 0.6", "epochs"},
        {"3,1,0.003,12.5,64,adam,0.6,1,0.6,0.6,1.445,4.20,0,3,ok,,0.4 0.55 0.6", "epochs"},
        {"3,1,0.003,12,1,adam,0.6,1,0.6,0.6,1.445,4.20,0,3,ok,,0.4 0.55 0.6", "batch"},
        {"3,1,0.003,12,64,rmsprop,0.6,1,0.6,0.6,1.445,4.20,0,3,ok,,0.4 0.55 0.6", "optim"},
        {"3,1,0.003,12,64,adam,1.5,1,0.6,0.6,1.445,4.20,0,3,ok,,0.4 0.55 1.5", "score"},
        {"3,1,0.003,12,64,adam,0.6,1,0.6,0.6,1.445,4.20,0,3,ok,,0.4 1.55 0.6", "val_acc"},
        {"3,1,0.003,12,64,adam,0.6x,1,0.6,0.6,1.445,4.20,0,3,ok,,0.4 0.55 0.6", "score"},
        {"3,1,0.003,12,64,adam,0.6,2,0.6,0.6,1.445,4.20,0,3,ok,,0.4 0.55 0.6", "accepted"},
        {"3,1,0.003,12,64,adam,0.6,1,x,0.6,1.445,4.20,0,3,ok,,0.4 0.55 0.6", "current"},
        {"3,1,0.003,12,64,adam,0.6,1,0.6,-1,1.445,4.20,0,3,ok,,0.4 0.55 0.6", "best"},
        {"3,1,0.003,12,64,adam,0.6,1,0.6,0.6,-2,4.20,0,3,ok,,0.4 0.55 0.6", "temperature"},
        {"3,1,0.003,12,64,adam,0.6,1,0.6,0.6,1.445,,0,3,ok,,0.4 0.55 0.6", "seconds"},
        {"3,1,0.003,12,64,adam,0.6,1,0.6,0.6,1.445,4.20,2,3,ok,,0.4 0.55 0.6", "stopped_early"},
        {"3,1,0.003,12,64,adam,0.6,1,0.6,0.6,1.445,4.20,0,-3,ok,,0.4 0.55 0.6", "epochs_run"},
        {"3,1,0.003,12,64,adam,0.6,1,0.6,0.6,1.445,4.20,0,3,,,0.4 0.55 0.6", "status"},
        {"3,1,0.003,12,64,adam,0.6,1,0.6,0.6,1.445,4.20,0,3,OK!,,0.4 0.55 0.6", "status"},
        {"3,1,0.003,12,64,adam,0.6,1,0.6,0.6,1.445,4.20,0,3,ok,y,0.4 0.55 0.6", "start"},
        {"3,1,0.003,12,64,adam,0.6,1,0.6,0.6,1.445,4.20,0,3,ok,,0.4 0.55", "val_acc"},
        {"3,1,0.003,12,64,adam,0.6,1,0.6,0.6,1.445,4.20,0,3,ok,,0.4 0.5x 0.6", "val_acc"},
        {"3,1,0.003,12,64,adam,0.6,1,0.6,0.6,1.445,4.20,0,3,ok,,0.4  0.55 0.6", "val_acc"},
        {"3,1,0.003,12,64,adam,0.6,1,0.6,0.6,1.445,4.20,0,3,ok,, 0.4 0.55 0.6", "val_acc"},
        {"3,1,0.003,12,64,adam,0.6,1,0.6,0.6,1.445,4.20,0,3,ok,,0.4 0.55 0.6 ", "val_acc"},
        {"3,1, 0.003,12,64,adam,0.6,1,0.6,0.6,1.445,4.20,0,3,ok,,0.4 0.55 0.6", "lr"},
        {"3,1,0.003,12,0x40,adam,0.6,1,0.6,0.6,1.445,4.20,0,3,ok,,0.4 0.55 0.6", "batch"},
        {"3,1,0.003,12,64,adam,0.7,1,0.6,0.6,1.445,4.20,0,3,ok,,0.4 0.55 0.6", "score"},
        {"3,1,0.003,12,64,adam,0.6,1,0.6,0.6,1.445,4.20,0,3,ok,,", "score"},
        {"3,1,0.003,12,64,adam,,1,0.6,0.6,1.445,4.20,0,3,ok,,0.4 0.55 0.6", "score"},
    };
    fer_anneal_row r;
    CHECK(fer_anneal_row_parse(good, &r) == 0, "good row: %s", fer_error());
    CHECK(r.t.trial == 3 && r.t.p.lr == 0.003 && r.nacc == 3 && r.acc[1] == 0.55 &&
              r.accepted == 1 && r.t.p.optim == FER_ADAM && !strcmp(r.status, "ok"),
          "good row read wrong");
    fer_anneal_row_free(&r);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = fer_anneal_row_parse(bad[i].line, &r);
        CHECK(rc == -1, "row %zu taken: %s", i, bad[i].line);
        CHECK(rc == 0 || strstr(fer_error(), bad[i].msg), "row %zu: '%s' does not name %s", i,
              fer_error(), bad[i].msg);
        CHECK(r.acc == NULL, "row %zu: left memory", i);
        if (rc == 0)
            fer_anneal_row_free(&r);
    }
}

/* The stand-in objective: validation accuracy of a point, peaked at lr
 * 3e-3, 12 epochs, batch 64, adam, with small noise; per epoch a curve
 * rising to it. */
static double quality(const fer_anneal_point *p)
{
    double l = log10(p->lr / 3e-3), m = log2(p->batch / 64.0);
    return 0.66 - 0.06 * l * l - 0.0006 * (p->epochs - 12) * (p->epochs - 12) - 0.02 * m * m -
           (p->optim == FER_SGD) * 0.03;
}

static int curve(const fer_anneal_point *p, fer_rng *noise, double *acc)
{
    double q = quality(p);
    for (int e = 1; e <= p->epochs; e++)
        acc[e - 1] = 0.2 + (q - 0.2) * (1 - exp(-e / 2.0)) / (1 - exp(-p->epochs / 2.0)) +
                     0.01 * (fer_rng_double(noise) - 0.5);
    return p->epochs;
}

/* Runs a search to the end in process, finishing the chains' trials in
 * the order given by order_seed; rows (if not NULL) get the rows, by
 * trial. With early, the median rule cuts curves. Returns the best
 * score. */
static double drive(fer_anneal *s, uint64_t order_seed, int early, fer_anneal_row *rows,
                    double (*accs)[64])
{
    fer_rng order, noise;
    int n = s->o.chains;
    fer_anneal_trial *fly = calloc(n, sizeof *fly);
    int *busy = calloc(n, sizeof *busy);
    fer_rng_seed(&order, order_seed);
    for (;;) {
        int any = 0, i;
        for (int c = 0; c < n; c++)
            if (!busy[c] && fer_anneal_next(s, c + 1, &fly[c]))
                busy[c] = 1;
        for (int c = 0; c < n; c++)
            any += busy[c];
        if (!any)
            break;
        do     /* one of the running trials ends */
            i = (int)fer_rng_below(&order, n);
        while (!busy[i]);
        {
            fer_anneal_row r;
            double acc[64];
            int k;
            memset(&r, 0, sizeof r);
            fer_rng_seed(&noise, fly[i].trial * 7919 + (uint64_t)(fly[i].p.lr * 1e7));
            k = curve(&fly[i].p, &noise, acc);
            for (int e = 1; early && e <= k; e++)
                if (fer_anneal_should_stop(s, acc, e, fly[i].p.epochs)) {
                    k = e;
                    r.stopped_early = 1;
                }
            r.score = 0;
            for (int e = 0; e < k; e++)
                r.score = acc[e] > r.score ? acc[e] : r.score;
            r.nacc = r.epochs_run = k;
            r.acc = acc;
            r.start = NAN;
            strcpy(r.status, "ok");
            CHECK(fer_anneal_record(s, &fly[i], &r) == 0, "%s", fer_error());
            if (rows) {
                memcpy(accs[fly[i].trial - 1], acc, k * sizeof *acc);
                r.acc = accs[fly[i].trial - 1];
                rows[fly[i].trial - 1] = r;
            }
            busy[i] = 0;
        }
    }
    free(fly);
    free(busy);
    return s->best;
}

/* Random search has no chains: drive it one trial at a time. */
static double drive_random(fer_anneal *s)
{
    fer_anneal_trial t;
    fer_rng noise;
    while (fer_anneal_next(s, 0, &t)) {
        fer_anneal_row r;
        double acc[64];
        memset(&r, 0, sizeof r);
        fer_rng_seed(&noise, t.trial * 7919 + (uint64_t)(t.p.lr * 1e7));
        r.nacc = r.epochs_run = curve(&t.p, &noise, acc);
        r.acc = acc;
        r.score = 0;
        for (int e = 0; e < r.nacc; e++)
            r.score = acc[e] > r.score ? acc[e] : r.score;
        CHECK(fer_anneal_record(s, &t, &r) == 0, "%s", fer_error());
    }
    return s->best;
}

/* 20 seeds x 15 trials: annealing finds better points than random search
 * on the same budget, on average. */
static void test_anneal_beats_random(void)
{
    double sum_sa = 0, sum_rs = 0;
    int wins = 0, seeds = 20;
    for (int seed = 1; seed <= seeds; seed++) {
        fer_anneal_opts o;
        fer_anneal s;
        double sa, rs;
        fer_anneal_defaults(&o);
        o.iters = 15;
        o.seed = 1000 + seed;
        o.space = space_study();
        fer_anneal_init(&s, &o);
        sa = drive(&s, 1, 0, NULL, NULL);
        fer_anneal_free(&s);
        o.method = FER_ANNEAL_RANDOM;
        fer_anneal_init(&s, &o);
        rs = drive_random(&s);
        fer_anneal_free(&s);
        sum_sa += sa;
        sum_rs += rs;
        wins += sa > rs;
    }
    printf("# %d seeds x 15 trials: mean best %.4f by annealing, %.4f by random search; "
           "annealing better in %d\n", seeds, sum_sa / seeds, sum_rs / seeds, wins);
    CHECK(sum_sa > sum_rs, "annealing %.4f, random %.4f", sum_sa / seeds, sum_rs / seeds);
}

/* Chains depend only on their own results: two runs whose trials end in
 * different orders give the same trials and decisions. */
static void test_order_independent(void)
{
    static fer_anneal_row r1[24], r2[24];
    static double a1[24][64], a2[24][64];
    fer_anneal_opts o;
    fer_anneal s;
    char why[64];
    fer_anneal_defaults(&o);
    o.iters = 24;
    o.chains = 3;
    o.seed = 5;
    o.space = space_study();
    fer_anneal_parse_optim("adam,sgd,adamw", &o.space);
    fer_anneal_init(&s, &o);
    drive(&s, 11, 0, r1, a1);
    fer_anneal_free(&s);
    fer_anneal_init(&s, &o);
    drive(&s, 12, 0, r2, a2);
    fer_anneal_free(&s);
    for (int i = 0; i < 24; i++) {
        r1[i].best = r2[i].best = 0;   /* the best so far depends on the order */
        CHECK(rows_equal(&r1[i], &r2[i], why, sizeof why), "%s differs", why);
        CHECK(r1[i].t.chain == i % 3 + 1, "trial %d in chain %d", i + 1, r1[i].t.chain);
    }
}

/* The rows of a finished search as the log holds them (text read back). */
static void as_logged(const fer_anneal_row *full, fer_anneal_row *logged, int n)
{
    for (int i = 0; i < n; i++) {
        char *line = fer_anneal_row_format(&full[i]);
        CHECK(line && fer_anneal_row_parse(line, &logged[i]) == 0, "%s", fer_error());
        free(line);
    }
}

/* A search replayed from some rows of an earlier run goes on exactly as
 * the uninterrupted one: with one chain and early stopping every column
 * (the best so far too) comes out the same; with two chains (without early
 * stopping, whose history depends on which trials ended first) every
 * column but the best so far. kept(i, chains) says which trials the
 * interrupted run had recorded. */
static int kept(int i, int method, int chains)
{
    if (chains == 1)
        return i < 13;
    if (method == FER_ANNEAL_SA)    /* chain 1 up to trial 13, chain 2 up to trial 8 */
        return i % 2 == 0 ? i < 13 : i < 8;
    return (i * 7) % 5 < 2;         /* random search: any trials */
}

static void test_replay(void)
{
    static fer_anneal_row full[30], logged[30], rest[30];
    static double fa[30][64], ra[30][64];
    for (int method = 0; method < 2; method++)
        for (int chains = 1; chains <= 2; chains++) {
            fer_anneal_opts o;
            fer_anneal s;
            char why[64];
            int nkeep = 0, early = chains == 1;
            fer_anneal_defaults(&o);
            o.method = method;
            o.iters = 30;
            o.chains = chains;
            o.seed = 21;
            o.space = space_study();
            fer_anneal_parse_optim("adam,sgd", &o.space);
            memset(full, 0, sizeof full);
            memset(rest, 0, sizeof rest);
            fer_anneal_init(&s, &o);
            drive(&s, 3, early, full, fa);
            CHECK(!early || s.stopped > 0, "method %d: nothing stopped early", method);
            fer_anneal_free(&s);
            as_logged(full, logged, 30);
            fer_anneal_init(&s, &o);
            for (int i = 0; i < 30; i++)
                if (kept(i, method, chains)) {
                    CHECK(fer_anneal_replay(&s, &logged[i]) == 0, "method %d -j %d trial %d: %s",
                          method, chains, i + 1, fer_error());
                    nkeep++;
                }
            CHECK(s.done == nkeep, "%d replayed of %d", s.done, nkeep);
            drive(&s, 4, early, rest, ra);
            CHECK(s.done == 30, "%d done", s.done);
            for (int i = 0; i < 30; i++) {
                if (kept(i, method, chains))
                    continue;
                if (chains > 1)
                    rest[i].best = full[i].best = 0;
                CHECK(rows_equal(&full[i], &rest[i], why, sizeof why),
                      "method %d -j %d: after the replay %s differs", method, chains, why);
            }
            fer_anneal_free(&s);
            if (chains == 2) {
                for (int i = 0; i < 30; i++)
                    fer_anneal_row_free(&logged[i]);
                continue;
            }
            {
                /* refusals */
                fer_anneal u;
                fer_anneal_opts o2 = o;
                fer_anneal_row r = logged[0];
                o2.seed = 22;
                fer_anneal_init(&u, &o2);
                CHECK(fer_anneal_replay(&u, &logged[0]) == -1 && strstr(fer_error(), "proposes"),
                      "method %d: another seed taken: %s", method, fer_error());
                fer_anneal_free(&u);
                fer_anneal_init(&u, &o);
                r.t.p.lr *= 1.01;
                CHECK(fer_anneal_replay(&u, &r) == -1, "method %d: another lr taken", method);
                r = logged[0];
                r.t.p.batch = 48;
                CHECK(fer_anneal_replay(&u, &r) == -1 && strstr(fer_error(), "batch 48"),
                      "method %d: a batch outside the list: %s", method, fer_error());
                r = logged[0];
                r.accepted = method == FER_ANNEAL_SA ? -1 : 1;
                CHECK(fer_anneal_replay(&u, &r) == -1 && strstr(fer_error(), "search"),
                      "method %d: the other method's row: %s", method, fer_error());
                CHECK(fer_anneal_replay(&u, &logged[0]) == 0, "%s", fer_error());
                CHECK(fer_anneal_replay(&u, &logged[0]) == -1 && strstr(fer_error(), "twice"),
                      "method %d: twice: %s", method, fer_error());
                fer_anneal_free(&u);
                o2 = o;
                o2.iters = 10;
                fer_anneal_init(&u, &o2);
                CHECK(fer_anneal_replay(&u, &logged[12]) == -1 && strstr(fer_error(), "--iters"),
                      "beyond --iters: %s", fer_error());
                fer_anneal_free(&u);
                if (method == FER_ANNEAL_SA) {
                    fer_anneal_init(&u, &o);
                    CHECK(fer_anneal_replay(&u, &logged[2]) == -1 && strstr(fer_error(), "before"),
                          "a gap in chain 1: %s", fer_error());
                    fer_anneal_free(&u);
                    o2 = o;
                    o2.chains = 2;
                    fer_anneal_init(&u, &o2);
                    CHECK(fer_anneal_replay(&u, &logged[1]) == -1 && strstr(fer_error(), "-j"),
                          "-j 2 for a -j 1 log: %s", fer_error());
                    fer_anneal_free(&u);
                    o2 = o;
                    o2.t0 = 5;
                    fer_anneal_init(&u, &o2);
                    CHECK(fer_anneal_replay(&u, &logged[0]) == -1 &&
                              strstr(fer_error(), "temperature"),
                          "another t0: %s", fer_error());
                    fer_anneal_free(&u);
                    fer_anneal_init(&u, &o);
                    r = logged[0];
                    r.accepted = 0;     /* a first trial is always accepted */
                    CHECK(fer_anneal_replay(&u, &r) == -1 && strstr(fer_error(), "accepts"),
                          "a changed decision: %s", fer_error());
                    fer_anneal_free(&u);
                }
            }
            for (int i = 0; i < 30; i++)
                fer_anneal_row_free(&logged[i]);
        }
}

int main(void)
{
    RUN(test_parse_options);
    RUN(test_accept_sequence);
    RUN(test_default_cooling);
    RUN(test_perturb);
    RUN(test_chain_wiring);
    RUN(test_sample);
    RUN(test_median_rule);
    RUN(test_row_roundtrip);
    RUN(test_row_malformed);
    RUN(test_anneal_beats_random);
    RUN(test_order_independent);
    RUN(test_replay);
    return check_done();
}
