/* A subverted guest that goes around the library OS's limits through the
 * platform's syscall gate (found as in gate.c: MOAT_GATE and
 * MOAT_GATE_BYTES from tests/run.py, moat under setarch -R), so that only
 * the host kernel can stop it:
 *
 *   gatelimits mem MIB    maps MIB MiB through the gate (host mmap, out of
 *                         the library OS's sight) and touches every page,
 *                         saying how far it got; the memory cgroup of
 *                         --memory must kill it (SIGKILL).
 *   gatelimits map MIB    only maps MIB MiB through the gate (untouched) and
 *                         says whether the host allowed it: where no
 *                         cgroup can be made, RLIMIT_AS must refuse it.
 *   gatelimits fork N     forks N host processes through the gate (each
 *                         blocks in a host futex wait), prints how many
 *                         forks worked, then sleeps 2 s so that the test
 *                         can count the sandbox's host processes; the pids
 *                         cgroup of --pids must refuse the excess.
 */
#include <linux/futex.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <time.h>

#include "gatefind.h"
#include "guest.h"

static int eat(gate_fn gate, long mib, bool touch) {
  long r = gate(9 /* mmap */, 0, mib << 20, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (r < 0 && r > -4096) {
    printf("host mmap failed: %ld\n", r);
    return 1;
  }
  if (!touch) {
    printf("host mmap of %ld MiB worked\n", mib);
    return 0;
  }
  volatile char *p = (volatile char *)r;
  for (long m = 0; m < mib; m++) {
    for (long o = 0; o < (1l << 20); o += 4096)
      p[(m << 20) + o] = 1;
    if ((m + 1) % 64 == 0)
      printf("touched %ld MiB\n", m + 1);
  }
  printf("survived: touched %ld MiB\n", mib);
  return 0;
}

static int forks(gate_fn gate, int n) {
  static int word;
  int ok = 0, failed = 0;
  long first_err = 0;
  for (int i = 0; i < n; i++) {
    long r = gate(56 /* clone */, SIGCHLD, 0, 0, 0, 0, 0);
    if (r == 0) {
      for (;;)
        gate(202 /* futex */, (long)&word, FUTEX_WAIT, 0, 0, 0, 0);
    }
    if (r > 0) {
      ok++;
    } else {
      failed++;
      if (!first_err)
        first_err = r;
    }
  }
  printf("forked ok=%d failed=%d first error %ld\n", ok, failed, first_err);
  struct timespec ts = {2, 0};
  nanosleep(&ts, NULL);
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc != 3) {
    printf("usage: gatelimits mem MIB | map MIB | fork N\n");
    return 2;
  }
  gate_fn gate = find_gate();
  if (!strcmp(argv[1], "mem") || !strcmp(argv[1], "map"))
    return eat(gate, atol(argv[2]), !strcmp(argv[1], "mem"));
  return forks(gate, atoi(argv[2]));
}
