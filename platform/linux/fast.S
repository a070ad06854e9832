/* The system call fast path's entry (see fastpath.c for the whole
 * design). A rewritten call site jumps through its slot of the table at
 * PLAT_FAST_TABLE to thunk k below, which loads k into %ecx and joins
 * plat_fast_common. That runs on the guest's stack with every guest
 * register intact except %rcx and %r11, which the `syscall` instruction
 * it stands for clobbers too. It switches to the thread's signal stack
 * (found through %gs, whose base the platform set to the thread block),
 * saves the guest's registers as a struct moat_regs, calls
 * plat_fast_syscall, and returns the same way: the registers, the
 * guest's stack, and a jump to the guest. The FPU, SSE and AVX state
 * stays in the registers (moat's code uses none of them: it is built
 * with -mno-sse -mno-mmx -mno-80387); the shim saves it into the thread
 * block's XSAVE area only when it needs it (a signal frame), and then
 * the way back loads it from there (XRSTOR: the shim may have changed
 * it, as for a handler's clean state).
 *
 * No host system call is made here: moat's C code makes them through the
 * gate as always, and the seccomp filter still traps any other. */

#define PLAT_T_RSP 8
#define PLAT_T_RIP 16
#define PLAT_T_STACK 24
#define PLAT_T_XSAVE 32
#define PLAT_FAST_SLOTS 4096
#define REGS_SIZE 176 /* sizeof(struct moat_regs) rounded up to 16 */
#define R_R8 0
#define R_R9 8
#define R_R10 16
#define R_R11 24
#define R_R12 32
#define R_R13 40
#define R_R14 48
#define R_R15 56
#define R_RDI 64
#define R_RSI 72
#define R_RBP 80
#define R_RBX 88
#define R_RDX 96
#define R_RAX 104
#define R_RCX 112
#define R_RFLAGS 136
#define R_FPSTATE_LAZY 164

	.text
	.globl plat_fast_thunks
	.globl plat_fast_thunks_end
	.globl plat_fast_common
	.globl plat_fast_switched
	.globl plat_fast_exit_jmp
	.hidden plat_fast_thunks
	.hidden plat_fast_thunks_end
	.hidden plat_fast_common
	.hidden plat_fast_switched
	.hidden plat_fast_exit_jmp

/* 16 bytes each: thunk k is at plat_fast_thunks + 16 * k. */
	.p2align 4
plat_fast_thunks:
	.set slot, 0
	.rept PLAT_FAST_SLOTS
	movl $slot, %ecx
	jmp plat_fast_common
	.p2align 4, 0xcc
	.set slot, slot + 1
	.endr
plat_fast_thunks_end:

	.p2align 4
	.type plat_fast_common, @function
plat_fast_common:
	/* Until the stack switch the thread still counts as running guest
	 * code (its stack is the guest's): a signal here is delivered as if
	 * the guest had not yet reached its syscall (fastpath.c). */
	movq %rsp, %gs:PLAT_T_RSP
	movq %gs:PLAT_T_STACK, %rsp
plat_fast_switched:
	leaq -REGS_SIZE(%rsp), %rsp	/* lea: the guest's flags are not saved yet */
	movq %r8, R_R8(%rsp)
	movq %r9, R_R9(%rsp)
	movq %r10, R_R10(%rsp)
	movq %r12, R_R12(%rsp)
	movq %r13, R_R13(%rsp)
	movq %r14, R_R14(%rsp)
	movq %r15, R_R15(%rsp)
	movq %rdi, R_RDI(%rsp)
	movq %rsi, R_RSI(%rsp)
	movq %rbp, R_RBP(%rsp)
	movq %rbx, R_RBX(%rsp)
	movq %rdx, R_RDX(%rsp)
	movq %rax, R_RAX(%rsp)
	pushfq
	popq %r11
	movq %r11, R_RFLAGS(%rsp)
	/* The library OS runs with the flags the ABI promises, whatever the
	 * guest set: DF clear (string operations go up), AC clear (an
	 * unaligned access of moat's own is no #AC), TF clear (no single
	 * steps through moat). popfq cannot change IF here. */
	pushq $0x2
	popfq
	movl %ecx, %edi
	movq %rsp, %rsi
	xorl %ebp, %ebp
	call plat_fast_syscall
	/* The FPU state, if the shim saved it (and maybe changed it). */
	cmpl $0, R_FPSTATE_LAZY(%rsp)
	jne 1f
	movq %gs:PLAT_T_XSAVE, %rdi
	movl $-1, %eax
	movl $-1, %edx
	xrstor64 (%rdi)
1:
	/* Flags first (plat_fast_syscall kept only the arithmetic ones the
	 * shim may set); nothing below changes them. */
	pushq R_RFLAGS(%rsp)
	popfq
	movq R_R8(%rsp), %r8
	movq R_R9(%rsp), %r9
	movq R_R10(%rsp), %r10
	movq R_R11(%rsp), %r11
	movq R_R12(%rsp), %r12
	movq R_R13(%rsp), %r13
	movq R_R14(%rsp), %r14
	movq R_R15(%rsp), %r15
	movq R_RDI(%rsp), %rdi
	movq R_RSI(%rsp), %rsi
	movq R_RBP(%rsp), %rbp
	movq R_RBX(%rsp), %rbx
	movq R_RDX(%rsp), %rdx
	movq R_RAX(%rsp), %rax
	movq R_RCX(%rsp), %rcx
	movq %gs:PLAT_T_RSP, %rsp
plat_fast_exit_jmp:
	/* One instruction on the guest's stack: a signal here is delivered
	 * at the guest's return address (fastpath.c). */
	jmp *%gs:PLAT_T_RIP
	.size plat_fast_common, .-plat_fast_common

	.section .note.GNU-stack,"",@progbits
