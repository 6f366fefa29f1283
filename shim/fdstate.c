/*
 * fdstate.c — what goshim remembers of an fd between calls: whether the
 * program's file is blocking, and its socket timeouts, so that a blocking
 * read or write that must wait asks the kernel neither (fcntl(F_GETFL),
 * getsockopt(SO_RCVTIMEO/SO_SNDTIMEO): two system calls before every
 * park otherwise, on a server's every request).
 *
 * Those are properties of the open file description, which the program
 * may share with other fds (dup) and other processes (fork, spawn,
 * SCM_RIGHTS), and which libc's own calls may close and replace under the
 * same fd number behind the interposed names.  So goshim remembers only
 * what no one else can change unseen:
 *  - an fd is "born" when an interposed call created its description in
 *    this process (socket, socketpair, accept, pipe); fds inherited,
 *    received, or made by other calls on a number never born are never
 *    remembered;
 *  - sharing ends that: dup onto or from the fd, passing it in
 *    SCM_RIGHTS either way, closing it; and any fork or spawn (fork_epoch:
 *    a born fd counts only in the epoch it was born in);
 *  - a change the program makes through goshim (fcntl(F_SETFL),
 *    ioctl(FIONBIO), setsockopt of a timeout) drops what was remembered,
 *    to be asked again;
 *  - an fd closed and replaced where no interposed name sees it (a
 *    library's own system call stub, then a file made on the same
 *    number) is caught by the poller: a wait that goes by what was
 *    remembered fails with -ESTALE, and the fd is forgotten, when its fd
 *    has no registration (netpoll_wait), or when sysmon finds the one it
 *    waits on gone with its file (netpoll_verify, within about two
 *    seconds).
 * Not seen: a child started by vfork() or clone() that changes a
 * description it inherited without a dup in between (glibc runs no fork
 * handlers for them), and pidfd_getfd from another process.
 * Only "blocking, and no timeout for this direction" is remembered: a
 * non-blocking fd gets its EAGAIN without a wait, so nothing would check
 * its identity, and a set timeout is asked again (it is rare; a value
 * besides the word could not be changed atomically with it).
 *
 * It also records the other end of each pipe and socketpair made here, a
 * hint for waking a reader at once when the writer is in this process
 * (io.c); a stale one costs a spurious wake.
 *
 * An entry is one word (epoch, generation, bits) and the peer.  Every change bumps the
 * generation, and a caller that asked the kernel records its answer only
 * if the word is still the one it read before asking (a compare-and-swap),
 * so an answer overtaken by a change is dropped.  Lock-free: close and
 * fcntl are async-signal-safe.
 */
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "io.h"

enum {
	FDS_BORN = 1,       /* created here, in epoch w >> 32 */
	FDS_BLOCKING = 2,   /* the description is blocking */
	FDS_NORCVTIMEO = 4, /* ... and has no SO_RCVTIMEO */
	FDS_NOSNDTIMEO = 8, /* ... and has no SO_SNDTIMEO */
	FDS_GEN = 1 << 8,   /* generation unit, bits 8..31 */
};
#define FDS_GEN_MASK 0xffffff00ull
#define FDS_KNOWN (FDS_BLOCKING | FDS_NORCVTIMEO | FDS_NOSNDTIMEO)

struct fdstate {
	_Atomic uint64_t w;
	_Atomic int peer1;  /* the other end of its pipe or socketpair, + 1
			       (0: none); a hint, see fdstate_peer */
};

/* Indexed by fd, as far as netpoll's table goes (fdtab.c). */
#define FDS_CHUNK 1024
#define FDS_CHUNKS 4096
static _Atomic(void *) fds_chunks[FDS_CHUNKS];
static struct fdtab fdstab = { fds_chunks, FDS_CHUNKS, FDS_CHUNK, sizeof(struct fdstate), NULL };

static struct fdstate *fds_get(int fd, bool create)
{
	return fdtab_get(&fdstab, fd, create);
}

static uint64_t epoch_now(void)
{
	return (uint64_t)atomic_load(&fork_epoch) << 32;
}

/* Replaces the entry's bits and epoch, bumping its generation. */
static void fds_set(struct fdstate *s, uint64_t bits)
{
	uint64_t w = atomic_load(&s->w);
	uint64_t nw;
	do
		nw = (((w & FDS_GEN_MASK) + FDS_GEN) & FDS_GEN_MASK) | bits;
	while (!atomic_compare_exchange_weak(&s->w, &w, nw));
}

void fdstate_born(int fd)
{
	struct fdstate *s = fds_get(fd, true);
	if (s) {
		atomic_store(&s->peer1, 0);
		fds_set(s, epoch_now() | FDS_BORN);
	}
}

void fdstate_born_pair(const int fds[2])
{
	fdstate_born(fds[0]);
	fdstate_born(fds[1]);
	struct fdstate *a = fds_get(fds[0], false), *b = fds_get(fds[1], false);
	if (a && b) {
		atomic_store(&a->peer1, fds[1] + 1);
		atomic_store(&b->peer1, fds[0] + 1);
	}
}

void fdstate_forget(int fd)
{
	struct fdstate *s = fds_get(fd, false);
	if (s) {
		atomic_store(&s->peer1, 0);
		fds_set(s, 0);
	}
}

void fdstate_changed(int fd)
{
	struct fdstate *s = fds_get(fd, false);
	if (!s)
		return;
	uint64_t w = atomic_load(&s->w);
	if (w & FDS_BORN)
		fds_set(s, w & ~(FDS_GEN_MASK | FDS_KNOWN));
}

/* The entry's word when it is born in this epoch, else 0. */
static uint64_t fds_born(struct fdstate *s)
{
	uint64_t w = atomic_load(&s->w);
	return (w & FDS_BORN) && (w >> 32 << 32) == epoch_now() ? w : 0;
}

int fdstate_peer(int fd)
{
	struct fdstate *s = fds_get(fd, false);
	if (!s || !fds_born(s))
		return -1;
	return atomic_load_explicit(&s->peer1, memory_order_relaxed) - 1;
}

static uint64_t notimeo_bit(int timeo_opt)
{
	return timeo_opt == SO_RCVTIMEO ? FDS_NORCVTIMEO
	       : timeo_opt == SO_SNDTIMEO ? FDS_NOSNDTIMEO : 0;
}

bool fdstate_blocking(int fd, int timeo_opt)
{
	struct fdstate *s = fds_get(fd, false);
	if (!s)
		return false;
	uint64_t want = FDS_BLOCKING | notimeo_bit(timeo_opt);
	return (fds_born(s) & want) == want;
}

uint64_t fdstate_snapshot(int fd)
{
	struct fdstate *s = fds_get(fd, false);
	return s ? fds_born(s) : 0;
}

void fdstate_learn(int fd, uint64_t snap, int timeo_opt, bool notimeo)
{
	struct fdstate *s;
	if (!(snap & FDS_BORN) || !(s = fds_get(fd, false)))
		return;
	uint64_t w = snap;
	atomic_compare_exchange_strong(&s->w, &w,
				       snap | FDS_BLOCKING | (notimeo ? notimeo_bit(timeo_opt) : 0));
}

void fdstate_msg_fds(const struct msghdr *m)
{
	if (!m || !m->msg_control || m->msg_controllen < sizeof(struct cmsghdr))
		return;
	struct msghdr *mm = (struct msghdr *)m;  /* CMSG_NXTHDR takes no const */
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mm); c; c = CMSG_NXTHDR(mm, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
		    c->cmsg_len < CMSG_LEN(0))
			continue;
		const unsigned char *p = CMSG_DATA(c);
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;
			memcpy(&fd, p + i * sizeof fd, sizeof fd);
			fdstate_forget(fd);
		}
	}
}
