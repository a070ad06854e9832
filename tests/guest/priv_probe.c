/* What ring 3 must not do, each tried in a child of its own: privileged
 * instructions (cli, sti, hlt, in, out to QEMU's exit port, rdmsr, wrmsr,
 * lgdt, a write of cr3), and reads, writes and jumps into the addresses
 * where a kernel lives (the top 2 GiB, where the VM platform's image and
 * each space's own data are; the lower end of the upper half, where its
 * direct map of physical memory is; and a scan of the upper half, one
 * read per 512 GiB). Each child must die of SIGSEGV natively, inside moat on
 * Linux and inside moat's VM (docs/vm.md), and the parent goes on: the kernel
 * keeps serving. The positive control: the same child reading and writing
 * its own memory exits 0, so a probe that "dies" is not dying of
 * something else. */
#include <signal.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "guest.h"

static volatile uint64_t g_sink;
static volatile uint64_t g_mine = 42;

static void probe(int which, uint64_t addr) {
  switch (which) {
  case 0: /* the control: our own memory */
    g_mine = g_mine + 1;
    g_sink = g_mine;
    break;
  case 1:
    __asm__ volatile("cli");
    break;
  case 2:
    __asm__ volatile("sti");
    break;
  case 3:
    __asm__ volatile("hlt");
    break;
  case 4:
    __asm__ volatile("inb $0x60, %%al" : : : "rax");
    break;
  case 5: /* QEMU's isa-debug-exit: it would end the machine */
    __asm__ volatile("outb %%al, $0xf4" : : "a"(0));
    break;
  case 6:
    __asm__ volatile("rdmsr" : : "c"(0xc0000082) : "rax", "rdx");
    break;
  case 7:
    __asm__ volatile("wrmsr" : : "c"(0xc0000082), "a"(0), "d"(0));
    break;
  case 8: {
    struct __attribute__((packed)) {
      uint16_t limit;
      uint64_t base;
    } d = {0, 0};
    __asm__ volatile("lgdt %0" : : "m"(d));
    break;
  }
  case 9:
    __asm__ volatile("mov %0, %%cr3" : : "r"((uint64_t)0));
    break;
  case 10: /* read */
    g_sink = *(volatile uint64_t *)(uintptr_t)addr;
    break;
  case 11: /* write */
    *(volatile uint64_t *)(uintptr_t)addr = 0;
    break;
  case 12: /* jump */
    ((void (*)(void))(uintptr_t)addr)();
    break;
  }
}

static int try(int which, uint64_t addr) {
  fflush(stdout);
  pid_t p = fork();
  if (p == 0) {
    struct rlimit none = {0, 0};
    setrlimit(RLIMIT_CORE, &none);
    probe(which, addr);
    _exit(0);
  }
  int st = 0;
  if (p < 0 || waitpid(p, &st, 0) != p)
    return -1;
  return WIFSIGNALED(st) ? WTERMSIG(st) : 1000 + WEXITSTATUS(st);
}

static void show(const char *what, int r) {
  if (r == SIGSEGV)
    printf("%s: SIGSEGV\n", what);
  else if (r >= 1000)
    printf("%s: exit %d\n", what, r - 1000);
  else
    printf("%s: signal %d\n", what, r);
}

int main(void) {
  static const char *insn[] = {"own memory", "cli",      "sti",   "hlt",
                               "in",         "out 0xf4", "rdmsr", "wrmsr",
                               "lgdt",       "mov cr3"};
  for (int i = 0; i < 10; i++)
    show(insn[i], try(i, 0));
  static const struct {
    const char *name;
    uint64_t addr;
  } where[] = {
      {"kernel image", 0xffffffff80100000ull},
      {"kernel data", 0xffffffff80200000ull},
      {"space data", 0xffffffffc0000000ull},
      {"kernel stacks", 0xffffffffe0000000ull + 64 * 1024 - 8},
      {"direct map", 0xffff800000100000ull},
      {"heap", 0xffff808000000000ull},
  };
  static const char *how[] = {"read", "write", "jump"};
  for (unsigned i = 0; i < sizeof(where) / sizeof(where[0]); i++)
    for (int h = 0; h < 3; h++) {
      char what[64];
      snprintf(what, sizeof(what), "%s %s", how[h], where[i].name);
      show(what, try(10 + h, where[i].addr));
    }
  /* a scan of the upper half, one read per top-level entry (512 GiB
   * apart): no address there is ours */
  int segv = 0, other = 0;
  for (uint64_t a = 0xffff800000000000ull; a >= 0xffff800000000000ull;
       a += 1ull << 39) {
    if (try(10, a) == SIGSEGV)
      segv++;
    else
      other++;
  }
  printf("scan of the upper half (256 reads): %d SIGSEGV, %d other\n", segv,
         other);
  show("own memory again", try(0, 0));
  return 0;
}
