/* How a process ends: output flushed by atexit handlers, then the raw
 * exit_group syscall with status 300 (only the low 8 bits survive: 44).
 * The runner compares the status natively and inside moat. */
#include <sys/syscall.h>

#include "guest.h"

static void bye(void) {
  printf("atexit handler ran\n");
  fflush(stdout);
  syscall(SYS_exit_group, 300);
}

int main(void) {
  printf("buffered line\n");
  atexit(bye);
  exit(7);
}
