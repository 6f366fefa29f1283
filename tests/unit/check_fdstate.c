/*
 * check_fdstate.c — what the shim remembers of an fd (shim/fdstate.c):
 * only for fds born through goshim, in the fork epoch they were born in;
 * an answer recorded against a snapshot a change overtook is dropped;
 * each direction's timeout apart; sharing (forget, SCM_RIGHTS, a fork)
 * and changes drop what was known; the pipe and socketpair peers.  No
 * system call is made: the fd numbers are only table indexes here.
 */
#include <sys/socket.h>

#include "unit.h"
#include "../../shim/io.h"

/* An fd number beyond what the test process has open. */
#define FD 700

START_TEST(test_fdstate__unknown)
{
	ck_assert(!fdstate_blocking(FD + 1, SO_RCVTIMEO));
	ck_assert_uint_eq(fdstate_snapshot(FD + 1), 0);
	fdstate_learn(FD + 1, fdstate_snapshot(FD + 1), SO_RCVTIMEO, true);
	ck_assert(!fdstate_blocking(FD + 1, 0));
	ck_assert(!fdstate_blocking(-1, 0));
	ck_assert_uint_eq(fdstate_snapshot(1 << 30), 0);
	fdstate_born(-1);
	fdstate_forget(1 << 30);
	ck_assert_int_eq(fdstate_peer(-1), -1);
}
END_TEST

START_TEST(test_fdstate__learn_each_direction)
{
	fdstate_born(FD);
	ck_assert(!fdstate_blocking(FD, 0));
	uint64_t snap = fdstate_snapshot(FD);
	ck_assert_uint_ne(snap, 0);
	fdstate_learn(FD, snap, SO_RCVTIMEO, true);
	ck_assert(fdstate_blocking(FD, SO_RCVTIMEO));
	ck_assert(fdstate_blocking(FD, 0));
	ck_assert(!fdstate_blocking(FD, SO_SNDTIMEO));
	/* A send timeout set: blocking is known, the timeout is asked again. */
	fdstate_learn(FD, fdstate_snapshot(FD), SO_SNDTIMEO, false);
	ck_assert(!fdstate_blocking(FD, SO_SNDTIMEO));
	fdstate_learn(FD, fdstate_snapshot(FD), SO_SNDTIMEO, true);
	ck_assert(fdstate_blocking(FD, SO_SNDTIMEO));
	ck_assert(fdstate_blocking(FD, SO_RCVTIMEO));
}
END_TEST

START_TEST(test_fdstate__change_overtakes_answer)
{
	fdstate_born(FD);
	uint64_t snap = fdstate_snapshot(FD);
	fdstate_changed(FD);  /* F_SETFL while the answer was on its way */
	fdstate_learn(FD, snap, SO_RCVTIMEO, true);
	ck_assert(!fdstate_blocking(FD, SO_RCVTIMEO));
	/* Still born: a fresh answer counts. */
	fdstate_learn(FD, fdstate_snapshot(FD), SO_RCVTIMEO, true);
	ck_assert(fdstate_blocking(FD, SO_RCVTIMEO));
	fdstate_changed(FD);
	ck_assert(!fdstate_blocking(FD, 0));
	ck_assert_uint_ne(fdstate_snapshot(FD), 0);
}
END_TEST

START_TEST(test_fdstate__forget_and_epoch)
{
	fdstate_born(FD);
	fdstate_learn(FD, fdstate_snapshot(FD), SO_RCVTIMEO, true);
	fdstate_forget(FD);
	ck_assert(!fdstate_blocking(FD, 0));
	ck_assert_uint_eq(fdstate_snapshot(FD), 0);
	fdstate_learn(FD, fdstate_snapshot(FD), SO_RCVTIMEO, true);
	ck_assert(!fdstate_blocking(FD, 0));

	fdstate_born(FD);
	fdstate_learn(FD, fdstate_snapshot(FD), SO_RCVTIMEO, true);
	uint64_t snap = fdstate_snapshot(FD);
	fork_epoch_bump();  /* a fork or spawn: the child shares it */
	ck_assert(!fdstate_blocking(FD, SO_RCVTIMEO));
	ck_assert_uint_eq(fdstate_snapshot(FD), 0);
	fdstate_learn(FD, snap, SO_RCVTIMEO, true);
	ck_assert(!fdstate_blocking(FD, SO_RCVTIMEO));
	fdstate_born(FD);  /* a socket made after the fork */
	fdstate_learn(FD, fdstate_snapshot(FD), SO_RCVTIMEO, true);
	ck_assert(fdstate_blocking(FD, SO_RCVTIMEO));
}
END_TEST

START_TEST(test_fdstate__scm_rights)
{
	int fds[3] = { FD, FD + 2, FD + 3 };
	for (int i = 0; i < 3; i++) {
		fdstate_born(fds[i]);
		fdstate_learn(fds[i], fdstate_snapshot(fds[i]), 0, true);
	}
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(2 * sizeof(int))];
	} ctl;
	memset(&ctl, 0, sizeof ctl);
	char byte = 0;
	struct iovec iov = { &byte, 1 };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf };
	struct cmsghdr *c = CMSG_FIRSTHDR(&m);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(2 * sizeof(int));
	memcpy(CMSG_DATA(c), fds, 2 * sizeof(int));
	fdstate_msg_fds(&m);
	ck_assert(!fdstate_blocking(FD, 0));
	ck_assert(!fdstate_blocking(FD + 2, 0));
	ck_assert(fdstate_blocking(FD + 3, 0));
	fdstate_msg_fds(NULL);
	struct msghdr none = { 0 };
	fdstate_msg_fds(&none);
}
END_TEST

START_TEST(test_fdstate__peers)
{
	int pair[2] = { FD + 10, FD + 11 };
	fdstate_born_pair(pair);
	ck_assert_int_eq(fdstate_peer(pair[0]), pair[1]);
	ck_assert_int_eq(fdstate_peer(pair[1]), pair[0]);
	fdstate_forget(pair[0]);
	ck_assert_int_eq(fdstate_peer(pair[0]), -1);
	/* A hint that outlives the other end: a spurious wake at most. */
	ck_assert_int_eq(fdstate_peer(pair[1]), pair[0]);
	fdstate_born(pair[1]);  /* the number reused for a socket */
	ck_assert_int_eq(fdstate_peer(pair[1]), -1);
	fdstate_born_pair(pair);
	fork_epoch_bump();
	ck_assert_int_eq(fdstate_peer(pair[0]), -1);
}
END_TEST

Suite *fdstate_suite(void)
{
	Suite *s = suite_create("fdstate");
	ADD_CASE(s, test_fdstate__unknown, 10);
	ADD_CASE(s, test_fdstate__learn_each_direction, 10);
	ADD_CASE(s, test_fdstate__change_overtakes_answer, 10);
	ADD_CASE(s, test_fdstate__forget_and_epoch, 10);
	ADD_CASE(s, test_fdstate__scm_rights, 10);
	ADD_CASE(s, test_fdstate__peers, 10);
	return s;
}
