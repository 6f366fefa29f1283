/*
 * echo — a thread-per-connection TCP echo server on 127.0.0.1 and its
 * clients, in one process, every connection busy at once.
 *
 *   echo [CONNS [MSGS]]
 *
 * An acceptor thread starts one server thread per connection, which echoes
 * what it reads until EOF.  CONNS client threads (default 1000) connect and
 * wait until every connection is open; then each makes MSGS round trips
 * (default 100): write a MSG_BYTES message, read the whole echo, check it.
 * A sampler thread follows the kernel thread count during the exchange.
 * Prints one line:
 *   RESULT name=echo conns=... msgs=... bytes=... open_ms=... total_ns=...
 *          wall_ms=... rtt_ms=... per_op_ns=... max_threads=... maxrss_kib=...
 * total_ns/wall_ms: the exchange, from opening the gate to the last checked
 * echo; rtt_ms = wall / MSGS, the round trip one connection sees while all
 * are busy; per_op_ns = wall / (CONNS × MSGS), the aggregate time per round
 * trip (one over the throughput); open_ms: connecting every client.
 *
 * Needs 2 × CONNS file descriptors and a few: RLIMIT_NOFILE's soft limit is
 * raised to the hard one when it is lower.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "procstat.h"

static const char usage[] = "usage: echo [CONNS [MSGS]]\n";

#define MSG_BYTES 64
/* stdio, the listener, the sampler's /proc/self/status. */
#define SPARE_FDS 16
/* Clients connecting ahead of the acceptor, at most: fewer than any
 * somaxconn (128 before Linux 5.4), as a full accept queue drops SYNs and
 * the client resends only after a second. */
#define CONNECT_WINDOW 64
/* 2,000 threads with glibc's 8 MiB default would be 16 GiB of address
 * space; the Go twin's goroutines start with 8 KiB. */
#define STACK_BYTES (64 * 1024)

static long conns, msgs;
static struct sockaddr_in addr; /* the listener's, port chosen by the kernel */
static pthread_attr_t attr;
static pthread_t *clients, *servers;
static int64_t *done_ns; /* client i's last checked echo: its own slot */

/* Set-up and the gate. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t progress = PTHREAD_COND_INITIALIZER; /* main waits */
static pthread_cond_t gate = PTHREAD_COND_INITIALIZER;     /* clients wait */
static long accepted, connected; /* mu */
static int gate_open;            /* mu */

static void die(const char *what)
{
	fprintf(stderr, "echo: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void spawn(pthread_t *t, void *(*fn)(void *), void *arg)
{
	int err = pthread_create(t, &attr, fn, arg);

	if (err) {
		fprintf(stderr, "echo: pthread_create: %s\n", strerror(err));
		exit(1);
	}
}

/* Go's net package sets TCP_NODELAY on every TCP connection: so does this
 * program, so that both send the same segments. */
static void set_nodelay(int fd)
{
	int one = 1;

	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
		die("setsockopt TCP_NODELAY");
}

static void write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0)
			die("write");
		buf += n;
		len -= (size_t)n;
	}
}

/* The echo of one message may come in pieces. */
static void read_full(int fd, char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = read(fd, buf, len);
		if (n < 0)
			die("read");
		if (n == 0) {
			fputs("echo: EOF before the whole echo\n", stderr);
			exit(1);
		}
		buf += n;
		len -= (size_t)n;
	}
}

/* Message seq of client id: distinct in the whole run, so that an echo
 * that went to the wrong connection fails the check. */
static void make_message(long id, long seq, char *msg)
{
	int n = snprintf(msg, MSG_BYTES, "client %ld message %ld:", id, seq);

	for (size_t i = (size_t)n; i < MSG_BYTES; i++)
		msg[i] = (char)('a' + ((size_t)id + (size_t)seq + i) % 26);
}

static void *server(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[4096];
	ssize_t n;

	while ((n = read(fd, buf, sizeof buf)) > 0)
		write_all(fd, buf, (size_t)n);
	if (n < 0)
		die("server read");
	close(fd);
	return NULL;
}

static void *acceptor(void *arg)
{
	int lfd = (int)(intptr_t)arg;

	for (long i = 0; i < conns; i++) {
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			die("accept");
		set_nodelay(fd);
		spawn(&servers[i], server, (void *)(intptr_t)fd);
		pthread_mutex_lock(&mu);
		accepted++;
		pthread_cond_signal(&progress);
		pthread_mutex_unlock(&mu);
	}
	return NULL;
}

static void *client(void *arg)
{
	long id = (long)(intptr_t)arg;
	char msg[MSG_BYTES], reply[MSG_BYTES];
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		die("socket");
	if (connect(fd, (const struct sockaddr *)&addr, sizeof addr) != 0)
		die("connect");
	set_nodelay(fd);

	pthread_mutex_lock(&mu);
	if (++connected == conns)
		pthread_cond_signal(&progress);
	while (!gate_open)
		pthread_cond_wait(&gate, &mu);
	pthread_mutex_unlock(&mu);

	for (long seq = 0; seq < msgs; seq++) {
		make_message(id, seq, msg);
		write_all(fd, msg, sizeof msg);
		read_full(fd, reply, sizeof reply);
		if (memcmp(msg, reply, sizeof msg) != 0) {
			fprintf(stderr, "echo: client %ld: echo %ld differs\n", id, seq);
			exit(1);
		}
	}
	done_ns[id] = now_ns();

	/* The server sees EOF and closes: nothing more may come. */
	if (shutdown(fd, SHUT_WR) != 0)
		die("shutdown");
	if (read(fd, reply, sizeof reply) != 0) {
		fprintf(stderr, "echo: client %ld: no EOF after the last echo\n", id);
		exit(1);
	}
	close(fd);
	return NULL;
}

/* The soft limit up to the hard one if CONNS would not fit under it. */
static void fit_nofile(void)
{
	rlim_t need = (rlim_t)conns * 2 + SPARE_FDS;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		die("getrlimit");
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= need)
		return;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need) {
		fprintf(stderr, "echo: %ld connections need %llu open files, RLIMIT_NOFILE's hard limit is %llu\n",
			conns, (unsigned long long)need, (unsigned long long)rl.rlim_max);
		exit(1);
	}
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		die("setrlimit");
}

static int listener(void)
{
	socklen_t len = sizeof addr;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		die("socket");
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.sin_port = 0;
	if (bind(fd, (const struct sockaddr *)&addr, sizeof addr) != 0)
		die("bind");
	if (getsockname(fd, (struct sockaddr *)&addr, &len) != 0)
		die("getsockname");
	if (listen(fd, SOMAXCONN) != 0)
		die("listen");
	return fd;
}

int main(int argc, char **argv)
{
	conns = 1000;
	msgs = 100;
	if (argc > 3 || (argc > 1 && strcmp(argv[1], "-h") == 0)) {
		fputs(usage, stderr);
		return 2;
	}
	if (argc > 1)
		conns = parse_count(argv[1], "CONNS", usage);
	if (argc > 2)
		msgs = parse_count(argv[2], "MSGS", usage);

	fit_nofile();
	/* A write to a closed peer shows as EPIPE in a message, not a silent
	 * death. */
	signal(SIGPIPE, SIG_IGN);
	clients = calloc((size_t)conns, sizeof *clients);
	servers = calloc((size_t)conns, sizeof *servers);
	done_ns = calloc((size_t)conns, sizeof *done_ns);
	if (!clients || !servers || !done_ns)
		die("calloc");
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, STACK_BYTES);

	int lfd = listener();
	pthread_t acceptor_thread;
	int64_t t_open = now_ns();
	spawn(&acceptor_thread, acceptor, (void *)(intptr_t)lfd);
	for (long i = 0; i < conns; i++) {
		pthread_mutex_lock(&mu);
		while (i - accepted >= CONNECT_WINDOW)
			pthread_cond_wait(&progress, &mu);
		pthread_mutex_unlock(&mu);
		spawn(&clients[i], client, (void *)(intptr_t)i);
	}
	pthread_mutex_lock(&mu);
	while (connected < conns || accepted < conns)
		pthread_cond_wait(&progress, &mu);
	pthread_mutex_unlock(&mu);
	int64_t opened = now_ns() - t_open;
	pthread_join(acceptor_thread, NULL);
	close(lfd);

	int err = start_sampling();
	if (err) {
		fprintf(stderr, "echo: pthread_create: %s\n", strerror(err));
		return 1;
	}
	int64_t t0 = now_ns();
	pthread_mutex_lock(&mu);
	gate_open = 1;
	pthread_cond_broadcast(&gate);
	pthread_mutex_unlock(&mu);
	for (long i = 0; i < conns; i++)
		pthread_join(clients[i], NULL);
	stop_sampling();
	for (long i = 0; i < conns; i++)
		pthread_join(servers[i], NULL);

	int64_t end = t0;
	for (long i = 0; i < conns; i++)
		if (done_ns[i] > end)
			end = done_ns[i];
	int64_t total = end - t0;

	printf("RESULT name=echo conns=%ld msgs=%ld bytes=%d open_ms=%.1f total_ns=%lld wall_ms=%.1f rtt_ms=%.3f per_op_ns=%.1f max_threads=%ld maxrss_kib=%ld\n",
	       conns, msgs, MSG_BYTES, opened / 1e6, (long long)total, total / 1e6,
	       (double)total / (double)msgs / 1e6,
	       (double)total / ((double)conns * (double)msgs), max_threads,
	       maxrss_kib());
	return 0;
}
