/* echo_tcp over pipes: 10,000 "connections", each a pipe from client to
 * server and one back, created by main with a server thread and a client
 * thread per connection, all open at once. Each client sends 5 messages
 * and checks each echo byte for byte, then closes its write end and must
 * read EOF: the server saw EOF and closed its ends. While all are open the
 * process may have at most GOSHIM_TEST_MAX_THREADS+1 kernel threads. See
 * echo.h for the checks.
 *
 * Needs 40,000 file descriptors (see echo_fit_nofile in echo.h). 20,000
 * pipes exceed fs.pipe-user-pages-soft for an unprivileged user, so most
 * get a buffer of a page or two: still far more than one message (at most
 * 64 bytes, under PIPE_BUF, so each write is whole). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "echo.h"

struct pipe_conn {
    int c2s[2]; /* client to server: [0] read by the server */
    int s2c[2]; /* server to client: [0] read by the client */
    int id;
};

static struct pipe_conn conns[ECHO_CONNS];

static void *pipe_server(void *arg)
{
    struct pipe_conn *c = arg;
    echo_serve(c->c2s[0], c->s2c[1]);
    return NULL;
}

static void *pipe_client(void *arg)
{
    struct pipe_conn *c = arg;
    echo_client(c->id, c->s2c[0], c->c2s[1]);
    return NULL;
}

int main(void)
{
    echo_start("echo_pipe", 4);
    for (int i = 0; i < echo_conns; i++) {
        struct pipe_conn *c = &conns[i];
        c->id = i;
        ECHO_SYS(pipe(c->c2s));
        ECHO_SYS(pipe(c->s2c));
        echo_spawn_server(i, pipe_server, c);
        echo_spawn_client(i, pipe_client, c);
    }
    echo_wait_all_open();
    echo_exchange_and_check();
    return 0;
}
