/* Hostile register state from ring 3, each in a child of its own: signal
 * frames (rt_sigreturn) with kernel, non-canonical and odd rip, rsp and
 * rflags values; rflags set by popf (IOPL, NT, AC, DF; TF then a system
 * call or a page fault); int to the vectors of exceptions and of the
 * 8259s' interrupts; far returns and iretq to kernel selectors; system
 * calls with a non-canonical or kernel stack pointer; division faults;
 * self-modifying code. Each child's fate must be Linux's, and the kernel
 * must go on serving the parent (moat's VM platform, docs/vm.md; a far
 * return once made the VM kernel retry a page fault forever under TCG).
 * The positive controls: case 0 exits 0, case 1 and 6 return from a
 * signal handler to code that exits 7, case 43 runs code it rewrote. Left
 * out, as they differ by CPU or host: icebp, sysenter, int 0x80, a
 * segment load of the TSS selector, unknown system call numbers. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>
#include <sys/mman.h>

static uint64_t g_rip, g_rsp, g_flags;
static int g_which;

/* exit(status) without touching the stack or fs */
__attribute__((naked)) static void exit7(void) {
  __asm__ volatile("mov $60, %eax; mov $7, %edi; syscall; ud2");
}
__attribute__((naked)) static void push_then_exit(void) {
  __asm__ volatile("push %rax; mov $60, %eax; mov $8, %edi; syscall; ud2");
}

static void on_usr1(int sig, siginfo_t *si, void *uc_) {
  ucontext_t *uc = uc_;
  if (g_rip)
    uc->uc_mcontext.gregs[REG_RIP] = g_rip;
  if (g_which & 1)
    uc->uc_mcontext.gregs[REG_RSP] = g_rsp;
  if (g_which & 2)
    uc->uc_mcontext.gregs[REG_EFL] = g_flags;
}

static void sigret_case(uint64_t rip, uint64_t rsp, uint64_t flags, int which) {
  g_rip = rip, g_rsp = rsp, g_flags = flags, g_which = which;
  struct sigaction sa = {0};
  sa.sa_sigaction = on_usr1;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGUSR1, &sa, 0);
  raise(SIGUSR1);
  _exit(0); /* rip unchanged */
}

static int run(int which) {
  fflush(stdout);
  pid_t p = fork();
  if (p == 0) {
    struct rlimit none = {0, 0};
    setrlimit(RLIMIT_CORE, &none);
    switch (which) {
    case 0:
      _exit(0);
    /* sigreturn frames */
    case 1:
      sigret_case((uint64_t)exit7, 0, 0, 0);
      break;
    case 2:
      sigret_case(0xffffffff80100000ull, 0, 0, 0);
      break;
    case 3:
      sigret_case(0xffff800000000000ull, 0, 0, 0);
      break;
    case 4:
      sigret_case(0x8000000000000000ull, 0, 0, 0);
      break;
    case 5:
      sigret_case(0x00007ffffffffffeull, 0, 0, 0);
      break;
    case 6:
      sigret_case((uint64_t)exit7, 0xffff800000100000ull, 0, 1);
      break;
    case 7:
      sigret_case((uint64_t)exit7, 0x8000000000000000ull, 0, 1);
      break;
    case 8:
      sigret_case((uint64_t)push_then_exit, 0xffff800000100000ull, 0, 1);
      break;
    case 9:
      sigret_case((uint64_t)push_then_exit, 0xffffffffe0010000ull, 0, 1);
      break;
    case 10:
      sigret_case((uint64_t)push_then_exit, 0x10ull, 0, 1);
      break;
    /* flags: IOPL 3, NT, VM, VIF, VIP, AC, ID, RF, IF off, DF */
    case 11:
      sigret_case((uint64_t)exit7, 0,
                  0x3000 | 0x4000 | 0x20000 | 0x80000 | 0x100000 | 0x200002, 2);
      break;
    case 12:
      sigret_case((uint64_t)exit7, 0, 0xffffffffffffffffull & ~0x100ull, 2);
      break;
    case 13:
      sigret_case((uint64_t)exit7, 0, 0x2 | 0x400, 2);
      break;
    /* rflags via popf, then a system call */
    case 14: /* NT, IOPL bits, DF then getpid then exit (not AC: moat on
              * Linux runs its handler with it and dies of SIGBUS) */
      __asm__ volatile("pushq $0x7602; popfq; mov $39, %%eax; syscall; cld;"
                       "mov $60, %%eax; mov $9, %%edi; syscall" ::
                           : "rax", "rcx", "r11", "rdi", "memory", "cc");
      break;
    case 15: /* TF, then a system call: SIGTRAP after it */
      __asm__ volatile("pushq $0x302; popfq; mov $39, %%eax; syscall; nop; nop;"
                       "mov $60, %%eax; mov $10, %%edi; syscall" ::
                           : "rax", "rcx", "r11", "rdi", "memory", "cc");
      break;
    case 16: /* TF, then a page fault on a fresh stack page */
    {
      static char big[1 << 16];
      volatile char *q = big + 40000;
      __asm__ volatile("pushq $0x302; popfq; movb $1, (%0); nop" ::"r"(q)
                       : "memory", "cc");
    } break;
    case 17:
      __asm__ volatile("int $0x81");
      break;
    case 18:
      __asm__ volatile("int $0x2f");
      break; /* an IRQ vector */
    case 19:
      __asm__ volatile("int $0x20");
      break; /* the timer's vector */
    case 20:
      __asm__ volatile("int $0x8");
      break; /* double fault */
    case 21:
      __asm__ volatile("int $0xe");
      break; /* page fault, no error code */
    case 22:
      __asm__ volatile("int $0xd");
      break;
    case 23:
      __asm__ volatile("int $0x1");
      break;
    case 24:
      __asm__ volatile("int3");
      break;
    case 25:
      __asm__ volatile("ud2");
      break;
    case 27:
      __asm__ volatile("int $0x12");
      break; /* machine check */
    case 28:
      __asm__ volatile("int $0xff");
      break;
    case 29:
      __asm__ volatile("int $0x30");
      break; /* past the IDT */
    case 30:
      __asm__ volatile(
          "mov $0x1, %%eax; xor %%edx, %%edx; xor %%ecx, %%ecx; div %%ecx" ::
              : "rax", "rdx", "rcx");
      break;
    case 31: {
      volatile long m = -0x7fffffffffffffffl - 1, d = -1;
      __asm__ volatile("cqto; idivq %1" : "+a"(m) : "r"(d) : "rdx");
    } break;
    case 32: /* lretq to the kernel's code selector */
      __asm__ volatile(
          "pushq $0x8; lea 1f(%%rip), %%rax; pushq %%rax; lretq; 1:" ::
              : "rax", "memory");
      break;
    case 33: /* load ss/ds with the kernel's data selector */
      __asm__ volatile("mov $0x10, %%eax; mov %%eax, %%ds" ::: "rax");
      break;
    case 35: /* iretq to ring 0 */
      __asm__ volatile(
          "mov %%rsp, %%rax; pushq $0x10; pushq %%rax; pushq $0x2; pushq $0x8; "
          "lea 1f(%%rip), %%rax; pushq %%rax; iretq; 1:" ::
              : "rax", "memory");
      break;
    case 36: /* syscall with a non-canonical rsp */
      __asm__ volatile("mov %%rsp, %%rbx; mov $0x8000000000000000, %%rsp; mov "
                       "$39, %%eax; syscall; mov %%rbx, %%rsp;"
                       "mov $60, %%eax; mov $11, %%edi; syscall" ::
                           : "rax", "rbx", "rcx", "r11", "rdi", "memory");
      break;
    case 37: /* syscall with a kernel rsp */
      __asm__ volatile("mov %%rsp, %%rbx; mov $0xffffffffe0010000, %%rsp; mov "
                       "$39, %%eax; syscall; mov %%rbx, %%rsp;"
                       "mov $60, %%eax; mov $12, %%edi; syscall" ::
                           : "rax", "rbx", "rcx", "r11", "rdi", "memory");
      break;
    case 38: /* a page fault with a non-canonical rsp (delivery must fail) */
      __asm__ volatile("mov $0x8000000000000000, %%rsp; movb $0, 0" ::
                           : "memory");
      break;
    case 44: /* lretq with the user data selector */
      __asm__ volatile(
          "pushq $0x1b; lea 1f(%%rip), %%rax; pushq %%rax; lretq; 1:" ::
              : "rax", "memory");
      break;
    case 45: /* lretq with the kernel data selector */
      __asm__ volatile(
          "pushq $0x10; lea 1f(%%rip), %%rax; pushq %%rax; lretq; 1:" ::
              : "rax", "memory");
      break;
    case 43: /* self-modifying code */
    {
      static unsigned char code[4096] __attribute__((aligned(4096)));
      /* mov $17, %eax; ret */
      unsigned char c1[] = {0xb8, 17, 0, 0, 0, 0xc3};
      if (mprotect(code, 4096, 7))
        _exit(99);
      memcpy(code, c1, sizeof c1);
      int a = ((int (*)(void))code)();
      code[1] = 18;
      int b = ((int (*)(void))code)();
      _exit(a == 17 && b == 18 ? 17 : 98);
    }
    }
    _exit(0);
  }
  int st = 0;
  if (p < 0 || waitpid(p, &st, 0) != p)
    return -1;
  return WIFSIGNALED(st) ? WTERMSIG(st) : 1000 + WEXITSTATUS(st);
}

int main(int argc, char **argv) {
  int from = 0, to = 46;
  if (argc > 1)
    from = to = atoi(argv[1]), to++;
  for (int i = from; i < to; i++) {
    if (i == 26 || i == 34 || (i >= 39 && i <= 42))
      continue;
    int r = run(i);
    if (r >= 1000)
      printf("case %d: exit %d\n", i, r - 1000);
    else
      printf("case %d: signal %s\n", i, r > 0 ? strsignal(r) : "?");
  }
  return 0;
}
