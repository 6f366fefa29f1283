/*
 * rawsyscall.h — system calls made by the runtime itself, straight to the
 * kernel.  goshim interposes libc's syscall(), so the runtime must never
 * call it: its own futexes and thread ids would come back into the
 * program's futex emulation.  rt_syscall returns the kernel's value: a
 * result, or -errno; errno is left alone.
 */
#ifndef GOSHIM_ARCH_RAWSYSCALL_H
#define GOSHIM_ARCH_RAWSYSCALL_H

static inline long rt_rawsyscall6(long n, long a1, long a2, long a3, long a4, long a5, long a6)
{
	long ret;
	register long r10 __asm__("r10") = a4;
	register long r8 __asm__("r8") = a5;
	register long r9 __asm__("r9") = a6;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

#define RT_SC_ARG(x) ((long)(x))
#define rt_syscall6(n, a, b, c, d, e, f)                                            \
	rt_rawsyscall6((n), RT_SC_ARG(a), RT_SC_ARG(b), RT_SC_ARG(c), RT_SC_ARG(d), \
		       RT_SC_ARG(e), RT_SC_ARG(f))
#define rt_syscall0(n) rt_syscall6((n), 0, 0, 0, 0, 0, 0)
#define rt_syscall1(n, a) rt_syscall6((n), RT_SC_ARG(a), 0, 0, 0, 0, 0)
#define rt_syscall2(n, a, b) rt_syscall6((n), RT_SC_ARG(a), RT_SC_ARG(b), 0, 0, 0, 0)
#define rt_syscall3(n, a, b, c) \
	rt_syscall6((n), RT_SC_ARG(a), RT_SC_ARG(b), RT_SC_ARG(c), 0, 0, 0)
#define rt_syscall4(n, a, b, c, d) \
	rt_syscall6((n), RT_SC_ARG(a), RT_SC_ARG(b), RT_SC_ARG(c), RT_SC_ARG(d), 0, 0)
#define rt_syscall5(n, a, b, c, d, e) rt_syscall6((n), a, b, c, d, e, 0)

#endif
