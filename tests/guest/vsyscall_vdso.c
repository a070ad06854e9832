/* Guest code that runs outside moat's guest window: the legacy vsyscall
 * page (0xffffffffff600000) and the vDSO. Both run, natively and inside
 * moat, what Linux runs: the three vsyscall entries work (in the host's
 * emulate or xonly mode), and a misaligned entry, a bad stack or a bad
 * pointer argument ends in a catchable SIGSEGV at the entry; the vDSO's
 * functions, found through AT_SYSINFO_EHDR and the vDSO's own ELF symbol
 * table (not through libc, which may route around them), answer good
 * arguments, fall back to a `syscall` instruction inside the vDSO for what
 * they cannot answer (CPU clocks, unknown clock ids: EINVAL), and fault in
 * the vDSO on a bad pointer. moat once took all of these for faults of its
 * own ("moat: internal fault", status 125), because rip was outside the
 * window. Every line is printed without addresses or times. */
#include <elf.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sched.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <ucontext.h>

#include "guest.h"

#define VSYSCALL 0xffffffffff600000ul
#define KERNEL_PTR 0xffff888000000000ul

static sigjmp_buf back;
static volatile int got_sig, got_code;
static volatile uintptr_t got_addr, got_rip;
static uintptr_t vdso_lo, vdso_hi;
static void *bad_user; /* an unmapped page of user space */

static void on_fault(int sig, siginfo_t *si, void *ucv) {
  ucontext_t *uc = ucv;
  got_sig = sig;
  got_code = si->si_code;
  got_addr = (uintptr_t)si->si_addr;
  got_rip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
  siglongjmp(back, 1);
}

static const char *where(uintptr_t v, uintptr_t entry, uintptr_t ptr) {
  if (v == 0)
    return "0";
  if (entry && v == entry)
    return "the entry";
  if (ptr && v == ptr)
    return "the pointer";
  if (v >= vdso_lo && v < vdso_hi)
    return "in the vDSO";
  return "elsewhere";
}

/* What a fault looked like: the signal, its code, si_addr and rip. */
static void print_fault(const char *what, uintptr_t entry, uintptr_t ptr) {
  printf("%s: signal %d, si_code %d, si_addr %s, rip %s\n", what, got_sig,
         got_code, where(got_addr, entry, ptr), where(got_rip, entry, 0));
}

static const char *sane(long sec, long ref) {
  long d = sec - ref;
  return d >= -5 && d <= 5 ? "sane" : "OFF";
}

static long now_sec(clockid_t c) {
  struct timespec ts;
  if (syscall(SYS_clock_gettime, c, &ts) != 0)
    return -1;
  return (long)ts.tv_sec;
}

/* ---- the vsyscall page ------------------------------------------------ */

typedef long (*fn2)(void *, void *);
typedef long (*fn3)(void *, void *, void *);

#define TRY(what, entry, ptr, call, report)                                    \
  do {                                                                         \
    if (sigsetjmp(back, 1) == 0) {                                             \
      long r_ = (long)(call);                                                  \
      report;                                                                  \
    } else {                                                                   \
      print_fault(what, entry, ptr);                                           \
    }                                                                          \
  } while (0)

/* Jump (not call) to entry with rsp = sp: the entry finds no return
 * address. Never returns: the handler runs on the alternate stack and
 * siglongjmps out. */
static void jump_with_stack(uintptr_t entry, uintptr_t sp) {
  /* (no pointer arguments: the call itself would succeed) */
  __asm__ volatile("xor %%edi, %%edi\n\txor %%esi, %%esi\n\t"
                   "mov %0, %%rsp\n\tjmp *%1"
                   :
                   : "r"(sp), "r"(entry)
                   : "memory");
  __builtin_unreachable();
}

static void vsyscall_tests(void) {
  fn2 gtod = (fn2)VSYSCALL;
  long (*vtime)(long *) = (long (*)(long *))(VSYSCALL + 0x400);
  fn3 vgetcpu = (fn3)(VSYSCALL + 0x800);
  struct timeval tv;
  struct timezone tz;
  long t = 0;
  unsigned cpu = ~0u, node = ~0u;

  TRY("vsyscall gettimeofday", VSYSCALL, 0, gtod(&tv, &tz),
      printf("vsyscall gettimeofday: %ld, %s\n", r_,
             sane(tv.tv_sec, now_sec(CLOCK_REALTIME))));
  TRY("vsyscall gettimeofday(NULL, NULL)", VSYSCALL, 0, gtod(NULL, NULL),
      printf("vsyscall gettimeofday(NULL, NULL): %ld\n", r_));
  TRY("vsyscall time(NULL)", VSYSCALL + 0x400, 0, vtime(NULL),
      printf("vsyscall time(NULL): %s\n", sane(r_, now_sec(CLOCK_REALTIME))));
  TRY("vsyscall time(&t)", VSYSCALL + 0x400, 0, vtime(&t),
      printf("vsyscall time(&t): %s, t %s\n", sane(r_, now_sec(CLOCK_REALTIME)),
             t == r_ ? "same" : "differs"));
  TRY("vsyscall getcpu", VSYSCALL + 0x800, 0, vgetcpu(&cpu, &node, NULL),
      printf("vsyscall getcpu: %ld, cpu %s\n", r_,
             cpu < 65536 ? "set" : "not set"));
  TRY("vsyscall getcpu(NULL, NULL)", VSYSCALL + 0x800, 0,
      vgetcpu(NULL, NULL, NULL),
      printf("vsyscall getcpu(NULL, NULL): %ld\n", r_));

  /* Misaligned entries: the kernel refuses them (SIGSEGV, SI_KERNEL). */
  static const unsigned long odd[] = {1, 0x10, 0x3ff, 0x401, 0x808, 0xc00};
  for (volatile size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
    char what[64];
    snprintf(what, sizeof what, "vsyscall entry +%#lx", odd[i]);
    fn2 f = (fn2)(VSYSCALL + odd[i]);
    TRY(what, VSYSCALL + odd[i], 0, f(&tv, NULL),
        printf("%s: returned %ld\n", what, r_));
  }

  /* Bad pointers: a kernel address fails the kernel's access check
   * (SEGV_MAPERR at the pointer); an unmapped user page fails in the
   * call itself (SIGSEGV, SI_KERNEL). Either stops at the entry. */
  uintptr_t k = KERNEL_PTR, u = (uintptr_t)bad_user;
  TRY("vsyscall gettimeofday(kernel)", VSYSCALL, k, gtod((void *)k, NULL),
      printf("vsyscall gettimeofday(kernel): returned %ld\n", r_));
  TRY("vsyscall gettimeofday(&tv, kernel)", VSYSCALL, k, gtod(&tv, (void *)k),
      printf("vsyscall gettimeofday(&tv, kernel): returned %ld\n", r_));
  TRY("vsyscall gettimeofday(unmapped)", VSYSCALL, u, gtod((void *)u, NULL),
      printf("vsyscall gettimeofday(unmapped): returned %ld\n", r_));
  TRY("vsyscall gettimeofday(&tv, unmapped)", VSYSCALL, u, gtod(&tv, (void *)u),
      printf("vsyscall gettimeofday(&tv, unmapped): returned %ld\n", r_));
  TRY("vsyscall time(kernel)", VSYSCALL + 0x400, k, vtime((long *)k),
      printf("vsyscall time(kernel): returned %ld\n", r_));
  TRY("vsyscall time(unmapped)", VSYSCALL + 0x400, u, vtime((long *)u),
      printf("vsyscall time(unmapped): returned %ld\n", r_));
  TRY("vsyscall getcpu(kernel)", VSYSCALL + 0x800, k,
      vgetcpu((void *)k, NULL, NULL),
      printf("vsyscall getcpu(kernel): returned %ld\n", r_));
  TRY("vsyscall getcpu(&cpu, unmapped)", VSYSCALL + 0x800, u,
      vgetcpu(&cpu, (void *)u, NULL),
      printf("vsyscall getcpu(&cpu, unmapped): returned %ld\n", r_));

  /* A bad stack: the entry cannot read its return address. */
  /* (moat's VM kernel maps its direct map of physical memory and its
   * image at the last two: the entry must not read its return address
   * from there) */
  static const uintptr_t stacks[] = {
      0x1000, KERNEL_PTR, 0, 0xffff800000100000ul, 0xffffffff80100000ul};
  for (volatile size_t i = 0; i < sizeof stacks / sizeof stacks[0]; i++) {
    volatile uintptr_t sp = stacks[i] ? stacks[i] : u + 64;
    char what[64];
    snprintf(what, sizeof what, "vsyscall with a bad stack (%s)",
             i == 0   ? "low"
             : i == 1 ? "kernel"
             : i == 2 ? "unmapped"
             : i == 3 ? "kernel, low half"
                      : "kernel image");
    if (sigsetjmp(back, 1) == 0)
      jump_with_stack(VSYSCALL, sp);
    print_fault(what, VSYSCALL, 0);
  }

  /* Reading the page: allowed in emulate mode, a fault in xonly mode. */
  TRY("vsyscall page read", 0, VSYSCALL, *(volatile unsigned char *)VSYSCALL,
      printf("vsyscall page read: readable (%s)\n", r_ >= 0 ? "ok" : "?"));
}

/* ---- the vDSO ----------------------------------------------------------- */

static const Elf64_Sym *vdso_syms;
static const char *vdso_strs;
static size_t vdso_nsyms;
static uintptr_t vdso_bias;

/* Symbols of a GNU hash table: the highest index any chain reaches. */
static size_t gnu_hash_count(const uint32_t *h) {
  uint32_t nbuckets = h[0], symoffset = h[1], bloom = h[2];
  const uint32_t *buckets = h + 4 + bloom * 2; /* 64-bit bloom words */
  const uint32_t *chain = buckets + nbuckets;
  uint32_t last = 0;
  for (uint32_t i = 0; i < nbuckets; i++)
    if (buckets[i] > last)
      last = buckets[i];
  if (last < symoffset)
    return symoffset;
  while (!(chain[last - symoffset] & 1))
    last++;
  return last + 1;
}

static int vdso_open(void) {
  uintptr_t base = (uintptr_t)getauxval(AT_SYSINFO_EHDR);
  if (!base)
    return -1;
  const Elf64_Ehdr *eh = (const Elf64_Ehdr *)base;
  if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0)
    return -2;
  const Elf64_Phdr *ph = (const Elf64_Phdr *)(base + eh->e_phoff);
  const Elf64_Dyn *dyn = NULL;
  int have_load = 0;
  for (int i = 0; i < eh->e_phnum; i++) {
    if (ph[i].p_type == PT_LOAD && !have_load) {
      vdso_bias = base + ph[i].p_offset - ph[i].p_vaddr;
      vdso_lo = base;
      vdso_hi = vdso_bias + ph[i].p_vaddr + ph[i].p_memsz;
      have_load = 1;
    }
  }
  for (int i = 0; i < eh->e_phnum; i++)
    if (ph[i].p_type == PT_DYNAMIC)
      dyn = (const Elf64_Dyn *)(vdso_bias + ph[i].p_vaddr);
  if (!have_load || !dyn)
    return -3;
  const uint32_t *hash = NULL, *gnu_hash = NULL;
  for (; dyn->d_tag != DT_NULL; dyn++) {
    uintptr_t v = vdso_bias + dyn->d_un.d_ptr;
    switch (dyn->d_tag) {
    case DT_SYMTAB:
      vdso_syms = (const Elf64_Sym *)v;
      break;
    case DT_STRTAB:
      vdso_strs = (const char *)v;
      break;
    case DT_HASH:
      hash = (const uint32_t *)v;
      break;
    case DT_GNU_HASH:
      gnu_hash = (const uint32_t *)v;
      break;
    }
  }
  if (!vdso_syms || !vdso_strs || (!hash && !gnu_hash))
    return -4;
  vdso_nsyms = hash ? hash[1] : gnu_hash_count(gnu_hash);
  return 0;
}

static void *vdso_sym(const char *name) {
  for (size_t i = 0; i < vdso_nsyms; i++) {
    const Elf64_Sym *s = &vdso_syms[i];
    if (ELF64_ST_TYPE(s->st_info) == STT_FUNC && s->st_shndx != SHN_UNDEF &&
        strcmp(vdso_strs + s->st_name, name) == 0)
      return (void *)(vdso_bias + s->st_value);
  }
  return NULL;
}

/* A signal that comes while the thread runs inside the vDSO is delivered
 * there, as to any guest code: a loop on the vDSO's clock_gettime (a
 * spin-wait) ends when SIGALRM's handler sets the flag. */
static volatile sig_atomic_t alarmed;

static void on_alarm(int sig) {
  alarmed = 1;
}

static void vdso_signal_test(int (*cg)(clockid_t, struct timespec *)) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, NULL);
  int delivered = 0;
  for (int round = 0; round < 5; round++) {
    struct timespec start, now;
    struct itimerval it = {{0, 0}, {0, 20000}};
    alarmed = 0;
    cg(CLOCK_MONOTONIC, &start);
    setitimer(ITIMER_REAL, &it, NULL);
    do
      cg(CLOCK_MONOTONIC, &now);
    while (!alarmed && now.tv_sec - start.tv_sec < 3);
    delivered += alarmed;
  }
  printf("SIGALRM during a vDSO spin: %d of 5 delivered\n", delivered);
}

static void vdso_tests(void) {
  int r = vdso_open();
  if (r < 0) {
    printf("vDSO: none (%d)\n", r);
    return;
  }
  int (*cg)(clockid_t, struct timespec *) = vdso_sym("__vdso_clock_gettime");
  int (*cr)(clockid_t, struct timespec *) = vdso_sym("__vdso_clock_getres");
  int (*gtod)(struct timeval *, void *) = vdso_sym("__vdso_gettimeofday");
  long (*vtime)(long *) = vdso_sym("__vdso_time");
  long (*vgetcpu)(unsigned *, unsigned *, void *) = vdso_sym("__vdso_getcpu");
  printf("vDSO: clock_gettime %s, clock_getres %s, gettimeofday %s, "
         "time %s, getcpu %s\n",
         cg ? "found" : "missing", cr ? "found" : "missing",
         gtod ? "found" : "missing", vtime ? "found" : "missing",
         vgetcpu ? "found" : "missing");
  struct timespec ts;
  struct timeval tv;
  long t;
  unsigned cpu = ~0u, node = ~0u;
  uintptr_t k = KERNEL_PTR, u = (uintptr_t)bad_user;
  if (cg) {
    static const struct {
      clockid_t id;
      const char *name;
    } clocks[] = {
        {CLOCK_REALTIME, "REALTIME"},
        {CLOCK_MONOTONIC, "MONOTONIC"},
        {CLOCK_BOOTTIME, "BOOTTIME"},
        {CLOCK_REALTIME_COARSE, "REALTIME_COARSE"},
        {CLOCK_MONOTONIC_COARSE, "MONOTONIC_COARSE"},
        {CLOCK_PROCESS_CPUTIME_ID, "PROCESS_CPUTIME_ID"},
        {CLOCK_THREAD_CPUTIME_ID, "THREAD_CPUTIME_ID"},
    };
    for (volatile size_t i = 0; i < sizeof clocks / sizeof clocks[0]; i++) {
      char what[64];
      snprintf(what, sizeof what, "vDSO clock_gettime(%s)", clocks[i].name);
      TRY(what, 0, 0, cg(clocks[i].id, &ts),
          printf("%s: %ld, %s\n", what, r_,
                 sane(ts.tv_sec, now_sec(clocks[i].id))));
    }
    /* Unknown clocks: the vDSO falls back to its syscall instruction. */
    static const clockid_t bad[] = {100, 16, -1, 0x7fffffff};
    for (volatile size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
      char what[64];
      snprintf(what, sizeof what, "vDSO clock_gettime(%d)", (int)bad[i]);
      TRY(what, 0, 0, cg(bad[i], &ts),
          printf("%s: %ld (%s)\n", what, r_, r_ < 0 ? errname(-r_) : "ok"));
    }
    TRY("vDSO clock_gettime(PROCESS_CPUTIME_ID, NULL)", 0, 0,
        cg(CLOCK_PROCESS_CPUTIME_ID, NULL),
        printf("vDSO clock_gettime(PROCESS_CPUTIME_ID, NULL): %ld (%s)\n", r_,
               r_ < 0 ? errname(-r_) : "ok"));
    TRY("vDSO clock_gettime(100, NULL)", 0, 0, cg(100, NULL),
        printf("vDSO clock_gettime(100, NULL): %ld (%s)\n", r_,
               r_ < 0 ? errname(-r_) : "ok"));
    /* The vDSO writes the answer itself: a bad pointer faults there. */
    TRY("vDSO clock_gettime(REALTIME, NULL)", 0, 0, cg(CLOCK_REALTIME, NULL),
        printf("vDSO clock_gettime(REALTIME, NULL): returned %ld\n", r_));
    TRY("vDSO clock_gettime(MONOTONIC, unmapped)", 0, u,
        cg(CLOCK_MONOTONIC, (struct timespec *)u),
        printf("vDSO clock_gettime(MONOTONIC, unmapped): returned %ld\n", r_));
    TRY("vDSO clock_gettime(MONOTONIC, kernel)", 0, k,
        cg(CLOCK_MONOTONIC, (struct timespec *)k),
        printf("vDSO clock_gettime(MONOTONIC, kernel): returned %ld\n", r_));
    vdso_signal_test(cg);
  }
  if (cr) {
    TRY("vDSO clock_getres(REALTIME)", 0, 0, cr(CLOCK_REALTIME, &ts),
        printf("vDSO clock_getres(REALTIME): %ld, %ld s %ld ns\n", r_,
               (long)ts.tv_sec, (long)ts.tv_nsec));
    TRY("vDSO clock_getres(PROCESS_CPUTIME_ID)", 0, 0,
        cr(CLOCK_PROCESS_CPUTIME_ID, &ts),
        printf("vDSO clock_getres(PROCESS_CPUTIME_ID): %ld, %ld s %ld ns\n", r_,
               (long)ts.tv_sec, (long)ts.tv_nsec));
    TRY("vDSO clock_getres(100)", 0, 0, cr(100, &ts),
        printf("vDSO clock_getres(100): %ld (%s)\n", r_,
               r_ < 0 ? errname(-r_) : "ok"));
    TRY("vDSO clock_getres(REALTIME, NULL)", 0, 0, cr(CLOCK_REALTIME, NULL),
        printf("vDSO clock_getres(REALTIME, NULL): %ld\n", r_));
  }
  if (gtod) {
    TRY("vDSO gettimeofday", 0, 0, gtod(&tv, NULL),
        printf("vDSO gettimeofday: %ld, %s\n", r_,
               sane(tv.tv_sec, now_sec(CLOCK_REALTIME))));
    TRY("vDSO gettimeofday(NULL, NULL)", 0, 0, gtod(NULL, NULL),
        printf("vDSO gettimeofday(NULL, NULL): %ld\n", r_));
    TRY("vDSO gettimeofday(unmapped)", 0, u, gtod((struct timeval *)u, NULL),
        printf("vDSO gettimeofday(unmapped): returned %ld\n", r_));
  }
  if (vtime) {
    TRY("vDSO time(NULL)", 0, 0, vtime(NULL),
        printf("vDSO time(NULL): %s\n", sane(r_, now_sec(CLOCK_REALTIME))));
    TRY("vDSO time(&t)", 0, 0, vtime(&t),
        printf("vDSO time(&t): %s, t %s\n", sane(r_, now_sec(CLOCK_REALTIME)),
               t == r_ ? "same" : "differs"));
    TRY("vDSO time(kernel)", 0, k, vtime((long *)k),
        printf("vDSO time(kernel): returned %ld\n", r_));
  }
  if (vgetcpu) {
    TRY("vDSO getcpu", 0, 0, vgetcpu(&cpu, &node, NULL),
        printf("vDSO getcpu: %ld, cpu %s\n", r_,
               cpu < 65536 ? "set" : "not set"));
    TRY("vDSO getcpu(NULL, NULL)", 0, 0, vgetcpu(NULL, NULL, NULL),
        printf("vDSO getcpu(NULL, NULL): %ld\n", r_));
    TRY("vDSO getcpu(unmapped)", 0, u, vgetcpu((unsigned *)u, NULL, NULL),
        printf("vDSO getcpu(unmapped): returned %ld\n", r_));
  }
}

/* ---- the same through libc ---------------------------------------------- */

static void libc_tests(void) {
  struct timespec ts;
  struct timeval tv;
  errno = 0;
  int r = clock_gettime((clockid_t)100, &ts);
  printf("libc clock_gettime(100): %d %s\n", r, r ? errname(errno) : "");
  r = clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  printf("libc clock_gettime(PROCESS_CPUTIME_ID): %d\n", r);
  r = clock_getres((clockid_t)100, &ts);
  printf("libc clock_getres(100): %d %s\n", r, r ? errname(errno) : "");
  r = gettimeofday(&tv, NULL);
  printf("libc gettimeofday: %d, %s\n", r,
         sane(tv.tv_sec, now_sec(CLOCK_REALTIME)));
  printf("libc time: %s\n", sane(time(NULL), now_sec(CLOCK_REALTIME)));
  printf("libc clock(): %s\n", clock() != (clock_t)-1 ? "ok" : "failed");
  printf("libc sched_getcpu: %s\n", sched_getcpu() >= 0 ? "ok" : "failed");
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  static char altstack[65536];
  stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
  sigaltstack(&ss, NULL);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigaction(SIGSEGV, &sa, NULL);
  sigaction(SIGBUS, &sa, NULL);
  bad_user = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  munmap(bad_user, 4096);

  vsyscall_tests();
  vdso_tests();
  libc_tests();

  /* Still alive: a fault left nothing behind that breaks the process. */
  printf("done\n");
  return 0;
}
