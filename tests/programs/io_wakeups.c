/* No wake-up is lost between a reader that finds an fd empty and the
 * write that fills it a moment later: two threads hand one byte back and
 * forth, each blocking in read until the other's write, over a pair of
 * pipes, a socketpair and a TCP loopback connection, for 2 s each.  A
 * runtime that parks readers on a poller must not miss the readiness that
 * comes between the reader's EAGAIN and its park; one that missed it and
 * recovered by a periodic check would show a hop of a second or more.
 * Every hop must take under 900 ms (natively microseconds), and each
 * transport must make at least 1000 hops. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/socket.h>

#include "check.h"

#define RUN_MS 2000
#define MAX_HOP_MS 900
#define MIN_HOPS 1000

struct game {
    int rd[2], wr[2];  /* player p reads rd[p], writes wr[p] */
    _Atomic bool stop;
    long hops[2];
    int64_t worst_ns[2];
};

struct seat {
    struct game *g;
    int me;
};

static void *play(void *arg)
{
    struct seat *s = arg;
    struct game *g = s->g;
    int me = s->me;
    char c = 'x';
    if (me == 0)
        CHECK(write(g->wr[0], &c, 1) == 1);
    int64_t last = now_ns();
    for (;;) {
        ssize_t n = read(g->rd[me], &c, 1);
        if (n == 0 || c == 'q')
            break;
        CHECK(n == 1);
        int64_t now = now_ns();
        if (now - last > g->worst_ns[me])
            g->worst_ns[me] = now - last;
        last = now;
        g->hops[me]++;
        c = atomic_load(&g->stop) ? 'q' : 'x';
        CHECK(write(g->wr[me], &c, 1) == 1);
        if (c == 'q')
            break;
    }
    return NULL;
}

static void run(const char *what, struct game *g)
{
    atomic_store(&g->stop, false);
    g->hops[0] = g->hops[1] = 0;
    g->worst_ns[0] = g->worst_ns[1] = 0;
    struct seat seats[2] = { { g, 0 }, { g, 1 } };
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        CHECK_RC(pthread_create(&th[i], NULL, play, &seats[i]), 0);
    sleep_ms(RUN_MS);
    atomic_store(&g->stop, true);
    for (int i = 0; i < 2; i++)
        CHECK_RC(pthread_join(th[i], NULL), 0);
    int64_t worst = g->worst_ns[0] > g->worst_ns[1] ? g->worst_ns[0] : g->worst_ns[1];
    if (worst / NSEC_PER_MSEC >= MAX_HOP_MS || g->hops[0] + g->hops[1] < MIN_HOPS) {
        fprintf(stderr, "io_wakeups: %s: %ld hops, the longest %lld ms\n", what,
                g->hops[0] + g->hops[1], (long long)(worst / NSEC_PER_MSEC));
        abort();
    }
}

int main(void)
{
    struct game g;

    /* Pipes: player 0 writes into a, player 1 reads it, and back by b. */
    int a[2], b[2];
    CHECK(pipe(a) == 0 && pipe(b) == 0);
    g.wr[0] = a[1];
    g.rd[1] = a[0];
    g.wr[1] = b[1];
    g.rd[0] = b[0];
    run("pipes", &g);
    CHECK(close(a[0]) == 0 && close(a[1]) == 0 && close(b[0]) == 0 && close(b[1]) == 0);

    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    g.rd[0] = g.wr[0] = sv[0];
    g.rd[1] = g.wr[1] = sv[1];
    run("socketpair", &g);
    CHECK(close(sv[0]) == 0 && close(sv[1]) == 0);

    int l = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(l >= 0);
    struct sockaddr_in addr = { .sin_family = AF_INET };
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(bind(l, (struct sockaddr *)&addr, sizeof addr) == 0);
    socklen_t len = sizeof addr;
    CHECK(getsockname(l, (struct sockaddr *)&addr, &len) == 0);
    CHECK(listen(l, 1) == 0);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(c >= 0);
    CHECK(connect(c, (struct sockaddr *)&addr, sizeof addr) == 0);
    int s = accept(l, NULL, NULL);
    CHECK(s >= 0);
    int one = 1;
    CHECK(setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0);
    CHECK(setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0);
    g.rd[0] = g.wr[0] = c;
    g.rd[1] = g.wr[1] = s;
    run("TCP", &g);
    CHECK(close(c) == 0 && close(s) == 0 && close(l) == 0);
    check_thread_limit();
    return 0;
}
