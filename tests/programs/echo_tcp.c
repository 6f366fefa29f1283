/* A thread-per-connection TCP echo server on 127.0.0.1 (an ephemeral port)
 * with 10,000 client connections of the same program open at once: one
 * acceptor thread starts a server thread per accepted connection; each
 * client thread connects (blocking), waits until every connection is open,
 * then sends 5 messages and checks each echo byte for byte, half-closes and
 * reads EOF. While all are open the process may have at most
 * GOSHIM_TEST_MAX_THREADS+1 kernel threads. See echo.h for the checks.
 *
 * Needs 20,000 file descriptors (see echo_fit_nofile in echo.h) and
 * 10,000 ephemeral ports of net.ipv4.ip_local_port_range. Clients close
 * first, so their ports stay in TIME_WAIT for a minute; connect reuses them
 * towards another server port (each run has its own), so back-to-back runs
 * do not run out. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "echo.h"

/* A listener on 127.0.0.1, its address (with the port the kernel chose)
 * in echo_addr. */
static int tcp_listener(void)
{
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin.sin_port = 0;
    int fd = (int)ECHO_SYS(socket(AF_INET, SOCK_STREAM, 0));
    ECHO_SYS(bind(fd, (const struct sockaddr *)&sin, sizeof sin));
    echo_addrlen = sizeof echo_addr;
    ECHO_SYS(getsockname(fd, (struct sockaddr *)&echo_addr, &echo_addrlen));
    CHECK(echo_addr.ss_family == AF_INET && echo_addrlen == sizeof sin);
    return fd;
}

int main(void)
{
    echo_start("echo_tcp", 2);
    echo_sock_open_all(tcp_listener());
    echo_exchange_and_check();
    return 0;
}
