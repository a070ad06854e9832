/* The runner-facing setup of the Linux platform before lockdown: opening
 * granted directories, mapping a root image, the host's vDSO and boot
 * clock offset for the guest, and the diagnostics switches.
 * libc is allowed here; nothing in this file runs after lockdown. */
#include <errno.h>
#include <fcntl.h>
#include <time.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "linux_platform.h"
#include "plat_linux.h"

bool g_plat_verbose;

int plat_linux_grant_dir(const char *path, bool writable, bool public_only,
                         int *out_handle) {
  int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return -errno;
  int err = plat_hostfs_add_grant(fd, writable, public_only, out_handle);
  if (err)
    close(fd);
  return err;
}

int plat_linux_map_image(const char *path, const void **out_base,
                         size_t *out_size) {
  static const char empty[1];
  int err = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    return -errno;
  struct stat st;
  if (fstat(fd, &st) < 0) {
    err = -errno;
    goto out;
  }
  if (!S_ISREG(st.st_mode)) {
    err = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
    goto out;
  }
  if (st.st_size == 0) {
    *out_base = empty;
    *out_size = 0;
    goto out;
  }
  void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED) {
    err = -errno;
    goto out;
  }
  uintptr_t a = (uintptr_t)p;
  if (plat_range_touches_window(a, a + (uintptr_t)st.st_size)) {
    munmap(p, (size_t)st.st_size);
    err = -ENOMEM;
    goto out;
  }
  *out_base = p;
  *out_size = (size_t)st.st_size;
out:
  close(fd);
  return err;
}

void plat_linux_offer_vdso(void) {
  struct timespec boot, mono;
  if (clock_gettime(CLOCK_MONOTONIC, &mono) == 0 &&
      clock_gettime(CLOCK_BOOTTIME, &boot) == 0) {
    int64_t d = (int64_t)(boot.tv_sec - mono.tv_sec) * 1000000000 +
                (boot.tv_nsec - mono.tv_nsec);
    g_plat_boot_offset = d > 0 ? d : 0;
  }
  uintptr_t v = (uintptr_t)getauxval(AT_SYSINFO_EHDR);
  /* The vDSO and the data pages before it must stay out of the window:
   * the guest's mappings could otherwise replace them. */
  if (v && !(v & 4095) && v >= PLAT_GUEST_HI + (1ull << 20) &&
      memcmp((const void *)v, "\177ELF", 4) == 0)
    g_plat_vdso = v;
}

int plat_linux_limit_cpu(uint64_t seconds) {
  struct rlimit r = {seconds, seconds};
  return setrlimit(RLIMIT_CPU, &r) < 0 ? -errno : 0;
}

void plat_linux_set_stats(bool on) {
  g_plat_stats = on;
}

void plat_linux_set_console(bool on) {
  g_plat_console = on;
}

void plat_linux_set_verbose(bool on) {
  g_plat_verbose = on;
}

void plat_linux_gate_range(uintptr_t *start, uintptr_t *end) {
  *start = (uintptr_t)plat_gate_start;
  *end = (uintptr_t)plat_gate_end;
}
