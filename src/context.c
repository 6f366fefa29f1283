/*
 * context.c — builds the first frame of a new context for rt_ctx_switch
 * (layout documented in src/arch/x86_64/switch.S).
 */
#include <string.h>

#include "runtime.h"

void rt_ctx_make(struct ctx *c, void *stack_hi, void (*fn)(void *), void *arg)
{
	uintptr_t top = (uintptr_t)stack_hi & ~(uintptr_t)15;
	/* After the 8 pops and ret, rsp = top - 16: 16-byte aligned at the
	 * call in rt_ctx_entry, as the ABI wants. */
	uint64_t *sp = (uint64_t *)(top - 88);
	uint32_t mxcsr;
	uint16_t fpucw;

	/* A new thread starts with its creator's floating-point control
	 * state, as clone() gives it. */
	__asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
	__asm__ volatile("fnstcw %0" : "=m"(fpucw));
	memset(sp, 0, 88);
	sp[0] = fpucw;
	sp[1] = mxcsr;
	sp[2] = 0;                     /* r15 */
	sp[3] = 0;                     /* r14 */
	sp[4] = (uint64_t)arg;         /* r13 */
	sp[5] = (uint64_t)fn;          /* r12 */
	sp[6] = 0;                     /* rbx */
	sp[7] = 0;                     /* rbp */
	sp[8] = (uint64_t)rt_ctx_entry;
	c->sp = sp;
}
