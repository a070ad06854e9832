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

#include "gatefind.h"
#include "guest.h"

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  gate_fn gate = find_gate();
  const char *nr = getenv("MOAT_GATE_NR");
  long r = gate(nr ? atol(nr) : 102, 0, 0, 0, 0, 0, 0);
  printf("gate call returned %ld: not killed\n", r);
  return 0;
}
