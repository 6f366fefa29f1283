/* A library whose constructor makes calls goshim interposes, as
 * libselinux's does with stdio under ls: the dynamic loader may run it
 * before goshim's own constructor.  ctor_calls reads what it found. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

int ctor_calls_result = -1;

__attribute__((constructor)) static void early(void)
{
    int ok = 1;
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    ok &= f != NULL && fgets(line, sizeof line, f) != NULL;
    ok &= f != NULL && fclose(f) == 0;
    int p[2];
    ok &= pipe(p) == 0;
    ok &= fcntl(p[0], F_GETFL) >= 0;
    int n = -1;
    ok &= ioctl(p[0], FIONREAD, &n) == 0 && n == 0;
    ok &= write(p[1], "x", 1) == 1;
    char c;
    ok &= read(p[0], &c, 1) == 1 && c == 'x';
    ok &= close(p[0]) == 0 && close(p[1]) == 0;
    ctor_calls_result = ok;
}
