/* anneal.h: hyper-parameter search over fer-train's learning rate, epochs,
 * batch size and optimiser, by simulated annealing or random search, as
 * the study tuned its models. No processes here (trial.h runs them): the
 * space, the moves, the acceptance rule, the cooling schedule, the median
 * stopping rule and the search's state, so that a search can be driven
 * and tested in process. Logged rows: anneal_log.h.
 *
 * Scores are validation accuracies in 0..1. The acceptance rule works in
 * accuracy points (percent): a candidate that scores d points below the
 * chain's current point is accepted with probability exp(-d / T), T in
 * points too; a candidate as good or better is always accepted.
 *
 * Trials are numbered from 1. Trial t is decided at temperature
 *     T_t = t0 * cooling^(t - 1)
 * (the first trial at t0). With n chains (-j n), chain c (1..n) runs
 * trials c, c + n, c + 2n, ... one after another, each from its own
 * random generator, so what a chain proposes depends only on its own
 * results: the same seed gives the same trials whatever order parallel
 * trials finish in, and a search resumed from its log proposes exactly
 * what the uninterrupted one would have. Random search gives trial t a
 * generator of its own. Every number a decision reads (the learning rate,
 * the score, the per-epoch accuracies) is first rounded to what the log
 * holds, so replaying the log repeats every decision bit for bit. */
#ifndef FER_ANNEAL_H
#define FER_ANNEAL_H

#include <stdint.h>

#include "rng.h"

#define FER_ANNEAL_LIST_MAX 32 /* most values in --batch */
#define FER_ANNEAL_OPTIM_MAX 3 /* sgd, adam, adamw */
#define FER_ANNEAL_ITERS_MAX 100000
#define FER_ANNEAL_CHAINS_MAX 1024

/* Defaults: the study's 30 iterations; t0 2 points (a 2-point drop is
 * first accepted with probability 1/e); cooling 0.85, so that the 30th
 * trial is decided at 0.85^29 = 0.9% of t0. */
#define FER_ANNEAL_ITERS 30
#define FER_ANNEAL_T0 2.0
#define FER_ANNEAL_COOLING 0.85

/* The moves (see fer_anneal_perturb). */
#define FER_ANNEAL_LR_STEP 3    /* lr steps up to 1/3 of the log range */
#define FER_ANNEAL_EPOCH_STEP 3 /* epochs up to 1/3 of the grid (>= 1 step) */
#define FER_ANNEAL_P_OPTIM 0.1  /* chance of another optimiser per move */

/* The median stopping rule (see fer_anneal_median_stop). */
#define FER_ANNEAL_STOP_MIN_EPOCH 3
#define FER_ANNEAL_STOP_MIN_TRIALS 3

enum fer_anneal_method { FER_ANNEAL_SA, FER_ANNEAL_RANDOM };

/* The search space. batch is ascending without repeats; optim holds enum
 * fer_optim_kind values (optim.h) without repeats, in the order given. */
typedef struct fer_anneal_space {
    double lr_lo, lr_hi;       /* 0 < lo <= hi, searched on a log scale */
    int ep_lo, ep_hi, ep_step; /* the grid lo, lo + step, ... <= hi */
    int nbatch, batch[FER_ANNEAL_LIST_MAX];
    int noptim, optim[FER_ANNEAL_OPTIM_MAX];
} fer_anneal_space;

/* One point: a learning rate (3 significant digits) and values from the
 * epoch grid, the batch list and the optimiser list. */
typedef struct fer_anneal_point {
    double lr;
    int epochs, batch, optim;
} fer_anneal_point;

/* Option parsers, for "--lr A:B" (or "A": one value), "--epochs A:B" or
 * "A:B:STEP" (or "A"), "--batch 32,64,128" (2..65536 each, sorted here)
 * and "--optim adam,sgd". Each sets its part of sp and returns 0, or -1
 * with fer_error() saying what is wrong ("'1:0': the lower bound is above
 * the upper", "'32,,64': empty item"). */
int fer_anneal_parse_lr(const char *s, fer_anneal_space *sp);
int fer_anneal_parse_epochs(const char *s, fer_anneal_space *sp);
int fer_anneal_parse_batch(const char *s, fer_anneal_space *sp);
int fer_anneal_parse_optim(const char *s, fer_anneal_space *sp);

/* 1 when p lies in sp (lr in range, epochs on the grid, batch and optim
 * in their lists), else 0 with fer_error() naming the parameter. */
int fer_anneal_contains(const fer_anneal_space *sp, const fer_anneal_point *p);

/* lr rounded to 3 significant digits and clamped to [lo, hi]. */
double fer_anneal_round_lr(const fer_anneal_space *sp, double lr);

/* A point drawn uniformly: lr log-uniform, the others uniform over the
 * grid and the lists. */
void fer_anneal_sample(const fer_anneal_space *sp, fer_rng *r, fer_anneal_point *p);

/* A neighbour of cur: each of lr, epochs and batch moves with probability
 * 1/2 (drawn again until the point differs from cur, unless the space has
 * one point):
 *   lr       times 10^d, d uniform in +-log10(hi/lo)/FER_ANNEAL_LR_STEP,
 *            reflected at the bounds, then rounded (fer_anneal_round_lr);
 *   epochs   up or down 1..m grid steps, m = max(1, round(grid points /
 *            FER_ANNEAL_EPOCH_STEP)), reflected at the ends;
 *   batch    the next larger or smaller value in the list, reflected;
 * and with probability FER_ANNEAL_P_OPTIM another optimiser from the list,
 * uniformly. cur must lie in sp. */
void fer_anneal_perturb(const fer_anneal_space *sp, const fer_anneal_point *cur, fer_rng *r,
                        fer_anneal_point *p);

/* t0 * cooling^k: the temperature of trial k + 1. */
double fer_anneal_temperature(double t0, double cooling, int k);

/* The acceptance rule: 1 to move to a candidate scoring score from a
 * current point scoring current, at temperature t (accuracy points), with
 * u a uniform draw in [0, 1). current NAN (no current point yet) accepts
 * any score; score NAN (a failed trial) is never accepted; otherwise
 * accepted when score >= current, or when u < exp(-100 (current - score)
 * / t). */
int fer_anneal_accept(double current, double score, double t, double u);

/* The per-epoch validation accuracies of one trial, epoch 1 first. */
typedef struct fer_anneal_curve {
    const double *acc;
    int n;
} fer_anneal_curve;

/* The median stopping rule (Optuna's MedianPruner): a trial of epochs
 * epochs that has finished epoch k (acc[0..k-1]) is stopped when
 *   - k >= FER_ANNEAL_STOP_MIN_EPOCH and k < epochs (never at its last),
 *   - at least FER_ANNEAL_STOP_MIN_TRIALS of the earlier trials hist[0..
 *     nhist-1] reached epoch k, and
 *   - its best accuracy in epochs 1..k is below the median of theirs at
 *     epoch k (the mean of the middle two for an even count).
 * Returns 1 to stop, 0 to go on. */
int fer_anneal_median_stop(const fer_anneal_curve *hist, int nhist, const double *acc, int k,
                           int epochs);

/* The shortest "%.Ng" text of x that reads back as x, into buf (n >= 32). */
void fer_anneal_format_exact(double x, char *buf, int n);

/* x rounded to 6 decimals, as the logs hold it ("%.6f" read back). */
double fer_anneal_round6(double x);

typedef struct fer_anneal_opts {
    int method;     /* enum fer_anneal_method */
    int iters;      /* trials in all, 1..FER_ANNEAL_ITERS_MAX */
    int chains;     /* -j: chains (anneal) or slots (random) */
    double t0;      /* > 0, accuracy points */
    double cooling; /* 0 < cooling <= 1 */
    uint64_t seed;
    fer_anneal_space space;
    /* Tests only: the acceptance draws, uniform in [0, 1). NULL: the
     * chain's generator. */
    double (*draw)(void *ctx);
    void *draw_ctx;
} fer_anneal_opts;

/* Iters 30, one chain, anneal, t0 and cooling as above, seed 1; the
 * space is left empty (the caller fills it). */
void fer_anneal_defaults(fer_anneal_opts *o);

/* A trial to run. */
typedef struct fer_anneal_trial {
    int trial; /* 1..iters */
    int chain; /* 1..chains: (trial - 1) % chains + 1 */
    fer_anneal_point p;
    double temperature; /* of its decision; NAN for random search */
} fer_anneal_trial;

/* A decided trial: a row of the log (anneal_log.h). The caller fills
 * score, seconds, start, status, stopped_early, epochs_run and acc;
 * fer_anneal_record fills the rest. */
typedef struct fer_anneal_row {
    fer_anneal_trial t;
    double score;      /* best validation accuracy, NAN: failed */
    int accepted;      /* 1 or 0; -1 for random search */
    double current;    /* the chain's current score after the decision,
                          NAN while it has none */
    double best;       /* the best score so far, NAN while none */
    double seconds;    /* the trial's wall time */
    double start;      /* when it started, Unix seconds; NAN unknown */
    int stopped_early; /* 1: stopped by the median rule */
    int epochs_run;    /* epochs the trial completed (and counted) */
    char status[16];   /* "ok", "stopped", "exit-1", "signal-9", ... */
    int nacc;          /* per-epoch validation accuracies: nacc == */
    double *acc;       /* epochs_run, or 0 for a failed trial */
    long line;         /* the log line it came from (replay), else 0 */
} fer_anneal_row;

typedef struct fer_anneal_chain {
    fer_rng rng;
    int k;    /* its trials proposed so far */
    int busy; /* a trial in flight */
    int have; /* a current point */
    fer_anneal_point cur;
    double cur_score;
} fer_anneal_chain;

/* The state of a search. Callers read it; only the functions below
 * change it. */
typedef struct fer_anneal {
    fer_anneal_opts o;
    fer_anneal_chain *chain;   /* o.chains of them (anneal) */
    unsigned char *state;      /* per trial: 0 to do, 1 in flight, 2 done */
    int done, stopped, failed; /* trials recorded, stopped early, failed */
    int best_trial;            /* 0 while none scored */
    double best;               /* NAN while none */
    fer_anneal_point best_p;
    fer_anneal_curve *hist; /* curves of the scored trials, in the */
    int nhist;              /* order recorded (owned) */
} fer_anneal;

/* Starts a search. 0, or -1 (out of memory, bad options) with fer_error()
 * set and nothing to free. */
int fer_anneal_init(fer_anneal *s, const fer_anneal_opts *o);
void fer_anneal_free(fer_anneal *s);

/* The next trial to run: for annealing, chain's next one (chain 1..chains,
 * idle: its previous trial recorded); for random search the lowest trial
 * number neither done nor in flight (chain is ignored). Fills *t, marks it
 * in flight and returns 1, or returns 0 when there is none. */
int fer_anneal_next(fer_anneal *s, int chain, fer_anneal_trial *t);

/* Decides on an in-flight trial: row->t is set from t; row->score is
 * rounded to 6 decimals and row->acc with it; accepted, current, best and
 * temperature are filled; the curve joins the stopping history. 0, or -1
 * (out of memory, t not in flight). */
int fer_anneal_record(fer_anneal *s, const fer_anneal_trial *t, fer_anneal_row *row);

/* Replays a row read from the log of an earlier run of this search: it
 * must be the trial this search proposes next for its chain (rows of one
 * chain in trial order; random search in any order), at the same point,
 * at the same temperature, with the same decision. Applies it as
 * fer_anneal_record would (row's own accepted, current and best are only
 * compared or ignored). 0, or -1 with fer_error() saying what does not
 * match ("trial 7 has lr 0.003, ...; this search proposes lr 0.00412, ...
 * (another --seed, range, list or -j?)") and s as it was. */
int fer_anneal_replay(fer_anneal *s, const fer_anneal_row *row);

/* Whether a running trial should stop now, by fer_anneal_median_stop over
 * the recorded trials. */
int fer_anneal_should_stop(const fer_anneal *s, const double *acc, int k, int epochs);

#endif
