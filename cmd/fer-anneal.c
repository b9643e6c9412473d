/* fer-anneal: searches fer-train's learning rate, epochs, batch size and
 * optimiser by simulated annealing or random search, each trial a
 * fer-train run in a child process, scored on its best validation
 * accuracy; stops hopeless trials by the median rule; logs every trial. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "anneal.h"
#include "anneal_log.h"
#include "error.h"
#include "optim.h"
#include "parse.h"
#include "plot.h"
#include "progress.h"
#include "opt.h"
#include "trial.h"
#include "util.h"

static volatile sig_atomic_t got_signal;   /* SIGINT/SIGTERM received so far */

static const char synopsis[] =
    "usage: fer-anneal -i train.fer [--val FILE | --val-split X] [--iters N]\n"
    "                  [--method anneal|random] --lr A:B --epochs A:B[:STEP]\n"
    "                  --batch LIST [--optim LIST] [--t0 T] [--cooling C] [--seed S]\n"
    "                  [-j N] [--launcher CMD] [--print-trials] [--log FILE]\n"
    "                  [--resume FILE] [--plot FILE.png] [--workdir DIR]\n"
    "                  [--trainer CMD] [--no-early-stop] [--progress] [--quiet]\n"
    "                  [--help] [--version] [-- fer-train options...]\n";

static void on_signal(int sig)
{
    (void)sig;
    got_signal++;
}

static void on_child(int sig) { (void)sig; }   /* wakes the poll's sleep */

static double mono(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static double wall(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* What every trial shares. */
static struct {
    const char *input, *val, *valsplit, *workdir, *logpath;
    char **launcher, **trainer, **pass;
    int nlauncher, ntrainer, npass;
    const char *trainer_name;       /* for the final command line */
    unsigned long long seed;
    int early_stop, quiet, fd;      /* fd: the log, open for appending */
    int progress;                   /* enum fer_progress_mode */
    fer_anneal s;
    fer_progress bar;
} g;

/* dir/trial-NNN.ext into buf (PATH_MAX bytes); returns buf. */
static char *trial_path(char *buf, int trial, const char *ext)
{
    if (snprintf(buf, PATH_MAX, "%s/trial-%03d.%s", g.workdir, trial, ext) >= PATH_MAX)
        die("%s: path too long", g.workdir);
    return buf;
}

static void push(char ***a, int *n, const char *w)
{
    if (fer_trial_push(a, n, w))
        die("%s", fer_error());
}

/* The command of a trial: [launcher] trainer -i ... [pass-through]. With
 * best set, the final command line instead: the trainer as named, -o
 * best.fer, no log or checkpoint. */
static char **trial_argv(const fer_anneal_trial *t, int best)
{
    char **a = NULL, lr[32], ep[16], ba[16], seed[32], path[PATH_MAX];
    int n = 0;
    fer_anneal_format_exact(t->p.lr, lr, sizeof lr);
    snprintf(ep, sizeof ep, "%d", t->p.epochs);
    snprintf(ba, sizeof ba, "%d", t->p.batch);
    snprintf(seed, sizeof seed, "%llu", g.seed);
    for (int i = 0; !best && i < g.nlauncher; i++)
        push(&a, &n, g.launcher[i]);
    if (best)
        push(&a, &n, g.trainer_name);
    for (int i = 0; !best && i < g.ntrainer; i++)
        push(&a, &n, g.trainer[i]);
    push(&a, &n, "-i");
    push(&a, &n, g.input);
    if (best) {
        push(&a, &n, "-o");
        push(&a, &n, "best.fer");
    }
    push(&a, &n, "--lr");
    push(&a, &n, lr);
    push(&a, &n, "--epochs");
    push(&a, &n, ep);
    push(&a, &n, "--batch");
    push(&a, &n, ba);
    push(&a, &n, "--optim");
    push(&a, &n, fer_optim_name(t->p.optim));
    if (!best) {
        push(&a, &n, "--log");
        push(&a, &n, trial_path(path, t->trial, "csv"));
        push(&a, &n, "-o");
        push(&a, &n, trial_path(path, t->trial, "fer"));
        push(&a, &n, "--checkpoint");
        push(&a, &n, trial_path(path, t->trial, "ckpt"));
        push(&a, &n, "--quiet");
    }
    push(&a, &n, g.val ? "--val" : "--val-split");
    push(&a, &n, g.val ? g.val : g.valsplit);
    push(&a, &n, "--seed");
    push(&a, &n, seed);
    for (int i = 0; i < g.npass; i++)
        push(&a, &n, g.pass[i]);
    return a;
}

/* Options fer-anneal sets for every trial: not allowed after "--". A long
 * name is refused when it is a prefix of one of these (getopt_long takes
 * unambiguous prefixes). */
static void check_pass(void)
{
    static const char *const own[] = {"input", "output", "lr", "epochs", "batch",
                                      "optim", "log", "checkpoint", "seed", "val",
                                      "val-split", "resume"};
    for (int i = 0; i < g.npass; i++) {
        const char *a = g.pass[i];
        if (!strcmp(a, "--"))
            break;
        if (a[0] == '-' && a[1] == '-' && a[2]) {
            size_t k = strcspn(a + 2, "=");
            for (size_t j = 0; j < sizeof own / sizeof own[0]; j++)
                if (k <= strlen(own[j]) && !strncmp(a + 2, own[j], k))
                    usage_error("'%s' after --: fer-anneal sets --%s for each trial", a,
                                own[j]);
        } else if (a[0] == '-' && a[1] && a[1] != '-') {
            for (const char *p = a + 1; *p && *p != 'm'; p++)
                if (*p == 'i' || *p == 'o')
                    usage_error("'%s' after --: fer-anneal sets -%c for each trial", a, *p);
        }
    }
}

static void write_all(const char *s)
{
    size_t n = strlen(s);
    while (n) {
        ssize_t k = write(g.fd, s, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            die("%s: %s", g.logpath, k < 0 ? strerror(errno) : "write error");
        s += k;
        n -= k;
    }
}

static void write_row(const fer_anneal_row *r)
{
    char *s = fer_anneal_row_format(r);
    if (!s)
        die("out of memory");
    write_all(s);
    free(s);
}

static void point_text(const fer_anneal_point *p, char *buf, size_t n)
{
    char lr[32];
    fer_anneal_format_exact(p->lr, lr, sizeof lr);
    snprintf(buf, n, "lr %s, %d epochs, batch %d, %s", lr, p->epochs, p->batch,
             fer_optim_name(p->optim));
}

/* The last line of a trial's output, for a failure message. */
static void last_line(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "r");
    char line[512];
    buf[0] = 0;
    if (!f)
        return;
    while (fgets(line, sizeof line, f))
        if (line[strspn(line, " \t\r\n")])
            snprintf(buf, n, "%.*s", (int)strcspn(line, "\r\n"), line);
    fclose(f);
}

/* Decides on trial t from its log: records it and writes its row. */
static void record(const fer_anneal_trial *t, fer_trainlog *log, int epochs, const char *status,
                   int stopped, double seconds, double start)
{
    fer_anneal_row r;
    char pt[160], why[300], err[PATH_MAX];
    memset(&r, 0, sizeof r);
    snprintf(r.status, sizeof r.status, "%s", status);
    r.score = NAN;
    r.seconds = seconds;
    r.start = start;
    r.stopped_early = stopped;
    r.epochs_run = epochs;
    if (!strcmp(status, "ok") || !strcmp(status, "stopped") || !strcmp(status, "short")) {
        if (log->bad)
            snprintf(r.status, sizeof r.status, "bad-log");
        else if (log->noval)
            snprintf(r.status, sizeof r.status, "no-val");
        else if (epochs == 0)
            snprintf(r.status, sizeof r.status, "no-log");
        else {
            r.score = -1;
            for (int i = 0; i < epochs; i++)
                r.score = log->acc[i] > r.score ? log->acc[i] : r.score;
            r.acc = log->acc;
            r.nacc = epochs;
        }
    }
    if (fer_anneal_record(&g.s, t, &r))
        die("%s", fer_error());
    write_row(&r);
    fer_progress_end(&g.bar);
    point_text(&t->p, pt, sizeof pt);
    if (isnan(r.score)) {
        if (log->bad)
            snprintf(why, sizeof why, "%s", log->err);
        else
            last_line(trial_path(err, t->trial, "err"), why, sizeof why);
        fprintf(stderr, "%s: trial %d (%s) failed: %s%s%s\n", fer_cmd, t->trial, pt, r.status,
                *why ? ": " : "", why);
    } else if (!g.quiet) {
        char dec[64] = "", stop[48] = "";
        if (r.accepted >= 0)
            snprintf(dec, sizeof dec, ", %s at T %.3g", r.accepted ? "accepted" : "rejected",
                     t->temperature);
        if (stopped)
            snprintf(stop, sizeof stop, " (stopped early after %d epochs)", epochs);
        fprintf(stderr, "%s: trial %d/%d (%s): %.4f%s%s\n", fer_cmd, t->trial, g.s.o.iters, pt,
                r.score, stop, dec);
    }
}

/* A trial in flight. */
typedef struct run {
    fer_anneal_trial t;
    pid_t pid;
    double t0, start;
    fer_trainlog log;
    int checked;        /* epochs the stopping rule has seen */
    int stop_at;        /* the epoch it was stopped at, 0 while not */
    double stop_time;   /* when SIGINT went out */
    int escalated;      /* signals sent after it: 1 SIGTERM, 2 SIGKILL */
} run;

/* A trial stopped early saves and exits within a batch; one that is still
 * there this long after SIGINT (a launcher that does not pass it on) gets
 * SIGTERM, and SIGKILL as long again after that. */
#define STOP_GRACE 60.0

static void start_trial(run *r, const fer_anneal_trial *t)
{
    char **argv = trial_argv(t, 0), path[PATH_MAX];
    memset(r, 0, sizeof *r);
    r->t = *t;
    unlink(trial_path(path, t->trial, "csv"));  /* a stale log would be read at once */
    if (fer_trainlog_init(&r->log, path))
        die("%s", fer_error());
    r->t0 = mono();
    r->start = wall();
    r->pid = fer_trial_spawn(argv, trial_path(path, t->trial, "err"));
    if (r->pid < 0)
        die("trial %d: %s", t->trial, fer_error());
    fer_trial_argv_free(argv);
}

/* Reads the trial's new epochs and applies the stopping rule. */
static void watch(run *r)
{
    if (fer_trainlog_read(&r->log) < 0)
        die("out of memory");
    while (g.early_stop && !r->stop_at && r->checked < r->log.n && !r->log.bad) {
        r->checked++;
        if (fer_anneal_should_stop(&g.s, r->log.acc, r->checked, r->t.p.epochs)) {
            r->stop_at = r->checked;
            r->stop_time = mono();
            fer_trial_signal(r->pid, SIGINT);
        }
    }
    if (r->stop_at && r->escalated < 2 &&
        mono() - r->stop_time > STOP_GRACE * (r->escalated + 1))
        fer_trial_signal(r->pid, r->escalated++ ? SIGKILL : SIGTERM);
}

/* Stops every trial in flight (not recorded) and waits for them: SIGINT,
 * then SIGTERM and SIGKILL STOP_GRACE s apart, or SIGKILL at once when
 * asked again (a second Control-C). */
static void stop_all(run *runs, int n)
{
    int left = 0, sent = 0, seen = got_signal;
    double t0 = mono();
    for (int i = 0; i < n; i++)
        if (runs[i].pid > 0) {
            fer_trial_signal(runs[i].pid, SIGINT);
            left++;
        }
    while (left) {
        struct timespec ts = {0, 100000000};
        int sig = 0;
        if (sent < 2 && got_signal > seen)
            sig = SIGKILL, sent = 2;
        else if (sent < 2 && mono() - t0 > STOP_GRACE * (sent + 1))
            sig = sent++ ? SIGKILL : SIGTERM;
        for (int i = 0; sig && i < n; i++)
            if (runs[i].pid > 0)
                fer_trial_signal(runs[i].pid, sig);
        nanosleep(&ts, NULL);
        for (int i = 0; i < n; i++) {
            int st;
            if (runs[i].pid > 0 && fer_trial_ended(runs[i].pid, &st) != 0) {
                runs[i].pid = 0;
                fer_trainlog_free(&runs[i].log);
                left--;
            }
        }
    }
}

/* A trial ended: its status and, unless the trainer could not run at all,
 * its row. Returns 0, or the trial whose trainer gave a usage error. */
static int finish(run *r, int st)
{
    char status[16];
    int epochs;
    if (fer_trainlog_read(&r->log) < 0)
        die("out of memory");
    epochs = r->stop_at ? r->stop_at : r->log.n;
    if (r->stop_at)
        snprintf(status, sizeof status, "stopped");
    else if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        snprintf(status, sizeof status, "ok");
    else if (WIFEXITED(st) && (WEXITSTATUS(st) == 2 || WEXITSTATUS(st) == 126 ||
                               WEXITSTATUS(st) == 127))
        return r->t.trial;  /* the command line itself is wrong: every trial would fail */
    else if (WIFEXITED(st))
        snprintf(status, sizeof status, "exit-%d", WEXITSTATUS(st));
    else
        snprintf(status, sizeof status, "signal-%d", WTERMSIG(st));
    record(&r->t, &r->log, epochs, status, r->stop_at > 0, mono() - r->t0, r->start);
    fer_trainlog_free(&r->log);
    r->pid = 0;
    return 0;
}

static void progress(int done, int running)
{
    if (isnan(g.s.best))
        fer_progress_update(&g.bar, done, 0, "%d running", running);
    else
        fer_progress_update(&g.bar, done, 0, "best %.4f  %d running", g.s.best, running);
}

/* Runs the trials still to do, -j at a time. Returns 0 when all are done,
 * 130 when interrupted, 1 when a trainer gave a usage error. */
static int search(int slots)
{
    run *runs = calloc(slots, sizeof *runs);
    int done = 0, total = g.s.o.iters - g.s.done, bad = 0;
    if (!runs)
        die("out of memory");
    fer_progress_begin(&g.bar, stderr, g.progress, "trials", total, "trials/s");
    for (;;) {
        int running = 0;
        struct timespec ts = {0, 100000000};
        for (int i = 0; i < slots && !got_signal && !bad; i++) {
            fer_anneal_trial t;
            if (!runs[i].pid && fer_anneal_next(&g.s, i + 1, &t))
                start_trial(&runs[i], &t);
        }
        for (int i = 0; i < slots; i++)
            running += runs[i].pid > 0;
        progress(done, running);
        if (got_signal || bad || !running)
            break;
        nanosleep(&ts, NULL);   /* cut short by SIGCHLD */
        for (int i = 0; i < slots; i++) {     /* trials that ended are recorded */
            int st, k;
            if (!runs[i].pid)
                continue;
            watch(&runs[i]);
            if ((k = fer_trial_ended(runs[i].pid, &st)) < 0)
                die("%s", fer_error());
            if (k && !(bad = finish(&runs[i], st))) {
                done++;
            } else if (k) {
                char why[300], path[PATH_MAX];
                runs[i].pid = 0;
                fer_trainlog_free(&runs[i].log);
                last_line(trial_path(path, bad, "err"), why, sizeof why);
                fer_progress_end(&g.bar);
                fprintf(stderr, "%s: trial %d: the trainer exited with status %d%s%s; "
                        "stopping the search\n", fer_cmd, bad,
                        WEXITSTATUS(st), *why ? ": " : "", why);
                break;
            }
        }
    }
    fer_progress_end(&g.bar);
    if (got_signal || bad) {
        stop_all(runs, slots);
        free(runs);
        return bad ? 1 : 130;
    }
    free(runs);
    return 0;
}

/* --print-trials: records the pending trials whose logs show they ended
 * and prints the others' commands to out. Returns how many it printed. */
static int print_pending(int slots, FILE *out)
{
    int printed = 0;
    int chains = g.s.o.method == FER_ANNEAL_RANDOM ? 1 : slots;
    for (int c = 1; c <= chains; c++) {
        fer_anneal_trial t;
        while (fer_anneal_next(&g.s, c, &t)) {
            fer_trainlog log;
            char csv[PATH_MAX], model[PATH_MAX];
            int have_model = access(trial_path(model, t.trial, "fer"), F_OK) == 0;
            trial_path(csv, t.trial, "csv");
            if (access(csv, F_OK)) {
                char **argv = trial_argv(&t, 0), *cmd = fer_trial_command(argv);
                if (!cmd)
                    die("out of memory");
                fprintf(out, "%s\n", cmd);
                free(cmd);
                fer_trial_argv_free(argv);
                printed++;
                if (g.s.o.method == FER_ANNEAL_RANDOM)
                    continue;
                break;
            }
            if (fer_trainlog_init(&log, csv) || fer_trainlog_read(&log) < 0)
                die("out of memory");
            if (!log.bad && log.n < t.p.epochs && !have_model) {
                fprintf(stderr, "%s: trial %d has %d of %d epochs in %s and no %s yet: still "
                        "running? (remove its log to run it again)\n", fer_cmd, t.trial, log.n,
                        t.p.epochs, csv, model);
                fer_trainlog_free(&log);
                if (g.s.o.method == FER_ANNEAL_RANDOM)
                    continue;
                break;
            }
            record(&t, &log, log.n, log.n < t.p.epochs ? "short" : "ok", 0, log.seconds, NAN);
            fer_trainlog_free(&log);
        }
    }
    return printed;
}

static int cmp_row(const void *a, const void *b)
{
    const fer_anneal_row *x = a, *y = b;
    return (x->t.trial > y->t.trial) - (x->t.trial < y->t.trial);
}

/* Replays the log of an interrupted search; leaves it untouched on error. */
static void replay(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long lineno = 0;
    fer_anneal_row *rows = NULL;
    int n = 0, nalloc = 0;
    if (!f)
        die("%s: %s", path, strerror(errno));
    while ((len = getline(&line, &cap, f)) > 0) {
        lineno++;
        if (line[len - 1] != '\n')
            die("%s:%ld: an incomplete last row (no newline)", path, lineno);
        if (lineno == 1) {
            if (fer_anneal_header_check(line))
                die("%s:1: %s", path, fer_error());
            continue;
        }
        if (n == nalloc) {
            fer_anneal_row *r = realloc(rows, (nalloc = nalloc ? 2 * nalloc : 64) * sizeof *r);
            if (!r)
                die("out of memory");
            rows = r;
        }
        if (fer_anneal_row_parse(line, &rows[n]))
            die("%s:%ld: %s", path, lineno, fer_error());
        rows[n++].line = lineno;
    }
    if (ferror(f))
        die("%s: read error", path);
    fclose(f);
    free(line);
    if (lineno == 0)
        die("%s:1: empty, not a fer-anneal log", path);
    /* rows appear in the order trials ended; each chain replays in order */
    if (n)
        qsort(rows, n, sizeof *rows, cmp_row);
    for (int i = 0; i < n; i++)
        if (fer_anneal_replay(&g.s, &rows[i]))
            die("%s:%ld: %s", path, rows[i].line, fer_error());
    for (int i = 0; i < n; i++)
        fer_anneal_row_free(&rows[i]);
    free(rows);
}

/* fer-train beside our own executable, else on PATH. */
static const char *find_trainer(void)
{
    static char buf[PATH_MAX];
    ssize_t k = readlink("/proc/self/exe", buf, sizeof buf - 16);
    if (k > 0) {
        char *slash;
        buf[k] = 0;
        if ((slash = strrchr(buf, '/'))) {
            strcpy(slash + 1, "fer-train");
            if (access(buf, X_OK) == 0)
                return buf;
        }
    }
    return "fer-train";
}

static void summary(double seconds)
{
    char pt[160], path[PATH_MAX];
    int s = (int)seconds;
    fprintf(stderr, "%s: %d of %d trials (%d stopped early, %d failed)", fer_cmd, g.s.done,
            g.s.o.iters, g.s.stopped, g.s.failed);
    if (s >= 3600)
        fprintf(stderr, ", %dh%02dm this run", s / 3600, s / 60 % 60);
    else
        fprintf(stderr, ", %dm%02ds this run", s / 60, s % 60);
    if (g.s.best_trial) {
        point_text(&g.s.best_p, pt, sizeof pt);
        fprintf(stderr, "; best %.4f in trial %d (%s): %s\n", g.s.best, g.s.best_trial, pt,
                trial_path(path, g.s.best_trial, "fer"));
    } else
        fprintf(stderr, "; no score yet\n");
}

enum {
    O_VAL = 256, O_VALSPLIT, O_ITERS, O_METHOD, O_LR, O_EPOCHS, O_BATCH, O_OPTIM, O_T0,
    O_COOLING, O_SEED, O_LAUNCHER, O_PRINT, O_LOG, O_RESUME, O_PLOT, O_WORKDIR, O_TRAINER,
    O_NOSTOP, O_PROGRESS
};

static const struct option longopts[] = {
    {"input", required_argument, 0, 'i'}, {"val", required_argument, 0, O_VAL},
    {"val-split", required_argument, 0, O_VALSPLIT}, {"iters", required_argument, 0, O_ITERS},
    {"method", required_argument, 0, O_METHOD}, {"lr", required_argument, 0, O_LR},
    {"epochs", required_argument, 0, O_EPOCHS}, {"batch", required_argument, 0, O_BATCH},
    {"optim", required_argument, 0, O_OPTIM}, {"t0", required_argument, 0, O_T0},
    {"cooling", required_argument, 0, O_COOLING}, {"seed", required_argument, 0, O_SEED},
    {"jobs", required_argument, 0, 'j'}, {"launcher", required_argument, 0, O_LAUNCHER},
    {"print-trials", no_argument, 0, O_PRINT}, {"log", required_argument, 0, O_LOG},
    {"resume", required_argument, 0, O_RESUME}, {"plot", required_argument, 0, O_PLOT},
    {"workdir", required_argument, 0, O_WORKDIR}, {"trainer", required_argument, 0, O_TRAINER},
    {"no-early-stop", no_argument, 0, O_NOSTOP}, {"progress", no_argument, 0, O_PROGRESS},
    {"quiet", no_argument, 0, 'q'}, FER_CMD_LONGOPTS, {0, 0, 0, 0}};

int main(int argc, char **argv)
{
    static const char *const methods[] = {"anneal", "random", NULL};   /* enum fer_anneal_method */
    fer_anneal_opts o;
    const char *resume = NULL, *plot = NULL, *lr = NULL, *epochs = NULL, *batch = NULL;
    const char *optim = "adam";
    int c, print = 0, force_progress = 0, rc = 0, printed = 0;
    FILE *out;
    char *outbuf = NULL;
    size_t outlen = 0;
    char logbuf[PATH_MAX], path[PATH_MAX];
    struct sigaction sa;
    double t_start = mono();

    fer_cmd_init("fer-anneal", synopsis);
    fer_anneal_defaults(&o);
    g.workdir = "anneal";
    g.valsplit = NULL;
    g.early_stop = 1;
    g.seed = 1;
    while ((c = fer_cmd_getopt(argc, argv, "+i:j:qh", longopts)) != -1) {
        switch (c) {
        case 'i': g.input = optarg; break;
        case O_VAL: g.val = optarg; break;
        case O_VALSPLIT:
            fer_cmd_positive("val-split", optarg, 0.9);
            g.valsplit = optarg;
            break;
        case O_ITERS: o.iters = (int)fer_cmd_whole("iters", optarg, 1, FER_ANNEAL_ITERS_MAX); break;
        case O_METHOD: o.method = fer_cmd_pick("method", optarg, methods); break;
        case O_LR: lr = optarg; break;
        case O_EPOCHS: epochs = optarg; break;
        case O_BATCH: batch = optarg; break;
        case O_OPTIM: optim = optarg; break;
        case O_T0: o.t0 = fer_cmd_positive("t0", optarg, 1e6); break;
        case O_COOLING: o.cooling = fer_cmd_positive("cooling", optarg, 1); break;
        case O_SEED:
            g.seed = (unsigned long long)fer_cmd_whole("seed", optarg, 0, 9007199254740991L);
            break;
        case 'j': o.chains = (int)fer_cmd_whole("jobs", optarg, 1, FER_ANNEAL_CHAINS_MAX); break;
        case O_LAUNCHER:
            fer_trial_argv_free(g.launcher);
            g.launcher = NULL;
            g.nlauncher = 0;
            if (fer_trial_split(optarg, &g.launcher, &g.nlauncher))
                usage_error("--launcher: '%s': %s", optarg, fer_error());
            break;
        case O_PRINT: print = 1; break;
        case O_LOG: g.logpath = optarg; break;
        case O_RESUME: resume = optarg; break;
        case O_PLOT: plot = optarg; break;
        case O_WORKDIR: g.workdir = optarg; break;
        case O_TRAINER:
            fer_trial_argv_free(g.trainer);
            g.trainer = NULL;
            g.ntrainer = 0;
            if (fer_trial_split(optarg, &g.trainer, &g.ntrainer))
                usage_error("--trainer: '%s': %s", optarg, fer_error());
            g.trainer_name = optarg;
            break;
        case O_NOSTOP: g.early_stop = 0; break;
        case O_PROGRESS: force_progress = 1; break;
        case 'q': g.quiet = 1; break;
        default: usage(2);
        }
    }
    if (optind < argc && strcmp(argv[optind - 1], "--"))
        usage_error("'%s': an operand before --; fer-train's options go after --",
                    argv[optind]);
    for (int i = optind; i < argc; i++)
        push(&g.pass, &g.npass, argv[i]);
    if (!g.input || !lr || !epochs || !batch)
        usage_error("%s is required (see --help)", !g.input ? "-i" : !lr ? "--lr"
                    : !epochs ? "--epochs" : "--batch");
    if (fer_anneal_parse_lr(lr, &o.space))
        usage_error("--lr: %s", fer_error());
    if (fer_anneal_parse_epochs(epochs, &o.space))
        usage_error("--epochs: %s", fer_error());
    if (fer_anneal_parse_batch(batch, &o.space))
        usage_error("--batch: %s", fer_error());
    if (fer_anneal_parse_optim(optim, &o.space))
        usage_error("--optim: %s", fer_error());
    if (g.val && g.valsplit)
        usage_error("--val and --val-split exclude each other");
    if (!g.val && !g.valsplit)
        g.valsplit = "0.2";
    if (!*g.workdir)
        usage_error("--workdir: empty name");
    if (resume && g.logpath && strcmp(resume, g.logpath))
        usage_error("--resume %s continues that log; --log %s names another", resume,
                    g.logpath);
    check_pass();
    o.seed = g.seed;
    if (!g.trainer) {
        push(&g.trainer, &g.ntrainer, find_trainer());
        g.trainer_name = "fer-train";
    }
    if (access(g.input, R_OK))
        die("%s: %s", g.input, strerror(errno));
    if (g.val && access(g.val, R_OK))
        die("%s: %s", g.val, strerror(errno));
    if (mkdir(g.workdir, 0777) && errno != EEXIST)
        die("%s: %s", g.workdir, strerror(errno));
    if (!g.logpath)
        g.logpath = resume;
    if (!g.logpath) {
        snprintf(logbuf, sizeof logbuf, "%s/anneal.csv", g.workdir);
        g.logpath = logbuf;
    }
    if (fer_anneal_init(&g.s, &o))
        die("%s", fer_error());

    if (resume) {
        replay(resume);
        if ((g.fd = open(g.logpath, O_WRONLY | O_APPEND | O_CLOEXEC)) < 0)
            die("%s: %s", g.logpath, strerror(errno));
    } else {
        struct stat st;
        if (stat(g.logpath, &st) == 0 && st.st_size > 0)
            die("%s: exists; continue that search with --resume %s, or give another --log "
                "or --workdir", g.logpath, g.logpath);
        for (int t = 1; t <= o.iters; t++)
            if (access(trial_path(path, t, "csv"), F_OK) == 0)
                die("%s: a trial of another search; continue it with --resume, or give "
                    "another --workdir", path);
        if ((g.fd = open(g.logpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666)) < 0)
            die("%s: %s", g.logpath, strerror(errno));
        write_all(FER_ANNEAL_LOG_HEADER "\n");
    }

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sa.sa_handler = on_child;
    sa.sa_flags = SA_NOCLDSTOP;
    sigaction(SIGCHLD, &sa, NULL);
    g.progress = fer_progress_mode(force_progress, g.quiet);

    if (!print) {
        rc = search(o.chains);
        if (rc == 130) {
            fprintf(stderr, "%s: interrupted; %d trials in %s (continue with --resume %s)\n",
                    fer_cmd, g.s.done, g.logpath, g.logpath);
            return 130;
        }
        if (rc)
            return rc;
        if (!g.quiet)
            summary(mono() - t_start);
        if (!g.s.best_trial)
            die("no trial gave a score (see the .err files in %s)", g.workdir);
    }
    /* stdout gets its lines only once everything else went well */
    if (!(out = open_memstream(&outbuf, &outlen)))
        die("out of memory");
    if (print) {
        printed = print_pending(o.chains, out);
    } else {
        fer_anneal_trial t = {g.s.best_trial, 0, g.s.best_p, NAN};
        char **a = trial_argv(&t, 1), *cmd = fer_trial_command(a);
        if (!cmd)
            die("out of memory");
        fprintf(out, "%s\n", cmd);
        free(cmd);
        fer_trial_argv_free(a);
    }
    if (close(g.fd))
        die("%s: %s", g.logpath, strerror(errno));
    if (plot && g.s.best_trial) {
        char title[160];
        snprintf(title, sizeof title, "%s, %d of %d trials, seed %llu",
                 o.method == FER_ANNEAL_RANDOM ? "random search" : "simulated annealing",
                 g.s.done, o.iters, g.seed);
        if (fer_plot_anneal_log(g.logpath, plot, title))
            die("%s", fer_error());
    }
    if (fclose(out))
        die("out of memory");
    if (fwrite(outbuf, 1, outlen, stdout) != outlen || fflush(stdout) || ferror(stdout))
        die("standard output: write error");
    free(outbuf);
    if (print && !printed && g.s.done == o.iters && !g.quiet)
        summary(mono() - t_start);
    fer_anneal_free(&g.s);
    fer_trial_argv_free(g.launcher);
    fer_trial_argv_free(g.trainer);
    fer_trial_argv_free(g.pass);
    return 0;
}
