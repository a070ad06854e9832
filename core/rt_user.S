/* Guest-memory accessors that survive a fault. The library OS checks a
 * guest range (moat_user_ok) and then touches it, but another guest thread
 * may unmap or mprotect it in between, or while the call sleeps (a pipe
 * read blocked on a buffer that is gone when the data comes). Every access
 * to guest memory after a check therefore goes through these routines: the
 * one instruction of each that touches guest memory is listed in
 * rt_user_fixups with the address to resume at, and the platform's fault
 * handler asks moat_fault_fixup (core/rt_user_fixup.c) before it calls a
 * fault inside the library OS a bug. The registers at the fault are kept,
 * so a `rep movsb` fixup finds the bytes it did not copy in rcx. The same
 * idea as Linux's exception table and gVisor's safecopy. */

/* Built for a platform whose kernel runs with SMAP (platform/vm, which
 * defines MOAT_UACCESS_SMAP): guest pages are open to the library OS only
 * inside these routines, between stac and clac. Each of those
 * instructions is listed in .uaccess_sites, which such a platform turns
 * into NOPs on a CPU without SMAP (where they do not exist). */
#ifdef MOAT_UACCESS_SMAP
.macro UACCESS_SITE insn
.Luaccess\@:
	\insn
	.pushsection .uaccess_sites, "a"
	.quad .Luaccess\@
	.popsection
.endm
#define UACCESS_ON UACCESS_SITE stac
#define UACCESS_OFF UACCESS_SITE clac
#else
#define UACCESS_ON
#define UACCESS_OFF
#endif

	.text

/* size_t rt_ucopy(void *dst, const void *src, size_t n): the number of
 * bytes NOT copied (0 when all were). */
	.globl rt_ucopy
	.type rt_ucopy, @function
rt_ucopy:
	UACCESS_ON
	mov %rdx, %rcx
#ifdef MOAT_STRING_QWORDS
	/* eight bytes per step first (QEMU's TCG emulates movsb a byte at a
	 * time); a fault there leaves rcx qwords and the rdx tail bytes */
	shr $3, %rcx
	and $7, %edx
.Lcopyq_insn:
	rep movsq
	mov %rdx, %rcx
#endif
.Lcopy_insn:
	rep movsb
	xor %eax, %eax
	UACCESS_OFF
	ret
.Lcopy_fix:
	mov %rcx, %rax
	UACCESS_OFF
	ret
#ifdef MOAT_STRING_QWORDS
.Lcopyq_fix:
	lea (%rdx,%rcx,8), %rax
	UACCESS_OFF
	ret
#endif
	.size rt_ucopy, . - rt_ucopy

/* size_t rt_ufill(void *dst, int byte, size_t n): the number of bytes NOT
 * set. */
	.globl rt_ufill
	.type rt_ufill, @function
rt_ufill:
	UACCESS_ON
	mov %rdx, %rcx
	movzbl %sil, %eax
#ifdef MOAT_STRING_QWORDS
	movabs $0x0101010101010101, %r8
	imul %r8, %rax
	shr $3, %rcx
	and $7, %edx
.Lfillq_insn:
	rep stosq
	mov %rdx, %rcx
#endif
.Lfill_insn:
	rep stosb
	xor %eax, %eax
	UACCESS_OFF
	ret
.Lfill_fix:
	mov %rcx, %rax
	UACCESS_OFF
	ret
#ifdef MOAT_STRING_QWORDS
.Lfillq_fix:
	lea (%rdx,%rcx,8), %rax
	UACCESS_OFF
	ret
#endif
	.size rt_ufill, . - rt_ufill

/* long rt_ustrncpy(char *dst, const char *src, size_t n): the length of
 * the string when a NUL came within n bytes (copied with it), n when none
 * did, -1 on a fault. */
	.globl rt_ustrncpy
	.type rt_ustrncpy, @function
rt_ustrncpy:
	UACCESS_ON
	xor %eax, %eax
1:	cmp %rdx, %rax
	jae 2f
.Lstr_insn:
	movzbl (%rsi,%rax), %ecx
	mov %cl, (%rdi,%rax)
	test %cl, %cl
	jz 2f
	inc %rax
	jmp 1b
2:	UACCESS_OFF
	ret
.Lstr_fix:
	mov $-1, %rax
	UACCESS_OFF
	ret
	.size rt_ustrncpy, . - rt_ustrncpy

/* int rt_uload32(const uint32_t *p, uint32_t *out): 0, or -1 on a fault. */
	.globl rt_uload32
	.type rt_uload32, @function
rt_uload32:
	UACCESS_ON
.Lload32_insn:
	mov (%rdi), %ecx
	mov %ecx, (%rsi)
	xor %eax, %eax
	UACCESS_OFF
	ret
.Lload32_fix:
	mov $-1, %eax
	UACCESS_OFF
	ret
	.size rt_uload32, . - rt_uload32

/* int rt_uload64(const uint64_t *p, uint64_t *out): 0, or -1 on a fault. */
	.globl rt_uload64
	.type rt_uload64, @function
rt_uload64:
	UACCESS_ON
.Lload64_insn:
	mov (%rdi), %rcx
	mov %rcx, (%rsi)
	xor %eax, %eax
	UACCESS_OFF
	ret
.Lload64_fix:
	mov $-1, %eax
	UACCESS_OFF
	ret
	.size rt_uload64, . - rt_uload64

/* int rt_ustore32(uint32_t *p, uint32_t v): a sequentially consistent
 * store; 0, or -1 on a fault. */
	.globl rt_ustore32
	.type rt_ustore32, @function
rt_ustore32:
	UACCESS_ON
.Lstore32_insn:
	xchg %esi, (%rdi)
	xor %eax, %eax
	UACCESS_OFF
	ret
.Lstore32_fix:
	mov $-1, %eax
	UACCESS_OFF
	ret
	.size rt_ustore32, . - rt_ustore32

/* int rt_ucmpxchg32(uint32_t *p, uint32_t *expected, uint32_t desired):
 * a sequentially consistent compare-and-exchange; 1 when it stored,
 * 0 when *p differed (then *expected holds what it was), -1 on a fault. */
	.globl rt_ucmpxchg32
	.type rt_ucmpxchg32, @function
rt_ucmpxchg32:
	UACCESS_ON
	mov (%rsi), %eax
.Lcas_insn:
	lock cmpxchg %edx, (%rdi)
	jne 1f
	mov $1, %eax
	UACCESS_OFF
	ret
1:	mov %eax, (%rsi)
	xor %eax, %eax
	UACCESS_OFF
	ret
.Lcas_fix:
	mov $-1, %eax
	UACCESS_OFF
	ret
	.size rt_ucmpxchg32, . - rt_ucmpxchg32

/* Pairs of (faulting instruction, where to resume), read by
 * moat_fault_fixup. */
	.section .data.rel.ro, "aw"
	.balign 8
	.globl rt_user_fixups
	.type rt_user_fixups, @object
rt_user_fixups:
	.quad .Lcopy_insn, .Lcopy_fix
	.quad .Lfill_insn, .Lfill_fix
#ifdef MOAT_STRING_QWORDS
	.quad .Lcopyq_insn, .Lcopyq_fix
	.quad .Lfillq_insn, .Lfillq_fix
#endif
	.quad .Lstr_insn, .Lstr_fix
	.quad .Lload32_insn, .Lload32_fix
	.quad .Lload64_insn, .Lload64_fix
	.quad .Lstore32_insn, .Lstore32_fix
	.quad .Lcas_insn, .Lcas_fix
	.quad 0, 0
	.size rt_user_fixups, . - rt_user_fixups

	.section .note.GNU-stack, "", @progbits
