/* Large address-space reservations, as Go's heap, V8 and JVMs make them:
 * a 1 TiB PROT_NONE mapping, a piece in the middle made read-write and
 * written, a fork whose child sees the piece and writes its own copy
 * (the parent's bytes stay), then the whole range unmapped, and again
 * (a second reservation at once). Natively and in moat the same; in the
 * VM this costs a word per 2 MiB (docs/vm.md), not a page table per 2 MiB
 * (2 GiB for the whole reservation). */
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "guest.h"

#define TIB (1ull << 40)
#define MIB (1ull << 20)

int main(void) {
  for (int round = 0; round < 2; round++) {
    char *m = mmap(NULL, TIB, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) {
      printf("1 TiB reservation: %s\n", errname(errno));
      return 1;
    }
    /* a piece in the middle, not 2 MiB aligned at either end */
    char *piece = m + TIB / 2 + 3 * 4096;
    int r = mprotect(piece, 5 * MIB, PROT_READ | PROT_WRITE);
    printf("round %d: reserved, mprotect of 5 MiB inside: %d\n", round, r);
    for (uint64_t o = 0; o < 5 * MIB; o += 4096)
      piece[o] = (char)(o >> 12);
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) {
      int same = 1;
      for (uint64_t o = 0; o < 5 * MIB; o += 4096)
        same &= piece[o] == (char)(o >> 12);
      for (uint64_t o = 0; o < 5 * MIB; o += 4096)
        piece[o] = 'c';
      _exit(same ? 0 : 1);
    }
    int st = 0;
    waitpid(p, &st, 0);
    int kept = 1;
    for (uint64_t o = 0; o < 5 * MIB; o += 4096)
      kept &= piece[o] == (char)(o >> 12);
    printf("child saw the bytes: %d, parent kept its own: %d\n",
           WIFEXITED(st) && WEXITSTATUS(st) == 0, kept);
    printf("munmap of the whole reservation: %d\n", munmap(m, TIB));
  }
  return 0;
}
