/*
 * Context switch and start trampoline for x86-64 (System V ABI).
 *
 * A saved context is just a stack pointer: everything else the callee must
 * preserve (rbx, rbp, r12-r15, the MXCSR control bits and the x87 control
 * word) is pushed on the stack being left.  Caller-saved registers need no
 * saving because rt_ctx_switch is an ordinary call for the C code around it.
 *
 * Frame left on a suspended stack, from the saved rsp upwards:
 *   0: x87 control word (2 bytes, slot of 8)
 *   8: MXCSR (4 bytes, slot of 8)
 *  16: r15  24: r14  32: r13  40: r12  48: rbx  56: rbp  64: return address
 * rt_ctx_make in src/context.c builds the same frame for a new stack.
 */
	.text

/* void rt_ctx_switch(struct ctx *save, const struct ctx *load) */
	.globl	rt_ctx_switch
	.hidden	rt_ctx_switch
	.type	rt_ctx_switch, @function
	.p2align 4
rt_ctx_switch:
	.cfi_startproc
	pushq	%rbp
	pushq	%rbx
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	subq	$16, %rsp
	stmxcsr	8(%rsp)
	fnstcw	(%rsp)
	movq	%rsp, (%rdi)
	movq	(%rsi), %rsp
	ldmxcsr	8(%rsp)
	fldcw	(%rsp)
	addq	$16, %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	ret
	.cfi_endproc
	.size	rt_ctx_switch, .-rt_ctx_switch

/*
 * First code run on a new stack: rt_ctx_switch "returns" here with r12 =
 * function and r13 = its argument, rsp 16-byte aligned.  The function must
 * never return.  The return address is marked undefined so that unwinders
 * (libgcc's forced unwind for pthread_exit, libunwind for dumps) stop here.
 */
	.globl	rt_ctx_entry
	.hidden	rt_ctx_entry
	.type	rt_ctx_entry, @function
	.p2align 4
rt_ctx_entry:
	.cfi_startproc
	.cfi_undefined rip
	xorl	%ebp, %ebp
	movq	%r13, %rdi
	callq	*%r12
	ud2
	.cfi_endproc
	.size	rt_ctx_entry, .-rt_ctx_entry

/* void rt_call_on_stack(void *arg, void (*fn)(void *), void *stack_top)
 * Calls fn(arg) with rsp moved to stack_top (rounded down to 16), then
 * returns on the original stack. */
	.globl	rt_call_on_stack
	.hidden	rt_call_on_stack
	.type	rt_call_on_stack, @function
	.p2align 4
rt_call_on_stack:
	.cfi_startproc
	pushq	%rbp
	.cfi_def_cfa_offset 16
	.cfi_offset rbp, -16
	movq	%rsp, %rbp
	.cfi_def_cfa_register rbp
	andq	$-16, %rdx
	movq	%rdx, %rsp
	callq	*%rsi
	movq	%rbp, %rsp
	popq	%rbp
	.cfi_def_cfa rsp, 8
	ret
	.cfi_endproc
	.size	rt_call_on_stack, .-rt_call_on_stack

	.section .note.GNU-stack,"",@progbits
