/* echo_tcp over AF_UNIX stream sockets: a listener bound to a path in
 * $TMPDIR (else /tmp) made unique by the pid, 10,000 client connections of
 * the same program open at once, one server thread per accepted
 * connection, 5 messages per client checked byte for byte, half-close and
 * EOF. While all are open the process may have at most
 * GOSHIM_TEST_MAX_THREADS+1 kernel threads. See echo.h for the checks.
 *
 * The path is unlinked as soon as every client has connected (the
 * connections do not need it), so only a run that dies while connecting
 * leaves it behind.
 *
 * A unix listener's backlog is capped by net.core.somaxconn. With the
 * backlog full, a blocking connect blocks until the acceptor takes a
 * connection, while a non-blocking one fails with EAGAIN (not EINPROGRESS,
 * and no poll event says when to retry): a runtime that makes fds
 * non-blocking behind a blocking connect must not let that EAGAIN through.
 * Here main creates at most ECHO_WINDOW clients ahead of the acceptor, so
 * the backlog does not fill and that case is not exercised. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sys/socket.h>
#include <sys/un.h>

#include "echo.h"

/* A listener bound to path, its address in echo_addr. */
static int unix_listener(const char *path)
{
    struct sockaddr_un sun;
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    CHECK(strlen(path) < sizeof sun.sun_path);
    strcpy(sun.sun_path, path);
    /* A file left by a dead run whose pid this one reuses. */
    if (unlink(path) != 0)
        CHECK(errno_now() == ENOENT);
    int fd = (int)ECHO_SYS(socket(AF_UNIX, SOCK_STREAM, 0));
    ECHO_SYS(bind(fd, (const struct sockaddr *)&sun, sizeof sun));
    memcpy(&echo_addr, &sun, sizeof sun);
    echo_addrlen = sizeof sun;
    return fd;
}

int main(void)
{
    char path[sizeof ((struct sockaddr_un *)0)->sun_path];
    const char *dir = getenv("TMPDIR");
    if (dir == NULL || *dir == '\0')
        dir = "/tmp";
    int n = snprintf(path, sizeof path, "%s/goshim-echo_unix.%ld", dir,
                     (long)getpid());
    CHECK(n > 0 && (size_t)n < sizeof path);

    echo_start("echo_unix", 2);
    echo_sock_open_all(unix_listener(path));
    ECHO_SYS(unlink(path));
    echo_exchange_and_check();
    return 0;
}
