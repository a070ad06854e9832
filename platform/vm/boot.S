/* The VM platform's entry (issue 13, first step): QEMU's -kernel loads
 * this ELF image by the PVH boot protocol (the Xen ELF note
 * XEN_ELFNOTE_PHYS32_ENTRY below names the 32-bit entry point): the
 * CPU arrives in 32-bit protected mode, paging off, flat segments, %ebx
 * pointing at struct hvm_start_info. From here: a GDT of our own,
 * identity-mapped page tables for the first 1 GiB (2 MiB pages), PAE,
 * EFER.LME, paging on, a far jump into 64-bit code, a stack, vm_main. */
	.section .note.pvh, "a"
	.balign 4
	.long 4                 /* name size: "Xen" */
	.long 4                 /* descriptor size */
	.long 18                /* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.long pvh_start

	.section .boot, "ax"
	.code32
	.globl pvh_start
pvh_start:
	cli
	cld
	mov %ebx, %edi          /* hvm_start_info, vm_main's argument */
	lgdt gdt_ptr
	/* PML4[0] -> PDPT, PDPT[0] -> PD, PD: 512 x 2 MiB, present+rw+ps */
	/* user-accessible at the upper levels: each 2 MiB page of pd says
	 * who may touch it (main.c opens the user region) */
	lea pdpt, %eax
	or $7, %eax
	mov %eax, pml4
	lea pd, %eax
	or $7, %eax
	mov %eax, pdpt
	xor %ecx, %ecx
1:	mov %ecx, %eax
	shl $21, %eax
	or $0x83, %eax
	mov %eax, pd(,%ecx,8)
	movl $0, pd+4(,%ecx,8)
	inc %ecx
	cmp $512, %ecx
	jne 1b
	lea pml4, %eax
	mov %eax, %cr3
	mov %cr4, %eax
	or $0x20, %eax          /* PAE */
	mov %eax, %cr4
	mov $0xc0000080, %ecx   /* EFER */
	rdmsr
	or $0x100, %eax         /* LME */
	wrmsr
	mov %cr0, %eax
	or $0x80000001, %eax    /* PG, PE */
	mov %eax, %cr0
	ljmp $0x08, $long_mode

	.code64
long_mode:
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	xor %ax, %ax
	mov %ax, %fs
	mov %ax, %gs
	lea boot_stack_top(%rip), %rsp
	call vm_main
2:	hlt
	jmp 2b

	.section .rodata
	.balign 16
gdt:
	.quad 0
	.quad 0x00af9a000000ffff  /* 0x08: 64-bit code, ring 0 */
	.quad 0x00cf92000000ffff  /* 0x10: data, ring 0 */
gdt_end:
gdt_ptr:
	.word gdt_end - gdt - 1
	.long gdt

	.section .bss
	.balign 4096
	.globl vm_pd
pml4:	.skip 4096
pdpt:	.skip 4096
pd:
vm_pd:	.skip 4096
boot_stack:
	.skip 16384
boot_stack_top:

	.section .note.GNU-stack, "", @progbits
