/* Attacks on moat's system call fast path (platform/linux/fastpath.c),
 * from a guest that knows where its table and thunks are:
 *   forge-slot   jump to the thunk of a slot no site uses;
 *   forge-common jump to the thunks' common entry with a slot number far
 *                past the table (from the first thunk's own jmp);
 *   write-table  store into the table;
 *   protect-table make the table writable through mprotect;
 *   set-gs       take the gs base (the thread block's pointer);
 *   control      jump to the thunk of the slot a site of this program
 *                uses, with rax set to garbage: the call still runs as
 *                that site's getppid, the path is live.
 * The expected outcome (a guest signal, an error, or a normal return) is
 * checked by tests/run.py, together with moat reporting no internal
 * fault. Natively there is no table: the program says so. */
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "../guest/guest.h"

#define TABLE 0x050f0000ul
#define SLOTS 4096

static long site_getppid(void) {
  long r;
  __asm__ volatile("movl $110, %%eax\n\tsyscall"
                   : "=a"(r)
                   :
                   : "rcx", "r11", "memory");
  return r;
}

static sigjmp_buf g_env;
static void on_sig(int sig) {
  siglongjmp(g_env, sig);
}

/* The site above, rewritten: ff 24 25 + the low bytes of its slot. */
static long site_slot(void) {
  const uint8_t *p = (const uint8_t *)site_getppid;
  for (int i = 0; i < 64; i++)
    if (p[i] == 0xff && p[i + 1] == 0x24 && p[i + 2] == 0x25 &&
        p[i + 5] == 0x0f && p[i + 6] == 0x05) {
      uint32_t a = (uint32_t)p[i + 3] | (uint32_t)p[i + 4] << 8 | 0x050f0000u;
      return (long)((a - TABLE) / 8);
    }
  return -1;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  const char *what = argc > 1 ? argv[1] : "control";
  long want = getppid();
  for (int i = 0; i < 10; i++)
    site_getppid();
  long mine = site_slot();
  signal(SIGSEGV, on_sig);
  int sig = sigsetjmp(g_env, 1);
  if (sig) {
    printf("no table (signal %d)\n", sig);
    return 0;
  }
  volatile uint64_t *table = (volatile uint64_t *)TABLE;
  uint64_t thunk0 = table[0];
  signal(SIGSEGV, SIG_DFL);
  printf("table found, own site's slot %s\n", mine >= 0 ? "found" : "missing");
  if (mine < 0)
    return 1;

  if (!strcmp(what, "control")) {
    /* As if site_getppid had been called and reached its jump: the
     * thunk runs the site's call and resumes after the site, whose
     * function then returns here. */
    long r;
    uint64_t target = table[mine];
    __asm__ volatile("movq $-1, %%rax\n\t"
                     "call *%%rdx\n\t"
                     : "=a"(r), "+d"(target)
                     :
                     : "rcx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory");
    printf("control: getppid %s\n", r == want ? "ok" : "wrong");
    return 0;
  }
  if (!strcmp(what, "forge-slot")) {
    uint64_t target = table[SLOTS - 1];
    printf("forge-slot: jumping\n");
    __asm__ volatile("jmp *%0" : : "r"(target) : "memory");
  }
  if (!strcmp(what, "forge-common")) {
    const uint8_t *t = (const uint8_t *)thunk0;
    if (t[0] != 0xb9 || t[5] != 0xe9) {
      printf("forge-common: thunk shape unknown\n");
      return 1;
    }
    int32_t rel;
    memcpy(&rel, t + 6, 4);
    uint64_t common = thunk0 + 10 + (int64_t)rel;
    printf("forge-common: jumping\n");
    __asm__ volatile("movl $0x7fffffff, %%ecx\n\tjmp *%0"
                     :
                     : "r"(common)
                     : "rcx", "memory");
  }
  if (!strcmp(what, "write-table")) {
    printf("write-table: storing\n");
    table[mine] = 0x4141414141414141ull;
    printf("write-table: stored\n");
    return 1;
  }
  if (!strcmp(what, "protect-table")) {
    int r = mprotect((void *)TABLE, 4096, PROT_READ | PROT_WRITE);
    printf("protect-table: %s\n", r < 0 ? errname(errno) : "allowed");
    printf("getppid after: %s\n", site_getppid() == want ? "ok" : "wrong");
    return 0;
  }
  if (!strcmp(what, "set-gs")) {
    long r = syscall(SYS_arch_prctl, 0x1001 /* ARCH_SET_GS */, 0x1000ul);
    printf("set-gs: %s\n", r < 0 ? errname(errno) : "allowed");
    printf("getppid after: %s\n", site_getppid() == want ? "ok" : "wrong");
    return 0;
  }
  printf("unknown case %s\n", what);
  return 2;
}
