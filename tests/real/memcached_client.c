/* memcached_client: a load client for memcached's text protocol that checks
 * every reply byte for byte.  tests/real/memcached.sh runs it natively
 * against a memcached running under goshim.
 *
 *   memcached_client [-S] [-P PID] [-t THREADS] [-c CONNS] [-k KEYS]
 *                    [-n OPS] [-s MAX_VALUE] [-r SEED] [-T SECONDS] HOST PORT
 *   memcached_client --ping HOST PORT    0 if the server answers "version"
 *   memcached_client --free-port         prints a free TCP port of 127.0.0.1
 *
 * THREADS threads (50) each open CONNS connections (4) at once, and each
 * connection owns KEYS keys (72) that no other connection touches, so the
 * client knows what every reply must be: it keeps a model of each key (its
 * bytes and flags, or a counter's value).
 *
 * Every key is set first (the fill, which also makes the model hold
 * whatever the server had before).  Once all threads are done with it, so
 * that all keys exist at once (14,400 by default: a hash table of 2^13
 * buckets must grow), each thread runs OPS steps (400), each on its next
 * connection: a pipelined batch of one to four commands on distinct keys
 * (set, also with noreply, add, replace, append, prepend, delete, get,
 * gets; incr and decr on counter keys), or one get of up to ten keys, or
 * gets then cas twice (the second must see EXISTS).  Finally every
 * connection reads all of its keys back.  Values are 0 to MAX_VALUE bytes
 * (100 KiB) of every byte value, some holding "\r\nEND\r\n" to catch a
 * server that frames by content, not length; keys are 12 to 250 bytes.
 *
 * With -S (a fresh server of our own) the server's counters in "stats"
 * must then equal the client's counts: every request executed once.  With
 * -P the server's kernel threads are sampled every 10 ms and the most
 * seen printed.
 *
 * Sockets are non-blocking and every wait is a poll of IO_TIMEOUT_S at
 * most; a watchdog thread ends the run after SECONDS (120) and prints what
 * each thread was doing.  Exit status: 0 when every reply was right, 1 on
 * the first wrong reply or a timeout (the message names the connection,
 * the command, the bytes and the last commands sent), 2 for bad usage or
 * a server that does not answer. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define KEY_MAX 250       /* memcached's KEY_MAX_LENGTH */
#define KEY_MIN 12
#define LINE_MAX_BYTES 1024 /* a reply line: "VALUE <key> <flags> <n> <cas>" */
#define BATCH_MAX 4
#define MULTIGET_MAX 10
#define APPEND_MAX 512
#define IO_TIMEOUT_S 20
#define IN_BUF_MIN (64 * 1024)
/* One key in COUNTER_EVERY holds a decimal counter for incr and decr. */
#define COUNTER_EVERY 8
/* The commands a failure message shows, the last sent on the connection. */
#define HISTORY 24

static const char *me = "memcached_client";

static int opt_threads = 50, opt_conns = 4, opt_keys = 72, opt_ops = 400;
static size_t opt_max_value = 100 * 1024;
static int opt_timeout_s = 120;
static bool opt_stats;
static long opt_server_pid;
static uint64_t opt_seed;
static struct addrinfo *server;

/* ---------------------------------------------------------------- model */

struct key {
    char name[KEY_MAX + 1];
    size_t nlen;
    bool counter;
    bool present;
    uint32_t flags;
    unsigned char *val; /* data keys: the bytes the server must hold */
    size_t len, cap;
    uint64_t count;     /* counters: the value ... */
    size_t maxlen;      /* ... and the longest its text has been since set */
};

/* What the server counts in "stats", counted by the client as it sends. */
struct counts {
    uint64_t cmd_get, get_hits, get_misses, cmd_set;
    uint64_t delete_hits, delete_misses, incr_hits, incr_misses;
    uint64_t decr_hits, decr_misses, cas_hits, cas_misses, cas_badval;
    uint64_t requests, bytes_out, bytes_in;
};

/* A reply the server owes: a line, or the values of keys (get/gets). */
struct expect {
    const char *cmd; /* for messages */
    int key;         /* first key of the command */
    char line[32];   /* nkeys == 0: the whole reply line */
    int keys[MULTIGET_MAX], nkeys;
    bool with_cas;
    uint64_t cas; /* gets of one key: the unique seen, 0 if a miss */
};

struct conn {
    int fd;
    int thread, index;
    struct key *keys; /* opt_keys of them, this connection's own */
    char *out;
    size_t out_len, out_cap;
    char *in; /* in[in_off, in_len): received, not yet checked */
    size_t in_off, in_len, in_cap;
    struct expect ex[BATCH_MAX + 2];
    int nex;
    struct expect *cur; /* the reply being checked, for messages */
    struct counts *n;
    char history[HISTORY][64];
    unsigned nhistory;
};

struct worker {
    pthread_t thread;
    int id;
    uint64_t rng;
    struct conn *conns;
    struct counts n;
    atomic_int step; /* progress, for the watchdog */
    _Atomic(const char *) phase;
};

static struct worker *workers;
static atomic_bool all_done;
/* Every key exists at once after the fill: a server whose hash table
 * starts small enough has to grow it then. */
static pthread_barrier_t filled;

/* xorshift64*: the run is reproducible from the seed (per connection:
 * threads interleave as they will). */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static uint64_t rng_below(uint64_t *s, uint64_t n)
{
    return rng_next(s) % n;
}

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

/* ------------------------------------------------------------- failures */

static pthread_mutex_t fail_mu = PTHREAD_MUTEX_INITIALIZER;

/* Quoted, with escapes, at most max bytes of p. */
static void show(const char *label, const void *p, size_t n, size_t max)
{
    const unsigned char *s = p;
    fprintf(stderr, "  %s (%zu bytes): \"", label, n);
    for (size_t i = 0; i < n && i < max; i++) {
        if (s[i] == '\r')
            fputs("\\r", stderr);
        else if (s[i] == '\n')
            fputs("\\n", stderr);
        else if (s[i] == '"' || s[i] == '\\')
            fprintf(stderr, "\\%c", s[i]);
        else if (s[i] >= 0x20 && s[i] < 0x7f)
            fputc(s[i], stderr);
        else
            fprintf(stderr, "\\x%02x", s[i]);
    }
    fprintf(stderr, "\"%s\n", n > max ? "..." : "");
}

/* The first failure ends the run: the other threads may be mid-reply. */
static void __attribute__((noreturn, format(printf, 2, 3)))
fail(struct conn *c, const char *fmt, ...)
{
    pthread_mutex_lock(&fail_mu);
    fprintf(stderr, "%s: FAIL: ", me);
    if (c != NULL) {
        fprintf(stderr, "thread %d connection %d", c->thread, c->index);
        if (c->cur != NULL)
            fprintf(stderr, ", reply to %s %s", c->cur->cmd,
                    c->keys[c->cur->key].name);
        fputs(": ", stderr);
    }
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (seed %" PRIu64 ")\n", opt_seed);
    if (c != NULL && c->nhistory > 0) {
        fprintf(stderr, "  the last commands on this connection, keys by "
                "number (\"|\": replies checked):\n   ");
        unsigned from = c->nhistory > HISTORY ? c->nhistory - HISTORY : 0;
        for (unsigned i = from; i < c->nhistory; i++)
            fprintf(stderr, " %s%s", c->history[i % HISTORY],
                    i + 1 < c->nhistory ? ";" : "\n");
    }
    fflush(stderr);
    _exit(1);
}

static void __attribute__((format(printf, 2, 3)))
history_add(struct conn *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->history[c->nhistory++ % HISTORY], sizeof c->history[0], fmt,
              ap);
    va_end(ap);
}

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (p == NULL)
        fail(NULL, "out of memory (%zu bytes)", n);
    return p;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ------------------------------------------------------------------ I/O */

/* Waits until c's socket is ready for events; no progress for IO_TIMEOUT_S
 * is a failure (a reply the server never sends). */
static void conn_wait(struct conn *c, short events)
{
    struct pollfd pfd = { .fd = c->fd, .events = events };
    for (;;) {
        int r = poll(&pfd, 1, IO_TIMEOUT_S * 1000);
        if (r > 0)
            return;
        if (r == 0)
            fail(c, "no progress for %d s (%zu bytes received unchecked)",
                 IO_TIMEOUT_S, c->in_len - c->in_off);
        if (errno != EINTR)
            fail(c, "poll: %s", strerror(errno));
    }
}

/* Receives what is there; false if nothing was. */
static bool conn_recv(struct conn *c)
{
    if (c->in_off == c->in_len)
        c->in_off = c->in_len = 0;
    if (c->in_cap - c->in_len < IN_BUF_MIN / 2) {
        if (c->in_off > 0) {
            memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
            c->in_len -= c->in_off;
            c->in_off = 0;
        }
        if (c->in_cap - c->in_len < IN_BUF_MIN / 2) {
            c->in_cap *= 2;
            c->in = xrealloc(c->in, c->in_cap);
        }
    }
    ssize_t n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
    if (n > 0) {
        c->in_len += (size_t)n;
        c->n->bytes_in += (uint64_t)n;
        return true;
    }
    if (n == 0)
        fail(c, "the server closed the connection");
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
        return false;
    fail(c, "recv: %s", strerror(errno));
}

/* Sends c->out whole, receiving meanwhile: the server stops reading while
 * its replies to a pipelined batch cannot be sent. */
static void conn_flush(struct conn *c)
{
    size_t off = 0;
    while (off < c->out_len) {
        ssize_t n = send(c->fd, c->out + off, c->out_len - off,
                         MSG_NOSIGNAL);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
            errno != EINTR)
            fail(c, "send: %s", strerror(errno));
        if (!conn_recv(c))
            conn_wait(c, POLLIN | POLLOUT);
    }
    c->n->bytes_out += c->out_len;
    c->out_len = 0;
}

/* At least n bytes received and unchecked. */
static void conn_need(struct conn *c, size_t n)
{
    while (c->in_len - c->in_off < n)
        if (!conn_recv(c))
            conn_wait(c, POLLIN);
}

/* The next reply line, without its "\r\n"; *len its length. */
static const char *conn_line(struct conn *c, size_t *len)
{
    size_t scanned = 0;
    for (;;) {
        const char *p = c->in + c->in_off;
        size_t avail = c->in_len - c->in_off;
        for (size_t i = scanned ? scanned - 1 : 0; i + 1 < avail; i++) {
            if (p[i] == '\r' && p[i + 1] == '\n') {
                c->in_off += i + 2;
                *len = i;
                return p;
            }
        }
        if (avail > LINE_MAX_BYTES) {
            show("received", p, avail, 200);
            fail(c, "no line end in %zu bytes", avail);
        }
        scanned = avail;
        conn_need(c, avail + 1);
    }
}

static void out_add(struct conn *c, const void *p, size_t n)
{
    if (c->out_cap - c->out_len < n) {
        while (c->out_cap - c->out_len < n)
            c->out_cap *= 2;
        c->out = xrealloc(c->out, c->out_cap);
    }
    memcpy(c->out + c->out_len, p, n);
    c->out_len += n;
}

static void __attribute__((format(printf, 2, 3)))
out_fmt(struct conn *c, const char *fmt, ...)
{
    char buf[LINE_MAX_BYTES];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof buf)
        fail(c, "command too long");
    out_add(c, buf, (size_t)n);
}

/* -------------------------------------------------------------- checks */

static void expect_line(struct conn *c, const char *want)
{
    size_t n;
    const char *got = conn_line(c, &n);
    if (n != strlen(want) || memcmp(got, want, n) != 0) {
        show("got", got, n, 200);
        show("expected", want, strlen(want), 200);
        fail(c, "wrong reply line");
    }
}

/* The next n bytes must be want's, then "\r\n". */
static void expect_data(struct conn *c, const unsigned char *want, size_t n)
{
    conn_need(c, n + 2);
    const unsigned char *got = (const unsigned char *)c->in + c->in_off;
    if (memcmp(got, want, n) != 0) {
        size_t i = 0;
        while (got[i] == want[i])
            i++;
        size_t from = i > 16 ? i - 16 : 0;
        show("got from there", got + from, n - from, 64);
        show("expected", want + from, n - from, 64);
        fail(c, "value differs at byte %zu of %zu", i, n);
    }
    if (got[n] != '\r' || got[n + 1] != '\n') {
        show("got", got + n, 2, 2);
        fail(c, "no \\r\\n after the %zu-byte value", n);
    }
    c->in_off += n + 2;
}

/* A counter's value reads as its decimal text, then spaces: incr and decr
 * rewrite a long enough item in place, padding the shorter number with
 * spaces, so the text is at most as long as it has been since the set. */
static void expect_counter(struct conn *c, const struct key *k, size_t n)
{
    char digits[24];
    size_t d = (size_t)snprintf(digits, sizeof digits, "%" PRIu64, k->count);
    conn_need(c, n + 2);
    const char *got = c->in + c->in_off;
    bool ok = n >= d && n <= k->maxlen && memcmp(got, digits, d) == 0 &&
              got[n] == '\r' && got[n + 1] == '\n';
    for (size_t i = d; ok && i < n; i++)
        ok = got[i] == ' ';
    if (!ok) {
        show("got", got, n + 2, 64);
        fail(c, "counter should read %s, then at most %zu spaces", digits,
             k->maxlen - d);
    }
    c->in_off += n + 2;
}

/* The reply to get/gets of ex->keys: a VALUE block for each key present,
 * in order, then END. */
static void expect_values(struct conn *c, struct expect *ex)
{
    for (int i = 0; i < ex->nkeys; i++) {
        struct key *k = &c->keys[ex->keys[i]];
        c->n->cmd_get++;
        if (!k->present) {
            c->n->get_misses++;
            continue;
        }
        c->n->get_hits++;
        size_t n = k->counter ? k->maxlen : k->len;
        char head[LINE_MAX_BYTES];
        int hn = snprintf(head, sizeof head, "VALUE %s %" PRIu32 " ",
                          k->name, k->flags);
        size_t len;
        const char *got = conn_line(c, &len);
        /* The length, as a counter's may be shorter than maxlen. */
        char *end = NULL;
        unsigned long long glen = 0;
        bool ok = len > (size_t)hn && memcmp(got, head, (size_t)hn) == 0;
        if (ok) {
            errno = 0;
            glen = strtoull(got + hn, &end, 10);
            ok = errno == 0 && end > got + hn &&
                 (k->counter ? glen <= n : glen == n);
        }
        if (ok && ex->with_cas) {
            unsigned long long cas = 0;
            char *cend = NULL;
            ok = *end == ' ';
            if (ok) {
                cas = strtoull(end + 1, &cend, 10);
                ok = cend > end + 1 && cas != 0;
                end = cend;
            }
            ex->cas = cas;
        }
        if (!ok || end != got + len) {
            show("got", got, len, 300);
            char want[LINE_MAX_BYTES + 32];
            snprintf(want, sizeof want, "%s%zu%s", head, n,
                     ex->with_cas ? " <cas>" : "");
            show("expected", want, strlen(want), 300);
            fail(c, "wrong VALUE line for key %d", ex->keys[i]);
        }
        if (k->counter)
            expect_counter(c, k, (size_t)glen);
        else
            expect_data(c, k->val, k->len);
    }
    expect_line(c, "END");
}

/* Sends the batch and checks each reply in order. */
static void conn_round(struct conn *c)
{
    history_add(c, "|");
    conn_flush(c);
    for (int i = 0; i < c->nex; i++) {
        struct expect *ex = &c->ex[i];
        c->cur = ex;
        if (ex->nkeys > 0)
            expect_values(c, ex);
        else
            expect_line(c, ex->line);
    }
    c->cur = NULL;
    c->nex = 0;
    if (c->in_off != c->in_len) {
        show("extra", c->in + c->in_off, c->in_len - c->in_off, 200);
        fail(c, "bytes after the last reply of a batch");
    }
}

static struct expect *expect_add(struct conn *c, const char *cmd, int key)
{
    if (c->nex == (int)(sizeof c->ex / sizeof c->ex[0]))
        fail(c, "expect_add: batch too long");
    struct expect *ex = &c->ex[c->nex++];
    memset(ex, 0, sizeof *ex);
    ex->cmd = cmd;
    ex->key = key;
    c->n->requests++;
    return ex;
}

static void expect_reply(struct conn *c, const char *cmd, int key,
                         const char *line)
{
    struct expect *ex = expect_add(c, cmd, key);
    snprintf(ex->line, sizeof ex->line, "%s", line);
}

/* ---------------------------------------------------------- operations */

/* A value's length: mostly small, some up to opt_max_value. */
static size_t value_size(uint64_t *rng, size_t max)
{
    uint64_t r = rng_below(rng, 100);
    size_t lo, hi;
    if (r < 50)
        lo = 0, hi = 64;
    else if (r < 85)
        lo = 65, hi = 2048;
    else if (r < 97)
        lo = 2049, hi = 32768;
    else
        lo = 32769, hi = max;
    if (hi > max)
        hi = max;
    if (lo > hi)
        lo = hi;
    return lo + (size_t)rng_below(rng, hi - lo + 1);
}

/* n random bytes at p, every byte value; a quarter of them carry a reply
 * of the protocol inside, which only a client counting bytes gets right. */
static void value_fill(uint64_t *rng, unsigned char *p, size_t n)
{
    static const char fake[] = "\r\nEND\r\nVALUE x 0 1\r\n";
    for (size_t i = 0; i < n; i += 8) {
        uint64_t r = rng_next(rng);
        memcpy(p + i, &r, n - i < 8 ? n - i : 8);
    }
    if (n >= sizeof fake && rng_below(rng, 4) == 0)
        memcpy(p + rng_below(rng, n - sizeof fake + 2), fake,
               sizeof fake - 1);
}

static void key_reserve(struct key *k, size_t n)
{
    if (k->cap < n) {
        k->cap = n + n / 4;
        k->val = xrealloc(k->val, k->cap);
    }
}

/* cmd ("set", "add" or "replace") with a fresh value of at most max
 * bytes; the model takes it when the server must store it. */
static void op_store(struct worker *w, struct conn *c, int ki,
                     const char *cmd, bool noreply, size_t max)
{
    struct key *k = &c->keys[ki];
    bool stores = strcmp(cmd, "set") == 0 ||
                  (strcmp(cmd, "add") == 0 && !k->present) ||
                  (strcmp(cmd, "replace") == 0 && k->present);
    size_t n = value_size(&w->rng, max);
    uint32_t flags = (uint32_t)rng_next(&w->rng);
    history_add(c, "%s k%d %zu bytes%s", cmd, ki, n, noreply ? " noreply" : "");
    out_fmt(c, "%s %s %" PRIu32 " 0 %zu%s\r\n", cmd, k->name, flags, n,
            noreply ? " noreply" : "");
    unsigned char *val;
    unsigned char *scratch = NULL;
    if (stores) {
        key_reserve(k, n);
        val = k->val;
    } else {
        val = scratch = xrealloc(NULL, n);
    }
    value_fill(&w->rng, val, n);
    out_add(c, val, n);
    out_add(c, "\r\n", 2);
    free(scratch);
    c->n->cmd_set++;
    if (stores) {
        k->present = true;
        k->len = n;
        k->flags = flags;
    }
    if (noreply)
        c->n->requests++;
    else
        expect_reply(c, cmd, ki, stores ? "STORED" : "NOT_STORED");
}

static void op_pend(struct worker *w, struct conn *c, int ki, bool append)
{
    struct key *k = &c->keys[ki];
    size_t n = 1 + (size_t)rng_below(&w->rng, APPEND_MAX);
    if (k->present && k->len + n > opt_max_value) {
        op_store(w, c, ki, "set", false, opt_max_value);
        return;
    }
    const char *cmd = append ? "append" : "prepend";
    /* The flags of append and prepend are ignored: the key keeps its own. */
    history_add(c, "%s k%d %zu bytes", cmd, ki, n);
    out_fmt(c, "%s %s %" PRIu32 " 0 %zu\r\n", cmd, k->name,
            (uint32_t)rng_next(&w->rng), n);
    unsigned char piece[APPEND_MAX];
    value_fill(&w->rng, piece, n);
    out_add(c, piece, n);
    out_add(c, "\r\n", 2);
    c->n->cmd_set++;
    if (!k->present) {
        expect_reply(c, cmd, ki, "NOT_STORED");
        return;
    }
    key_reserve(k, k->len + n);
    if (append) {
        memcpy(k->val + k->len, piece, n);
    } else {
        memmove(k->val + n, k->val, k->len);
        memcpy(k->val, piece, n);
    }
    k->len += n;
    expect_reply(c, cmd, ki, "STORED");
}

static void op_delete(struct conn *c, int ki)
{
    struct key *k = &c->keys[ki];
    history_add(c, "delete k%d", ki);
    out_fmt(c, "delete %s\r\n", k->name);
    if (k->present) {
        c->n->delete_hits++;
        expect_reply(c, "delete", ki, "DELETED");
    } else {
        c->n->delete_misses++;
        expect_reply(c, "delete", ki, "NOT_FOUND");
    }
    k->present = false;
}

/* get (or gets) of the n keys from ki on, checked against the model as it
 * is when the reply arrives: nothing else in the batch touches them. */
static struct expect *op_get(struct conn *c, int ki, int n, bool gets)
{
    struct expect *ex = expect_add(c, gets ? "gets" : "get", ki);
    history_add(c, "%s k%d..k%d", gets ? "gets" : "get", ki, ki + n - 1);
    out_add(c, gets ? "gets" : "get", gets ? 4 : 3);
    for (int i = 0; i < n; i++) {
        out_fmt(c, " %s", c->keys[ki + i].name);
        ex->keys[i] = ki + i;
    }
    out_add(c, "\r\n", 2);
    ex->nkeys = n;
    ex->with_cas = gets;
    return ex;
}

/* Counters stay below 2^63: memcached (1.6.18) looks for a minus sign in a
 * larger value with strchr, past the end of the item's bytes, and calls it
 * non-numeric when a '-' follows in its memory.  So no wrap-around test. */
#define COUNTER_LIMIT ((uint64_t)INT64_MAX)

static void op_counter_set(struct worker *w, struct conn *c, int ki)
{
    struct key *k = &c->keys[ki];
    /* Small numbers, or 19-digit ones that decr shortens. */
    uint64_t v = rng_below(&w->rng, 2) ? rng_below(&w->rng, 1000)
                                       : COUNTER_LIMIT - rng_below(&w->rng, 1000);
    char text[24];
    int n = snprintf(text, sizeof text, "%" PRIu64, v);
    k->flags = (uint32_t)rng_next(&w->rng);
    history_add(c, "set k%d %s", ki, text);
    out_fmt(c, "set %s %" PRIu32 " 0 %d\r\n%s\r\n", k->name, k->flags, n,
            text);
    k->present = true;
    k->count = v;
    k->maxlen = (size_t)n;
    c->n->cmd_set++;
    expect_reply(c, "set", ki, "STORED");
}

/* incr or decr by a random delta (decr stops at 0), the counter kept at
 * most COUNTER_LIMIT. */
static void op_counter_add(struct worker *w, struct conn *c, int ki,
                           bool incr)
{
    struct key *k = &c->keys[ki];
    uint64_t d = rng_below(&w->rng, 4) ? rng_below(&w->rng, 100000)
                                       : rng_below(&w->rng, COUNTER_LIMIT);
    if (incr && k->present && d > COUNTER_LIMIT - k->count)
        d = COUNTER_LIMIT - k->count;
    const char *cmd = incr ? "incr" : "decr";
    history_add(c, "%s k%d %" PRIu64, cmd, ki, d);
    out_fmt(c, "%s %s %" PRIu64 "\r\n", cmd, k->name, d);
    if (!k->present) {
        if (incr)
            c->n->incr_misses++;
        else
            c->n->decr_misses++;
        expect_reply(c, cmd, ki, "NOT_FOUND");
        return;
    }
    if (incr) {
        c->n->incr_hits++;
        k->count += d;
    } else {
        c->n->decr_hits++;
        k->count = k->count < d ? 0 : k->count - d;
    }
    char text[24];
    size_t n = (size_t)snprintf(text, sizeof text, "%" PRIu64, k->count);
    if (n > k->maxlen)
        k->maxlen = n;
    expect_reply(c, cmd, ki, text);
}

/* One command on key ki, added to the batch. */
static void op_one(struct worker *w, struct conn *c, int ki)
{
    uint64_t r = rng_below(&w->rng, 100);
    if (c->keys[ki].counter) {
        if (r < 35)
            op_counter_add(w, c, ki, true);
        else if (r < 55)
            op_counter_add(w, c, ki, false);
        else if (r < 75)
            op_get(c, ki, 1, false);
        else if (r < 90)
            op_counter_set(w, c, ki);
        else
            op_delete(c, ki);
        return;
    }
    if (r < 30)
        op_store(w, c, ki, "set", r < 4, opt_max_value);
    else if (r < 55)
        op_get(c, ki, 1, false);
    else if (r < 65)
        op_delete(c, ki);
    else if (r < 73)
        op_store(w, c, ki, "add", false, opt_max_value);
    else if (r < 81)
        op_store(w, c, ki, "replace", false, opt_max_value);
    else if (r < 89)
        op_pend(w, c, ki, true);
    else if (r < 97)
        op_pend(w, c, ki, false);
    else
        op_get(c, ki, 1, true);
}

/* gets, then cas with the unique it returned (STORED), then the same cas
 * again (EXISTS: the first changed the unique); NOT_FOUND for a miss. */
static void op_cas(struct worker *w, struct conn *c, int ki)
{
    struct key *k = &c->keys[ki];
    struct expect *ex = op_get(c, ki, 1, true);
    conn_round(c);
    bool hit = k->present;
    uint64_t cas = hit ? ex->cas : 1 + rng_below(&w->rng, 1000000);
    for (int i = 0; i < 2; i++) {
        size_t n = value_size(&w->rng, opt_max_value);
        uint32_t flags = (uint32_t)rng_next(&w->rng);
        history_add(c, "cas k%d %zu bytes %" PRIu64, ki, n, cas);
        out_fmt(c, "cas %s %" PRIu32 " 0 %zu %" PRIu64 "\r\n", k->name,
                flags, n, cas);
        unsigned char *val = NULL;
        if (hit && i == 0) {
            key_reserve(k, n);
            val = k->val;
        } else {
            val = xrealloc(NULL, n);
        }
        value_fill(&w->rng, val, n);
        out_add(c, val, n);
        out_add(c, "\r\n", 2);
        c->n->cmd_set++;
        if (!hit) {
            c->n->cas_misses++;
            expect_reply(c, "cas", ki, "NOT_FOUND");
        } else if (i == 0) {
            c->n->cas_hits++;
            k->len = n;
            k->flags = flags;
            expect_reply(c, "cas", ki, "STORED");
        } else {
            c->n->cas_badval++;
            expect_reply(c, "cas", ki, "EXISTS");
        }
        if (val != k->val)
            free(val);
    }
    conn_round(c);
}

/* ------------------------------------------------------------- threads */

static int connect_server(void)
{
    int fd = socket(server->ai_family, SOCK_STREAM | SOCK_CLOEXEC,
                    server->ai_protocol);
    if (fd < 0)
        return -1;
    if (connect(fd, server->ai_addr, server->ai_addrlen) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

/* Key ki of a connection: "t<thread>.c<conn>.k<ki>." (unique: no other
 * dot follows) padded with letters to a length of KEY_MIN to KEY_MAX. */
static void key_init(struct conn *c, int ki)
{
    struct key *k = &c->keys[ki];
    int n = snprintf(k->name, sizeof k->name, "t%d.c%d.k%d.", c->thread,
                     c->index, ki);
    size_t len = KEY_MIN + (size_t)(ki * 53 + c->index * 7 + c->thread * 11) %
                               (KEY_MAX - KEY_MIN + 1);
    for (size_t i = (size_t)n; i < len; i++)
        k->name[i] = (char)('a' + (i * 7 + (size_t)ki) % 26);
    k->nlen = len > (size_t)n ? len : (size_t)n;
    k->name[k->nlen] = '\0';
    k->counter = ki % COUNTER_EVERY == COUNTER_EVERY - 1;
}

static void conn_open(struct worker *w, struct conn *c, int index)
{
    c->thread = w->id;
    c->index = index;
    c->n = &w->n;
    c->keys = xrealloc(NULL, sizeof *c->keys * (size_t)opt_keys);
    memset(c->keys, 0, sizeof *c->keys * (size_t)opt_keys);
    for (int ki = 0; ki < opt_keys; ki++)
        key_init(c, ki);
    c->out_cap = IN_BUF_MIN;
    c->out = xrealloc(NULL, c->out_cap);
    c->in_cap = IN_BUF_MIN;
    c->in = xrealloc(NULL, c->in_cap);
    c->fd = connect_server();
    if (c->fd < 0)
        fail(c, "connect: %s", strerror(errno));
    int fl = fcntl(c->fd, F_GETFL);
    if (fl < 0 || fcntl(c->fd, F_SETFL, fl | O_NONBLOCK) < 0)
        fail(c, "fcntl: %s", strerror(errno));
}

static void conn_close(struct conn *c)
{
    close(c->fd);
    for (int ki = 0; ki < opt_keys; ki++)
        free(c->keys[ki].val);
    free(c->keys);
    free(c->out);
    free(c->in);
}

/* Every key set, four to a batch, with values of at most 2 KiB: the
 * hash table grows past its initial size without a large footprint. */
static void phase_fill(struct worker *w, struct conn *c)
{
    for (int ki = 0; ki < opt_keys; ki++) {
        if (c->keys[ki].counter)
            op_counter_set(w, c, ki);
        else
            op_store(w, c, ki, "set", false, 2048);
        if (c->nex == BATCH_MAX || ki == opt_keys - 1)
            conn_round(c);
    }
}

static void phase_step(struct worker *w, struct conn *c)
{
    uint64_t r = rng_below(&w->rng, 100);
    if (r < 8) {
        int n = 1 + (int)rng_below(&w->rng, MULTIGET_MAX);
        op_get(c, (int)rng_below(&w->rng, (uint64_t)(opt_keys - n + 1)), n,
               false);
        conn_round(c);
        return;
    }
    if (r < 14) {
        int ki = (int)rng_below(&w->rng, (uint64_t)opt_keys);
        op_cas(w, c, c->keys[ki].counter ? ki - 1 : ki);
        return;
    }
    int n = 1 + (int)rng_below(&w->rng, BATCH_MAX), chosen[BATCH_MAX];
    for (int i = 0; i < n; i++) {
        int ki;
        bool dup;
        do {
            ki = (int)rng_below(&w->rng, (uint64_t)opt_keys);
            dup = false;
            for (int j = 0; j < i; j++)
                dup |= chosen[j] == ki;
        } while (dup);
        chosen[i] = ki;
        op_one(w, c, ki);
    }
    conn_round(c);
}

/* Every key of c read back, MULTIGET_MAX to a get. */
static void phase_verify(struct conn *c)
{
    for (int ki = 0; ki < opt_keys; ki += MULTIGET_MAX) {
        int n = opt_keys - ki < MULTIGET_MAX ? opt_keys - ki : MULTIGET_MAX;
        op_get(c, ki, n, false);
        conn_round(c);
    }
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    w->conns = xrealloc(NULL, sizeof *w->conns * (size_t)opt_conns);
    memset(w->conns, 0, sizeof *w->conns * (size_t)opt_conns);
    atomic_store(&w->phase, "connecting");
    for (int i = 0; i < opt_conns; i++)
        conn_open(w, &w->conns[i], i);
    atomic_store(&w->phase, "filling");
    for (int i = 0; i < opt_conns; i++)
        phase_fill(w, &w->conns[i]);
    atomic_store(&w->phase, "waiting for the others' fill");
    pthread_barrier_wait(&filled);
    atomic_store(&w->phase, "mixed commands");
    for (int s = 0; s < opt_ops; s++) {
        phase_step(w, &w->conns[s % opt_conns]);
        atomic_store(&w->step, s + 1);
    }
    atomic_store(&w->phase, "verifying");
    for (int i = 0; i < opt_conns; i++)
        phase_verify(&w->conns[i]);
    atomic_store(&w->phase, "done");
    return NULL;
}

/* With -P: the most kernel threads the server had, and the samples. */
static long server_threads_max, server_samples;

/* The Threads: count of the server's /proc status, -1 if unreadable. */
static long server_threads(void)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/status", opt_server_pid);
    FILE *f = fopen(path, "re");
    if (f == NULL)
        return -1;
    long n = -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "Threads: %ld", &n) == 1)
            break;
    fclose(f);
    return n;
}

/* Samples the server's threads every 10 ms (-P), and ends the run after
 * opt_timeout_s, saying where each thread is. */
static void *watchdog_main(void *arg)
{
    int64_t deadline = now_ns() + (int64_t)opt_timeout_s * 1000000000;
    while (!atomic_load(&all_done)) {
        if (opt_server_pid > 0) {
            long n = server_threads();
            if (n > server_threads_max)
                server_threads_max = n;
            server_samples += n >= 0;
        }
        if (now_ns() > deadline) {
            pthread_mutex_lock(&fail_mu);
            fprintf(stderr, "%s: FAIL: watchdog: not done after %d s "
                    "(seed %" PRIu64 ")\n", me, opt_timeout_s, opt_seed);
            for (int t = 0; t < opt_threads; t++)
                fprintf(stderr, "  thread %d: %s, step %d of %d\n", t,
                        atomic_load(&workers[t].phase),
                        atomic_load(&workers[t].step), opt_ops);
            fflush(stderr);
            _exit(1);
        }
        struct timespec ts = { 0, 10 * 1000000 };
        nanosleep(&ts, NULL);
    }
    return arg;
}

/* ----------------------------------------------------------- the stats */

struct stat_check {
    const char *name;
    uint64_t want;
    bool seen;
};

/* The server's counters must equal the client's: each request executed
 * once, none lost or repeated.  Prints the hash table's final size. */
static void check_stats(const struct counts *n, uint64_t items)
{
    struct stat_check st[] = {
        { "cmd_get", n->cmd_get, false },
        { "get_hits", n->get_hits, false },
        { "get_misses", n->get_misses, false },
        { "cmd_set", n->cmd_set, false },
        { "delete_hits", n->delete_hits, false },
        { "delete_misses", n->delete_misses, false },
        { "incr_hits", n->incr_hits, false },
        { "incr_misses", n->incr_misses, false },
        { "decr_hits", n->decr_hits, false },
        { "decr_misses", n->decr_misses, false },
        { "cas_hits", n->cas_hits, false },
        { "cas_misses", n->cas_misses, false },
        { "cas_badval", n->cas_badval, false },
        { "curr_items", items, false },
        { "evictions", 0, false },
    };
    size_t nst = sizeof st / sizeof st[0];
    struct counts scratch = { 0 };
    struct conn c = { .thread = -1, .index = 0, .n = &scratch };
    c.in_cap = IN_BUF_MIN;
    c.in = xrealloc(NULL, c.in_cap);
    c.fd = connect_server();
    if (c.fd < 0)
        fail(&c, "connect for stats: %s", strerror(errno));
    int fl = fcntl(c.fd, F_GETFL);
    if (fl < 0 || fcntl(c.fd, F_SETFL, fl | O_NONBLOCK) < 0)
        fail(&c, "fcntl: %s", strerror(errno));
    c.out = (char *)"stats\r\n";
    c.out_len = 7;
    conn_flush(&c);
    bool bad = false;
    char power[64] = "?";
    for (;;) {
        size_t len;
        const char *line = conn_line(&c, &len);
        if (len == 3 && memcmp(line, "END", 3) == 0)
            break;
        char name[64], value[64];
        char text[LINE_MAX_BYTES];
        snprintf(text, sizeof text, "%.*s", (int)len, line);
        if (sscanf(text, "STAT %63s %63s", name, value) != 2) {
            show("got", line, len, 200);
            fail(&c, "not a STAT line");
        }
        if (strcmp(name, "hash_power_level") == 0)
            snprintf(power, sizeof power, "%s", value);
        for (size_t i = 0; i < nst; i++) {
            if (strcmp(name, st[i].name) != 0)
                continue;
            st[i].seen = true;
            uint64_t got = strtoull(value, NULL, 10);
            if (got != st[i].want) {
                fprintf(stderr, "%s: stats: %s is %" PRIu64 ", the client "
                        "counted %" PRIu64 "\n", me, name, got, st[i].want);
                bad = true;
            }
        }
    }
    for (size_t i = 0; i < nst; i++) {
        if (!st[i].seen) {
            fprintf(stderr, "%s: stats: no %s\n", me, st[i].name);
            bad = true;
        }
    }
    if (bad)
        fail(NULL, "the server's stats disagree with the requests sent");
    close(c.fd);
    free(c.in);
    printf("%s: the server's stats agree: cmd_get %" PRIu64 ", cmd_set %"
           PRIu64 ", delete %" PRIu64 ", incr %" PRIu64 ", decr %" PRIu64
           ", cas %" PRIu64 ", curr_items %" PRIu64
           "; hash_power_level %s\n", me, n->cmd_get, n->cmd_set,
           n->delete_hits + n->delete_misses, n->incr_hits + n->incr_misses,
           n->decr_hits + n->decr_misses,
           n->cas_hits + n->cas_misses + n->cas_badval, items, power);
}

/* ------------------------------------------------------------------ main */

static void usage(void)
{
    fprintf(stderr,
            "usage: %s [-S] [-P PID] [-t THREADS] [-c CONNS] [-k KEYS] [-n OPS]\n"
            "         [-s MAX_VALUE] [-r SEED] [-T SECONDS] HOST PORT\n"
            "       %s --ping HOST PORT\n"
            "       %s --free-port\n", me, me, me);
    exit(2);
}

static long number(const char *s, long lo, long hi)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
        fprintf(stderr, "%s: '%s': not a number in [%ld, %ld]\n", me, s, lo,
                hi);
        exit(2);
    }
    return v;
}

static void resolve(const char *host, const char *port)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC,
                              .ai_socktype = SOCK_STREAM };
    int e = getaddrinfo(host, port, &hints, &server);
    if (e != 0) {
        fprintf(stderr, "%s: %s port %s: %s\n", me, host, port,
                gai_strerror(e));
        exit(2);
    }
}

/* A port of 127.0.0.1 nothing listens on now (the kernel's choice). */
static int free_port(void)
{
    struct sockaddr_in sin = { .sin_family = AF_INET,
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof sin;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof sin) != 0 ||
        getsockname(fd, (struct sockaddr *)&sin, &len) != 0) {
        fprintf(stderr, "%s: no free port: %s\n", me, strerror(errno));
        return 2;
    }
    printf("%d\n", ntohs(sin.sin_port));
    close(fd);
    return 0;
}

/* 0 if the server answers "version" within IO_TIMEOUT_S; 1 if it does not
 * accept connections (yet). */
static int ping(void)
{
    int fd = connect_server();
    if (fd < 0)
        return 1;
    struct timeval tv = { IO_TIMEOUT_S, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[256];
    size_t len = 0;
    if (send(fd, "version\r\n", 9, MSG_NOSIGNAL) != 9)
        return 1;
    while (len < sizeof buf && (len < 2 || memcmp(buf + len - 2, "\r\n", 2))) {
        ssize_t n = recv(fd, buf + len, sizeof buf - len, 0);
        if (n <= 0)
            return 1;
        len += (size_t)n;
    }
    close(fd);
    return len > 8 && memcmp(buf, "VERSION ", 8) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--free-port") == 0)
        return free_port();
    if (argc == 4 && strcmp(argv[1], "--ping") == 0) {
        resolve(argv[2], argv[3]);
        return ping();
    }
    opt_seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    int opt;
    while ((opt = getopt(argc, argv, "SP:t:c:k:n:s:r:T:")) != -1) {
        switch (opt) {
        case 'S': opt_stats = true; break;
        case 'P': opt_server_pid = number(optarg, 1, LONG_MAX); break;
        case 't': opt_threads = (int)number(optarg, 1, 10000); break;
        case 'c': opt_conns = (int)number(optarg, 1, 1000); break;
        case 'k': opt_keys = (int)number(optarg, MULTIGET_MAX, 100000); break;
        case 'n': opt_ops = (int)number(optarg, 0, 100000000); break;
        case 's': opt_max_value = (size_t)number(optarg, 64, 1000000); break;
        case 'r': opt_seed = (uint64_t)number(optarg, 0, LONG_MAX); break;
        case 'T': opt_timeout_s = (int)number(optarg, 1, 86400); break;
        default: usage();
        }
    }
    if (argc - optind != 2)
        usage();
    resolve(argv[optind], argv[optind + 1]);
    if (ping() != 0) {
        fprintf(stderr, "%s: %s port %s does not answer\n", me, argv[optind],
                argv[optind + 1]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);

    workers = xrealloc(NULL, sizeof *workers * (size_t)opt_threads);
    memset(workers, 0, sizeof *workers * (size_t)opt_threads);
    pthread_barrier_init(&filled, NULL, (unsigned)opt_threads);
    pthread_t watchdog;
    if (pthread_create(&watchdog, NULL, watchdog_main, NULL) != 0)
        fail(NULL, "pthread_create failed");
    int64_t start = now_ns();
    for (int t = 0; t < opt_threads; t++) {
        struct worker *w = &workers[t];
        w->id = t;
        w->rng = splitmix64(opt_seed + (uint64_t)t) | 1;
        atomic_store(&w->phase, "starting");
        if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
            fail(NULL, "pthread_create failed");
    }
    struct counts sum = { 0 };
    uint64_t items = 0;
    for (int t = 0; t < opt_threads; t++) {
        struct worker *w = &workers[t];
        pthread_join(w->thread, NULL);
        uint64_t *s = (uint64_t *)&sum, *p = (uint64_t *)&w->n;
        for (size_t i = 0; i < sizeof sum / sizeof(uint64_t); i++)
            s[i] += p[i];
        for (int i = 0; i < opt_conns; i++) {
            for (int ki = 0; ki < opt_keys; ki++)
                items += w->conns[i].keys[ki].present;
            conn_close(&w->conns[i]);
        }
        free(w->conns);
    }
    double secs = (double)(now_ns() - start) / 1e9;
    printf("%s: %d threads x %d connections x %d keys: %" PRIu64
           " requests, %.1f MB sent, %.1f MB received, every reply "
           "checked, %.2f s (seed %" PRIu64 ")\n", me, opt_threads,
           opt_conns, opt_keys, sum.requests, (double)sum.bytes_out / 1e6,
           (double)sum.bytes_in / 1e6, secs, opt_seed);
    if (opt_stats)
        check_stats(&sum, items);
    atomic_store(&all_done, true);
    pthread_join(watchdog, NULL);
    if (opt_server_pid > 0)
        printf("%s: server pid %ld: at most %ld kernel threads in %ld "
               "samples\n", me, opt_server_pid, server_threads_max,
               server_samples);
    freeaddrinfo(server);
    return 0;
}
