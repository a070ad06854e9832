/* A guest that finds the platform's syscall gate and calls it with a
 * syscall the platform's allowlist does not have (MOAT_GATE_NR, default
 * 102 = getuid): seccomp must
 * kill the whole sandbox with SIGSYS. tests/run.py passes the gate's
 * address (moat under setarch -R, so the PIE base is fixed, plus the
 * offset of plat_gate_syscall6 from nm) and its first bytes in MOAT_GATE
 * and MOAT_GATE_BYTES; the guest checks the bytes before it jumps, so a
 * wrong address fails the test loudly instead of passing by a crash. */
#include <signal.h>
#include <stdint.h>

#include "guest.h"

typedef long (*gate_fn)(long, long, long, long, long, long, long);

static void on_segv(int sig) {
  printf("gate address not mapped\n");
  _exit(3);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  const char *a = getenv("MOAT_GATE"), *b = getenv("MOAT_GATE_BYTES");
  if (!a || !b) {
    printf("MOAT_GATE / MOAT_GATE_BYTES not set\n");
    return 2;
  }
  uintptr_t addr = (uintptr_t)strtoull(a, NULL, 16);
  signal(SIGSEGV, on_segv);
  const unsigned char *code = (const unsigned char *)addr;
  size_t n = strlen(b) / 2;
  for (size_t i = 0; i < n; i++) {
    unsigned v;
    sscanf(b + 2 * i, "%2x", &v);
    if (code[i] != v) {
      printf("gate bytes differ at +%zu: %02x, expected %02x\n", i, code[i], v);
      return 3;
    }
  }
  printf("gate found\n");
  const char *nr = getenv("MOAT_GATE_NR");
  long r = ((gate_fn)addr)(nr ? atol(nr) : 102, 0, 0, 0, 0, 0, 0);
  printf("gate call returned %ld: not killed\n", r);
  return 0;
}
