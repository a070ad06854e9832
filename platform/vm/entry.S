/* Traps and system calls of the VM platform (docs/vm.md): the IDT's 32
 * exception stubs, their common path into vm_trap(), and the SYSCALL
 * entry into vm_syscall(). One CPU, no interrupts yet: the kernel stack
 * is the TSS's rsp0 for traps from ring 3 and syscall_stack for system
 * calls. */
	.text
	.code64

/* struct vm_frame (main.c): r15..rax, vector, error code, then what the
 * CPU pushed: rip, cs, rflags, rsp, ss. */
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
vm_stub_\n:
	.if (\n == 8) || (\n >= 10 && \n <= 14) || (\n == 17) || (\n == 21) || (\n == 29) || (\n == 30)
	.else
	push $0
	.endif
	push $\n
	jmp trap_common
.endm

	.globl vm_stubs
	.balign 16
vm_stubs:
	.irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
	STUB \n
	.endr

trap_common:
	/* vector and error code are on the stack; the frame's order is
	 * registers, then vector, then error code */
	PUSH_REGS
	mov %rsp, %rdi
	cld
	call vm_trap
	POP_REGS
	add $16, %rsp           /* vector, error code */
	iretq

/* SYSCALL: rcx = user rip, r11 = user rflags, interrupts masked by
 * SFMASK. Builds a vm_frame as a trap would (vector 0x80 marks it). */
	.globl vm_syscall_entry
vm_syscall_entry:
	mov %rsp, syscall_user_rsp(%rip)
	lea syscall_stack_top(%rip), %rsp
	push $0x1b                       /* ss: user data */
	push syscall_user_rsp(%rip)      /* rsp */
	push %r11                        /* rflags */
	push $0x23                       /* cs: user code */
	push %rcx                        /* rip */
	push $0                          /* error code */
	push $0x80                       /* vector: a system call */
	PUSH_REGS
	mov %rsp, %rdi
	cld
	call vm_trap
	POP_REGS
	add $16, %rsp
	/* back by iretq: the frame may have been changed (a fault's
	 * redirection), which sysret could not express for every case */
	iretq

	.bss
	.balign 16
syscall_user_rsp:
	.quad 0
	.balign 16
	.skip 16384
syscall_stack_top:

	.section .note.GNU-stack, "", @progbits
