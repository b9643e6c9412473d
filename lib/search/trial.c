/* trial.c: trials as child processes; their logs read as they grow. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "error.h"
#include "parse.h"
#include "trial.h"

int fer_trial_push(char ***argv, int *n, const char *word)
{
    char **a = realloc(*argv, (*n + 2) * sizeof *a), *w = strdup(word);
    if (a)
        *argv = a;
    if (!a || !w) {
        free(w);
        return fer_seterr("out of memory");
    }
    a[(*n)++] = w;
    a[*n] = NULL;
    return 0;
}

int fer_trial_split(const char *s, char ***argv, int *n)
{
    int words = 0;
    while (*s) {
        size_t k;
        char w[4096];
        s += strspn(s, " \t");
        k = strcspn(s, " \t");
        if (!k)
            break;
        if (k >= sizeof w)
            return fer_seterr("a word of %zu bytes", k);
        memcpy(w, s, k);
        w[k] = 0;
        if (fer_trial_push(argv, n, w))
            return -1;
        s += k;
        words++;
    }
    return words ? 0 : fer_seterr("no command");
}

void fer_trial_argv_free(char **argv)
{
    for (int i = 0; argv && argv[i]; i++)
        free(argv[i]);
    free(argv);
}

static const char safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                           "_./:=,+@%-";

char *fer_trial_command(char *const argv[])
{
    size_t cap = 1, k = 0;
    char *s;
    for (int i = 0; argv[i]; i++)
        cap += 4 * strlen(argv[i]) + 3;
    if (!(s = malloc(cap)))
        return NULL;
    for (int i = 0; argv[i]; i++) {
        const char *a = argv[i];
        if (i)
            s[k++] = ' ';
        if (*a && strspn(a, safe) == strlen(a)) {
            memcpy(s + k, a, strlen(a));
            k += strlen(a);
            continue;
        }
        s[k++] = '\'';
        for (; *a; a++) {
            if (*a == '\'') { /* ' becomes '\'' */
                memcpy(s + k, "'\\''", 4);
                k += 4;
            } else
                s[k++] = *a;
        }
        s[k++] = '\'';
    }
    s[k] = 0;
    return s;
}

pid_t fer_trial_spawn(char *const argv[], const char *out_path)
{
    pid_t parent = getpid(), pid;
    fflush(NULL); /* nothing buffered is written twice */
    pid = fork();
    if (pid < 0)
        return fer_seterr("fork: %s", strerror(errno));
    if (pid == 0) {
        int in = open("/dev/null", O_RDONLY), out;
        sigset_t none;
        setpgid(0, 0);
#ifdef __linux__
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent) /* the parent died before prctl */
            _exit(1);
#else
        (void)parent;
#endif
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        out = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
        if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
            _exit(127);
        close(in);
        close(out);
        execvp(argv[0], argv);
        dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid); /* also here: signals may follow before the child runs */
    return pid;
}

int fer_trial_signal(pid_t pid, int sig)
{
    if (kill(-pid, sig) && kill(pid, sig))
        return fer_seterr("kill %d: %s", (int)pid, strerror(errno));
    return 0;
}

int fer_trial_ended(pid_t pid, int *status)
{
    pid_t r;
    do
        r = waitpid(pid, status, WNOHANG);
    while (r < 0 && errno == EINTR);
    if (r < 0)
        return fer_seterr("waitpid %d: %s", (int)pid, strerror(errno));
    return r == pid;
}

int fer_trainlog_init(fer_trainlog *l, const char *path)
{
    memset(l, 0, sizeof *l);
    l->col = l->scol = -1;
    if (!(l->path = strdup(path)))
        return fer_seterr("out of memory");
    return 0;
}

void fer_trainlog_free(fer_trainlog *l)
{
    free(l->path);
    free(l->acc);
    memset(l, 0, sizeof *l);
}

static void set_bad(fer_trainlog *l, const char *fmt, const char *what)
{
    snprintf(l->err, sizeof l->err, "%s:%ld: ", l->path, l->line + 1);
    snprintf(l->err + strlen(l->err), sizeof l->err - strlen(l->err), fmt, what);
    l->bad = 1;
}

/* One complete line (NUL-terminated, without its newline). 0, or -1 when
 * out of memory. */
static int take_line(fer_trainlog *l, char *s)
{
    char *f[64];
    int n = 0;
    size_t len = strlen(s);
    if (len && s[len - 1] == '\r')
        s[--len] = 0;
    if (!len)
        return 0;
    for (char *p = s; n < 64; p++) {
        f[n++] = p + strspn(p, " ");
        if (!(p = strchr(p, ',')))
            break;
        *p = 0;
    }
    if (l->col < 0) {
        for (int i = 0; i < n; i++) {
            if (!strcmp(f[i], "val_acc"))
                l->col = i;
            if (!strcmp(f[i], "seconds"))
                l->scol = i;
        }
        if (l->col < 0)
            set_bad(l, "no val_acc column in the header%s", "");
        l->ncol = n;
        return 0;
    }
    if (!strcmp(f[0], "epoch")) /* a header again (an appended log) */
        return 0;
    if (n != l->ncol) {
        set_bad(l, "%s fields, not as the header", n < l->ncol ? "fewer" : "more");
        return 0;
    }
    if (l->n == l->cap) {
        int cap = l->cap ? 2 * l->cap : 64;
        double *a = realloc(l->acc, cap * sizeof *a);
        if (!a)
            return fer_seterr("out of memory");
        l->acc = a;
        l->cap = cap;
    }
    if (fer_parse_double(f[l->col], 0, 1, &l->acc[l->n])) {
        const char *v = f[l->col] + (*f[l->col] == '-' || *f[l->col] == '+');
        if (strncmp(v, "nan", 3) && strncmp(v, "NaN", 3) && strncmp(v, "NAN", 3)) {
            set_bad(l, "val_acc '%s' is not a number in 0..1", f[l->col]);
            return 0;
        }
        l->noval = 1;
        l->acc[l->n] = 0;
    }
    if (l->scol >= 0) {
        double sec;
        if (!fer_parse_double(f[l->scol], 0, 1e12, &sec))
            l->seconds += sec;
    }
    l->n++;
    return 0;
}

int fer_trainlog_read(fer_trainlog *l)
{
    FILE *f;
    char buf[8192];
    size_t have = 0, k;
    int before = l->n;
    if (l->bad || !(f = fopen(l->path, "rb")))
        return 0;
    if (fseek(f, l->off, SEEK_SET)) {
        fclose(f);
        return 0;
    }
    while ((k = fread(buf + have, 1, sizeof buf - 1 - have, f)) > 0 || have) {
        char *nl;
        size_t used = 0;
        have += k;
        buf[have] = 0;
        while (!l->bad && (nl = memchr(buf + used, '\n', have - used))) {
            size_t len = nl - (buf + used);
            *nl = 0;
            if (take_line(l, buf + used)) {
                fclose(f);
                return -1;
            }
            used += len + 1;
            l->off += len + 1;
            l->line++;
        }
        if (l->bad)
            break;
        memmove(buf, buf + used, have - used);
        have -= used;
        if (have == sizeof buf - 1) {
            set_bad(l, "a line longer than %s bytes", "8191");
            break;
        }
        if (k == 0) /* an incomplete last line: taken when it ends */
            break;
    }
    fclose(f);
    return l->n - before;
}
