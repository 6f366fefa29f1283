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
 *
 * A new G has no frame at all: rt_ctx_start saves the current context the
 * same way and enters the G's function on its empty stack, so the first
 * touch of a new stack happens on the M that runs the G, not on its
 * creator.
 */
	.text

/* Pushes the frame described above onto the current stack. */
.macro SAVE_FRAME
	pushq	%rbp
	pushq	%rbx
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	subq	$16, %rsp
	stmxcsr	8(%rsp)
	fnstcw	(%rsp)
.endm

/* void rt_ctx_switch(struct ctx *save, const struct ctx *load) */
	.globl	rt_ctx_switch
	.hidden	rt_ctx_switch
	.type	rt_ctx_switch, @function
	.p2align 4
rt_ctx_switch:
	.cfi_startproc
	SAVE_FRAME
	movl	8(%rsp), %eax
	movzwl	(%rsp), %ecx
	movq	%rsp, (%rdi)
	movq	(%rsi), %rsp
	/* Reloading the control registers stalls the pipeline, and they
	 * almost never differ between threads: load them only on change. */
	cmpl	8(%rsp), %eax
	jne	1f
2:	cmpw	(%rsp), %cx
	jne	3f
4:	addq	$16, %rsp
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	ret
1:	ldmxcsr	8(%rsp)
	jmp	2b
3:	fldcw	(%rsp)
	jmp	4b
	.cfi_endproc
	.size	rt_ctx_switch, .-rt_ctx_switch

/* void rt_ctx_start(struct ctx *save, void *stack_top, void (*fn)(void *), void *arg)
 * Saves the current context into *save, then runs fn(arg) on the stack
 * ending at stack_top (16-byte aligned).  fn never returns. */
	.globl	rt_ctx_start
	.hidden	rt_ctx_start
	.type	rt_ctx_start, @function
	.p2align 4
rt_ctx_start:
	.cfi_startproc
	SAVE_FRAME
	movq	%rsp, (%rdi)
	movq	%rsi, %rsp
	movq	%rdx, %r12
	movq	%rcx, %r13
	jmp	rt_ctx_entry
	.cfi_endproc
	.size	rt_ctx_start, .-rt_ctx_start

/*
 * First code run on a new stack, with r12 = function and r13 = its
 * argument, rsp 16-byte aligned.  The function must never return.  The
 * return address is marked undefined so that unwinders (libgcc's forced
 * unwind for pthread_exit, libunwind for dumps) stop here.
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

	.section .note.GNU-stack,"",@progbits
