/* The syscall gate: the only host `syscall` instructions of the process
 * once the sandbox is locked down. The seccomp filter allows a host
 * syscall only when its instruction pointer lies in
 * [plat_gate_start, plat_gate_end), so keep this region tiny and keep
 * every other syscall instruction of the platform out of it. */

	.text
	.p2align 6
	.globl plat_gate_start
	.globl plat_gate_end
	.globl plat_gate_syscall6
	.globl plat_gate_restorer
	.globl plat_gate_sigreturn
	.globl plat_gate_clone_thread
	.globl plat_gate_thread_exit
	.hidden plat_gate_start
	.hidden plat_gate_end

plat_gate_start:
	/* The kernel reports the address after a syscall instruction, so one
	 * ending just before this label would look as if it were inside;
	 * the filter therefore checks start < ip < end. */
	ud2

/* long plat_gate_syscall6(long nr, long a1, long a2, long a3, long a4,
 *                         long a5, long a6): the raw kernel result. */
	.type plat_gate_syscall6, @function
plat_gate_syscall6:
	.cfi_startproc
	movq %rdi, %rax
	movq %rsi, %rdi
	movq %rdx, %rsi
	movq %rcx, %rdx
	movq %r8, %r10
	movq %r9, %r8
	movq 8(%rsp), %r9
	syscall
	ret
	.cfi_endproc
	.size plat_gate_syscall6, .-plat_gate_syscall6

/* The sa_restorer of our own signal handlers: the handler returns here
 * with %rsp at the kernel's ucontext. */
	.type plat_gate_restorer, @function
plat_gate_restorer:
	movq $15, %rax		/* rt_sigreturn */
	syscall
	ud2
	.size plat_gate_restorer, .-plat_gate_restorer

/* _Noreturn void plat_gate_sigreturn(void *ucontext): load a whole
 * register file (and a clean FPU state) from a hand-built signal frame;
 * plat_enter starts the guest this way. */
	.type plat_gate_sigreturn, @function
plat_gate_sigreturn:
	movq %rdi, %rsp
	movq $15, %rax		/* rt_sigreturn */
	syscall
	ud2
	.size plat_gate_sigreturn, .-plat_gate_sigreturn

/* long plat_gate_clone_thread(long flags, void *stack_top, void (*fn)(void *),
 *                             void *arg): fn and arg ride on the child's
 * stack, so the child needs no register the parent must keep. */
	.type plat_gate_clone_thread, @function
plat_gate_clone_thread:
	movq %rdx, -8(%rsi)
	movq %rcx, -16(%rsi)
	subq $16, %rsi
	xorl %edx, %edx
	xorl %r10d, %r10d
	xorl %r8d, %r8d
	movq $56, %rax		/* clone */
	syscall
	testq %rax, %rax
	jnz 1f
	xorl %ebp, %ebp
	popq %rdi
	popq %rax
	call *%rax
	ud2
1:	ret
	.size plat_gate_clone_thread, .-plat_gate_clone_thread

/* _Noreturn void plat_gate_thread_exit(void *base, size_t len,
 *                                      uint32_t *clear_word) */
	.type plat_gate_thread_exit, @function
plat_gate_thread_exit:
	movq %rdx, %r12
	movq $11, %rax		/* munmap: our own stack; no memory use below */
	syscall
	testq %r12, %r12
	jz 2f
	movl $0, (%r12)
	movq %r12, %rdi
	movq $1, %rsi		/* FUTEX_WAKE, shared */
	movq $0x7fffffff, %rdx
	movq $202, %rax		/* futex */
	syscall
2:	xorl %edi, %edi
	movq $60, %rax		/* exit: this thread only */
	syscall
	ud2
	.size plat_gate_thread_exit, .-plat_gate_thread_exit

plat_gate_end:
	int3

	.section .note.GNU-stack,"",@progbits
