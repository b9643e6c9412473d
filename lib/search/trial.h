/* trial.h: a training run as a child process, and its fer-train log read
 * while it grows (fer-anneal's trials).
 *
 * A trial runs in a process group of its own, so that a terminal's
 * Control-C reaches only the parent, which decides what the trials get;
 * signals go to the whole group (a launcher and what it started). On
 * Linux the child also gets SIGTERM when the parent dies, so that a killed
 * search leaves no trial running on. */
#ifndef FER_TRIAL_H
#define FER_TRIAL_H

#include <sys/types.h>

/* Splits s at blanks (spaces and tabs; no quoting) and appends the words
 * to the NULL-terminated list *argv of *n words (malloc'd; the words are
 * malloc'd copies). 0, or -1 when out of memory or s has no word. */
int fer_trial_split(const char *s, char ***argv, int *n);

/* Appends one malloc'd copy of word. 0 or -1. */
int fer_trial_push(char ***argv, int *n, const char *word);

/* Frees a list made by the two above. */
void fer_trial_argv_free(char **argv);

/* argv as one shell command line: words of letters, digits and
 * "_./:=,+@%-" as they are, others in single quotes. malloc'd, NULL when
 * out of memory. */
char *fer_trial_command(char *const argv[]);

/* Starts argv (argv[0] searched on PATH when it has no "/") with standard
 * input from /dev/null and standard output and error to out_path
 * (truncated). When argv[0] cannot be run, the child writes why to
 * out_path and exits with status 127. Returns the child's pid, or -1 with
 * fer_error() set. */
pid_t fer_trial_spawn(char *const argv[], const char *out_path);

/* Sends sig to the trial's process group. 0 or -1. */
int fer_trial_signal(pid_t pid, int sig);

/* Whether the trial has ended: 1 with its wait status in *status, 0 while
 * it runs, -1 on error (fer_error() set). Never blocks. */
int fer_trial_ended(pid_t pid, int *status);

/* A fer-train log read as it grows: a header naming a val_acc column, then
 * one row per epoch. Only complete lines are taken. */
typedef struct fer_trainlog {
    char *path;
    long off;      /* bytes taken so far */
    long line;     /* lines taken so far */
    int col, ncol; /* val_acc's column and the count; col -1 before the header */
    int scol;      /* the seconds column, or -1 */
    int bad;       /* malformed: why in err; nothing more is read */
    int noval;     /* an epoch had no validation accuracy (nan) */
    char err[200];
    int n, cap;
    double *acc;    /* val_acc of epochs 1..n */
    double seconds; /* the sum of the seconds column */
} fer_trainlog;

/* 0, or -1 when out of memory. */
int fer_trainlog_init(fer_trainlog *l, const char *path);

/* Takes the lines completed since the last call (none while the file does
 * not exist). Returns how many epochs it added, or -1 when out of memory.
 * A malformed line sets bad. */
int fer_trainlog_read(fer_trainlog *l);

void fer_trainlog_free(fer_trainlog *l);

#endif
