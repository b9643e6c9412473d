/* haar.c: reads OpenCV's Haar cascade XML (new and old layouts) into the
 * tables of haar.h. A small XML reader builds an element tree over a
 * private copy of the text; two walkers turn that tree into a cascade. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "haar.h"

/* ---- XML element tree ---------------------------------------------- */

typedef struct xnode {
    const char *name;   /* into the buffer, not NUL-terminated */
    int namelen;
    int line;
    int parent, child, last, next;  /* indices, -1 = none */
    char *text;         /* NUL-terminated text of a leaf element, else "" */
} xnode;

typedef struct xdoc {
    char *buf;
    xnode *n;
    int count, cap;
    const char *file;   /* for messages */
} xdoc;

/* The line of p; calls come with p never decreasing (the parse goes front
 * to back), so the count resumes where the last call stopped. */
typedef struct liner { const char *at; int line; } liner;

static int line_of(liner *l, const char *p)
{
    for (; l->at < p; l->at++)
        l->line += *l->at == '\n';
    return l->line;
}

static int xerr(const xdoc *d, int node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "file:line: <name>: what" for an element. */
static int xerr(const xdoc *d, int node, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return fer_seterr("%s:%d: <%.*s>: %s", d->file, d->n[node].line,
                      d->n[node].namelen, d->n[node].name, what);
}

static int add_node(xdoc *d, const char *name, int len, int line, int parent)
{
    xnode *x;
    if (d->count == d->cap) {
        int cap = d->cap ? 2 * d->cap : 1024;
        xnode *n = realloc(d->n, (size_t)cap * sizeof *n);
        if (!n)
            return fer_seterr("%s: out of memory", d->file);
        d->n = n;
        d->cap = cap;
    }
    x = &d->n[d->count];
    x->name = name;
    x->namelen = len;
    x->line = line;
    x->parent = parent;
    x->child = x->last = x->next = -1;
    x->text = "";
    if (parent >= 0) {
        if (d->n[parent].last >= 0)
            d->n[d->n[parent].last].next = d->count;
        else
            d->n[parent].child = d->count;
        d->n[parent].last = d->count;
    }
    return d->count++;
}

static int is_name_char(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c == '.' || c == ':';
}

/* Blanks comments and processing instructions (keeping newlines, so that
 * line numbers stay right), then builds the element tree. */
static int xml_parse(xdoc *d)
{
    char *p = d->buf, *q;
    int cur = -1, nroots = 0;
    liner ln = {d->buf, 1};
    char *text = NULL;          /* where the current element's text starts */

    for (q = p; (q = strchr(q, '<')) != NULL; ) {
        const char *end = NULL;
        size_t skip = 0;
        if (!strncmp(q, "<!--", 4))
            end = strstr(q + 4, "-->"), skip = 3;
        else if (!strncmp(q, "<?", 2))
            end = strstr(q + 2, "?>"), skip = 2;
        if (!end && skip) {
            liner l0 = {d->buf, 1};
            return fer_seterr("%s:%d: unterminated %s", d->file, line_of(&l0, q),
                              q[1] == '!' ? "comment" : "<? ... ?>");
        }
        if (!skip) {
            q++;
            continue;
        }
        for (char *r = q; r < end + skip; r++)
            if (*r != '\n')
                *r = ' ';
        q = (char *)end + skip;
    }

    while (*p) {
        char *lt = strchr(p, '<');
        if (!lt)
            break;
        if (lt[1] == '/') {                       /* end tag */
            char *nm = lt + 2, *e = nm;
            while (is_name_char((unsigned char)*e))
                e++;
            if (cur < 0)
                return fer_seterr("%s:%d: </%.*s> without an open element", d->file,
                                  line_of(&ln, lt), (int)(e - nm), nm);
            if ((int)(e - nm) != d->n[cur].namelen || memcmp(nm, d->n[cur].name, (size_t)(e - nm)))
                return xerr(d, cur, "closed by </%.*s> on line %d", (int)(e - nm), nm,
                            line_of(&ln, lt));
            while (*e == ' ' || *e == '\t' || *e == '\r' || *e == '\n')
                e++;
            if (*e != '>')
                return xerr(d, cur, "bad end tag on line %d", line_of(&ln, lt));
            if (d->n[cur].child < 0 && text) {
                *lt = 0;                          /* the '<' is consumed */
                d->n[cur].text = text;
            }
            text = NULL;
            cur = d->n[cur].parent;
            p = e + 1;
            continue;
        }
        if (lt[1] == '!')
            return fer_seterr("%s:%d: unsupported markup '<!'", d->file, line_of(&ln, lt));
        {                                         /* start tag */
            char *nm = lt + 1, *e = nm;
            int node, selfclose = 0;
            while (is_name_char((unsigned char)*e))
                e++;
            if (e == nm)
                return fer_seterr("%s:%d: '<' not followed by an element name", d->file,
                                  line_of(&ln, lt));
            if (cur < 0 && nroots++)
                return fer_seterr("%s:%d: a second top-level element <%.*s>", d->file,
                                  line_of(&ln, lt), (int)(e - nm), nm);
            if ((node = add_node(d, nm, (int)(e - nm), line_of(&ln, lt), cur)) < 0)
                return -1;
            while (*e && *e != '>') {             /* attributes */
                if (*e == '"' || *e == '\'') {
                    char *c = strchr(e + 1, *e);
                    if (!c)
                        return xerr(d, node, "unterminated attribute value");
                    e = c;
                } else if (*e == '/' && e[1] == '>') {
                    selfclose = 1;
                }
                e++;
            }
            if (!*e)
                return xerr(d, node, "unterminated start tag");
            p = e + 1;
            if (!selfclose) {
                cur = node;
                text = p;
            } else {
                text = NULL;
            }
        }
    }
    if (cur >= 0)
        return xerr(d, cur, "not closed before the end of the file");
    if (!nroots)
        return fer_seterr("%s: no XML element", d->file);
    return 0;
}

static int name_is(const xdoc *d, int node, const char *name)
{
    return d->n[node].namelen == (int)strlen(name) &&
           !memcmp(d->n[node].name, name, (size_t)d->n[node].namelen);
}

static int child(const xdoc *d, int node, const char *name)
{
    for (int c = d->n[node].child; c >= 0; c = d->n[c].next)
        if (name_is(d, c, name))
            return c;
    return -1;
}

/* The child called name, or an error naming the parent. */
static int need(const xdoc *d, int node, const char *name)
{
    int c = child(d, node, name);
    if (c < 0)
        return xerr(d, node, "no <%s>", name), -1;
    return c;
}

static int nchildren(const xdoc *d, int node)
{
    int k = 0;
    for (int c = d->n[node].child; c >= 0; c = d->n[c].next)
        k++;
    return k;
}

/* Parses the whitespace-separated numbers of a leaf element into v (at
 * most max; *count gets how many there are, even beyond max). */
static int numbers(const xdoc *d, int node, double *v, int max, int *count)
{
    const char *s = d->n[node].text;
    int k = 0;
    if (d->n[node].child >= 0)
        return xerr(d, node, "elements where numbers were expected");
    for (;;) {
        char *end;
        double x;
        while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
            s++;
        if (!*s)
            break;
        errno = 0;
        x = strtod(s, &end);
        if (end == s || !isfinite(x) ||
            (*end && *end != ' ' && *end != '\t' && *end != '\r' && *end != '\n'))
            return xerr(d, node, "'%.20s' is not a number", s);
        if (k < max)
            v[k] = x;
        k++;
        s = end;
    }
    *count = k;
    return 0;
}

static int one_number(const xdoc *d, int node, double *v)
{
    int k;
    if (numbers(d, node, v, 1, &k) < 0)
        return -1;
    if (k != 1)
        return xerr(d, node, "%d numbers, expected 1", k);
    return 0;
}

static int one_int(const xdoc *d, int node, int lo, int hi, int *out)
{
    double v;
    if (one_number(d, node, &v) < 0)
        return -1;
    if (v != floor(v) || v < lo || v > hi)
        return xerr(d, node, "%g is not a whole number in %d..%d", v, lo, hi);
    *out = (int)v;
    return 0;
}

/* The text of a leaf element without surrounding blanks. */
static const char *word(const xdoc *d, int node, char *buf, size_t n)
{
    const char *s = d->n[node].text;
    size_t len;
    while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
        s++;
    len = strlen(s);
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r' ||
                   s[len - 1] == '\n'))
        len--;
    if (len >= n)
        len = n - 1;
    memcpy(buf, s, len);
    buf[len] = 0;
    return buf;
}

/* ---- growing the cascade tables ------------------------------------- */

typedef struct caps { int stages, trees, nodes, leaves, features; } caps;

#define GROW(c, cp, field, count)                                               \
    do {                                                                        \
        if ((c)->count >= (cp)->field) {                                        \
            int n_ = (cp)->field ? 2 * (cp)->field : 64;                        \
            void *p_ = realloc((c)->field, (size_t)n_ * sizeof *(c)->field);    \
            if (!p_)                                                            \
                return fer_seterr("out of memory");                            \
            (c)->field = p_;                                                    \
            (cp)->field = n_;                                                   \
        }                                                                       \
    } while (0)

/* Reads <rects> (and <tilted>) of a feature element into a new feature. */
static int read_feature(const xdoc *d, int fnode, fer_cascade *c, caps *cp, int drop_zero)
{
    int rects = need(d, fnode, "rects"), tl = child(d, fnode, "tilted"), k = 0;
    fer_haar_feature *f;
    if (rects < 0)
        return -1;
    GROW(c, cp, features, nfeatures);
    f = &c->features[c->nfeatures];
    memset(f, 0, sizeof *f);
    if (tl >= 0 && one_int(d, tl, INT_MIN, INT_MAX, &f->tilted) < 0)
        return -1;
    f->tilted = f->tilted != 0;
    for (int r = d->n[rects].child; r >= 0; r = d->n[r].next) {
        double v[5];
        int cnt;
        if (numbers(d, r, v, 5, &cnt) < 0)
            return -1;
        if (cnt != 5)
            return xerr(d, r, "%d numbers, expected 5 (x y w h weight)", cnt);
        /* the old layout pads with zero-weight rectangles, which OpenCV drops */
        if (drop_zero && k >= 2 && fabs(v[4]) < 1.1920929e-07)
            continue;
        if (k == FER_HAAR_RECTS)
            return xerr(d, rects, "more than %d rectangles", FER_HAAR_RECTS);
        for (int i = 0; i < 4; i++)
            if (v[i] != floor(v[i]) || fabs(v[i]) > 1e6)
                return xerr(d, r, "coordinate %g is not a whole number", v[i]);
        f->r[k].x = (int)v[0];
        f->r[k].y = (int)v[1];
        f->r[k].w = (int)v[2];
        f->r[k].h = (int)v[3];
        f->r[k].weight = (float)v[4];
        {
            int x = f->r[k].x, y = f->r[k].y, w = f->r[k].w, h = f->r[k].h, ok;
            if (f->tilted)
                ok = w > 0 && h > 0 && y >= 0 && x - h >= 0 && x + w <= c->win_w &&
                     y + w + h <= c->win_h;
            else
                ok = w > 0 && h > 0 && x >= 0 && y >= 0 && x + w <= c->win_w &&
                     y + h <= c->win_h;
            if (!ok)
                return xerr(d, r, "%srectangle %d %d %d %d outside the %dx%d window",
                            f->tilted ? "tilted " : "", x, y, w, h, c->win_w, c->win_h);
        }
        k++;
    }
    if (k == 0)
        return xerr(d, rects, "no rectangle");
    f->nrects = k;
    c->has_tilted |= f->tilted;
    return c->nfeatures++;
}

/* Checks one tree's links: children inside the tree, node links forward
 * only (so that evaluation ends), leaves inside the tree's leaves. */
static int check_tree(const xdoc *d, int node, const fer_cascade *c, const fer_haar_tree *t)
{
    for (int k = 0; k < t->nnodes; k++) {
        const fer_haar_node *nd = &c->nodes[t->node + k];
        int ch[2] = {nd->left, nd->right};
        for (int s = 0; s < 2; s++) {
            if (ch[s] > 0 && (ch[s] <= k || ch[s] >= t->nnodes))
                return xerr(d, node, "node %d: child node %d is not a later node of the tree",
                            k, ch[s]);
            if (ch[s] <= 0 && -ch[s] > t->nnodes)
                return xerr(d, node, "node %d: leaf %d of %d", k, -ch[s], t->nnodes + 1);
        }
    }
    return 0;
}

static int finish_stage(fer_cascade *c, caps *cp, int first_tree, double thr)
{
    GROW(c, cp, stages, nstages);
    c->stages[c->nstages].tree = first_tree;
    c->stages[c->nstages].ntrees = c->ntrees - first_tree;
    c->stages[c->nstages].threshold = (float)thr - 1e-5f;
    c->nstages++;
    return 0;
}

static int read_window(const xdoc *d, int wnode, int hnode, fer_cascade *c)
{
    if (one_int(d, wnode, 3, 100000, &c->win_w) < 0 || one_int(d, hnode, 3, 100000, &c->win_h) < 0)
        return -1;
    return 0;
}

/* The layout of opencv_traincascade. */
static int read_new(const xdoc *d, int root, fer_cascade *c, caps *cp)
{
    char buf[32];
    int st = need(d, root, "stageType"), ft, w, h, fp, stages, feats, nfeat;
    if (st < 0)
        return -1;
    if (strcmp(word(d, st, buf, sizeof buf), "BOOST"))
        return xerr(d, st, "'%s' stages are not supported (only BOOST)", buf);
    if ((ft = need(d, root, "featureType")) < 0)
        return -1;
    if (strcmp(word(d, ft, buf, sizeof buf), "HAAR"))
        return xerr(d, ft, "%s cascades are not supported (only HAAR)", buf);
    if ((w = need(d, root, "width")) < 0 || (h = need(d, root, "height")) < 0 ||
        read_window(d, w, h, c) < 0)
        return -1;
    if ((fp = child(d, root, "featureParams")) >= 0) {
        int mc = child(d, fp, "maxCatCount"), v = 0;
        if (mc >= 0 && one_int(d, mc, INT_MIN, INT_MAX, &v) < 0)
            return -1;
        if (v != 0)
            return xerr(d, mc, "categorical splits (%d) are not supported", v);
    }
    if ((feats = need(d, root, "features")) < 0)
        return -1;
    for (int f = d->n[feats].child; f >= 0; f = d->n[f].next)
        if (read_feature(d, f, c, cp, 0) < 0)
            return -1;
    if ((nfeat = c->nfeatures) == 0)
        return xerr(d, feats, "no feature");
    if ((stages = need(d, root, "stages")) < 0)
        return -1;
    for (int s = d->n[stages].child; s >= 0; s = d->n[s].next) {
        int thr = need(d, s, "stageThreshold"), weak, first = c->ntrees;
        double t;
        if (thr < 0 || one_number(d, thr, &t) < 0 || (weak = need(d, s, "weakClassifiers")) < 0)
            return -1;
        if (d->n[weak].child < 0)
            return xerr(d, weak, "no weak classifier");
        for (int wc = d->n[weak].child; wc >= 0; wc = d->n[wc].next) {
            int in = need(d, wc, "internalNodes"), lv, cnt, nn, nl;
            fer_haar_tree *tr;
            double *v;
            if (in < 0 || (lv = need(d, wc, "leafValues")) < 0 || numbers(d, in, NULL, 0, &cnt) < 0)
                return -1;
            if (cnt == 0 || cnt % 4)
                return xerr(d, in, "%d numbers, not 4 per node (left right feature threshold)",
                            cnt);
            nn = cnt / 4;
            if (!(v = malloc((size_t)cnt * sizeof *v)))
                return fer_seterr("out of memory");
            numbers(d, in, v, cnt, &cnt);
            GROW(c, cp, trees, ntrees);
            tr = &c->trees[c->ntrees];
            tr->node = c->nnodes;
            tr->nnodes = nn;
            tr->leaf = c->nleaves;
            for (int k = 0; k < nn; k++) {
                double *e = v + 4 * k;
                fer_haar_node *nd;
                if (e[0] != floor(e[0]) || e[1] != floor(e[1]) || e[2] != floor(e[2]) ||
                    fabs(e[0]) > 1e6 || fabs(e[1]) > 1e6 || e[2] < 0 || e[2] >= nfeat) {
                    xerr(d, in, "node %d: bad link %g %g or feature %g (of %d)", k, e[0], e[1],
                         e[2], nfeat);
                    free(v);
                    return -1;
                }
                if (c->nnodes >= cp->nodes) {
                    int n2 = cp->nodes ? 2 * cp->nodes : 64;
                    void *p2 = realloc(c->nodes, (size_t)n2 * sizeof *c->nodes);
                    if (!p2) {
                        free(v);
                        return fer_seterr("out of memory");
                    }
                    c->nodes = p2;
                    cp->nodes = n2;
                }
                nd = &c->nodes[c->nnodes++];
                nd->left = (int)e[0];
                nd->right = (int)e[1];
                nd->feature = (int)e[2];
                nd->threshold = (float)e[3];
            }
            free(v);
            if (numbers(d, lv, NULL, 0, &nl) < 0)
                return -1;
            if (nl != nn + 1)
                return xerr(d, lv, "%d leaves for %d nodes, expected %d", nl, nn, nn + 1);
            if (!(v = malloc((size_t)nl * sizeof *v)))
                return fer_seterr("out of memory");
            numbers(d, lv, v, nl, &nl);
            for (int k = 0; k < nl; k++) {
                if (c->nleaves >= cp->leaves) {
                    int n2 = cp->leaves ? 2 * cp->leaves : 64;
                    void *p2 = realloc(c->leaves, (size_t)n2 * sizeof *c->leaves);
                    if (!p2) {
                        free(v);
                        return fer_seterr("out of memory");
                    }
                    c->leaves = p2;
                    cp->leaves = n2;
                }
                c->leaves[c->nleaves++] = (float)v[k];
            }
            free(v);
            if (check_tree(d, in, c, tr) < 0)
                return -1;
            if (nn > c->max_nodes)
                c->max_nodes = nn;
            c->ntrees++;
        }
        if (finish_stage(c, cp, first, t) < 0)
            return -1;
    }
    if (c->nstages == 0)
        return xerr(d, stages, "no stage");
    return 0;
}

/* One side of an old-layout node: <X_val> makes a leaf, <X_node> a link. */
static int old_side(const xdoc *d, int nnode, const char *val, const char *lnk,
                    fer_cascade *c, caps *cp, int *out)
{
    int v = child(d, nnode, val), l = child(d, nnode, lnk);
    if (v >= 0) {
        double x;
        if (one_number(d, v, &x) < 0)
            return -1;
        GROW(c, cp, leaves, nleaves);
        *out = -(c->nleaves - c->trees[c->ntrees].leaf);
        c->leaves[c->nleaves++] = (float)x;
        return 0;
    }
    if (l >= 0)
        return one_int(d, l, 1, 1000000, out);
    return xerr(d, nnode, "neither <%s> nor <%s>", val, lnk);
}

/* The layout of opencv_haartraining. */
static int read_old(const xdoc *d, int root, fer_cascade *c, caps *cp)
{
    int size = need(d, root, "size"), stages, cnt;
    double v[2];
    if (size < 0 || numbers(d, size, v, 2, &cnt) < 0)
        return -1;
    if (cnt != 2 || v[0] != floor(v[0]) || v[1] != floor(v[1]) || v[0] < 3 || v[1] < 3 ||
        v[0] > 100000 || v[1] > 100000)
        return xerr(d, size, "expected two whole numbers >= 3 (width height)");
    c->win_w = (int)v[0];
    c->win_h = (int)v[1];
    c->old_format = 1;
    if ((stages = need(d, root, "stages")) < 0)
        return -1;
    for (int s = d->n[stages].child; s >= 0; s = d->n[s].next) {
        int trees = need(d, s, "trees"), thr, first = c->ntrees;
        double t;
        if (trees < 0 || (thr = need(d, s, "stage_threshold")) < 0 || one_number(d, thr, &t) < 0)
            return -1;
        if (d->n[trees].child < 0)
            return xerr(d, trees, "no tree");
        for (int tn = d->n[trees].child; tn >= 0; tn = d->n[tn].next) {
            fer_haar_tree *tr;
            int k = 0;
            if (d->n[tn].child < 0)
                return xerr(d, tn, "a tree without nodes");
            GROW(c, cp, trees, ntrees);
            tr = &c->trees[c->ntrees];
            tr->node = c->nnodes;
            tr->nnodes = nchildren(d, tn);
            tr->leaf = c->nleaves;
            for (int nn = d->n[tn].child; nn >= 0; nn = d->n[nn].next, k++) {
                int fe = need(d, nn, "feature"), th, fi;
                double x;
                fer_haar_node nd;
                if (fe < 0 || (fi = read_feature(d, fe, c, cp, 1)) < 0 ||
                    (th = need(d, nn, "threshold")) < 0 || one_number(d, th, &x) < 0)
                    return -1;
                nd.feature = fi;
                nd.threshold = (float)x;
                if (old_side(d, nn, "left_val", "left_node", c, cp, &nd.left) < 0 ||
                    old_side(d, nn, "right_val", "right_node", c, cp, &nd.right) < 0)
                    return -1;
                GROW(c, cp, nodes, nnodes);
                c->nodes[c->nnodes++] = nd;
            }
            if (c->nleaves - tr->leaf != tr->nnodes + 1)
                return xerr(d, tn, "%d leaves for %d nodes, expected %d",
                            c->nleaves - tr->leaf, tr->nnodes, tr->nnodes + 1);
            if (check_tree(d, tn, c, tr) < 0)
                return -1;
            if (tr->nnodes > c->max_nodes)
                c->max_nodes = tr->nnodes;
            c->ntrees++;
        }
        if (finish_stage(c, cp, first, t) < 0)
            return -1;
    }
    if (c->nstages == 0)
        return xerr(d, stages, "no stage");
    return 0;
}

void fer_haar_free(fer_cascade *c)
{
    if (!c)
        return;
    free(c->stages);
    free(c->trees);
    free(c->nodes);
    free(c->leaves);
    free(c->features);
    memset(c, 0, sizeof *c);
}

int fer_haar_parse(const char *text, size_t n, const char *name, fer_cascade *c)
{
    xdoc d = {0};
    caps cp = {0};
    int top, root, st = -1;

    memset(c, 0, sizeof *c);
    d.file = name;
    if (n == 0)
        return fer_seterr("%s: empty file", name);
    if (memchr(text, 0, n))
        return fer_seterr("%s: a NUL byte: not an XML file", name);
    if (!(d.buf = malloc(n + 1)))
        return fer_seterr("%s: out of memory", name);
    memcpy(d.buf, text, n);
    d.buf[n] = 0;
    if (xml_parse(&d) < 0)
        goto fail;
    top = 0;
    if (!name_is(&d, top, "opencv_storage")) {
        xerr(&d, top, "not an OpenCV file (expected <opencv_storage>)");
        goto fail;
    }
    if ((root = d.n[top].child) < 0) {
        xerr(&d, top, "empty");
        goto fail;
    }
    if (child(&d, root, "stageType") >= 0 || child(&d, root, "featureType") >= 0)
        st = read_new(&d, root, c, &cp);
    else if (child(&d, root, "size") >= 0)
        st = read_old(&d, root, c, &cp);
    else
        xerr(&d, root, "neither a new (<stageType>) nor an old (<size>) cascade");
    if (st < 0) {
        if (!strncmp(fer_error(), "out of memory", 13))
            fer_error_prefix("%s", name);
        goto fail;
    }
    free(d.buf);
    free(d.n);
    return 0;
fail:
    free(d.buf);
    free(d.n);
    fer_haar_free(c);
    return -1;
}

int fer_haar_load(const char *path, fer_cascade *c)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int st;
    memset(c, 0, sizeof *c);
    if (!f)
        return fer_seterr("%s: %s", path, strerror(errno));
    for (;;) {
        size_t k;
        if (n == cap) {
            char *b;
            cap = cap ? 2 * cap : 1 << 20;
            if (cap > ((size_t)1 << 30) || !(b = realloc(buf, cap))) {
                free(buf);
                fclose(f);
                return fer_seterr("%s: too large or out of memory", path);
            }
            buf = b;
        }
        k = fread(buf + n, 1, cap - n, f);
        n += k;
        if (k == 0)
            break;
    }
    if (ferror(f)) {
        free(buf);
        fclose(f);
        return fer_seterr("%s: read error", path);
    }
    fclose(f);
    st = fer_haar_parse(buf, n, path, c);
    free(buf);
    return st;
}

int fer_haar_find(const char *base, char *buf, size_t n)
{
    static const char *const dirs[] = {
        "/usr/share/opencv4/haarcascades", "/usr/share/opencv/haarcascades",
        "/usr/local/share/opencv4/haarcascades", "/usr/local/share/opencv/haarcascades",
    };
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        FILE *f;
        if ((size_t)snprintf(buf, n, "%s/%s", dirs[i], base) >= n)
            continue;
        if ((f = fopen(buf, "rb"))) {
            fclose(f);
            return 0;
        }
    }
    return fer_seterr("%s: not found in OpenCV's haarcascades folders", base);
}
