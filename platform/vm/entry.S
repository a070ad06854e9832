/* Traps, interrupts, system calls and context switches of the VM
 * platform (docs/vm.md). One CPU; the kernel runs with interrupts off
 * (they are on only in ring 3 and while the CPU idles), so nothing here
 * nests but a fault inside the kernel on a guest or lazily-filled page.
 *
 * A trap from ring 3 arrives on the running context's kernel stack (the
 * TSS's rsp0); SYSCALL switches to it by hand (vm_kstack_top). Both
 * build a struct vm_frame (vm.h) and call vm_trap(); vm_trap_return
 * resumes a frame. */
	.text
	.code64

.macro PUSH_REGS
	push %rax
	push %rbx
	push %rcx
	push %rdx
	push %rsi
	push %rdi
	push %rbp
	push %r8
	push %r9
	push %r10
	push %r11
	push %r12
	push %r13
	push %r14
	push %r15
.endm
.macro POP_REGS
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %r11
	pop %r10
	pop %r9
	pop %r8
	pop %rbp
	pop %rdi
	pop %rsi
	pop %rdx
	pop %rcx
	pop %rbx
	pop %rax
.endm

/* Vectors with an error code pushed by the CPU: 8, 10-14, 17, 21, 29, 30. */
.macro STUB n
	.balign 16
	.if (\n == 8) || (\n >= 10 && \n <= 14) || (\n == 17) || (\n == 21) || (\n == 29) || (\n == 30)
	.else
	push $0
	.endif
	push $\n
	jmp trap_common
.endm

/* 48 stubs, 16 bytes apart: the 32 exceptions and the 16 interrupts of
 * the two 8259s (remapped to 32..47). */
	.globl vm_stubs
	.balign 16
vm_stubs:
	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	STUB \n
	.endr
	.irp n, 32,33,34,35,36,37,38,39,40,41,42,43,44,45,46,47
	STUB \n
	.endr

trap_common:
	PUSH_REGS
	mov %rsp, %rdi
	cld
	call vm_trap
	.globl vm_trap_return
vm_trap_return:
	POP_REGS
	add $16, %rsp           /* vector, error code */
	iretq

/* SYSCALL: rcx = the guest's rip, r11 its rflags; SFMASK cleared IF, DF,
 * TF and AC. */
	.globl vm_syscall_entry
vm_syscall_entry:
	mov %rsp, vm_user_rsp(%rip)
	mov vm_kstack_top(%rip), %rsp
	push $0x1b                       /* ss: user data */
	push vm_user_rsp(%rip)           /* rsp */
	push %r11                        /* rflags */
	push $0x23                       /* cs: user code */
	push %rcx                        /* rip */
	push $0                          /* error code */
	push $0x80                       /* vector: a system call */
	PUSH_REGS
	mov %rsp, %rdi
	cld
	call vm_trap
	jmp vm_trap_return

/* void vm_switch(uint64_t *save_rsp, uint64_t rsp, uint64_t cr3):
 * save the callee-saved registers on this stack and its pointer in
 * *save_rsp, load cr3 (0: keep), continue on rsp. The stack may be
 * mapped only in the old address space: nothing touches memory between
 * the cr3 load and the new rsp. */
	.globl vm_switch
vm_switch:
	push %rbp
	push %rbx
	push %r12
	push %r13
	push %r14
	push %r15
	mov %rsp, (%rdi)
	test %rdx, %rdx
	jz 1f
	mov %rdx, %cr3
1:	mov %rsi, %rsp
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbx
	pop %rbp
	ret

/* Where a new context's first vm_switch returns to (its stack was built
 * by vm_ctx_stack_init): vm_ctx_first(). */
	.globl vm_ctx_trampoline
vm_ctx_trampoline:
	xor %ebp, %ebp
	call vm_ctx_first
	ud2

/* int vm_fork_point(struct vm_jmp *jb): save the callee-saved
 * registers, the stack pointer and the return address in jb (setjmp),
 * return 0. vm_fork_jump(jb) continues from there, returning 1: the child
 * of plat_space_clone, on its copy of the stack at the same address. */
	.globl vm_fork_point
vm_fork_point:
	mov (%rsp), %rax
	mov %rax, 0(%rdi)
	lea 8(%rsp), %rax
	mov %rax, 8(%rdi)
	mov %rbp, 16(%rdi)
	mov %rbx, 24(%rdi)
	mov %r12, 32(%rdi)
	mov %r13, 40(%rdi)
	mov %r14, 48(%rdi)
	mov %r15, 56(%rdi)
	xor %eax, %eax
	ret

	.globl vm_fork_jump
vm_fork_jump:
	mov 8(%rdi), %rsp
	mov 16(%rdi), %rbp
	mov 24(%rdi), %rbx
	mov 32(%rdi), %r12
	mov 40(%rdi), %r13
	mov 48(%rdi), %r14
	mov 56(%rdi), %r15
	mov $1, %eax
	jmp *0(%rdi)

/* A forked context's first vm_switch returns here with its struct
 * vm_jmp in r12. */
	.globl vm_fork_trampoline
vm_fork_trampoline:
	mov %r12, %rdi
	jmp vm_fork_jump

/* void vm_idle(void): interrupts on, wait for one, off again. */
	.globl vm_idle
vm_idle:
	sti
	hlt
	cli
	ret

	.bss
	.balign 8
vm_user_rsp:
	.quad 0

	.section .note.GNU-stack, "", @progbits
