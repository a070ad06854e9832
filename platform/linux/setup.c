/* The runner-facing setup of the Linux platform before lockdown: opening
 * granted directories, mapping a root image, the host's vDSO and boot
 * clock offset for the guest, and the diagnostics switches.
 * libc is allowed here; nothing in this file runs after lockdown. */
#include <elf.h>
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

/* Find __vdso_clock_gettime in the host's vDSO image at v (the kernel's
 * own, mapped before anything of ours ran; still checked as any ELF
 * would be: every offset and index inside the image). */
static void vdso_find_clock(uintptr_t v) {
  const Elf64_Ehdr *eh = (const Elf64_Ehdr *)v;
  if (eh->e_ident[EI_CLASS] != ELFCLASS64 ||
      eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum > 16 ||
      eh->e_phoff > 4096)
    return;
  const Elf64_Phdr *ph = (const Elf64_Phdr *)(v + eh->e_phoff);
  uint64_t size = 0, load = 0;
  const Elf64_Dyn *dyn = NULL;
  bool have_load = false;
  for (int i = 0; i < eh->e_phnum; i++) {
    if (ph[i].p_type == PT_LOAD && !have_load) {
      load = ph[i].p_vaddr - ph[i].p_offset;
      size = ph[i].p_offset + ph[i].p_memsz;
      have_load = true;
    }
  }
  if (!have_load || size > (1u << 20))
    return;
  for (int i = 0; i < eh->e_phnum; i++)
    if (ph[i].p_type == PT_DYNAMIC && ph[i].p_offset < size &&
        ph[i].p_filesz <= size - ph[i].p_offset)
      dyn = (const Elf64_Dyn *)(v + ph[i].p_offset);
  if (!dyn)
    return;
  const Elf64_Sym *symtab = NULL;
  const char *strtab = NULL;
  uint64_t strsz = 0, nsyms = 0;
  for (const Elf64_Dyn *d = dyn;
       d->d_tag != DT_NULL && (uintptr_t)(d + 1) <= v + size; d++) {
    uint64_t off = d->d_un.d_ptr - load; /* addresses are image offsets */
    if (d->d_tag == DT_SYMTAB && off < size)
      symtab = (const Elf64_Sym *)(v + off);
    else if (d->d_tag == DT_STRTAB && off < size)
      strtab = (const char *)(v + off);
    else if (d->d_tag == DT_STRSZ)
      strsz = d->d_un.d_val;
    else if (d->d_tag == DT_HASH && off + 8 <= size)
      nsyms = ((const uint32_t *)(v + off))[1]; /* nchain */
  }
  /* Without DT_HASH: the symbol table ends where the string table
   * starts (the order the kernel's vDSO linker script gives). */
  if (symtab && strtab && !nsyms && (uintptr_t)strtab > (uintptr_t)symtab)
    nsyms = ((uintptr_t)strtab - (uintptr_t)symtab) / sizeof(Elf64_Sym);
  if (!symtab || !strtab || !strsz || (uintptr_t)strtab + strsz > v + size ||
      (uintptr_t)(symtab + nsyms) > v + size)
    return;
  for (uint64_t i = 0; i < nsyms; i++) {
    const Elf64_Sym *s = &symtab[i];
    if (s->st_name >= strsz || ELF64_ST_TYPE(s->st_info) != STT_FUNC ||
        s->st_shndx == SHN_UNDEF || s->st_value - load >= size)
      continue;
    const char *name = strtab + s->st_name;
    if (strnlen(name, strsz - s->st_name) < strsz - s->st_name &&
        strcmp(name, "__vdso_clock_gettime") == 0) {
      g_plat_vdso_lo = v;
      g_plat_vdso_hi = v + size;
      g_plat_vdso_clock = (plat_vdso_clock_fn)(v + (s->st_value - load));
      return;
    }
  }
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
      memcmp((const void *)v, "\177ELF", 4) == 0) {
    g_plat_vdso = v;
    vdso_find_clock(v);
  }
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
