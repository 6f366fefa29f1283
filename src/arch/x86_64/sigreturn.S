/*
 * The signal restorer of the runtime's own handlers (installed with the
 * raw rt_sigaction, which needs one on x86-64): returns from the handler
 * through rt_sigreturn.
 */
	.text
/* void rt_sigreturn(void) */
	.globl	rt_sigreturn
	.hidden	rt_sigreturn
	.type	rt_sigreturn, @function
	.align	16
rt_sigreturn:
	/* The bytes libgcc and gdb recognize as a signal frame's return. */
	movq	$15, %rax	/* SYS_rt_sigreturn */
	syscall
	hlt
	.size	rt_sigreturn, .-rt_sigreturn

	.section .note.GNU-stack,"",@progbits
