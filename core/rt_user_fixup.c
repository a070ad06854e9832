/* The lookup behind moat_fault_fixup: the platform asks it when a fault
 * hits the library OS, and only the guest-memory accessors of
 * core/rt_user.S may resume. Everything else is a bug of moat. */
#include "moat/platform.h"
#include "moat/regs.h"
#include "rt.h"

/* (instruction, resume) pairs, ended by a zero pair. */
extern const uint64_t rt_user_fixups[];

uint64_t moat_fault_fixup(uint64_t rip) {
  for (const uint64_t *f = rt_user_fixups; f[0]; f += 2)
    if (f[0] == rip)
      return f[1];
  return 0;
}

/* Fill dst (guest memory, or any) with len bytes of the host's
 * randomness: through a bounce buffer and the user-copy routine, so the
 * platform's plat_random never writes guest memory itself (a kernel with
 * SMAP may not). Returns len, -EFAULT, or plat_random's error. */
long rt_urandom(void *dst, size_t len) {
  uint8_t bounce[1024];
  for (size_t done = 0; done < len;) {
    size_t n = MIN(len - done, sizeof(bounce));
    int err = plat_random(bounce, n);
    if (err)
      return err;
    if (rt_ucopy((char *)dst + done, bounce, n))
      return -LINUX_EFAULT;
    done += n;
  }
  /* what the guest got is its own: none of it stays on this stack */
  memset(bounce, 0, sizeof(bounce));
  return (long)len;
}
