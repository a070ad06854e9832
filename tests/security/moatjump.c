/* A guest that jumps into moat's own code, outside the syscall gate, runs
 * it as guest code: with the guest's stack, registers and no more power
 * than any other guest instruction has (no host system call can come from
 * there: only the gate's are allowed). A fault there is the guest's
 * SIGSEGV, a trap instruction at the gate's edges the guest's SIGILL or
 * SIGTRAP; moat must not take any of them for a fault of its own ("moat:
 * internal fault", status 125), as it once did for every rip outside the
 * guest window.
 *
 * tests/run.py runs moat under setarch -R (its PIE base is then fixed)
 * and passes, from nm, the addresses and first bytes of rt_strlen (a
 * plain function of moat's runtime), plat_gate_start (a ud2) and
 * plat_gate_end (an int3) in MOAT_STRLEN, MOAT_UD2, MOAT_INT3 and their
 * _BYTES. The guest checks the bytes before it jumps, so a wrong address
 * fails loudly instead of passing by an unrelated crash.
 *
 * Argument "nohandler": call rt_strlen on an unmapped address with no
 * SIGSEGV handler; the process must die of SIGSEGV (status 139). */
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <ucontext.h>

#include "guest.h"

static sigjmp_buf back;
static volatile int got_sig;
static volatile uintptr_t got_addr, got_rip;

static void on_signal(int sig, siginfo_t *si, void *ucv) {
  ucontext_t *uc = ucv;
  got_sig = sig;
  got_addr = (uintptr_t)si->si_addr;
  got_rip = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
  siglongjmp(back, 1);
}

/* Jump (no call: nothing is pushed) to fn with rdi = arg and rsp = sp. */
static void jump_with_stack(uintptr_t fn, uintptr_t arg, uintptr_t sp) {
  __asm__ volatile("mov %0, %%rdi\n\tmov %1, %%rsp\n\tjmp *%2"
                   :
                   : "r"(arg), "r"(sp), "r"(fn)
                   : "rdi", "memory");
  __builtin_unreachable();
}

/* The address in the environment variable name, after checking that the
 * bytes there are those in name_BYTES; exits 3 when they are not. */
static uintptr_t found(const char *name) {
  char key[64];
  const char *a = getenv(name);
  snprintf(key, sizeof key, "%s_BYTES", name);
  const char *b = getenv(key);
  if (!a || !b) {
    printf("%s / %s not set\n", name, key);
    exit(2);
  }
  uintptr_t addr = (uintptr_t)strtoull(a, NULL, 16);
  const unsigned char *code = (const unsigned char *)addr;
  size_t n = strlen(b) / 2;
  if (sigsetjmp(back, 1) != 0) {
    printf("%s: address not mapped\n", name);
    exit(3);
  }
  for (size_t i = 0; i < n; i++) {
    unsigned v;
    sscanf(b + 2 * i, "%2x", &v);
    if (code[i] != v) {
      printf("%s: bytes differ at +%zu: %02x, expected %02x\n", name, i,
             code[i], v);
      exit(3);
    }
  }
  return addr;
}

static const char *rip_at(uintptr_t rip, uintptr_t fn) {
  if (rip == fn)
    return "at the target";
  if (rip > fn && rip < fn + 4096)
    return "inside the target";
  return "elsewhere";
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_signal;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGSEGV, &sa, NULL);
  sigaction(SIGILL, &sa, NULL);
  sigaction(SIGTRAP, &sa, NULL);
  uintptr_t strlen_at = found("MOAT_STRLEN");
  uintptr_t ud2_at = found("MOAT_UD2");
  uintptr_t int3_at = found("MOAT_INT3");
  printf("moat's code found\n");
  size_t (*moat_strlen)(const char *) = (size_t(*)(const char *))strlen_at;
  void *gone = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  munmap(gone, 4096);

  if (argc > 1 && strcmp(argv[1], "nohandler") == 0) {
    signal(SIGSEGV, SIG_DFL);
    moat_strlen((const char *)gone);
    printf("moat's rt_strlen on an unmapped address returned\n");
    return 0;
  }

  /* moat's function runs for the guest, on the guest's stack. */
  printf("moat's rt_strlen(\"hello, moat\"): %zu\n",
         moat_strlen("hello, moat"));
  if (sigsetjmp(back, 1) == 0) {
    moat_strlen((const char *)gone);
    printf("moat's rt_strlen(unmapped): returned\n");
  } else {
    printf("moat's rt_strlen(unmapped): signal %d, si_addr %s, rip %s\n",
           got_sig, got_addr == (uintptr_t)gone ? "the pointer" : "other",
           rip_at(got_rip, strlen_at));
  }
  /* The same with rsp outside the window (rt_strlen is a leaf: it never
   * touches the stack): still the guest's fault, not moat's. The handler
   * runs on the alternate stack. */
  static char altstack[65536];
  stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
  sigaltstack(&ss, NULL);
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigaction(SIGSEGV, &sa, NULL);
  if (sigsetjmp(back, 1) == 0)
    jump_with_stack(strlen_at, (uintptr_t)gone, 0x500000000000ul);
  printf("moat's rt_strlen(unmapped), rsp outside the window: signal %d, "
         "si_addr %s, rip %s\n",
         got_sig, got_addr == (uintptr_t)gone ? "the pointer" : "other",
         rip_at(got_rip, strlen_at));
  /* The gate's first and last instructions trap. */
  if (sigsetjmp(back, 1) == 0) {
    ((void (*)(void))ud2_at)();
    printf("the gate's ud2: returned\n");
  } else {
    printf("the gate's ud2: signal %d, rip %s\n", got_sig,
           rip_at(got_rip, ud2_at));
  }
  if (sigsetjmp(back, 1) == 0) {
    ((void (*)(void))int3_at)();
    printf("the gate's int3: returned\n");
  } else {
    printf("the gate's int3: signal %d, rip %s\n", got_sig,
           rip_at(got_rip, int3_at));
  }
  printf("survived\n");
  return 0;
}
