/* The VM platform's entry: QEMU's -kernel loads this ELF image by the PVH
 * boot protocol (the Xen ELF note XEN_ELFNOTE_PHYS32_ENTRY below names
 * the 32-bit entry point, a physical address): the CPU arrives in 32-bit
 * protected mode, paging off, flat segments, %ebx pointing at struct
 * hvm_start_info. From here: a GDT of our own, the boot page tables,
 * PAE, EFER.LME/NXE, paging on, a far jump into 64-bit code, then a jump
 * to the kernel's own addresses in the top 2 GiB and vm_main.
 *
 * Boot page tables (docs/vm.md, "Memory"):
 *   PML4[0]   the first 8 MiB identity-mapped (only until vm_main drops
 *             it: the lower half is the guest's)
 *   PML4[256] the direct map: physical [0, 64 GiB) at 0xffff800000000000
 *   PML4[511] -> boot_pdpt_hi: [510] the kernel image, the first 8 MiB
 *             at 0xffffffff80000000 (-mcmodel=kernel)
 * The direct map is never executable (NX): the kernel runs only its
 * image, not a page of the guest's through another address. 
 * All 2 MiB pages, supervisor only. */
#define KBASE 0xffffffff80000000

	.section .note.pvh, "a"
	.balign 4
	.long 4                 /* name size: "Xen" */
	.long 4                 /* descriptor size */
	.long 18                /* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.long pvh_start - KBASE

	.section .boot, "ax"
	.code32
	.globl pvh_start
pvh_start:
	cli
	cld
	mov %ebx, %edi          /* hvm_start_info, vm_main's argument */
	lgdt (gdt_ptr - KBASE)
	/* identity: PML4[0] -> boot_pdpt_lo[0] -> boot_pd0 */
	mov $(boot_pdpt_lo - KBASE), %eax
	or $3, %eax
	mov %eax, (boot_pml4 - KBASE)
	mov $(boot_pd0 - KBASE), %eax
	or $3, %eax
	mov %eax, (boot_pdpt_lo - KBASE)
	/* kernel image: PML4[511] -> boot_pdpt_hi[510] -> boot_pd0 */
	mov $(boot_pdpt_hi - KBASE), %eax
	or $3, %eax
	mov %eax, (boot_pml4 - KBASE + 511 * 8)
	mov $(boot_pd0 - KBASE), %eax
	or $3, %eax
	mov %eax, (boot_pdpt_hi - KBASE + 510 * 8)
	/* direct map: PML4[256] -> boot_pdpt_dm[0..63] -> boot_pd_dm (64 PDs) */
	mov $(boot_pdpt_dm - KBASE), %eax
	or $3, %eax
	mov %eax, (boot_pml4 - KBASE + 256 * 8)
	xor %ecx, %ecx
1:	mov %ecx, %eax
	shl $12, %eax
	add $(boot_pd_dm - KBASE), %eax
	or $3, %eax
	mov %eax, (boot_pdpt_dm - KBASE)(,%ecx,8)
	inc %ecx
	cmp $64, %ecx
	jne 1b
	/* boot_pd0: the first 8 MiB (the image and its load, vm.ld checks),
	 * 4 x 2 MiB; boot_pd_dm: 32768 x 2 MiB (64 GiB), never executable */
	xor %ecx, %ecx
2:	mov %ecx, %eax
	shl $21, %eax
	or $0x83, %eax
	mov %eax, (boot_pd0 - KBASE)(,%ecx,8)
	movl $0, (boot_pd0 - KBASE + 4)(,%ecx,8)
	inc %ecx
	cmp $4, %ecx
	jne 2b
	xor %ecx, %ecx
3:	mov %ecx, %eax
	shl $21, %eax
	or $0x83, %eax
	mov %eax, (boot_pd_dm - KBASE)(,%ecx,8)
	mov %ecx, %eax
	shr $11, %eax           /* the high bits of ecx << 21 */
	or $0x80000000, %eax    /* NX: no physical page runs as the kernel */
	mov %eax, (boot_pd_dm - KBASE + 4)(,%ecx,8)
	inc %ecx
	cmp $32768, %ecx
	jne 3b
	mov $(boot_pml4 - KBASE), %eax
	mov %eax, %cr3
	mov %cr4, %eax
	or $0x20, %eax          /* PAE */
	mov %eax, %cr4
	mov $0xc0000080, %ecx   /* EFER */
	rdmsr
	or $0x900, %eax         /* LME, NXE */
	wrmsr
	mov %cr0, %eax
	or $0x80010001, %eax    /* PG, WP, PE */
	mov %eax, %cr0
	ljmp $0x08, $(long_mode - KBASE)

	.code64
long_mode:
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	xor %ax, %ax
	mov %ax, %fs
	mov %ax, %gs
	movabs $high, %rax
	jmp *%rax

	.text
high:
	lea boot_stack_top(%rip), %rsp
	xor %ebp, %ebp
	call vm_main
4:	hlt
	jmp 4b

	.section .rodata
	.balign 16
gdt:
	.quad 0
	.quad 0x00af9a000000ffff  /* 0x08: 64-bit code, ring 0 */
	.quad 0x00cf92000000ffff  /* 0x10: data, ring 0 */
gdt_end:
	.section .boot, "ax"
gdt_ptr:
	.word gdt_end - gdt - 1
	.long gdt - KBASE

	.section .bss
	.balign 4096
	.globl boot_pml4, boot_pdpt_hi, boot_pd0, boot_pdpt_dm
boot_pml4:	.skip 4096
boot_pdpt_lo:	.skip 4096
boot_pdpt_hi:	.skip 4096
boot_pd0:	.skip 4096
boot_pdpt_dm:	.skip 4096
boot_pd_dm:	.skip 64 * 4096
	.globl boot_stack_top
boot_stack:
	.skip 65536
boot_stack_top:

	.section .note.GNU-stack, "", @progbits
