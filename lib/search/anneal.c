/* anneal.c: the search space, its moves, the acceptance rule, the cooling
 * schedule, the median stopping rule and the state of a search. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anneal.h"
#include "error.h"
#include "optim.h"
#include "parse.h"

#define TEXT_MAX 512 /* longest option text taken */

/* Copies s into buf (n bytes) or fails. */
static int copy_text(const char *s, char *buf, size_t n)
{
    if (!s || !*s)
        return fer_seterr("empty value");
    if (strlen(s) >= n)
        return fer_seterr("'%.20s...': too long", s);
    strcpy(buf, s);
    return 0;
}

/* Splits buf at sep into at most max fields; returns the count or -1. */
static int split(char *buf, char sep, char **f, int max)
{
    int n = 0;
    for (char *p = buf;; p++) {
        if (n == max)
            return -1;
        f[n++] = p;
        p = strchr(p, sep);
        if (!p)
            return n;
        *p = 0;
    }
}

int fer_anneal_parse_lr(const char *s, fer_anneal_space *sp)
{
    char buf[TEXT_MAX], *f[2];
    double v[2];
    int n;
    if (copy_text(s, buf, sizeof buf))
        return -1;
    if ((n = split(buf, ':', f, 2)) < 0)
        return fer_seterr("'%s': use A:B", s);
    for (int i = 0; i < n; i++)
        if (fer_parse_double(f[i], 0, 100, &v[i]))
            return fer_error_prefix("'%s'", s);
    if (n == 1)
        v[1] = v[0];
    if (v[0] > v[1])
        return fer_seterr("'%s': the lower bound is above the upper", s);
    if (!(v[0] > 0))
        return fer_seterr("'%s': the learning rate must be above 0", s);
    sp->lr_lo = v[0];
    sp->lr_hi = v[1];
    return 0;
}

int fer_anneal_parse_epochs(const char *s, fer_anneal_space *sp)
{
    char buf[TEXT_MAX], *f[3];
    long v[3] = {0, 0, 1};
    int n;
    if (copy_text(s, buf, sizeof buf))
        return -1;
    if ((n = split(buf, ':', f, 3)) < 0)
        return fer_seterr("'%s': use A:B or A:B:STEP", s);
    for (int i = 0; i < n; i++)
        if (fer_parse_long(f[i], 1, 100000, &v[i]))
            return fer_error_prefix("'%s'", s);
    if (n == 1)
        v[1] = v[0];
    if (v[0] > v[1])
        return fer_seterr("'%s': the lower bound is above the upper", s);
    sp->ep_lo = (int)v[0];
    sp->ep_hi = (int)v[1];
    sp->ep_step = (int)v[2];
    return 0;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

int fer_anneal_parse_batch(const char *s, fer_anneal_space *sp)
{
    char buf[TEXT_MAX], *f[FER_ANNEAL_LIST_MAX];
    int n;
    if (copy_text(s, buf, sizeof buf))
        return -1;
    if ((n = split(buf, ',', f, FER_ANNEAL_LIST_MAX)) < 0)
        return fer_seterr("'%s': more than %d sizes", s, FER_ANNEAL_LIST_MAX);
    for (int i = 0; i < n; i++) {
        long v;
        if (!*f[i])
            return fer_seterr("'%s': empty item", s);
        if (fer_parse_long(f[i], 2, 65536, &v))
            return fer_error_prefix("'%s'", s);
        for (int j = 0; j < i; j++)
            if (sp->batch[j] == v)
                return fer_seterr("'%s': %ld twice", s, v);
        sp->batch[i] = (int)v;
    }
    sp->nbatch = n;
    qsort(sp->batch, n, sizeof sp->batch[0], cmp_int);
    return 0;
}

int fer_anneal_parse_optim(const char *s, fer_anneal_space *sp)
{
    char buf[TEXT_MAX], *f[FER_ANNEAL_OPTIM_MAX + 1];
    int n;
    if (copy_text(s, buf, sizeof buf))
        return -1;
    if ((n = split(buf, ',', f, FER_ANNEAL_OPTIM_MAX + 1)) < 0)
        return fer_seterr("'%s': more names than sgd, adam and adamw", s);
    for (int i = 0; i < n; i++) {
        int k = fer_optim_parse(f[i]);
        if (!*f[i])
            return fer_seterr("'%s': empty item", s);
        if (k < 0)
            return fer_seterr("'%s': '%s' is not sgd, adam or adamw", s, f[i]);
        for (int j = 0; j < i; j++)
            if (sp->optim[j] == k)
                return fer_seterr("'%s': %s twice", s, f[i]);
        if (i == FER_ANNEAL_OPTIM_MAX)
            return fer_seterr("'%s': more names than sgd, adam and adamw", s);
        sp->optim[i] = k;
    }
    sp->noptim = n;
    return 0;
}

static int grid_points(const fer_anneal_space *sp)
{
    return (sp->ep_hi - sp->ep_lo) / sp->ep_step + 1;
}

static int index_of(const int *list, int n, int v)
{
    for (int i = 0; i < n; i++)
        if (list[i] == v)
            return i;
    return -1;
}

int fer_anneal_contains(const fer_anneal_space *sp, const fer_anneal_point *p)
{
    if (!(p->lr >= sp->lr_lo && p->lr <= sp->lr_hi)) {
        fer_seterr("lr %g outside %g..%g", p->lr, sp->lr_lo, sp->lr_hi);
        return 0;
    }
    if (p->epochs < sp->ep_lo || p->epochs > sp->ep_hi || (p->epochs - sp->ep_lo) % sp->ep_step) {
        fer_seterr("epochs %d not on the grid %d:%d:%d", p->epochs, sp->ep_lo, sp->ep_hi,
                   sp->ep_step);
        return 0;
    }
    if (index_of(sp->batch, sp->nbatch, p->batch) < 0) {
        fer_seterr("batch %d not in the list", p->batch);
        return 0;
    }
    if (index_of(sp->optim, sp->noptim, p->optim) < 0) {
        fer_seterr("optim %s not in the list", fer_optim_name(p->optim));
        return 0;
    }
    return 1;
}

double fer_anneal_round_lr(const fer_anneal_space *sp, double lr)
{
    char buf[32];
    double v;
    snprintf(buf, sizeof buf, "%.3g", lr);
    v = strtod(buf, NULL);
    return v < sp->lr_lo ? sp->lr_lo : v > sp->lr_hi ? sp->lr_hi : v;
}

void fer_anneal_sample(const fer_anneal_space *sp, fer_rng *r, fer_anneal_point *p)
{
    double a = log(sp->lr_lo), b = log(sp->lr_hi);
    p->lr = fer_anneal_round_lr(sp, exp(a + (b - a) * fer_rng_double(r)));
    p->epochs = sp->ep_lo + sp->ep_step * (int)fer_rng_below(r, grid_points(sp));
    p->batch = sp->batch[fer_rng_below(r, sp->nbatch)];
    p->optim = sp->optim[fer_rng_below(r, sp->noptim)];
}

/* i moved by d and reflected into 0..n-1 (n >= 2). */
static int reflect(int i, int d, int n)
{
    i += d;
    while (i < 0 || i > n - 1)
        i = i < 0 ? -i : 2 * (n - 1) - i;
    return i;
}

static int same_point(const fer_anneal_point *a, const fer_anneal_point *b)
{
    return a->lr == b->lr && a->epochs == b->epochs && a->batch == b->batch && a->optim == b->optim;
}

void fer_anneal_perturb(const fer_anneal_space *sp, const fer_anneal_point *cur, fer_rng *r,
                        fer_anneal_point *p)
{
    int ng = grid_points(sp), m = (int)(ng / (double)FER_ANNEAL_EPOCH_STEP + 0.5);
    int one = sp->lr_lo == sp->lr_hi && ng == 1 && sp->nbatch == 1 && sp->noptim == 1;
    double a = log10(sp->lr_lo), b = log10(sp->lr_hi), w = (b - a) / FER_ANNEAL_LR_STEP;
    if (m < 1)
        m = 1;
    /* a space whose only moves round back to cur gives up after 64 tries */
    for (int tries = 0; tries < 64; tries++) {
        *p = *cur;
        if (fer_rng_u64(r) >> 63 && b > a) {
            double x = log10(cur->lr) + w * (2 * fer_rng_double(r) - 1);
            x = x > b ? 2 * b - x : x < a ? 2 * a - x : x;
            p->lr = fer_anneal_round_lr(sp, pow(10, x));
        }
        if (fer_rng_u64(r) >> 63 && ng > 1) {
            int d = 1 + (int)fer_rng_below(r, m);
            int i = (cur->epochs - sp->ep_lo) / sp->ep_step;
            p->epochs = sp->ep_lo + sp->ep_step * reflect(i, fer_rng_u64(r) >> 63 ? d : -d, ng);
        }
        if (fer_rng_u64(r) >> 63 && sp->nbatch > 1) {
            int i = index_of(sp->batch, sp->nbatch, cur->batch);
            p->batch = sp->batch[reflect(i, fer_rng_u64(r) >> 63 ? 1 : -1, sp->nbatch)];
        }
        if (sp->noptim > 1 && fer_rng_double(r) < FER_ANNEAL_P_OPTIM) {
            int i = index_of(sp->optim, sp->noptim, cur->optim);
            int j = (int)fer_rng_below(r, sp->noptim - 1);
            p->optim = sp->optim[j >= i ? j + 1 : j];
        }
        if (one || !same_point(p, cur))
            return;
    }
}

double fer_anneal_temperature(double t0, double cooling, int k)
{
    return t0 * pow(cooling, k);
}

int fer_anneal_accept(double current, double score, double t, double u)
{
    if (isnan(score))
        return 0;
    if (isnan(current) || score >= current)
        return 1;
    return u < exp(-100.0 * (current - score) / t);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int fer_anneal_median_stop(const fer_anneal_curve *hist, int nhist, const double *acc, int k,
                           int epochs)
{
    double *v, med, best = -INFINITY;
    int n = 0;
    if (k < FER_ANNEAL_STOP_MIN_EPOCH || k >= epochs || nhist < FER_ANNEAL_STOP_MIN_TRIALS)
        return 0;
    if (!(v = malloc(nhist * sizeof *v)))
        return 0; /* out of memory: let it run */
    for (int i = 0; i < nhist; i++)
        if (hist[i].n >= k)
            v[n++] = hist[i].acc[k - 1];
    if (n < FER_ANNEAL_STOP_MIN_TRIALS) {
        free(v);
        return 0;
    }
    qsort(v, n, sizeof *v, cmp_double);
    med = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    free(v);
    for (int i = 0; i < k; i++)
        if (acc[i] > best)
            best = acc[i];
    return best < med;
}

double fer_anneal_round6(double x)
{
    char buf[64];
    if (!isfinite(x))
        return x;
    snprintf(buf, sizeof buf, "%.6f", x);
    return strtod(buf, NULL);
}

void fer_anneal_defaults(fer_anneal_opts *o)
{
    memset(o, 0, sizeof *o);
    o->method = FER_ANNEAL_SA;
    o->iters = FER_ANNEAL_ITERS;
    o->chains = 1;
    o->t0 = FER_ANNEAL_T0;
    o->cooling = FER_ANNEAL_COOLING;
    o->seed = 1;
}

/* The generator of chain or trial i: streams apart for every (seed, i). */
static void seed_stream(fer_rng *r, uint64_t seed, uint64_t kind, uint64_t i)
{
    fer_rng_seed(r, seed);
    fer_rng_seed(r, fer_rng_u64(r) ^ (kind * 0xD1B54A32D192ED03ull) ^ (i * 0x9E3779B97F4A7C15ull));
}

int fer_anneal_init(fer_anneal *s, const fer_anneal_opts *o)
{
    const fer_anneal_space *sp = &o->space;
    memset(s, 0, sizeof *s);
    if (o->iters < 1 || o->iters > FER_ANNEAL_ITERS_MAX)
        return fer_seterr("iters %d outside 1..%d", o->iters, FER_ANNEAL_ITERS_MAX);
    if (o->chains < 1 || o->chains > FER_ANNEAL_CHAINS_MAX)
        return fer_seterr("chains %d outside 1..%d", o->chains, FER_ANNEAL_CHAINS_MAX);
    if (!(o->t0 > 0) || !(o->cooling > 0 && o->cooling <= 1))
        return fer_seterr("t0 %g, cooling %g: need t0 > 0, 0 < cooling <= 1", o->t0, o->cooling);
    if (!(sp->lr_lo > 0 && sp->lr_lo <= sp->lr_hi) || sp->ep_lo < 1 || sp->ep_hi < sp->ep_lo ||
        sp->ep_step < 1 || sp->nbatch < 1 || sp->noptim < 1)
        return fer_seterr("empty search space");
    s->o = *o;
    s->best = NAN;
    s->chain = calloc(o->chains, sizeof *s->chain);
    s->state = calloc(o->iters, 1);
    s->hist = calloc(o->iters, sizeof *s->hist);
    if (!s->chain || !s->state || !s->hist) {
        fer_anneal_free(s);
        return fer_seterr("out of memory");
    }
    for (int c = 0; c < o->chains; c++) {
        seed_stream(&s->chain[c].rng, o->seed, 1, c);
        s->chain[c].cur_score = NAN;
    }
    return 0;
}

void fer_anneal_free(fer_anneal *s)
{
    for (int i = 0; s->hist && i < s->nhist; i++)
        free((double *)s->hist[i].acc);
    free(s->hist);
    free(s->chain);
    free(s->state);
    memset(s, 0, sizeof *s);
}

/* Random search: trial's point, from its own generator. */
static void random_trial(const fer_anneal *s, int trial, fer_anneal_trial *t)
{
    fer_rng r;
    seed_stream(&r, s->o.seed, 2, trial);
    t->trial = trial;
    t->chain = (trial - 1) % s->o.chains + 1;
    t->temperature = NAN;
    fer_anneal_sample(&s->o.space, &r, &t->p);
}

int fer_anneal_next(fer_anneal *s, int chain, fer_anneal_trial *t)
{
    if (s->o.method == FER_ANNEAL_RANDOM) {
        for (int i = 0; i < s->o.iters; i++)
            if (s->state[i] == 0) {
                random_trial(s, i + 1, t);
                s->state[i] = 1;
                return 1;
            }
        return 0;
    }
    if (chain < 1 || chain > s->o.chains) {
        return 0;
    } else {
        fer_anneal_chain *ch = &s->chain[chain - 1];
        int trial = chain + ch->k * s->o.chains;
        if (ch->busy || trial > s->o.iters)
            return 0;
        if (ch->have)
            fer_anneal_perturb(&s->o.space, &ch->cur, &ch->rng, &t->p);
        else
            fer_anneal_sample(&s->o.space, &ch->rng, &t->p);
        t->trial = trial;
        t->chain = chain;
        t->temperature = fer_anneal_temperature(s->o.t0, s->o.cooling, trial - 1);
        ch->k++;
        ch->busy = 1;
        s->state[trial - 1] = 1;
        return 1;
    }
}

/* The acceptance draw of chain c's decision. */
static double draw(fer_anneal *s, int c)
{
    return s->o.draw ? s->o.draw(s->o.draw_ctx) : fer_rng_double(&s->chain[c - 1].rng);
}

/* fer_anneal_record with the acceptance draw u (annealing) given. */
static int decide(fer_anneal *s, const fer_anneal_trial *t, fer_anneal_row *row, double u)
{
    double score;
    row->t = *t;
    score = row->score = fer_anneal_round6(row->score);
    for (int i = 0; i < row->nacc; i++)
        row->acc[i] = fer_anneal_round6(row->acc[i]);
    if (!isnan(score) && row->nacc > 0) {
        double *copy = malloc(row->nacc * sizeof *copy);
        if (!copy)
            return fer_seterr("out of memory");
        memcpy(copy, row->acc, row->nacc * sizeof *copy);
        s->hist[s->nhist].acc = copy;
        s->hist[s->nhist++].n = row->nacc;
    }
    if (s->o.method == FER_ANNEAL_RANDOM) {
        row->accepted = -1;
        row->current = NAN;
    } else {
        fer_anneal_chain *ch = &s->chain[t->chain - 1];
        row->accepted = fer_anneal_accept(ch->have ? ch->cur_score : NAN, score, t->temperature, u);
        if (row->accepted) {
            ch->have = 1;
            ch->cur = t->p;
            ch->cur_score = score;
        }
        row->current = ch->have ? ch->cur_score : NAN;
        ch->busy = 0;
    }
    if (!isnan(score) && (isnan(s->best) || score > s->best)) {
        s->best = score;
        s->best_trial = t->trial;
        s->best_p = t->p;
    }
    row->best = s->best;
    s->state[t->trial - 1] = 2;
    s->done++;
    s->stopped += row->stopped_early != 0;
    s->failed += isnan(score);
    return 0;
}

int fer_anneal_record(fer_anneal *s, const fer_anneal_trial *t, fer_anneal_row *row)
{
    if (t->trial < 1 || t->trial > s->o.iters || s->state[t->trial - 1] != 1)
        return fer_seterr("trial %d is not running", t->trial);
    return decide(s, t, row, s->o.method == FER_ANNEAL_RANDOM ? 0 : draw(s, t->chain));
}

void fer_anneal_format_exact(double x, char *buf, int n)
{
    for (int d = 1; d <= 17; d++) {
        snprintf(buf, n, "%.*g", d, x);
        if (strtod(buf, NULL) == x)
            return;
    }
}

static void point_text(const fer_anneal_point *p, char *buf, size_t n)
{
    char lr[32];
    fer_anneal_format_exact(p->lr, lr, sizeof lr);
    snprintf(buf, n, "lr %s, %d epochs, batch %d, %s", lr, p->epochs, p->batch,
             fer_optim_name(p->optim));
}

int fer_anneal_replay(fer_anneal *s, const fer_anneal_row *row)
{
    int trial = row->t.trial, random = s->o.method == FER_ANNEAL_RANDOM;
    fer_anneal_trial t;
    fer_anneal_row r = *row;
    fer_anneal_chain saved;
    double u = 0;
    int acc;
    char want[160], got[160];
    if (trial < 1 || trial > s->o.iters)
        return fer_seterr("trial %d is beyond --iters %d", trial, s->o.iters);
    if (s->state[trial - 1] == 2)
        return fer_seterr("trial %d twice", trial);
    if (random != (row->accepted < 0))
        return fer_seterr("trial %d is from %s search", trial,
                          random ? "an annealing" : "a random");
    if (!fer_anneal_contains(&s->o.space, &row->t.p))
        return fer_error_prefix("trial %d: outside the search space", trial);
    if (random) {
        random_trial(s, trial, &t);
    } else {
        int c = (trial - 1) % s->o.chains + 1, next;
        if (row->t.chain != c)
            return fer_seterr("trial %d is in chain %d; with -j %d it would be in chain %d", trial,
                              row->t.chain, s->o.chains, c);
        next = c + s->chain[c - 1].k * s->o.chains;
        if (next != trial)
            return fer_seterr("trial %d of chain %d comes before its trial %d", trial, c, next);
        if (s->chain[c - 1].busy)
            return fer_seterr("trial %d: chain %d has a trial in flight", trial, c);
        /* on a mismatch below the chain goes back to where it was */
        saved = s->chain[c - 1];
        fer_anneal_next(s, c, &t);
    }
    point_text(&row->t.p, got, sizeof got);
    point_text(&t.p, want, sizeof want);
    if (!same_point(&t.p, &row->t.p)) {
        fer_seterr("trial %d has %s; this search proposes %s (another --seed, range, list or "
                   "-j?)",
                   trial, got, want);
        goto undo;
    }
    if (!random && fabs(row->t.temperature - t.temperature) > 1e-5 * t.temperature) {
        fer_seterr("trial %d was decided at temperature %g; --t0 and --cooling give %g", trial,
                   row->t.temperature, t.temperature);
        goto undo;
    }
    if (!random) {
        fer_anneal_chain *ch = &s->chain[t.chain - 1];
        u = draw(s, t.chain);
        acc = fer_anneal_accept(ch->have ? ch->cur_score : NAN, fer_anneal_round6(row->score),
                                t.temperature, u);
        if (acc != row->accepted) {
            fer_seterr("trial %d was %s; this search %s it (another --t0 or --cooling?)", trial,
                       row->accepted ? "accepted" : "rejected", acc ? "accepts" : "rejects");
            goto undo;
        }
    }
    return decide(s, &t, &r, u);
undo:
    if (!random) {
        s->chain[t.chain - 1] = saved;
        s->state[trial - 1] = 0;
    }
    return -1;
}

int fer_anneal_should_stop(const fer_anneal *s, const double *acc, int k, int epochs)
{
    return fer_anneal_median_stop(s->hist, s->nhist, acc, k, epochs);
}
