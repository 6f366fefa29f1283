/* The calls goshim makes with the P handed off (shim/blocking.c, fd.c,
 * io.c's positioned I/O) answer as glibc does: each error case below gives
 * the return value and errno it gives natively, and each call that works
 * works.  Nothing here blocks: the waits themselves are io_ticks'. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <mqueue.h>
#include <netdb.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/resource.h>
#include <sys/sem.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "check.h"

/* An fd number that is not open, and that the fds opened here do not
 * reach. */
static int closed_fd(void)
{
    int fd = 900;
    CHECK(fcntl(fd, F_GETFD) == -1 && errno_now() == EBADF);
    return fd;
}

static void files(void)
{
    int bad = closed_fd();
    CHECK_ERRNO(open("/nonexistent/goshim", O_RDONLY), ENOENT);
    CHECK_ERRNO(open("/", O_WRONLY), EISDIR);
    CHECK_ERRNO(openat(bad, "x", O_RDONLY), EBADF);
    CHECK_ERRNO(creat("/nonexistent/goshim", 0600), ENOENT);
    CHECK_ERRNO(fsync(bad), EBADF);
    CHECK_ERRNO(fdatasync(bad), EBADF);
    CHECK_ERRNO(sync_file_range(bad, 0, 0, 0), EBADF);
    CHECK_ERRNO(close(bad), EBADF);
    CHECK_ERRNO(dup2(bad, bad), EBADF);
    CHECK_ERRNO(dup3(0, 0, 0), EINVAL);
    CHECK_ERRNO(dup3(0, 100, ~O_CLOEXEC), EINVAL);

    char buf[16];
    CHECK_ERRNO(pread(bad, buf, sizeof buf, 0), EBADF);
    CHECK_ERRNO(pwrite(bad, buf, sizeof buf, 0), EBADF);
    int p[2];
    CHECK(pipe(p) == 0);
    CHECK_ERRNO(pread(p[0], buf, sizeof buf, 0), ESPIPE);
    CHECK_ERRNO(pwrite(p[1], buf, sizeof buf, 0), ESPIPE);
    struct iovec iov = { buf, sizeof buf };
    CHECK_ERRNO(preadv(p[0], &iov, 1, 0), ESPIPE);
    CHECK_ERRNO(pwritev(p[1], &iov, 1, 0), ESPIPE);
    CHECK_ERRNO(preadv2(p[0], &iov, 1, 0, 0), ESPIPE);
    CHECK_ERRNO(preadv2(p[0], &iov, 1, -1, -1), EOPNOTSUPP);
    /* A regular file: positioned I/O that works, and lseek untouched. */
    FILE *tf = tmpfile();
    CHECK(tf != NULL);
    int fd = fileno(tf);
    CHECK(pwrite(fd, "hello", 5, 10) == 5);
    CHECK(pread(fd, buf, 5, 10) == 5 && memcmp(buf, "hello", 5) == 0);
    CHECK(lseek(fd, 0, SEEK_CUR) == 0);
    CHECK(read(fd, buf, sizeof buf) == 15);
    CHECK_ERRNO(sendfile(p[1], bad, NULL, 1), EBADF);
    CHECK(sendfile(p[1], fd, &(off_t){ 10 }, 5) == 5);
    CHECK(read(p[0], buf, 5) == 5 && memcmp(buf, "hello", 5) == 0);
    CHECK_ERRNO(splice(bad, NULL, p[1], NULL, 1, 0), EBADF);
    CHECK_ERRNO(splice(p[0], NULL, p[1], NULL, 1, 0), EINVAL);

    /* File locks: bad fds, and a lock another open file holds. */
    CHECK_ERRNO(flock(bad, LOCK_EX), EBADF);
    CHECK_ERRNO(flock(fd, LOCK_NB), EINVAL);
    CHECK(flock(fd, LOCK_EX) == 0);
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    int fd2 = open(path, O_RDWR);
    CHECK(fd2 >= 0);
    CHECK_ERRNO(flock(fd2, LOCK_EX | LOCK_NB), EWOULDBLOCK);
    CHECK(flock(fd, LOCK_UN) == 0);
    CHECK(flock(fd2, LOCK_EX | LOCK_NB) == 0);
    CHECK(close(fd2) == 0);
    CHECK_ERRNO(lockf(bad, F_LOCK, 0), EBADF);
    CHECK_ERRNO(lockf(fd, 99, 0), EINVAL);
    CHECK(lockf(fd, F_LOCK, 0) == 0);
    CHECK(lockf(fd, F_TEST, 0) == 0);
    CHECK(lockf(fd, F_ULOCK, 0) == 0);
    struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
    CHECK_ERRNO(fcntl(bad, F_SETLKW, &fl), EBADF);
    CHECK(fcntl(fd, F_SETLKW, &fl) == 0);
    fl.l_type = F_UNLCK;
    CHECK(fcntl(fd, F_SETLK, &fl) == 0);
    CHECK_ERRNO(fcntl(bad, F_GETFL), EBADF);
    CHECK(fcntl(fd, F_GETFD) >= 0);
    CHECK(fclose(tf) == 0);
    CHECK(close(p[0]) == 0 && close(p[1]) == 0);
}

static void children(void)
{
    int status;
    siginfo_t si;
    CHECK_ERRNO(wait(&status), ECHILD);
    CHECK_ERRNO(waitpid(-1, &status, 0), ECHILD);
    CHECK_ERRNO(waitpid(-1, &status, WNOHANG), ECHILD);
    CHECK_ERRNO(waitpid(-1, &status, 0x10000), EINVAL);
    CHECK_ERRNO(wait3(&status, 0, NULL), ECHILD);
    CHECK_ERRNO(wait4(-1, &status, 0, NULL), ECHILD);
    CHECK_ERRNO(waitid(P_ALL, 0, &si, WEXITED), ECHILD);
    CHECK_ERRNO(waitid(P_ALL, 0, &si, 0), EINVAL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0)
        _exit(3);
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 3);
    CHECK(system(NULL) != 0);
    int rc = system("exit 5");
    CHECK(WIFEXITED(rc) && WEXITSTATUS(rc) == 5);
}

static void names(void)
{
    struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *res;
    CHECK(getaddrinfo("127.0.0.1", "80", &hints, &res) == 0);
    char host[64], serv[16];
    CHECK(getnameinfo(res->ai_addr, res->ai_addrlen, host, sizeof host, serv, sizeof serv,
                      NI_NUMERICHOST | NI_NUMERICSERV) == 0);
    CHECK(strcmp(host, "127.0.0.1") == 0 && strcmp(serv, "80") == 0);
    freeaddrinfo(res);
    hints.ai_flags = AI_NUMERICHOST;
    CHECK(getaddrinfo("not-a-number", NULL, &hints, &res) == EAI_NONAME);
    CHECK(getnameinfo(NULL, 0, host, sizeof host, NULL, 0, 0) == EAI_FAMILY);
    struct hostent *h = gethostbyname("127.0.0.1");
    CHECK(h != NULL && h->h_addrtype == AF_INET);
    struct hostent he, *out;
    char buf[1024];
    int herr;
    CHECK(gethostbyname_r("127.0.0.1", &he, buf, sizeof buf, &out, &herr) == 0 && out == &he);
    CHECK(gethostbyname_r("127.0.0.1", &he, buf, 4, &out, &herr) == ERANGE);
}

/* Only what does not depend on the signal mask: masks are still the
 * kernel thread's under goshim, and a thread may change kernel threads
 * between blocking a signal and waiting for it. */
static void signal_waits(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    struct timespec zero = { 0, 0 }, bad = { 0, -1 };
    CHECK_ERRNO(sigtimedwait(&set, NULL, &zero), EAGAIN);
    CHECK_ERRNO(sigtimedwait(&set, NULL, &bad), EINVAL);
}

static void ipc(void)
{
    struct { long type; char text[8]; } msg = { 1, "x" };
    CHECK_ERRNO(msgsnd(-1, &msg, sizeof msg.text, 0), EINVAL);
    CHECK_ERRNO(msgrcv(-1, &msg, sizeof msg.text, 0, 0), EINVAL);
    int q = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    CHECK(q >= 0);
    CHECK_ERRNO(msgrcv(q, &msg, sizeof msg.text, 0, IPC_NOWAIT), ENOMSG);
    CHECK(msgsnd(q, &msg, sizeof msg.text, 0) == 0);
    CHECK(msgrcv(q, &msg, sizeof msg.text, 0, 0) == (ssize_t)sizeof msg.text);
    CHECK(msgctl(q, IPC_RMID, NULL) == 0);

    struct sembuf op = { 0, 1, 0 };
    CHECK_ERRNO(semop(-1, &op, 1), EINVAL);
    struct timespec zero = { 0, 0 };
    CHECK_ERRNO(semtimedop(-1, &op, 1, &zero), EINVAL);
    int s = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);
    CHECK(s >= 0);
    CHECK(semop(s, &op, 1) == 0);
    op.sem_op = -2;
    CHECK_ERRNO(semtimedop(s, &op, 1, &zero), EAGAIN);
    op.sem_op = -1;
    CHECK(semop(s, &op, 1) == 0);
    CHECK(semctl(s, 0, IPC_RMID) == 0);

    char buf[16];
    CHECK_ERRNO(mq_send((mqd_t)-1, "x", 1, 0), EBADF);
    CHECK_ERRNO(mq_receive((mqd_t)-1, buf, sizeof buf, NULL), EBADF);
    CHECK_ERRNO(mq_timedsend((mqd_t)-1, "x", 1, 0, &zero), EBADF);
    CHECK_ERRNO(mq_timedreceive((mqd_t)-1, buf, sizeof buf, NULL, &zero), EBADF);
}

int main(void)
{
    files();
    children();
    names();
    signal_waits();
    ipc();
    return 0;
}
