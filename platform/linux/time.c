/* plat_clock and plat_random: clocks and entropy from the Linux host,
 * each reduced to the few operations the seccomp allowlist pins (three
 * clock ids, getrandom flags 0);
 * plat_info: what this platform offers (the vDSO is the host's, found
 * by plat_linux_offer_vdso). */
#include <time.h>

#include "linux_platform.h"
#include "plat_linux.h"

uint64_t g_plat_vdso;
int64_t g_plat_boot_offset;
plat_vdso_clock_fn g_plat_vdso_clock;
uint64_t g_plat_vdso_lo, g_plat_vdso_hi;

void plat_info(struct plat_info *out) {
  uint32_t f = PLAT_F_SPACES | PLAT_F_HOST_MAP | PLAT_F_CPU_TIME;
  if (plat_linux_pool_fd() >= 0)
    f |= PLAT_F_VIEWS;
  if (plat_linux_net_channel() >= 0)
    f |= PLAT_F_HOST_NET;
  *out = (struct plat_info){.version = PLAT_CONTRACT_VERSION,
                            .features = f,
                            .window_lo = PLAT_GUEST_LO,
                            .window_hi = PLAT_GUEST_HI,
                            .vdso = g_plat_vdso};
}

int plat_clock(int clock, int64_t *out_ns) {
  plat_count(PF_CLOCK);
  int id;
  int64_t offset = 0;
  switch (clock) {
  case PLAT_CLOCK_REALTIME:
    id = CLOCK_REALTIME;
    break;
  case PLAT_CLOCK_MONOTONIC:
    id = CLOCK_MONOTONIC;
    break;
  case PLAT_CLOCK_BOOTTIME:
    /* The filter lets only the clocks the platform needs through: boot
     * time is the monotonic clock plus what the host had slept when the
     * sandbox started (the host's vDSO adds any sleep since). */
    id = CLOCK_MONOTONIC;
    offset = g_plat_boot_offset;
    break;
  case PLAT_CLOCK_CPU:
    id = CLOCK_PROCESS_CPUTIME_ID;
    break;
  case PLAT_CLOCK_CPU_USER:
    id = PLAT_HOST_CLOCK_VIRT;
    break;
  case PLAT_CLOCK_THREAD_CPU:
    id = CLOCK_THREAD_CPUTIME_ID;
    break;
  default:
    return -LINUX_EINVAL;
  }
  struct timespec ts;
  long r;
  /* The wall and monotonic clocks from the host's vDSO: no host system
   * call (a system call is over a microsecond in a VM; this is tens of
   * nanoseconds). The CPU clocks need the kernel. */
  if (g_plat_vdso_clock && (id == CLOCK_REALTIME || id == CLOCK_MONOTONIC))
    r = g_plat_vdso_clock(id, &ts);
  else
    r = hsys2(HNR_clock_gettime, id, &ts);
  if (r < 0)
    return (int)r;
  if (ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000 || ts.tv_sec < 0 ||
      ts.tv_sec > INT64_MAX / 1000000000 - 1)
    return -LINUX_EIO;
  *out_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec + offset;
  return 0;
}

int plat_random(void *buf, size_t len) {
  plat_count(PF_RANDOM);
  char *p = buf;
  while (len) {
    size_t chunk = len > 256 ? 256 : len;
    long r = hsys3(HNR_getrandom, p, chunk, 0);
    if (r == -LINUX_EINTR)
      continue;
    if (r <= 0 || (size_t)r > chunk)
      return -LINUX_EIO;
    p += r;
    len -= (size_t)r;
  }
  return 0;
}
