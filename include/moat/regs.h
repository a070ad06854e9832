/* The guest's x86-64 register file as the North shim sees it at a system
 * call, a fault or a signal. Platform-neutral: each South platform converts
 * its own context (a Linux ucontext, a KVM vCPU) to and from this. */
#ifndef MOAT_REGS_H
#define MOAT_REGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct moat_regs {
  uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
  uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip;
  uint64_t rflags;
  uint64_t fs_base;
  /* The guest's FPU/SSE/AVX state in the host's XSAVE layout, as the
   * platform saved it (the shim copies it into and out of signal frames).
   * fpstate may be NULL when the platform has none to offer. */
  void *fpstate;
  uint32_t fpstate_size;
  /* Nonzero: fpstate is not written yet. The guest's FPU state is still
   * in the CPU's registers (the library OS is built to use none of them:
   * no x87, MMX or SSE code), and the shim saves it there (XSAVE of
   * every component the host enabled) before it reads or writes fpstate
   * (shim_fpstate_ready); the platform then loads fpstate back (XRSTOR)
   * as it resumes the guest. A platform that saves eagerly sets 0. */
  uint32_t fpstate_lazy;
};

/* Upcalls: the South platform calls these, the North shim implements them.
 * They run on a platform stack, never on the guest's. */

/* A guest system call: number in rax, arguments in rdi, rsi, rdx, r10, r8,
 * r9. The shim writes the result to rax and may rewrite any register (to
 * deliver a signal, to exec a new image). The platform resumes the guest
 * with regs when it returns. */
void north_syscall(struct moat_regs *regs);

/* A synchronous fault in guest code: signo is LINUX_SIGSEGV, SIGBUS,
 * SIGFPE, SIGILL or SIGTRAP, code the si_code, addr the faulting address,
 * err the x86 page-fault error code when the fault was one (bit 1: a
 * write, bit 4: an instruction fetch), else 0. The shim delivers it to
 * the guest (rewriting regs) or ends the guest. */
#define MOAT_FAULT_WRITE 2u
#define MOAT_FAULT_FETCH 16u
void north_fault(struct moat_regs *regs, int signo, int code, uint64_t addr,
                 uint64_t err);

/* A thread running guest code was interrupted (plat_ctx_kick, the process's
 * timer): the shim delivers pending signals (rewriting regs) or ends the
 * thread. Called on the platform stack, never while the thread is inside
 * the library OS. */
void north_interrupt(struct moat_regs *regs);

/* Provided by the core for the platform: a fault (SIGSEGV or SIGBUS) hit
 * the library OS itself at rip. If rip is one of the core's guest-memory
 * accessors (a guest thread unmapped the buffer a call was using), this
 * returns where to resume, with every other register as it was at the
 * fault; the accessor then reports the fault to its caller as EFAULT.
 * 0 means the fault is a bug of moat. */
uint64_t moat_fault_fixup(uint64_t rip);

/* Provided by the core for the platform: when [addr, addr + len) lies in
 * one private, executable, filled mapping of the guest (a place where
 * code may be rewritten), call patch(arg, prot) with that mapping's
 * guest protection and return what it returns; else -1. patch runs
 * under the lock of the guest's memory map: no thread of the process
 * maps, unmaps, changes the protection of guest memory or forks while it
 * runs, and it may call the platform's own memory calls. */
int moat_mm_code_patch(uint64_t addr, size_t len,
                       int (*patch)(void *arg, int prot), void *arg);
/* Provided by the core for the platform, from a moat_mm_code_patch
 * callback only (the lock is held): no guest mapping touches
 * [addr, addr + len), which lies in the guest window. */
bool moat_mm_range_free(uint64_t addr, size_t len);

#endif
